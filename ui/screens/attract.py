"""Attract: what the kiosk does, what can be printed now, that it is free, what to bring,
what to do without a PIN (the dinas contact), opening hours, the dinas announcement, and one
big "Start"."""

from __future__ import annotations

from kivy.app import App

from .. import style as S
from ..i18n import _, kind_text
from .base import KioskScreen


class AttractScreen(KioskScreen):
    def on_kv_post(self, base_widget) -> None:
        # Portrait has room for larger help text; landscape (1280x800) needs the smallest.
        app = App.get_running_app()
        app.bind(portrait=lambda *_args: self._fit_fonts())
        self._fit_fonts()

    def _fit_fonts(self) -> None:
        size = S.FONT_BUTTON if App.get_running_app().portrait else S.FONT_SMALL
        for widget in self.walk(restrict=True):
            if type(widget).__name__ in ("BodyText", "MessageText"):
                widget.font_size = size

    def kinds_text(self, view, language: str) -> str:
        if view is None or not view.available_kinds:
            return _("attract.none_available", language)
        return "\n".join("•  " + kind_text(kind, language) for kind in view.available_kinds)

    def spoken_guide(self, view, language: str) -> str:
        """The welcome (free, what to bring, no PIN), what can be printed now, the announcement."""
        if view.available_kinds:
            kinds = _("attract.available_now", language) + " " + ", ".join(
                kind_text(kind, language) for kind in view.available_kinds) + "."
        else:
            kinds = _("attract.none_available", language)
        return " ".join(p for p in (super().spoken_guide(view, language), kinds, view.announcement) if p)

    def hardware_key(self, key: str) -> bool:
        if key == "enter":
            self.commands.start()
            return True
        return False
