"""The receipt printer over serial (python-escpos's Serial on a real pty, through the
built-in `sim:` URL) and over raw TCP (python-escpos's Network, socket:// URL)."""

import io
import threading

import pytest
import zxingcpp
from PIL import Image

from devices.sim.escpos import EscPosSimulator
from devices.sim.serve import serve_pty, serve_socket
from devices.status import DeviceDisconnected, DeviceError, DeviceState, FaultCode
from printer_drivers.base import PrintJob
from printer_drivers.receipt import ReceiptPrinter
from tests.device.test_receipt_usb import VERIFY, qr_texts, receipt


@pytest.fixture
def sim_printer():
    printer = ReceiptPrinter("sim:receipt_printer?status_timeout=0.3&timeout=1")
    yield printer
    printer.close()


def test_sim_url_prints_over_a_pty(sim_printer, artifacts_dir):
    assert sim_printer.status().state == DeviceState.READY
    sim_printer.print_receipt(receipt())
    sim = sim_printer.simulator
    assert "NIK       : 320101******0003" in sim.lines
    assert qr_texts(sim) == [VERIFY] and sim.cuts == 1
    sim.render_png(artifacts_dir / "receipt" / "receipt_serial.png")


def test_cover_opened_on_serial_is_reported_after_the_print_and_nothing_is_lost(sim_printer):
    sim = sim_printer.simulator
    with pytest.raises(DeviceError) as caught:
        sim_printer.print_receipt(receipt(), progress=lambda step: sim.inject("cover_open"))
    assert caught.value.code == FaultCode.COVER_OPEN
    assert "printing stopped" in str(caught.value)
    assert sim.lines == []                              # held in the printer's buffer
    sim.clear("cover_open")
    assert sim.cuts == 1 and qr_texts(sim) == [VERIFY]  # and printed once the cover shut


def test_pty_hang_up_mid_print_then_a_new_pty(sim_printer):
    sim = sim_printer.simulator
    sim.hang_up_after = 2000
    sim.inject("hang_up_mid_print")
    with pytest.raises(DeviceDisconnected):
        sim_printer.print_receipt(receipt())
    sim.clear()
    assert sim_printer.status().state == DeviceState.READY      # re-created, like a replug
    sim_printer.print_receipt(receipt(job_id="again"))
    assert "No. cetak : again" in sim.lines


def test_socket_printer_faults_and_reconnect():
    sim = EscPosSimulator()
    with serve_socket(sim) as link:
        printer = ReceiptPrinter(f"{link.url}?status_timeout=0.3&timeout=1")
        try:
            assert printer.status().state == DeviceState.READY
            sim.inject("paper_out")
            assert printer.status().has_fault(FaultCode.PAPER_OUT)
            sim.clear()
            sim.hang_up()                                  # the printer drops the connection
            assert printer.status().state == DeviceState.NO_DEVICE
            assert printer.status().state == DeviceState.READY     # the listener takes it back
            printer.print_test_page()
            assert "HALAMAN UJI PRINTER STRUK" in sim.lines and sim.cuts == 1
            assert not any("NIK" in line for line in sim.lines)
        finally:
            printer.close()


def test_a_missing_serial_port_is_no_device():
    printer = ReceiptPrinter("serial:///dev/ttyUSB-missing?baudrate=9600")
    status = printer.status()
    assert status.state == DeviceState.NO_DEVICE and status.has_fault(FaultCode.DISCONNECTED)
    with pytest.raises(DeviceError) as caught:
        printer.print_test_page()
    assert caught.value.code == FaultCode.DISCONNECTED


def test_print_document_rasterises_a_pdf(sim_printer):
    page = Image.new("L", (300, 400), 255)
    page.paste(0, (20, 20, 280, 60))
    pdf = io.BytesIO()
    page.save(pdf, format="PDF", resolution=150)
    sim_printer.print_document(PrintJob("job-pdf", "SLIP", pdf.getvalue()))
    sim = sim_printer.simulator
    assert [image.width for image in sim.images] == [576] and sim.cuts == 1
    with pytest.raises(ValueError, match="PDF"):
        sim_printer.print_document(PrintJob("job-bad", "SLIP", b"%PDF-1.4 not really"))


@pytest.mark.parametrize("url", ["sim:card_printer", "ipp://localhost:631/printers/x",
                                 "sim:receipt_printer?timeout=soon"])
def test_bad_urls_are_refused(url):
    with pytest.raises(ValueError):
        ReceiptPrinter(url)


def test_unknown_simulator_fault_is_refused():
    with pytest.raises(ValueError, match="unknown"):
        ReceiptPrinter("sim:receipt_printer?faults=on_fire")


def test_qr_payload_survives_the_whole_chain():
    # The QR payload decodes to exactly what was asked, through the whole chain.
    printer = ReceiptPrinter("sim:receipt_printer")
    try:
        printer.print_receipt(receipt(verify_url="https://x.example/v/1"))
        assert [r.text for img in printer.simulator.images for r in zxingcpp.read_barcodes(img.convert("L"))] \
            == ["https://x.example/v/1"]
    finally:
        printer.close()


def test_a_clone_answering_status_outside_the_pattern_still_prints(sim_printer, caplog):
    """Issue 9: an unexpected status byte is `unknown` (logged once), not a refusal."""
    sim = sim_printer.simulator
    sim.inject("odd_status")
    with caplog.at_level("WARNING", logger="printer_drivers.receipt"):
        for _ in range(3):
            status = sim_printer.status()
            assert status.usable and status.state == DeviceState.READY, status
        sim_printer.print_receipt(receipt())
    assert sim.cuts == 1
    assert status.capabilities["status_unknown"] == ["DLE EOT 3", "DLE EOT 4"]
    odd = [r.getMessage() for r in caplog.records if "cannot read" in r.getMessage()]
    assert len(odd) == 2 and all("'00'" in line for line in odd)      # once each, with the raw byte
    sim.inject("paper_out")                                           # what is still read still stops it
    assert not sim_printer.status().usable


class LaggingPrinter(EscPosSimulator):
    """Answers its first status queries after the scripted delays (then at once), with the
    state it was in when asked: a printer busy with its mechanism, or a simulator starved of
    CPU, that lags behind the host's timeout."""

    def __init__(self, delays, faults=()):
        super().__init__(faults)
        self.delays = list(delays)

    def _answer_status(self, n):
        if not self.delays:
            return super()._answer_status(n)
        self.status_queries.append(n)
        threading.Timer(self.delays.pop(0), self.send, (bytes((self.status_byte(n),)),)).start()


def test_a_status_byte_that_comes_after_its_timeout_is_not_read_as_the_next_querys():
    # DLE EOT 1's answer ("offline": paper out) comes 0.2 s after its timeout; the paper is
    # loaded meanwhile. Read as the next DLE EOT 1's answer it would say "offline" of a ready
    # printer, and every later byte would answer the query before it.
    sim = LaggingPrinter([0.5, 0.5], faults=["paper_out"])
    with serve_pty(sim) as link:
        printer = ReceiptPrinter(f"{link.url}?status_timeout=0.3")
        try:
            first = printer.status()
            sim.clear("paper_out")
            seen = [printer.status() for _ in range(2)]
        finally:
            printer.close()
    assert [f.code for f in first.faults] == [FaultCode.TIMEOUT]
    # Never a state the printer was not in: unknown (a timeout) while it lags, then ready.
    assert [s.state if s.usable else s.faults[0].code for s in seen] == [FaultCode.TIMEOUT, DeviceState.READY]
    assert sim.status_queries[:2] == [1, 1] and sim.take_output() == b""
