"""One place that turns a configured role, URL and options into its driver (registry.py).

Drivers are imported only when their role is opened, so a kiosk without a card printer never
loads the card imaging code, and a missing optional dependency hurts only its own device.
"""

from __future__ import annotations

from typing import Any

from .base import Printer
from .registry import device, printer_roles


def driver_class(role: str) -> type[Printer]:
    """The registered driver of a printer role; ValueError for any other role."""
    if role not in printer_roles():
        raise ValueError(f"unknown printer role {role!r}; one of {', '.join(sorted(printer_roles()))}")
    return device(role).driver_class()


def open_printer(role: str, url: str, **options: Any) -> Printer:
    """The driver for `role` on `url` (hardware, simulator or test server). `options` go to
    the driver's constructor: those of `[devices.<role>]` (already validated by the
    configuration) and, from tests and tools, a pyusb `backend`. A URL the role cannot use
    is a ValueError naming it."""
    cls = driver_class(role)
    problem = device(role).url_problem(url)
    if problem is not None:
        raise ValueError(f"{url.split('?')[0]}: {problem}")
    return cls(url, **options)


def open_device(role: str, url: str, **options: Any) -> Any:
    """Any registered device's driver (a printer or the scanner reader)."""
    entry = device(role)
    problem = entry.url_problem(url)
    if problem is not None:
        raise ValueError(f"{url.split('?')[0]}: {problem}")
    return entry.driver_class()(url, **options)
