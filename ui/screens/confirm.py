"""Confirm: the chosen documents once more, and where each will come out, before printing."""

from __future__ import annotations

from ..i18n import _, kind_text
from .base import KioskScreen


class ConfirmScreen(KioskScreen):
    def summary(self, view, language: str) -> str:
        if view is None:
            return ""
        lines = [
            _("confirm.line", language, kind=kind_text(d.kind, language), media=_(f"media.{d.media}", language))
            for d in view.documents if d.selected and d.available
        ]
        return "\n".join(lines)

    def spoken_guide(self, view, language: str) -> str:
        lines = [" ".join(line.replace("•", "").split()) + "." for line in self.summary(view, language).splitlines()]
        return " ".join([*lines, super().spoken_guide(view, language)])

    def hardware_key(self, key: str) -> bool:
        if key == "enter":
            self.commands.confirm()
            return True
        return False
