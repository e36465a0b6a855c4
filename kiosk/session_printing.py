"""The printing screen's work: the chosen documents on their printers, the printers in
parallel (issue 13). Progress, outcomes and the end are posted back to the session thread
through the engine's handlers.

Each printer role is one lane: its documents go one after another, in the citizen's order, on
a lane thread of its own, while the other printers' lanes run at the same time (a KK on the
A4 printer while the KIAs go to the card printer). A lane only waits: the device's own I/O
stays on its `DeviceWorker` (one job queue per printer), and each print keeps its own journal
entry, reservation and events (`PrintOrchestrator.stage` then `send`, per document). While a
document prints, the lane's stager thread stages the next one (fetched, reserved, rendered),
so two cards follow each other with only the printer's own time between them (measured in
benchmarks/bench_family_wait.py). A cancel stops, on every lane, each document that has not
been sent (a staged one is released: its reservation freed); the prints on the way end.

Receipts: one slip per printed document, printed as soon as that document is out, on a
receipt lane of its own, so the slips come while the other documents still print. Why per
document (docs/CORE.md "Receipts"): each slip carries that print's job id and help QR, and a
family splits its documents between its members; the citizen waits only for the last slip.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from .gating import printer_for
from .orchestrator import CANCELLED, SKIPPED, Outcome, StagedPrint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrintHandlers:
    """Session-thread handlers, each called through `post` with the session's token first."""

    post: Callable[..., None]
    step: Callable[..., None]        # (token, document_id, kind, step, state)
    outcome: Callable[..., None]     # (token, Outcome)
    done: Callable[..., None]        # (token, receipt_printed, receipts_printed)


def lanes_of(documents: list, parallel: bool = True) -> dict[str, list]:
    """The documents by printer role, each lane in the citizen's order; a kind no printer
    takes gets a lane of its own (the orchestrator refuses it at once). Not `parallel`: one
    lane for all, one document after another (what the benchmark compares with)."""
    lanes: dict[str, list] = {}
    for document in documents:
        role = printer_for(document.kind) or f"unknown:{document.kind}"
        lanes.setdefault(role if parallel else "all", []).append(document)
    return lanes


