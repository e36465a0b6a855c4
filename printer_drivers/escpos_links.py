"""python-escpos's printer classes, one per transport, with what a kiosk needs added: a
timeout on every write and a read of the status reply that has its own timeout.

    UsbLink       escpos.printer.Usb: endpoints from the descriptors, the kernel driver
                  detached on any backend (devices/usb.py's shared helpers)
    SerialLink    escpos.printer.Serial: a write timeout; a tty that vanished is a
                  SerialException like any other pulled cable
    NetworkLink   escpos.printer.Network: raw TCP (port 9100)

Each adds `read_reply(timeout) -> bytes` (b"" when nothing came), `discard_input(quiet_for)`
(what is waiting, or all that comes until `quiet_for` seconds of silence: the shared
`devices.transport.drain`) and `identity() -> dict` (USB string descriptors; empty elsewhere) to python-escpos's `open`,
`_raw` and `close`. Errors are left as the libraries raise them: the driver
(printer_drivers/receipt.py) turns them into the status model's.
"""

from __future__ import annotations

import socket
import termios
from contextlib import contextmanager
from typing import Any, Iterator, Union

import serial
import usb.core
from escpos.printer import Network, Serial, Usb

from devices.status import DeviceDisconnected, DeviceError, FaultCode
from devices.transport import drain
from devices.usb import UsbAddress, bulk_endpoints, detach_kernel_driver, prepare_interface, read_string


class UsbLink(Usb):
    """escpos.printer.Usb that detaches the kernel driver on any backend, takes its
    endpoints from the descriptors, and reads with a timeout. python-escpos's own `open`
    finds the device with the same match as every USB device (`UsbAddress.find_args`); its
    two set-up hooks are devices/usb.py's `prepare_interface` and `bulk_endpoints`."""

    def __init__(self, address: UsbAddress, backend: Any, write_timeout: float, profile: str) -> None:
        super().__init__(usb_args=address.find_args(backend), timeout=max(1, int(write_timeout * 1000)),
                         profile=profile)
        self._interface = address.interface
        self.in_ep_descriptor: Any = None

    def _check_driver(self) -> None:
        # python-escpos's own only detaches interface 0, and only on libusb1.
        detach_kernel_driver(self.device, self._interface)

    def _configure_usb(self) -> None:
        out_ep, in_ep = bulk_endpoints(prepare_interface(self.device, self._interface))
        self.out_ep = out_ep.bEndpointAddress
        if in_ep is None:
            raise DeviceError(FaultCode.HARDWARE, "receipt printer has no bulk IN endpoint for status")
        self.in_ep, self.in_ep_descriptor = in_ep.bEndpointAddress, in_ep

    def read_reply(self, timeout: float) -> bytes:
        try:
            packet = self.in_ep_descriptor.wMaxPacketSize or 64
            return bytes(self.device.read(self.in_ep, packet, max(1, int(timeout * 1000))))
        except usb.core.USBTimeoutError:
            return b""

    def discard_input(self, quiet_for: float = 0.0) -> bytes:
        return drain(self.read_reply, max(quiet_for, 0.001))

    def identity(self) -> dict[str, Any]:
        return {"manufacturer": read_string(self.device, "manufacturer"),
                "product": read_string(self.device, "product"),
                "serial_number": read_string(self.device, "serial_number")}


class SerialLink(Serial):
    """escpos.printer.Serial with a write timeout and a read that returns what arrived."""

    def __init__(self, path: str, baudrate: int, dsrdtr: bool, write_timeout: float, profile: str) -> None:
        super().__init__(devfile=path, baudrate=baudrate, timeout=1, dsrdtr=dsrdtr, profile=profile)
        self._write_timeout = write_timeout

    def open(self, raise_not_found: bool = True) -> None:
        super().open(raise_not_found)
        self.device.write_timeout = self._write_timeout

    def _raw(self, msg: bytes) -> None:
        super()._raw(msg)
        with _termios_as_serial_error():
            self.device.flush()

    def read_reply(self, timeout: float) -> bytes:
        port = self.device
        port.timeout = timeout
        first = port.read(1)
        return first + (port.read(port.in_waiting) if first and port.in_waiting else b"")

    def discard_input(self, quiet_for: float = 0.0) -> bytes:
        with _termios_as_serial_error():
            return drain(self.read_reply, quiet_for)

    def close(self) -> None:
        # python-escpos flushes first, which blocks on a port whose far end is gone.
        if self._device:
            try:
                self._device.close()
            except (serial.SerialException, OSError):
                pass
        self._device = False

    def identity(self) -> dict[str, Any]:
        return {}


@contextmanager
def _termios_as_serial_error() -> Iterator[None]:
    # pyserial lets termios.error (not an OSError) out of flush() and reset_input_buffer()
    # when the tty has gone away (EIO): the same pulled cable as any other.
    try:
        yield
    except termios.error as exc:
        raise serial.SerialException(f"tty gone: {exc}") from exc


class NetworkLink(Network):
    """escpos.printer.Network (raw TCP, port 9100) with a read that has its own timeout."""

    def read_reply(self, timeout: float) -> bytes:
        sock = self.device
        sock.settimeout(timeout)
        try:
            reply = sock.recv(64)
        except (socket.timeout, TimeoutError):
            return b""
        finally:
            sock.settimeout(self.timeout)
        if not reply:
            raise DeviceDisconnected(f"{self.host}:{self.port}: connection closed by the printer")
        return reply

    def discard_input(self, quiet_for: float = 0.0) -> bytes:
        return drain(self.read_reply, max(quiet_for, 0.001))     # a 0 timeout would not block

    def identity(self) -> dict[str, Any]:
        return {}


EscposLink = Union[UsbLink, SerialLink, NetworkLink]
