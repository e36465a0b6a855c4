"""The layout shared by Error and Out-of-service: what happened, what to do, the dinas
contact and a help QR code."""

from __future__ import annotations

from kivy.properties import StringProperty

from .base import KioskScreen


class NoticeScreen(KioskScreen):
    title_key = StringProperty("")
    todo_key = StringProperty("")
    action_key = StringProperty("")     # the one action, when the screen has one

    def act(self) -> None:
        self.commands.finish()
