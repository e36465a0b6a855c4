"""What every screen shares: the current `SessionView` (set by the app when it arrives) and
the commands object to send the citizen's choices back to the engine."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen


class KioskScreen(Screen):
    view = ObjectProperty(None, allownone=True)

    @property
    def commands(self):
        return App.get_running_app().commands

    def warm_up(self) -> None:
        """Pay first-use costs (kv rules of dynamic widgets, image loaders) at start-up,
        not in the middle of a citizen's session."""

    def hardware_key(self, key: str) -> bool:
        """A key from a hardware keyboard or keypad ("0".."9", "backspace", "enter").
        Returns True when the screen used it."""
        return False
