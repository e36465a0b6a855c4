"""The status model's own rules: which snapshot may take a job (`usable`) and the fault that
says why not (`unusable_reason`). The state check is a safeguard on its own: a driver that
reports `user_error` without naming a fault must still keep the device off offer."""

from __future__ import annotations

import pytest

from devices.status import (
    Consumable, DeviceState, DeviceStatus, Fault, FaultCode, Supply, SupplyLevel, absent,
)


@pytest.mark.parametrize("state, usable", [
    (DeviceState.READY, True),
    (DeviceState.BUSY, True),                    # finishing another job: it can queue this one
    (DeviceState.USER_ERROR, False),
    (DeviceState.HARDWARE_ERROR, False),
    (DeviceState.OFFLINE, False),
    (DeviceState.NO_DEVICE, False),
    (DeviceState.UNKNOWN, False),
])
def test_only_ready_or_busy_is_usable_even_with_no_fault_named(state, usable):
    status = DeviceStatus("card_printer", state)
    assert status.faults == () and status.usable is usable
    assert (status.unusable_reason() is None) is usable


def test_a_user_error_with_no_fault_is_reported_as_a_hardware_fault_naming_the_state():
    reason = DeviceStatus("card_printer", DeviceState.USER_ERROR).unusable_reason()
    assert reason == Fault(FaultCode.HARDWARE, "state user_error")


def test_an_alarm_makes_a_ready_device_unusable_a_warning_does_not():
    warned = DeviceStatus("card_printer", DeviceState.READY, faults=(Fault(FaultCode.RIBBON_LOW),))
    assert warned.usable and warned.unusable_reason() is None and warned.alarms == ()
    jam = Fault(FaultCode.MEDIA_JAM, "card stuck")
    alarmed = DeviceStatus("card_printer", DeviceState.BUSY, faults=(Fault(FaultCode.RIBBON_LOW), jam))
    assert not alarmed.usable and alarmed.alarms == (jam,) and alarmed.unusable_reason() == jam


@pytest.mark.parametrize("consumable, fault", [
    (Consumable.CARDS, FaultCode.FEEDER_EMPTY),
    (Consumable.RIBBON, FaultCode.RIBBON_OUT),
    (Consumable.PAPER_A4, FaultCode.PAPER_OUT),
    (Consumable.RECEIPT_PAPER, FaultCode.PAPER_OUT),
    (Consumable.TONER, FaultCode.TONER_OUT),
])
def test_a_supply_out_makes_a_ready_device_unusable_and_names_the_supply(consumable, fault):
    status = DeviceStatus("printer", DeviceState.READY, supplies=(Supply(consumable, SupplyLevel.OUT),))
    assert not status.usable and status.unusable_reason() == Fault(fault)


@pytest.mark.parametrize("level", [SupplyLevel.FULL, SupplyLevel.LOW, SupplyLevel.UNKNOWN])
def test_a_supply_that_is_not_out_keeps_the_device_usable(level):
    assert DeviceStatus("printer", DeviceState.READY, supplies=(Supply(Consumable.CARDS, level),)).usable


def test_a_reject_box_reported_out_does_not_stop_the_printer():
    # The reject box is not a supply the job uses up; a full one is the REJECT_BOX_FULL alarm.
    status = DeviceStatus("card_printer", DeviceState.READY,
                          supplies=(Supply(Consumable.REJECT_BOX, SupplyLevel.OUT),))
    assert status.supplies_out == () and status.usable


def test_cards_out_is_named_before_ribbon_out():
    status = DeviceStatus("card_printer", DeviceState.READY, supplies=(
        Supply(Consumable.RIBBON, SupplyLevel.OUT), Supply(Consumable.CARDS, SupplyLevel.OUT)))
    assert status.unusable_reason() == Fault(FaultCode.FEEDER_EMPTY)


@pytest.mark.parametrize("state, fault", [
    (DeviceState.NO_DEVICE, FaultCode.DISCONNECTED),
    (DeviceState.OFFLINE, FaultCode.OFFLINE),
])
def test_a_missing_or_offline_device_without_faults_says_so(state, fault):
    assert DeviceStatus("a4_printer", state).unusable_reason() == Fault(fault)


def test_an_absent_device_is_disconnected_with_its_detail():
    status = absent("scanner", "no /dev/ttyACM0")
    assert not status.usable and status.unusable_reason() == Fault(FaultCode.DISCONNECTED, "no /dev/ttyACM0")
