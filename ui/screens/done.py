"""Done: what to take from the kiosk (the card, the KK, the receipt), or a help QR on screen
when there is no receipt; one "Finish"."""

from __future__ import annotations

from ..i18n import _, failure_reason
from .base import KioskScreen


class DoneScreen(KioskScreen):
    def take_text(self, view, language: str) -> str:
        if view is None:
            return ""
        lines = []
        for document in view.documents:
            outcome = view.outcomes.get(document.id)
            if outcome == "printed":
                lines.append(_(f"done.take.{document.kind}", language))
            elif outcome == "failed":
                kind = _(f"kind.{document.kind}", language)
                step = next((s for s in view.steps if s.document_id == document.id and s.message), None)
                if step is None:
                    lines.append(_("done.failed", language, kind=kind))
                else:
                    lines.append(_("done.failed_because", language, kind=kind,
                                   reason=failure_reason(step.message, language)))
        if view.receipt_printed:
            lines.append(_("done.receipt", language))
        return "\n".join("•  " + line for line in lines)

    def all_printed(self, view) -> bool:
        return bool(view and view.outcomes) and all(o == "printed" for o in view.outcomes.values())

    def hardware_key(self, key: str) -> bool:
        if key == "enter":
            self.commands.finish()
            return True
        return False
