"""Done: what to take from the kiosk (the card, the KK, the receipt), what was not printed and
why, or a help QR on screen when there is no receipt; one "Finish". What the voice says is
built from the same lines, so it always matches what really came out."""

from __future__ import annotations

from ..i18n import _, contact_text, failure_reason, kind_brief_text, kind_text
from .base import KioskScreen

# What the citizen can do about a document that did not print, by why: most causes pass (a
# printer fault, the network, a stop), so "print it later with the same PIN" is true; a
# document the dinas sent broken will not print anywhere; one printed or being printed
# elsewhere is not theirs to print again unless someone else used their PIN.
CALL_THE_DINAS = ("integrity", "unreadable", "too_many_pages")
DONE_ELSEWHERE = ("already_printed", "reserved_elsewhere")


def next_step_key(failure_key: str) -> str:
    reason = failure_key.removeprefix("print.failed.")
    if reason in CALL_THE_DINAS:
        return "done.failed_call"
    if reason in DONE_ELSEWHERE:
        return "done.failed_elsewhere"
    return "done.failed_because"


class DoneScreen(KioskScreen):
    def take_lines(self, view, language: str) -> list[str]:
        if view is None:
            return []
        lines = []
        for document in view.documents:
            outcome = view.outcomes.get(document.id)
            if outcome == "printed":
                # Where it comes out depends on its media; what it is called, on the registry.
                lines.append(_(f"done.take.{document.media}", language,
                               kind=kind_brief_text(document.kind, language)))
            elif outcome in ("failed", "skipped"):        # skipped: stopped before it began
                kind = kind_text(document.kind, language)
                step = next((s for s in view.steps if s.document_id == document.id and s.message), None)
                if step is None:
                    lines.append(_("done.failed", language, kind=kind))
                else:
                    lines.append(_(next_step_key(step.message.key), language, kind=kind,
                                   reason=failure_reason(step.message, language),
                                   contact=contact_text(view.dinas_contact, language)))
        if view.receipt_printed:
            lines.append(_("done.receipt", language))
        elif view.receipts_printed:
            lines.append(_("done.receipts_some", language))      # the paper ran out after a slip or two
        elif not view.help_url:
            lines.append(_("done.no_receipt_plain", language))
        return lines

    def no_receipt_text(self, view, language: str) -> str:
        """Beside the help QR: no slip at all, or one missing for some documents."""
        return _("done.receipts_some_qr" if view and view.receipts_printed else "done.no_receipt", language)

    def take_text(self, view, language: str) -> str:
        return "\n".join("•  " + line for line in self.take_lines(view, language))

    def all_printed(self, view) -> bool:
        return bool(view and view.outcomes) and all(o == "printed" for o in view.outcomes.values())

    def title_key(self, view) -> str:
        return "done.title" if self.all_printed(view) else "done.title_partial"

    def spoken(self, view, language: str) -> str:
        parts = [_(self.title_key(view), language) + ".", *self.take_lines(view, language)]
        if not view.receipt_printed and view.help_url:
            parts.append(self.no_receipt_text(view, language))
        parts += [_("done.thanks", language), self.spoken_guide(view, language)]
        return " ".join(parts)

    def hardware_key(self, key: str) -> bool:
        if key == "enter":
            self.commands.finish()
            return True
        return False
