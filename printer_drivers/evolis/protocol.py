"""Evolis escape commands over any `devices.transport.Transport` (serial, socket, USB).

Framing: ``ESC name[;param]… CR``; a panel download carries its bytes after the last
``;``. Every command gets one answer, read with a timeout before the next command is sent
(stale input is dropped first; after a timeout, the late answer is awaited and dropped too),
so answers never drift out of step:

* a text reply ending in CR, LF or NUL: a value, ``OK``, or ``ERR <reason>``;
* in ACK/NACK mode, ``0x06`` (ACK: taken) or ``0x15`` + one code byte (NACK: refused);
  read commands still answer their value as text.

`fault_for_answer` maps ERR answers and NACK codes to the kiosk's fault codes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from devices.status import DeviceError, Fault, FaultCode
from devices.transport import ReplyResync, Transport

ESC, CR = b"\x1b", b"\r"
ACK, NACK = 0x06, 0x15
_TERMINATORS = b"\r\n\x00"
_MAX_REPLY = 256
log = logging.getLogger(__name__)

# NACK codes (programming guide).
NACK_FAULTS = {
    "1": (FaultCode.COMMAND_REJECTED, "command error"),
    "2": (FaultCode.COMMAND_REJECTED, "parameter error"),
    "T": (FaultCode.MEDIA_JAM, "time-out or mechanical error"),
    "C": (FaultCode.COVER_OPEN, "cover open"),
    "F": (FaultCode.FEEDER_EMPTY, "feeder error"),
    "R": (FaultCode.RIBBON_ERROR, "ribbon error"),
    "K": (FaultCode.COMMAND_REJECTED, "magnetic checksum error"),
    "D": (FaultCode.COMMAND_REJECTED, "magnetic data error"),
    "W": (FaultCode.COMMAND_REJECTED, "magnetic write error"),
}

# `ERR …` answers, matched on words, most specific first. The vendor names ERR CARD and
# ERR NEED CLEANING; the rest are our reading of the status families in EVOLIS.md.
ERR_FAULTS: tuple[tuple[tuple[str, ...], FaultCode], ...] = (
    (("CLEANING",), FaultCode.NEEDS_CLEANING),
    (("COVER",), FaultCode.COVER_OPEN),
    (("FEEDER",), FaultCode.FEEDER_EMPTY),
    (("NO", "CARD", "FEED"), FaultCode.FEEDER_EMPTY),
    (("RIBBON", "END"), FaultCode.RIBBON_OUT),
    (("NO", "RIBBON"), FaultCode.RIBBON_OUT),
    (("RIBBON",), FaultCode.RIBBON_ERROR),
    (("MECHANICAL",), FaultCode.MEDIA_JAM),
    (("JAM",), FaultCode.MEDIA_JAM),
    (("CARD",), FaultCode.MEDIA_JAM),
    (("REJECT",), FaultCode.REJECT_BOX_FULL),
    (("TIMEOUT",), FaultCode.TIMEOUT),
)


def frame(name: str, *params: object, data: bytes | None = None) -> bytes:
    """One command: ESC name;p1;p2… CR, with a download's payload after a final ';'."""
    if not name.isascii() or not name.isalpha():
        raise ValueError(f"bad command name {name!r}")
    text = ";".join([name, *(str(p) for p in params)]).encode("ascii")
    if b"\r" in text or b"\x1b" in text:
        raise ValueError("command parameters cannot hold CR or ESC")
    if data is None:
        return ESC + text + CR
    return ESC + text + b";" + bytes(data) + CR


def download_frame(panel: str, levels: int, payload: bytes, compressed: bool) -> bytes:
    if compressed:
        return frame("Dbc", panel, levels, len(payload), data=payload)
    return frame("Db", panel, levels, data=payload)


def _words(text: str) -> list[str]:
    return text.upper().replace("_", " ").split()


