"""The 2D (QR) scanner, in either of its two modes, and the WhatsApp QR it reads.

Serial mode (CDC-ACM, /dev/ttyACM0, or any transport URL): the scanner sends each code
followed by CR (some are set to LF or CR LF; all are accepted). `ScannerReader` reads it on
its own thread, reconnects after an unplug, and publishes a `ScanEvent` per code.

Keyboard mode (HID): the scanner types the code and presses Enter. The UI forwards key
presses with their times to `KeyboardWedgeDecoder`, which tells a scanner's burst of fast
keys ending in Enter from a person typing, and publishes the same `ScanEvent`.

    reader = ScannerReader("serial:///dev/ttyACM0").start()
    reader.events.subscribe(lambda event: ...)          # ScanEvent(text, source, complete)
    request_no = parse_scan(event)                      # or raises ScanRejected

`parse_whatsapp_qr` accepts exactly `ADM1:REQ-YYYYMMDD-ABC123` (six uppercase letters or
digits) and rejects anything else with a reason code and a bilingual message.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .events import Publisher
from .status import DeviceDisconnected, DeviceError, DeviceState, DeviceStatus, absent
from .links import open_link
from .transport import Transport

log = logging.getLogger(__name__)

ROLE = "scanner"
QR_PREFIX = "ADM1:"
MAX_CODE_LENGTH = 64
_REQUEST_NO = re.compile(r"REQ-(\d{8})-[A-Z0-9]{6}")
_PREFIX = re.compile(r"ADM(\d+):")


@dataclass(frozen=True)
class ScanEvent:
    text: str
    source: str            # "serial:<url>" or "keyboard"
    complete: bool = True  # False: the code stopped before its terminator (cable pulled, bad read)


class ScanRejected(ValueError):
    """A scanned code that is not a kiosk request; `reason_code` is stable for tests and logs."""

    def __init__(self, reason_code: str, message_id: str, message_en: str) -> None:
        super().__init__(f"{reason_code}: {message_en}")
        self.reason_code = reason_code
        self.message_id = message_id
        self.message_en = message_en

    def message(self, language: str = "id") -> str:
        return self.message_en if language == "en" else self.message_id


_REJECTIONS = {
    "empty": ("Kode QR kosong. Silakan pindai ulang.", "The QR code is empty. Please scan again."),
    "incomplete": ("Kode QR terbaca sebagian. Silakan pindai ulang.",
                   "Only part of the QR code was read. Please scan again."),
    "too_long": ("Kode QR ini bukan dari pesan WhatsApp Dukcapil.",
                 "This QR code is not from the Dukcapil WhatsApp message."),
    "garbage": ("Kode QR tidak terbaca dengan benar. Silakan pindai ulang.",
                "The QR code was not read correctly. Please scan again."),
    "not_adm_code": ("Kode QR ini bukan dari pesan WhatsApp Dukcapil.",
                     "This QR code is not from the Dukcapil WhatsApp message."),
    "unsupported_version": ("Versi kode QR ini tidak dikenal. Silakan hubungi petugas Dukcapil.",
                            "This QR code version is not recognised. Please contact the Dukcapil office."),
    "malformed_request": ("Nomor permohonan pada kode QR tidak sah. Silakan hubungi petugas Dukcapil.",
                          "The request number in the QR code is not valid. Please contact the Dukcapil office."),
}


def _reject(reason_code: str) -> ScanRejected:
    message_id, message_en = _REJECTIONS[reason_code]
    return ScanRejected(reason_code, message_id, message_en)


def parse_whatsapp_qr(text: str) -> str:
    """The request number (REQ-YYYYMMDD-ABC123) from the WhatsApp QR payload `ADM1:<no>`."""
    code = text.strip(" \r\n\t")
    if not code:
        raise _reject("empty")
    if any(not (" " <= ch <= "~") for ch in code):
        raise _reject("garbage")
    if len(code) > MAX_CODE_LENGTH:
        raise _reject("too_long")
    prefix = _PREFIX.match(code)
    if prefix is None:
        raise _reject("not_adm_code")
    if prefix.group(0) != QR_PREFIX:
        raise _reject("unsupported_version")
    request_no = code[len(QR_PREFIX):]
    match = _REQUEST_NO.fullmatch(request_no)
    if match is None:
        raise _reject("malformed_request")
    try:
        datetime.strptime(match.group(1), "%Y%m%d")
    except ValueError:
        raise _reject("malformed_request") from None
    return request_no


def parse_scan(event: ScanEvent) -> str:
    """`parse_whatsapp_qr` for an event, refusing a code that was cut short."""
    if not event.complete:
        raise _reject("incomplete")
    return parse_whatsapp_qr(event.text)


def _decode(raw: bytes) -> str:
    # Invalid bytes become U+FFFD, which parse_whatsapp_qr rejects as garbage.
    return raw.decode("utf-8", errors="replace")


class ScannerReader:
    """Reads a serial-mode scanner on its own thread; publishes ScanEvents and its status.

    `url` is any byte-link URL (`devices.links.open_link`), or `sim:scanner` for the built-in
    simulator on a pty (`reader.simulator.scan(text)` then plays a scan). `transport_options`
    go to `open_link` (e.g. `backend=` for a USB scanner in a test). A code without its
    terminator is published incomplete once the line has been quiet for `partial_timeout`
    seconds, or when the link drops. A URL no scanner can be reached through (ipp://, a CUPS
    queue, another device's simulator) is a ValueError here, not a dead thread later.
    """

    def __init__(self, url: str, *, retry_interval: float = 0.5, partial_timeout: float = 0.5,
                 max_length: int = 1024, **transport_options: Any) -> None:
        self.url = url
        self.events: Publisher[ScanEvent] = Publisher(f"{ROLE}.scans")
        self.status_events: Publisher[DeviceStatus] = Publisher(f"{ROLE}.status")
        self._retry_interval = retry_interval
        self._partial_timeout = partial_timeout
        self._max_length = max_length
        self._link = open_link(url, expect=Transport, simulator=ROLE, **transport_options)
        self.simulator = self._link.simulator
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"device-{ROLE}", daemon=True)
        self._transport: Transport | None = None

    def status(self) -> DeviceStatus:
        return self.status_events.last or absent(ROLE, "not connected yet")

    def start(self) -> ScannerReader:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        self._link.close()

    def _open(self) -> Transport:
        # A simulator's link comes back on a fresh pty after a hang-up, as a replugged scanner.
        self._link.open()
        return self._link

    def _set_status(self, snapshot: DeviceStatus) -> None:
        if not snapshot.same_as(self.status_events.last):
            self.status_events.publish(snapshot)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                transport = self._open()
            except DeviceError as exc:
                self._set_status(absent(ROLE, str(exc)))
                self._stop.wait(self._retry_interval)
                continue
            self._set_status(DeviceStatus(ROLE, DeviceState.READY,
                                          capabilities={"mode": "serial", "url": self.url}))
            try:
                self._read_codes(transport)
            except DeviceError as exc:
                log.info("scanner link lost: %s", exc)
                self._set_status(absent(ROLE, str(exc)))
            finally:
                transport.close()

    def _read_codes(self, transport: Transport) -> None:
        framing = ScanFraming(self._max_length)
        last_byte_at = time.monotonic()
        while not self._stop.is_set():
            try:
                chunk = transport.read(4096, 0.05)
            except DeviceDisconnected:
                if (partial := framing.take_partial()):
                    self._publish(partial, complete=False)
                raise
            now = time.monotonic()
            if not chunk:
                if now - last_byte_at > self._partial_timeout and (partial := framing.take_partial()):
                    self._publish(partial, complete=False)
                continue
            last_byte_at = now
            for code in framing.push(chunk):
                self._publish(code, complete=True)

    def _publish(self, raw: bytes | bytearray, complete: bool) -> None:
        text = _decode(bytes(raw))
        log.debug("scan read (%d bytes, complete=%s)", len(raw), complete)
        self.events.publish(ScanEvent(text, f"serial:{self.url}", complete))


class ScanFraming:
    """A serial scanner's bytes, however the link splits them, as codes: each ends at CR or
    LF (CR LF ends one code; empty codes are skipped). A code that grows past `max_length`
    is handed on cut to that length (to be refused as too long) and the rest of it, up to
    its terminator, is dropped: its tail is not a code of its own."""

    def __init__(self, max_length: int) -> None:
        self._buffer = bytearray()
        self._max_length = max_length
        self._dropping = False          # inside a code already handed on as too long

    def push(self, chunk: bytes) -> list[bytes]:
        """The codes `chunk` completes."""
        codes = []
        self._buffer += chunk
        while (end := _first_terminator(self._buffer)) >= 0:
            code = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            if code and not self._dropping:
                codes.append(code[:self._max_length + 1])
            self._dropping = False
        if self._dropping:
            self._buffer.clear()
        elif len(self._buffer) > self._max_length:
            codes.append(bytes(self._buffer[:self._max_length + 1]))
            self._buffer.clear()
            self._dropping = True
        return codes

    def take_partial(self) -> bytes:
        """What has come of a code without its terminator (b"" for none); the next byte
        starts a new code."""
        partial = b"" if self._dropping else bytes(self._buffer)
        self._buffer.clear()
        self._dropping = False
        return partial


def _first_terminator(buffer: bytearray) -> int:
    positions = [p for p in (buffer.find(b"\r"), buffer.find(b"\n")) if p >= 0]
    return min(positions) if positions else -1


class KeyboardWedgeDecoder:
    """Tells a keyboard-mode scanner's burst from a person typing.

    The UI calls `feed(key, timestamp)` for every key press (a one-character string, or
    "\\r"/"\\n"/"enter" for Enter). A scan is at least `min_length` characters, each within
    `max_gap` seconds of the previous, then Enter within `max_gap`; it is published on
    `events` and returned. A person types far slower than `max_gap` (scanners send a key every
    few milliseconds), so their keys never make a scan.
    """

    ENTER = ("\r", "\n", "enter", "return")

    def __init__(self, max_gap: float = 0.05, min_length: int = 8, max_length: int = 1024) -> None:
        self.events: Publisher[ScanEvent] = Publisher(f"{ROLE}.keyboard")
        self._max_gap = max_gap
        self._min_length = min_length
        self._max_length = max_length
        self._keys: list[str] = []
        self._last_at: float | None = None

    @property
    def pending(self) -> str:
        return "".join(self._keys)

    def reset(self) -> None:
        self._keys.clear()
        self._last_at = None

    def feed(self, key: str, timestamp: float) -> ScanEvent | None:
        in_burst = self._last_at is not None and timestamp - self._last_at <= self._max_gap
        self._last_at = timestamp
        if key.lower() in self.ENTER:
            keys, self._keys = self._keys, []
            self._last_at = None
            if in_burst and len(keys) >= self._min_length:
                event = ScanEvent("".join(keys), "keyboard")
                self.events.publish(event)
                return event
            return None
        if len(key) != 1:
            self.reset()          # a function key: no scanner types one
            return None
        if not in_burst:
            self._keys = []
        if len(self._keys) < self._max_length:
            self._keys.append(key)
        return None
