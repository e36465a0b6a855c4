"""The supplies at the console (`maintenance status`, `maintenance replenish|refilled`,
`diag`): their names, Indonesian first (the screens use the catalogues), each one's record in
words, and which configured printer takes a supply (the registry's, kiosk/supplies.py)."""

from __future__ import annotations

import argparse
from typing import Any, Mapping

from printer_drivers import registry

from .config import KioskConfig

MAX_COUNT = 10_000              # cards or receipts in one refill


def count_arg(text: str) -> int:
    if not text.isdigit() or int(text) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {MAX_COUNT}, got {text!r}")
    return int(text)


def supply_role(config: KioskConfig, supply: str) -> str | None:
    """The configured printer that takes `supply` (the registry's), or None."""
    return next((role for role in config.devices if role in registry.roles()
                 and supply in registry.device(role).supplies), None)


# A supply's name at the console, Indonesian first (the screens use the catalogues).
SUPPLY_WORDS = {"cards": "kartu / cards", "receipt_paper": "kertas struk / receipt paper",
                "ribbon": "pita / ribbon", "paper_a4": "kertas A4 / A4 paper", "toner": "toner / toner",
                "reject_box": "kotak reject / reject box"}


def supply_lines(supplies: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Each supply's record, as `maintenance status` and `diag` print it."""
    lines = []
    for name, stock in supplies.items():
        words = SUPPLY_WORDS.get(name, name)
        by = f" by {stock['by']}" if stock.get("by") else ""
        if not stock["counted"]:
            lines.append(f"{words}: " + (f"terakhir diganti / last refilled {stock['since']}{by}" if stock["since"]
                                         else "belum ada catatan isi ulang / no refill recorded"))
        elif stock["remaining"] is None:
            lines.append(f"{words} (hitungan kiosk / kiosk count): belum diisi / never replenished")
        else:
            lines.append(f"{words} (hitungan kiosk / kiosk count): {stock['remaining']} of {stock['loaded']}"
                         f" left since {stock['since']}{by} ({stock['used']} used; {stock['level']},"
                         f" low at {stock['low_at']})")
    return lines
