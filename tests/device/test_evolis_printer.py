"""The card printer driver against the simulator over real transports: a pty through
pyserial, socket://, and pyusb on the simulated USB bus."""

import numpy as np
import pytest

from devices.sim.evolis import EvolisSimulator
from devices.sim.usb_backend import SimulatedUsbDevice
from devices.status import Consumable, DeviceError, DeviceState, FaultCode, SupplyLevel
from printer_drivers.evolis.imaging import CardImageError, pdf_card_panels
from printer_drivers.evolis.printer import EVOLIS_VENDOR_ID, EvolisPrinter
from printer_drivers.evolis.protocol import Answer, download_frame, frame
from printer_drivers.evolis.status import CARD_LEFT_INSIDE, build_status
from tests.fixtures.evolis import FAST, card_job as job, kia_pdf, printer_for  # noqa: F401
from tests.fixtures.usb import usb_bus  # noqa: F401



@pytest.mark.parametrize("transport", ["pty", "socket"])
def test_colour_card_prints_and_decodes_back_to_its_panels(printer_for, kia_pdf, transport):
    sim = EvolisSimulator()
    printer = printer_for(sim, transport)
    steps = []
    result = printer.print_document(job(kia_pdf), steps.append)
    assert steps == ["sending", "printing_front", "printing_back", "ejecting"]
    assert result.detail["counters_before"] == {"cards_inserted": 0, "panels_printed": 0, "cleanings_done": 0}
    assert result.counters_after == {"cards_inserted": 1, "panels_printed": 7, "cleanings_done": 0}
    assert sim.log.count("Ss") == 1 and sim.log.index("Rco") < sim.log.index("Ss")   # counters read first
    sent = pdf_card_panels(kia_pdf, "ymcko", 32)
    card = sim.decoded[0]
    for side, panels in (("front", sent.front), ("back", sent.back)):
        assert list(getattr(card, side)) == [p.name for p in panels]
        for panel in panels:
            assert np.array_equal(getattr(card, side)[panel.name].pixels, panel.pixels)
    assert sim.snapshot()["cards_in_feeder"] == 99 and sim.snapshot()["ribbon_left"] == 199


def test_uncompressed_and_64_levels(printer_for, kia_pdf):
    sim = EvolisSimulator()
    printer = printer_for(sim, "socket", compressed=False, levels=64)
    printer.print_document(job(kia_pdf))
    assert {p.compressed for p in sim.decoded[0].front.values()} == {False}
    assert sim.decoded[0].front["y"].levels == 64


def test_k_only_ribbon_gets_a_dithered_card(printer_for, kia_pdf):
    sim = EvolisSimulator(ribbon="kb")
    printer = printer_for(sim)
    result = printer.print_document(job(kia_pdf))
    assert result.detail["ribbon"] == "kb"
    card = sim.decoded[0]
    assert list(card.front) == ["k"] and list(card.back) == ["k"]
    assert 0.05 < card.front["k"].pixels.mean() < 0.95


def test_identification_status_and_supplies(printer_for):
    sim = EvolisSimulator(cards=5, ribbon_prints=150)
    status = printer_for(sim).status()
    assert status.state == DeviceState.READY
    assert status.capabilities["model"] == "Evolis KC200" and status.capabilities["ribbon"] == "ymcko"
    assert status.capabilities["serial_number"] == "SIMKC200-0001" and status.capabilities["firmware"]
    assert status.supply(Consumable.CARDS).level == SupplyLevel.LOW
    assert status.supply(Consumable.RIBBON).count == 150
    assert [f.code for f in status.faults] == [FaultCode.FEEDER_LOW]
    assert status.usable


