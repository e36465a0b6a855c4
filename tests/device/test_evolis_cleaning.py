"""The card printer's cleaning cycle (``Scp``, base.Cleaning) against the simulator over real
transports (a pty through pyserial, socket://): it runs, the printer's own counters say so,
and each refusal comes back as the fault the technician is told about."""

import time

import pytest

from devices.sim.evolis import EvolisSimulator
from devices.sim.usb_backend import SimulatedUsbDevice
from devices.status import DeviceError, FaultCode
from printer_drivers.base import CARDS_INSERTED, CLEANINGS_DONE, Cleaning
from printer_drivers.evolis.printer import EVOLIS_VENDOR_ID, EvolisPrinter
from tests.fixtures.evolis import FAST, printer_for  # noqa: F401
from tests.fixtures.usb import usb_bus  # noqa: F401


def ready_for_cleaning(**options) -> EvolisSimulator:
    """As the technician leaves it: ribbon out, the cleaning card in the feeder."""
    sim = EvolisSimulator(faults=["needs_cleaning"], **options)
    sim.remove_ribbon()
    sim.insert_cleaning_card()
    return sim


@pytest.mark.parametrize("transport", ["pty", "socket"])
def test_cleaning_runs_and_the_printer_counts_it(printer_for, transport):  # noqa: F811
    sim = EvolisSimulator(faults=["needs_cleaning"], cards=40)
    printer = printer_for(sim, transport)
    assert isinstance(printer, Cleaning)
    assert FaultCode.NEEDS_CLEANING in {f.code for f in printer.status().faults}
    sim.remove_ribbon()
    sim.insert_cleaning_card()
    before = printer.counters()
    after = printer.run_cleaning(timeout=5)
    assert before[CLEANINGS_DONE] == 0 and after[CLEANINGS_DONE] == 1
    assert after[CARDS_INSERTED] == before[CARDS_INSERTED]          # the cleaning card is no blank card
    assert "Scp" in sim.log and not sim.needs_cleaning
    assert sim.snapshot()["cards_in_feeder"] == 40 and sim.snapshot()["card"] is None
    sim.fit_ribbon()
    assert FaultCode.NEEDS_CLEANING not in {f.code for f in printer.status().faults}


def test_the_driver_waits_until_the_cleaning_card_is_out(printer_for):  # noqa: F811
    sim = ready_for_cleaning(cleaning_seconds=0.4)
    printer = printer_for(sim, "socket")
    assert printer.run_cleaning(timeout=5)[CLEANINGS_DONE] == 1
    assert sim.log.count("Rlr") >= 3          # the card-out check, polled while the card ran through


def test_over_usb_and_at_realistic_speed(usb_bus):  # noqa: F811
    sim = EvolisSimulator.from_params({"speed": "realistic", "time_scale": "0.02"})   # 30 s -> 0.6 s
    sim.remove_ribbon()
    sim.insert_cleaning_card()
    usb_bus.plug(SimulatedUsbDevice(EVOLIS_VENDOR_ID, 0x5C07, sim))
    printer = EvolisPrinter("usb://0f49:5c07", backend=usb_bus.backend, **FAST)
    try:
        started = time.monotonic()
        assert printer.run_cleaning(timeout=5)[CLEANINGS_DONE] == 1
        assert time.monotonic() - started >= 0.6
    finally:
        printer.close()


def test_a_cleaning_longer_than_its_timeout_is_a_timeout(printer_for):  # noqa: F811
    sim = ready_for_cleaning(cleaning_seconds=3.0)
    printer = printer_for(sim, "pty")
    with pytest.raises(DeviceError) as raised:
        printer.run_cleaning(timeout=0.5)
    assert raised.value.code == FaultCode.TIMEOUT


REFUSALS = {
    "ribbon still fitted": (lambda sim: sim.fit_ribbon(), FaultCode.RIBBON_ERROR),
    "cover open": (lambda sim: sim.set_cover(True), FaultCode.COVER_OPEN),
    "nothing in the feeder": (lambda sim: (setattr(sim, "cleaning_card", False), sim.load(cards=0)),
                              FaultCode.FEEDER_EMPTY),
}


@pytest.mark.parametrize("ack", [False, True], ids=["text", "ack"])
@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_are_the_faults_the_technician_is_told(printer_for, case, ack):  # noqa: F811
    arrange, code = REFUSALS[case]
    sim = ready_for_cleaning(ack_mode=ack)
    arrange(sim)
    printer = printer_for(sim, "socket")
    with pytest.raises(DeviceError) as raised:
        printer.run_cleaning(timeout=5)
    assert raised.value.code == code
    assert sim.snapshot()["cleanings"] == 0 and sim.needs_cleaning


def test_a_card_inside_is_never_run_through_a_cleaning(printer_for):  # noqa: F811
    sim = EvolisSimulator(faults=["jam_mid_card"])
    printer = printer_for(sim, "pty")
    sim.feed(b"\x1bSs\r\x1bSr\r\x1bSe\r")           # a card left stuck inside by an earlier print
    sim.take_output()
    assert sim.snapshot()["card"] == "stuck"
    sim.remove_ribbon()
    sim.insert_cleaning_card()
    with pytest.raises(DeviceError) as raised:
        printer.run_cleaning(timeout=5)
    assert raised.value.code == FaultCode.MEDIA_JAM and "Scp" not in sim.log


def test_with_no_cleaning_card_the_printer_takes_a_blank_one(printer_for):  # noqa: F811
    sim = EvolisSimulator(cards=10)
    sim.remove_ribbon()
    printer = printer_for(sim, "socket")
    printer.run_cleaning(timeout=5)
    assert sim.snapshot()["cards_in_feeder"] == 9 and sim.snapshot()["cleanings"] == 1
