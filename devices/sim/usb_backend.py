"""A simulated USB bus as a pyusb backend, so real pyusb code runs against a simulator.

    bus = SimulatedUsbBus()
    printer = bus.plug(SimulatedUsbDevice(0x04B8, 0x0E28, EscPosSimulator(),
                                          serial="RCPT01", product="TM-T82III"))
    usb.core.find(idVendor=0x04B8, backend=bus.backend)     # pyusb sees the device
    UsbTransport("usb://04b8:0e28", backend=bus.backend)     # so does devices.usb
    escpos.printer.Usb(0x04B8, 0x0E28, usb_args={"backend": bus.backend})

`bus.backend` implements `usb.backend.IBackend`: it enumerates configurable descriptors
(one configuration, one interface, the endpoints you give) and answers string descriptor
requests on endpoint 0. A bulk OUT transfer goes to `simulator.feed(bytes)`; a bulk IN
transfer returns `simulator.take_output(timeout)`, or raises pyusb's `USBTimeoutError` when
nothing came in time, as libusb does.

Unplugging follows libusb: `bus.unplug(device)` (or the simulator's own `hang_up()`)
removes the device from enumeration and every open handle then fails with a `USBError`
whose errno is ENODEV. `bus.plug(device)` again is a replug: the device gets a new address
and handles from before stay dead, so the host must `usb.core.find` it afresh.

Like a Linux host, a printer-class interface starts bound to a kernel driver (usblp):
claiming it fails with EBUSY until the host detaches the driver.

A simulator may stop taking data (a printer with its cover open stops draining its input
buffer): if it has a `stalled()` method that returns True for the bytes about to be sent,
the bulk write waits out its timeout and raises `USBTimeoutError`.
"""

from __future__ import annotations

import errno
import itertools
import threading
import time
from dataclasses import dataclass, field

import usb.backend
import usb.util
from usb.core import USBError, USBTimeoutError

from .base import DeviceSimulator

# libusb's own error codes, so errors look like the ones the real backend raises.
_LIBUSB_ERROR_NO_DEVICE = -4
_LIBUSB_ERROR_BUSY = -6
_LIBUSB_ERROR_TIMEOUT = -7
_LIBUSB_ERROR_PIPE = -9
_LIBUSB_ERROR_NOT_FOUND = -5

_LANGID_EN_US = 0x0409
_STRING_INDEXES = {"manufacturer": 1, "product": 2, "serial": 3}

INTERFACE_CLASS_PRINTER = 7
INTERFACE_CLASS_CDC_DATA = 0x0A
INTERFACE_CLASS_HID = 3
INTERFACE_CLASS_VENDOR = 0xFF


def _gone() -> USBError:
    return USBError("No such device (it may have been disconnected)", _LIBUSB_ERROR_NO_DEVICE, errno.ENODEV)


def _timed_out() -> USBTimeoutError:
    return USBTimeoutError("Operation timed out", _LIBUSB_ERROR_TIMEOUT, errno.ETIMEDOUT)


@dataclass(frozen=True)
class SimulatedEndpoint:
    address: int                                  # bit 7 set = IN (device to host)
    transfer_type: int = usb.util.ENDPOINT_TYPE_BULK
    max_packet_size: int = 64


DEFAULT_ENDPOINTS = (SimulatedEndpoint(0x01), SimulatedEndpoint(0x82))


@dataclass(eq=False)
class SimulatedUsbDevice:
    """One device on the simulated bus: its descriptors and the simulator behind them."""

    vid: int
    pid: int
    simulator: DeviceSimulator | None = None
    serial: str = ""
    manufacturer: str = ""
    product: str = ""
    interface_class: int = INTERFACE_CLASS_PRINTER
    interface_subclass: int = 1
    interface_protocol: int = 2                   # printer class: bidirectional
    interface_number: int = 0
    endpoints: tuple[SimulatedEndpoint, ...] = DEFAULT_ENDPOINTS
    bcd_device: int = 0x0100
    # Whether the kernel binds a driver at plug-in; by default usblp takes printer-class
    # interfaces and everything else is left unbound.
    kernel_driver: bool | None = None
    # Filled in by the bus.
    kernel_driver_active: bool = field(default=False, init=False)
    plugged: bool = field(default=False, init=False)
    generation: int = field(default=0, init=False)
    address: int = field(default=0, init=False)
    detach_count: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kernel_driver is None:
            self.kernel_driver = self.interface_class == INTERFACE_CLASS_PRINTER

    @property
    def present(self) -> bool:
        return self.plugged and not (self.simulator is not None and self.simulator.hung_up.is_set())

    def string(self, index: int) -> str | None:
        for name, number in _STRING_INDEXES.items():
            if number == index:
                return getattr(self, name) or None
        return None


@dataclass(frozen=True)
class _Enumerated:
    """What `enumerate_devices` hands pyusb: the device as it was at this plug-in."""
    device: SimulatedUsbDevice
    generation: int


