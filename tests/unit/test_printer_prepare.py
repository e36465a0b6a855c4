"""`Printer.prepare`: each driver checks and renders a document before any device I/O, and a
document that cannot be printed raises the one shared `DocumentUnprintable` with a reason."""

import io

import pypdfium2
import pytest

from devices.status import DeviceError
from printer_drivers.a4 import A4Printer, DocumentRejected
from printer_drivers.base import (TOO_MANY_PAGES, UNREADABLE, DocumentUnprintable, PreparedJob, Printer,
                                  PrintJob, PrintResult)
from printer_drivers.evolis.imaging import CardImageError
from printer_drivers.evolis.printer import EvolisPrinter
from printer_drivers.receipt import ReceiptPrinter
from tests.fixtures.cups import a4_pdf
from tests.fixtures.evolis import drawn_pdf, text_page

FAST = {"timeout": 1.0, "poll_interval": 0.01, "card_timeout": 5.0}
NOT_A_PDF = b"<html>502 Bad Gateway</html>"


def job(pdf: bytes, kind: str = "KIA") -> PrintJob:
    return PrintJob("00000000-0000-4000-8000-0000000000aa", kind, pdf)


def no_pages_pdf() -> bytes:
    out = io.BytesIO()
    pypdfium2.PdfDocument.new().save(out)
    return out.getvalue()


@pytest.fixture
def card_printer():
    printers = []

    def make(ribbon: str = "ymcko") -> EvolisPrinter:
        printers.append(EvolisPrinter(f"sim:card_printer?ribbon={ribbon}", **FAST))
        return printers[-1]
    yield make
    for printer in printers:
        printer.close()


def test_card_prepare_renders_both_sides_for_the_ribbon_seen_and_then_prints(card_printer):
    printer = card_printer()
    blind = printer.prepare(job(drawn_pdf(text_page(), text_page())))
    assert blind.pages == 2 and blind.payload.panels is None          # no ribbon read yet: no guess
    assert printer.simulator.log == []                                 # preparing says nothing to the printer
    printer.status()                                                   # reads the ribbon
    commands = list(printer.simulator.log)
    prepared = printer.prepare(job(drawn_pdf(text_page(), text_page())))
    assert [p.name for p in prepared.payload.panels.front] == ["y", "m", "c", "k", "o"]
    assert [p.name for p in prepared.payload.panels.back] == ["k", "o"]
    assert printer.simulator.log == commands
    result = printer.print_prepared(prepared)
    assert result.detail["ribbon"] == "ymcko" and printer.simulator.counters["cards"] == 1
    assert printer.print_prepared(blind).counters_after["cards_inserted"] == 2


def test_card_prepared_for_another_ribbon_is_separated_again(card_printer):
    colour, mono = card_printer("ymcko"), card_printer("ko")
    colour.status()
    prepared = colour.prepare(job(drawn_pdf(text_page())))
    assert prepared.payload.panels.ribbon == "ymcko"
    assert mono.print_prepared(prepared).detail["ribbon"] == "ko"
    assert mono.simulator.counters["cards"] == 1


@pytest.mark.parametrize("pdf, reason", [
    (NOT_A_PDF, UNREADABLE),
    (b"%PDF-1.7 broken", UNREADABLE),
    (no_pages_pdf(), UNREADABLE),                                    # pdfium will not open a PDF with no pages
    (drawn_pdf(text_page(), text_page(), text_page()), TOO_MANY_PAGES),
])
def test_card_prepare_refuses_what_cannot_become_a_card(card_printer, pdf, reason):
    printer = card_printer()
    with pytest.raises(DocumentUnprintable) as refused:
        printer.prepare(job(pdf))
    assert isinstance(refused.value, CardImageError) and refused.value.reason == reason
    assert refused.value.detail and "KARTU" not in refused.value.detail
    with pytest.raises(CardImageError):
        printer.print_document(job(pdf))                               # the one-call path too
    assert printer.simulator.log == []                                 # refused before any command


def test_card_printer_refuses_bad_imaging_options_at_configuration():
    with pytest.raises(ValueError, match="levels"):
        EvolisPrinter("sim:card_printer", levels=16)
    with pytest.raises(ValueError, match="not inside"):
        EvolisPrinter("sim:card_printer", overlay_holes=((900, 600, 500, 500),))


@pytest.fixture
def a4_printer(tmp_path):
    printer = A4Printer(f"sim:a4_printer?out={tmp_path}", poll_interval=0.01, timeout=2, job_timeout=5)
    yield printer
    printer.close()


def test_a4_prepare_checks_the_pdf_and_keeps_it_as_is(a4_printer):
    pdf = a4_pdf(2)
    prepared = a4_printer.prepare(job(pdf, "KK"))
    assert prepared.payload == pdf and prepared.pages == 2
    assert a4_printer.print_prepared(prepared).detail["pages"] == 2


@pytest.mark.parametrize("pdf, reason", [(NOT_A_PDF, UNREADABLE), (b"%PDF-1.4\n1 0 obj garbage\n%%EOF", UNREADABLE),
                                         (no_pages_pdf(), UNREADABLE)])
def test_a4_prepare_refuses_with_the_shared_type(a4_printer, pdf, reason):
    with pytest.raises(DocumentUnprintable) as refused:
        a4_printer.prepare(job(pdf, "KK"))
    assert isinstance(refused.value, DocumentRejected) and refused.value.reason == reason
    assert isinstance(refused.value, DeviceError)      # still a device error for callers that sent it


def test_receipt_prepare_rasterises_to_escpos_and_refuses_bad_pdfs():
    printer = ReceiptPrinter("sim:receipt_printer")
    try:
        prepared = printer.prepare(job(a4_pdf(1), "SLIP"))
        assert prepared.payload.startswith(b"\x1b@") and b"\x1dv0" in prepared.payload   # INIT, raster image
        for pdf, reason in ((NOT_A_PDF, UNREADABLE), (a4_pdf(5), TOO_MANY_PAGES), (no_pages_pdf(), UNREADABLE)):
            with pytest.raises(DocumentUnprintable) as refused:
                printer.prepare(job(pdf, "SLIP"))
            assert refused.value.reason == reason
        assert printer.simulator.printed == [] and printer.simulator.status_queries == []   # no I/O
    finally:
        printer.close()


class LegacyPrinter(Printer):
    """A driver that implements only print_document, as drivers did before `prepare`."""

    def status(self):
        raise AssertionError("not used")

    def print_document(self, job, progress=None):
        return PrintResult(job.job_id, detail={"bytes": len(job.pdf)})


def test_the_base_contract_serves_old_and_refuses_incomplete_drivers():
    legacy = LegacyPrinter("memory:x")
    prepared = legacy.prepare(job(b"%PDF-"))
    assert isinstance(prepared, PreparedJob) and prepared.payload == b"%PDF-"
    assert legacy.print_prepared(prepared).detail == {"bytes": 5}

    class Incomplete(Printer):
        def status(self):
            raise AssertionError("not used")
    with pytest.raises(TypeError, match="print_prepared"):
        Incomplete("memory:y")
