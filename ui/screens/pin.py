"""PIN: the 6-digit WhatsApp PIN, masked unless the citizen asks to see it. The digits are
dropped from the screen as soon as they are sent."""

from __future__ import annotations

from .entry import DigitEntryScreen

PIN_LENGTH = 6


class PinScreen(DigitEntryScreen):
    def __init__(self, **kwargs):
        super().__init__(length=PIN_LENGTH, **kwargs)

    def send(self, digits: str) -> None:
        self.digits = ""
        self.commands.submit_pin(digits)

    def go_back(self) -> None:
        self.commands.back()