class _Handle:
    def __init__(self, device: SimulatedUsbDevice, generation: int) -> None:
        self.device = device
        self.generation = generation
        self.configuration = 1          # the kernel configures a device when it appears
        self.claimed: set[int] = set()
        self.pending_in = bytearray()   # a bulk IN that came larger than the host's buffer


class _Descriptor:
    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)


class SimulatedUsbBackend(usb.backend.IBackend):
    """The pyusb backend view of a `SimulatedUsbBus`."""

    def __init__(self, bus: SimulatedUsbBus) -> None:
        super().__init__()
        self._bus = bus

    # --- enumeration and descriptors ----------------------------------------------------
    def enumerate_devices(self):
        return [_Enumerated(d, d.generation) for d in self._bus.devices if d.present]

    def get_parent(self, dev):
        return None

    def get_device_descriptor(self, dev):
        d = dev.device
        return _Descriptor(
            bLength=18, bDescriptorType=usb.util.DESC_TYPE_DEVICE, bcdUSB=0x0200,
            bDeviceClass=0, bDeviceSubClass=0, bDeviceProtocol=0, bMaxPacketSize0=64,
            idVendor=d.vid, idProduct=d.pid, bcdDevice=d.bcd_device,
            iManufacturer=_STRING_INDEXES["manufacturer"] if d.manufacturer else 0,
            iProduct=_STRING_INDEXES["product"] if d.product else 0,
            iSerialNumber=_STRING_INDEXES["serial"] if d.serial else 0,
            bNumConfigurations=1, bus=1, address=d.address, port_number=d.address,
            port_numbers=(d.address,), speed=3)

    def get_configuration_descriptor(self, dev, config):
        if config != 0:
            raise IndexError("configuration index out of range")
        return _Descriptor(
            bLength=9, bDescriptorType=usb.util.DESC_TYPE_CONFIG,
            wTotalLength=9 + 9 + 7 * len(dev.device.endpoints), bNumInterfaces=1,
            bConfigurationValue=1, iConfiguration=0, bmAttributes=0xC0, bMaxPower=50,
            extra_descriptors=[])

    def get_interface_descriptor(self, dev, intf, alt, config):
        if (config, intf, alt) != (0, 0, 0):
            raise IndexError("interface index out of range")
        d = dev.device
        return _Descriptor(
            bLength=9, bDescriptorType=usb.util.DESC_TYPE_INTERFACE,
            bInterfaceNumber=d.interface_number, bAlternateSetting=0,
            bNumEndpoints=len(d.endpoints), bInterfaceClass=d.interface_class,
            bInterfaceSubClass=d.interface_subclass, bInterfaceProtocol=d.interface_protocol,
            iInterface=0, extra_descriptors=[])

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        self.get_interface_descriptor(dev, intf, alt, config)
        endpoints = dev.device.endpoints
        if not 0 <= ep < len(endpoints):
            raise IndexError("endpoint index out of range")
        e = endpoints[ep]
        return _Descriptor(
            bLength=7, bDescriptorType=usb.util.DESC_TYPE_ENDPOINT,
            bEndpointAddress=e.address, bmAttributes=e.transfer_type,
            wMaxPacketSize=e.max_packet_size, bInterval=0, bRefresh=0, bSynchAddress=0,
            extra_descriptors=[])

    # --- handles -----------------------------------------------------------------------
    def open_device(self, dev):
        if not (dev.device.present and dev.device.generation == dev.generation):
            raise _gone()
        return _Handle(dev.device, dev.generation)

    def close_device(self, dev_handle):
        dev_handle.claimed.clear()

    def _live(self, handle: _Handle) -> SimulatedUsbDevice:
        device = handle.device
        if not (device.present and device.generation == handle.generation):
            raise _gone()
        return device

    def set_configuration(self, dev_handle, config_value):
        device = self._live(dev_handle)
        if config_value not in (0, 1):
            raise USBError("Entity not found", _LIBUSB_ERROR_NOT_FOUND, errno.ENOENT)
        if device.kernel_driver_active and config_value != dev_handle.configuration:
            raise USBError("Resource busy", _LIBUSB_ERROR_BUSY, errno.EBUSY)
        dev_handle.configuration = config_value

    def get_configuration(self, dev_handle):
        self._live(dev_handle)
        return dev_handle.configuration

    def set_interface_altsetting(self, dev_handle, intf, altsetting):
        self._require_claimed(dev_handle, intf)
        if altsetting != 0:
            raise USBError("Entity not found", _LIBUSB_ERROR_NOT_FOUND, errno.ENOENT)

    def claim_interface(self, dev_handle, intf):
        device = self._live(dev_handle)
        if intf != device.interface_number:
            raise USBError("Entity not found", _LIBUSB_ERROR_NOT_FOUND, errno.ENOENT)
        if device.kernel_driver_active:
            raise USBError("Resource busy", _LIBUSB_ERROR_BUSY, errno.EBUSY)
        dev_handle.claimed.add(intf)

    def release_interface(self, dev_handle, intf):
        self._live(dev_handle)
        dev_handle.claimed.discard(intf)

    def is_kernel_driver_active(self, dev_handle, intf):
        return bool(self._live(dev_handle).kernel_driver_active)

    def detach_kernel_driver(self, dev_handle, intf):
        device = self._live(dev_handle)
        if not device.kernel_driver_active:
            raise USBError("Entity not found", _LIBUSB_ERROR_NOT_FOUND, errno.ENOENT)
        device.kernel_driver_active = False
        device.detach_count += 1

    def attach_kernel_driver(self, dev_handle, intf):
        self._live(dev_handle).kernel_driver_active = True

    def clear_halt(self, dev_handle, ep):
        self._live(dev_handle)

    def reset_device(self, dev_handle):
        self._live(dev_handle)
        dev_handle.claimed.clear()
        dev_handle.pending_in.clear()

    # --- transfers ---------------------------------------------------------------------
    def _require_claimed(self, handle: _Handle, intf: int) -> SimulatedUsbDevice:
        device = self._live(handle)
        if intf not in handle.claimed:
            raise USBError("Resource busy", _LIBUSB_ERROR_BUSY, errno.EBUSY)
        return device

    def _endpoint(self, device: SimulatedUsbDevice, ep: int, direction: int) -> None:
        if not any(e.address == ep and usb.util.endpoint_direction(ep) == direction
                   and e.transfer_type == usb.util.ENDPOINT_TYPE_BULK for e in device.endpoints):
            raise USBError("Pipe error", _LIBUSB_ERROR_PIPE, errno.EPIPE)

    def bulk_write(self, dev_handle, ep, intf, data, timeout):
        device = self._require_claimed(dev_handle, intf)
        self._endpoint(device, ep, usb.util.ENDPOINT_OUT)
        payload = bytes(data)
        stalled = getattr(device.simulator, "stalled", None)
        if stalled is not None and stalled(payload):
            self._wait(dev_handle, timeout, lambda: not stalled(payload))
        self._live(dev_handle)
        if device.simulator is not None:
            device.simulator.feed(payload)
        return len(payload)

    def bulk_read(self, dev_handle, ep, intf, buff, timeout):
        device = self._require_claimed(dev_handle, intf)
        self._endpoint(device, ep, usb.util.ENDPOINT_IN)
        if not dev_handle.pending_in and device.simulator is not None:
            self._wait(dev_handle, timeout, lambda: self._collect(dev_handle))
        self._live(dev_handle)
        size = len(buff) * buff.itemsize
        chunk = bytes(dev_handle.pending_in[:size])
        del dev_handle.pending_in[:size]
        buff[:len(chunk)] = type(buff)(buff.typecode, chunk)
        return len(chunk)

    def _collect(self, handle: _Handle) -> bool:
        handle.pending_in += handle.device.simulator.take_output()
        return bool(handle.pending_in)

    def _wait(self, handle: _Handle, timeout_ms: int, done) -> None:
        """Poll `done` until it holds, the device goes, or `timeout_ms` passes (0 = forever,
        as in libusb)."""
        deadline = None if not timeout_ms else time.monotonic() + timeout_ms / 1000
        while not done():
            self._live(handle)
            if deadline is not None and time.monotonic() >= deadline:
                raise _timed_out()
            time.sleep(0.002)

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):
        device = self._live(dev_handle)
        is_get_string = (bmRequestType == 0x80 and bRequest == 0x06
                         and wValue >> 8 == usb.util.DESC_TYPE_STRING)
        if not is_get_string:
            raise USBError("Pipe error", _LIBUSB_ERROR_PIPE, errno.EPIPE)   # a stall
        index = wValue & 0xFF
        if index == 0:
            body = _LANGID_EN_US.to_bytes(2, "little")
        else:
            text = device.string(index)
            if text is None:
                raise USBError("Pipe error", _LIBUSB_ERROR_PIPE, errno.EPIPE)
            body = text.encode("utf-16-le")
        reply = (bytes((2 + len(body), usb.util.DESC_TYPE_STRING)) + body)[: len(data)]
        data[:len(reply)] = type(data)(data.typecode, reply)
        return len(reply)


class SimulatedUsbBus:
    """The devices plugged into one simulated host; `.backend` goes to pyusb."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: list[SimulatedUsbDevice] = []
        self._addresses = itertools.count(2)
        self.backend = SimulatedUsbBackend(self)

    @property
    def devices(self) -> list[SimulatedUsbDevice]:
        with self._lock:
            return list(self._devices)

    def plug(self, device: SimulatedUsbDevice) -> SimulatedUsbDevice:
        """Attach `device`, or re-attach it after an unplug (a new address, old handles dead)."""
        with self._lock:
            if device not in self._devices:
                self._devices.append(device)
            device.generation += 1
            device.address = next(self._addresses)
            device.kernel_driver_active = bool(device.kernel_driver)
            device.plugged = True
        if device.simulator is not None:
            device.simulator.reconnect()
        return device

    def unplug(self, device: SimulatedUsbDevice) -> None:
        with self._lock:
            device.plugged = False
            device.generation += 1
