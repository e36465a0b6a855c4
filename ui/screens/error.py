"""Error: something went wrong in this citizen's session; one "Back to start"."""

from __future__ import annotations

from .notice import NoticeScreen


class ErrorScreen(NoticeScreen):
    def hardware_key(self, key: str) -> bool:
        if key == "enter":
            self.commands.finish()
            return True
        return False
