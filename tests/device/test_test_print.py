"""`adm-kiosk test-print`: a test page on the configured printer or on --url, through the
real CLI entry point and real transports (CUPS over IPP, ESC/POS and Evolis over socket://)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np
import pypdfium2
import pytest

from devices.sim.escpos import EscPosSimulator
from devices.sim.evolis import EvolisSimulator
from devices.sim.serve import serve_socket
from printer_drivers.a4 import render_test_page
from printer_drivers.factory import driver_class, open_printer
from tests.fixtures.cups import cups_server  # noqa: F401
from tests.fixtures.kiosk import write_plain_kiosk_config, run_cli

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_test_page_is_one_a4_page_with_a_grey_ramp():
    pdf = pypdfium2.PdfDocument(render_test_page("KIOSK-TEST-07", "ipp://h:631/printers/Q",
                                              datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)))
    try:
        assert len(pdf) == 1
        width, height = pdf[0].get_size()
        assert abs(width - 595) < 2 and abs(height - 842) < 2
        pixels = np.asarray(pdf[0].render(scale=0.5).to_pil().convert("L"))
        # The ramp's patches: every tenth of the grey scale is on the page.
        row = pixels[int(pixels.shape[0] * 195 / 297)]
        assert row.min() < 30 and row.max() > 240 and len(np.unique(row // 25)) >= 9
    finally:
        pdf.close()


@pytest.mark.cups
def test_a4_test_page_through_real_cups(cups_server, capsys):
    before = set(cups_server.out_dir.iterdir())
    code, out, err = run_cli(capsys, "test-print", "a4", "--url", cups_server.ipp_url)
    assert code == 0, err
    assert re.search(rf"test page printed on {re.escape(cups_server.ipp_url)} \(job {UUID}\)", out)
    job_id = re.search(rf"\(job ({UUID})\)", out).group(1)
    new = sorted(set(cups_server.out_dir.iterdir()) - before)
    assert len(new) == 1 and new[0].name.startswith("TEST")   # job-name is the kind, then the id
    pdf = pypdfium2.PdfDocument(new[0])
    try:
        assert len(pdf) == 1
    finally:
        pdf.close()
    assert job_id not in str(list(cups_server.spool_dir.iterdir()))


def test_a4_test_page_on_the_configured_printer(tmp_path, capsys):
    out_dir = tmp_path / "out"
    config = write_plain_kiosk_config(tmp_path, f"""
        [devices.a4_printer]
        url = "sim:a4_printer?out={out_dir}"
        """)
    code, out, err = run_cli(capsys, "--config", config, "test-print", "a4")
    assert code == 0, err
    printed = list(out_dir.iterdir())
    assert len(printed) == 1 and printed[0].name.startswith("TEST-")


def test_printer_fault_fails_with_one_clear_line(tmp_path, capsys):
    code, out, err = run_cli(capsys, "test-print", "a4", "--url", f"sim:a4_printer?out={tmp_path}&fault=media-jam")
    assert code == 1 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("test-print")]
    assert lines == ["test-print a4: gagal / failed: Kartu atau kertas macet / Card or paper jam (media-jam-error)"]
    assert list(tmp_path.iterdir()) == []


def test_unconfigured_printer_is_a_usage_error(tmp_path, capsys):
    config = write_plain_kiosk_config(tmp_path, "")
    code, out, err = run_cli(capsys, "--config", config, "test-print", "card")
    assert code == 2
    assert "no [devices.card_printer] configured; give --url" in err


def test_missing_config_without_url_is_a_usage_error(tmp_path, capsys):
    code, out, err = run_cli(capsys, "--config", str(tmp_path / "none.toml"), "test-print", "a4")
    assert code == 2 and "no such configuration file" in err


def test_wrong_url_for_the_printer_is_a_usage_error(capsys):
    code, out, err = run_cli(capsys, "test-print", "a4", "--url", "socket://127.0.0.1:9100")
    assert code == 2 and "a4_printer is reached through ipp://" in err


def test_receipt_test_page_on_a_socket_url(capsys):
    printer = EscPosSimulator()
    with serve_socket(printer) as link:
        code, out, err = run_cli(capsys, "test-print", "receipt", "--url", link.url)
    assert code == 0, err
    assert "test page printed on socket://" in out
    assert printer.cuts == 1 and printer.lines
    assert not any(re.search(r"\d{16}", line) for line in printer.lines)   # no NIK-like number


def test_card_test_page_on_a_socket_url(tmp_path, capsys):
    printer = EvolisSimulator(out_dir=tmp_path)
    with serve_socket(printer) as link:
        code, out, err = run_cli(capsys, "test-print", "card", "--url", link.url)
    assert code == 0, err
    assert printer.snapshot()["cards"] == 1 and len(printer.decoded) == 1


# --- the factory behind it ---------------------------------------------------------------------

@pytest.mark.parametrize("role, class_name", [("a4_printer", "A4Printer"),
                                              ("receipt_printer", "ReceiptPrinter"),
                                              ("card_printer", "EvolisPrinter")])
def test_factory_maps_each_role_to_its_driver(role, class_name):
    assert driver_class(role).__name__ == class_name
    assert driver_class(role).role == role


def test_factory_opens_a_driver_with_options(tmp_path):
    printer = open_printer("a4_printer", f"sim:a4_printer?out={tmp_path}", job_timeout=7, timeout=2)
    try:
        assert (printer.job_timeout, printer.timeout) == (7, 2)
        assert printer.status().usable
    finally:
        printer.close()


def test_factory_refuses_an_unknown_role():
    with pytest.raises(ValueError, match="unknown printer role 'fax'; one of a4_printer, card_printer, receipt_printer"):
        open_printer("fax", "socket://127.0.0.1:9100")
