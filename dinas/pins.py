"""Opening a session with a PIN: lockouts, their escalation and the PIN rules.

Rules (docs/DINAS.md says the same for people):
- A wrong try counts against the NIK and against every request it could be for; after
  `MAX_FAILURES` wrong tries either subject is locked for `LOCK_SECONDS`, and while locked
  every try is refused with 423 `locked`, the right PIN too.
- Escalation: an application whose subjects have been locked `MAX_LOCK_PERIODS` times is
  blocked until the dinas re-issues its PIN (`adm-dinas application reissue`): 423
  `pin_blocked`, "contact the dinas". Without it one NIK could be guessed ~480 times a day
  for the PIN's whole life.
- Unknown NIKs and request numbers answer exactly like a wrong PIN (nothing to enumerate).
- Only a right PIN learns that it has expired (410 pin_expired) or been used (410 pin_used).
- A right PIN clears its subjects' failure counts (not the application's lock periods).

Across workers: the transaction first touches the lockout row of every subject, in sorted
order. That row lock (PostgreSQL) or the write lock (SQLite) makes tries on one NIK or
request serial, so a burst of wrong PINs is counted one by one and none gets past the lock.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from . import db
from .clock import iso
from .db import Connection
from .errors import ApiError
from .jobs import lapse_stale_reservations
from .vault import Vault

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
MAX_LOCK_PERIODS = 3
SESSION_SECONDS = 15 * 60


def pin_blocked() -> ApiError:
    return ApiError(423, "pin_blocked", "this PIN is blocked after too many wrong tries; contact the dinas "
                                        "for a new PIN")


def _hold_subjects(connection: Connection, subjects: list[str]) -> list[Any]:
    """Locks (creating when new) every subject's lockout row, in one order; returns the rows."""
    rows = []
    for subject in sorted(subjects):
        connection.run("INSERT INTO lockouts (subject, failures, last_failure_at, locked_until) "
                       "VALUES (:s, 0, 0, NULL) ON CONFLICT (subject) DO UPDATE SET failures = lockouts.failures",
                       s=subject)
        rows.append(connection.one("SELECT * FROM lockouts WHERE subject = :s", s=subject))
    return rows


def _record_failure(connection: Connection, rows: list[Any], now: float) -> tuple[int, bool]:
    """Counts one wrong try against every subject; returns (tries left, whether a lock began)."""
    worst, lock_began = 0, False
    for row in rows:
        failures = 0
        # A lock that has run out, or failures older than a lock period, start the count again.
        if not (row["locked_until"] and row["locked_until"] <= now) and row["last_failure_at"] > now - LOCK_SECONDS:
            failures = row["failures"]
        failures += 1
        locked_until = now + LOCK_SECONDS if failures >= MAX_FAILURES else None
        lock_began = lock_began or (locked_until is not None and failures == MAX_FAILURES)
        connection.run("UPDATE lockouts SET failures = :f, last_failure_at = :now, locked_until = :until "
                       "WHERE subject = :s", f=failures, now=now, until=locked_until, s=row["subject"])
        worst = max(worst, failures)
    return max(MAX_FAILURES - worst, 0), lock_began


def _candidates(connection: Connection, vault: Vault, nik: str | None,
                request_no: str | None) -> tuple[list[Any], list[str]]:
    if nik is not None:
        nik_hash = vault.nik_hash(nik)
        rows = connection.all("SELECT * FROM applications WHERE nik_hash = :h ORDER BY created_at DESC", h=nik_hash)
        return rows, [f"nik:{nik_hash}"] + [f"req:{row['request_no']}" for row in rows]
    rows = connection.all("SELECT * FROM applications WHERE request_no = :r", r=request_no)
    return rows, [f"req:{request_no}"] + [f"nik:{row['nik_hash']}" for row in rows]


def _escalate(connection: Connection, applications: list[Any], now: float) -> None:
    """One more lock period for every application the try could be for; block at the limit."""
    for application in applications:
        connection.run("UPDATE applications SET lock_periods = lock_periods + 1, "
                       "pin_blocked_at = CASE WHEN lock_periods + 1 >= :limit THEN :now ELSE pin_blocked_at END "
                       "WHERE request_no = :r", limit=MAX_LOCK_PERIODS, now=now, r=application["request_no"])


def open_session(connection: Connection, vault: Vault, now: float, kiosk_id: str,
                 nik: str | None, request_no: str | None, pin: str) -> dict[str, Any]:
    outcome: ApiError | dict[str, Any]
    with db.transaction(connection):
        _, subjects = _candidates(connection, vault, nik, request_no)
        rows = _hold_subjects(connection, subjects)
        applications, _ = _candidates(connection, vault, nik, request_no)   # as of holding the locks
        open_ = [row for row in applications if row["pin_blocked_at"] is None]
        until = max((row["locked_until"] for row in rows if row["locked_until"] and row["locked_until"] > now),
                    default=None)
        if applications and not open_:
            outcome = pin_blocked()
        elif until is not None:
            outcome = ApiError(423, "locked", "too many wrong PINs; try again later",
                               retry_after=max(1, math.ceil(until - now)))
        else:
            # A blocked application's PIN is not even compared: nothing to learn from it.
            matched = next((row for row in open_ if vault.pin_matches(row["request_no"], pin, row["pin_hash"])), None)
            if matched is None:
                left, lock_began = _record_failure(connection, rows, now)
                if lock_began:
                    _escalate(connection, open_, now)
                outcome = ApiError(401, "invalid_credentials", "the NIK or request number and PIN do not match",
                                   attempts_left=left)
            else:
                connection.run("DELETE FROM lockouts WHERE subject IN :subjects", subjects=subjects)
                outcome = _start_session(connection, now, kiosk_id, matched)
    # Raised after COMMIT: a wrong try must be counted even though the call fails.
    if isinstance(outcome, ApiError):
        raise outcome
    return outcome


def _start_session(connection: Connection, now: float, kiosk_id: str, application: Any) -> ApiError | dict[str, Any]:
    if application["pin_used_at"] is not None:
        return ApiError(410, "pin_used", "this PIN has been used: every document was printed")
    if application["pin_expires_at"] <= now:
        return ApiError(410, "pin_expired", f"this PIN expired at {iso(application['pin_expires_at'])}; "
                                            "ask the dinas for a new one")
    session_id = secrets.token_urlsafe(24)
    expires_at = now + SESSION_SECONDS
    connection.run("INSERT INTO sessions (session_id, kiosk_id, request_no, created_at, expires_at) "
                   "VALUES (:sid, :k, :r, :now, :exp)", sid=session_id, k=kiosk_id, r=application["request_no"],
                   now=now, exp=expires_at)
    lapse_stale_reservations(connection, now, application["request_no"])
    return {"session_id": session_id, "expires_at": iso(expires_at),
            "holder": {"name_masked": application["name_masked"], "nik_masked": application["nik_masked"]},
            "request_no": application["request_no"],
            "documents": list_documents(connection, application["request_no"])}


def list_documents(connection: Connection, request_no: str) -> list[dict[str, Any]]:
    rows = connection.all("SELECT id, kind, media, title, pages, size, sha256, status FROM documents "
                          "WHERE request_no = :r ORDER BY position", r=request_no)
    return [dict(row) for row in rows]
