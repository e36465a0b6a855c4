"""USB vendor and product ids of the devices a kiosk is built from, with their role.

Discovery marks a device that matches; it never drives a device because of this table (the
configuration says which device is which). A vendor-wide entry (product None) matches any
product of that vendor; `needs_interface_class` keeps a vendor that also makes other things
(Epson makes scanners and inkjets too) from marking those as receipt printers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

CARD_PRINTER = "card_printer"
RECEIPT_PRINTER = "receipt_printer"
SCANNER = "scanner"
SERIAL_ADAPTER = "serial_adapter"     # not a role: a USB-serial cable a serial device sits behind

USB_CLASS_PRINTER = 7


@dataclass(frozen=True)
class KnownDevice:
    vid: int
    pid: int | None          # None: any product of the vendor
    vendor: str
    model: str
    role: str
    needs_interface_class: int | None = None


KNOWN_DEVICES: tuple[KnownDevice, ...] = (
    # Card printers (ID-1 PVC, dye sublimation)
    KnownDevice(0x0F49, None, "Evolis", "card printer (Primacy, Zenius, Avansia …)", CARD_PRINTER),
    KnownDevice(0x09B0, None, "HID Global / Fargo", "card printer (DTC series)", CARD_PRINTER),
    KnownDevice(0x0A5F, None, "Zebra Technologies", "card printer (ZC/ZXP) or label printer", CARD_PRINTER,
                USB_CLASS_PRINTER),
    # ESC/POS receipt printers
    KnownDevice(0x04B8, 0x0202, "Epson", "TM series receipt printer", RECEIPT_PRINTER),
    KnownDevice(0x04B8, None, "Epson", "printer (TM series receipt printers)", RECEIPT_PRINTER,
                USB_CLASS_PRINTER),
    KnownDevice(0x0DD4, None, "Custom", "kiosk receipt printer (VKP80, TG2480 …)", RECEIPT_PRINTER),
    KnownDevice(0x1D90, None, "Citizen", "receipt printer (CT-S series)", RECEIPT_PRINTER),
    KnownDevice(0x0519, None, "Star Micronics", "receipt printer (TSP series)", RECEIPT_PRINTER),
    KnownDevice(0x1504, None, "Bixolon", "receipt printer (SRP series)", RECEIPT_PRINTER),
    KnownDevice(0x154F, None, "SNBC", "receipt printer (BTP series)", RECEIPT_PRINTER),
    KnownDevice(0x0FE6, 0x811E, "ICS Advent (generic)", "80 mm POS receipt printer", RECEIPT_PRINTER),
    KnownDevice(0x0416, 0x5011, "Winbond (generic)", "POS-80 receipt printer", RECEIPT_PRINTER),
    # 2D barcode / QR scanners
    KnownDevice(0x0C2E, None, "Honeywell (Metrologic)", "2D scanner", SCANNER),
    KnownDevice(0x0536, None, "Honeywell (Hand Held Products)", "2D scanner", SCANNER),
    KnownDevice(0x05E0, None, "Zebra (Symbol)", "2D scanner", SCANNER),
    KnownDevice(0x1EAB, None, "Newland", "2D scanner", SCANNER),
    KnownDevice(0x05F9, None, "Datalogic", "2D scanner", SCANNER),
    # USB-serial adapters a serial printer or scanner may sit behind
    KnownDevice(0x0403, None, "FTDI", "USB-serial adapter", SERIAL_ADAPTER),
    KnownDevice(0x067B, None, "Prolific", "USB-serial adapter", SERIAL_ADAPTER),
    KnownDevice(0x1A86, None, "QinHeng (CH340)", "USB-serial adapter", SERIAL_ADAPTER),
    KnownDevice(0x10C4, None, "Silicon Labs (CP210x)", "USB-serial adapter", SERIAL_ADAPTER),
)


def lookup(vid: int | None, pid: int | None, interface_classes: Iterable[int] | None = None) -> KnownDevice | None:
    """The table's entry for a device: an exact product match first, then the vendor's.
    `interface_classes` None means unknown (a serial port's USB parent): not checked."""
    if vid is None:
        return None
    classes = None if interface_classes is None else set(interface_classes)
    candidates = sorted((k for k in KNOWN_DEVICES if k.vid == vid and k.pid in (pid, None)),
                        key=lambda k: k.pid is None)
    for known in candidates:
        if known.needs_interface_class is None or classes is None or known.needs_interface_class in classes:
            return known
    return None
