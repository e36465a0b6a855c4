"""Fuzz the ESC/POS status reader: the four DLE EOT replies -> status bytes -> DeviceStatus.

Kept corpus (corpus/escpos_status/): one file per case, the four replies (DLE EOT 1..4) one a
line in hex, `-` for a query that got no answer.

Properties: any reply is a status byte, `None` (unreadable, noted once) or a DeviceError with
PROTOCOL_ERROR, never another exception; four bytes always make a snapshot whose state agrees
with its faults; an unreadable byte never adds an alarm the readable byte would not raise;
the simulator's status bytes for any set of its faults decode to exactly those faults.
"""

from __future__ import annotations

import logging

from hypothesis import given, strategies as st

from devices.sim.escpos import (COVER_OPEN, CUTTER_ERROR, OFFLINE, PAPER_NEAR_END, PAPER_OUT,
                                EscPosSimulator)
from devices.status import (Consumable, DeviceError, DeviceState, DeviceStatus, DeviceTimeout, FaultCode,
                            Severity, SupplyLevel)
from devices.unreadable import UnreadableAnswers
from printer_drivers.receipt import decode_status, status_byte

from .corpus import budget, seeds, with_seeds

log = logging.getLogger("fuzz.escpos")
NO_ANSWER = None


def replies_from(raw: bytes) -> list[bytes | None]:
    """A corpus file as the four replies (None: the query timed out)."""
    lines = raw.decode("ascii").split()
    assert len(lines) == 4, f"an escpos_status corpus file holds 4 lines, not {len(lines)}"
    return [NO_ANSWER if line == "-" else bytes.fromhex(line) for line in lines]


def read_status(replies: list[bytes | None]) -> DeviceStatus | DeviceError:
    """What ReceiptPrinter._read_status makes of the replies to DLE EOT 1..4."""
    unreadable = UnreadableAnswers(log, "receipt_printer")
    try:
        status_bytes = []
        for n, reply in enumerate(replies, 1):
            if not reply:                                  # what ReceiptPrinter._query does
                raise DeviceTimeout(f"no answer to status query DLE EOT {n}")
            status_bytes.append(status_byte(n, reply, unreadable))
    except DeviceError as error:
        return error
    return decode_status(*status_bytes)


def check_snapshot(status: DeviceStatus) -> None:
    codes = [f.code for f in status.faults]
    assert len(set(codes)) == len(codes), codes
    alarms = {f.code for f in status.faults if f.severity == Severity.ALARM}
    if FaultCode.HARDWARE in alarms:
        assert status.state == DeviceState.HARDWARE_ERROR
    elif alarms & {FaultCode.COVER_OPEN, FaultCode.PAPER_OUT, FaultCode.MEDIA_JAM}:
        assert status.state == DeviceState.USER_ERROR
    elif alarms:
        assert status.state == DeviceState.OFFLINE and alarms == {FaultCode.OFFLINE}
    else:
        assert status.state == DeviceState.READY and status.usable
    assert status.usable == (not alarms)
    (paper,) = status.supplies
    assert paper.consumable == Consumable.RECEIPT_PAPER
    assert (paper.level == SupplyLevel.OUT) == (FaultCode.PAPER_OUT in codes)
    assert (paper.level == SupplyLevel.LOW) == (FaultCode.PAPER_LOW in codes)


REPLY = st.one_of(st.integers(0, 255).map(lambda b: bytes((b,))),
                  st.integers(0, 255).map(lambda b: bytes((b & ~0x93 & 0xFF | 0x12,))),   # fixed bits kept
                  st.binary(min_size=1, max_size=6))


@budget(120)
@with_seeds([replies_from(raw) for raw in seeds("escpos_status")])
@given(st.lists(st.one_of(REPLY, st.none()), min_size=4, max_size=4))
def test_any_four_replies_are_a_snapshot_or_a_link_fault(replies: list[bytes | None]) -> None:
    result = read_status(replies)
    if isinstance(result, DeviceError):
        first_bad = next(reply for reply in replies if not reply or len(reply) != 1)
        assert result.fault.code == (FaultCode.TIMEOUT if not first_bad else FaultCode.PROTOCOL_ERROR)
        return
    assert all(reply and len(reply) == 1 for reply in replies)
    check_snapshot(result)
    unknown = [f"DLE EOT {n}" for n, reply in enumerate(replies, 1) if reply[0] & 0x93 != 0x12]
    assert result.capabilities.get("status_unknown", []) == unknown


@budget(120)
@given(st.lists(st.integers(0, 255).map(lambda b: b & ~0x93 & 0xFF | 0x12), min_size=4, max_size=4),
       st.integers(0, 3))
def test_an_unreadable_byte_never_adds_an_alarm(status_bytes: list[int], which: int) -> None:
    known = decode_status(*status_bytes)
    blind = decode_status(*(None if i == which else b for i, b in enumerate(status_bytes)))
    check_snapshot(known)
    check_snapshot(blind)
    # "printer reports offline" stands in only when no other alarm explains it, so compare
    # the alarms other than OFFLINE, and OFFLINE on its own.
    alarms = lambda s: {f.code for f in s.alarms}                      # noqa: E731
    assert alarms(blind) - {FaultCode.OFFLINE} <= alarms(known) - {FaultCode.OFFLINE}
    assert not (FaultCode.OFFLINE in alarms(blind) and not alarms(known))
    if known.usable:
        assert blind.usable


SIM_FAULTS = (PAPER_OUT, PAPER_NEAR_END, COVER_OPEN, OFFLINE, CUTTER_ERROR)


@budget(60)
@given(st.sets(st.sampled_from(SIM_FAULTS)))
def test_the_simulators_status_bytes_decode_to_its_faults(faults: set[str]) -> None:
    printer = EscPosSimulator(faults=tuple(faults))
    status = read_status([bytes((printer.status_byte(n),)) for n in (1, 2, 3, 4)])
    assert isinstance(status, DeviceStatus)
    check_snapshot(status)
    expected = {FaultCode.COVER_OPEN} if COVER_OPEN in faults else set()
    expected |= {FaultCode.PAPER_OUT} if PAPER_OUT in faults else \
        {FaultCode.PAPER_LOW} if PAPER_NEAR_END in faults else set()
    expected |= {FaultCode.MEDIA_JAM} if CUTTER_ERROR in faults else set()
    expected |= {FaultCode.OFFLINE} if OFFLINE in faults else set()
    codes = {f.code for f in status.faults}
    # A stopped printer reports "offline" too; that adds OFFLINE only when nothing else says why.
    assert codes - {FaultCode.OFFLINE} == expected - {FaultCode.OFFLINE}
    assert (FaultCode.OFFLINE in codes) == (OFFLINE in faults or (printer.ready is False and not
                                                                    expected & {FaultCode.COVER_OPEN,
                                                                                FaultCode.PAPER_OUT,
                                                                                FaultCode.MEDIA_JAM}))
    assert status.usable == printer.ready
