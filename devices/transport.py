"""Byte transports named by URL, so one driver runs on hardware, a simulator and a test.

    serial:///dev/ttyUSB0?baudrate=115200   a serial port (also a bare /dev/... path)
    socket://127.0.0.1:9100                 raw TCP, through pyserial's own URL handler
    usb://0f49:1234?serial=ABC              bulk endpoints of a USB device (devices.usb)

A `sim:` URL is served by a simulator on a pty (devices/sim/link.py), opened through the
same `SerialTransport`; `devices.links.open_link` is the one place that turns any URL into a
link, so no driver looks at the scheme itself.

Every call takes a timeout. Every failure is a `DeviceError`: `DeviceTimeout` when the
device is silent, `DeviceDisconnected` when the link is gone. After a disconnect the next
`ensure_open()` tries the link again, so an unplugged and replugged device carries on
without a restart.
"""

from __future__ import annotations

import termios
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

import serial

from .status import DeviceDisconnected, DeviceTimeout

DEFAULT_TERMINATORS = b"\r\n\x00"
# After a request timed out its reply may still come. The next request first waits for this
# long a silence and drops what came: else every later request reads the reply of the one
# before it (seen under load on the Evolis link: Rco;c answered the feeder's '0.35', Rco;n the
# ribbon's 'YMCKO'; an ESC/POS printer's late DLE EOT 1 byte read as its offline cause).
RESYNC_QUIET_S = 1.0


def drain(read: Callable[[float], bytes], quiet_for: float) -> bytes:
    """Read and return whatever comes until `read(quiet_for)` brings nothing (`read` takes a
    timeout in seconds and returns b"" when nothing arrived in it)."""
    dropped = bytearray()
    while chunk := read(quiet_for):
        dropped += chunk
    return bytes(dropped)


class ReplyResync:
    """Keeps a request/reply device link's replies in step with its requests. A device answers
    every request once, in order; when the host gave up on a reply (`missed`), that reply may
    still be on its way, so the next request (`before_request`) first waits for
    `quiet_s` of silence and drops what came in it. Else only what is already waiting
    is dropped. Kept by the driver, not the link: a reopened link still gets the late reply."""

    def __init__(self, quiet_s: float = RESYNC_QUIET_S) -> None:
        self.quiet_s = quiet_s
        self.reply_owed = False

    def before_request(self, discard: Callable[[float], bytes]) -> bytes:
        """`discard(quiet_for)` drops the link's input (e.g. `Transport.discard_input`);
        returns what it dropped, for logging."""
        quiet_for, self.reply_owed = (self.quiet_s if self.reply_owed else 0.0), False
        return discard(quiet_for)

    def missed(self) -> None:
        """The last request's reply did not come in time."""
        self.reply_owed = True


@dataclass(frozen=True)
class DeviceUrl:
    scheme: str                       # serial, socket, usb, ipp, ipps, cups, sim
    target: str                       # path, host:port, vid:pid, queue name or simulator name
    params: dict[str, str] = field(default_factory=dict)
    raw: str = ""


def parse_device_url(url: str) -> DeviceUrl:
    """Split a configured connection into its parts; a bare path is a serial port and a bare
    word (no scheme) is a CUPS queue name."""
    url = url.strip()
    if not url:
        raise ValueError("empty device URL")
    if url.startswith("/"):
        return DeviceUrl("serial", url, {}, url)
    if url.startswith("sim:"):
        rest = url[4:].lstrip("/")
        name, _, query = rest.partition("?")
        return DeviceUrl("sim", name, dict(parse_qsl(query)), url)
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    if parts.scheme == "serial":
        if not parts.path:
            raise ValueError(f"{url}: a serial URL needs a device path, e.g. serial:///dev/ttyUSB0")
        return DeviceUrl("serial", parts.path, params, url)
    if parts.scheme in ("socket", "ipp", "ipps"):
        if not parts.netloc:
            raise ValueError(f"{url}: needs host:port")
        return DeviceUrl(parts.scheme, parts.netloc + parts.path, params, url)
    if parts.scheme == "usb":
        vid_pid = parts.netloc or parts.path.lstrip("/")
        vid, _, pid = vid_pid.partition(":")
        try:
            int(vid, 16), int(pid, 16)
        except ValueError:
            raise ValueError(f"{url}: a USB URL is usb://VID:PID in hex, e.g. usb://0f49:1234") from None
        return DeviceUrl("usb", vid_pid.lower(), params, url)
    if not parts.scheme and "/" not in url and ":" not in url:
        return DeviceUrl("cups", url, {}, url)
    raise ValueError(f"{url}: unsupported device URL scheme {parts.scheme!r}")


