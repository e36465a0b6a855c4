"""The technician's (or the operator's) PIN on the keypad, and the same keypad for a number
the technician records (how many of a counted supply are in now: ui/supplies_flow.py). Reached only through the hidden gesture
(ui/staff_gesture.py); ui/staff_mode.py checks the PIN off the UI thread and sets `message`
(wrong, slowed, locked, none configured). The PIN is shown as dots and dropped from the
screen as soon as it is sent."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from ..keyboard import DigitKeys

PIN_MAX = 12
COUNT_MAX = 5            # up to 10000 (ui/supplies_flow.py refuses more)


class StaffPinScreen(DigitKeys, Screen):
    purpose = StringProperty("pin")          # pin | count
    supply = StringProperty("cards")         # what is counted, for purpose "count"
    digits = StringProperty("")
    message = StringProperty("")             # already in the technician's language
    message_is_error = BooleanProperty(True)
    keypad_open = BooleanProperty(True)      # False: no PIN configured / locked, only Back
    checking = BooleanProperty(False)

    def mode(self):
        return App.get_running_app().staff

    def shown_digits(self) -> str:
        return "\u25cf" * len(self.digits) if self.purpose == "pin" else self.digits

    def add_digit(self, digit: str) -> None:
        if self.keypad_open and not self.checking and len(self.digits) < (PIN_MAX if self.purpose == "pin" else COUNT_MAX):
            self.digits += digit

    def usable(self) -> bool:
        return self.keypad_open and not self.checking and (len(self.digits) >= 4 if self.purpose == "pin"
                                                           else len(self.digits) >= 1)

    def submit(self) -> None:
        if not self.usable():
            return
        digits, self.digits = self.digits, ""
        if self.purpose == "pin":
            self.mode().submit_pin(digits)
        else:
            self.mode().supplies.record(self.supply, int(digits))

    def go_back(self) -> None:
        self.digits = ""
        if self.purpose == "pin":
            self.mode().leave()
        else:
            self.mode().supplies.show()

    def on_leave(self, *args) -> None:
        self.digits = ""
