"""Delivers the journal's events to the dinas: in order, with backoff and jitter, forever.

Events are written to the journal (kiosk.journal) in the same transaction as the job state
they report, so delivery can be lazy: one background thread takes the oldest undelivered
event, posts it, and only then moves to the next. A failure (network down, dinas busy,
5xx, a reply off the contract) keeps the event at the head and waits
`min(cap, base * 2**attempts)`, scaled by a random factor in [0.5, 1] so a fleet that lost
the same network does not come back in lockstep. Nothing is ever dropped: only a definitive
answer from the dinas about that very event (it does not know the job, or the transition
is not allowed) closes it, recorded with that outcome for the technician.

An event the journal could not write (a full or read-only state folder, kiosk.storage) is
`hold`-en here in memory and delivered before the journal's, with the same retries, for as
long as the process lives: its job is never left `printing` at the dinas for want of it. If
the kiosk dies first, the job is still open in the journal and recovery settles it at the
next start from what the printer says (card counters, the print server's job), so the event
is made again.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from typing import Callable

from .journal import Event, Journal, JournalWriteError

log = logging.getLogger(__name__)

# Dinas error codes that answer the event for good: sending it again cannot change the reply.
DEFINITIVE_CODES = frozenset({"not_found", "invalid_transition", "invalid_request", "payload_too_large"})

Deliver = Callable[[Event], None]


def post_with(client) -> Deliver:
    """The delivery function for a kiosk.dinas_client.DinasClient."""
    def deliver(event: Event) -> None:
        client.post_event(event.job_id, event.event_id, event.state, event.at,
                          reason=event.reason, detail=event.detail)
    return deliver


class Outbox:
    def __init__(self, journal: Journal, deliver: Deliver, *, base_delay: float = 1.0,
                 max_delay: float = 300.0, rng: random.Random | None = None) -> None:
        self._journal = journal
        self._deliver = deliver
        self._base = base_delay
        self._cap = max_delay
        self._rng = rng or random.Random()
        self._wake = threading.Condition()
        self._stopping = False
        self._kicked = False
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._held: collections.deque[Event] = collections.deque()   # events the journal could not write
        self._held_attempts = 0
        self._held_retry_at = 0.0

    # --- control ---------------------------------------------------------------------------
    def start(self) -> Outbox:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def kick(self) -> None:
        """New events are in the journal, or the network is back: try now, backoff or not."""
        with self._wake:
            self._kicked = True
            self._wake.notify_all()

    def hold(self, event: Event) -> None:
        """Deliver `event` from memory: the journal could not write it."""
        log.warning("outbox: event %s for job %s held in memory (journal not writable)", event.state, event.job_id)
        self._held.append(event)
        self.kick()

    def depth(self) -> int:
        return self._journal.outbox_depth() + len(self._held)

    def flush(self, timeout: float) -> bool:
        """Wait until every event is delivered (True) or the timeout passes (False)."""
        deadline = time.monotonic() + timeout
        self.kick()
        while self.depth() > 0:
            if time.monotonic() >= deadline:
                return False
            self._idle.wait(0.05)
        return True

    # --- one step, also used directly by tests ---------------------------------------------
    def deliver_next(self, honour_backoff: bool = True) -> float | None:
        """Try the head event. Returns None when the outbox is empty, 0 after progress, or
        the number of seconds to wait before the head may be tried again."""
        if self._held:
            return self._deliver_held(honour_backoff)
        event = self._journal.next_event()
        if event is None:
            return None
        if honour_backoff:
            wait = self._journal.next_attempt_at(event.seq) - time.time()
            if wait > 0:
                return wait
        try:
            self._deliver(event)
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes
            code = getattr(exc, "code", None)
            if code in DEFINITIVE_CODES:
                log.warning("outbox: dinas refused event %s (%s) for job %s: %s",
                            event.state, code, event.job_id, exc)
                self._journal.mark_delivered(event.seq, outcome=f"rejected:{code}")
                return 0.0
            delay = self.backoff(event.attempts, getattr(exc, "retry_after", None))
            log.info("outbox: event %s for job %s not delivered (%s); retry in %.1fs",
                     event.state, event.job_id, type(exc).__name__, delay)
            self._journal.mark_attempt_failed(event.seq, f"{type(exc).__name__}: {exc}"[:300],
                                              time.time() + delay)
            return delay
        self._journal.mark_delivered(event.seq)
        return 0.0

    def _deliver_held(self, honour_backoff: bool) -> float:
        event = self._held[0]
        wait = self._held_retry_at - time.time()
        if honour_backoff and wait > 0:
            return wait
        try:
            self._deliver(event)
        except Exception as exc:  # noqa: BLE001 - classified as for the journal's events
            code = getattr(exc, "code", None)
            if code not in DEFINITIVE_CODES:
                delay = self.backoff(self._held_attempts, getattr(exc, "retry_after", None))
                self._held_attempts += 1
                self._held_retry_at = time.time() + delay
                return delay
            log.warning("outbox: dinas refused held event %s (%s) for job %s", event.state, code, event.job_id)
        self._held.popleft()
        self._held_attempts, self._held_retry_at = 0, 0.0
        return 0.0

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        delay = min(self._cap, self._base * (2 ** min(attempts, 30))) * self._rng.uniform(0.5, 1.0)
        return max(delay, float(retry_after or 0))

    def _run(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
            try:
                wait = self.deliver_next(honour_backoff=not self._kicked)
            except JournalWriteError:
                # delivered but not marked (read-only journal): it will be sent again, so not often
                wait = self._cap
            except Exception:  # noqa: BLE001 - a journal hiccup must not end delivery for good
                log.exception("outbox: delivery loop error")
                wait = self._base
            self._kicked = False
            if wait == 0.0:
                continue
            if wait is None:
                self._idle.set()
            with self._wake:
                if not self._stopping and not self._kicked:
                    self._wake.wait(wait if wait is not None else 30.0)
            self._idle.clear()
