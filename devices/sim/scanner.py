"""A 2D scanner in serial (CDC-ACM) mode, as a `DeviceSimulator`.

    sim = ScannerSimulator()
    with serve_pty(sim) as link:                 # or serve_socket, or a SimulatedUsbBus
        reader = ScannerReader(link.url).start()
        sim.scan("ADM1:REQ-20261122-AB12CD")     # the code, then CR

Faults: `scan_garbage()` (line noise with a terminator, as from a bad read or a wrong baud
rate), `scan_partial(text)` (the first part of a code and no terminator: the cable was
pulled mid-code) and `disconnect()` (hang up). The scanner ignores what the host writes,
as most do in their default configuration.
"""

from __future__ import annotations

import os

from .base import DeviceSimulator

TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}


class ScannerSimulator(DeviceSimulator):
    def __init__(self, terminator: str = "cr") -> None:
        super().__init__()
        self.terminator = TERMINATORS[terminator]
        self.host_bytes = bytearray()

    def feed(self, data: bytes) -> None:
        self.host_bytes += data

    def scan(self, text: str) -> None:
        self.send(text.encode("utf-8") + self.terminator)

    def scan_garbage(self, size: int = 24) -> None:
        noise = bytes(b | 0x80 for b in os.urandom(size))    # high bits set: never plain text
        self.send(noise + self.terminator)

    def scan_partial(self, text: str) -> None:
        self.send(text[: max(len(text) // 2, 1)].encode("utf-8"))

    def disconnect(self) -> None:
        self.hang_up()


# --- as a sim: URL (devices/sim/catalogue.py) ----------------------------------------------------

SIM_NAMES = ("scanner",)


def simulated_link(url: str, params) -> "SimulatedSerialLink":
    """`sim:scanner[?terminator=cr|lf|crlf]`: the simulator on a pty, as a byte link; play a
    scan with `link.simulator.scan(text)`."""
    from .link import SimulatedSerialLink
    terminator = params.get("terminator", "cr")
    if terminator not in TERMINATORS or set(params) - {"terminator"}:
        raise ValueError(f"{url}: the scanner simulator takes only terminator= ({', '.join(TERMINATORS)})")
    return SimulatedSerialLink(url, ScannerSimulator(terminator))
