"""Where a kiosk process's time goes, by phase: named functions wrapped with a timer.

    phases = PhaseTimer()
    phases.wrap(DinasClient, "open_session", "dinas: open session")
    ...                                  # run the workload
    phases.table(sessions)               # lines to print

A phase's time is exclusive: when a timed function calls another timed one on the same thread
(an IPP print that journals its job id), the inner call's time is taken out of the outer's.
Wall time and the thread's CPU time are both kept, so a phase shows whether it computes or
waits. Phases on different threads overlap (the print lanes, the outbox, the device workers'
status polls run at the same time as the session), so their sum is not the session's time.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from benchmarks.method_patches import MethodPatches


@dataclass
class PhaseTotal:
    calls: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0


class PhaseTimer:
    def __init__(self) -> None:
        self.totals: dict[str, PhaseTotal] = defaultdict(PhaseTotal)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._patches = MethodPatches()

    def wrap(self, owner: object, name: str, phase: str) -> None:
        """Time `owner.name` (a class's method or a module's function) as `phase`."""
        original = getattr(owner, name)
        timer = self

        @functools.wraps(original)
        def timed(*args, **kwargs):
            stack = timer._stack()
            frame = [time.perf_counter(), time.thread_time(), 0.0, 0.0]   # start, cpu start, inner wall, inner cpu
            stack.append(frame)
            try:
                return original(*args, **kwargs)
            finally:
                stack.pop()
                wall = time.perf_counter() - frame[0]
                cpu = time.thread_time() - frame[1]
                if stack:
                    stack[-1][2] += wall
                    stack[-1][3] += cpu
                with timer._lock:
                    total = timer.totals[phase]
                    total.calls += 1
                    total.wall_s += wall - frame[2]
                    total.cpu_s += cpu - frame[3]

        self._patches.patch(owner, name, timed)

    def unwrap(self) -> None:
        self._patches.unwrap()

    def reset(self) -> None:
        with self._lock:
            self.totals.clear()

    def _stack(self) -> list:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def table(self, sessions: int) -> list[str]:
        with self._lock:
            rows = sorted(self.totals.items(), key=lambda item: -item[1].wall_s)
        lines = [f"    {'phase':38s} {'calls':>7s} {'wall s':>8s} {'ms/session':>11s} {'cpu ms/session':>15s}"]
        for phase, total in rows:
            lines.append(f"    {phase:38s} {total.calls:7d} {total.wall_s:8.1f} "
                         f"{total.wall_s / sessions * 1000:11.1f} {total.cpu_s / sessions * 1000:15.1f}")
        return lines
