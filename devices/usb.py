"""USB bulk transport through pyusb: `usb://VID:PID[?serial=SN&interface=N]`.

    transport = UsbTransport("usb://0f49:5c07?serial=E1234", backend=None)  # None = libusb
    transport.open()                       # find, detach kernel driver, claim, find endpoints
    transport.write(b"\\x1bPsn\\r", timeout=2.0)
    reply = transport.read_until(timeout=2.0)

Open does what a USB printer or scanner needs on Linux: find the device (matching the
serial number when given), detach the kernel driver that claimed the interface (usblp),
set the configuration if none is active, claim the interface, and take the bulk OUT and bulk
IN endpoints from the interface's descriptors. Every transfer has a timeout (milliseconds on
the wire; the API takes seconds like every other transport).

Failures are the status model's: a silent device raises `DeviceTimeout`; a device that has
gone (ENODEV, "No such device", a pipe error, an I/O error) raises `DeviceDisconnected` and
the transport closes itself. The next `ensure_open()` runs `usb.core.find` afresh, so a
replugged device (new address, new handle) is picked up without restarting the app.

`backend=` takes any pyusb backend; tests pass `devices.sim.usb_backend.SimulatedUsbBus()
.backend`. The helpers `find_device`, `prepare_interface` and `bulk_endpoints` are shared
with drivers that drive pyusb through another library (python-escpos's `Usb`).
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import usb.core
import usb.util

from .status import DeviceDisconnected, DeviceError, DeviceTimeout, FaultCode
from .transport import Transport, parse_device_url

log = logging.getLogger(__name__)

# errno values that mean the device is no longer there (or its pipe is dead).
_GONE_ERRNOS = {errno.ENODEV, errno.EPIPE, errno.EIO, errno.ENOENT, errno.ESHUTDOWN}


class UsbAddress:
    """VID, PID, optional serial number and interface number, from a `usb://` URL."""

    def __init__(self, url: str) -> None:
        parsed = parse_device_url(url)
        if parsed.scheme != "usb":
            raise ValueError(f"{url}: not a usb:// URL")
        vid, _, pid = parsed.target.partition(":")
        self.vid, self.pid = int(vid, 16), int(pid, 16)
        self.serial = parsed.params.get("serial") or None
        try:
            self.interface = int(parsed.params.get("interface", "0"))
        except ValueError:
            raise ValueError(f"{url}: interface must be a number") from None

    def __str__(self) -> str:
        text = f"{self.vid:04x}:{self.pid:04x}"
        return f"{text} serial {self.serial}" if self.serial else text

    def find_args(self, backend: Any = None) -> dict[str, Any]:
        """Keyword arguments for `usb.core.find` (also python-escpos's `usb_args`)."""
        args: dict[str, Any] = {"idVendor": self.vid, "idProduct": self.pid}
        if backend is not None:
            args["backend"] = backend
        if self.serial:
            wanted = self.serial
            args["custom_match"] = lambda device: read_string(device, "serial_number") == wanted
        return args


def read_string(device: usb.core.Device, attribute: str) -> str | None:
    """A string descriptor (`serial_number`, `manufacturer`, `product`) or None when the
    device has none or refuses to say (no permission, stalled request)."""
    try:
        return getattr(device, attribute)
    except (usb.core.USBError, ValueError, NotImplementedError):
        return None


def is_gone(exc: usb.core.USBError) -> bool:
    """True when a USBError means the device is unplugged or its link is dead."""
    text = str(exc).lower()
    return (exc.errno in _GONE_ERRNOS or "no such device" in text or "pipe" in text
            or "disconnected" in text)


def usb_failure(exc: usb.core.USBError, where: str) -> DeviceError:
    """A pyusb error as the status model's: a timeout, an unplugged device, or hardware."""
    if isinstance(exc, usb.core.USBTimeoutError):
        return DeviceTimeout(f"{where} timed out")
    if is_gone(exc):
        return DeviceDisconnected(f"{where}: {exc}")
    return DeviceError(FaultCode.HARDWARE, f"{where}: {exc}")


def find_device(address: UsbAddress, backend: Any = None) -> usb.core.Device:
    try:
        device = usb.core.find(**address.find_args(backend))
    except usb.core.NoBackendError as exc:
        raise DeviceDisconnected(f"usb {address}: no USB library (libusb) available") from exc
    except usb.core.USBError as exc:
        raise DeviceDisconnected(f"usb {address}: {exc}") from exc
    if device is None:
        raise DeviceDisconnected(f"usb {address}: not found (unplugged or powered off?)")
    return device


def detach_kernel_driver(device: usb.core.Device, interface: int) -> None:
    """Take the interface from a kernel driver (usblp, cdc_acm) if one holds it. Backends
    without the call (libusb0, Windows, macOS) say NotImplementedError: nothing to do."""
    try:
        if device.is_kernel_driver_active(interface):
            device.detach_kernel_driver(interface)
    except NotImplementedError:
        pass
    except usb.core.USBError as exc:
        if is_gone(exc):
            raise
        log.warning("usb %04x:%04x: could not detach kernel driver: %s",
                    device.idVendor, device.idProduct, exc)


def prepare_interface(device: usb.core.Device, interface: int) -> usb.core.Interface:
    """Detach the kernel driver, set a configuration if none is active, claim `interface`."""
    detach_kernel_driver(device, interface)
    try:
        configuration = device.get_active_configuration()
    except usb.core.USBError:
        device.set_configuration()
        configuration = device.get_active_configuration()
    found = usb.util.find_descriptor(configuration, bInterfaceNumber=interface)
    if found is None:
        raise DeviceError(FaultCode.HARDWARE, f"device has no interface {interface}")
    usb.util.claim_interface(device, interface)
    return found


def bulk_endpoints(interface: usb.core.Interface) -> tuple[Any, Any]:
    """The interface's bulk OUT and bulk IN endpoints (IN is None for a write-only device)."""
    def bulk(direction: int):
        return usb.util.find_descriptor(
            interface, custom_match=lambda e: (
                usb.util.endpoint_direction(e.bEndpointAddress) == direction
                and usb.util.endpoint_type(e.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK))
    out_ep, in_ep = bulk(usb.util.ENDPOINT_OUT), bulk(usb.util.ENDPOINT_IN)
    if out_ep is None:
        raise DeviceError(FaultCode.HARDWARE,
                          f"interface {interface.bInterfaceNumber} has no bulk OUT endpoint")
    return out_ep, in_ep


def _timeout_ms(seconds: float) -> int:
    # pyusb (like libusb) reads 0 as "wait forever": never send it.
    return max(1, int(seconds * 1000))


class UsbTransport(Transport):
    """Bulk OUT/IN endpoints of one USB device interface, with timeouts and replug."""

    def __init__(self, url: str, backend: Any = None) -> None:
        super().__init__(url)
        self.address = UsbAddress(url)
        self._backend = backend
        self._device: usb.core.Device | None = None
        self._out: Any = None
        self._in: Any = None
        self._pending = bytearray()

    @property
    def is_open(self) -> bool:
        return self._device is not None

    @property
    def backend(self) -> Any:
        """The pyusb backend given (None: libusb), for drivers that open the device through
        another library (python-escpos)."""
        return self._backend

    @property
    def device(self) -> usb.core.Device | None:
        """The pyusb device while open (for descriptors and string reads)."""
        return self._device

    def open(self) -> None:
        self.close()
        device = find_device(self.address, self._backend)
        try:
            interface = prepare_interface(device, self.address.interface)
            self._out, self._in = bulk_endpoints(interface)
        except usb.core.USBError as exc:
            usb.util.dispose_resources(device)
            raise DeviceDisconnected(f"{self.url}: cannot claim interface: {exc}") from exc
        except DeviceError:
            usb.util.dispose_resources(device)
            raise
        self._device = device
        log.info("usb %s open (out 0x%02x, in %s)", self.address, self._out.bEndpointAddress,
                 f"0x{self._in.bEndpointAddress:02x}" if self._in is not None else "none")

    def close(self) -> None:
        device, self._device = self._device, None
        self._pending.clear()
        if device is not None:
            try:
                usb.util.release_interface(device, self.address.interface)
            except usb.core.USBError:
                pass   # already gone: nothing left to release
            usb.util.dispose_resources(device)

    def write(self, data: bytes, timeout: float) -> None:
        device = self._require_open()
        view = memoryview(bytes(data))
        while view:
            written = self._transfer(lambda: device.write(self._out, view, _timeout_ms(timeout)),
                                     f"write of {len(view)} bytes")
            view = view[written:]

    def read(self, size: int, timeout: float) -> bytes:
        device = self._require_open()
        if self._in is None:
            raise DeviceError(FaultCode.HARDWARE, f"{self.url}: device has no bulk IN endpoint")
        if not self._pending:
            # Ask for whole packets: a short buffer makes libusb report an overflow.
            packet = self._in.wMaxPacketSize or 64
            length = max(packet, -(-size // packet) * packet)
            try:
                chunk = self._transfer(lambda: device.read(self._in, length, _timeout_ms(timeout)), "read")
            except DeviceTimeout:
                return b""
            self._pending += bytes(chunk)
        reply = bytes(self._pending[:size])
        del self._pending[:size]
        return reply

    def _transfer(self, call, what: str):
        try:
            return call()
        except usb.core.USBError as exc:
            failure = usb_failure(exc, f"{self.url}: {what}")
            if not isinstance(failure, DeviceTimeout):
                self.close()
            raise failure from exc

    def _require_open(self) -> usb.core.Device:
        if self._device is None:
            raise DeviceDisconnected(f"{self.url}: not open")
        return self._device
