"""Where a citizen's wait goes, from what was recorded during it (benchmarks/bench_family_wait.py):
the printers' own mechanical time (the simulators' `Mechanism.jobs`), the dinas calls (each
call's start and end on the kiosk's side, with its thread) and the rest, the kiosk's own share.

The critical path is the printer with the longest mechanical time: the wait cannot be shorter.
While that printer's mechanism is busy nothing else delays the citizen; while it stands idle
(before its first job, between jobs, and after its last one until the kiosk shows it out) the
citizen waits for something else: a dinas call on a thread the critical printer's work waits
for (the session's I/O thread, which runs the prefetch and then the print run, and the lane
threads that print on that printer) is the dinas's round trip; anything else is the kiosk's.
A dinas call overlapped by the mechanism (the next card reserved while this one prints) costs
the citizen nothing and is not counted.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from benchmarks.method_patches import MethodPatches

Interval = tuple[float, float]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """The intervals merged: sorted, none overlapping, empty ones left out."""
    merged: list[list[float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def measure(intervals: Iterable[Interval]) -> float:
    return sum(end - start for start, end in union(intervals))


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    low, high = window
    return union((max(start, low), min(end, high)) for start, end in intervals)


def subtract(intervals: Iterable[Interval], taken: Iterable[Interval]) -> list[Interval]:
    """What of `intervals` is outside every interval of `taken`."""
    rest: list[Interval] = []
    holes = union(taken)
    for start, end in union(intervals):
        for hole_start, hole_end in holes:
            if hole_end <= start or hole_start >= end:
                continue
            if hole_start > start:
                rest.append((start, hole_start))
            start = max(start, hole_end)
            if start >= end:
                break
        if start < end:
            rest.append((start, end))
    return rest


@dataclass(frozen=True)
class Call:
    name: str           # "dinas download_document", "print KIA", …
    thread: str
    start: float
    end: float


@dataclass
class CallRecorder:
    """Wraps methods (on their class) so every call is kept with its thread and times."""

    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _patches: MethodPatches = field(default_factory=MethodPatches)

    def wrap(self, owner: object, method: str, name: str, label=None) -> None:
        """`label(args)` adds to the call's name (e.g. the document's kind)."""
        original = getattr(owner, method)
        recorder = self

        @functools.wraps(original)
        def recorded(*args, **kwargs):
            start = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                call = Call(f"{name} {label(args)}" if label else name, threading.current_thread().name,
                            start, time.monotonic())
                with recorder._lock:
                    recorder.calls.append(call)

        self._patches.patch(owner, method, recorded)

    def unwrap(self) -> None:
        self._patches.unwrap()

    def named(self, prefix: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.name.startswith(prefix)]


@dataclass(frozen=True)
class WaitShares:
    """One wait, split (seconds, as measured)."""

    wait: float                        # the window: PIN accepted to the last document shown out
    mechanical: dict[str, float]       # per printer role: its jobs' own mechanical time
    critical: str                      # the role with the longest mechanical time
    busy: float                        # the critical printer's mechanism busy inside the window
    dinas: float                       # dinas round trips on the critical path (printer idle)
    dinas_calls: int                   # how many calls those were
    kiosk: float                       # the rest: the kiosk's own share
    others: float                      # of `kiosk`, other printers' mechanisms busy (one after another)
    segments: tuple[tuple[str, float, float], ...]   # the idle stretches: (where, total, of it dinas)

    @property
    def limit(self) -> float:
        """The goal: 1.05 × the longest printer's mechanical time + the dinas round trips."""
        return 1.05 * self.mechanical[self.critical] + self.dinas

    @property
    def kiosk_share(self) -> float:
        return self.kiosk / self.mechanical[self.critical] if self.mechanical[self.critical] else float("inf")


def shares(window: Interval, jobs: dict[str, list], dinas: list[Call],
           threads_for: Callable[[str], set[str]], sends: list[Call] = ()) -> WaitShares:
    """`jobs`: per printer role, its `MechanicalJob`s (began, seconds, out); `dinas`: every dinas
    call; `threads_for(role)`: the threads that printer's work waits for; `sends`: the calls
    that sent each document to its printer, named "… <role>", so that another printer's
    mechanism counts as on the path only while a thread of the critical one waits for it
    (one after another), not when it merely runs at the same time."""
    mechanical = {role: sum(job.seconds for job in role_jobs) for role, role_jobs in jobs.items()}
    critical = max(mechanical, key=lambda role: mechanical[role])
    critical_threads = threads_for(critical)
    busy = clip([(job.began, job.began + job.seconds) for job in jobs[critical]], window)
    idle = subtract([window], busy)
    waited_on = clip([(c.start, c.end) for c in dinas if c.thread in critical_threads], window)
    dinas_idle = subtract(waited_on, busy)
    counted = [c for c in dinas if c.thread in critical_threads and subtract(clip([(c.start, c.end)], window), busy)]
    wait = window[1] - window[0]
    ends = sorted(job.began + job.seconds for job in jobs[critical])
    stretches: dict[str, list[float]] = {}
    for stretch in idle:
        done = sum(end <= stretch[0] for end in ends)      # the jobs through the mechanism before it
        where = "before the first job" if done == 0 else "after the last job" if done == len(ends) \
            else f"between jobs {done} and {done + 1}"
        totals = stretches.setdefault(where, [0.0, 0.0])
        totals[0] += stretch[1] - stretch[0]
        totals[1] += measure(clip(dinas_idle, stretch))
    segments = tuple((where, total, of_it) for where, (total, of_it) in stretches.items())
    elsewhere = [(job.began, job.began + job.seconds) for role, role_jobs in jobs.items() if role != critical
                 for job in role_jobs]
    waited = clip([(c.start, c.end) for c in sends if c.thread in critical_threads
                   and c.name.split()[-1] != critical], window)
    others = measure(subtract(subtract(clip(elsewhere, window), subtract([window], waited)), busy + dinas_idle))
    return WaitShares(wait=wait, mechanical=mechanical, critical=critical, busy=measure(busy),
                      dinas=measure(dinas_idle), dinas_calls=len(counted),
                      kiosk=wait - measure(busy) - measure(dinas_idle), others=others, segments=segments)
