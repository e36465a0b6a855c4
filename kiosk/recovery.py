"""Start-up settlement of prints a crash or power cut left open in the journal.

Run once by `KioskRuntime.start()` before the first citizen is served, after the device
workers are up. The rules, per journal state of the job:

- `created` or `reserved`: nothing reached the printer. Settled `failed(interrupted)`; the
  `failed` event releases the dinas's reservation (a dinas that never saw the job answers
  not_found, which closes the event), so the citizen can print the document again.
- `sending`, card printer: the counters read just before sending are compared with the
  printer's now. Same `cards_inserted`: no card was taken, settled as above. More: a card
  went through, so the job is settled `printed` (with a review flag): reporting it failed
  would let the same card be printed twice. Counters unreadable: `failed(interrupted)`
  flagged for review.
- `sending`, any other printer (A4 keeps no counters we can trust): `failed(interrupted)`
  flagged for the dinas to review, since a page may have come out.

Every settlement writes its event into the outbox in the same journal transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping

from .journal import FAILED, PRINTED, SENDING, Event, Journal, JobRecord

log = logging.getLogger(__name__)

COUNTER_TIMEOUT_S = 15.0
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Settlement:
    job_id: str
    kind: str
    was: str
    now: str                       # printed | failed
    review: bool
    why: str


def recover(journal: Journal, devices, outbox=None) -> list[Settlement]:
    settled = [_settle(journal, devices, job) for job in journal.open_jobs()]
    for s in settled:
        log.warning("recovered job %s (%s) left in %s: %s%s (%s)", s.job_id, s.kind, s.was, s.now,
                    " for review" if s.review else "", s.why)
    if settled and outbox is not None:
        outbox.kick()
    return settled


def _settle(journal: Journal, devices, job: JobRecord) -> Settlement:
    if job.state != SENDING:
        return _failed(journal, job, review=False, why="not sent to the printer")
    before = job.counters_before or {}
    if "cards_inserted" not in before:
        return _failed(journal, job, review=True, why="printer keeps no counters; a page may have come out")
    now = _counters(devices, job.role)
    if now is None or "cards_inserted" not in now:
        return _failed(journal, job, review=True, why="card counters could not be read")
    if now["cards_inserted"] <= before["cards_inserted"]:
        return _failed(journal, job, review=False, why="card counters unchanged: no card was taken")
    detail = {"recovered": True, "review": True, "counters_before": dict(before), "counters_now": dict(now)}
    journal.transition(job.job_id, PRINTED, reason="recovered", counters_after=now, review=True,
                       event=Event.new(job.job_id, "printed", None, detail), count={"printed": 1})
    return Settlement(job.job_id, job.kind, job.state, PRINTED, True, "card counters advanced: the card went through")


def _failed(journal: Journal, job: JobRecord, *, review: bool, why: str) -> Settlement:
    detail = {"recovered": True, "review": review, "stage": job.state}
    journal.transition(job.job_id, FAILED, reason=INTERRUPTED, review=review, count={"failed": 1},
                       event=Event.new(job.job_id, "failed", INTERRUPTED, detail))
    return Settlement(job.job_id, job.kind, job.state, FAILED, review, why)


def _counters(devices, role: str) -> Mapping[str, int] | None:
    try:
        return devices.submit(role, lambda: devices.printer(role).counters()).result(COUNTER_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - unreadable counters are settled for review
        log.warning("recovery: %s counters unreadable: %s", role, type(exc).__name__)
        return None
