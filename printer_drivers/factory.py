"""One place that turns a configured role and URL into a printer driver.

Drivers are imported only when their role is opened, so a kiosk without a card printer never
loads the card imaging code, and a missing optional dependency hurts only its own device.
"""

from __future__ import annotations

import importlib

from .base import Printer

DRIVERS = {
    "card_printer": "printer_drivers.evolis.printer:EvolisPrinter",
    "a4_printer": "printer_drivers.a4:A4Printer",
    "receipt_printer": "printer_drivers.receipt:ReceiptPrinter",
}


def driver_class(role: str) -> type[Printer]:
    try:
        target = DRIVERS[role]
    except KeyError:
        raise ValueError(f"unknown printer role {role!r}; one of {', '.join(sorted(DRIVERS))}") from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def open_printer(role: str, url: str, **options: object) -> Printer:
    """The driver for `role` on `url` (hardware, simulator or test server); `options` go to
    the driver's constructor (timeouts, a pyusb backend …)."""
    return driver_class(role)(url, **options)
