"""Attract: what the kiosk does, what can be printed now, opening hours, the dinas
announcement, and one big "Start"."""

from __future__ import annotations

from ..i18n import _
from .base import KioskScreen


class AttractScreen(KioskScreen):
    def kinds_text(self, view, language: str) -> str:
        if view is None or not view.available_kinds:
            return _("attract.none_available", language)
        return "\n".join("•  " + _(f"kind.{kind}", language) for kind in view.available_kinds)

    def hardware_key(self, key: str) -> bool:
        if key == "enter":
            self.commands.start()
            return True
        return False
