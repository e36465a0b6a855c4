"""A small thread-safe publish/subscribe hub.

Monitors publish device snapshots and the session engine publishes its view through one of
these; the UI subscribes and marshals onto its own thread. A subscriber that raises is
logged and kept: one broken view must not silence the others.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Publisher(Generic[T]):
    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[T], None]] = []
        self._last: T | None = None

    @property
    def last(self) -> T | None:
        return self._last

    def subscribe(self, callback: Callable[[T], None], replay: bool = True) -> Callable[[], None]:
        """Register `callback`; with `replay` it gets the last value at once. Returns an unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)
            last = self._last
        if replay and last is not None:
            self._deliver(callback, last)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    def publish(self, value: T) -> None:
        with self._lock:
            self._last = value
            subscribers = list(self._subscribers)
        for callback in subscribers:
            self._deliver(callback, value)

    def _deliver(self, callback: Callable[[T], None], value: T) -> None:
        try:
            callback(value)
        except Exception:  # noqa: BLE001 - a broken subscriber must not stop the others
            log.exception("subscriber of %s failed", self._name)