@pytest.mark.parametrize("setup, code, level", [
    (lambda sim: sim.set_cover(True), FaultCode.COVER_OPEN, None),
    (lambda sim: sim.inject("feeder_empty"), FaultCode.FEEDER_EMPTY, (Consumable.CARDS, SupplyLevel.OUT)),
    (lambda sim: sim.load(ribbon_prints=0), FaultCode.RIBBON_OUT, (Consumable.RIBBON, SupplyLevel.OUT)),
    (lambda sim: sim.load(ribbon_prints=7), FaultCode.RIBBON_LOW, (Consumable.RIBBON, SupplyLevel.LOW)),
    (lambda sim: sim.inject("needs_cleaning"), FaultCode.NEEDS_CLEANING, None),
])
def test_status_reports_faults(printer_for, setup, code, level):
    sim = EvolisSimulator()
    setup(sim)
    status = printer_for(sim).status()
    assert status.has_fault(code)
    if level:
        assert status.supply(level[0]).level == level[1]
    if code != FaultCode.RIBBON_LOW:
        assert status.state == DeviceState.USER_ERROR and not status.usable


# fault -> (fault code, cards taken from the feeder, cards in the reject box)
FAULT_CASES = {
    "feeder_empty": (FaultCode.FEEDER_EMPTY, 0, 0),
    "needs_cleaning": (FaultCode.NEEDS_CLEANING, 0, 0),
    "garbage": (FaultCode.PROTOCOL_ERROR, 0, 0),
    "silence": (FaultCode.TIMEOUT, 0, 0),
    "ribbon_out": (FaultCode.RIBBON_OUT, 1, 1),
    "nack": (FaultCode.COMMAND_REJECTED, 1, 1),
    "cover_open": (FaultCode.COVER_OPEN, 1, 0),
    "jam_mid_card": (FaultCode.MEDIA_JAM, 1, 0),
    "hang_up": (FaultCode.DISCONNECTED, 1, 1),     # over a socket the link comes back for Ser
}


@pytest.mark.parametrize("ack", [False, True], ids=["answers", "ack_nack"])
@pytest.mark.parametrize("fault", list(FAULT_CASES))
def test_fault_fails_the_job_and_spends_at_most_one_card(printer_for, kia_pdf, fault, ack):
    code, taken, rejected = FAULT_CASES[fault]
    if ack and fault == "nack":
        code = FaultCode.COMMAND_REJECTED
    sim = EvolisSimulator(faults=[fault], ack_mode=ack)
    printer = printer_for(sim, "socket" if fault == "hang_up" else "pty", timeout=0.5)
    with pytest.raises(DeviceError) as failure:
        printer.print_document(job(kia_pdf))
    assert failure.value.code == code
    assert failure.value.fault.detail                       # the reason, for the journal and technician
    snapshot = sim.snapshot()
    assert snapshot["cards"] == taken and snapshot["rejected"] == rejected
    if rejected:
        assert "reject box" in failure.value.fault.detail
    assert sim.log.count("Ss") <= 1
    if fault not in ("silence", "hang_up"):
        assert printer.status().state != DeviceState.BUSY
    assert sim.snapshot()["cards"] == taken                   # nothing fed a second card


def test_pty_hang_up_leaves_the_card_and_says_so(printer_for, kia_pdf):
    sim = EvolisSimulator(faults=["hang_up"])
    printer = printer_for(sim, "pty")
    with pytest.raises(DeviceError) as failure:
        printer.print_document(job(kia_pdf))
    assert failure.value.code == FaultCode.DISCONNECTED
    assert "left in the printer" in failure.value.fault.detail
    assert sim.snapshot()["cards"] == 1 and sim.snapshot()["rejected"] == 0


def test_jam_then_cleared_prints_again(printer_for, kia_pdf):
    sim = EvolisSimulator(faults=["jam_mid_card"])
    printer = printer_for(sim)
    with pytest.raises(DeviceError):
        printer.print_document(job(kia_pdf))
    assert printer.status().has_fault(FaultCode.MEDIA_JAM)
    sim.clear_jam()
    assert printer.status().state == DeviceState.READY
    printer.print_document(job(kia_pdf))
    assert sim.snapshot()["cards"] == 2


def test_waits_for_the_card_to_come_out(printer_for, kia_pdf):
    sim = EvolisSimulator(card_seconds=0.3)
    printer = printer_for(sim)
    printer.print_document(job(kia_pdf))
    assert sim.snapshot()["card"] is None and sim.log.count("Rlr") > 3


