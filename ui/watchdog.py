"""systemd notifications from the UI loop: READY=1 when the attract screen is up, then
WATCHDOG=1 on a Kivy clock interval. The pings come from the UI thread itself, so a frozen UI
stops them and systemd restarts the kiosk (the unit's WatchdogSec=).

The protocol is one datagram on the unix socket named by $NOTIFY_SOCKET (a leading "@" means
the abstract namespace). Without $NOTIFY_SOCKET (not under systemd) nothing is sent.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 5.0


class SystemdNotifier:
    def __init__(self, address: str | None, interval_s: float = DEFAULT_INTERVAL_S):
        self.address = address
        self.interval_s = interval_s
        self._event = None
        self.sent = 0

    @classmethod
    def from_environment(cls, environ=os.environ) -> "SystemdNotifier":
        """Pings at half of WATCHDOG_USEC when systemd set it, as sd_watchdog_enabled advises."""
        interval = DEFAULT_INTERVAL_S
        usec = environ.get("WATCHDOG_USEC", "")
        if usec.isdigit() and int(usec) > 0:
            interval = int(usec) / 1e6 / 2
        return cls(environ.get("NOTIFY_SOCKET") or None, interval)

    def notify(self, state: str) -> bool:
        """One datagram; never raises, never blocks (a full socket buffer drops the ping)."""
        if not self.address:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(state.encode("utf-8"), target)
        except OSError as exc:
            log.warning("systemd notify %r failed: %s", state, exc)
            return False
        self.sent += 1
        return True

    def ping(self, *_args) -> None:
        self.notify("WATCHDOG=1")

    def start_pinging(self, clock) -> None:
        if self.address and self._event is None:
            self._event = clock.schedule_interval(self.ping, self.interval_s)

    def stop_pinging(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None
        self.notify("STOPPING=1")
