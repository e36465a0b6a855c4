"""`speed=realistic` through the drivers and the real transports, on a scaled-down clock
(time_scale), so the mechanical time is seen by the host without waiting minutes."""

import time
import uuid

from printer_drivers.a4 import A4Printer
from printer_drivers.base import PrintJob
from printer_drivers.evolis.printer import EvolisPrinter
from printer_drivers.receipt import ReceiptPrinter
from tests.device.test_receipt_usb import receipt
from tests.fixtures.cups import a4_pdf
from tests.fixtures.evolis import FAST, card_job, kia_pdf  # noqa: F401


def timed(action):
    started = time.monotonic()
    action()
    return time.monotonic() - started


def test_the_card_printer_takes_its_mechanical_time(kia_pdf):
    scale = 0.01
    printer = EvolisPrinter(f"sim:card_printer?speed=realistic&time_scale={scale}", **FAST)
    mechanism = printer.simulator.mechanism
    try:
        assert mechanism.warm_up() == 15                # power-on: the first card warms the heads
        cold = timed(lambda: printer.print_document(card_job(kia_pdf)))
        assert mechanism.warm_up() == 0                 # warm now
        warm = timed(lambda: printer.print_document(card_job(kia_pdf)))
    finally:
        printer.close()
    # Lower bounds only: a busy machine makes any print slower, never faster.
    assert cold >= (15 + 20 + 8) * scale and warm >= (20 + 8) * scale


def test_zero_delay_unless_asked(kia_pdf):
    printer = EvolisPrinter("sim:card_printer", **FAST)
    try:
        assert printer.simulator.mechanism.scale == 0
        # At realistic speed this card takes 15 + 20 + 8 s; far under that is zero delay,
        # however busy the machine.
        assert timed(lambda: printer.print_document(card_job(kia_pdf))) < 15
    finally:
        printer.close()


def test_the_a4_printer_takes_six_seconds_a_page(tmp_path):
    scale = 0.02
    printer = A4Printer(f"sim:a4_printer?out={tmp_path}&speed=realistic&time_scale={scale}", poll_interval=0.01)
    try:
        cold = timed(lambda: printer.print_document(PrintJob(str(uuid.uuid4()), "KK", a4_pdf(2))))
        warm = timed(lambda: printer.print_document(PrintJob(str(uuid.uuid4()), "KK", a4_pdf(1))))
        jobs = printer.simulator.mechanism.jobs
    finally:
        printer.close()
    assert cold >= (12 + 2 * 6) * scale and warm >= 6 * scale and cold > warm
    assert [round(job.seconds / scale, 6) for job in jobs] == [12 + 2 * 6, 6]
    assert all(job.out >= job.began + job.seconds for job in jobs)


def test_the_receipt_comes_out_two_seconds_later():
    scale = 0.5
    printer = ReceiptPrinter(f"sim:receipt_printer?speed=realistic&time_scale={scale}&status_timeout=0.5")
    try:
        started = time.monotonic()
        printer.print_receipt(receipt())
        sim = printer.simulator
        assert sim.cuts == 0                            # on its way through the head (cut at 1.5 s)
        while sim.cuts == 0 and time.monotonic() - started < 10:
            time.sleep(0.02)
        assert sim.cuts == 1 and time.monotonic() - started >= (1 + 2) * scale
    finally:
        printer.close()