class Transport(ABC):
    """A duplex byte link with timeouts. Subclasses implement the four primitives."""

    simulator = None        # the DeviceSimulator answering, for a sim: link; None on hardware

    def __init__(self, url: str) -> None:
        self.url = url

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @property
    @abstractmethod
    def is_open(self) -> bool: ...

    @abstractmethod
    def write(self, data: bytes, timeout: float) -> None:
        """Send all of `data` or raise DeviceTimeout / DeviceDisconnected."""

    @abstractmethod
    def read(self, size: int, timeout: float) -> bytes:
        """Up to `size` bytes that arrive within `timeout`; b"" when none did."""

    def ensure_open(self) -> None:
        if not self.is_open:
            self.open()

    def discard_input(self, quiet_for: float = 0.02) -> bytes:
        """Drop whatever is waiting (a late reply, line noise) and return it for logging."""
        return drain(lambda timeout: self.read(4096, timeout), quiet_for)

    def read_until(self, timeout: float, terminators: bytes = DEFAULT_TERMINATORS,
                   max_bytes: int = 4096) -> bytes:
        """One reply ending in any byte of `terminators` (stripped). Leading terminators,
        left over from the previous reply's CR LF, are skipped."""
        deadline = time.monotonic() + timeout
        reply = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(f"no complete reply within {timeout:.1f}s (got {bytes(reply[:32])!r})")
            byte = self.read(1, remaining)
            if not byte:
                continue
            if byte in terminators:
                if reply:
                    return bytes(reply)
                continue
            reply += byte
            if len(reply) > max_bytes:
                raise DeviceTimeout(f"reply longer than {max_bytes} bytes without a terminator")

    def __enter__(self) -> Transport:
        self.ensure_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialTransport(Transport):
    """A serial port or a TCP socket, both through pyserial (`serial_for_url`)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        parsed = parse_device_url(url)
        if parsed.scheme == "serial":
            self._port = parsed.target
            self._options = {"baudrate": int(parsed.params.get("baudrate", 115200))}
        elif parsed.scheme == "socket":
            self._port, self._options = f"socket://{parsed.target}", {}
        else:
            raise ValueError(f"{url}: not a serial or socket URL")
        self._serial: serial.SerialBase | None = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None and self._serial.is_open

    @property
    def is_socket(self) -> bool:
        return self._port.startswith("socket://")

    def device_path(self) -> str:
        """The serial device (or socket://host:port) this transport opens."""
        return self._port

    def open(self) -> None:
        self.connect_to(self._port)

    def connect_to(self, port_name: str) -> None:
        self._close_port()
        try:
            port = serial.serial_for_url(port_name, do_not_open=True, **self._options)
            port.timeout = 0.5
            port.write_timeout = 5.0
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceDisconnected(f"{self.url}: {exc}") from exc
        self._serial = port

    def close(self) -> None:
        self._close_port()

    def _close_port(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError):
                pass
            self._serial = None

    def write(self, data: bytes, timeout: float) -> None:
        port = self._require_open()
        try:
            port.write_timeout = timeout
            port.write(data)
            port.flush()
        except serial.SerialTimeoutException as exc:
            raise DeviceTimeout(f"{self.url}: write of {len(data)} bytes timed out") from exc
        except (serial.SerialException, OSError, termios.error) as exc:
            # pyserial lets termios.error (EIO from tcdrain) out of flush() on a vanished tty
            self.close()
            raise DeviceDisconnected(f"{self.url}: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        port = self._require_open()
        try:
            port.timeout = max(timeout, 0.0)
            first = port.read(1)
            if not first or size == 1:
                return first
            rest = port.read(min(size - 1, port.in_waiting)) if port.in_waiting else b""
            return first + rest
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise DeviceDisconnected(f"{self.url}: {exc}") from exc

    def _require_open(self) -> serial.SerialBase:
        if self._serial is None:
            raise DeviceDisconnected(f"{self.url}: not open")
        return self._serial
