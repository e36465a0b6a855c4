"""`open_link(url)`: the one place a device URL becomes the link a driver talks through.

    serial:///dev/ttyUSB0?baudrate=115200, /dev/ttyACM0    SerialTransport (pyserial)
    socket://127.0.0.1:9100                                SerialTransport (pyserial's socket://)
    usb://0f49:5c07?serial=E1234&interface=0               UsbTransport (pyusb; `backend=` for tests)
    ipp://host:631/printers/Q, ipps://…, a CUPS queue      IppEndpoint
    sim:NAME?options                                       the simulator NAME (devices/sim/catalogue.py)

A simulator plugs in here, like OctoPrint's virtual printer behind its serial factory: a
`sim:` URL gives the same kind of link as hardware (a byte `Transport` on a pty, or an
`IppEndpoint` on a loopback IPP server), so drivers never check for `sim:`. Byte links
connect at their first use (`ensure_open`) and again after a disconnect, so a device that is
unplugged at start, or replugged later, is found without a restart.

`expect` names the kind of link the caller can drive (a card printer needs bytes, the A4
printer IPP); another kind is a ValueError naming the URL, found when the driver is built.
`simulator` names the simulator that stands in for the caller's device, so that another
device's simulator (`sim:card_printer` behind a scanner) is refused here too, not by a check
of the URL in the driver.
"""

from __future__ import annotations

import os
from typing import Any, Union

from .ipp import IppEndpoint, queue_uri
from .transport import SerialTransport, Transport, parse_device_url

Link = Union[Transport, IppEndpoint]


def open_link(url: str, *, expect: type | tuple[type, ...] = (Transport, IppEndpoint),
              simulator: str | None = None, backend: Any = None) -> Any:
    """The link for `url`; `backend` is a pyusb backend for a usb:// URL (tests pass the
    simulated bus's). ValueError for a URL no link can be made from."""
    parsed = parse_device_url(url)
    if parsed.scheme == "sim" and simulator is not None and parsed.target != simulator:
        raise ValueError(f"{url}: this device's simulator is sim:{simulator}, not sim:{parsed.target}")
    if parsed.scheme == "sim":
        from .sim.catalogue import simulator_factory   # only a demo or a test opens a simulator
        link = simulator_factory(parsed.target)(url, parsed.params)
    elif parsed.scheme in ("serial", "socket"):
        link = SerialTransport(url)
    elif parsed.scheme == "usb":
        from .usb import UsbTransport                  # pyusb only where a USB device is configured
        link = UsbTransport(url, backend=backend)
    elif parsed.scheme in ("ipp", "ipps"):
        link = IppEndpoint(url, url.split("?", 1)[0])
    elif parsed.scheme == "cups":
        link = IppEndpoint(url, queue_uri(parsed.target, os.environ.get("CUPS_SERVER", "")))
    else:
        raise ValueError(f"{url}: no link for scheme {parsed.scheme!r}")
    if not isinstance(link, expect):
        link.close()
        wanted = "IPP (ipp://, ipps://, a CUPS queue)" if expect is IppEndpoint else \
            "a byte link (serial://, socket://, usb://)"
        raise ValueError(f"{url}: this device is reached through {wanted} or its sim: simulator")
    return link


def open_transport(url: str, **usb_options: Any) -> Transport:
    """An opened byte transport for `url` (tools and tests that want it connected now)."""
    transport = open_link(url, expect=Transport, **usb_options)
    transport.open()
    return transport
