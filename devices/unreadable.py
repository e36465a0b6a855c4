"""Answers a driver cannot read, noted once per device.

Real printers answer status reads in ways no public document lists (models and firmware
differ). A driver that turns such an answer into a fault refuses every citizen for a printer
that works, so the drivers read it as `unknown` for that sensor or supply and the device
stays usable. The technician still needs to see what the printer said: the first odd answer
to each read is logged with the raw text, once per device (a status poll every few seconds
must not flood the log). An answer that becomes readable again re-arms the note, so a later
relapse is logged again.
"""

from __future__ import annotations

import logging
import threading


class UnreadableAnswers:
    """One per driver instance (one per device)."""

    def __init__(self, logger: logging.Logger, device: str) -> None:
        self._log = logger
        self._device = device
        self._noted: dict[str, str] = {}
        self._lock = threading.Lock()

    def note(self, what: str, raw: object, meaning: str) -> None:
        """`what` (e.g. ``Rse;o``) answered `raw`, read as `meaning` (e.g. ``cover unknown``).
        Logged at warning level the first time for `what`."""
        with self._lock:
            if what in self._noted:
                return
            self._noted[what] = str(raw)
        self._log.warning("%s: %s answered %r, which this driver cannot read: %s", self._device, what, raw, meaning)

    def readable(self, what: str) -> None:
        """`what` answered something the driver knows again."""
        with self._lock:
            self._noted.pop(what, None)

    @property
    def noted(self) -> dict[str, str]:
        """The reads currently answered oddly, with the first raw answer (for diagnostics)."""
        with self._lock:
            return dict(self._noted)
