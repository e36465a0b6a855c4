"""The A4 driver against the built-in simulated printer: real IPP over real HTTP on loopback."""

from __future__ import annotations

import socket
import time
import uuid

import pypdfium2
import pytest

from devices import ipp
from devices.sim.a4 import SimulatedA4Printer, start_simulator
from devices.worker import DeviceWorker
from devices.status import (Consumable, DeviceError, DeviceState, DeviceTimeout,
                            FaultCode, Severity, SupplyLevel)
from printer_drivers.a4 import A4Printer, DocumentRejected
from printer_drivers.base import STEP_PRINTING, STEP_SENDING, PrintJob
from printer_drivers.ipp import IppClient
from tests.fixtures.a4 import assert_printer_not_found, assert_unreachable_within, kk_job


@pytest.fixture
def printer(tmp_path):
    driver = A4Printer(f"sim:a4_printer?out={tmp_path}", poll_interval=0.01, timeout=2, job_timeout=5)
    yield driver
    driver.close()


def test_prints_a_pdf_into_the_out_folder_and_purges_the_job(printer, tmp_path):
    job, steps = kk_job(3), []
    result = printer.print_document(job, steps.append)

    assert steps == [STEP_SENDING, STEP_PRINTING]
    assert result.job_id == job.job_id and result.detail["pages"] == 3
    written = tmp_path / f"KK-{job.job_id}.pdf"
    assert written.read_bytes() == job.pdf
    assert len(pypdfium2.PdfDocument(written)) == 3
    assert printer.simulator.jobs == {}          # purged: the printer keeps nothing


def test_job_name_is_kind_and_job_id_never_the_title(printer, tmp_path):
    job = kk_job(1)
    printer.print_document(job)
    assert [p.name for p in tmp_path.iterdir()] == [f"KK-{job.job_id}.pdf"]


def test_ready_status_with_supplies_and_capabilities(printer):
    status = printer.status()
    assert status.state == DeviceState.READY and status.usable
    assert status.supply(Consumable.PAPER_A4).level == SupplyLevel.FULL
    toner = status.supply(Consumable.TONER)
    assert (toner.level, toner.count) == (SupplyLevel.FULL, 80)
    assert status.capabilities["pdf"] is True
    assert status.capabilities["model"] == "ADM simulated A4 printer"


@pytest.mark.parametrize("fault, code, state, supply", [
    ("media-empty", FaultCode.PAPER_OUT, DeviceState.USER_ERROR, (Consumable.PAPER_A4, SupplyLevel.OUT)),
    ("media-jam", FaultCode.MEDIA_JAM, DeviceState.USER_ERROR, None),
    ("door-open", FaultCode.COVER_OPEN, DeviceState.USER_ERROR, None),
    ("toner-empty", FaultCode.TONER_OUT, DeviceState.USER_ERROR, (Consumable.TONER, SupplyLevel.OUT)),
    ("offline", FaultCode.OFFLINE, DeviceState.OFFLINE, None),
])
def test_each_alarm_reaches_the_status_model_and_refuses_a_print(printer, tmp_path, fault, code,
                                                                   state, supply):
    printer.simulator.inject(fault)
    status = printer.status()
    assert status.state == state
    assert status.has_fault(code) and not status.usable
    assert status.unusable_reason().code == code
    if supply:
        assert status.supply(supply[0]).level == supply[1]
    with pytest.raises(DeviceError) as raised:
        printer.print_document(kk_job())
    assert raised.value.code == code
    assert printer.simulator.jobs_received == 0 and list(tmp_path.iterdir()) == []   # nothing was sent


@pytest.mark.parametrize("fault, code, consumable", [
    ("media-low", FaultCode.PAPER_LOW, Consumable.PAPER_A4),
    ("toner-low", FaultCode.TONER_LOW, Consumable.TONER),
])
def test_warnings_are_reported_but_still_print(printer, fault, code, consumable):
    printer.simulator.inject(fault)
    status = printer.status()
    assert status.has_fault(code) and status.faults[0].severity == Severity.WARNING
    assert status.supply(consumable).level == SupplyLevel.LOW
    assert status.state == DeviceState.READY and status.usable
    printer.print_document(kk_job(1))