def test_card_stuck_past_the_deadline_is_a_timeout(printer_for, kia_pdf):
    sim = EvolisSimulator(card_seconds=30)
    printer = printer_for(sim, card_timeout=0.2)
    with pytest.raises(DeviceError) as failure:
        printer.print_document(job(kia_pdf))
    assert failure.value.code == FaultCode.TIMEOUT
    assert sim.snapshot()["cards"] == 1


def test_bad_pdf_touches_no_card(printer_for):
    sim = EvolisSimulator()
    printer = printer_for(sim)
    with pytest.raises(CardImageError):
        printer.print_document(job(b"%PDF-1.7 broken"))
    assert "Ss" not in sim.log and sim.snapshot()["cards"] == 0


def test_disconnected_printer_reports_no_device(printer_for):
    sim = EvolisSimulator()
    printer = printer_for(sim, "pty")
    assert printer.status().state == DeviceState.READY
    sim.hang_up()
    assert printer.status().state == DeviceState.NO_DEVICE


def test_sim_url_runs_in_process_and_writes_pngs(tmp_path, kia_pdf):
    printer = EvolisPrinter(f"sim:card_printer?out={tmp_path}&cards=3", **FAST)
    try:
        result = printer.print_test_card(progress=lambda step: None)
        assert result.job_id.startswith("test-") and result.counters_after["cards_inserted"] == 1
        assert (tmp_path / "card-0001-front.png").stat().st_size > 0
        assert (tmp_path / "card-0001-back.png").exists()
        assert printer.simulator.snapshot()["cards_in_feeder"] == 2
    finally:
        printer.close()


def test_sim_url_faults_and_bad_options():
    printer = EvolisPrinter("sim:card_printer?faults=feeder_empty", **FAST)
    try:
        assert printer.status().has_fault(FaultCode.FEEDER_EMPTY)
    finally:
        printer.close()
    with pytest.raises(ValueError, match="unknown card printer fault"):
        EvolisPrinter("sim:card_printer?faults=gremlins")
    with pytest.raises(ValueError, match="unknown card printer simulator options"):
        EvolisPrinter("sim:card_printer?colour=blue")


def test_usb_print_and_unplug(usb_bus, kia_pdf):
    sim = EvolisSimulator()
    device = usb_bus.plug(SimulatedUsbDevice(EVOLIS_VENDOR_ID, 0x5C07, sim, serial="SIMKC200-0001",
                                             manufacturer="Evolis", product="KC200"))
    printer = EvolisPrinter("usb://0f49:5c07?serial=SIMKC200-0001", backend=usb_bus.backend, **FAST)
    try:
        assert printer.status().state == DeviceState.READY
        result = printer.print_document(job(kia_pdf))
        assert result.counters_after["cards_inserted"] == 1 and len(sim.decoded) == 1
        usb_bus.unplug(device)
        assert printer.status().state == DeviceState.NO_DEVICE
        usb_bus.plug(device)
        assert printer.status().state == DeviceState.READY      # replugged: found again
    finally:
        printer.close()


def test_usb_hang_up_mid_download(usb_bus, kia_pdf):
    sim = EvolisSimulator(faults=["hang_up"])
    usb_bus.plug(SimulatedUsbDevice(EVOLIS_VENDOR_ID, 0x5C07, sim))
    printer = EvolisPrinter("usb://0f49:5c07", backend=usb_bus.backend, **FAST)
    try:
        with pytest.raises(DeviceError) as failure:
            printer.print_document(job(kia_pdf))
        assert failure.value.code in (FaultCode.DISCONNECTED, FaultCode.TIMEOUT)
        assert sim.snapshot()["cards"] == 1
    finally:
        printer.close()


# --- a card left inside: the status fault and reject_card() ------------------------------------

def leave_a_card_inside(sim, eject=False):
    """What a host that died mid-card leaves behind: a card taken, part of its front sent
    (and with `eject`, one already on its way out)."""
    white_k = download_frame("k", 2, b"\x00" * 1016, True)
    sim.feed(frame("Pr", "ymcko") + frame("Ss") + frame("Sr") + white_k + (frame("Se") if eject else b""))
    sim.take_output()
    assert sim.snapshot()["card"] is not None and sim.snapshot()["cards"] == 1