class PrintRun:
    def __init__(self, orchestrator, wall_clock: Callable[[], datetime], kiosk_id: str, place: str) -> None:
        self._orchestrator = orchestrator
        self._wall_clock = wall_clock
        self._kiosk_id, self._place = kiosk_id, place
        self.parallel = True       # False: one document after another (benchmarks/bench_family_wait.py)

    def run(self, session: Any, chosen: list, settings, language: str, handlers: PrintHandlers) -> None:
        """One failure does not stop the others; a cancel skips what has not started. The
        verified bytes are taken from `session.pdfs` (prefetched on the session's I/O thread,
        which waits here until every lane has ended) and dropped as each print ends."""
        lanes = lanes_of(chosen, self.parallel)
        pdfs = {d.id: session.pdfs.pop(d.id, None) for d in chosen}
        session.pdfs.clear()
        receipts: list[Future] = []
        receipt_lane = ThreadPoolExecutor(1, thread_name_prefix="print-receipt")
        lane_pool = ThreadPoolExecutor(max(1, len(lanes)), thread_name_prefix="print-lane")
        try:
            running = [lane_pool.submit(self._lane, role, session, documents, pdfs, settings, handlers,
                                        lambda outcome: receipts.append(receipt_lane.submit(
                                            self._print_receipt, session, outcome, settings, language)))
                       for role, documents in lanes.items()]
            for lane in running:
                lane.result()
        finally:
            lane_pool.shutdown(wait=True)
            pdfs.clear()
            receipt_lane.shutdown(wait=True)
            slips = [r.result() for r in receipts]
            printed = bool(slips) and settings.receipt_enabled and all(slips)
            handlers.post(handlers.done, session.token, printed, sum(slips))

    def _lane(self, role: str, session: Any, documents: list, pdfs: dict, settings,
              handlers: PrintHandlers, on_printed: Callable[[Outcome], None]) -> None:
        stager = ThreadPoolExecutor(1, thread_name_prefix=f"print-stage-{role}")
        upcoming: Future | None = None          # the next document, staged while this one prints
        try:
            for index, document in enumerate(documents):
                if upcoming is not None:
                    staged, upcoming = upcoming.result(), None
                elif session.stop_printing.is_set():
                    staged = None
                else:
                    staged = self._stage(session, document, pdfs.pop(document.id, None), settings, handlers)
                if staged is None:
                    outcome = Outcome(document.id, document.kind, SKIPPED, CANCELLED)
                elif isinstance(staged, Outcome):
                    outcome = staged                # it ended before it was sent
                elif session.stop_printing.is_set():
                    outcome = self._orchestrator.release(staged)
                else:
                    if index + 1 < len(documents):
                        following = documents[index + 1]
                        upcoming = stager.submit(self._stage, session, following, pdfs.pop(following.id, None),
                                                 settings, handlers)
                    outcome = self._send(session, staged, settings, handlers)
                if outcome.printed and settings.receipt_enabled:
                    on_printed(outcome)
                handlers.post(handlers.outcome, session.token, outcome)
        finally:
            if upcoming is not None and isinstance(staged := upcoming.result(), StagedPrint):
                self._orchestrator.release(staged)       # only if the lane itself broke
            stager.shutdown(wait=True)

    def _stage(self, session: Any, document, pdf: bytes | None, settings, handlers: PrintHandlers
               ) -> StagedPrint | Outcome | None:
        """None when the citizen cancelled before it began."""
        if session.stop_printing.is_set():
            return None
        try:
            return self._orchestrator.stage(session.session_id, document, pdf, settings, self._wall_clock(),
                                            self._stepper(session, document, handlers))
        except Exception:  # noqa: BLE001 - a bug in one print must not lose the others
            log.exception("staging a %s failed unexpectedly", document.kind)
            return Outcome(document.id, document.kind, "failed", "internal")

    def _send(self, session: Any, staged: StagedPrint, settings, handlers: PrintHandlers) -> Outcome:
        document = staged.document
        try:
            return self._orchestrator.send(staged, settings, self._wall_clock(),
                                           self._stepper(session, document, handlers),
                                           assisted_by=session.assisted_by)
        except Exception:  # noqa: BLE001 - a bug in one print must not lose the others
            log.exception("print of a %s failed unexpectedly", document.kind)
            return Outcome(document.id, document.kind, "failed", "internal", staged.job_id)

    @staticmethod
    def _stepper(session: Any, document, handlers: PrintHandlers) -> Callable[[str, str], None]:
        def step(name: str, state: str) -> None:
            handlers.post(handlers.step, session.token, document.id, document.kind, name, state)
        return step

    def _print_receipt(self, session: Any, outcome: Outcome, settings, language: str) -> bool:
        """False means no slip (the done screen then shows the help QR), never a failure."""
        try:
            return self._orchestrator.print_receipt(self._receipt(session, outcome, settings, language))
        except Exception as exc:  # noqa: BLE001 - no receipt means the help QR, not a failure
            log.warning("receipt not printed: %s", type(exc).__name__)
            return False

    def _receipt(self, session: Any, outcome: Outcome, settings, language: str):
        from printer_drivers.receipt import Receipt

        # The QR: the dinas's help page for this print, or at least the job id staff can look up.
        verify = f"{settings.help_url.rstrip('/')}?job={outcome.job_id}" if settings.help_url \
            else f"ADM-JOB:{outcome.job_id}"
        return Receipt(kiosk_id=self._kiosk_id, place=self._place, printed_at=self._wall_clock(),
                       document_kind=outcome.kind, nik_masked=session.nik_masked, job_id=outcome.job_id,
                       verify_url=verify, language=language)
