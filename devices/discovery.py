"""What is plugged into this kiosk: serial ports and USB devices, and which configured
device is which. Read-only: nothing is opened or claimed, so it is safe while the kiosk
runs (string descriptors are read over the control endpoint, which needs no claim).

    found = discover({"receipt_printer": "usb://04b8:0202", "scanner": "/dev/ttyACM0"})
    print(format_discovery(found))         # `adm-kiosk devices`
    found.as_dict()                        # `adm-kiosk devices --json`
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .known_devices import KnownDevice, lookup
from .transport import parse_device_url

BY_ID_DIR = Path("/dev/serial/by-id")


@dataclass(frozen=True)
class SerialPortInfo:
    device: str                              # /dev/ttyACM0
    by_id: tuple[str, ...] = ()              # /dev/serial/by-id/usb-…-if00: stable across replugs
    description: str = ""
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    known: KnownDevice | None = None


@dataclass(frozen=True)
class UsbDeviceInfo:
    vid: int
    pid: int
    bus: int | None
    address: int | None
    manufacturer: str | None
    product: str | None
    serial_number: str | None
    interface_classes: tuple[int, ...]
    known: KnownDevice | None = None

    @property
    def url(self) -> str:
        base = f"usb://{self.vid:04x}:{self.pid:04x}"
        return f"{base}?serial={self.serial_number}" if self.serial_number else base


@dataclass(frozen=True)
class ConfiguredMatch:
    role: str
    url: str
    found: bool | None                       # None: not a local device (socket, ipp, sim)
    where: str                               # what it matched, or why it did not


@dataclass
class Discovery:
    serial_ports: list[SerialPortInfo] = field(default_factory=list)
    usb_devices: list[UsbDeviceInfo] = field(default_factory=list)
    configured: list[ConfiguredMatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def known(k: KnownDevice | None) -> dict[str, Any] | None:
            return None if k is None else {"vendor": k.vendor, "model": k.model, "role": k.role}
        return {
            "serial_ports": [{**asdict(p), "by_id": list(p.by_id), "known": known(p.known)}
                             for p in self.serial_ports],
            "usb_devices": [{**asdict(d), "interface_classes": list(d.interface_classes),
                             "known": known(d.known), "url": d.url} for d in self.usb_devices],
            "configured": [asdict(c) for c in self.configured],
            "notes": list(self.notes),
        }


def list_serial_ports(by_id_dir: Path = BY_ID_DIR) -> list[SerialPortInfo]:
    """Serial ports pyserial sees, with their /dev/serial/by-id names; a by-id name whose
    target pyserial does not list is shown too."""
    from serial.tools import list_ports

    aliases: dict[str, list[str]] = {}
    if by_id_dir.is_dir():
        for link in sorted(by_id_dir.iterdir()):
            aliases.setdefault(os.path.realpath(link), []).append(str(link))
    ports = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        ports.append(SerialPortInfo(port.device, tuple(aliases.pop(os.path.realpath(port.device), ())),
                                    port.description if port.description != "n/a" else "",
                                    port.vid, port.pid, port.serial_number, lookup(port.vid, port.pid)))
    for target, links in sorted(aliases.items()):
        ports.append(SerialPortInfo(target, tuple(links)))
    return ports


def list_usb_devices(backend: Any = None) -> list[UsbDeviceInfo]:
    """Every USB device pyusb can enumerate, with its strings where the device gives them.
    Raises usb.core.NoBackendError when no libusb is installed."""
    import usb.core

    from .usb import read_string

    devices = []
    for device in usb.core.find(find_all=True, backend=backend):
        classes: set[int] = set()
        try:
            for configuration in device:
                classes.update(interface.bInterfaceClass for interface in configuration)
        except usb.core.USBError:
            pass
        devices.append(UsbDeviceInfo(
            device.idVendor, device.idProduct, device.bus, device.address,
            read_string(device, "manufacturer"), read_string(device, "product"),
            read_string(device, "serial_number"), tuple(sorted(classes)),
            lookup(device.idVendor, device.idProduct, classes)))
    return sorted(devices, key=lambda d: (d.bus or 0, d.address or 0))


def match_configured(configured: Mapping[str, str], serial_ports: list[SerialPortInfo],
                     usb_devices: list[UsbDeviceInfo]) -> list[ConfiguredMatch]:
    """For each configured role, the serial port or USB device its URL points at."""
    matches = []
    for role, url in configured.items():
        try:
            parsed = parse_device_url(url)
        except ValueError as exc:
            matches.append(ConfiguredMatch(role, url, False, f"invalid URL: {exc}"))
            continue
        if parsed.scheme == "serial":
            real = os.path.realpath(parsed.target)
            port = next((p for p in serial_ports if p.device == real or parsed.target in p.by_id
                         or p.device == parsed.target), None)
            if port is None and os.path.exists(parsed.target):
                matches.append(ConfiguredMatch(role, url, True, f"{parsed.target} exists"))
            else:
                matches.append(ConfiguredMatch(role, url, port is not None,
                                               port.device if port else f"{parsed.target} not present"))
        elif parsed.scheme == "usb":
            vid, pid = (int(part, 16) for part in parsed.target.split(":"))
            serial = parsed.params.get("serial")
            hits = [d for d in usb_devices if (d.vid, d.pid) == (vid, pid)
                    and (serial is None or d.serial_number == serial)]
            if len(hits) == 1:
                where = f"bus {hits[0].bus} address {hits[0].address}"
            elif hits:
                where = f"{len(hits)} devices match: add ?serial= to choose one"
            else:
                where = "not plugged in"
            matches.append(ConfiguredMatch(role, url, len(hits) == 1, where))
        else:
            matches.append(ConfiguredMatch(role, url, None, f"{parsed.scheme}: not a local port, not checked"))
    return matches


def discover(configured: Mapping[str, str] | None = None, backend: Any = None,
             by_id_dir: Path = BY_ID_DIR) -> Discovery:
    found = Discovery()
    found.serial_ports = list_serial_ports(by_id_dir)
    try:
        found.usb_devices = list_usb_devices(backend)
    except Exception as exc:  # noqa: BLE001 - no libusb, no permission: say so, list the rest
        found.notes.append(f"USB devices not listed: {type(exc).__name__}: {exc}")
    found.configured = match_configured(configured or {}, found.serial_ports, found.usb_devices)
    return found


def format_discovery(found: Discovery) -> str:
    """The human-readable listing of `adm-kiosk devices`."""
    lines = ["Port serial / Serial ports:"]
    for port in found.serial_ports:
        ids = f" [{port.vid:04x}:{port.pid:04x}]" if port.vid is not None and port.pid is not None else ""
        lines.append(f"  {port.device}{ids} {port.description}".rstrip())
        lines.extend(f"      {alias}" for alias in port.by_id)
        if port.known:
            lines.append(f"      -> {port.known.role}: {port.known.vendor} {port.known.model}")
    if not found.serial_ports:
        lines.append("  (tidak ada / none)")
    lines.append("Perangkat USB / USB devices:")
    for device in found.usb_devices:
        names = " ".join(n for n in (device.manufacturer, device.product) if n)
        serial = f" serial {device.serial_number}" if device.serial_number else ""
        lines.append(f"  {device.vid:04x}:{device.pid:04x} bus {device.bus} addr {device.address} "
                     f"{names}{serial}".rstrip())
        if device.known:
            lines.append(f"      -> {device.known.role}: {device.known.vendor} {device.known.model}"
                         f"  ({device.url})")
    if not found.usb_devices:
        lines.append("  (tidak ada / none)")
    if found.configured:
        lines.append("Perangkat terkonfigurasi / Configured devices:")
        for match in found.configured:
            mark = {True: "OK", False: "TIDAK ADA / MISSING", None: "-"}[match.found]
            lines.append(f"  {match.role:<16} {match.url}  [{mark}] {match.where}")
    lines.extend(f"Catatan / Note: {note}" for note in found.notes)
    return "\n".join(lines)
