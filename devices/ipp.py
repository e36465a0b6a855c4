"""The IPP/1.1 wire format (RFC 8010): encode and decode one message, no I/O.

Both sides use it: the A4 driver (printer_drivers.ipp) to talk to CUPS or any IPP printer,
and the built-in simulated A4 printer (devices.sim.a4) to answer it. A message is a header
(version, operation or status code, request id), attribute groups, and the document data.

Values are plain Python: int for integer/enum, bool for boolean, str for the text-like
tags, bytes for octetString, dict for a collection (member name -> list of values), and
`None` for the out-of-band tags (no-value, unknown, unsupported). Each attribute holds a
list of values, since any attribute may be multi-valued.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

VERSION = (1, 1)

# Operations used by the kiosk and the simulator (RFC 8011 §5.4.15, CUPS extensions).
PRINT_JOB = 0x0002
VALIDATE_JOB = 0x0004
CANCEL_JOB = 0x0008
GET_JOB_ATTRIBUTES = 0x0009
GET_JOBS = 0x000A
GET_PRINTER_ATTRIBUTES = 0x000B
PURGE_JOBS = 0x0012

# Group delimiters.
OPERATION_GROUP = 0x01
JOB_GROUP = 0x02
END_OF_ATTRIBUTES = 0x03
PRINTER_GROUP = 0x04
UNSUPPORTED_GROUP = 0x05

# Value tags.
UNSUPPORTED_VALUE, UNKNOWN_VALUE, NO_VALUE = 0x10, 0x12, 0x13
INTEGER, BOOLEAN, ENUM = 0x21, 0x22, 0x23
OCTET_STRING, DATE_TIME, RESOLUTION, RANGE_OF_INTEGER = 0x30, 0x31, 0x32, 0x33
BEGIN_COLLECTION, TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE, END_COLLECTION = 0x34, 0x35, 0x36, 0x37
TEXT, NAME, KEYWORD, URI, URI_SCHEME, CHARSET, LANGUAGE, MIME_TYPE, MEMBER_NAME = (
    0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A)

_STRING_TAGS = {TEXT, NAME, KEYWORD, URI, URI_SCHEME, CHARSET, LANGUAGE, MIME_TYPE, MEMBER_NAME}
_OUT_OF_BAND = {UNSUPPORTED_VALUE, UNKNOWN_VALUE, NO_VALUE}

# Status codes (RFC 8011 §4.1.6) the kiosk tells apart.
STATUS_NAMES = {
    0x0000: "successful-ok", 0x0001: "successful-ok-ignored-or-substituted-attributes",
    0x0002: "successful-ok-conflicting-attributes",
    0x0400: "client-error-bad-request", 0x0401: "client-error-forbidden",
    0x0402: "client-error-not-authenticated", 0x0403: "client-error-not-authorized",
    0x0404: "client-error-not-possible", 0x0405: "client-error-timeout",
    0x0406: "client-error-not-found", 0x0407: "client-error-gone",
    0x040A: "client-error-document-format-not-supported",
    0x040B: "client-error-attributes-or-values-not-supported",
    0x0411: "client-error-document-format-error",
    0x0500: "server-error-internal-error", 0x0501: "server-error-operation-not-supported",
    0x0502: "server-error-service-unavailable", 0x0504: "server-error-device-error",
    0x0506: "server-error-not-accepting-jobs", 0x0507: "server-error-busy",
}
OK = 0x0000
BAD_REQUEST = 0x0400
NOT_POSSIBLE = 0x0404
NOT_FOUND = 0x0406
DOCUMENT_FORMAT_NOT_SUPPORTED = 0x040A
OPERATION_NOT_SUPPORTED = 0x0501
NOT_ACCEPTING_JOBS = 0x0506

# job-state and printer-state enums.
JOB_PENDING, JOB_HELD, JOB_PROCESSING, JOB_STOPPED = 3, 4, 5, 6
JOB_CANCELED, JOB_ABORTED, JOB_COMPLETED = 7, 8, 9
JOB_STATE_NAMES = {3: "pending", 4: "pending-held", 5: "processing", 6: "processing-stopped",
                   7: "canceled", 8: "aborted", 9: "completed"}
PRINTER_IDLE, PRINTER_PROCESSING, PRINTER_STOPPED = 3, 4, 5


class IppError(ValueError):
    """Bytes that are not a well-formed IPP message."""


@dataclass(frozen=True)
class Attr:
    """One attribute to encode: a tag and its values (the tag applies to every value)."""

    tag: int
    values: tuple[Any, ...]

    @classmethod
    def of(cls, tag: int, *values: Any) -> Attr:
        return cls(tag, tuple(values))


@dataclass
class IppMessage:
    """A request (`code` = operation) or a response (`code` = status)."""

    code: int
    request_id: int = 1
    groups: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    data: bytes = b""
    version: tuple[int, int] = VERSION

    def group(self, tag: int) -> dict[str, list[Any]]:
        """The first group with `tag`, as name -> list of values ({} when absent)."""
        return next((attrs for group_tag, attrs in self.groups if group_tag == tag), {})

    def value(self, tag: int, name: str, default: Any = None) -> Any:
        values = self.group(tag).get(name)
        return values[0] if values else default

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.code, f"status-0x{self.code:04x}")

    @property
    def ok(self) -> bool:
        return self.code < 0x0100


def request(operation: int, request_id: int, printer_uri: str,
            operation_attrs: dict[str, Attr] | None = None,
            job_attrs: dict[str, Attr] | None = None, data: bytes = b"") -> IppMessage:
    """A request with the three attributes every operation starts with (RFC 8011 §4.1.4)."""
    first = {"attributes-charset": Attr.of(CHARSET, "utf-8"),
             "attributes-natural-language": Attr.of(LANGUAGE, "en"),
             "printer-uri": Attr.of(URI, printer_uri)}
    groups = [(OPERATION_GROUP, {**first, **(operation_attrs or {})})]
    if job_attrs:
        groups.append((JOB_GROUP, dict(job_attrs)))
    return IppMessage(operation, request_id, groups, data)


# --- encoding -------------------------------------------------------------------------------

def encode(message: IppMessage) -> bytes:
    """Bytes of `message`. Group values must be `Attr`s (what the caller chose to send)."""
    out = bytearray(struct.pack(">BBHI", *message.version, message.code, message.request_id))
    for group_tag, attrs in message.groups:
        out.append(group_tag)
        for name, attr in attrs.items():
            if not isinstance(attr, Attr):
                raise TypeError(f"{name}: encode takes Attr values, got {type(attr).__name__}")
            _encode_attr(out, name, attr.tag, attr.values)
    out.append(END_OF_ATTRIBUTES)
    return bytes(out) + message.data


def _encode_attr(out: bytearray, name: str, tag: int, values: tuple[Any, ...]) -> None:
    if not values:
        values = (None,)
        tag = NO_VALUE
    for index, value in enumerate(values):
        _encode_value(out, name if index == 0 else "", tag, value)


def _encode_value(out: bytearray, name: str, tag: int, value: Any) -> None:
    if tag == BEGIN_COLLECTION:
        _put(out, BEGIN_COLLECTION, name, b"")
        for member, member_value in dict(value).items():
            member_attr = member_value if isinstance(member_value, Attr) else _guess(member_value)
            _put(out, MEMBER_NAME, "", member.encode())
            for member_item in member_attr.values:
                _encode_value(out, "", member_attr.tag, member_item)
        _put(out, END_COLLECTION, "", b"")
        return
    _put(out, tag, name, _value_bytes(tag, value))


def _guess(value: Any) -> Attr:
    """The tag for a bare member value inside a collection: keyword, integer or boolean."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    first = values[0]
    if isinstance(first, bool):
        return Attr(BOOLEAN, values)
    if isinstance(first, int):
        return Attr(INTEGER, values)
    if isinstance(first, dict):
        return Attr(BEGIN_COLLECTION, values)
    return Attr(KEYWORD, values)


