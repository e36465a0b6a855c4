"""Start-up settlement of prints a crash or power cut left open in the journal.

Run once by `KioskRuntime.start()` before the first citizen is served, after the device
workers are up. The rules, per journal state of the job:

- `created` or `reserved`: nothing reached the printer. Settled `failed(interrupted)`; the
  `failed` event releases the dinas's reservation (a dinas that never saw the job answers
  not_found, which closes the event), so the citizen can print the document again.
- `sending`, card printer: the counters read just before sending are compared with the
  printer's now. Same `cards_inserted`: no card was taken, settled as above. More: a card
  was taken; where is it now?
  - out of the printer (at once, or within a short grace, for a card that was already on
    its way out): it went through, so the job is settled `printed` (with a review flag):
    reporting it failed would let the same card be printed twice.
  - the journal says the printer had the whole card (`CARD_WHOLE`, journaled right after
    ``Se``): it prints and ejects it by itself, host or no host, for as long as a real card
    takes (~30 s a colour card, more with a warm-up: far past the short grace). Recovery
    waits for it up to CARD_FINISH_WAIT_S and settles it `printed`; rejecting it would
    throw away a good card and the citizen's print. Still inside after that: stuck, below.
  - still inside after the grace: the printer stopped mid-card when the kiosk died, so no
    finished card came out. The card is sent to the reject box (`reject_card()`), the
    automatic reject goes into the audit trail, and the job is settled `failed(interrupted)`
    for review with a spoiled card counted: the document is printable again. The reject
    comes before the settlement, and the journal says so first (`CARD_REJECTING`): a crash
    in between leaves the job open with the mark and no card inside, which the next start
    settles `failed(interrupted)` with the card spoiled, as it would have been. A
    printer that refuses the reject (a jam, the cover open) keeps reporting the card as a
    fault, so no card is offered until a technician clears it; the job is settled the same.
  - the printer cannot say (no such query, or no answer): `printed` for review, as above.
  Counters unreadable: `failed(interrupted)` flagged for review.
- `sending`, a printer behind a print server that keeps jobs (A4 over CUPS/IPP,
  `printer_drivers.base.QueuedJobs`): the server is asked about the job by the IPP id
  journaled when it accepted the job (or by its job-name if the crash came before that):
  - completed: the page came out → `printed`, flagged for review;
  - still pending, held, printing or stopped: cancelled and purged FIRST, then
    `failed(interrupted)` (for review when it was already printing: part of a page may be
    out). The document is released only once this copy can never print unattended;
  - aborted or canceled earlier, or unknown to the server: `failed(interrupted)` for review;
  - the server does not answer: the job stays `sending` (the dinas keeps the document
    reserved) and is tried again between sessions (`retry_left_open`) until it answers,
    because a queue we cannot see may still print it.
- `sending`, any other printer that keeps no counters: `failed(interrupted)` flagged for the
  dinas to review, since a page may have come out.

Every settlement writes its event into the outbox in the same journal transaction.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Collection, Mapping

from devices.status import DeviceError, FaultCode
from printer_drivers.base import CARDS_INSERTED, CardHandling, PrintJob, QueuedJobs, card_whole, cards_taken

from .devices_runtime import COUNTER_TIMEOUT_S
from .journal import FAILED, PRINTED, SENDING, Event, Journal, JobRecord

log = logging.getLogger(__name__)

CARD_OUT_GRACE_S = 6.0      # a card already ejecting when the PC died is out within seconds
CARD_FINISH_WAIT_S = 120.0  # a card the printer had whole: its print time with a warm-up, twice over
# Journaled (jobs.device_job) just before recovery sends a card stopped mid-print to the reject box.
CARD_REJECTING: Mapping[str, Any] = {"card": "rejecting"}
CARD_POLL_S = 0.2
REJECT_TIMEOUT_S = 30.0
QUEUE_TIMEOUT_S = 60.0      # finding, cancelling and purging one job on a print server
INTERRUPTED = "interrupted"
AUDIT_ACTOR = "kiosk"       # automatic actions, beside the technicians' own in the audit trail


@dataclass(frozen=True)
class Settlement:
    job_id: str
    kind: str
    was: str
    now: str                       # printed | failed | sending (left open: the printer did not answer)
    review: bool
    why: str


def recover(journal: Journal, devices, outbox=None, *, card_grace_s: float | None = None,
            only: Collection[str] | None = None) -> list[Settlement]:
    """Settle every open job (or the open ones among `only`); `card_grace_s` (default
    CARD_OUT_GRACE_S) is how long a card found inside the printer is given to come out
    before it counts as stopped mid-card."""
    grace = CARD_OUT_GRACE_S if card_grace_s is None else card_grace_s
    settled = [_settle(journal, devices, job, grace) for job in journal.open_jobs()
               if only is None or job.job_id in only]
    for s in settled:
        log.warning("recovered job %s (%s) left in %s: %s%s (%s)", s.job_id, s.kind, s.was, s.now,
                    " for review" if s.review else "", s.why)
    if settled and outbox is not None:
        outbox.kick()
    return settled


def left_open(settled: list[Settlement]) -> list[str]:
    """The jobs recovery had to leave open, to be tried again (`retry_left_open`)."""
    return [s.job_id for s in settled if s.now == SENDING]


def retry_left_open(journal: Journal, devices, outbox, job_ids: list[str]) -> list[str]:
    """Try the left-open jobs again (between sessions); the ids still open afterwards."""
    return left_open(recover(journal, devices, outbox, only=job_ids)) if job_ids else []


def _settle(journal: Journal, devices, job: JobRecord, grace: float) -> Settlement:
    if job.state != SENDING:
        return _failed(journal, job, review=False, why="not sent to the printer")
    before = job.counters_before or {}
    if CARDS_INSERTED not in before:
        if job.role in devices.roles and isinstance(devices.printer(job.role), QueuedJobs):
            return _settle_queued(journal, devices, job)
        return _failed(journal, job, review=True, why="printer keeps no counters; a page may have come out")
    now = _counters(devices, job.role)
    taken = cards_taken(before, now)
    if taken is None:
        return _failed(journal, job, review=True, why="card counters could not be read")
    if taken == 0:
        return _failed(journal, job, review=False, why="card counters unchanged: no card was taken")
    if job.device_job == CARD_REJECTING and not _card_left_inside(devices, job.role, 0.0):
        return _rejected_before(journal, job, before, now)
    if _card_left_inside(devices, job.role, CARD_FINISH_WAIT_S if card_whole(job.device_job) else grace):
        return _reject_left_card(journal, devices, job, before, now)
    return _printed(journal, job, before, now, "card counters advanced: the card went through")


def _settle_queued(journal: Journal, devices, job: JobRecord) -> Settlement:
    """A job on a print server: cancel it if it is still there, before the document is
    released; settle it by what the server says."""
    printer = devices.printer(job.role)
    asked = PrintJob(job.job_id, job.kind, b"")
    try:
        found = devices.submit(job.role, lambda: printer.settle_interrupted(asked, job.device_job)) \
            .result(QUEUE_TIMEOUT_S)
    except (DeviceError, FutureTimeout, RuntimeError) as exc:
        why = f"the {job.role} did not answer ({type(exc).__name__}); kept open: its queue may still hold the job"
        return Settlement(job.job_id, job.kind, job.state, SENDING, True, why)
    server = {"print_server": found.outcome, **({"was": found.was} if found.was else {})}
    if found.outcome == "completed":
        return _printed(journal, job, {}, {}, "the print server completed the job: the page came out",
                        extra=server)
    if found.outcome == "canceled":
        printing = found.was not in ("pending", "pending-held")
        why = f"the print server still held the job ({found.was}): cancelled before the document was released"
        return _failed(journal, job, review=printing, why=why, extra=server)
    return _failed(journal, job, review=True, extra=server,
                   why=f"the print server {'lost' if found.outcome == 'not_found' else 'ended'} the job;"
                       " a page may have come out")


def _printed(journal: Journal, job: JobRecord, before: Mapping[str, int], now: Mapping[str, int],
             why: str, extra: Mapping[str, Any] | None = None) -> Settlement:
    detail = {"recovered": True, "review": True, **({"counters_before": dict(before), "counters_now": dict(now)}
                                                    if before or now else {}), **(extra or {})}
    journal.transition(job.job_id, PRINTED, reason="recovered", counters_after=now or None, review=True,
                       event=Event.new(job.job_id, "printed", None, detail), count={"printed": 1})
    return Settlement(job.job_id, job.kind, job.state, PRINTED, True, why)


def _failed(journal: Journal, job: JobRecord, *, review: bool, why: str,
            extra: Mapping[str, Any] | None = None, spoiled: bool = False) -> Settlement:
    detail = {"recovered": True, "review": review, "stage": job.state, **(extra or {})}
    count = {"failed": 1, "cards_spoiled": 1} if spoiled else {"failed": 1}
    journal.transition(job.job_id, FAILED, reason=INTERRUPTED, review=review, count=count,
                       event=Event.new(job.job_id, "failed", INTERRUPTED, detail))
    return Settlement(job.job_id, job.kind, job.state, FAILED, review, why)


def _reject_left_card(journal: Journal, devices, job: JobRecord, before: Mapping[str, int],
                      now: Mapping[str, int]) -> Settlement:
    counters = {"counters_before": dict(before), "counters_now": dict(now)}
    rejected = came_out = False
    if not card_whole(job.device_job):
        # A card stopped mid-print cannot come out by itself: if the kiosk dies once more
        # after `Ser`, the next start reads this and settles the card spoiled, not printed.
        journal.note_device_job(job.job_id, CARD_REJECTING)
    try:
        rejected = devices.submit(job.role, lambda: devices.printer(job.role).reject_card(REJECT_TIMEOUT_S)) \
            .result(REJECT_TIMEOUT_S + COUNTER_TIMEOUT_S)
        came_out = not rejected
        outcome = "rejected" if rejected else "no card left to reject"
    except DeviceError as exc:
        outcome = f"refused: {exc.code.value}"
    except Exception as exc:  # noqa: BLE001 - the printer keeps reporting the card as a fault
        outcome = f"failed: {type(exc).__name__}"
    journal.audit(AUDIT_ACTOR, "card_rejected", {"job_id": job.job_id, "role": job.role, "outcome": outcome,
                                                 "why": "recovery: card left inside mid-print", **counters})
    devices.refresh()       # gating sees the printer free again (or still faulted) at once
    if came_out:
        # It left between the last look and Ser: it came out, so it went through.
        return _printed(journal, job, before, now, "the card came out late: it went through")
    why = "the card stopped inside the printer mid-print: " + \
        ("sent to the reject box" if rejected else f"reject {outcome}, a technician must clear it")
    return _failed(journal, job, review=True, spoiled=True, why=why,
                   extra={"card": "rejected" if rejected else "left_inside", **counters})


def _rejected_before(journal: Journal, job: JobRecord, before: Mapping[str, int],
                     now: Mapping[str, int]) -> Settlement:
    """The last start sent this job's card (stopped mid-print) to the reject box and died
    before settling the job: a spoiled card, the document printable again."""
    counters = {"counters_before": dict(before), "counters_now": dict(now)}
    journal.audit(AUDIT_ACTOR, "card_rejected", {"job_id": job.job_id, "role": job.role,
                                                 "outcome": "rejected before a restart",
                                                 "why": "recovery: card left inside mid-print", **counters})
    return _failed(journal, job, review=True, spoiled=True, extra={"card": "rejected", **counters},
                   why="the card stopped inside the printer mid-print: sent to the reject box before a restart")


def _card_left_inside(devices, role: str, grace: float) -> bool:
    """True when a card is still in the printer `grace` seconds on (or is stuck there);
    False when it is out, or when the printer cannot say (then the card is taken to have gone
    through, which never lets it be printed twice)."""
    printer = devices.printer(role)
    if not isinstance(printer, CardHandling):        # an A4 page cannot be left inside
        return False
    deadline = time.monotonic() + grace
    while True:
        try:
            inside = devices.submit(role, printer.card_in_printer).result(COUNTER_TIMEOUT_S)
        except DeviceError as exc:
            return exc.code == FaultCode.MEDIA_JAM      # stuck: no finished card came out
        except Exception as exc:  # noqa: BLE001 - unknown: settled as gone through, for review
            log.warning("recovery: %s card presence unreadable: %s", role, type(exc).__name__)
            return False
        if not inside or time.monotonic() >= deadline:
            return inside
        time.sleep(CARD_POLL_S)


def _counters(devices, role: str) -> Mapping[str, int] | None:
    try:
        return devices.counters(role)
    except Exception as exc:  # noqa: BLE001 - unreadable counters are settled for review
        log.warning("recovery: %s counters unreadable: %s", role, type(exc).__name__)
        return None
