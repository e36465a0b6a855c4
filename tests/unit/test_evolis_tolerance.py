"""Answers real firmware gives that the driver does not know: unknown, never out of service."""

import logging

import pytest

from devices.status import Consumable, DeviceState, FaultCode, SupplyLevel
from devices.unreadable import UnreadableAnswers
from printer_drivers.evolis.protocol import Answer, fault_for_answer
from printer_drivers.evolis.sensors import parse_thresholds, volts
from printer_drivers.evolis.status import build_status

KEYS = {"cover": "Rse;o", "feeder": "Rse;m", "card": "Rlr;p", "cleaning": "Rlr;r", "ribbon_left": "Rco;l"}
WORDS = {"cover": "CLOSED", "feeder": "CARDS", "card": "OK", "cleaning": "OK", "ribbon_left": "150"}
KC200 = {"Evolis KC200": {"cover": {"open_above": 2.5}, "feeder": {"empty_above": 2.5}}}


def answers(**texts):
    return {k: Answer(KEYS[k], v, fault_for_answer(v)) for k, v in {**WORDS, **texts}.items()}


def status_of(thresholds=None, unreadable=None, **texts):
    table = parse_thresholds(thresholds).get("EVOLIS KC200")
    return build_status(answers(**texts), {"model": "Evolis KC200"}, card_expected=False,
                        thresholds=table, unreadable=unreadable)


@pytest.mark.parametrize("texts, unknown", [
    ({"cover": "0.21", "feeder": "0.35"}, {"cover", "feeder"}),     # the guide's voltages, no table
    ({"cover": "HALF OPEN"}, {"cover"}),
    ({"feeder": "ERR COMMAND"}, {"feeder"}),                       # firmware without that read
    ({"feeder": "\x152"}, {"feeder"}),                             # NACK 2 to a read
    ({"cover": "OK", "feeder": "OK", "cleaning": "OK", "ribbon_left": "OK"}, {"cover", "feeder", "ribbon_left"}),
    ({"card": "PRESENT?"}, {"card"}),
    ({"cleaning": "12"}, {"cleaning"}),
    ({"ribbon_left": "lots"}, {"ribbon_left"}),
])
def test_an_unreadable_answer_is_unknown_and_the_printer_stays_usable(texts, unknown):
    status = status_of(**texts)
    assert status.state == DeviceState.READY and status.usable and not status.faults
    assert {k for k, v in status.capabilities["sensors"].items() if v == "unknown"} == unknown
    if "feeder" in unknown:
        assert status.supply(Consumable.CARDS).level == SupplyLevel.UNKNOWN
    if "ribbon_left" in unknown:
        assert status.supply(Consumable.RIBBON).level == SupplyLevel.UNKNOWN


@pytest.mark.parametrize("texts, code", [
    ({"cover": "4.86"}, FaultCode.COVER_OPEN),
    ({"feeder": "4.62"}, FaultCode.FEEDER_EMPTY),
    ({"cleaning": "ERR NEED CLEANING", "cover": "0.21"}, FaultCode.NEEDS_CLEANING),
    ({"card": "ERR CARD", "feeder": "OK"}, FaultCode.MEDIA_JAM),
])
def test_voltages_read_through_the_models_table_and_named_errors_stay_faults(texts, code):
    status = status_of(KC200, **texts)
    assert [f.code for f in status.faults] == [code] and status.state == DeviceState.USER_ERROR


def test_a_voltage_on_the_good_side_of_the_table_is_read():
    status = status_of(KC200, cover="0.21", feeder="0.35")
    assert status.capabilities["sensors"] == {"cover": "closed", "feeder": "cards", "card": "none"}
    assert status.supply(Consumable.CARDS).level == SupplyLevel.FULL and status.usable


def test_a_table_for_another_model_leaves_the_voltage_unknown():
    table = parse_thresholds({"Evolis Primacy": {"cover": {"open_below": 1.0}}})
    status = build_status(answers(cover="0.21"), {"model": "Evolis KC200"},
                          thresholds=table.get("EVOLIS KC200"))
    assert status.capabilities["sensors"]["cover"] == "unknown" and status.usable


def test_each_odd_answer_is_logged_once_per_device_with_the_raw_text(caplog):
    first, second = UnreadableAnswers(logging.getLogger("t"), "card_printer"), \
        UnreadableAnswers(logging.getLogger("t"), "card_printer")
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            status_of(unreadable=first, cover="0.21", feeder="MAYBE")
        status_of(unreadable=second, cover="0.21")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert sum("Rse;o" in line and "'0.21'" in line for line in lines) == 2     # once per device
    assert any("Rse;m" in line and "'MAYBE'" in line for line in lines)
    assert first.noted == {"Rse;o": "0.21", "Rse;m": "MAYBE"}
    status_of(unreadable=first, cover="CLOSED")                  # readable again: the note re-arms
    assert "Rse;o" not in first.noted


@pytest.mark.parametrize("option, says", [
    ("KC200", "a table of models"),
    ({"": {"cover": {"open_above": 2}}}, "a model name"),
    ({"X": {}}, "a table of sensors"),
    ({"X": {"lid": {"open_above": 2}}}, "X'.lid: unknown sensor"),
    ({"X": {"cover": {"empty_above": 2}}}, "exactly one of open_above or open_below"),
    ({"X": {"cover": {"open_above": 2, "open_below": 1}}}, "exactly one of"),
    ({"X": {"feeder": {"empty_below": "2"}}}, "feeder.empty_below: volts between 0 and 50"),
    ({"X": {"feeder": {"empty_below": float("nan")}}}, "volts between"),
    ({"X": {"feeder": {"empty_below": True}}}, "volts between"),
    ({"X": {"feeder": {"empty_below": 99}}}, "volts between"),
])
def test_a_bad_threshold_table_names_its_key(option, says):
    with pytest.raises(ValueError, match=says.replace(".", r"\.").replace("'", "'")):
        parse_thresholds(option)


def test_voltage_answers():
    assert [volts(t) for t in ("0.21", "4.9 V", ".5", "3", "OK", "1.2.3", "-0.1")] == \
        [0.21, 4.9, 0.5, 3.0, None, None, -0.1]