def _value_bytes(tag: int, value: Any) -> bytes:
    if tag in _OUT_OF_BAND:
        return b""
    if tag in (INTEGER, ENUM):
        return struct.pack(">i", int(value))
    if tag == BOOLEAN:
        return b"\x01" if value else b"\x00"
    if tag == RANGE_OF_INTEGER:
        low, high = value
        return struct.pack(">ii", low, high)
    if tag == RESOLUTION:
        x, y, units = value
        return struct.pack(">iib", x, y, units)
    if tag in _STRING_TAGS:
        return str(value).encode("utf-8")
    if tag in (OCTET_STRING, DATE_TIME):
        return bytes(value)
    if tag in (TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE):
        language, text = value
        lang_b, text_b = language.encode(), text.encode()
        return struct.pack(">H", len(lang_b)) + lang_b + struct.pack(">H", len(text_b)) + text_b
    raise ValueError(f"cannot encode value tag 0x{tag:02x}")


def _put(out: bytearray, tag: int, name: str, value: bytes) -> None:
    name_b = name.encode("utf-8")
    if len(name_b) > 0xFFFF or len(value) > 0xFFFF:
        raise ValueError(f"IPP attribute {name!r} too long")
    out += struct.pack(">BH", tag, len(name_b)) + name_b + struct.pack(">H", len(value)) + value


# --- decoding -------------------------------------------------------------------------------

