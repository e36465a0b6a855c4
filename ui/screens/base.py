"""What every screen shares: the current `SessionView` (set by the app when it arrives) and
the commands object to send the citizen's choices back to the engine."""

from __future__ import annotations

from kivy.animation import Animation
from kivy.app import App
from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from ..i18n import _, contact_text, spoken_message


class KioskScreen(Screen):
    view = ObjectProperty(None, allownone=True)

    @property
    def commands(self):
        return App.get_running_app().commands

    def warm_up(self) -> None:
        """Pay first-use costs (kv rules of dynamic widgets, image loaders) at start-up,
        not in the middle of a citizen's session."""

    def forget(self) -> None:
        """The session ended: drop anything of the citizen's this screen still holds."""

    def hardware_key(self, key: str) -> bool:
        """A key from a hardware keyboard or keypad ("0".."9", "backspace", "enter").
        Returns True when the screen used it."""
        return False

    # -- what the voice says (ui/app.py calls these; docs/UI.md "Audio guidance") ------------
    def spoken(self, view, language: str) -> str:
        """Everything this screen says when it appears or on "Dengar lagi": the core's
        message first (it is why the screen changed), then the screen's own sentence."""
        parts = [_("common.wait", language) if view.busy else "",
                 spoken_message(view.message, language, view.dinas_contact),
                 self.spoken_guide(view, language)]
        return " ".join(p for p in parts if p)

    def spoken_guide(self, view, language: str) -> str:
        return _(f"audio.{self.name}", language, contact=contact_text(view.dinas_contact, language))

    def spoken_news(self, old, new, language: str) -> str:
        """What to say when the view changed but the screen did not."""
        if new.busy and not old.busy:
            return _("common.wait", language)
        if new_message(old, new):
            return spoken_message(new.message, language, new.dinas_contact)
        return ""

    def flash_message(self) -> None:
        """The same message given again (a second unreadable scan) looks the same: a short
        blink shows the touch was answered."""
        for widget in self.walk(restrict=True):
            if type(widget).__name__ == "MessageText" and widget.text:
                Animation.cancel_all(widget, "opacity")
                widget.opacity = 0.2
                Animation(opacity=1.0, duration=0.4).start(widget)


def new_message(old, new) -> bool:
    """A message given since `old`: another one, or the same one given again."""
    return new.message is not None and (new.message != old.message or new.message_number != old.message_number)
