"""One print, step by step (ARCHITECTURE §5): gate, fetch and verify, journal `created`,
reserve with the dinas (`reserved`), render (`Printer.prepare`), read the printer's counters,
journal `sending`, send through the printer's own worker thread and wait with a deadline,
then `printed` or `failed(reason)`. Each final state and its event for the dinas are written
in one journal transaction; the outbox delivers the event afterwards. Receipts are separate
and optional.

A print is two halves: `stage` (gate, fetch, journal `created`, reserve, `reserved`, render)
and `send` (the gate again, counters, `sending`, the printer, `printed`). `print_one` is
both; a print lane stages the next document while this one prints (kiosk/session_printing.py),
so the citizen does not wait for its reservation and rendering between two cards. A staged
document that is not sent (a cancel, or its printer went out of service meanwhile) is
`release`d: journaled `failed` with a `failed` event that frees its reservation. A crash while
a document is staged leaves it `reserved`, which recovery already settles as `failed`.

Runs on the session engine's I/O thread; device calls go through `DeviceBoard.submit` so
they never interleave with the device's status polling. Rendering does no device I/O and runs
here, on the I/O thread, not on the device's worker: a KIA takes ~50 ms of CPU, which would
hold up that printer's status polls, and pdfium (not thread-safe) is then used by one thread
only, the one that also renders the previews. A document that cannot be rendered ends as
`failed(<DocumentUnprintable.reason>)` before `sending`: no paper or card moves, and the
`failed` event releases the reservation.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from devices.status import DeviceError
from printer_drivers import registry
from printer_drivers.base import (CARDS_INSERTED, DocumentUnprintable, JobMayStillPrint, PreparedJob, PrintJob,
                                  QueuedJobs, cards_taken)

from . import dinas_errors as de
from .gating import document_refusal, printer_for
from .journal import FAILED, PRINTED, RESERVED, SENDING, Event, Journal, JournalWriteError, crash_point
from .supplies import RECEIPTS_PRINTED

log = logging.getLogger(__name__)

StepCallback = Callable[[str, str], None]     # (step, state): state is active, done or failed

STEP_FETCHING, STEP_RESERVING, STEP_SENDING, STEP_DONE = "fetching", "reserving", "sending", "done"
STORAGE = "storage"        # the journal could not be written: nothing is sent to a printer
SKIPPED, CANCELLED = "skipped", "cancelled"      # a document the citizen's cancel stopped before it printed
# One print per printer role, from sending to the device's answer (the registry's).
PRINT_DEADLINE_S: Mapping[str, float] = {role: registry.device(role).print_deadline_s
                                         for role in registry.printer_roles()}
RECEIPT_ROLE = registry.roles_with(registry.RECEIPTS)[0]


@dataclass(frozen=True)
class Outcome:
    document_id: str
    kind: str
    result: str                    # printed | failed
    reason: str | None = None      # why it failed: a fault code, a dinas error code, network …
    job_id: str | None = None

    @property
    def printed(self) -> bool:
        return self.result == PRINTED


@dataclass(frozen=True)
class StagedPrint:
    """A document ready to send: journaled `reserved`, reserved with the dinas, rendered."""

    document: Any
    role: str
    job_id: str
    prepared: PreparedJob


class PrintOrchestrator:
    def __init__(self, client, journal: Journal, outbox, devices, *,
                 deadlines: Mapping[str, float] = PRINT_DEADLINE_S,
                 keep_open: Callable[[str], None] = lambda job_id: None) -> None:
        self._client = client
        self._journal = journal
        self._outbox = outbox
        self._devices = devices
        self._deadlines = deadlines
        self._keep_open = keep_open        # a job to settle later from its print server (recovery)

    def fetch(self, session_id: str, document) -> bytes:
        """The document's verified bytes (size and sha256 checked by the client)."""
        return self._client.download_document(session_id, document)

    def print_one(self, session_id: str, document, pdf: bytes | None, settings, now: datetime,
                  step: StepCallback, assisted_by: str | None = None) -> Outcome:
        """`assisted_by`: the operator's PIN slot when the kecamatan operator guided the
        session: the `printed` event says `assisted` (the dinas counts assisted prints), the
        day's counters count it, and the operator's audit trail names the job."""
        staged = self.stage(session_id, document, pdf, settings, now, step)
        if isinstance(staged, Outcome):
            return staged
        return self.send(staged, settings, now, step, assisted_by)

    def stage(self, session_id: str, document, pdf: bytes | None, settings, now: datetime,
              step: StepCallback) -> StagedPrint | Outcome:
        """The first half of a print: ready to send, or the Outcome of why not. Nothing has
        reached a printer yet."""
        kind, role = document.kind, printer_for(document.kind)

        def failed(reason: str, job_id: str | None = None) -> Outcome:
            return Outcome(document.id, kind, FAILED, reason, job_id)

        refusal = self._refusal(kind, settings, now)
        if refusal is not None:
            step(STEP_FETCHING, "failed")
            return failed(refusal)
        if pdf is None:
            step(STEP_FETCHING, "active")
            try:
                pdf = self.fetch(session_id, document)
            except de.DinasError as exc:
                step(STEP_FETCHING, "failed")
                return failed(_dinas_reason(exc))
        step(STEP_FETCHING, "done")

        job_id = str(uuid.uuid4())
        step(STEP_RESERVING, "active")
        try:
            self._journal.create_job(job_id, document.id, kind, role)
        except JournalWriteError:
            step(STEP_RESERVING, "failed")          # nothing reserved, nothing to release
            return failed(STORAGE)
        refused = self._reserve(session_id, job_id, document.id)
        if refused is not None:
            step(STEP_RESERVING, "failed")
            return failed(refused, job_id)
        try:
            self._journal.transition(job_id, RESERVED)
        except JournalWriteError:
            self._finish_failed(job_id, STORAGE, {"stage": "journal"})     # releases the reservation
            step(STEP_RESERVING, "failed")
            return failed(STORAGE, job_id)
        step(STEP_RESERVING, "done")

        job = PrintJob(job_id=job_id, kind=kind, pdf=pdf, title=f"{kind} {job_id[:8]}",
                       on_sent=lambda ref: self._note_device_job(job_id, ref))
        try:
            prepared = self._devices.printer(role).prepare(job)
        except DocumentUnprintable as exc:
            # The document's fault, not the device's: one line, no traceback, no content.
            log.warning("job %s: %s document not printable: %s (%s)", job_id, kind, exc.reason, exc.detail)
            self._finish_failed(job_id, exc.reason, {"stage": "prepare", "error": exc.detail[:200]})
            step(STEP_SENDING, "failed")
            return failed(exc.reason, job_id)
        except Exception as exc:  # noqa: BLE001 - a renderer bug is a failed print, not a held reservation
            log.exception("job %s: rendering failed", job_id)
            self._finish_failed(job_id, "internal", {"stage": "prepare", "error": type(exc).__name__})
            step(STEP_SENDING, "failed")
            return failed("internal", job_id)
        return StagedPrint(document, role, job_id, prepared)

    def release(self, staged: StagedPrint, reason: str = CANCELLED) -> Outcome:
        """Give up a staged document that was not sent: journaled `failed`, and the event
        frees its reservation. A cancel's Outcome is `skipped`, as for a document never staged."""
        cancelled = reason == CANCELLED
        self._finish_failed(staged.job_id, reason, {"stage": "staged"}, count={"cancelled": 1} if cancelled else None)
        return Outcome(staged.document.id, staged.document.kind, SKIPPED if cancelled else FAILED, reason,
                       staged.job_id)

    def send(self, staged: StagedPrint, settings, now: datetime, step: StepCallback,
             assisted_by: str | None = None) -> Outcome:
        """The second half: the printer's gate again (it may have changed since the document
        was staged), then the print."""
        document, role, job_id, prepared = staged.document, staged.role, staged.job_id, staged.prepared
        kind = document.kind

        def failed(reason: str, job_id: str | None = None) -> Outcome:
            return Outcome(document.id, kind, FAILED, reason, job_id)

        step(STEP_SENDING, "active")
        refusal = self._refusal(kind, settings, now)
        if refusal is not None:
            step(STEP_SENDING, "failed")
            return self.release(staged, refusal)
        try:
            before = self._devices.counters(role)
        except (DeviceError, FutureTimeout, RuntimeError) as exc:
            reason = exc.code.value if isinstance(exc, DeviceError) else "timeout"
            self._finish_failed(job_id, reason, {"stage": "counters"})
            step(STEP_SENDING, "failed")
            return failed(reason, job_id)
        try:
            self._journal.transition(job_id, SENDING, counters_before=dict(before),
                                     event=Event.new(job_id, "printing"))
        except JournalWriteError:
            # Not on disk: a crash now would leave no trace of the print, so it never starts.
            self._finish_failed(job_id, STORAGE, {"stage": "journal"})
            step(STEP_SENDING, "failed")
            return failed(STORAGE, job_id)
        self._outbox.kick()

        printer = self._devices.printer(role)
        future = self._devices.submit(role, lambda: printer.print_prepared(prepared, lambda s: step(s, "active")))
        # Never give up before the driver's own deadline: it cancels a job it gives up on.
        deadline = max(self._deadlines.get(role, PRINT_DEADLINE_S[role]), printer.deadline_s or 0.0)
        try:
            result = future.result(deadline)
        except FutureTimeout:
            # The device thread still owns the job; nobody knows yet if it will come out.
            if isinstance(printer, QueuedJobs):
                # A queue may still print it: the document stays reserved until the driver
                # says how the job ended, so it can never come out after a release.
                future.add_done_callback(lambda done: self._settle_late(job_id, done))
            else:
                self._finish_failed(job_id, "timeout", {"review": True}, review=True)
            step(STEP_SENDING, "failed")
            return failed("timeout", job_id)
        except JobMayStillPrint as exc:
            # Not released: the queue may print it yet. Recovery's retry finds the job on the
            # server, cancels it, and only then tells the dinas.
            log.warning("job %s: %s; kept open until its print server answers", job_id, exc.fault.detail)
            self._keep_open(job_id)
            step(STEP_SENDING, "failed")
            return failed(exc.code.value, job_id)
        except DeviceError as exc:
            self._finish_failed(job_id, exc.code.value, {"fault": exc.fault.as_dict()},
                                spoiled=self._card_spoiled(role, before))
            step(STEP_SENDING, "failed")
            return failed(exc.code.value, job_id)
        except Exception as exc:  # noqa: BLE001 - a driver bug is a failed print, not a crash
            log.exception("job %s: driver failed", job_id)
            self._finish_failed(job_id, "hardware", {"error": type(exc).__name__},
                                spoiled=self._card_spoiled(role, before))
            step(STEP_SENDING, "failed")
            return failed("hardware", job_id)
        crash_point("sent")     # test hook: the print is out, `printed` not yet journaled
        try:
            mark = {"assisted": True} if assisted_by else None
            self._journal.transition(job_id, PRINTED, counters_after=dict(result.counters_after),
                                     event=Event.new(job_id, "printed", None, mark),
                                     count={"printed": 1, **({"assisted": 1} if assisted_by else {})})
            if assisted_by:
                self._journal.audit(assisted_by, "assisted_print", {"kind": kind, "job_id": job_id,
                                                                    "slot": assisted_by})
        except JournalWriteError:
            # It came out: the citizen is told so. The event goes from memory (Outbox.hold);
            # the journal still says `sending`, which recovery settles from the printer.
            log.error("job %s printed but not journaled; its event is delivered from memory", job_id)
        self._outbox.kick()
        step(STEP_DONE, "done")
        return Outcome(document.id, kind, PRINTED, None, job_id)

    def _refusal(self, kind: str, settings, now: datetime) -> str | None:
        refusal = document_refusal(kind, self._devices.statuses(), settings, now)
        return None if refusal is None else refusal.key.rsplit(".", 1)[-1]

    def _reserve(self, session_id: str, job_id: str, document_id: str) -> str | None:
        """Reserve (the client retries it: it is idempotent on job_id); None on success, else
        the reason. When the dinas may hold a reservation we could not confirm, a `failed`
        event goes into the outbox to release it."""
        try:
            self._client.reserve_job(session_id, job_id, document_id)
            return None
        except de.DinasUnavailable:
            self._finish_failed(job_id, "network", {"stage": "reserve"})
            return "network"
        except de.DinasError as exc:
            reason = _dinas_reason(exc)
            try:
                self._journal.transition(job_id, FAILED, reason=reason, count={"refused": 1})
            except JournalWriteError:
                pass            # nothing to tell the dinas; recovery closes the job at next start
            return reason

    def _finish_failed(self, job_id: str, reason: str, detail: Mapping,
                       review: bool = False, spoiled: bool = False, count: Mapping[str, int] | None = None) -> None:
        count = dict(count or {"failed": 1})
        if spoiled:
            count["cards_spoiled"] = 1
        try:
            self._journal.transition(job_id, FAILED, reason=reason, review=review, count=count,
                                     event=Event.new(job_id, "failed", reason, detail))
        except JournalWriteError:
            pass                # the event is held in memory by the outbox (Journal.on_unwritten_event)
        self._outbox.kick()

    def _settle_late(self, job_id: str, done) -> None:
        """A print the citizen was told had timed out has ended after all (on the device's
        thread): journal how, for review, and tell the dinas."""
        error = done.exception()
        if error is None:
            log.warning("job %s: printed after its deadline", job_id)
            try:
                self._journal.transition(job_id, PRINTED, reason="late", review=True,
                                         counters_after=dict(done.result().counters_after),
                                         event=Event.new(job_id, "printed", None, {"late": True, "review": True}),
                                         count={"printed": 1})
            except JournalWriteError:
                pass            # held in memory by the outbox
            self._outbox.kick()
            return
        if isinstance(error, JobMayStillPrint):
            self._keep_open(job_id)
            return
        reason = error.code.value if isinstance(error, DeviceError) else "hardware"
        self._finish_failed(job_id, reason, {"late": True, "review": True}, review=True)

    def _note_device_job(self, job_id: str, ref: Mapping) -> None:
        """The device's reference for the job, for recovery: a print server's id, or a card
        printer's CARD_WHOLE. If it cannot be journaled the print goes on: recovery would find
        a queued job by its name (printer_drivers.a4.ipp_job_name), and give a card the
        short grace."""
        try:
            self._journal.note_device_job(job_id, ref)
        except JournalWriteError:
            log.error("job %s: the print server's job id could not be journaled", job_id)

    def _card_spoiled(self, role: str, before: Mapping[str, int]) -> bool:
        """After a failed card print: did a blank card go into the printer?"""
        if CARDS_INSERTED not in before:
            return False
        try:
            after = self._devices.counters(role)
        except Exception:  # noqa: BLE001 - unknown is not spoiled; recovery and review handle it
            return False
        return bool(cards_taken(before, after))

    def print_receipt(self, receipt) -> bool:
        """Print one receipt if the receipt printer is usable; False otherwise (the UI then
        shows the help QR instead)."""
        role = RECEIPT_ROLE
        status = self._devices.statuses().get(role)
        if status is None or not status.usable:
            return False
        try:
            self._devices.submit(role, lambda: self._devices.printer(role).print_receipt(receipt)) \
                .result(self._deadlines.get(role, PRINT_DEADLINE_S[role]))
        except Exception as exc:  # noqa: BLE001 - a receipt is a courtesy; its failure is no refusal
            log.warning("receipt not printed: %s", type(exc).__name__)
            return False
        try:        # a slip of the roll used: the kiosk's own receipt count (kiosk/supplies.py)
            self._journal.count(receipt.document_kind, RECEIPTS_PRINTED)
        except JournalWriteError:
            log.error("a printed receipt could not be counted in the journal")
        return True


def _dinas_reason(exc: Exception) -> str:
    if isinstance(exc, de.DinasUnavailable):
        return "network"
    return getattr(exc, "code", "error")
