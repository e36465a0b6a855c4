"""`Housekeeping`: the kiosk's own chores, on one background thread, between sessions.

    chores = Housekeeping(journal, in_session=lambda: engine.in_session, retention_days=90)
    chores.run_once()      # at start, before the first citizen
    chores.start()         # then every `interval_s`
    chores.stop()

Chores given by the runtime run every time: the state folder's check (kiosk/storage.py), the
jobs left open because their print server did not answer, tried again, and the allocator's
free pages given back (kiosk/malloc_tuning.py). Retention: once
a day, finished jobs, their history and delivered events older than `retention_days` leave
the journal (`Journal.prune`), so years of use keep it small and its queries as fast as on
the first day. A chore never runs while a citizen is being served; it
waits for the next quiet moment.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Sequence

from .journal import Journal

log = logging.getLogger(__name__)

DAY_S = 24 * 3600.0
INTERVAL_S = 30.0


class Housekeeping:
    def __init__(self, journal: Journal, *, in_session: Callable[[], bool] = lambda: False,
                 retention_days: int = 90, interval_s: float = INTERVAL_S,
                 chores: Sequence[Callable[[], None]] = (),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._journal = journal
        self._chores = tuple(chores)
        self._in_session = in_session
        self.retention_s = retention_days * DAY_S
        self.interval_s = interval_s
        self._clock = clock
        self._last_prune: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, *, chores: bool = True) -> None:
        """Every chore that is due, now (if no citizen is being served); `chores=False` runs
        only the retention (at start, right after the runtime did the others itself)."""
        if self._in_session():
            return
        for chore in self._chores if chores else ():
            try:
                chore()
            except Exception:  # noqa: BLE001 - one failing chore must not stop the others
                log.exception("housekeeping chore %s failed", getattr(chore, "__name__", chore))
        if self._last_prune is None or self._clock() - self._last_prune >= DAY_S:
            self.prune()

    def prune(self) -> dict[str, int]:
        self._last_prune = self._clock()
        try:
            removed = self._journal.prune(self.retention_s)
        except Exception as exc:  # noqa: BLE001 - a chore that fails is tried again tomorrow
            log.warning("journal retention failed: %s: %s", type(exc).__name__, exc)
            return {}
        if any(removed.values()):
            log.info("journal retention: removed %(jobs)d jobs, %(history)d history rows, "
                     "%(events)d delivered events", removed)
        return removed

    def start(self) -> Housekeeping:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the thread must outlive one bad chore
                log.exception("housekeeping failed")
