"""The device's side of the wire, shared by every simulator.

A simulator only sees bytes: the transport server (`pty`, `socket`, or the simulated USB
backend) calls `feed()` with what the host wrote and sends back whatever the simulator
queued with `send()`. So the protocol logic is written once and runs over every link.
A simulator may also `hang_up()` to model an unplugged cable mid-job.
"""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod


class DeviceSimulator(ABC):
    def __init__(self) -> None:
        self._outgoing: queue.Queue[bytes] = queue.Queue()
        self.hung_up = threading.Event()
        self.lock = threading.RLock()   # tests and the server thread both touch state

    @abstractmethod
    def feed(self, data: bytes) -> None:
        """Bytes written by the host. Runs on the transport server's thread."""

    def send(self, data: bytes) -> None:
        """Queue bytes for the host (a reply, or something unsolicited like a scanned code)."""
        if data:
            self._outgoing.put(bytes(data))

    def hang_up(self) -> None:
        """Drop the link, as if the cable were pulled. The server closes the connection."""
        self.hung_up.set()

    def reconnect(self) -> None:
        self.hung_up.clear()

    def take_output(self, timeout: float = 0.0) -> bytes:
        """Everything queued for the host, waiting up to `timeout` for the first chunk."""
        chunks = []
        try:
            chunks.append(self._outgoing.get(timeout=timeout) if timeout > 0
                          else self._outgoing.get_nowait())
            while True:
                chunks.append(self._outgoing.get_nowait())
        except queue.Empty:
            pass
        return b"".join(chunks)
