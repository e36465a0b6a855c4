"""Print jobs: reservations (idempotent on job_id) and their events (idempotent on event_id).

A document is `ready`, `reserved` (one active job holds it) or `printed`. `printed` consumes
the document, and the application's PIN once every document is printed; `failed` releases
it. A reservation that never saw a `printing` event lapses after `RESERVATION_LAPSE_SECONDS`
(a kiosk that died before starting); one that is `printing` holds until the kiosk's journal
reports how it ended, because only the kiosk knows whether the card came out.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import db
from .errors import ApiError, invalid_request, not_found, session_expired

RESERVATION_LAPSE_SECONDS = 2 * 60 * 60
# Which event may follow which job state. `lapsed` still takes `printed`: the card exists.
TRANSITIONS = {
    "reserved": {"printing", "printed", "failed"},
    "printing": {"printing", "printed", "failed"},
    "lapsed": {"printed", "failed"},
    "printed": set(),
    "failed": set(),
}


def lapse_stale_reservations(connection: sqlite3.Connection, now: float, request_no: str) -> None:
    stale = connection.execute(
        "SELECT j.job_id, j.document_id FROM jobs j JOIN documents d ON d.id = j.document_id "
        "WHERE d.request_no = ? AND j.state = 'reserved' AND j.updated_at <= ?",
        (request_no, now - RESERVATION_LAPSE_SECONDS)).fetchall()
    for job in stale:
        connection.execute("UPDATE jobs SET state = 'lapsed', updated_at = ? WHERE job_id = ?", (now, job["job_id"]))
        _release_if_free(connection, job["document_id"])


def _release_if_free(connection: sqlite3.Connection, document_id: str) -> None:
    connection.execute("UPDATE documents SET status = 'ready' WHERE id = ? AND status = 'reserved' AND NOT EXISTS "
                       "(SELECT 1 FROM jobs WHERE document_id = ? AND state IN ('reserved', 'printing'))",
                       (document_id, document_id))


def active_session(connection: sqlite3.Connection, now: float, kiosk_id: str, session_id: str) -> sqlite3.Row:
    row = connection.execute("SELECT * FROM sessions WHERE session_id = ? AND kiosk_id = ?",
                             (session_id, kiosk_id)).fetchone()
    if row is None:
        raise not_found("no such session for this kiosk")
    if row["ended_at"] is not None or row["expires_at"] <= now:
        raise session_expired()
    return row


def reserve(connection: sqlite3.Connection, now: float, kiosk_id: str, session_id: str,
            job_id: str, document_id: str) -> tuple[int, dict[str, Any]]:
    with db.transaction(connection):
        session = connection.execute("SELECT * FROM sessions WHERE session_id = ? AND kiosk_id = ?",
                                     (session_id, kiosk_id)).fetchone()
        if session is None:
            raise not_found("no such session for this kiosk")
        existing = connection.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if existing is not None:
            if existing["kiosk_id"] != kiosk_id or existing["document_id"] != document_id:
                raise invalid_request("job_id is already used for another reservation; make a new UUID")
            return 200, {"job_id": job_id, "document_id": document_id, "state": existing["state"]}
        active_session(connection, now, kiosk_id, session_id)
        document = connection.execute("SELECT * FROM documents WHERE id = ? AND request_no = ?",
                                      (document_id, session["request_no"])).fetchone()
        if document is None:
            raise not_found("no such document in this session")
        lapse_stale_reservations(connection, now, session["request_no"])
        status = connection.execute("SELECT status FROM documents WHERE id = ?", (document_id,)).fetchone()["status"]
        if status == "printed":
            raise ApiError(409, "already_printed", "this document has already been printed")
        if status == "reserved":
            raise ApiError(409, "reserved_elsewhere", "this document is being printed by another job")
        connection.execute("INSERT INTO jobs (job_id, document_id, session_id, kiosk_id, state, created_at, updated_at) "
                           "VALUES (?, ?, ?, ?, 'reserved', ?, ?)", (job_id, document_id, session_id, kiosk_id, now, now))
        connection.execute("UPDATE documents SET status = 'reserved' WHERE id = ?", (document_id,))
    return 201, {"job_id": job_id, "document_id": document_id, "state": "reserved"}


def record_event(connection: sqlite3.Connection, now: float, kiosk_id: str, job_id: str, event: dict[str, Any]
                 ) -> dict[str, Any]:
    with db.transaction(connection):
        job = connection.execute("SELECT * FROM jobs WHERE job_id = ? AND kiosk_id = ?", (job_id, kiosk_id)).fetchone()
        if job is None:
            raise not_found("no such job for this kiosk")
        seen = connection.execute("SELECT job_id, state FROM job_events WHERE event_id = ?",
                                  (event["event_id"],)).fetchone()
        if seen is not None:
            if seen["job_id"] != job_id:
                raise invalid_request("event_id is already used for another job; make a new UUID")
            return {"event_id": event["event_id"], "job_id": job_id, "state": seen["state"], "duplicate": True}
        state = event["state"]
        if state not in TRANSITIONS[job["state"]]:
            raise ApiError(409, "invalid_transition", f"a job that is {job['state']} cannot become {state}")
        connection.execute("INSERT INTO job_events (event_id, job_id, state, at, reason, detail, received_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (event["event_id"], job_id, state, event["at"], event.get("reason"),
                            json.dumps(event["detail"]) if event.get("detail") is not None else None, now))
        _apply(connection, now, job, state)
    return {"event_id": event["event_id"], "job_id": job_id, "state": state, "duplicate": False}


def _apply(connection: sqlite3.Connection, now: float, job: sqlite3.Row, state: str) -> None:
    document_id = job["document_id"]
    if state == "failed" and job["state"] == "lapsed":
        return    # it had already let go of the document
    connection.execute("UPDATE jobs SET state = ?, updated_at = ? WHERE job_id = ?", (state, now, job["job_id"]))
    if state == "failed":
        _release_if_free(connection, document_id)
    elif state == "printed":
        connection.execute("UPDATE documents SET status = 'printed', printed_at = ? WHERE id = ?", (now, document_id))
        request_no = connection.execute("SELECT request_no FROM documents WHERE id = ?",
                                        (document_id,)).fetchone()["request_no"]
        left = connection.execute("SELECT COUNT(*) AS n FROM documents WHERE request_no = ? AND status != 'printed'",
                                  (request_no,)).fetchone()["n"]
        if left == 0:
            connection.execute("UPDATE applications SET pin_used_at = ? WHERE request_no = ? AND pin_used_at IS NULL",
                               (now, request_no))
