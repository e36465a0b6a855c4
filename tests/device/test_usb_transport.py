"""UsbTransport through real pyusb on the simulated backend: discovery by serial, kernel
driver detach, endpoints from descriptors, timeouts, unplug and replug."""

import threading

import pytest
import usb.core
import usb.util

from devices.sim.usb_backend import SimulatedEndpoint, SimulatedUsbDevice
from devices.status import DeviceDisconnected, DeviceError, DeviceTimeout, FaultCode
from devices.links import open_transport
from devices.usb import UsbTransport
from tests.fixtures.line_echo import LineEcho
from tests.fixtures.usb import usb_bus  # noqa: F401


def plug(bus, serial="S1", tag=b"OK", **options):
    sim = LineEcho(tag)
    device = bus.plug(SimulatedUsbDevice(0x0F49, 0x1234, sim, serial=serial,
                                         manufacturer="Evolis", product="Primacy 2", **options))
    return device, sim


def test_request_reply_detaches_kernel_driver(usb_bus):
    device, _ = plug(usb_bus)
    assert device.kernel_driver_active            # usblp holds a printer interface at plug-in
    with UsbTransport("usb://0f49:1234", backend=usb_bus.backend) as transport:
        transport.write(b"ping\r", timeout=1)
        assert transport.read_until(timeout=1) == b"OK ping"
    assert device.detach_count == 1


def test_serial_number_picks_the_right_device(usb_bus):
    plug(usb_bus, serial="AAA", tag=b"first")
    plug(usb_bus, serial="BBB", tag=b"second")
    with open_transport("usb://0f49:1234?serial=BBB", backend=usb_bus.backend) as transport:
        transport.write(b"who\r", timeout=1)
        assert transport.read_until(timeout=1) == b"second who"
    with pytest.raises(DeviceDisconnected, match="not found"):
        UsbTransport("usb://0f49:1234?serial=CCC", backend=usb_bus.backend).open()


def test_endpoints_come_from_the_descriptors(usb_bus):
    endpoints = (SimulatedEndpoint(0x81, usb.util.ENDPOINT_TYPE_INTR, 8),
                 SimulatedEndpoint(0x05, max_packet_size=512), SimulatedEndpoint(0x86, max_packet_size=512))
    device, sim = plug(usb_bus, endpoints=endpoints)
    with UsbTransport("usb://0f49:1234", backend=usb_bus.backend) as transport:
        transport.write(b"x" * 3000 + b"\r", timeout=1)
        reply = transport.read_until(timeout=1, max_bytes=5000)
    assert reply == b"OK " + b"x" * 3000
    assert len(sim.received) == 3001


def test_a_device_without_bulk_out_is_refused_clearly(usb_bus):
    plug(usb_bus, endpoints=(SimulatedEndpoint(0x81, usb.util.ENDPOINT_TYPE_INTR, 8),))
    with pytest.raises(DeviceError) as caught:
        UsbTransport("usb://0f49:1234", backend=usb_bus.backend).open()
    assert caught.value.code == FaultCode.HARDWARE
    assert "bulk OUT" in str(caught.value)


def test_silence_is_a_timeout(usb_bus):
    plug(usb_bus)
    with UsbTransport("usb://0f49:1234", backend=usb_bus.backend) as transport:
        transport.write(b"quiet\r", timeout=1)
        assert transport.read(16, timeout=0.05) == b""
        with pytest.raises(DeviceTimeout):
            transport.read_until(timeout=0.1)
        assert transport.is_open                     # a timeout is not a disconnect


def test_a_stalled_write_times_out(usb_bus):
    _, sim = plug(usb_bus)
    with UsbTransport("usb://0f49:1234", backend=usb_bus.backend) as transport:
        sim.jammed.set()
        with pytest.raises(DeviceTimeout, match="write"):
            transport.write(b"data\r", timeout=0.1)
        sim.jammed.clear()
        transport.write(b"after\r", timeout=1)
        assert transport.read_until(timeout=1) == b"OK after"


def test_unplug_then_replug_carries_on(usb_bus):
    device, _ = plug(usb_bus)
    transport = UsbTransport("usb://0f49:1234?serial=S1", backend=usb_bus.backend)
    transport.open()
    usb_bus.unplug(device)
    with pytest.raises(DeviceDisconnected):
        transport.write(b"lost\r", timeout=1)
    assert not transport.is_open
    with pytest.raises(DeviceDisconnected, match="not found"):
        transport.ensure_open()
    usb_bus.plug(device)                             # a new address; old handles are dead
    transport.ensure_open()
    transport.write(b"back\r", timeout=1)
    assert transport.read_until(timeout=1) == b"OK back"
    assert device.detach_count == 2                  # usblp grabbed it again at replug
    transport.close()


def test_hang_up_mid_read_is_a_disconnect(usb_bus):
    device, sim = plug(usb_bus)
    with UsbTransport("usb://0f49:1234", backend=usb_bus.backend) as transport:
        transport.write(b"quiet\r", timeout=1)
        threading.Timer(0.05, sim.hang_up).start()
        with pytest.raises(DeviceDisconnected):
            transport.read_until(timeout=2)
        assert not transport.is_open
        assert usb.core.find(idVendor=0x0F49, backend=usb_bus.backend) is None
        usb_bus.plug(device)
        transport.ensure_open()
        transport.write(b"ok\r", timeout=1)
        assert transport.read_until(timeout=1) == b"OK ok"


@pytest.mark.parametrize("url", ["usb://0f49:1234?interface=x", "serial:///dev/ttyS0"])
def test_bad_usb_urls(url):
    with pytest.raises(ValueError):
        UsbTransport(url)
