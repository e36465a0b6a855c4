"""The A4 driver against real print servers: a private CUPS with a cups-pdf queue, and
ippeveprinter for printer-state faults."""

from __future__ import annotations

import time
import uuid

import pypdfium2
import pytest

from devices import ipp
from devices.status import (Consumable, DeviceError, DeviceState,
                            DeviceTimeout, FaultCode, SupplyLevel)
from printer_drivers.a4 import A4Printer, DocumentRejected
from printer_drivers.base import STEP_PRINTING, STEP_SENDING, PrintJob
from printer_drivers.ipp import IppClient
from tests.fixtures.a4 import assert_printer_not_found, assert_unreachable_within, kk_job
from tests.fixtures.cups import a4_pdf, cups_server, free_port, ippeveprinter, _private_bus  # noqa: F401

pytestmark = pytest.mark.cups


@pytest.fixture
def cups_printer(cups_server):
    driver = A4Printer(cups_server.ipp_url, poll_interval=0.05, timeout=5, job_timeout=30)
    yield driver
    driver.close()


def job_history(server, ipp_job_id: int) -> int:
    """IPP status of Get-Job-Attributes for the job: not-found once it is purged."""
    client = IppClient(server.ipp_url, timeout=5)
    try:
        return client.call(ipp.GET_JOB_ATTRIBUTES, {"job-id": ipp.Attr.of(ipp.INTEGER, ipp_job_id)}).code
    finally:
        client.close()


def test_pdf_printed_through_cups_arrives_as_a_pdf_and_the_spool_is_purged(cups_server, cups_printer):
    job, steps = kk_job(2), []
    result = cups_printer.print_document(job, steps.append)

    assert steps == [STEP_SENDING, STEP_PRINTING]
    ipp_job_id = result.detail["ipp_job_id"]
    output = cups_server.output_of(ipp_job_id)
    pdf = pypdfium2.PdfDocument(output)
    try:
        assert len(pdf) == 2
        width, height = pdf[0].get_size()
        assert abs(width - 595) < 2 and abs(height - 842) < 2      # A4 in points
    finally:
        pdf.close()
    # PreserveJobFiles/History are on in the test cupsd: only the driver's purge clears them.
    assert cups_server.spool_files(ipp_job_id) == []
    assert job_history(cups_server, ipp_job_id) == ipp.NOT_FOUND


def test_without_the_purge_cups_would_keep_the_document(cups_server):
    """The control for the test above: the same job submitted without the driver's purge
    leaves its document file in the spool."""
    client = IppClient(cups_server.ipp_url, timeout=5)
    try:
        reply = client.print_job(a4_pdf(1), "KK-control")
        ipp_job_id = reply.value(ipp.JOB_GROUP, "job-id")
        deadline = time.monotonic() + 20
        while client.job_attributes(ipp_job_id, ["job-state"])["job-state"][0] < ipp.JOB_CANCELED:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert any(p.name.startswith("d") for p in cups_server.spool_files(ipp_job_id))
        assert client.cancel_job(ipp_job_id, purge=True).ok
        assert cups_server.spool_files(ipp_job_id) == []
    finally:
        client.close()


def test_cups_queue_status_is_ready(cups_printer):
    status = cups_printer.status()
    assert status.state == DeviceState.READY and status.usable
    assert status.capabilities["queue"] == "KK-A4" and status.capabilities["pdf"] is True
    assert status.supply(Consumable.PAPER_A4).level == SupplyLevel.FULL


def test_bare_queue_name_uses_cups_server(cups_server, monkeypatch):
    monkeypatch.setenv("CUPS_SERVER", cups_server.host)
    driver = A4Printer("KK-A4", timeout=5)
    try:
        assert driver.printer_uri == cups_server.ipp_url
        assert driver.status().state == DeviceState.READY
    finally:
        driver.close()


def test_corrupt_pdf_is_refused_before_submission(cups_server, cups_printer):
    before = sorted(cups_server.spool_dir.iterdir())
    with pytest.raises(DocumentRejected, match="corrupt PDF"):
        cups_printer.print_document(PrintJob(str(uuid.uuid4()), "KK", b"%PDF-1.4\n1 0 obj garbage\n%%EOF"))
    assert sorted(cups_server.spool_dir.iterdir()) == before


