"""What has been typed on a keypad: one box per expected digit, so the citizen sees how many
are left. Masked (PIN) boxes show a filled dot drawn on the canvas, not a font glyph."""

from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label


class DigitBox(Label):
    filled = BooleanProperty(False)
    masked = BooleanProperty(False)


class DigitsDisplay(BoxLayout):
    digits = StringProperty("")
    length = NumericProperty(6)
    masked = BooleanProperty(False)
    group = NumericProperty(0)          # a wider gap every `group` digits (NIK: 4-4-4-4)

    def on_kv_post(self, base_widget):
        self._rebuild()
        self.bind(length=lambda *_: self._rebuild(), group=lambda *_: self._rebuild())
        self.bind(digits=lambda *_: self._refresh(), masked=lambda *_: self._refresh())

    def _rebuild(self) -> None:
        self.clear_widgets()
        self._boxes = []
        for index in range(int(self.length)):
            if self.group and index and index % int(self.group) == 0:
                self.add_widget(Label(size_hint_x=0.35))
            box = DigitBox()
            self._boxes.append(box)
            self.add_widget(box)
        self._refresh()

    def _refresh(self) -> None:
        for index, box in enumerate(self._boxes):
            filled = index < len(self.digits)
            box.filled = filled
            box.masked = self.masked
            box.text = self.digits[index] if filled and not self.masked else ""
