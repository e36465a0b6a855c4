"""Replug through a plain `serial://` URL: the configured path is a symlink (as udev makes
/dev/serial/by-id/...) to a pty served by a simulator. The cable is pulled, the driver says
so, a new pty appears under the same name, and the same driver object carries on."""

from __future__ import annotations

import os
import queue

import pytest

from devices.scanner import ScannerReader, parse_scan
from devices.sim.escpos import EscPosSimulator
from devices.sim.evolis import EvolisSimulator
from devices.sim.scanner import ScannerSimulator
from devices.sim.serve import PtyLink
from devices.status import DeviceState, FaultCode
from printer_drivers.base import PrintJob
from printer_drivers.evolis.printer import EvolisPrinter
from printer_drivers.receipt import ReceiptPrinter
from tests.device.test_receipt_usb import receipt
from tests.fixtures.evolis import kia_pdf  # noqa: F401


class ReplugPort:
    """A simulator behind a stable symlink; `unplug()` pulls the cable, `replug()` powers the
    device on again on a fresh pty and repoints the symlink atomically.

    The kernel hands out the lowest free pty number, so the replugged device would get the
    old number back and the symlink would never really move. A spare pty taken before the
    first link and freed at replug gives the new link a different number."""

    def __init__(self, sim, tmp_path) -> None:
        self.sim, self.path = sim, tmp_path / "ttyADM-by-id"
        self._spare = os.openpty()
        self.link = PtyLink(sim)
        self._point_at(self.link.path)

    @property
    def url(self) -> str:
        return f"serial://{self.path}"

    def _point_at(self, target: str) -> None:
        fresh = self.path.with_name(self.path.name + ".new")
        fresh.unlink(missing_ok=True)
        os.symlink(target, fresh)
        os.replace(fresh, self.path)

    def unplug(self) -> None:
        self.sim.hang_up()
        self.link.stop()                     # the server thread has closed both pty ends

    def replug(self) -> None:
        self._close_spare()
        old_path = self.link.path
        self.sim.reconnect()                 # powered on again
        self.link = PtyLink(self.sim)
        assert self.link.path != old_path, "the new pty must not reuse the old one's name"
        self._point_at(self.link.path)

    def _close_spare(self) -> None:
        for fd in self._spare:
            try:
                os.close(fd)
            except OSError:
                pass
        self._spare = ()

    def close(self) -> None:
        self._close_spare()
        self.link.stop()


@pytest.fixture
def port_for(tmp_path):
    ports = []

    def make(sim):
        ports.append(ReplugPort(sim, tmp_path))
        return ports[-1]
    yield make
    for port in ports:
        port.close()


def assert_unplugged(status) -> None:
    assert status.state == DeviceState.NO_DEVICE and status.has_fault(FaultCode.DISCONNECTED)


def assert_ready_after_a_replug(printer, port) -> None:
    """Ready, unplugged (no device, disconnected) once the port goes, and ready again once it
    is back: the same driver object, with nothing reopened by the test."""
    assert printer.status().state == DeviceState.READY
    port.unplug()
    assert_unplugged(printer.status())
    port.replug()
    assert printer.status().state == DeviceState.READY


def test_receipt_printer_carries_on_after_a_replug(port_for):
    sim = EscPosSimulator()
    port = port_for(sim)
    printer = ReceiptPrinter(f"{port.url}?status_timeout=0.3&timeout=1")
    try:
        assert_ready_after_a_replug(printer, port)
        printer.print_receipt(receipt(job_id="after-replug"))
        assert "No. cetak : after-replug" in sim.lines and sim.cuts == 1
    finally:
        printer.close()


def test_card_printer_carries_on_after_a_replug(port_for, kia_pdf):
    sim = EvolisSimulator()
    port = port_for(sim)
    printer = EvolisPrinter(port.url, timeout=1.0, poll_interval=0.01, card_timeout=5.0)
    try:
        assert_ready_after_a_replug(printer, port)
        result = printer.print_document(PrintJob("00000000-0000-4000-8000-000000000002", "KIA", kia_pdf))
        assert result.counters_after["cards_inserted"] == 1 and len(sim.decoded) == 1
    finally:
        printer.close()


def test_scanner_carries_on_after_a_replug(port_for):
    sim = ScannerSimulator()
    port = port_for(sim)
    reader = ScannerReader(port.url, retry_interval=0.05, partial_timeout=0.2)
    scans, states = queue.Queue(), queue.Queue()
    reader.events.subscribe(scans.put)
    reader.status_events.subscribe(lambda status: states.put(status))

    def next_state(wanted):
        while True:
            status = states.get(timeout=3)
            if status.state == wanted:
                return status
    reader.start()
    try:
        next_state(DeviceState.READY)
        port.unplug()
        assert_unplugged(next_state(DeviceState.NO_DEVICE))
        port.replug()
        next_state(DeviceState.READY)
        sim.scan("ADM1:REQ-20261122-AB12CD")
        assert parse_scan(scans.get(timeout=3)) == "REQ-20261122-AB12CD"
        assert reader.status().state == DeviceState.READY
    finally:
        reader.stop()
