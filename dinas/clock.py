"""Time for the server: one callable returning epoch seconds, so tests can move it.

Every rule that depends on time (PIN expiry, lockouts, sessions, rate limits, "online")
reads the injected clock, never `time.time()` directly.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], float]


def system_clock() -> float:
    return time.time()


class AdjustableClock:
    """Real time plus an offset that tests push forward with `advance(seconds)`."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


def iso(timestamp: float) -> str:
    """Epoch seconds -> '2026-11-22T10:00:00Z' (the contract's time format)."""
    return _iso_of_second(math.floor(timestamp))


@functools.lru_cache(maxsize=64)       # every heartbeat reply within a second asks the same
def _iso_of_second(second: int) -> str:
    return datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """An ISO 8601 time with a zone -> epoch seconds; ValueError when it is not one."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if moment.tzinfo is None:
        raise ValueError("time has no zone")
    return moment.timestamp()
