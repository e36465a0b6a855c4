"""Big touch buttons. One `primary` (filled dark blue) per screen; the rest `secondary`
(white with a dark blue border): visually quieter, still at least 15 mm tall."""

from __future__ import annotations

from kivy.properties import BooleanProperty, OptionProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label


class BigButton(ButtonBehavior, Label):
    __events__ = ("on_refused",)
    kind = OptionProperty("secondary", options=["primary", "secondary", "danger"])
    # Kivy's `disabled` would grey the text out (low contrast); `usable` keeps it readable.
    usable = BooleanProperty(True)

    def on_touch_down(self, touch):
        if not self.usable and self.collide_point(*touch.pos):
            self.dispatch("on_refused")
            return True
        return super().on_touch_down(touch)

    def on_refused(self) -> None:
        """Touched while not usable: its text (which then says why) is spoken."""


def fill_buttons(box, buttons, disabled: bool = False) -> None:
    """`box` holds one BigButton per (text, action) of `buttons`, in that order: a staff
    screen's grid of actions that the registry or the report decides."""
    box.clear_widgets()
    for text, action in buttons:
        button = BigButton(text=text, disabled=disabled)
        button.bind(on_release=lambda _button, act=action: act())
        box.add_widget(button)


class ActionRow(BoxLayout):
    """The bottom row of every screen, so the main action is always in the same place: the
    secondary action on the left, the primary on the right. An empty text leaves its slot
    empty (the other button does not move). A primary that cannot be used yet shows, and
    says when touched, why not (`waiting_text`: "Ketik 16 angka dulu")."""

    __events__ = ("on_primary", "on_secondary")
    primary_text = StringProperty("")
    secondary_text = StringProperty("")
    primary_usable = BooleanProperty(True)
    waiting_text = StringProperty("")

    def on_primary(self) -> None:
        pass

    def on_secondary(self) -> None:
        pass


class ChipButton(ButtonBehavior, Label):
    """A choice among a few (language, sound) in the dark header: `chosen` is drawn white."""

    chosen = BooleanProperty(False)
