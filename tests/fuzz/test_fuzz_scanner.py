"""Fuzz the scanner input: the serial scanner's framing, the keyboard-mode decoder, and the
WhatsApp QR payload every scan ends in.

Kept corpora: corpus/scanner_serial/ (byte streams as a serial scanner sends them; 05 once
made the tail of an over-long code a code of its own) and corpus/scanner_qr/ (scanned texts).

Properties: how the link splits the bytes never changes the codes; a code never holds a
terminator and is never longer than the limit plus one byte (so it is refused as too long);
any text is a request number or a ScanRejected with a known reason, and what is accepted is
exactly `ADM1:` and a well-formed request number with a real date; every well-formed code is
accepted; a person's typing never makes a scan, a scanner's burst always does.
"""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given, strategies as st

from devices.scanner import (_REJECTIONS, KeyboardWedgeDecoder, ScanEvent, ScanFraming, ScanRejected,
                             _decode, parse_scan, parse_whatsapp_qr)

from .corpus import budget, seeds, with_seeds

LIMIT = 64          # small, so the fuzzer reaches the over-long path often
TERMINATORS = re.compile(rb"[\r\n]")
REQUEST = re.compile(r"REQ-(\d{8})-[A-Z0-9]{6}")

STREAM = st.lists(st.one_of(st.binary(max_size=30), st.sampled_from([b"\r", b"\n", b"\r\n", b"ADM1:REQ-20261122-AB12CD",
                                                                     b"X" * 70])), max_size=12).map(b"".join)


def frame(stream: bytes, cuts: list[int]) -> tuple[list[bytes], bytes]:
    framing, codes, start = ScanFraming(LIMIT), [], 0
    for cut in sorted(set(c % (len(stream) + 1) for c in cuts)) + [len(stream)]:
        codes += framing.push(stream[start:cut])
        start = cut
    return codes, framing.take_partial()


@budget(150)
@with_seeds([(raw, []) for raw in seeds("scanner_serial")])
@given(st.tuples(STREAM, st.lists(st.integers(0, 10 ** 4), max_size=8)))
def test_how_the_bytes_arrive_never_changes_the_codes(case: tuple[bytes, list[int]]) -> None:
    stream, cuts = case
    whole, whole_partial = frame(stream, [])
    piecewise, partial = frame(stream, cuts)
    bytewise, byte_partial = frame(stream, list(range(len(stream))))
    assert piecewise == whole == bytewise and partial == whole_partial == byte_partial
    for code in whole:
        assert code and not TERMINATORS.search(code) and len(code) <= LIMIT + 1
    # Without an over-long code the codes are exactly the terminated pieces of the stream.
    pieces = TERMINATORS.split(stream)
    if all(len(piece) <= LIMIT for piece in pieces):
        assert whole == [piece for piece in pieces[:-1] if piece] and partial == pieces[-1]
    for code, complete in [(code, True) for code in whole] + [(partial, False)]:
        try:
            parse_scan(ScanEvent(_decode(code), "serial:fuzz", complete=complete))
        except ScanRejected as rejected:
            assert rejected.reason_code in _REJECTIONS
        else:
            assert complete and len(code) <= 64


def request_numbers() -> st.SearchStrategy[str]:
    return st.tuples(st.dates(date(1, 1, 1), date(9999, 12, 31)),
                     st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=6, max_size=6)).map(
        lambda parts: f"REQ-{parts[0]:%Y%m%d}-{parts[1]}" if parts[0].year >= 1000 else
        f"REQ-{parts[0].year:04d}{parts[0]:%m%d}-{parts[1]}")


@budget(200)
@with_seeds([raw.decode("utf-8") for raw in seeds("scanner_qr")])
@given(st.one_of(st.text(max_size=80), request_numbers().map("ADM1:".__add__),
                 st.tuples(request_numbers(), st.integers(0, 30), st.characters()).map(
                     lambda p: "ADM1:" + p[0][:p[1]] + p[2] + p[0][p[1] + 1:])))
def test_any_text_is_a_request_number_or_a_clear_refusal(text: str) -> None:
    try:
        request_no = parse_whatsapp_qr(text)
    except ScanRejected as rejected:
        assert rejected.reason_code in _REJECTIONS
        assert rejected.message("id") != rejected.message("en")
        return
    assert text.strip(" \r\n\t") == "ADM1:" + request_no
    match = REQUEST.fullmatch(request_no)
    assert match and request_no.isascii()
    number = match.group(1)
    date(int(number[:4]), int(number[4:6]), int(number[6:]))          # a real day


@budget(100)
@given(request_numbers(), st.sampled_from(["", " ", "\r\n", "\r", "\t "]))
def test_every_well_formed_code_is_accepted(request_no: str, padding: str) -> None:
    assert parse_whatsapp_qr(padding + "ADM1:" + request_no + padding) == request_no


KEYS = st.one_of(st.characters(), st.sampled_from(["\r", "\n", "enter", "Return", "shift", "f1", ""]))


@budget(100)
@given(st.lists(st.tuples(KEYS, st.floats(0.051, 5.0)), max_size=40))
def test_a_person_typing_never_makes_a_scan(keys: list[tuple[str, float]]) -> None:
    decoder, now = KeyboardWedgeDecoder(max_gap=0.05, min_length=8), 0.0
    for key, gap in keys:
        now += gap
        assert decoder.feed(key, now) is None


@budget(100)
@given(st.lists(st.tuples(KEYS, st.floats(0.0, 1.0)), max_size=20),
       st.text(st.characters(exclude_characters="\r\n"), min_size=8, max_size=80),
       st.lists(st.floats(0.0, 0.049), min_size=81, max_size=81))
def test_a_scanners_burst_is_a_scan_whatever_came_before(before, burst: str, gaps: list[float]) -> None:
    decoder, now = KeyboardWedgeDecoder(max_gap=0.05, min_length=8, max_length=40), 0.0
    for key, gap in before:
        now += gap
        decoder.feed(key, now)
    now += 0.2                                 # the citizen stops; the scanner starts
    events = []
    decoder.events.subscribe(events.append)
    for key, gap in zip(burst, gaps):
        assert decoder.feed(key, now) is None
        now += gap
    event = decoder.feed("\r", now)
    assert event == ScanEvent(burst[:40], "keyboard") and events == [event]
