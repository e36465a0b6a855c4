"""The card printer driver against firmware that answers differently: the simulator's answer
modes (words, guide voltages, minimal OK), the ribbon exception, and the commands around a
print compared with the vendor driver's captured streams."""

import logging

import pytest

from devices.sim.evolis import VOLTS, EvolisSimulator
from devices.sim.evolis_decode import CommandReader
from devices.status import Consumable, DeviceError, DeviceState, FaultCode, SupplyLevel
from printer_drivers.evolis.printer import EvolisPrinter
from tests.fixtures.evolis import FAST, card_job, kia_pdf, printer_for  # noqa: F401

KC200 = {"Evolis KC200": {"cover": {"open_above": 2.5}, "feeder": {"empty_above": 2.5}}}


@pytest.mark.parametrize("mode, sensors", [
    ("words", {"cover": "closed", "feeder": "cards", "card": "none"}),
    ("guide", {"cover": "unknown", "feeder": "unknown", "card": "none"}),
    ("minimal", {"cover": "unknown", "feeder": "unknown", "card": "none", "ribbon_left": "unknown"}),
])
def test_every_answer_mode_leaves_the_printer_in_service_and_prints(printer_for, kia_pdf, mode, sensors):
    sim = EvolisSimulator(answers=mode)
    printer = printer_for(sim, timeout=3.0)
    status = printer.status()
    assert status.usable and status.state == DeviceState.READY and not status.faults, status
    assert status.capabilities["sensors"] == sensors
    result = printer.print_document(card_job(kia_pdf))
    # firmware that answers OK to Rco;n gives no cleaning count: it is left out, not guessed
    cleanings = {} if mode == "minimal" else {"cleanings_done": 0}
    assert result.counters_after == {"cards_inserted": 1, "panels_printed": 7, **cleanings}
    assert len(sim.decoded) == 1 and sim.snapshot()["card"] is None


def test_guide_voltages_are_read_through_the_configured_table(printer_for):
    sim = EvolisSimulator(answers="guide", cards=5)
    printer = printer_for(sim, sensor_thresholds=KC200)
    assert printer.status().capabilities["sensors"]["cover"] == "closed"
    sim.set_cover(True)
    status = printer.status()
    assert status.has_fault(FaultCode.COVER_OPEN) and f"Rse;o {VOLTS['o'][1]}" in status.faults[0].detail
    sim.set_cover(False)
    sim.inject("feeder_empty")
    status = printer.status()
    assert status.has_fault(FaultCode.FEEDER_EMPTY) and status.supply(Consumable.CARDS).level == SupplyLevel.OUT


def test_err_during_a_print_stays_authoritative_when_the_sensor_is_unknown(printer_for, kia_pdf):
    sim = EvolisSimulator(answers="guide")
    printer = printer_for(sim, timeout=3.0)
    sim.set_cover(True)
    assert printer.status().usable                     # a voltage with no table: unknown
    with pytest.raises(DeviceError) as failed:
        printer.print_document(card_job(kia_pdf))
    assert failed.value.code == FaultCode.COVER_OPEN and sim.snapshot()["cards"] == 0


def test_odd_answers_are_logged_once_per_device_not_every_poll(printer_for, caplog):
    printer = printer_for(EvolisSimulator(answers="minimal"))
    with caplog.at_level(logging.WARNING, logger="printer_drivers.evolis.printer"):
        for _ in range(4):
            printer.status()
    odd = [r.getMessage() for r in caplog.records if "cannot read" in r.getMessage()]
    assert sorted(line.split(": ")[1].split(" answered")[0] for line in odd) == ["Rco;l", "Rse;m", "Rse;o"]
    assert all("'OK'" in line for line in odd)
    assert printer.status().capabilities["unreadable"] == {"Rse;o": "OK", "Rse;m": "OK", "Rco;l": "OK"}


def test_an_unknown_ribbon_is_a_fault_quoting_the_answer(printer_for, kia_pdf):
    sim = EvolisSimulator(ribbon="zx9")
    printer = printer_for(sim, timeout=3.0)
    status = printer.status()
    assert status.state == DeviceState.USER_ERROR and not status.usable
    assert status.faults[0].code == FaultCode.RIBBON_ERROR and "Rr answered 'ZX9'" in status.faults[0].detail
    with pytest.raises(DeviceError) as failed:
        printer.print_document(card_job(kia_pdf))
    assert failed.value.code == FaultCode.RIBBON_ERROR and "Ss" not in sim.log


