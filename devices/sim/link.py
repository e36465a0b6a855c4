"""A simulator as a byte link: `SimulatedSerialLink` serves a `DeviceSimulator` on a pty and
is opened like any serial port, through pyserial.

This is how `sim:` URLs reach the drivers (devices/links.py `open_link`): the driver gets a
`Transport` like any other and never learns that a simulator answers. After a hang-up (the
simulator's "pulled cable") or a `close()`, the next `open()` serves the same simulator, with
its state, on a fresh pty — as a replugged USB-serial adapter comes back on a new tty.
"""

from __future__ import annotations

from ..transport import SerialTransport, Transport
from .base import DeviceSimulator
from .serve import PtyLink


class SimulatedSerialLink(SerialTransport):
    def __init__(self, url: str, simulator: DeviceSimulator) -> None:
        Transport.__init__(self, url)      # not SerialTransport's: the port is made, not configured
        self._port, self._options, self._serial = "", {"baudrate": 115200}, None
        self.simulator = simulator
        self._pty: PtyLink | None = None

    def device_path(self) -> str:
        """The pty the simulator is served on now, served afresh when it went away."""
        alive = self._pty is not None and self._pty._thread is not None and self._pty._thread.is_alive()
        if not alive or self.simulator.hung_up.is_set():
            if self._pty is not None:
                self._pty.stop()
            if self.simulator.hung_up.is_set():
                self.simulator.reconnect()
            self._pty = PtyLink(self.simulator)
        return self._pty.path

    def open(self) -> None:
        self.connect_to(self.device_path())

    def close(self) -> None:
        super().close()
        if self._pty is not None:
            self._pty.stop()
            self._pty = None
