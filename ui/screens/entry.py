"""A screen whose job is a fixed number of digits typed on the keypad (NIK, PIN): one piece
of code for the on-screen keypad and a hardware keyboard alike."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from ..keyboard import DigitKeys
from .base import KioskScreen


class DigitEntryScreen(DigitKeys, KioskScreen):
    digits = StringProperty("")
    length = NumericProperty(16)
    group = NumericProperty(0)
    title_key = StringProperty("")
    hint_key = StringProperty("")
    back_key = StringProperty("action.cancel")
    waiting_key = StringProperty("")    # what the primary says until the digits are all there
    secret = BooleanProperty(False)     # masked on screen unless `shown`
    shown = BooleanProperty(False)

    def add_digit(self, digit: str) -> None:
        if len(self.digits) < self.length and not self.is_busy():
            self.digits += digit
            app = App.get_running_app()
            app.say(self.key_echo(app.lang))

    def key_echo(self, language: str) -> str:
        """What the voice says for a digit typed (never the digit of a PIN or a NIK)."""
        return ""

    def identity_text(self, view, language: str) -> str:
        return ""

    def forget(self) -> None:
        """The session ended: nothing the citizen typed stays in the widgets."""
        self.digits = ""
        self.shown = False

    def complete(self) -> bool:
        return len(self.digits) == self.length

    def is_busy(self) -> bool:
        return bool(self.view and self.view.busy)

    def submit(self) -> None:
        if self.complete() and not self.is_busy():
            self.send(self.digits)

    def send(self, digits: str) -> None:
        raise TypeError(f"{type(self).__name__} must say where its digits go")

    def go_back(self) -> None:
        self.commands.cancel()

    def on_leave(self, *args) -> None:
        self.forget()
