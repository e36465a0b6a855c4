"""PIN: the 6-digit WhatsApp PIN, masked unless the citizen asks to see it, under the NIK it
goes with (masked: first 6 and last 4 digits). The digits are dropped from the screen as soon
as they are sent. The voice says "bintang" for each digit, never the digit."""

from __future__ import annotations

from ..i18n import _
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

    def identity_text(self, view, language: str) -> str:
        if view is None:
            return ""
        if view.identified_by == "nik" and view.nik_masked:
            return _("pin.for_nik", language, nik=view.nik_masked)
        if view.identified_by == "request_no":
            return _("pin.for_qr", language)
        return ""

    def key_echo(self, language: str) -> str:
        return _("speak.pin_digit", language)

    def spoken(self, view, language: str) -> str:
        said = super().spoken(view, language)
        if self.digits:
            stars = " ".join([_("speak.pin_digit", language)] * len(self.digits))
            said += " " + _("speak.pin_typed", language, stars=stars)
        return said
