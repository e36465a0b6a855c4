"""Fuzz the Evolis reply reader, the status built from its answers, and the command-stream
decoder the simulator reads the driver's output with (seeded with the vendor driver's real
captured streams in shared/testdata/evolis).

Properties: a reply is an `Answer` or a `DeviceError` with a catalogued fault, never another
exception; an answer's text is printable ASCII and every ERR/NACK answer carries a fault; the
status is always a snapshot whose state agrees with its faults; a stream is cards or a
`StreamError`.
"""

from __future__ import annotations

import logging
import time

from hypothesis import given, strategies as st

from devices.sim.evolis_decode import CommandReader, StreamError, decode_stream
from devices.status import DeviceError, DeviceState, DeviceStatus, FaultCode, Severity
from devices.transport import Transport
from devices.unreadable import UnreadableAnswers
from printer_drivers.evolis.protocol import EvolisLink
from printer_drivers.evolis.sensors import Threshold
from printer_drivers.evolis.status import STATUS_READS, build_status
from tests.conftest import SHARED

from .corpus import budget, seeds, with_seeds

CAPTURES = sorted((SHARED / "testdata" / "evolis").glob("*.evolis"))


class ScriptedLine(Transport):
    """The printer's side of the wire as a list of byte strings, one per command: what a
    serial or socket transport would hand the link. In memory, so thousands of replies run in
    seconds; the real transports have their own tests (tests/device/)."""

    def __init__(self, replies: list[bytes]) -> None:
        super().__init__("fuzz:evolis")
        self._replies, self._pending, self.written = list(replies), b"", []

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    @property
    def is_open(self) -> bool:
        return True

    def write(self, data: bytes, timeout: float) -> None:
        self.written.append(data)
        self._pending = self._replies.pop(0) if self._replies else b""

    def read(self, size: int, timeout: float) -> bytes:
        if not self._pending:
            time.sleep(min(timeout, 0.001))     # nothing more: the link's deadline ends it
            return b""
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk


def ask_all(replies: list[bytes]) -> list[object]:
    link = EvolisLink(ScriptedLine(replies), timeout=0.02)
    results: list[object] = []
    for _, (name, *params) in STATUS_READS[:len(replies)]:
        try:
            results.append(link.ask(name, *params))
        except DeviceError as error:
            results.append(error)
    return results


REPLY = st.one_of(st.binary(max_size=40),
                  st.sampled_from([b"OK", b"CARD", b"ERR CARD", b"ERR NEED CLEANING", b"0.21", b"147", b"\x15T",
                                   b"\x06", b"ERR COMMAND", b"OPEN", b"EMPTY"])
                  .flatmap(lambda text: st.sampled_from([b"\r", b"\n", b"\x00", b"\r\n", b""]).map(text.__add__)))


@budget(60)
@with_seeds(seeds("evolis_replies"))
@given(REPLY)
def test_any_reply_is_an_answer_or_a_catalogued_device_error(reply: bytes) -> None:
    (result,) = ask_all([reply])
    if isinstance(result, DeviceError):
        assert result.fault.code in (FaultCode.TIMEOUT, FaultCode.PROTOCOL_ERROR)
        return
    assert all(" " <= ch <= "~" for ch in result.text.lstrip("\x15")), result.text
    if result.text.upper().startswith("ERR") or result.text.startswith("\x15"):
        assert result.fault is not None
    else:
        assert result.fault is None and result.ok


def status_from(replies: list[bytes], thresholds) -> DeviceStatus | None:
    answers = ask_all(replies)
    if any(isinstance(a, DeviceError) for a in answers):
        return None                           # the driver reports a link fault, not a status
    unreadable = UnreadableAnswers(logging.getLogger("fuzz"), "card printer")
    return build_status({key: answer for (key, _), answer in zip(STATUS_READS, answers)},
                        {"model": "fuzz"}, card_expected=False, thresholds=thresholds, unreadable=unreadable)


ANSWER_TEXT = st.one_of(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
                        st.sampled_from(["OK", "CARD", "NO CARD", "OPEN", "CLOSED", "CARDS", "LOW", "EMPTY", "0",
                                         "20", "21", "ERR CARD", "ERR NEED CLEANING", "ERR COMMAND", "4.8", "0.1"]))


@budget(60)
@with_seeds([raw.replace(b"\n", b"\r").split(b"\r")[:5] for raw in seeds("evolis_status")])
@given(st.lists(ANSWER_TEXT.map(lambda t: t.encode() + b"\r"), min_size=5, max_size=5))
def test_any_set_of_status_answers_is_a_consistent_snapshot(replies: list[bytes]) -> None:
    replies = [r if r.endswith((b"\r", b"\n")) or r[:1] in (b"\x06", b"\x15") else r + b"\r" for r in replies]
    for table in (None, {"cover": Threshold(2.5, True), "feeder": Threshold(1.0, False)}):
        status = status_from(replies, table)
        if status is None:
            continue
        alarms = [f for f in status.faults if f.severity == Severity.ALARM]
        assert (status.state == DeviceState.USER_ERROR) == bool(alarms)
        assert status.state in (DeviceState.READY, DeviceState.BUSY, DeviceState.USER_ERROR)
        assert not (status.usable and alarms)
        assert len({f.code for f in status.faults}) == len(status.faults)
        ribbon = [s for s in status.supplies if s.consumable.name == "RIBBON"]
        if any(f.code == FaultCode.RIBBON_OUT for f in status.faults):
            assert ribbon and ribbon[0].level.name == "OUT" and not status.usable


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for where, value in edits:
        out[where % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


@budget(12)
@given(st.sampled_from(CAPTURES), st.lists(st.tuples(st.integers(0, 2 ** 20), st.integers(0, 255)), max_size=4),
       st.one_of(st.none(), st.integers(0, 90_000)))
def test_a_damaged_real_capture_decodes_or_is_a_stream_error(capture, edits, cut) -> None:
    assert CAPTURES, "the captured streams must sit in shared/testdata/evolis"
    try:
        cards = decode_stream(mutate(capture.read_bytes(), edits, cut))
    except StreamError:
        return
    for card in cards:
        for panel in (*card.front.values(), *card.back.values()):
            assert panel.pixels.shape == (1016, 648)


@budget(80)
@with_seeds(seeds("evolis_stream"))
@given(st.binary(max_size=200))
def test_any_bytes_split_into_commands_or_stream_errors(data: bytes) -> None:
    whole = CommandReader().push(data)
    # Fed a byte at a time, the reader finds the same commands: framing does not depend on
    # how the bytes arrive.
    reader, piecewise = CommandReader(), []
    for i in range(len(data)):
        piecewise += reader.push(data[i:i + 1])
    if not any(isinstance(c, StreamError) for c in whole + piecewise):
        assert whole == piecewise
    try:
        decode_stream(data)
    except StreamError:
        pass
