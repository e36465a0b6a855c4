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


def test_the_cleaning_counter_starts_again_at_each_cleaning(tmp_path):
    from kiosk.diagnostics import CLEANED, CLEANING_ACTION, cleaning_figures
    from kiosk.journal import Journal

    journal = Journal(tmp_path / "journal.sqlite")
    ready = DeviceStatus("card_printer", DeviceState.READY)
    due = DeviceStatus("card_printer", DeviceState.USER_ERROR, faults=(Fault(FaultCode.NEEDS_CLEANING),))
    never = cleaning_figures("card_printer", due, {"cards_inserted": 40, "cleanings_done": 3}, journal)
    assert never == {"cards_since": None, "last_at": None, "last_by": None, "cleanings_done": 3, "due": True}
    journal.audit("technician", CLEANING_ACTION, {"role": "card_printer", "outcome": CLEANED, "cards_inserted": 40})
    journal.audit("technician", CLEANING_ACTION, {"role": "card_printer", "outcome": "failed: cover_open"})
    journal.audit("technician", CLEANING_ACTION, {"role": "a4_printer", "outcome": CLEANED, "cards_inserted": 0})
    figures = cleaning_figures("card_printer", ready, {"cards_inserted": 52}, journal)
    assert figures["cards_since"] == 12 and figures["last_by"] == "technician" and figures["last_at"].endswith("Z")
    assert figures["cleanings_done"] is None and figures["due"] is False
    # the printer's count unread, or lower than at the cleaning (another printer): unknown, not a guess
    assert cleaning_figures("card_printer", ready, None, journal)["cards_since"] is None
    assert cleaning_figures("card_printer", ready, {"cards_inserted": 5}, journal)["cards_since"] is None
    journal.audit("technician_emergency", CLEANING_ACTION,
                  {"role": "card_printer", "outcome": CLEANED, "cards_inserted": 52})
    assert cleaning_figures("card_printer", ready, {"cards_inserted": 52}, journal)["cards_since"] == 0
    journal.close()
