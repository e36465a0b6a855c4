"""The receipt printer over USB: python-escpos's own Usb class on the simulated pyusb
backend, against the ESC/POS simulator."""

import time
from datetime import datetime, timedelta, timezone

import pytest
import zxingcpp
from escpos.printer import Usb

from devices.sim.escpos import EscPosSimulator
from devices.sim.usb_backend import SimulatedUsbDevice
from devices.status import (Consumable, DeviceDisconnected, DeviceError, DeviceState, DeviceTimeout,
                            FaultCode, SupplyLevel)
from devices.worker import DeviceWorker
from printer_drivers.receipt import Receipt, ReceiptPrinter, compose_receipt
from tests.fixtures.usb import usb_bus  # noqa: F401

WIB = timezone(timedelta(hours=7), "WIB")
VERIFY = "https://dukcapil.example.go.id/verifikasi/5f1c2a9e"


def receipt(**changes):
    values = dict(kiosk_id="ADM-BOGOR-01", place="Kecamatan Cibinong", printed_at=datetime(2026, 11, 22, 9, 5, tzinfo=WIB),
                  document_kind="KK", nik_masked="320101******0003",
                  job_id="5f1c2a9e-1111-4c3b-8d7e-0123456789ab", verify_url=VERIFY, language="id")
    values.update(changes)
    return Receipt(**values)


def qr_texts(sim):
    return [code.text for image in sim.images for code in zxingcpp.read_barcodes(image.convert("L"))]


@pytest.fixture
def plugged(usb_bus):
    sim = EscPosSimulator()
    device = usb_bus.plug(SimulatedUsbDevice(0x04B8, 0x0E28, sim, serial="RCPT01",
                                             manufacturer="EPSON", product="TM-T20II"))
    printer = ReceiptPrinter("usb://04b8:0e28?serial=RCPT01&timeout=0.5&status_timeout=0.2",
                             backend=usb_bus.backend)
    yield sim, device, printer
    printer.close()


def test_stock_escpos_usb_class_prints_through_the_backend(usb_bus):
    sim = EscPosSimulator()
    usb_bus.plug(SimulatedUsbDevice(0x04B8, 0x0E28, sim, kernel_driver=False))
    printer = Usb(0x04B8, 0x0E28, usb_args={"backend": usb_bus.backend}, timeout=500, profile="TM-T20II")
    printer._raw(compose_receipt(receipt()))
    printer.close()
    assert "NIK       : 320101******0003" in sim.lines
    assert qr_texts(sim) == [VERIFY]
    assert sim.cuts == 1


def test_a_receipt_prints_with_text_qr_and_cut(plugged, artifacts_dir):
    sim, device, printer = plugged
    result = printer.print_receipt(receipt())
    assert result.job_id == "5f1c2a9e-1111-4c3b-8d7e-0123456789ab"
    lines = sim.lines
    for expected in ("ANJUNGAN DUKCAPIL MANDIRI", "Kios      : ADM-BOGOR-01", "Lokasi    : Kecamatan Cibinong",
                     "Waktu     : 22-11-2026 09:05 WIB", "Dokumen   : KK (Kartu Keluarga)",
                     "NIK       : 320101******0003", "No. cetak : 5f1c2a9e-1111-4c3b-8d7e-0123456789ab",
                     "Pindai untuk verifikasi dan bantuan"):
        assert expected in lines
    assert qr_texts(sim) == [VERIFY]
    assert sim.cuts == 1 and sim.unknown_commands == []
    assert device.detach_count == 1                     # usblp let go of the interface
    out = artifacts_dir / "receipt"
    sim.render_png(out / "receipt_usb.png")
    (out / "receipt_usb.txt").write_text(sim.render_text(), encoding="utf-8")


def test_english_receipt(plugged):
    sim, _, printer = plugged
    printer.print_receipt(receipt(language="en", document_kind="KIA"))
    assert "Document  : KIA (Child Identity Card)" in sim.lines
    assert "Scan to verify and get help" in sim.lines


def test_an_unmasked_nik_is_refused_before_anything_is_sent(plugged):
    sim, _, printer = plugged
    with pytest.raises(ValueError, match="masked"):
        printer.print_receipt(receipt(nik_masked="3201014501900003"))
    assert sim.printed == [] and sim.status_queries == []