def test_fault_given_in_the_url(tmp_path):
    driver = A4Printer(f"sim:a4_printer?out={tmp_path}&fault=media-empty,door-open")
    try:
        status = driver.status()
        assert status.has_fault(FaultCode.PAPER_OUT) and status.has_fault(FaultCode.COVER_OPEN)
    finally:
        driver.close()


def test_jam_mid_job_cancels_it_and_says_why(printer, tmp_path):
    printer.simulator.fail_next_job("media-jam")
    with pytest.raises(DeviceError) as raised:
        printer.print_document(kk_job(4))
    assert raised.value.code == FaultCode.MEDIA_JAM
    assert list(tmp_path.iterdir()) == [] and printer.simulator.jobs == {}
    assert printer.status().has_fault(FaultCode.MEDIA_JAM)
    printer.simulator.clear()                    # the technician clears the jam
    printer.print_document(kk_job(1))
    assert len(list(tmp_path.iterdir())) == 1


def test_job_aborted_by_the_printer(printer, tmp_path):
    printer.simulator.fail_next_job("aborted")
    with pytest.raises(DeviceError) as raised:
        printer.print_document(kk_job(2))
    assert raised.value.code == FaultCode.HARDWARE
    assert "aborted" in raised.value.fault.detail
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("document, says", [
    (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "corrupt PDF"),
    (b"PK\x03\x04 a zip, not a pdf", "not a PDF"),
    (b"", "not a PDF"),
])
def test_bad_document_is_refused_before_anything_is_sent(printer, tmp_path, document, says):
    with pytest.raises(DocumentRejected, match=says):
        printer.print_document(PrintJob(str(uuid.uuid4()), "KK", document))
    assert printer.simulator.jobs_received == 0 and list(tmp_path.iterdir()) == []


def test_printer_aborts_a_corrupt_document_it_was_sent(tmp_path):
    """The printer's own check, reached when a client skips the driver's."""
    sim = SimulatedA4Printer(tmp_path)
    client = IppClient(sim.printer_uri, timeout=2)
    try:
        reply = client.print_job(b"%PDF-1.7 truncated", "KK-bad")
        job_id = reply.value(ipp.JOB_GROUP, "job-id")
        deadline = time.monotonic() + 5
        while (job := client.job_attributes(job_id, ["job-state", "job-state-reasons"]))["job-state"][0] \
                < ipp.JOB_CANCELED and time.monotonic() < deadline:
            time.sleep(0.01)
        assert job["job-state"] == [ipp.JOB_ABORTED]
        assert job["job-state-reasons"] == ["document-format-error"]
        refused = client.print_job(b"plain text", "KK-text", document_format="text/plain")
        assert refused.code == ipp.DOCUMENT_FORMAT_NOT_SUPPORTED
        assert list(tmp_path.iterdir()) == []
    finally:
        client.close()
        sim.stop()


