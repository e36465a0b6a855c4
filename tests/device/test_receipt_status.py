"""DLE EOT status bytes to the status model, and the ESC/POS simulator's parser."""

import pytest
from escpos.printer import Dummy
from PIL import Image

from devices.sim.escpos import EscPosSimulator
from devices.status import Consumable, DeviceState, FaultCode, SupplyLevel
from printer_drivers.receipt import decode_status

OK = 0x12


@pytest.mark.parametrize("replies, state, faults, paper", [
    ((OK, OK, OK, OK), DeviceState.READY, set(), SupplyLevel.FULL),
    ((OK, OK, OK, OK | 0x0C), DeviceState.READY, {FaultCode.PAPER_LOW}, SupplyLevel.LOW),
    ((OK | 0x08, OK | 0x20, OK, OK | 0x6C), DeviceState.USER_ERROR, {FaultCode.PAPER_OUT}, SupplyLevel.OUT),
    ((OK | 0x08, OK | 0x04, OK, OK), DeviceState.USER_ERROR, {FaultCode.COVER_OPEN}, SupplyLevel.FULL),
    ((OK | 0x08, OK | 0x40, OK | 0x08, OK), DeviceState.USER_ERROR, {FaultCode.MEDIA_JAM}, SupplyLevel.FULL),
    ((OK | 0x08, OK | 0x40, OK | 0x20, OK), DeviceState.HARDWARE_ERROR, {FaultCode.HARDWARE}, SupplyLevel.FULL),
    ((OK | 0x08, OK | 0x40, OK | 0x40, OK), DeviceState.OFFLINE, {FaultCode.OFFLINE}, SupplyLevel.FULL),
    ((OK | 0x08, OK, OK, OK), DeviceState.OFFLINE, {FaultCode.OFFLINE}, SupplyLevel.FULL),
    ((OK | 0x08, OK | 0x24, OK, OK | 0x0C), DeviceState.USER_ERROR,
     {FaultCode.COVER_OPEN, FaultCode.PAPER_OUT}, SupplyLevel.OUT),
])
def test_status_bytes_to_the_model(replies, state, faults, paper):
    status = decode_status(*replies)
    assert status.state == state
    assert {f.code for f in status.faults} == faults
    assert status.supply(Consumable.RECEIPT_PAPER).level == paper
    assert status.usable == (state == DeviceState.READY)


@pytest.mark.parametrize("faults, expected", [
    ((), (0x12, 0x12, 0x12, 0x12)),
    (("paper_out",), (0x1A, 0x32, 0x12, 0x7E)),
    (("cover_open",), (0x1A, 0x16, 0x12, 0x12)),
    (("paper_near_end",), (0x12, 0x12, 0x12, 0x1E)),
])
def test_simulator_status_bytes(faults, expected):
    sim = EscPosSimulator(faults)
    for n in (1, 2, 3, 4):
        sim.feed(b"\x10\x04" + bytes((n,)))
    assert tuple(sim.take_output()) == expected


def test_simulator_parses_a_stream_split_anywhere():
    page = Dummy(profile="TM-T20II")
    page.hw("INIT")
    page.set(align="center", bold=True)
    page.textln("Halo")
    page.image(Image.new("1", (40, 10), 0), impl="graphics")
    page.image(Image.new("1", (16, 4), 0), impl="bitImageRaster")
    page.cut(mode="PART")
    sim = EscPosSimulator()
    for byte in page.output:
        sim.feed(bytes((byte,)))
    assert sim.lines[0] == "Halo"
    assert [im.size for im in sim.images] == [(40, 10), (16, 4)]
    assert all(im.getextrema() == (0, 0) for im in sim.images)       # all black, as sent
    assert sim.cuts == 1 and sim.unknown_commands == []


def test_simulator_records_unknown_commands():
    sim = EscPosSimulator()
    sim.feed(b"\x1b\x7f" + b"after\n")
    assert sim.unknown_commands == [b"\x1b\x7f"] and sim.lines == ["after"]


def test_a_stopped_printer_keeps_data_until_cleared():
    sim = EscPosSimulator(["cover_open"])
    sim.feed(b"held\n")
    sim.feed(b"\x10\x04\x02")
    assert sim.take_output() == bytes((0x16,)) and sim.lines == []
    sim.clear("cover_open")
    assert sim.lines == ["held"]


@pytest.mark.parametrize("replies, paper, faults, unknown", [
    ((OK, OK, None, None), SupplyLevel.UNKNOWN, set(), ["DLE EOT 3", "DLE EOT 4"]),
    ((None, None, None, None), SupplyLevel.UNKNOWN, set(), ["DLE EOT 1", "DLE EOT 2", "DLE EOT 3", "DLE EOT 4"]),
    ((OK, OK | 0x20, OK, None), SupplyLevel.OUT, {FaultCode.PAPER_OUT}, ["DLE EOT 4"]),   # the others still count
    ((OK, OK | 0x04, None, OK), SupplyLevel.FULL, {FaultCode.COVER_OPEN}, ["DLE EOT 3"]),
])
def test_an_unreadable_status_byte_is_unknown_not_a_fault(replies, paper, faults, unknown):
    status = decode_status(*replies)
    assert {f.code for f in status.faults} == faults
    assert status.supply(Consumable.RECEIPT_PAPER).level == paper
    assert status.capabilities["status_unknown"] == unknown
    assert status.usable == (not faults)
