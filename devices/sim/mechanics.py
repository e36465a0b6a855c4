"""Mechanical time for the printer simulators: how long a real printer takes to print.

A citizen waits for the printers, not for the software, so a benchmark or a demo of a whole
session needs printers that take their real time. Every printer simulator takes
``speed=realistic`` (URL query or option); tests keep zero delay unless they ask. The model,
in seconds at ``speed=realistic`` (our reading of kiosk hardware: a dye-sublimation card
printer at 15–30 s a colour side, a desktop laser at ~10 pages a minute, an 80 mm thermal
printer at ~150 mm/s):

    card printer   20 per colour side (Y/M/C panels), 8 per K-only side; 30 a cleaning cycle
                   (five passes of the cleaning card and its ejection: our estimate)
    A4 printer     6 per page
    receipt        2 per receipt (up to its cut)

plus a warm-up: on the first job after power-on (a cold start: heads, fuser or platen come to
temperature) and on the first job after the printer has stood idle long enough to cool or go
to sleep. ``time_scale`` multiplies every figure (``time_scale=0.01`` runs the model a hundred
times faster), so a test proves the model without waiting minutes; a test can also pass its
own `clock`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Mapping

SPEEDS = ("zero", "realistic")


@dataclass(frozen=True)
class Timing:
    """Seconds at realistic speed."""

    cold_start_s: float       # added to the first job after power-on
    after_idle_s: float       # added to the first job after `idle_after_s` without one
    idle_after_s: float


CARD_COLOUR_SIDE_S, CARD_MONO_SIDE_S = 20.0, 8.0
CARD_CLEANING_S = 30.0
A4_PAGE_S = 6.0
RECEIPT_S = 2.0
CARD_TIMING = Timing(cold_start_s=15.0, after_idle_s=6.0, idle_after_s=600.0)        # heads cool in 10 min
A4_TIMING = Timing(cold_start_s=12.0, after_idle_s=8.0, idle_after_s=900.0)          # fuser sleeps after 15 min
RECEIPT_TIMING = Timing(cold_start_s=1.0, after_idle_s=0.5, idle_after_s=300.0)


@dataclass(frozen=True)
class MechanicalJob:
    """One job through the mechanism, on its clock: what a benchmark separates the printer's
    own time from the host's with (benchmarks/bench_family_wait.py)."""

    began: float        # the job reached the mechanism (a card fed, a page's first byte in)
    seconds: float      # its mechanical time: work and warm-up, scaled
    out: float          # out of the printer: later than began + seconds when the host's data came late


class Mechanism:
    """One printer's mechanical clock. `job_seconds(work)` is the time a job of `work`
    seconds (at realistic speed) takes now, warm-up included, scaled; a job that ends calls
    `finished()` so the next one knows how long the printer stood idle. The last jobs are
    kept in `jobs` (a bounded few: a soak's simulators run for thousands)."""

    KEPT_JOBS = 32

    def __init__(self, timing: Timing, scale: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(scale) and scale >= 0):
            raise ValueError(f"time scale must be a number >= 0, got {scale!r}")
        self.timing, self.scale, self.clock = timing, scale, clock
        self._last_end: float | None = None
        self._lock = threading.Lock()
        self._jobs: deque[MechanicalJob] = deque(maxlen=self.KEPT_JOBS)

    @classmethod
    def from_params(cls, params: Mapping[str, str], timing: Timing, clock: Callable[[], float] = time.monotonic
                    ) -> Mechanism:
        """From ``speed=zero|realistic`` and ``time_scale=F`` (URL query parameters)."""
        speed = params.get("speed", "zero")
        if speed not in SPEEDS:
            raise ValueError(f"speed={speed!r}: one of {', '.join(SPEEDS)}")
        try:
            scale = float(params.get("time_scale", 1.0))
        except ValueError:
            raise ValueError(f"time_scale={params['time_scale']!r}: a number, e.g. 0.01") from None
        if "time_scale" in params and speed != "realistic":
            raise ValueError("time_scale applies to speed=realistic only")
        return cls(timing, scale if speed == "realistic" else 0.0, clock)

    @property
    def realistic(self) -> bool:
        return self.scale > 0

    def warm_up(self, now: float | None = None) -> float:
        """The unscaled warm-up a job starting `now` needs."""
        now = self.clock() if now is None else now
        with self._lock:
            if self._last_end is None:
                return self.timing.cold_start_s
            return self.timing.after_idle_s if now - self._last_end >= self.timing.idle_after_s else 0.0

    def job_seconds(self, work_s: float, now: float | None = None) -> float:
        return (work_s + self.warm_up(now)) * self.scale

    def finished(self, at: float | None = None, began: float | None = None, seconds: float = 0.0) -> None:
        """The job is out `at` (now when None); given when it `began` and its mechanical
        `seconds`, it is kept in `jobs`."""
        with self._lock:
            self._last_end = self.clock() if at is None else at
            if began is not None:
                self._jobs.append(MechanicalJob(began, seconds, self._last_end))

    @property
    def jobs(self) -> list[MechanicalJob]:
        with self._lock:
            return list(self._jobs)
