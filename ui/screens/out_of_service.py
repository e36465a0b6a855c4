"""Out of service: the kiosk cannot serve anyone now (closed, maintenance, no printer works).
No action; it leaves by itself when the core says the kiosk can serve again."""

from __future__ import annotations

from .notice import NoticeScreen


class OutOfServiceScreen(NoticeScreen):
    pass
