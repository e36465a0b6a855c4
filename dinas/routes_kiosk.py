"""The kiosk's calls: sessions, documents, jobs, events, heartbeat and configuration."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, jsonify, request

from . import config_store, heartbeats, jobs, pins, validation as v
from .clock import iso, parse_iso
from .errors import ApiError, invalid_request, not_found
from .context import caller, connection, dinas
from .vault import mask_nik

kiosk = Blueprint("kiosk", __name__)
log = logging.getLogger(__name__)


@kiosk.post("/sessions")
def open_session() -> tuple[Response, int]:
    who = caller("kiosk")
    body = v.json_object()
    v.reject_unknown(body, {"nik", "request_no", "pin"})
    if ("nik" in body) == ("request_no" in body):
        raise invalid_request("give either nik or request_no, with pin")
    nik = v.nik(body) if "nik" in body else None
    request_no = v.text(body, "request_no", pattern=v.REQUEST_NO, max_len=24,
                        what="a request number like REQ-20261122-AB12CD") if nik is None else None
    pin = v.text(body, "pin", pattern=v.PIN, max_len=6, what="6 digits")
    dinas().session_limiter.admit(connection(), f"sessions:{who.kiosk_id}")
    subject = mask_nik(nik) if nik else request_no
    try:
        opened = pins.open_session(connection(), dinas().vault, dinas().now(), who.kiosk_id, nik, request_no, pin)
    except ApiError as error:
        log.info("session refused at %s for %s: %s", who.kiosk_id, subject, error.code)
        raise
    log.info("session opened at %s for %s (%s)", who.kiosk_id, subject, opened["request_no"])
    return jsonify(opened), 201


@kiosk.get("/sessions/<session_id>/documents/<document_id>")
def download(session_id: str, document_id: str) -> Response:
    who = caller("kiosk")
    session = jobs.active_session(connection(), dinas().now(), who.kiosk_id, session_id)
    row = jobs.downloadable(connection(), session, document_id)
    pdf = dinas().vault.unseal(bytes(row["sealed_pdf"]))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Length"] = str(len(pdf))
    response.headers["X-Content-SHA256"] = row["sha256"]
    response.headers["Cache-Control"] = "no-store"
    return response


@kiosk.post("/sessions/<session_id>/jobs")
def reserve(session_id: str) -> tuple[Response, int]:
    who = caller("kiosk")
    body = v.json_object()
    v.reject_unknown(body, {"job_id", "document_id"})
    job_id = v.uuid_text(body, "job_id")
    document_id = v.text(body, "document_id", max_len=64)
    status, reply = jobs.reserve(connection(), dinas().now(), who.kiosk_id, session_id, job_id, document_id)
    return jsonify(reply), status


@kiosk.post("/jobs/<job_id>/events")
def job_event(job_id: str) -> Response:
    who = caller("kiosk")
    job_id = v.uuid_value(job_id, "job_id in the path")
    body = v.json_object()
    v.reject_unknown(body, {"event_id", "state", "at", "reason", "detail"})
    event = {"event_id": v.uuid_text(body, "event_id"),
             "state": v.choice(body, "state", ("printing", "printed", "failed")),
             "at": v.text(body, "at", max_len=40),
             "reason": v.text(body, "reason", max_len=200, required=False),
             "detail": body.get("detail")}
    try:
        parse_iso(event["at"])
    except ValueError:
        raise invalid_request("at must be an ISO 8601 time with a zone, like 2026-11-22T10:00:00Z") from None
    if event["detail"] is not None and not isinstance(event["detail"], dict):
        raise invalid_request("detail must be an object")
    if event["detail"] is not None and not isinstance(event["detail"].get("assisted", False), bool):
        raise invalid_request("detail.assisted must be true or false")
    if event["detail"] is not None and len(json.dumps(event["detail"])) > jobs.MAX_DETAIL_BYTES:
        raise invalid_request(f"detail must be at most {jobs.MAX_DETAIL_BYTES} bytes as JSON")
    return jsonify(jobs.record_event(connection(), dinas().now(), who.kiosk_id, job_id, event))


@kiosk.delete("/sessions/<session_id>")
def end_session(session_id: str) -> tuple[str, int]:
    who = caller("kiosk")
    updated = connection().run("UPDATE sessions SET ended_at = COALESCE(ended_at, :now) "
                               "WHERE session_id = :s AND kiosk_id = :k",
                               now=dinas().now(), s=session_id, k=who.kiosk_id)
    if updated == 0:
        raise not_found("no such session for this kiosk")
    return "", 204


@kiosk.post("/heartbeat")
def heartbeat() -> Response:
    # A good heartbeat with its kiosk's token is stored before Flask (`heartbeat_wsgi`); what
    # reaches here is checked in order: the caller, its kiosk id, then the body.
    who = caller("kiosk")
    body = v.json_object()
    kiosk_id = v.text(body, "kiosk_id", max_len=64)
    if kiosk_id != who.kiosk_id:
        raise ApiError(403, "forbidden", "kiosk_id does not match this kiosk's token")
    beat, kiosk_etag = heartbeats.read(body)
    return jsonify(dinas().heartbeats.store(connection, who.kiosk_id, beat, kiosk_etag))


@kiosk.get("/config")
def config() -> Response:
    who = caller("kiosk")
    found = config_store.latest_for(connection(), who.kiosk_id)
    if found is None:
        raise not_found("no configuration has been published for this kiosk")
    envelope, etag = found
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = jsonify(envelope)
    response.set_etag(etag)
    return response


@kiosk.post("/config/reports")
def config_report() -> tuple[Response, int]:
    who = caller("kiosk")
    body = v.json_object()
    v.reject_unknown(body, {"version", "result", "reason"})
    version = v.integer(body, "version", minimum=0, maximum=2**53)
    result = v.choice(body, "result", ("applied", "rejected", "rolled_back"))
    reason = v.text(body, "reason", max_len=500, required=False)
    config_store.store_report(connection(), dinas().now(), who.kiosk_id, version, result, reason)
    return jsonify({"accepted": True}), 202