def test_status_ready_with_identity(plugged):
    _, _, printer = plugged
    status = printer.status()
    assert status.state == DeviceState.READY and status.usable
    assert status.supply(Consumable.RECEIPT_PAPER).level == SupplyLevel.FULL
    assert status.capabilities["serial_number"] == "RCPT01"
    assert status.capabilities["product"] == "TM-T20II"


@pytest.mark.parametrize("fault, code, state, paper", [
    ("paper_out", FaultCode.PAPER_OUT, DeviceState.USER_ERROR, SupplyLevel.OUT),
    ("cover_open", FaultCode.COVER_OPEN, DeviceState.USER_ERROR, SupplyLevel.FULL),
    ("offline", FaultCode.OFFLINE, DeviceState.OFFLINE, SupplyLevel.FULL),
    ("cutter_error", FaultCode.MEDIA_JAM, DeviceState.USER_ERROR, SupplyLevel.FULL),
    ("garbage", FaultCode.PROTOCOL_ERROR, DeviceState.UNKNOWN, SupplyLevel.UNKNOWN),
    ("silent", FaultCode.TIMEOUT, DeviceState.UNKNOWN, SupplyLevel.UNKNOWN),
])
def test_faults_reach_the_status_model_and_stop_the_print(plugged, fault, code, state, paper):
    sim, _, printer = plugged
    sim.inject(fault)
    status = printer.status()
    assert (status.state, status.supply(Consumable.RECEIPT_PAPER).level) == (state, paper)
    assert status.has_fault(code) and not status.usable
    started = time.monotonic()
    with pytest.raises(DeviceError) as caught:
        printer.print_receipt(receipt())
    assert time.monotonic() - started < 3              # a clear error, not a hang
    assert caught.value.code == code
    assert sim.lines == []                              # nothing went to paper
    sim.clear()
    printer.print_receipt(receipt())                    # cleared: the same driver prints
    assert sim.cuts == 1


def test_paper_near_end_is_a_warning_and_still_prints(plugged):
    sim, _, printer = plugged
    sim.inject("paper_near_end")
    status = printer.status()
    assert status.usable and status.has_fault(FaultCode.PAPER_LOW)
    assert status.supply(Consumable.RECEIPT_PAPER).level == SupplyLevel.LOW
    printer.print_receipt(receipt())
    assert sim.cuts == 1


def test_cover_opened_during_the_print_times_out_the_write(plugged):
    sim, _, printer = plugged
    sim.receive_buffer = 1024
    started = time.monotonic()
    with pytest.raises(DeviceTimeout):
        printer.print_receipt(receipt(), progress=lambda step: sim.inject("cover_open"))
    assert time.monotonic() - started < 3
    assert printer.status().has_fault(FaultCode.COVER_OPEN)


def test_unplug_mid_print_then_replug_recovers(plugged, usb_bus):
    sim, device, printer = plugged
    sim.hang_up_after = 3000
    sim.inject("hang_up_mid_print")
    with pytest.raises(DeviceDisconnected):
        printer.print_receipt(receipt())
    assert printer.status().state == DeviceState.NO_DEVICE
    sim.clear()
    usb_bus.plug(device)                                 # replugged: a new address
    assert printer.status().state == DeviceState.READY
    printer.print_receipt(receipt(job_id="second"))
    assert "No. cetak : second" in sim.lines and sim.cuts == 1


def test_bus_unplug_is_no_device_and_replug_is_ready(plugged, usb_bus):
    sim, device, printer = plugged
    assert printer.status().state == DeviceState.READY
    usb_bus.unplug(device)
    assert printer.status().state == DeviceState.NO_DEVICE
    usb_bus.plug(device)
    assert printer.status().state == DeviceState.READY


def test_worker_publishes_the_printer_status(plugged):
    sim, _, printer = plugged
    worker = DeviceWorker("receipt_printer", printer.status, poll_interval=60).start()
    try:
        assert worker.refresh().result(5).state == DeviceState.READY
        sim.inject("paper_out")
        assert worker.refresh().result(5).has_fault(FaultCode.PAPER_OUT)
        assert worker.status.has_fault(FaultCode.PAPER_OUT)
    finally:
        worker.stop()
