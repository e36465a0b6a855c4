"""The idle-timeout countdown: drawn over any screen when the core sets `idle_warning`.
Touching anywhere on it tells the engine the citizen is still there."""

from __future__ import annotations

import math
import time

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import NumericProperty
from kivy.uix.modalview import ModalView


class IdleOverlay(ModalView):
    seconds_left = NumericProperty(0)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._deadline: float | None = None
        self._ticker = None

    def show(self, deadline: float | None) -> None:
        self._deadline = deadline
        self._tick(0)
        if self._ticker is None:
            self._ticker = Clock.schedule_interval(self._tick, 0.25)
        if not self._window:
            self.open(animation=False)

    def hide(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._window:
            self.dismiss(animation=False)

    def _tick(self, _dt) -> None:
        remaining = (self._deadline - time.monotonic()) if self._deadline else 0
        self.seconds_left = max(0, math.ceil(remaining))

    def on_touch_down(self, touch) -> bool:
        App.get_running_app().commands.touch()
        return True
