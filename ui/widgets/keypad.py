"""The large numeric keypad (NIK and PIN). It owns no value: it reports keys, the screen
keeps the digits, so the same keypad serves both and a hardware keypad feeds the same path."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty
from kivy.uix.gridlayout import GridLayout

from .buttons import BigButton

# Row by row, as on a phone. Word keys carry a translation key instead of a digit.
LAYOUT = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "keypad.clear", "0", "keypad.delete")


class KeypadKey(BigButton):
    digit = StringProperty("")
    label_key = StringProperty("")


class Keypad(GridLayout):
    __events__ = ("on_digit", "on_delete", "on_clear")
    key_height = NumericProperty(0)      # 0: the style's KEY_HEIGHT; screens may ask for taller keys

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for entry in LAYOUT:
            if entry.isdigit():
                key = KeypadKey(digit=entry)
            else:
                key = KeypadKey(label_key=entry)
            key.bind(on_release=self._pressed)
            self.add_widget(key)

    def _pressed(self, key: KeypadKey) -> None:
        if key.digit:
            self.dispatch("on_digit", key.digit)
        elif key.label_key == "keypad.delete":
            self.dispatch("on_delete")
        else:
            self.dispatch("on_clear")

    def on_digit(self, digit: str) -> None:
        pass

    def on_delete(self) -> None:
        pass

    def on_clear(self) -> None:
        pass