def test_card_left_inside_is_a_fault_not_busy(printer_for):
    sim = EvolisSimulator()
    leave_a_card_inside(sim)
    status = printer_for(sim).status()
    assert status.state == DeviceState.USER_ERROR and not status.usable
    [fault] = [f for f in status.faults if f.code == FaultCode.MEDIA_JAM]
    assert CARD_LEFT_INSIDE in fault.detail


@pytest.mark.parametrize("card, expected, state", [
    ("CARD", True, DeviceState.BUSY), ("CONTACTLESS CARD", True, DeviceState.BUSY),
    ("CARD", False, DeviceState.USER_ERROR), ("SMART CARD", False, DeviceState.USER_ERROR),
    ("NO CARD", False, DeviceState.READY), ("OK", False, DeviceState.READY),
])
def test_status_mapping_of_a_card_inside(card, expected, state):
    status = build_status({"card": Answer("Rlr;p", card)}, {}, card_expected=expected)
    assert status.state == state
    assert status.has_fault(FaultCode.MEDIA_JAM) == (state == DeviceState.USER_ERROR)


def test_own_card_mid_print_reads_busy(printer_for, kia_pdf):
    sim = EvolisSimulator()
    printer = printer_for(sim)
    seen = {}

    def look(step):
        if step == "printing_back":              # the card is inside, printing: ours
            seen[step] = printer.status()
    printer.print_document(job(kia_pdf), look)
    assert seen["printing_back"].state == DeviceState.BUSY and not seen["printing_back"].faults
    assert printer.status().state == DeviceState.READY


def test_reject_card_moves_the_card_to_the_reject_box(printer_for, kia_pdf):
    sim = EvolisSimulator()
    leave_a_card_inside(sim)
    printer = printer_for(sim)
    assert printer.card_in_printer()
    assert printer.reject_card() is True
    snapshot = sim.snapshot()
    assert snapshot["card"] is None and snapshot["rejected"] == 1
    assert not printer.card_in_printer() and printer.status().state == DeviceState.READY
    assert printer.reject_card() is False and sim.log.count("Ser") == 1     # nothing more to reject
    printer.print_document(job(kia_pdf))                                      # the printer is free again
    assert sim.snapshot()["cards"] == 2 and sim.snapshot()["rejected"] == 1


def test_reject_card_with_nothing_inside_sends_nothing(printer_for):
    sim = EvolisSimulator()
    assert printer_for(sim).reject_card() is False
    assert "Ser" not in sim.log and sim.snapshot()["rejected"] == 0


def jammed_on_its_way_out(sim):
    sim.inject("jam_mid_card")
    sim.feed(frame("Se"))
    sim.take_output()
    assert sim.snapshot()["card"] == "stuck"


@pytest.mark.parametrize("block, code", [
    (lambda sim: sim.set_cover(True), FaultCode.COVER_OPEN),
    (jammed_on_its_way_out, FaultCode.MEDIA_JAM),
], ids=["cover_open", "jam"])
def test_reject_card_refused_leaves_the_card_and_says_why(printer_for, block, code):
    sim = EvolisSimulator()
    leave_a_card_inside(sim)
    block(sim)
    printer = printer_for(sim)
    with pytest.raises(DeviceError) as refused:
        printer.reject_card()
    assert refused.value.code == code
    assert sim.snapshot()["card"] is not None and sim.snapshot()["rejected"] == 0
    assert not printer.status().usable


def test_a_new_host_connection_drops_what_the_old_host_left_half_sent(printer_for):
    sim = EvolisSimulator()
    leave_a_card_inside(sim)
    half = download_frame("k", 2, b"\x00" * 1016, True)[:40]     # the host died mid-download
    sim.feed(half)
    printer = printer_for(sim, "socket")                         # a new connection: a fresh stream
    assert printer.identify()["model"] == "Evolis KC200"
    assert printer.card_in_printer() and sim.snapshot()["panels"] == 1
