"""Empty space that takes what its layout has left when `grow` is true and nothing otherwise:
kv rules switch it with the orientation (a constant `height: 0` in kv is set once only, so a
size the layout gave it in one orientation would stay in the other)."""

from __future__ import annotations

from kivy.properties import BooleanProperty
from kivy.uix.widget import Widget


class Filler(Widget):
    grow = BooleanProperty(True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.on_grow(self, self.grow)

    def on_grow(self, _instance, grow: bool) -> None:
        self.size_hint = (1, 1) if grow else (None, None)
        if not grow:
            self.size = (0, 0)
