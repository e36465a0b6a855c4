"""The supplies the kiosk counts (blank cards, receipt paper) and those it records refills of
(ribbon, A4 paper), kiosk/supplies.py over the journal: the upgrade that moves card_stock
into supply_stock, the count standing in for an unknown level, and the refill records."""

from __future__ import annotations

import sqlite3
import time

import pytest

from devices.status import Consumable, DeviceState, DeviceStatus, Fault, FaultCode, Supply, SupplyLevel
from kiosk import journal_schema
from kiosk.commands import test_print
from kiosk.diagnostics import Diagnostics
from kiosk.journal import Journal
from kiosk.settings import Settings
from kiosk.supplies import RECEIPTS_PRINTED, SupplyCount, counted_on, refillable, sensed_only
from printer_drivers import registry

RECEIPT_ROLE = registry.roles_with(registry.RECEIPTS)[0]
CARD_ROLE = registry.roles_with(registry.CARD_HANDLING)[0]


def receipt_status(level: SupplyLevel = SupplyLevel.UNKNOWN, *faults: Fault) -> DeviceStatus:
    return DeviceStatus(RECEIPT_ROLE, DeviceState.READY, supplies=(Supply(Consumable.RECEIPT_PAPER, level),),
                        faults=faults)


def test_a_version_3_journal_keeps_its_card_stock_rows_in_supply_stock(tmp_path):
    path = tmp_path / "journal.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    assert journal_schema.upgrade(db, target=3) == [1, 2, 3]
    now = time.time()
    db.execute("INSERT INTO card_stock (at, loaded, used_before) VALUES (?, 100, 0)", (now - 86400,))
    db.execute("INSERT INTO card_stock (at, loaded, used_before) VALUES (?, 50, 7)", (now - 3600,))
    db.execute("INSERT INTO counters VALUES ('2026-11-30', 'KIA', 'printed', 9)")     # 7 before, 2 since
    db.close()

    journal = Journal(path)
    assert journal._db.execute("PRAGMA user_version").fetchone()[0] == journal_schema.VERSION == 4
    assert not journal._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'card_stock'").fetchone()
    rows = journal._db.execute("SELECT supply, loaded, used_before, actor FROM supply_stock ORDER BY id").fetchall()
    assert rows == [("cards", 100, 0, None), ("cards", 50, 7, None)]
    stock = journal.stock("cards")
    assert (stock["loaded"], stock["used"], stock["remaining"], stock["by"]) == (50, 2, 48, None)
    assert stock["since"] is not None
    assert journal.stock("receipt_paper")["loaded"] is None       # nothing recorded for it yet


