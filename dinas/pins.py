"""Opening a session with a PIN: lockouts, the per-kiosk rate limit and the PIN rules.

Rules (docs/DINAS.md says the same for people):
- A wrong try counts against the NIK and against every request it could be for; after
  `MAX_FAILURES` wrong tries either subject is locked for `LOCK_SECONDS`, and while locked
  every try is refused with 423, the right PIN too.
- Unknown NIKs and request numbers answer exactly like a wrong PIN (nothing to enumerate).
- Only a right PIN learns that it has expired (410 pin_expired) or been used (410 pin_used).
- A right PIN clears its subjects' failure counts.
"""

from __future__ import annotations

import collections
import math
import secrets
import sqlite3
import threading
from typing import Any

from . import db
from .clock import Clock, iso
from .errors import ApiError
from .jobs import lapse_stale_reservations
from .vault import Vault

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
SESSION_SECONDS = 15 * 60


class SessionRateLimiter:
    """At most `limit` session attempts per kiosk in any `window` seconds (kept in memory)."""

    def __init__(self, clock: Clock, limit: int = 30, window: float = 60.0) -> None:
        self._clock = clock
        self._limit = limit
        self._window = window
        self._attempts: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def admit(self, kiosk_id: str) -> None:
        now = self._clock()
        with self._lock:
            attempts = self._attempts[kiosk_id]
            while attempts and attempts[0] <= now - self._window:
                attempts.popleft()
            if len(attempts) >= self._limit:
                retry_after = max(1, math.ceil(attempts[0] + self._window - now))
                raise ApiError(429, "rate_limited", "too many PIN attempts from this kiosk; wait a moment",
                               retry_after=retry_after)
            attempts.append(now)


def _locked_until(connection: sqlite3.Connection, subjects: list[str], now: float) -> float | None:
    marks = ",".join("?" * len(subjects))
    row = connection.execute(f"SELECT MAX(locked_until) AS until FROM lockouts WHERE subject IN ({marks}) "
                             "AND locked_until > ?", (*subjects, now)).fetchone()
    return row["until"]


def _record_failure(connection: sqlite3.Connection, subjects: list[str], now: float) -> int:
    """Counts one wrong try against every subject; returns the tries left before the lock."""
    worst = 0
    for subject in subjects:
        row = connection.execute("SELECT failures, last_failure_at, locked_until FROM lockouts WHERE subject = ?",
                                 (subject,)).fetchone()
        failures = 0
        # A lock that has run out, or failures older than a lock period, start the count again.
        if row and not (row["locked_until"] and row["locked_until"] <= now) \
                and row["last_failure_at"] > now - LOCK_SECONDS:
            failures = row["failures"]
        failures += 1
        locked_until = now + LOCK_SECONDS if failures >= MAX_FAILURES else None
        connection.execute("INSERT INTO lockouts (subject, failures, last_failure_at, locked_until) "
                           "VALUES (?, ?, ?, ?) ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures, "
                           "last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
                           (subject, failures, now, locked_until))
        worst = max(worst, failures)
    return max(MAX_FAILURES - worst, 0)


def _candidates(connection: sqlite3.Connection, vault: Vault, nik: str | None,
                request_no: str | None) -> tuple[list[sqlite3.Row], list[str]]:
    if nik is not None:
        nik_hash = vault.nik_hash(nik)
        rows = connection.execute("SELECT * FROM applications WHERE nik_hash = ? ORDER BY created_at DESC",
                                  (nik_hash,)).fetchall()
        return rows, [f"nik:{nik_hash}"] + [f"req:{row['request_no']}" for row in rows]
    rows = connection.execute("SELECT * FROM applications WHERE request_no = ?", (request_no,)).fetchall()
    return rows, [f"req:{request_no}"] + [f"nik:{row['nik_hash']}" for row in rows]


def open_session(connection: sqlite3.Connection, vault: Vault, now: float, kiosk_id: str,
                 nik: str | None, request_no: str | None, pin: str) -> dict[str, Any]:
    outcome: ApiError | dict[str, Any]
    with db.transaction(connection):
        applications, subjects = _candidates(connection, vault, nik, request_no)
        until = _locked_until(connection, subjects, now)
        if until is not None:
            outcome = ApiError(423, "locked", "too many wrong PINs; try again later",
                               retry_after=max(1, math.ceil(until - now)))
        else:
            matched = next((row for row in applications
                            if vault.pin_matches(row["request_no"], pin, row["pin_hash"])), None)
            if matched is None:
                left = _record_failure(connection, subjects, now)
                outcome = ApiError(401, "invalid_credentials", "the NIK or request number and PIN do not match",
                                   attempts_left=left)
            else:
                marks = ",".join("?" * len(subjects))
                connection.execute(f"DELETE FROM lockouts WHERE subject IN ({marks})", subjects)
                outcome = _start_session(connection, now, kiosk_id, matched)
    # Raised after COMMIT: a wrong try must be counted even though the call fails.
    if isinstance(outcome, ApiError):
        raise outcome
    return outcome


def _start_session(connection: sqlite3.Connection, now: float, kiosk_id: str,
                   application: sqlite3.Row) -> ApiError | dict[str, Any]:
    if application["pin_used_at"] is not None:
        return ApiError(410, "pin_used", "this PIN has been used: every document was printed")
    if application["pin_expires_at"] <= now:
        return ApiError(410, "pin_expired", f"this PIN expired at {iso(application['pin_expires_at'])}; "
                                            "ask the dinas for a new one")
    session_id = secrets.token_urlsafe(24)
    expires_at = now + SESSION_SECONDS
    connection.execute("INSERT INTO sessions (session_id, kiosk_id, request_no, created_at, expires_at) "
                       "VALUES (?, ?, ?, ?, ?)", (session_id, kiosk_id, application["request_no"], now, expires_at))
    lapse_stale_reservations(connection, now, application["request_no"])
    return {"session_id": session_id, "expires_at": iso(expires_at),
            "holder": {"name_masked": application["name_masked"], "nik_masked": application["nik_masked"]},
            "request_no": application["request_no"],
            "documents": list_documents(connection, application["request_no"])}


def list_documents(connection: sqlite3.Connection, request_no: str) -> list[dict[str, Any]]:
    rows = connection.execute("SELECT id, kind, media, title, pages, size, sha256, status FROM documents "
                              "WHERE request_no = ? ORDER BY position", (request_no,)).fetchall()
    return [dict(row) for row in rows]
