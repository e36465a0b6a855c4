"""The diagnostics module's own tables and figures (no device, no network)."""

from __future__ import annotations

from devices.status import Consumable, DeviceState, DeviceStatus, Fault, FaultCode, Supply, SupplyLevel
from kiosk.diagnostics import WHAT_TO_DO, device_figures


def test_every_fault_code_says_what_to_do_in_both_languages():
    assert set(WHAT_TO_DO) == set(FaultCode)
    assert all(text_id and text_en and text_id != text_en for text_id, text_en in WHAT_TO_DO.values())


def test_device_figures_name_the_first_reason_and_the_identity():
    status = DeviceStatus("card_printer", DeviceState.USER_ERROR,
                          supplies=(Supply(Consumable.RIBBON, SupplyLevel.OUT, 0),),
                          faults=(Fault(FaultCode.RIBBON_OUT),),
                          capabilities={"model": "Evolis KC200", "firmware": "1.7.2", "serial_number": "S1"})
    figures = device_figures(status, required=True, counters={"cards_inserted": 7})
    assert figures["ready"] is False and figures["not_ready_because"] == "ribbon_out"
    assert (figures["model"], figures["firmware"], figures["serial"]) == ("Evolis KC200", "1.7.2", "S1")
    assert figures["faults"][0]["what_to_do"]["en"] == "Replace the card printer ribbon."
    assert figures["counters"] == {"cards_inserted": 7} and figures["supplies"]["ribbon"] == {"level": "out", "count": 0}