def test_corrupt_pdf_that_reaches_cups_fails_the_job_without_hanging(cups_server, cups_printer, monkeypatch):
    """CUPS's filters stop a job they cannot read; the driver reports that at once, cancels
    and purges it (the pre-check is bypassed to reach the printer's own refusal)."""
    monkeypatch.setattr("printer_drivers.a4.pdf_page_count", lambda document: 1)
    started = time.monotonic()
    with pytest.raises(DocumentRejected, match="stopped the job"):
        cups_printer.print_document(PrintJob(str(uuid.uuid4()), "KK", b"%PDF-1.4\n1 0 obj garbage\n%%EOF"))
    assert time.monotonic() - started < 15
    assert not [p for p in cups_server.spool_dir.iterdir() if p.name.startswith("d")]


def test_stopped_queue_is_offline_and_refuses_the_print(cups_server, cups_printer):
    cups_server.run("cupsdisable", "-r", "Paused by technician", "KK-A4")
    try:
        status = cups_printer.status()
        assert status.state == DeviceState.OFFLINE and status.has_fault(FaultCode.OFFLINE)
        with pytest.raises(DeviceError) as raised:
            cups_printer.print_document(kk_job(1))
        assert raised.value.code == FaultCode.OFFLINE
    finally:
        cups_server.run("cupsenable", "KK-A4")
    assert cups_printer.status().state == DeviceState.READY


def test_queue_whose_printer_is_unreachable_times_out_and_is_purged(cups_server):
    dead = cups_server.add_queue("KK-DEAD", f"ipp://127.0.0.1:{free_port()}/ipp/print")
    driver = A4Printer(dead, poll_interval=0.1, timeout=5, job_timeout=3)
    try:
        started = time.monotonic()
        with pytest.raises(DeviceTimeout, match="canceled") as raised:
            driver.print_document(kk_job(1))
        assert time.monotonic() - started < 10
        ipp_job_id = int(raised.value.fault.detail.split()[2])
        assert cups_server.spool_files(ipp_job_id) == []
    finally:
        driver.close()


def test_cups_not_running_is_no_device_within_the_timeout():
    driver = A4Printer(f"ipp://127.0.0.1:{free_port()}/printers/KK-A4", timeout=2)
    try:
        assert_unreachable_within(driver, 5)
    finally:
        driver.close()


def test_unknown_queue_is_no_device(cups_server):
    driver = A4Printer(cups_server.queue_url("NO-SUCH-QUEUE"), timeout=5)
    try:
        assert_printer_not_found(driver)
    finally:
        driver.close()


# --- ippeveprinter: printer-state faults from a real IPP printer -----------------------------

@pytest.fixture
def eve_printer(ippeveprinter):
    driver = A4Printer(ippeveprinter.uri, poll_interval=0.05, timeout=5, job_timeout=20)
    yield driver
    driver.close()


def test_ippeveprinter_prints_and_is_ready(eve_printer):
    assert eve_printer.status().state == DeviceState.READY
    result = eve_printer.print_document(kk_job(1))
    assert result.detail["ipp_job_id"] == 1


def test_media_empty_from_ippeveprinter_reaches_the_status_model(ippeveprinter, eve_printer):
    ippeveprinter.set_state("+media-empty-error")
    status = eve_printer.status()
    assert status.state == DeviceState.USER_ERROR
    assert status.has_fault(FaultCode.PAPER_OUT)
    assert status.supply(Consumable.PAPER_A4).level == SupplyLevel.OUT
    with pytest.raises(DeviceError) as raised:
        eve_printer.print_document(kk_job(1))
    assert raised.value.code == FaultCode.PAPER_OUT


@pytest.mark.parametrize("reason, code", [("media-jam-error", FaultCode.MEDIA_JAM),
                                          ("cover-open-error", FaultCode.COVER_OPEN),
                                          ("toner-empty-error", FaultCode.TONER_OUT)])
def test_ippeveprinter_faults_reach_the_status_model(ippeveprinter, eve_printer, reason, code):
    ippeveprinter.set_state(f"+{reason}")
    status = eve_printer.status()
    assert status.has_fault(code) and not status.usable
    ippeveprinter.set_state(f"-{reason}")
    assert eve_printer.status().usable