# Collections inside collections, at most this deep. Real printers nest two or three levels
# (media-col > media-size); a limit far above that keeps a hostile or broken reply from
# exhausting Python's stack (RecursionError) and comes back as an IppError like any other
# malformed message.
MAX_COLLECTION_DEPTH = 32


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.depth = data, 0, 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise IppError(f"message truncated at byte {self.pos} (wanted {size} more)")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]


def decode(data: bytes) -> IppMessage:
    """Parse a request or response; raises IppError on anything malformed."""
    reader = _Reader(bytes(data))
    major, minor = reader.u8(), reader.u8()
    if major not in (1, 2):
        raise IppError(f"unsupported IPP version {major}.{minor}")
    code = reader.u16()
    request_id = struct.unpack(">I", reader.take(4))[0]
    groups: list[tuple[int, dict[str, list[Any]]]] = []
    current: dict[str, list[Any]] | None = None
    last_name = ""
    while True:
        tag = reader.u8()
        if tag == END_OF_ATTRIBUTES:
            break
        if tag < 0x10:           # a group delimiter
            current, last_name = {}, ""
            groups.append((tag, current))
            continue
        if current is None:
            raise IppError("attribute before any group")
        name = reader.take(reader.u16()).decode("utf-8", "replace")
        value = _decode_value(reader, tag)
        if name:
            last_name = name
            current[name] = [value]
        elif last_name:
            current[last_name].append(value)
        else:
            raise IppError("additional value without an attribute")
    return IppMessage(code, request_id, groups, reader.data[reader.pos:], (major, minor))


def _decode_value(reader: _Reader, tag: int) -> Any:
    raw = reader.take(reader.u16())
    if tag == BEGIN_COLLECTION:
        if reader.depth >= MAX_COLLECTION_DEPTH:
            raise IppError(f"collections nested deeper than {MAX_COLLECTION_DEPTH} levels at byte {reader.pos}")
        reader.depth += 1
        try:
            return _decode_collection(reader)
        finally:
            reader.depth -= 1
    if tag in _OUT_OF_BAND:
        return None
    try:
        if tag in (INTEGER, ENUM):
            return struct.unpack(">i", raw)[0]
        if tag == BOOLEAN:
            return raw != b"\x00"
        if tag == RANGE_OF_INTEGER:
            return struct.unpack(">ii", raw)
        if tag == RESOLUTION:
            return struct.unpack(">iib", raw)
        if tag in (TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE):
            lang_len = struct.unpack(">H", raw[:2])[0]
            text_len = struct.unpack(">H", raw[2 + lang_len:4 + lang_len])[0]
            return raw[4 + lang_len:4 + lang_len + text_len].decode("utf-8", "replace")
    except struct.error as exc:
        raise IppError(f"bad value for tag 0x{tag:02x}: {exc}") from None
    if tag in _STRING_TAGS or 0x40 <= tag <= 0x5F:
        return raw.decode("utf-8", "replace")
    return raw


def _decode_collection(reader: _Reader) -> dict[str, list[Any]]:
    members: dict[str, list[Any]] = {}
    member = ""
    while True:
        tag = reader.u8()
        reader.take(reader.u16())          # member values carry no name
        if tag == END_COLLECTION:
            reader.take(reader.u16())
            return members
        if tag == MEMBER_NAME:
            member = reader.take(reader.u16()).decode("utf-8", "replace")
            members[member] = []
            continue
        if not member:
            raise IppError("collection value without a member name")
        members[member].append(_decode_value(reader, tag))


# --- where an IPP printer is (what devices.links.open_link gives for ipp://, a queue, sim:) ------

class IppEndpoint:
    """An IPP printer's address: `printer_uri()` is the printer-uri to send requests to.

    For a CUPS queue name the local scheduler's URI ($CUPS_SERVER or localhost:631); for a
    `sim:` URL, `start` powers a simulated printer on (at the first `printer_uri()`, and again
    after `close()`, on a new port) and `simulator` is that printer while it runs."""

    def __init__(self, url: str, printer_uri: str = "", start=None) -> None:
        self.url = url
        self._uri = printer_uri
        self._start = start
        self.simulator = None

    def printer_uri(self) -> str:
        if self._start is not None and self.simulator is None:
            self.simulator = self._start()
            self._uri = self.simulator.printer_uri
        return self._uri

    def close(self) -> None:
        if self._start is not None and self.simulator is not None:
            self.simulator.stop()
            self.simulator = None


def queue_uri(queue: str, cups_server: str = "") -> str:
    """The printer-uri of a queue on the local CUPS; `cups_server` is $CUPS_SERVER (a socket
    path, or nothing, means the local scheduler on its usual port)."""
    host = cups_server if cups_server and not cups_server.startswith("/") else "localhost:631"
    if ":" not in host:
        host += ":631"
    return f"ipp://{host}/printers/{queue}"