def fault_for_answer(answer: str) -> Fault | None:
    """The fault an answer reports, or None for a normal answer."""
    if answer.startswith("\x15"):
        code = answer[1:2]
        fault_code, detail = NACK_FAULTS.get(code, (FaultCode.COMMAND_REJECTED, f"NACK {code!r}"))
        return Fault(fault_code, f"NACK {code}: {detail}")
    if not answer.upper().startswith("ERR"):
        return None
    words = _words(answer)[1:]
    for needed, fault_code in ERR_FAULTS:
        if all(any(word.startswith(n) for word in words) for n in needed):
            return Fault(fault_code, answer)
    return Fault(FaultCode.COMMAND_REJECTED, answer)


@dataclass(frozen=True)
class Answer:
    command: str               # the command's name and parameters, for messages
    text: str                  # "" for a bare ACK
    fault: Fault | None = None

    @property
    def ok(self) -> bool:
        return self.fault is None

    def raise_for_fault(self) -> Answer:
        if self.fault is not None:
            raise DeviceError(self.fault)
        return self


class EvolisLink:
    """Command/answer exchange with one printer over an open-able transport."""

    def __init__(self, transport: Transport, timeout: float = 5.0) -> None:
        self.transport = transport
        self.timeout = timeout
        self._resync = ReplyResync()       # a command that timed out: its answer may come late

    def ask(self, name: str, *params: object, data: bytes | None = None,
            timeout: float | None = None) -> Answer:
        """Send one command and read its answer; ERR/NACK come back as `Answer.fault`."""
        wire = frame(name, *params, data=data)
        label = ";".join([name, *(str(p) for p in params)])
        return self.exchange(wire, label, timeout)

    def command(self, name: str, *params: object, data: bytes | None = None,
                timeout: float | None = None) -> Answer:
        """`ask`, raising DeviceError when the printer refuses."""
        return self.ask(name, *params, data=data, timeout=timeout).raise_for_fault()

    def download(self, panel: str, levels: int, payload: bytes, compressed: bool = True,
                 timeout: float | None = None) -> Answer:
        wire = download_frame(panel, levels, payload, compressed)
        label = f"{'Dbc' if compressed else 'Db'};{panel};{levels}"
        return self.exchange(wire, label, timeout).raise_for_fault()

    def exchange(self, wire: bytes, label: str, timeout: float | None) -> Answer:
        timeout = self.timeout if timeout is None else timeout
        self.transport.ensure_open()
        stale = self._resync.before_request(self.transport.discard_input)
        if stale:
            log.debug("dropped %d stale bytes before %s", len(stale), label)
        self.transport.write(wire, timeout=max(timeout, len(wire) / 10_000))
        try:
            text = self._read_answer(timeout)
        except DeviceError as exc:
            if exc.code == FaultCode.TIMEOUT:
                self._resync.missed()
            raise
        answer = Answer(label, text, fault_for_answer(text))
        if not answer.ok:
            log.info("printer refused %s: %s", label, answer.fault.detail if answer.fault else text)
        return answer

    def _read_answer(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        reply = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceError(FaultCode.TIMEOUT, f"no complete answer within {timeout:.1f}s "
                                                     f"(got {bytes(reply[:24])!r})")
            byte = self.transport.read(1, remaining)
            if not byte:
                continue
            if not reply and byte[0] == ACK:
                return ""                        # ACK mode: the command was taken
            if not reply and byte[0] == NACK:
                code = self.transport.read(1, max(deadline - time.monotonic(), 0.05))
                if not code:
                    raise DeviceError(FaultCode.TIMEOUT, "NACK without its code")
                return "\x15" + code.decode("ascii", "replace")
            if byte in _TERMINATORS:
                if reply:                        # leading terminators are the last reply's tail
                    return _decode(bytes(reply))
                continue
            reply += byte
            if len(reply) > _MAX_REPLY:
                raise DeviceError(FaultCode.PROTOCOL_ERROR, f"reply longer than {_MAX_REPLY} bytes")


def _decode(raw: bytes) -> str:
    """Replies are printable ASCII; anything else means the line is garbled."""
    if any(b < 0x20 or b > 0x7E for b in raw):
        raise DeviceError(FaultCode.PROTOCOL_ERROR, f"unreadable reply {raw[:24]!r}")
    return raw.decode("ascii")
