"""Framing, answers (CR/LF/NUL endings, ACK/NACK, ERR), fault mapping and status mapping."""

import threading
import time

import pytest

from devices.sim.base import DeviceSimulator
from devices.sim.evolis import EvolisSimulator
from devices.sim.evolis_decode import CommandReader, StreamError
from devices.sim.serve import serve_pty
from devices.status import DeviceError, DeviceState, FaultCode
from devices.links import open_transport
from printer_drivers.evolis.protocol import Answer, EvolisLink, download_frame, fault_for_answer, frame
from printer_drivers.evolis.status import build_status


def test_framing():
    assert frame("Pr", "ymcko") == b"\x1bPr;ymcko\r"
    assert frame("Rco", "c") == b"\x1bRco;c\r"
    assert frame("Ss") == b"\x1bSs\r"
    assert download_frame("k", 2, b"\x00\xff", True) == b"\x1bDbc;k;2;2;\x00\xff\r"
    assert download_frame("y", 32, b"\x01\x02", False) == b"\x1bDb;y;32;\x01\x02\r"
    with pytest.raises(ValueError):
        frame("Pr", "ymc\rko")
    with pytest.raises(ValueError):
        frame("P r")


@pytest.mark.parametrize("answer, code", [
    ("OK", None), ("YMCKO", None), ("CARD", None),
    ("ERR NEED CLEANING", FaultCode.NEEDS_CLEANING), ("ERR CARD", FaultCode.MEDIA_JAM),
    ("ERR COVER OPEN", FaultCode.COVER_OPEN), ("ERR FEEDER EMPTY", FaultCode.FEEDER_EMPTY),
    ("ERR RIBBON ENDED", FaultCode.RIBBON_OUT), ("ERR NO RIBBON", FaultCode.RIBBON_OUT),
    ("ERR RIBBON TYPE", FaultCode.RIBBON_ERROR), ("ERR MECHANICAL", FaultCode.MEDIA_JAM),
    ("ERR COMMAND", FaultCode.COMMAND_REJECTED), ("ERR SOMETHING NEW", FaultCode.COMMAND_REJECTED),
    ("\x15C", FaultCode.COVER_OPEN), ("\x15F", FaultCode.FEEDER_EMPTY), ("\x15R", FaultCode.RIBBON_ERROR),
    ("\x15T", FaultCode.MEDIA_JAM), ("\x151", FaultCode.COMMAND_REJECTED), ("\x152", FaultCode.COMMAND_REJECTED),
    ("\x15?", FaultCode.COMMAND_REJECTED),
])
def test_answers_map_to_faults(answer, code):
    fault = fault_for_answer(answer)
    assert (fault.code if fault else None) == code


class Scripted(DeviceSimulator):
    """Answers each command with the next scripted bytes (None: stay silent)."""

    def __init__(self, replies):
        super().__init__()
        self.replies = list(replies)
        self.reader = CommandReader()

    def feed(self, data):
        for _ in self.reader.push(data):
            reply = self.replies.pop(0)
            if reply is not None:
                self.send(reply)


def test_answer_endings_ack_nack_and_stale_input():
    script = [b"KC200\r", b"1.7\n", b"SN1\x00", b"\x06", b"\x15C", b"\r\nYMCKO\r", None, b"\xfe\xfa\r", b"OK\r"]
    with serve_pty(Scripted(script)) as link:
        sim = link.sim
        evolis = EvolisLink(open_transport(link.url), timeout=0.5)
        assert evolis.ask("Rtp").text == "KC200"
        assert evolis.ask("Rfv").text == "1.7"
        assert evolis.ask("Rsn").text == "SN1"
        assert evolis.command("Ss").text == ""                      # ACK
        with pytest.raises(DeviceError) as refused:
            evolis.command("Se")
        assert refused.value.code == FaultCode.COVER_OPEN
        assert evolis.ask("Rr").text == "YMCKO"                     # leading CR LF skipped
        with pytest.raises(DeviceError) as silent:
            evolis.ask("Rse", "o")
        assert silent.value.code == FaultCode.TIMEOUT
        with pytest.raises(DeviceError) as garbled:
            evolis.ask("Rse", "m")
        assert garbled.value.code == FaultCode.PROTOCOL_ERROR
        sim.send(b"LATE\r")                                        # a reply nobody waits for
        time.sleep(0.2)                                            # let it reach the host
        assert evolis.ask("Rlr", "p").text == "OK"                 # dropped, answers stay in step
        evolis.transport.close()


