"""Serve a `DeviceSimulator` over a pty pair or a TCP socket, on a background thread.

    with serve_pty(sim) as link:       # link.url == "serial:///dev/pts/N"
        driver = CardPrinter(link.url)

A hang-up closes the pty's master side (the host then sees an I/O error, as with an
unplugged USB-serial adapter) or the socket connection; a socket server keeps listening, so
a driver that reconnects finds the device again — that is how replug is tested.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import tty
from contextlib import contextmanager
from typing import Iterator

from .base import DeviceSimulator


class _Link:
    def __init__(self, sim: DeviceSimulator) -> None:
        self.sim = sim
        self.url = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _start(self, target) -> None:
        self._thread = threading.Thread(target=target, name=f"sim-{type(self.sim).__name__}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def _pump(self, read_fd_ready, recv, sendall) -> bool:
        """One turn: deliver host bytes to the simulator and its replies to the host.
        Returns False when the link should close."""
        if self.sim.hung_up.is_set():
            return False
        if read_fd_ready():
            data = recv()
            if not data:
                return False
            self.sim.feed(data)
        out = self.sim.take_output()
        if out and not self.sim.hung_up.is_set():
            sendall(out)
        return True


class PtyLink(_Link):
    """The simulator on the master side of a pty; the host opens `path` like a serial port."""

    def __init__(self, sim: DeviceSimulator) -> None:
        super().__init__(sim)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.url = f"serial://{self.path}"
        self._start(self._serve)

    def _serve(self) -> None:
        master = self.master
        try:
            while not self._stop.is_set():
                ready = select.select([master], [], [], 0.01)[0]
                if not self._pump(lambda: bool(ready), lambda: os.read(master, 65536),
                                  lambda data: _write_all(master, data)):
                    break
        except OSError:
            pass
        finally:
            # Closing both ends makes the host's next read or write fail: a pulled cable.
            for fd in (self.master, self.slave):
                try:
                    os.close(fd)
                except OSError:
                    pass


class SocketLink(_Link):
    """The simulator behind a TCP listener on loopback; one host connection at a time."""

    def __init__(self, sim: DeviceSimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(sim)
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"socket://{host}:{self.port}"
        self._start(self._serve)

    def _serve(self) -> None:
        with self._listener:
            while not self._stop.is_set():
                try:
                    conn, _ = self._listener.accept()
                except (TimeoutError, socket.timeout):
                    continue
                self.sim.reconnect()
                with conn:
                    conn.setblocking(True)
                    try:
                        while not self._stop.is_set():
                            ready = select.select([conn], [], [], 0.01)[0]
                            if not self._pump(lambda: bool(ready), lambda: conn.recv(65536), conn.sendall):
                                break
                    except OSError:
                        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@contextmanager
def serve_pty(sim: DeviceSimulator) -> Iterator[PtyLink]:
    link = PtyLink(sim)
    try:
        yield link
    finally:
        link.stop()


@contextmanager
def serve_socket(sim: DeviceSimulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[SocketLink]:
    link = SocketLink(sim, host, port)
    try:
        yield link
    finally:
        link.stop()
