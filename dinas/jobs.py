"""Print jobs: reservations (idempotent on job_id) and their events (idempotent on event_id).

A document is `ready`, `reserved` (one active job holds it) or `printed`. `printed` consumes
the document, and the application's PIN once every document is printed; `failed` releases
it. A reservation that is `printing` holds until the kiosk's journal reports how it ended,
because only the kiosk knows whether the card came out.

No second card through a lapse. A kiosk whose link dropped right after reserving still
prints, and its `printing` event waits in its outbox; freeing the document on a timer alone
would let another kiosk print it again. So a reservation that never reported `printing`
lapses only when
- the reserving kiosk has been heard from at least `RESERVATION_LAPSE_SECONDS` after the
  reservation with an empty outbox (it is up, and had it started printing, the `printing`
  event would be queued or delivered by then), or
- nothing has moved for `RESERVATION_ABANDON_SECONDS` (a kiosk gone for good; the dinas can
  still see a late `printed`).
A `printed` event that arrives for a lapsed job is accepted (the paper exists) and flags the
document for the dinas to review (`review_reason`): `printed_after_lapse`, or
`printed_twice` when another job printed it too.

Across workers: every decision locks the row it decides on first (the document for a
reservation, the job for an event), so one kiosk wins a document and a retried event is
recorded once.
"""

from __future__ import annotations

import json
from typing import Any

from . import db
from .db import Connection
from .errors import ApiError, invalid_request, not_found, session_expired

RESERVATION_LAPSE_SECONDS = 2 * 60 * 60
RESERVATION_ABANDON_SECONDS = 3 * 86400      # a long weekend's outage
MAX_PRINTING_EVENTS = 10            # a kiosk sends one per job; retries reuse its event_id
MAX_DETAIL_BYTES = 4096
# Which event may follow which job state. `lapsed` still takes `printed`: the card exists.
TRANSITIONS = {
    "reserved": {"printing", "printed", "failed"},
    "printing": {"printing", "printed", "failed"},
    "lapsed": {"printed", "failed"},
    "printed": set(),
    "failed": set(),
}


def lapse_stale_reservations(connection: Connection, now: float, request_no: str) -> None:
    stale = connection.all(
        "SELECT j.job_id, j.document_id FROM jobs j JOIN documents d ON d.id = j.document_id "
        "LEFT JOIN kiosks k ON k.kiosk_id = j.kiosk_id "
        "WHERE d.request_no = :r AND j.state = 'reserved' AND j.updated_at <= :quiet AND ("
        "  (k.last_seen >= j.updated_at + :lapse AND k.outbox_depth = 0) OR j.updated_at <= :abandoned)",
        r=request_no, quiet=now - RESERVATION_LAPSE_SECONDS, lapse=RESERVATION_LAPSE_SECONDS,
        abandoned=now - RESERVATION_ABANDON_SECONDS)
    for job in stale:
        connection.run("UPDATE jobs SET state = 'lapsed', updated_at = :now WHERE job_id = :j AND state = 'reserved'",
                       now=now, j=job["job_id"])
        _release_if_free(connection, job["document_id"])


def _release_if_free(connection: Connection, document_id: str) -> None:
    connection.run("UPDATE documents SET status = 'ready' WHERE id = :d AND status = 'reserved' AND NOT EXISTS "
                   "(SELECT 1 FROM jobs WHERE document_id = :d AND state IN ('reserved', 'printing'))", d=document_id)


def active_session(connection: Connection, now: float, kiosk_id: str, session_id: str) -> Any:
    row = connection.one("SELECT * FROM sessions WHERE session_id = :s AND kiosk_id = :k", s=session_id, k=kiosk_id)
    if row is None:
        raise not_found("no such session for this kiosk")
    if row["ended_at"] is not None or row["expires_at"] <= now:
        raise session_expired()
    return row


def downloadable(connection: Connection, session: Any, document_id: str) -> Any:
    """The document's row if this session may fetch it: not printed, not held by another job."""
    row = connection.one("SELECT id, status, sealed_pdf, sha256 FROM documents WHERE id = :d AND request_no = :r",
                         d=document_id, r=session["request_no"])
    if row is None:
        raise not_found("no such document in this session")
    if row["status"] == "printed":
        raise ApiError(409, "already_printed", "this document has already been printed")
    if row["status"] == "reserved" and connection.one(
            "SELECT 1 FROM jobs WHERE document_id = :d AND session_id = :s AND state IN ('reserved', 'printing')",
            d=document_id, s=session["session_id"]) is None:
        raise ApiError(409, "reserved_elsewhere", "this document is being printed by another job")
    return row


def _existing(connection: Connection, kiosk_id: str, job_id: str, document_id: str) -> dict[str, Any] | None:
    existing = connection.one("SELECT * FROM jobs WHERE job_id = :j", j=job_id)
    if existing is None:
        return None
    if existing["kiosk_id"] != kiosk_id or existing["document_id"] != document_id:
        raise invalid_request("job_id is already used for another reservation; make a new UUID")
    return {"job_id": job_id, "document_id": document_id, "state": existing["state"]}


