"""The kiosk window over the real core: `KioskRuntime` from a real kiosk.toml, the reference
dinas server on loopback, the simulated printers. Tests import the fixtures they use:

    from tests.fixtures.dinas_server import reference_server  # noqa: F401
    from tests.ui.rig import kiosk_ui  # noqa: F401
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.ui.harness import KioskDriver  # noqa: I001 - sets Kivy's environment first
from kiosk.app import KioskRuntime
from kiosk.config import load_config
from kiosk.session import SessionEngine
from kiosk.staff_desk import StaffDesk
from tests.fixtures.kiosk import write_kiosk_config
from tests.ui.speech import HeardGuide
from ui.watchdog import SystemdNotifier


class UiRig:
    def __init__(self, runtime: KioskRuntime, driver: KioskDriver, printed):
        self.runtime, self.driver, self.printed = runtime, driver, printed


@pytest.fixture
def kiosk_ui(reference_server, tmp_path):
    """start(size=..., engine_options=..., **write_kiosk_config options) -> UiRig."""
    rigs: list[UiRig] = []

    def start(size=None, engine_options=None, dinas_url=None, **config) -> UiRig:
        path = write_kiosk_config(reference_server, tmp_path, dinas_url=dinas_url, **config)
        runtime = KioskRuntime.from_config(load_config(path), outbox_base_delay=0.05)
        runtime.start()
        if engine_options:
            # The same engine the runtime builds, with test timings (e.g. a short idle timeout).
            runtime.engine.close()
            runtime.engine = SessionEngine(runtime.client, runtime.orchestrator, runtime.devices,
                                           runtime.cfg.settings, kiosk_id=runtime.cfg.kiosk.id,
                                           place=runtime.cfg.kiosk.place, **engine_options)
        options = {"size": size} if size else {}
        guide = HeardGuide()
        driver = KioskDriver(runtime.engine, guide=guide, notifier=SystemdNotifier(None),
                             staff_desk=StaffDesk(runtime), **options)
        rig = UiRig(runtime, driver, tmp_path / "printed")
        rig.guide = guide
        rigs.append(rig)
        return rig

    yield start
    for rig in rigs:
        rig.driver.close()
        rig.runtime.stop()


class SlowLink:
    """A TCP relay in front of the dinas that delivers every byte the kiosk sends `latency`
    seconds after it was sent (one-way latency, pipelined like a real slow link, so a request
    written in two pieces is late once, not twice). `.url` is the dinas URL through it."""

    def __init__(self, upstream_url: str, latency: float):
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname, parts.port)
        self.latency = latency
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closed = threading.Event()
        port = self._listener.getsockname()[1]
        self.url = urlunsplit((parts.scheme, f"127.0.0.1:{port}", parts.path, "", ""))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream, timeout=10)
            threading.Thread(target=self._pipe, args=(client, upstream, self.latency), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, 0.0), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket, delay: float) -> None:
        in_flight: queue.Queue = queue.Queue()

        def deliver() -> None:
            while (item := in_flight.get()) is not None:
                due, chunk = item
                time.sleep(max(0.0, due - time.monotonic()))
                try:
                    target.sendall(chunk)
                except OSError:
                    return
            _shut(target)
        threading.Thread(target=deliver, daemon=True).start()
        try:
            while chunk := source.recv(65536):
                in_flight.put((time.monotonic() + delay, chunk))
        except OSError:
            pass
        in_flight.put(None)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def human_type(driver: KioskDriver, text: str, gap: float = 0.08) -> None:
    """Keys at a person's pace (slower than a scanner's burst)."""
    for char in text:
        driver.press(ord(char), char)
        end = time.monotonic() + gap
        while time.monotonic() < end:
            driver.step()
