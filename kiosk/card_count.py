"""The kiosk's own blank-card count on the card printer's status, where the printer itself
cannot sense how many are left.

    counted = CardCount(journal, cards_low=lambda: settings.cards_low)
    board.count_supplies(counted.apply)      # every snapshot the board hands out goes through it

A printer whose feeder sensor answers (full, low, empty) is believed: its own reading wins.
Where the reading is missing or unknown (firmware without the feeder read, a model with no
sensor) and a technician has recorded a replenish, the count stands in: the `cards` supply
carries the number left, `feeder_low` (a warning) is added at or below `settings.cards_low`
and `feeder_empty` (an alarm) at 0, so gating stops offering the KIA, the heartbeat carries
it and the fleet page lists `card_printer:cards_low` / `cards_out` under what the kiosk needs.
Before the first replenish nothing is known and the status is left as the printer said.
"""

from __future__ import annotations

from typing import Callable

from devices.status import Consumable, DeviceStatus, Fault, FaultCode, SupplyLevel
from printer_drivers import registry

from .journal import Journal, card_stock_supply

KIOSK_COUNT = "kiosk count"      # the faults' detail: the technician sees where the level came from


def counted_roles() -> tuple[str, ...]:
    """The roles whose every print takes a blank card from a feeder."""
    return registry.roles_with(registry.CARD_HANDLING)


def senses_cards(status: DeviceStatus) -> bool:
    supply = status.supply(Consumable.CARDS)
    return supply is not None and supply.level != SupplyLevel.UNKNOWN


class CardCount:
    def __init__(self, journal: Journal, cards_low: Callable[[], int]) -> None:
        self._journal = journal
        self._cards_low = cards_low

    def apply(self, status: DeviceStatus) -> DeviceStatus:
        """`status` with the kiosk's count in place of an unknown card level."""
        if status.device not in counted_roles() or senses_cards(status):
            return status
        supply = card_stock_supply(self._journal.card_stock(), self._cards_low())
        if supply is None:
            return status
        supplies = tuple(s for s in status.supplies if s.consumable != Consumable.CARDS) + (supply,)
        faults = tuple(f for f in status.faults if f.code not in (FaultCode.FEEDER_EMPTY, FaultCode.FEEDER_LOW))
        if supply.level == SupplyLevel.OUT:
            faults += (Fault(FaultCode.FEEDER_EMPTY, f"{KIOSK_COUNT}: 0 left"),)
        elif supply.level == SupplyLevel.LOW:
            faults += (Fault(FaultCode.FEEDER_LOW, f"{KIOSK_COUNT}: {supply.count} left"),)
        return status.evolve(supplies=supplies, faults=faults,
                             capabilities={**status.capabilities, "cards_counted_by": "kiosk"},
                             updated_at=status.updated_at)
