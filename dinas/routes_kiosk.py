"""The kiosk's calls: sessions, documents, jobs, events, heartbeat and configuration."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, jsonify, request

from . import auth, config_store, db, fleet, jobs, pins, validation as v
from .clock import iso, parse_iso
from .errors import ApiError, invalid_request, not_found
from .context import caller, connection, dinas
from .vault import mask_nik

kiosk = Blueprint("kiosk", __name__)
log = logging.getLogger(__name__)
DEVICE_STATES = ("ready", "busy", "offline", "user_error", "hardware_error", "no_device", "unknown")
SUPPLY_LEVELS = ("full", "low", "out", "unknown")


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


def _read_devices(body: dict) -> dict:
    devices = body.get("devices")
    if not isinstance(devices, dict) or len(devices) > 16:
        raise invalid_request("devices must be an object of at most 16 devices, keyed by role")
    for role, device in devices.items():
        if not isinstance(device, dict):
            raise invalid_request(f"devices.{role} must be an object (DeviceStatus.as_dict())")
        v.choice(device, "state", DEVICE_STATES)
        supplies = device.get("supplies", {})
        if not isinstance(supplies, dict) or not all(isinstance(s, dict) for s in supplies.values()):
            raise invalid_request(f"devices.{role}.supplies must be an object of objects")
        for name, supply in supplies.items():
            if supply.get("level") not in SUPPLY_LEVELS:
                raise invalid_request(f"devices.{role}.supplies.{name}.level must be one of {', '.join(SUPPLY_LEVELS)}")
        faults = device.get("faults", [])
        if not isinstance(faults, list) or not all(isinstance(f, dict) and isinstance(f.get("code"), str)
                                                   for f in faults):
            raise invalid_request(f"devices.{role}.faults must be a list of objects with a code")
    return devices


def _flag(body: dict, key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise invalid_request(f"{key} must be true or false")
    return value


class _NotThisKiosksToken(Exception):
    """The fast path's token check found no row: the checked path says why."""


@kiosk.post("/heartbeat")
def heartbeat() -> Response:
    # The common case, a kiosk's own token and a good body, takes one transaction: one batch
    # (one round trip on PostgreSQL) that checks the token while it updates the kiosk's row,
    # then COMMIT. Anything else goes the checked way, which answers every error as it did.
    token = auth.bearer_token(request.headers.get("Authorization"))
    if token is not None:
        try:
            beat, kiosk_etag = _read_heartbeat(v.json_object())
        except ApiError:
            beat = None
        if beat is not None:
            try:
                return _store_heartbeat(beat["kiosk_id"], beat, kiosk_etag, dinas().vault.token_hash(token))
            except _NotThisKiosksToken:
                pass
    who = caller("kiosk")
    body = v.json_object()
    kiosk_id = v.text(body, "kiosk_id", max_len=64)
    if kiosk_id != who.kiosk_id:
        raise ApiError(403, "forbidden", "kiosk_id does not match this kiosk's token")
    beat, kiosk_etag = _read_heartbeat(body)
    return _store_heartbeat(who.kiosk_id, beat, kiosk_etag)


def _read_heartbeat(body: dict) -> tuple[dict, str | None]:
    kiosk_id = v.text(body, "kiosk_id", max_len=64)
    counters, last_faults = body.get("counters"), body.get("last_faults")
    if not isinstance(counters, dict):
        raise invalid_request("counters must be an object")
    if not isinstance(last_faults, list) or len(last_faults) > 100:
        raise invalid_request("last_faults must be a list of at most 100 entries")
    staff_actions = body.get("staff_actions", [])
    if not isinstance(staff_actions, list) or len(staff_actions) > 100 \
            or not all(isinstance(a, dict) and {"id", "at", "actor", "action"} <= a.keys() for a in staff_actions):
        raise invalid_request("staff_actions must be a list of at most 100 {id, at, actor, action, detail}")
    beat = {"kiosk_id": kiosk_id,
            "software_version": v.text(body, "software_version", max_len=64),
            "config_version": v.integer(body, "config_version", minimum=0, maximum=2**53, nullable=True),
            "config_stale": _flag(body, "config_stale"),
            "uptime_s": v.number(body, "uptime_s", minimum=0, maximum=1e10),
            "devices": _read_devices(body),
            "counters": counters,
            "outbox_depth": v.integer(body, "outbox_depth", minimum=0, maximum=2**31),
            "last_faults": last_faults,
            "cards_low": _flag(body, "cards_low"),
            "staff_actions": staff_actions}       # kept in the heartbeat history: who did what, by PIN slot
    return beat, v.text(body, "config_etag", max_len=200, required=False)


def _store_heartbeat(kiosk_id: str, beat: dict, kiosk_etag: str | None, token_hash: str | None = None) -> Response:
    """The kiosk's row, the rate-limit token, the history row, the day's counts and the
    configuration ETag in one transaction (one commit, one fsync: a refused heartbeat takes
    no token, and stores nothing). With `token_hash`, raises _NotThisKiosksToken (nothing
    kept) unless it is this kiosk's token."""
    now = dinas().now()
    limiter = dinas().heartbeat_limiter
    kiosk_row, *history = fleet.heartbeat_statements(now, kiosk_id, beat, token_hash)
    with db.transaction(connection()):
        counted, taken, *_, etag = connection().batch(
            [kiosk_row, limiter.take(f"heartbeats:{kiosk_id}"), *history, config_store.latest_etag(kiosk_id)])
        if token_hash is not None and not counted:
            raise _NotThisKiosksToken()
        limiter.check(taken[0])
        fleet.after_heartbeat(connection(), now, kiosk_id, counted[0]["heartbeat_count"] if counted else None)
        waiting = config_store.etag_differs(etag[0]["etag"] if etag else None, kiosk_etag)
    return jsonify({"server_time": iso(now), "config_waiting": waiting})


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
