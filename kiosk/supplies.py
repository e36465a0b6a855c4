"""The supplies a technician refills, and the kiosk's own count of those it can count
(issue 12): one rule for every counted supply.

    counted = SupplyCount(journal, settings=lambda: runtime.settings)
    board.count_supplies(counted.apply)      # every snapshot the board hands out goes through it

What each printer takes is the registry's (`DeviceRole.supplies`). Two of them the kiosk
counts itself, because it knows what uses one:

- blank cards on the card-handling printers (`registry.CARD_HANDLING`): a printed card
  document, a spoiled card or a technician's test card each take one; low at
  `settings.cards_low`, faults `feeder_low` / `feeder_empty`;
- receipt paper on the receipt printers (`registry.RECEIPTS`): each receipt printed, the
  citizen's or a technician's test slip, takes one; low at `settings.receipt_low`, faults
  `paper_low` / `paper_out`. A roll is counted in receipts, as the technician reads it off
  the box ("about 250 slips"): an estimate, which is why the printer's sensor wins.

A replenish (`Journal.replenish(supply, loaded, …)`) records how many were loaded and the
lifetime used total at that moment; used since is the total now minus that. The others
(the ribbon, A4 paper) the printers sense themselves: a refill of them is only recorded —
who (PIN slot), when — and shown as "last refilled", never counted.

The rule on a snapshot: a printer whose own sensor answers (a known level, or the out/low
fault itself) is believed. Where the reading is missing or unknown and a replenish was
recorded, the count stands in: the supply carries the number left, the low fault (a
warning) is added at or below the low mark and the out fault (an alarm) at 0. So gating
stops offering the KIA at 0 cards, a receipt printer out of paper by count is not usable
(the citizen gets the on-screen QR instead of a slip, as for any receipt printer not
ready), and the heartbeat and the fleet page say so. Before the first replenish nothing is
known and the status is left as the printer said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from devices.status import Consumable, DeviceStatus, Fault, FaultCode, Supply, SupplyLevel
from printer_drivers import registry

if TYPE_CHECKING:
    from .journal import Journal
    from .settings import Settings

KIOSK_COUNT = "kiosk count"      # the faults' detail: the technician sees where the level came from

# Day counters that each use one counted supply, whatever their kind.
TEST_CARDS, CARDS_SPOILED = "test_cards", "cards_spoiled"
RECEIPTS_PRINTED, TEST_RECEIPTS = "receipts_printed", "test_receipts"
PRINTED = "printed"              # a document kind's prints (the orchestrator's counter)


@dataclass(frozen=True)
class CountedSupply:
    supply: Consumable
    capability: registry.Capability       # the roles holding it: registry.roles_with(capability)
    used_by: tuple[str, ...]              # day counters (any kind) each of which used one
    printed_kinds: tuple[str, ...]        # document kinds whose every print uses one
    test_counter: str                     # the day counter of a technician's test print
    low_fault: FaultCode
    out_fault: FaultCode
    low_setting: str                      # the Settings field holding the low mark

    def roles(self) -> tuple[str, ...]:
        return registry.roles_with(self.capability)

    def low_at(self, settings: Settings) -> int:
        return int(getattr(settings, self.low_setting))


COUNTED: Mapping[Consumable, CountedSupply] = {
    Consumable.CARDS: CountedSupply(
        Consumable.CARDS, registry.CARD_HANDLING, (CARDS_SPOILED, TEST_CARDS), registry.kinds_on_card_printers(),
        TEST_CARDS, FaultCode.FEEDER_LOW, FaultCode.FEEDER_EMPTY, "cards_low"),
    Consumable.RECEIPT_PAPER: CountedSupply(
        Consumable.RECEIPT_PAPER, registry.RECEIPTS, (RECEIPTS_PRINTED, TEST_RECEIPTS), (),
        TEST_RECEIPTS, FaultCode.PAPER_LOW, FaultCode.PAPER_OUT, "receipt_low"),
}


def counted(supply: Consumable | str) -> CountedSupply | None:
    return COUNTED.get(Consumable(supply))


def refillable() -> tuple[Consumable, ...]:
    """Every supply some registered printer takes, in the registry's order."""
    return tuple(dict.fromkeys(s for role in registry.roles() for s in registry.device(role).supplies))


def sensed_only() -> tuple[Consumable, ...]:
    """The supplies whose refill is recorded but not counted (the printer senses them)."""
    return tuple(s for s in refillable() if s not in COUNTED)


def counted_on(role: str) -> tuple[CountedSupply, ...]:
    return tuple(c for c in COUNTED.values() if role in c.roles())


def stock_supply(counted_supply: CountedSupply, stock: Mapping[str, Any], low_at: int) -> Supply | None:
    """The kiosk's own count as a `Supply` (for a status board or gating), or None before
    the first replenish. Out at 0, low at or under `low_at`."""
    remaining = stock.get("remaining")
    if remaining is None:
        return None
    level = SupplyLevel.OUT if remaining <= 0 else SupplyLevel.LOW if remaining <= low_at else SupplyLevel.FULL
    return Supply(counted_supply.supply, level, remaining)


def senses(status: DeviceStatus, counted_supply: CountedSupply) -> bool:
    """Did the printer itself say how much is left (a level, or the low/out fault)?"""
    supply = status.supply(counted_supply.supply)
    return (supply is not None and supply.level != SupplyLevel.UNKNOWN) \
        or status.has_fault(counted_supply.out_fault) or status.has_fault(counted_supply.low_fault)


class SupplyCount:
    def __init__(self, journal: Journal, settings: Callable[[], Settings]) -> None:
        self._journal = journal
        self._settings = settings

    def apply(self, status: DeviceStatus) -> DeviceStatus:
        """`status` with the kiosk's count in place of each unknown counted level."""
        for counted_supply in counted_on(status.device):
            if not senses(status, counted_supply):
                status = self._stand_in(status, counted_supply)
        return status

    def _stand_in(self, status: DeviceStatus, counted_supply: CountedSupply) -> DeviceStatus:
        supply = stock_supply(counted_supply, self._journal.stock(counted_supply.supply),
                              counted_supply.low_at(self._settings()))
        if supply is None:
            return status
        supplies = tuple(s for s in status.supplies if s.consumable != supply.consumable) + (supply,)
        faults = status.faults
        if supply.level == SupplyLevel.OUT:
            faults += (Fault(counted_supply.out_fault, f"{KIOSK_COUNT}: 0 left"),)
        elif supply.level == SupplyLevel.LOW:
            faults += (Fault(counted_supply.low_fault, f"{KIOSK_COUNT}: {supply.count} left"),)
        return status.evolve(supplies=supplies, faults=faults,
                             capabilities={**status.capabilities, f"{supply.consumable.value}_counted_by": "kiosk"},
                             updated_at=status.updated_at)