class Slow(Scripted):
    """Answers each command after its scripted delay, as a printer (or a simulator starved of
    CPU) that lags behind."""

    def __init__(self, replies, delays):
        super().__init__(replies)
        self.delays = list(delays)

    def feed(self, data):
        for _ in self.reader.push(data):
            threading.Timer(self.delays.pop(0), self.send, (self.replies.pop(0),)).start()


def test_an_answer_that_comes_after_its_timeout_does_not_shift_the_next_ones():
    # Rse;m's answer comes 0.3 s after its timeout, while Rco;c's own answer is on its way.
    with serve_pty(Slow([b"0.35\r", b"12\r", b"34\r"], delays=[0.8, 0.4, 0.0])) as link:
        evolis = EvolisLink(open_transport(link.url), timeout=0.5)
        with pytest.raises(DeviceError) as late:
            evolis.ask("Rse", "m")
        assert late.value.code == FaultCode.TIMEOUT
        assert evolis.ask("Rco", "c").text == "12"     # not the feeder's late '0.35'
        assert evolis.ask("Rco", "p").text == "34"
        evolis.transport.close()


def answers(**texts):
    keys = {"cover": "Rse;o", "feeder": "Rse;m", "card": "Rlr;p", "cleaning": "Rlr;r", "ribbon_left": "Rco;l"}
    defaults = {"cover": "CLOSED", "feeder": "CARDS", "card": "OK", "cleaning": "OK", "ribbon_left": "150"}
    defaults.update(texts)
    return {k: Answer(keys[k], v, fault_for_answer(v)) for k, v in defaults.items()}


@pytest.mark.parametrize("texts, state, codes", [
    ({}, DeviceState.READY, []),
    ({"card": "CARD"}, DeviceState.BUSY, []),
    ({"card": "SMART CARD"}, DeviceState.BUSY, []),
    ({"card": "NO CARD"}, DeviceState.READY, []),
    ({"card": "ERR CARD"}, DeviceState.USER_ERROR, [FaultCode.MEDIA_JAM]),
    ({"cover": "OPEN"}, DeviceState.USER_ERROR, [FaultCode.COVER_OPEN]),
    ({"cleaning": "ERR NEED CLEANING"}, DeviceState.USER_ERROR, [FaultCode.NEEDS_CLEANING]),
    ({"feeder": "EMPTY", "ribbon_left": "0"}, DeviceState.USER_ERROR, [FaultCode.FEEDER_EMPTY, FaultCode.RIBBON_OUT]),
    ({"feeder": "LOW", "ribbon_left": "3"}, DeviceState.READY, [FaultCode.FEEDER_LOW, FaultCode.RIBBON_LOW]),
    ({"cover": "MAYBE"}, DeviceState.READY, []),                 # unreadable: unknown (test_evolis_tolerance)
    ({"ribbon_left": "lots"}, DeviceState.READY, []),
])
def test_status_mapping(texts, state, codes):
    status = build_status(answers(**texts), {"model": "X"})
    assert status.state == state
    assert [f.code for f in status.faults] == codes


def test_simulator_answers_bad_and_unknown_commands():
    sim = EvolisSimulator()
    sim.feed(b"\x1bXyz\r\x1bDbc;q;2;1;\x00\r\x1bRco;z\r\x1bDbc;k;2;1;\x00\r")
    replies = sim.take_output().split(b"\r")
    assert replies[:4] == [b"ERR COMMAND", b"ERR PARAM", b"ERR PARAM", b"ERR SEQUENCE"]


def test_reader_resynchronises_after_noise():
    reader = CommandReader()
    items = reader.push(b"\xff\xfe\x00\x1bSs\r\x1b\x01\x02\r\x1bSe\r")
    names = [i.name if not isinstance(i, StreamError) else "error" for i in items]
    assert names == ["Ss", "error", "Se"] and reader.skipped == 5


def test_simulator_takes_time_to_eject_and_reports_busy_meanwhile():
    sim = EvolisSimulator(card_seconds=0.3)
    white_k = download_frame("k", 2, b"\x00" * 1016, True)
    sim.feed(frame("Pr", "ymcko") + frame("Ss") + frame("Sr") + white_k + frame("Se") + frame("Rlr", "p"))
    assert sim.take_output().split(b"\r")[:6] == [b"OK", b"OK", b"OK", b"OK", b"OK", b"CARD"]
    sim.feed(frame("Rse", "p"))
    assert sim.take_output() == b"CARD\r"
    time.sleep(0.35)
    sim.feed(frame("Rlr", "p"))
    assert sim.take_output() == b"OK\r"
    assert sim.snapshot()["cards"] == 1 and len(sim.decoded) == 1
