"""Identify: the 16-digit NIK on the keypad, or the WhatsApp QR held to the scanner (the
scanner's text reaches the engine through the app, not through this screen).

The digits stay here while the PIN screen is up, so "Ubah NIK" brings them back to be
corrected rather than typed again; they go when the session ends (`forget`)."""

from __future__ import annotations

from ..i18n import _
from .entry import DigitEntryScreen

NIK_LENGTH = 16


class IdentifyScreen(DigitEntryScreen):
    def __init__(self, **kwargs):
        super().__init__(length=NIK_LENGTH, **kwargs)

    def send(self, digits: str) -> None:
        self.commands.submit_nik(digits)

    def key_echo(self, language: str) -> str:
        # How many digits are in, never which: a NIK is not read aloud.
        return _("speak.nik_count", language, count=len(self.digits))

    def on_leave(self, *args) -> None:
        if self.manager is None or self.manager.current != "pin":
            self.forget()