def test_a_printer_left_in_manual_insertion_still_feeds_from_the_feeder(printer_for, kia_pdf):
    sim = EvolisSimulator(insertion="M")     # a technician's tool left it waiting for a hand-fed card
    printer_for(sim, timeout=3.0).print_document(card_job(kia_pdf))
    assert sim.insertion == "F" and sim.snapshot()["cards"] == 1


# The vendor driver's commands we do not send, and why (docs/CARD-PRINTER.md).
VENDOR_ONLY = {
    "Pdt": "the vendor driver names its printer family (DU: Dualys); not in the guide",
    "Mr": "magnetic-stripe setting of the vendor driver; a KIA has no stripe",
    "Ppws": "a per-job number of the vendor driver (a Unix time); not in the guide",
}
SE_PARAMETER = ("Se", ("1",))     # the vendor ends with Se;1; the guide's Se has no parameter


def commands_to_the_card(commands):
    """name and parameters, data aside (a download's byte count goes with its data)."""
    kept = []
    for command in commands:
        if command.name.startswith("R") or command.name in VENDOR_ONLY:
            continue
        params = command.params[:2] if command.name == "Dbc" else command.params
        kept.append((command.name, ("",) if (command.name, params) == SE_PARAMETER else params))
    return [(name, () if params == ("",) else params) for name, params in kept]


@pytest.mark.parametrize("stream", ["card-black", "card-white", "evolis-card-text"])
def test_the_commands_around_a_print_match_the_vendor_drivers_capture(printer_for, evolis_testdata, stream):
    captured = CommandReader().push((evolis_testdata / f"{stream}.evolis").read_bytes())
    assert {c.name for c in captured} >= set(VENDOR_ONLY)       # the table above explains real commands
    pdf = (evolis_testdata / f"{stream.removeprefix('evolis-')}.pdf").read_bytes()
    sim = EvolisSimulator(ribbon="k")
    printer_for(sim, timeout=3.0).print_document(card_job(pdf))
    ours, theirs = commands_to_the_card(sim.received), commands_to_the_card(captured)
    assert ours == theirs
    assert theirs[:3] == [("Pr", ("k",)), ("Pmi", ("F", "s")), ("Pc", ("k", "=", "10"))]


def test_colour_ribbon_settings_and_the_contrast_option(printer_for, kia_pdf):
    sim = EvolisSimulator()
    printer_for(sim, contrast={"k": 12, "y": 9}).print_document(card_job(kia_pdf))
    sent = [(c.name, c.params) for c in sim.received if not c.name.startswith(("R", "D"))]
    assert sent == [("Pr", ("ymcko",)), ("Pmi", ("F", "s")), ("Pc", ("k", "=", "12")), ("Pc", ("y", "=", "9")),
                    ("Ss", ()), ("Sr", ()), ("Sv", ()), ("Se", ())]


@pytest.mark.parametrize("options, says", [
    ({"contrast": {"o": 10}}, "contrast.o: not a panel"),
    ({"contrast": {"k": 25}}, "contrast.k: a whole number from 0 to 20"),
    ({"contrast": {"k": "10"}}, "contrast.k: a whole number"),
    ({"contrast": [("k", 10)]}, "contrast is a table"),
    ({"sensor_thresholds": {"KC200": {"cover": {"closed_above": 1}}}}, "open_above or open_below"),
])
def test_bad_options_are_refused_at_configuration(options, says):
    with pytest.raises(ValueError, match=says):
        EvolisPrinter("sim:card_printer", **FAST, **options)


def test_bad_answer_mode_is_refused():
    with pytest.raises(ValueError, match="answer mode 'loud'"):
        EvolisPrinter("sim:card_printer?answers=loud", **FAST)
    printer = EvolisPrinter("sim:card_printer?answers=guide", **FAST)
    try:
        assert printer.simulator.answers == "guide" and printer.status().usable
    finally:
        printer.close()
