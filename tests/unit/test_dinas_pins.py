"""The dinas's PIN rules at their edges, with the clock in the test's hand (`now` is an
argument of `dinas.pins.open_session`): when old wrong tries stop counting, the second a PIN
expires, and what each refusal says."""

from __future__ import annotations

import pytest

from dinas import pins
from dinas.clock import iso
from dinas.errors import ApiError
from dinas.pins import LOCK_SECONDS, MAX_FAILURES
from tests.fixtures.dinas_rows import PIN_LIFE, T0, DinasRows, dinas_rows  # noqa: F401

NIK, PIN, WRONG = "3201014501900003", "482913", "482914"


def try_pin(rows: DinasRows, now: float, pin: str = WRONG, **who: str) -> dict | ApiError:
    who = who or {"nik": NIK}
    try:
        return pins.open_session(rows.connection, rows.vault, now, "k-1", who.get("nik"), who.get("request_no"), pin)
    except ApiError as refused:
        return refused


@pytest.fixture
def request_no(dinas_rows: DinasRows) -> str:
    dinas_rows.kiosk("k-1")
    number = dinas_rows.application(NIK, PIN)
    dinas_rows.document(number, "KK", "a4")
    return number


def test_wrong_tries_a_lock_period_old_no_longer_count(dinas_rows, request_no):
    for second in range(MAX_FAILURES - 1):
        try_pin(dinas_rows, T0 + second)
    last = T0 + MAX_FAILURES - 2
    # Exactly one lock period after the last wrong try the count starts again ...
    assert try_pin(dinas_rows, last + LOCK_SECONDS).extra["attempts_left"] == MAX_FAILURES - 1
    # ... while tries less than a lock period apart add up.
    try_pin(dinas_rows, last + LOCK_SECONDS + 1)
    assert try_pin(dinas_rows, last + 2 * LOCK_SECONDS).extra["attempts_left"] == MAX_FAILURES - 3


def test_a_lock_ends_exactly_after_its_period_and_the_count_starts_again(dinas_rows, request_no):
    for _ in range(MAX_FAILURES):
        refused = try_pin(dinas_rows, T0)
    assert (refused.status, refused.code, refused.extra["attempts_left"]) == (401, "invalid_credentials", 0)
    assert refused.detail == "the NIK or request number and PIN do not match"
    locked = try_pin(dinas_rows, T0 + LOCK_SECONDS - 1, pin=PIN)
    assert (locked.status, locked.code, locked.extra["retry_after"]) == (423, "locked", 1)
    assert locked.detail == "too many wrong PINs; try again later"
    assert try_pin(dinas_rows, T0 + LOCK_SECONDS).extra["attempts_left"] == MAX_FAILURES - 1


def test_a_pin_expires_at_its_second(dinas_rows, request_no):
    expires = T0 + PIN_LIFE
    assert try_pin(dinas_rows, expires - 1, pin=PIN)["request_no"] == request_no
    expired = try_pin(dinas_rows, expires, pin=PIN)
    assert (expired.status, expired.code) == (410, "pin_expired")
    assert expired.detail == f"this PIN expired at {iso(expires)}; ask the dinas for a new one"


def test_a_used_pin_says_so(dinas_rows, request_no):
    dinas_rows.connection.run("UPDATE applications SET pin_used_at = :t WHERE request_no = :r", t=T0, r=request_no)
    used = try_pin(dinas_rows, T0 + 1, pin=PIN, request_no=request_no)
    assert (used.status, used.code) == (410, "pin_used")
    assert used.detail == "this PIN has been used: every document was printed"


def test_a_blocked_pin_says_to_contact_the_dinas(dinas_rows, request_no):
    dinas_rows.connection.run("UPDATE applications SET pin_blocked_at = :t WHERE request_no = :r",
                              t=T0, r=request_no)
    blocked = try_pin(dinas_rows, T0 + 1, pin=PIN)
    assert (blocked.status, blocked.code) == (423, "pin_blocked")
    assert blocked.detail == ("this PIN is blocked after too many wrong tries; contact the dinas "
                              "for a new PIN")


def test_a_session_id_is_192_random_bits_and_lasts_the_session_time(dinas_rows, request_no):
    first, second = try_pin(dinas_rows, T0, pin=PIN), try_pin(dinas_rows, T0, pin=PIN)
    assert len(first["session_id"]) == 32 and first["session_id"] != second["session_id"]   # 24 bytes, base64
    assert first["expires_at"] == iso(T0 + pins.SESSION_SECONDS)
    assert [d["kind"] for d in first["documents"]] == ["KK"]
