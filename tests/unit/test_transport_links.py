"""The shared transports against a trivial echo device, over a pty and a socket."""

import time

import pytest

from devices.sim.serve import serve_pty, serve_socket
from devices.status import DeviceDisconnected, DeviceTimeout
from devices.links import open_transport
from devices.transport import parse_device_url
from tests.fixtures.line_echo import LineEcho


@pytest.mark.parametrize("serve", [serve_pty, serve_socket])
def test_request_reply_and_timeout(serve):
    with serve(LineEcho()) as link:
        transport = open_transport(link.url)
        transport.write(b"ping\r", timeout=1)
        assert transport.read_until(timeout=1) == b"OK ping"
        transport.write(b"quiet\r", timeout=1)
        with pytest.raises(DeviceTimeout):
            transport.read_until(timeout=0.2)
        transport.close()


def test_socket_hangup_then_reconnect():
    with serve_socket(LineEcho()) as link:
        transport = open_transport(link.url)
        transport.write(b"hangup\r", timeout=1)
        with pytest.raises(DeviceDisconnected):
            transport.read_until(timeout=1)
        assert not transport.is_open
        transport.ensure_open()   # the device is back: the same transport carries on
        transport.write(b"again\r", timeout=1)
        assert transport.read_until(timeout=1) == b"OK again"


def test_pty_hangup_is_a_disconnect():
    with serve_pty(LineEcho()) as link:
        transport = open_transport(link.url)
        transport.write(b"hangup\r", timeout=1)
        deadline = time.monotonic() + 10   # generous: the machine may be busy
        with pytest.raises(DeviceDisconnected):
            while time.monotonic() < deadline:
                transport.write(b"x\r", timeout=0.2)
                transport.read(1, 0.1)


@pytest.mark.parametrize("url, scheme, target", [
    ("serial:///dev/ttyUSB0?baudrate=9600", "serial", "/dev/ttyUSB0"),
    ("/dev/ttyACM0", "serial", "/dev/ttyACM0"),
    ("socket://127.0.0.1:9100", "socket", "127.0.0.1:9100"),
    ("usb://0F49:1234?serial=X1", "usb", "0f49:1234"),
    ("ipp://localhost:631/printers/KK-A4", "ipp", "localhost:631/printers/KK-A4"),
    ("KK-A4", "cups", "KK-A4"),
    ("sim:card_printer?faults=jam", "sim", "card_printer"),
])
def test_parse_device_url(url, scheme, target):
    parsed = parse_device_url(url)
    assert (parsed.scheme, parsed.target) == (scheme, target)


@pytest.mark.parametrize("bad", ["", "usb://zz:12", "ftp://x", "serial://"])
def test_bad_device_urls_are_refused(bad):
    with pytest.raises(ValueError):
        parse_device_url(bad)