def test_slow_printer_is_canceled_at_the_job_deadline(tmp_path):
    driver = A4Printer(f"sim:a4_printer?out={tmp_path}&slow=5", poll_interval=0.02, job_timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(DeviceTimeout, match="canceled"):
            driver.print_document(kk_job(2))
        assert time.monotonic() - started < 3
        assert driver.simulator.jobs == {} and list(tmp_path.iterdir()) == []
    finally:
        driver.close()


def test_unreachable_printer_is_no_device_within_the_timeout(tmp_path):
    driver = A4Printer(f"sim:a4_printer?out={tmp_path}", timeout=1)
    driver.simulator.stop()                      # the printer is switched off
    assert_unreachable_within(driver, 3)
    driver.close()


def test_wrong_printer_path_is_no_device(tmp_path):
    sim = SimulatedA4Printer(tmp_path)
    try:
        driver = A4Printer(sim.printer_uri.replace("sim-a4", "KK-A4"), timeout=2)
        assert_printer_not_found(driver)
        driver.close()
    finally:
        sim.stop()


@pytest.mark.parametrize("name, params, message", [
    ("a4_printer", {"fault": "on-fire"}, "unknown A4 simulator fault"),
    ("a4_printer", {"job_fault": "smoke"}, "unknown A4 job fault"),
    ("a4_printer", {"slow": "fast"}, "seconds per page"),
    ("card_printer", {}, "sim:a4_printer"),
])
def test_bad_simulator_url_is_a_clear_error(tmp_path, name, params, message):
    with pytest.raises(ValueError, match=message):
        start_simulator(name, {"out": str(tmp_path), **params})


@pytest.mark.parametrize("url", ["socket://127.0.0.1:9100", "usb://0f49:1234", "serial:///dev/ttyS0"])
def test_a4_printer_refuses_byte_transport_urls(url):
    with pytest.raises(ValueError, match="ipp://"):
        A4Printer(url)


def test_printer_that_never_answers_is_offline_within_the_timeout():
    """A host that accepts the connection and then says nothing (a hung print server)."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        driver = A4Printer(f"ipp://127.0.0.1:{silent.getsockname()[1]}/printers/KK-A4", timeout=0.5)
        try:
            assert_unreachable_within(driver, 3, DeviceState.OFFLINE, FaultCode.TIMEOUT, DeviceTimeout)
        finally:
            driver.close()


def test_runs_on_its_device_worker_and_publishes_faults(printer):
    worker = DeviceWorker("a4_printer", printer.status, poll_interval=0.05).start()
    seen = []
    worker.status_events.subscribe(seen.append)
    try:
        result = worker.submit(lambda: printer.print_document(kk_job(1))).result(5)
        assert result.detail["pages"] == 1
        printer.simulator.inject("media-empty")
        assert worker.refresh().result(5).has_fault(FaultCode.PAPER_OUT)
        assert seen[0].state == DeviceState.READY and seen[-1].state == DeviceState.USER_ERROR
    finally:
        worker.stop()


def test_after_close_the_next_call_opens_again(printer, tmp_path):
    printer.close()
    assert printer.simulator is None
    assert printer.status().usable                 # powered on again, on a new port
    printer.print_document(kk_job(1))
    assert len(list(tmp_path.iterdir())) == 1


def test_bad_timeout_option_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="are seconds"):
        A4Printer(f"sim:a4_printer?out={tmp_path}&job_timeout=soon")


def test_a_printer_reporting_reasons_we_do_not_know_still_prints(tmp_path):
    """Issue 9: an unexpected IPP status is unknown, not a refusal (through the real wire)."""
    driver = A4Printer(f"sim:a4_printer?out={tmp_path}&fault=odd_status", poll_interval=0.01, timeout=2,
                       job_timeout=5)
    try:
        status = driver.status()
        assert status.usable and status.capabilities["unknown_reasons"] == ["com.example-tray-sensor-error"]
        driver.print_document(kk_job(1))
        assert list(tmp_path.glob("KK-*.pdf"))
    finally:
        driver.close()


def test_a_page_out_whose_completed_mark_cannot_be_journaled_is_left_for_recovery(printer, tmp_path):
    """The state folder turned read-only as the page came out: the job id was journaled, the
    completed mark was not. The driver keeps the completed job in the server's history instead
    of purging it, so recovery after the repair settles it printed (not `interrupted`)."""
    job, journaled = kk_job(1), []

    def journal(ref):
        if ref.get("completed"):
            raise OSError(30, "Read-only file system")
        journaled.append(dict(ref))

    job = PrintJob(job.job_id, job.kind, job.pdf, title=job.title, on_sent=journal)
    printer.print_document(job)
    [ref] = journaled
    assert list(printer.simulator.jobs) == [ref["ipp_job_id"]]      # kept: not purged

    settled = printer.settle_interrupted(job, ref)
    assert settled.outcome == "completed"
    assert printer.simulator.jobs == {}                              # purged now


def test_a_page_out_whose_completed_mark_is_journaled_is_purged_at_once(printer, tmp_path):
    job, journaled = kk_job(1), []
    job = PrintJob(job.job_id, job.kind, job.pdf, title=job.title, on_sent=journaled.append)
    printer.print_document(job)
    assert journaled[-1].get("completed") is True and printer.simulator.jobs == {}
