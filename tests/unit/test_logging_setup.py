"""MaskingFilter through the handler `configure_logging` installs: wherever a NIK hides in a
record (message, %-args, an exception, extra fields), the written line shows at most its
first 6 and last 4 digits."""

from __future__ import annotations

import io
import logging

import pytest

from kiosk.logging_setup import configure_logging

NIK = "3201014501900003"
MASKED = "320101******0003"


@pytest.fixture
def logged():
    """(logger, output()) with the root logger configured to write into a StringIO."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(stream=stream)
    yield logging.getLogger("kiosk.test"), stream.getvalue
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def test_nik_in_the_message(logged):
    log, output = logged
    log.info(f"session opened for {NIK}")
    assert output().endswith(f"kiosk.test: session opened for {MASKED}\n") and NIK not in output()


def test_nik_in_percent_args(logged):
    log, output = logged
    log.warning("nik %s refused, code %d", NIK, 7)
    assert output().endswith(f"kiosk.test: nik {MASKED} refused, code 7\n") and NIK not in output()


def test_nik_in_an_exception_text(logged):
    log, output = logged
    try:
        raise ValueError(f"no application for {NIK}")
    except ValueError:
        log.exception("lookup failed")
    text = output()
    assert "kiosk.test: lookup failed\nTraceback (most recent call last):" in text
    assert text.endswith(f"ValueError: no application for {MASKED}\n") and NIK not in text


def test_nik_in_an_extra_field(logged):
    log, output = logged
    logging.getLogger().handlers[0].setFormatter(logging.Formatter("%(message)s [%(subject)s]"))
    log.info("checked", extra={"subject": f"nik={NIK}"})
    assert output() == f"checked [nik={MASKED}]\n"


@pytest.mark.parametrize("text, expected", [
    # A NIK run into letters is still a NIK.
    (f"abc{NIK}xyz", f"abc{MASKED}xyz"),
    # Shorter digit runs beside it (a phone, a count) are left alone.
    (f"tel 081100000505 x{NIK} n=12", f"tel 081100000505 x{MASKED} n=12"),
    # 17 digits: not split into a "NIK" plus a spare digit; the whole run keeps 6 + 4.
    (f"ref {NIK}7 end", "ref 320101*******0037 end"),
    # Two NIKs back to back (32 digits) leak neither.
    (f"{NIK}{NIK}", "320101**********************0003"),
])
def test_nik_next_to_other_characters(logged, text, expected):
    log, output = logged
    log.info("seen %s", text)
    assert output().endswith(f"kiosk.test: seen {expected}\n")


def test_a_clean_record_is_untouched(logged):
    log, output = logged
    log.info("printed %d pages for %s", 2, "REQ-20261122-AB12CD")
    assert output().endswith("kiosk.test: printed 2 pages for REQ-20261122-AB12CD\n")
