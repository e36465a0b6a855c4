"""Identify: the 16-digit NIK on the keypad, or the WhatsApp QR held to the scanner (the
scanner's text reaches the engine through the app, not through this screen)."""

from __future__ import annotations

from .entry import DigitEntryScreen

NIK_LENGTH = 16


class IdentifyScreen(DigitEntryScreen):
    def __init__(self, **kwargs):
        super().__init__(length=NIK_LENGTH, **kwargs)

    def send(self, digits: str) -> None:
        self.commands.submit_nik(digits)
