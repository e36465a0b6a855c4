"""Big touch buttons. One `primary` (filled dark blue) per screen; the rest `secondary`
(white with a dark blue border): visually quieter, still at least 15 mm tall."""

from __future__ import annotations

from kivy.properties import BooleanProperty, OptionProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label


class BigButton(ButtonBehavior, Label):
    kind = OptionProperty("secondary", options=["primary", "secondary", "danger"])
    # Kivy's `disabled` would grey the text out (low contrast); `usable` keeps it readable.
    usable = BooleanProperty(True)

    def on_touch_down(self, touch):
        if not self.usable and self.collide_point(*touch.pos):
            return True
        return super().on_touch_down(touch)


class ChipButton(ButtonBehavior, Label):
    """A choice among a few (language, sound) in the dark header: `chosen` is drawn white."""

    chosen = BooleanProperty(False)
