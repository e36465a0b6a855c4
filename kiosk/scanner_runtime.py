"""The serial QR scanner in the running kiosk.

A scanner in serial mode (`[devices.scanner] url = "serial://…" | "socket://…" | "usb://…" |
"sim:scanner"`) is read by `devices.scanner.ScannerReader` on its own thread, which owns the
link, reconnects after an unplug and publishes each code. `ScannerInput` hands every code to
the session engine the way the keyboard wedge does (`ui/keyboard.py`): `touch()` for the
activity, then `submit_scan(text)`; a code the line cut short goes with `complete=False`, so
the citizen is asked to scan again. Both calls only post to the engine's thread: the reader
never waits on the engine.

Its status goes on the device board beside the printers (`DeviceBoard.attach`), so the
heartbeat, the technician's status and everything else that reads the board see it; a scanner
is never required, so it never takes the kiosk out of service.

A scanner in keyboard (HID) mode needs no configuration: its keys reach the window.
"""

from __future__ import annotations

import logging
from typing import Callable

from devices.scanner import ROLE, ScanEvent, ScannerReader

from .session_model import SessionCommands

log = logging.getLogger(__name__)


class ScannerInput:
    role = ROLE

    def __init__(self, reader: ScannerReader) -> None:
        self.reader = reader
        self._commands: Callable[[], SessionCommands | None] = lambda: None
        self._unsubscribe = reader.events.subscribe(self._deliver, replay=False)

    @classmethod
    def from_config(cls, cfg, **reader_options) -> ScannerInput | None:
        """The configured serial scanner, or None when there is none (or it types as a keyboard)."""
        device = cfg.device(ROLE)
        if device is None:
            return None
        return cls(ScannerReader(device.url, **{**device.options, **reader_options}))

    @property
    def status_events(self):
        return self.reader.status_events

    def status(self):
        return self.reader.status()

    def deliver_to(self, commands: Callable[[], SessionCommands | None]) -> None:
        """Where codes go from now on: a getter, so a replaced engine is followed."""
        self._commands = commands

    def start(self) -> ScannerInput:
        self.reader.start()
        return self

    def stop(self) -> None:
        self._unsubscribe()
        self.reader.stop()

    def _deliver(self, event: ScanEvent) -> None:
        """Runs on the reader's thread. The code itself is never logged (it names a request)."""
        commands = self._commands()
        if commands is None:
            log.info("scan before the kiosk accepts citizens: dropped")
            return
        commands.touch()
        commands.submit_scan(event.text, event.complete)