def reserve(connection: Connection, now: float, kiosk_id: str, session_id: str,
            job_id: str, document_id: str) -> tuple[int, dict[str, Any]]:
    with db.transaction(connection):
        session = connection.one("SELECT * FROM sessions WHERE session_id = :s AND kiosk_id = :k",
                                 s=session_id, k=kiosk_id)
        if session is None:
            raise not_found("no such session for this kiosk")
        repeat = _existing(connection, kiosk_id, job_id, document_id)
        if repeat is not None:
            return 200, repeat
        active_session(connection, now, kiosk_id, session_id)
        if connection.one("SELECT 1 FROM documents WHERE id = :d AND request_no = :r",
                          d=document_id, r=session["request_no"]) is None:
            raise not_found("no such document in this session")
        lapse_stale_reservations(connection, now, session["request_no"])
        # The winner is whoever flips ready -> reserved; the others wait on the row, then see it taken.
        won = connection.run("UPDATE documents SET status = 'reserved' WHERE id = :d AND status = 'ready'",
                             d=document_id)
        if not won:
            repeat = _existing(connection, kiosk_id, job_id, document_id)   # a concurrent retry of this job
            if repeat is not None:
                return 200, repeat
            status = connection.value("SELECT status FROM documents WHERE id = :d", d=document_id)
            if status == "printed":
                raise ApiError(409, "already_printed", "this document has already been printed")
            raise ApiError(409, "reserved_elsewhere", "this document is being printed by another job")
        connection.run("INSERT INTO jobs (job_id, document_id, session_id, kiosk_id, state, created_at, updated_at) "
                       "VALUES (:j, :d, :s, :k, 'reserved', :now, :now)",
                       j=job_id, d=document_id, s=session_id, k=kiosk_id, now=now)
    return 201, {"job_id": job_id, "document_id": document_id, "state": "reserved"}


def assisted_prints(connection: Connection, kiosk_id: str) -> int:
    """How many of the kiosk's prints the kecamatan operator guided (`printed` events that
    say `assisted`), for the dinas's count of assisted service."""
    rows = connection.all("SELECT e.detail FROM job_events e JOIN jobs j ON j.job_id = e.job_id "
                          "WHERE j.kiosk_id = :k AND e.state = 'printed' AND e.detail IS NOT NULL", k=kiosk_id)
    return sum(1 for row in rows if json.loads(row["detail"]).get("assisted") is True)


def record_event(connection: Connection, now: float, kiosk_id: str, job_id: str, event: dict[str, Any]
                 ) -> dict[str, Any]:
    with db.transaction(connection):
        job = connection.lock("jobs", ["job_id", "document_id", "state"], job_id=job_id, kiosk_id=kiosk_id)
        if job is None:
            raise not_found("no such job for this kiosk")
        seen = connection.one("SELECT job_id, state FROM job_events WHERE event_id = :e", e=event["event_id"])
        if seen is not None:
            if seen["job_id"] != job_id:
                raise invalid_request("event_id is already used for another job; make a new UUID")
            return {"event_id": event["event_id"], "job_id": job_id, "state": seen["state"], "duplicate": True}
        state = event["state"]
        if state not in TRANSITIONS[job["state"]]:
            raise ApiError(409, "invalid_transition", f"a job that is {job['state']} cannot become {state}")
        if state == "printing" and connection.value(
                "SELECT COUNT(*) FROM job_events WHERE job_id = :j AND state = 'printing'",
                j=job_id) >= MAX_PRINTING_EVENTS:
            raise ApiError(409, "invalid_transition", f"a job takes at most {MAX_PRINTING_EVENTS} printing events")
        connection.run("INSERT INTO job_events (event_id, job_id, state, at, reason, detail, received_at) "
                       "VALUES (:e, :j, :state, :at, :reason, :detail, :now)",
                       e=event["event_id"], j=job_id, state=state, at=event["at"], reason=event.get("reason"),
                       detail=json.dumps(event["detail"]) if event.get("detail") is not None else None, now=now)
        _apply(connection, now, job, state)
    return {"event_id": event["event_id"], "job_id": job_id, "state": state, "duplicate": False}


def _apply(connection: Connection, now: float, job: Any, state: str) -> None:
    document_id = job["document_id"]
    if state == "failed" and job["state"] == "lapsed":
        return    # it had already let go of the document
    connection.run("UPDATE jobs SET state = :state, updated_at = :now WHERE job_id = :j",
                   state=state, now=now, j=job["job_id"])
    if state == "failed":
        _release_if_free(connection, document_id)
    elif state == "printed":
        document = connection.lock("documents", ["request_no", "status"], id=document_id)
        if job["state"] == "lapsed":
            reason = "printed_twice" if document["status"] == "printed" else "printed_after_lapse"
            connection.run("UPDATE documents SET review_reason = :why, review_at = :now WHERE id = :d",
                           why=reason, now=now, d=document_id)
        connection.run("UPDATE documents SET status = 'printed', printed_at = COALESCE(printed_at, :now) "
                       "WHERE id = :d", now=now, d=document_id)
        left = connection.value("SELECT COUNT(*) FROM documents WHERE request_no = :r AND status != 'printed'",
                                r=document["request_no"])
        if left == 0:
            connection.run("UPDATE applications SET pin_used_at = :now WHERE request_no = :r AND pin_used_at IS NULL",
                           now=now, r=document["request_no"])
