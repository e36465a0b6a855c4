"""The WhatsApp QR payload and the keyboard-mode (HID) scanner decoder."""

import pytest

from devices.scanner import KeyboardWedgeDecoder, ScanEvent, ScanRejected, parse_scan, parse_whatsapp_qr


@pytest.mark.parametrize("text", ["ADM1:REQ-20261122-AB12CD", "  ADM1:REQ-20240229-000000\r\n"])
def test_whatsapp_qr_gives_the_request_number(text):
    assert parse_whatsapp_qr(text) == text.strip()[len("ADM1:"):]


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("   \r\n", "empty"),
    ("ADM1:REQ-20261122-AB12CD" + "X" * 60, "too_long"),
    ("https://wa.me/6281234567890", "not_adm_code"),
    ("REQ-20261122-AB12CD", "not_adm_code"),
    ("ADM2:REQ-20261122-AB12CD", "unsupported_version"),
    ("ADM1:REQ-20261122-ab12cd", "malformed_request"),
    ("ADM1:REQ-20261122-AB12C", "malformed_request"),
    ("ADM1:REQ-20261322-AB12CD", "malformed_request"),      # month 13
    ("ADM1:REQ-20230229-AB12CD", "malformed_request"),      # not a leap year
    ("ADM1:REQ-20261122-AB12CD-", "malformed_request"),
    ("ADM1:REQ-2026112-AB12CDE", "malformed_request"),
    ("ADM1:REQ-20261122-AB\x0012CD", "garbage"),
    ("ADM1:REQ-20261122-AB12C\ufffd", "garbage"),
    ("ADM1:REQ-20261122-ÀB12CD", "garbage"),
])
def test_anything_else_is_rejected_with_a_reason(text, reason):
    with pytest.raises(ScanRejected) as caught:
        parse_whatsapp_qr(text)
    assert caught.value.reason_code == reason
    assert caught.value.message("id") and caught.value.message("en")
    assert caught.value.message("id") != caught.value.message("en")


def test_an_incomplete_scan_is_rejected_even_if_it_parses():
    with pytest.raises(ScanRejected) as caught:
        parse_scan(ScanEvent("ADM1:REQ-20261122-AB12CD", "serial:x", complete=False))
    assert caught.value.reason_code == "incomplete"
    assert parse_scan(ScanEvent("ADM1:REQ-20261122-AB12CD", "keyboard")) == "REQ-20261122-AB12CD"


def type_keys(decoder, text, start, gap, enter="\r"):
    t = start
    results = []
    for key in list(text) + [enter]:
        results.append(decoder.feed(key, t))
        t += gap
    return results, t


def test_a_fast_burst_ending_in_enter_is_a_scan():
    decoder = KeyboardWedgeDecoder()
    seen = []
    decoder.events.subscribe(seen.append)
    results, _ = type_keys(decoder, "ADM1:REQ-20261122-AB12CD", 100.0, 0.004)
    assert results[-1] == ScanEvent("ADM1:REQ-20261122-AB12CD", "keyboard")
    assert results[:-1] == [None] * 24
    assert seen == [results[-1]]


def test_a_person_typing_is_not_a_scan():
    decoder = KeyboardWedgeDecoder()
    results, _ = type_keys(decoder, "3201014501900003", 100.0, 0.15)
    assert results == [None] * 17


def test_a_burst_after_slow_typing_is_only_the_burst():
    decoder = KeyboardWedgeDecoder()
    _, t = type_keys(decoder, "abc", 10.0, 0.3, enter="x")      # a person, no Enter
    results, _ = type_keys(decoder, "ADM1:REQ-20261122-AB12CD", t + 1.0, 0.003, enter="enter")
    assert results[-1].text == "ADM1:REQ-20261122-AB12CD"


def test_a_short_burst_or_a_slow_enter_is_not_a_scan():
    decoder = KeyboardWedgeDecoder()
    results, _ = type_keys(decoder, "ab", 1.0, 0.002)            # too short: a double tap
    assert results[-1] is None
    for i, key in enumerate("ADM1:REQ-20261122-AB12CD"):
        decoder.feed(key, 5.0 + i * 0.002)
    assert decoder.feed("\r", 5.0 + 24 * 0.002 + 0.5) is None     # Enter pressed by a person later
    assert decoder.pending == ""