def test_receipts_printed_and_test_slips_use_the_roll_and_cards_do_not(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.count("KK", RECEIPTS_PRINTED)                   # before the replenish: not subtracted
    stock = journal.replenish("receipt_paper", 3, "technician", {"slot": "technician"})
    assert (stock["loaded"], stock["used"], stock["remaining"], stock["by"]) == (3, 0, 3, "technician")
    journal.count("KIA", RECEIPTS_PRINTED)
    journal.count("KIA", "printed")                         # a card, not a slip
    detail, count = test_print.test_print_record(RECEIPT_ROLE, "printed", None, None)
    journal.audit("technician", "test_print", detail, count=count)
    assert journal.stock("receipt_paper")["remaining"] == 1
    assert journal.stock("cards")["used"] == 1
    [test, replenish] = journal.audit_trail()
    assert (replenish["action"], replenish["detail"]) == \
        ("replenish_receipt_paper", {"supply": "receipt_paper", "loaded": 3, "slot": "technician"})
    assert test_print.test_print_record(RECEIPT_ROLE, "failed: paper_out", None, None)[1] is None


def test_the_receipt_count_drives_paper_low_and_paper_out_where_the_roll_is_not_sensed(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    settings = Settings(receipt_low=2)
    count = SupplyCount(journal, lambda: settings)
    assert count.apply(receipt_status()) == receipt_status()          # nothing recorded: as the printer said
    journal.replenish("receipt_paper", 3, "technician")
    full = count.apply(receipt_status())
    assert full.supply(Consumable.RECEIPT_PAPER) == Supply(Consumable.RECEIPT_PAPER, SupplyLevel.FULL, 3)
    assert full.usable and full.capabilities["receipt_paper_counted_by"] == "kiosk"
    journal.count("KK", RECEIPTS_PRINTED)
    low = count.apply(receipt_status())
    assert [f.code for f in low.faults] == [FaultCode.PAPER_LOW] and low.usable
    assert low.faults[0].detail == "kiosk count: 2 left"
    journal.count("KK", RECEIPTS_PRINTED, 2)
    out = count.apply(receipt_status())
    assert [f.code for f in out.faults] == [FaultCode.PAPER_OUT] and not out.usable
    assert out.unusable_reason().code == FaultCode.PAPER_OUT
    # The printer's own sensor wins where it answers: a level, or its own paper fault.
    assert count.apply(receipt_status(SupplyLevel.FULL)) == receipt_status(SupplyLevel.FULL)
    near_end = receipt_status(SupplyLevel.UNKNOWN, Fault(FaultCode.PAPER_LOW, "paper roll near end"))
    assert count.apply(near_end) == near_end
    # Other printers are not touched by the receipt count.
    uncounted = DeviceStatus(next(r for r in registry.printer_roles() if not counted_on(r)), DeviceState.READY)
    assert count.apply(uncounted) == uncounted


def test_the_card_count_is_the_same_rule(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    count = SupplyCount(journal, lambda: Settings(cards_low=5))
    journal.replenish("cards", 1, "technician")
    journal.count("KIA", "printed")
    status = count.apply(DeviceStatus(CARD_ROLE, DeviceState.READY))
    assert [f.code for f in status.faults] == [FaultCode.FEEDER_EMPTY] and not status.usable
    assert status.supply(Consumable.CARDS).count == 0


def test_a_sensed_supply_is_recorded_not_counted_and_bad_refills_are_refused(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    assert journal.stock("ribbon") == {"since": None, "by": None}
    stock = journal.replenish(Consumable.RIBBON, None, "technician_emergency", {"slot": "technician_emergency"})
    assert stock["by"] == "technician_emergency" and stock["since"].endswith("Z")
    journal.replenish("paper_a4", None, "technician")
    assert [(r["actor"], r["action"], r["detail"]) for r in journal.audit_trail()] == [
        ("technician", "refilled_paper_a4", {"supply": "paper_a4"}),
        ("technician_emergency", "refilled_ribbon", {"supply": "ribbon", "slot": "technician_emergency"})]
    for supply, loaded in (("ribbon", 5), ("cards", None), ("cards", -1), ("cards", True), ("receipt_paper", 2.5)):
        with pytest.raises(ValueError):
            journal.replenish(supply, loaded, "technician")
    with pytest.raises(ValueError, match="unknown supply 'ink'"):
        journal.replenish("ink", None, "technician")
    assert len(journal.audit_trail()) == 2                 # nothing of the refused ones was written


def test_the_supplies_come_from_the_registry_and_diagnostics_shows_each_with_its_record(tmp_path):
    assert set(refillable()) == {s for role in registry.roles() for s in registry.device(role).supplies}
    assert Consumable.RIBBON in sensed_only() and Consumable.CARDS not in sensed_only()
    journal = Journal(tmp_path / "j.sqlite")
    journal.replenish("ribbon", None, "technician")
    journal.replenish("receipt_paper", 40, "technician")
    diagnostics = Diagnostics(None, journal, settings=Settings)
    found = diagnostics.supplies([CARD_ROLE, RECEIPT_ROLE])
    assert list(found) == ["cards", "ribbon", "receipt_paper"]            # no A4 printer configured
    assert found["ribbon"]["by"] == "technician" and not found["ribbon"]["counted"]
    assert found["receipt_paper"] == {"role": RECEIPT_ROLE, "counted": True, **diagnostics.receipt_stock()}
    assert diagnostics.receipt_stock()["remaining"] == 40 and diagnostics.receipt_stock()["low_at"] == 10
