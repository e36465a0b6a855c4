"""The printing screen's work, on the session engine's I/O thread: each chosen document in
turn through the orchestrator, then one receipt per printed document. Progress, outcomes and
the end are posted back to the session thread through the engine's handlers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from .orchestrator import Outcome

log = logging.getLogger(__name__)

SKIPPED = "skipped"


@dataclass(frozen=True)
class PrintHandlers:
    """Session-thread handlers, each called through `post` with the session's token first."""

    post: Callable[..., None]
    step: Callable[..., None]        # (token, document_id, kind, step, state)
    outcome: Callable[..., None]     # (token, Outcome)
    done: Callable[..., None]        # (token, receipt_printed)


class PrintRun:
    def __init__(self, orchestrator, wall_clock: Callable[[], datetime], kiosk_id: str, place: str) -> None:
        self._orchestrator = orchestrator
        self._wall_clock = wall_clock
        self._kiosk_id, self._place = kiosk_id, place

    def run(self, session: Any, chosen: list, settings, language: str, handlers: PrintHandlers) -> None:
        """One failure does not stop the others; a cancel skips what has not started. The
        verified bytes are taken from `session.pdfs` (prefetched on this same thread) and
        dropped as each print ends."""
        token, printed = session.token, []
        try:
            for document in chosen:
                if session.stop_printing.is_set():
                    outcome = Outcome(document.id, document.kind, SKIPPED, "cancelled")
                else:
                    outcome = self._print_one(session, document, session.pdfs.pop(document.id, None),
                                              settings, handlers)
                if outcome.printed:
                    printed.append(outcome)
                handlers.post(handlers.outcome, token, outcome)
        finally:
            session.pdfs.clear()
            receipt = self._receipts(session, printed, settings, language)
            handlers.post(handlers.done, token, receipt)

    def _print_one(self, session: Any, document, pdf: bytes | None, settings, handlers: PrintHandlers) -> Outcome:
        def step(name: str, state: str) -> None:
            handlers.post(handlers.step, session.token, document.id, document.kind, name, state)
        try:
            return self._orchestrator.print_one(session.session_id, document, pdf, settings,
                                                self._wall_clock(), step)
        except Exception:  # noqa: BLE001 - a bug in one print must not lose the others
            log.exception("print of a %s failed unexpectedly", document.kind)
            return Outcome(document.id, document.kind, "failed", "internal")

    def _receipts(self, session: Any, printed: list[Outcome], settings, language: str) -> bool:
        if not printed or not settings.receipt_enabled:
            return False     # settings.receipt_enabled off: the done screen shows the help QR
        try:
            return all(self._orchestrator.print_receipt(self._receipt(session, outcome, settings, language))
                       for outcome in printed)
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
