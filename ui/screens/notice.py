"""The layout shared by Error and Out-of-service: what happened and what to do next (the
core's message, written for its own case), the opening hours when the kiosk is closed, the
dinas contact and a help QR code."""

from __future__ import annotations

from kivy.properties import StringProperty

from ..i18n import _, contact_text, spoken_message
from .base import KioskScreen


class NoticeScreen(KioskScreen):
    title_key = StringProperty("")
    action_key = StringProperty("")     # the one action, when the screen has one

    def act(self) -> None:
        self.commands.finish()

    def is_closed(self, view) -> bool:
        """Closed (outside opening hours): the hours and the next opening are shown."""
        return bool(view and view.message is not None and view.message.key.startswith("out_of_service.closed"))

    def spoken_guide(self, view, language: str) -> str:
        if self.is_closed(view):
            return _("out_of_service.title_closed", language) + "."
        return super().spoken_guide(view, language)

    def spoken(self, view, language: str) -> str:
        """The title first ("Maaf, ada masalah"), then the message, which says what to do."""
        parts = [self.spoken_guide(view, language),
                 spoken_message(view.message, language, view.dinas_contact)]
        if self.action_key:
            parts.append(_("speak.press", language, button=_(self.action_key, language)))
        elif view.message is None or "{contact}" not in _(view.message.key, language):
            parts.append(_("speak.help_contact", language, contact=contact_text(view.dinas_contact, language)))
        return " ".join(p for p in parts if p)
