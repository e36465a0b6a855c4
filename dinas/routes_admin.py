"""The dinas admin's calls: issue a PIN for an application, publish config, see the fleet."""

from __future__ import annotations

import base64
import binascii
import logging
import re

from flask import Blueprint, Response, jsonify

from . import applications, config_store, db, fleet, kinds, validation as v
from .config_envelope import EnvelopeProblem, Payload, check_envelope
from .applications import NewDocument
from .clock import iso
from .context import caller, connection, dinas
from .errors import invalid_request, not_found
from .vault import mask_nik, mask_phone

admin = Blueprint("admin", __name__)
log = logging.getLogger(__name__)
GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TITLE = re.compile(r"(?!.*\d{16})[^\x00-\x1f]{1,120}")


def _documents(body: dict) -> list[NewDocument]:
    items = body.get("documents")
    if not isinstance(items, list) or not 1 <= len(items) <= 8:
        raise invalid_request("documents must be a list of 1 to 8 documents")
    documents = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid_request(f"documents[{index}] must be an object")
        v.reject_unknown(item, {"kind", "title", "pdf_base64"}, f"documents[{index}]")
        kind = v.choice(item, "kind", kinds.CODES)
        title = v.text(item, "title", pattern=TITLE, max_len=120, what="1 to 120 printable characters, no NIK")
        encoded = v.text(item, "pdf_base64", max_len=applications.MAX_DOCUMENT_BYTES * 2)
        try:
            pdf = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise invalid_request(f"documents[{index}].pdf_base64 is not valid base64") from None
        documents.append(NewDocument(kind, title, pdf))
    return documents


@admin.post("/applications")
def create_application() -> tuple[Response, int]:
    caller("admin")
    body = v.json_object()
    v.reject_unknown(body, {"nik", "name", "phone", "documents", "request_no", "valid_days"})
    nik = v.nik(body)
    name = v.text(body, "name", pattern=v.NAME, max_len=100, what="a name of letters, spaces and . , ' -")
    phone = v.text(body, "phone", max_len=24)
    request_no = v.text(body, "request_no", pattern=v.REQUEST_NO, max_len=24, required=False,
                        what="a request number like REQ-20261122-AB12CD")
    valid_days = v.integer(body, "valid_days", minimum=1, maximum=applications.MAX_VALID_DAYS, required=False)
    issued = applications.issue(connection(), dinas().vault, dinas().notifier, dinas().now(), nik=nik, name=name,
                                phone=phone, documents=_documents(body), request_no=request_no,
                                valid_days=valid_days or applications.DEFAULT_VALID_DAYS)
    log.info("issued %s for %s, message to %s", issued.request_no, mask_nik(nik), mask_phone(issued.message.to))
    # No PIN in the reply: the message says never to show the PIN to staff, and only the
    # notifier (the citizen's WhatsApp) gets it. The admin sees where it went and its QR payload.
    return jsonify({"request_no": issued.request_no, "pin_expires_at": iso(issued.pin_expires_at),
                    "documents": issued.documents,
                    "message": {"to": mask_phone(issued.message.to), "qr_payload": issued.message.qr_payload,
                                "sent": True}}), 201


def _names(target: dict, key: str) -> list[str]:
    names = target.get(key, [])
    if not isinstance(names, list) or len(names) > 1000 or not all(
            isinstance(n, str) and GROUP.fullmatch(n) for n in names):
        raise invalid_request(f"target.{key} must be a list of ids (letters, digits, . _ -)")
    return list(dict.fromkeys(names))


def _envelope(body: dict) -> tuple[dict, Payload]:
    envelope = body.get("envelope")
    try:
        return envelope, check_envelope(envelope)
    except EnvelopeProblem as problem:
        raise invalid_request(str(problem)) from None


def _outside_signed_target(kiosks: list[str], groups: list[str], payload: Payload) -> list[str]:
    """What the request targets that the signed target does not cover: those kiosks would
    only refuse it (not_for_this_kiosk)."""
    outside = [f"group {g}" for g in groups if g not in payload.groups]
    for kiosk_id in kiosks:
        row = connection().one("SELECT grp FROM kiosks WHERE kiosk_id = :k", k=kiosk_id)
        if row is None:
            raise not_found(f"no kiosk {kiosk_id}")
        if kiosk_id not in payload.kiosks and row["grp"] not in payload.groups:
            outside.append(f"kiosk {kiosk_id}")
    return outside


@admin.put("/config")
def publish_config() -> Response:
    caller("admin")
    body = v.json_object()
    v.reject_unknown(body, {"target", "envelope"})
    target = body.get("target")
    if not isinstance(target, dict):
        raise invalid_request("target must be an object with kiosks and/or groups")
    v.reject_unknown(target, {"kiosks", "groups"}, "target")
    kiosks, groups = _names(target, "kiosks"), _names(target, "groups")
    if not kiosks and not groups:
        raise invalid_request("target must name at least one kiosk or group")
    envelope, payload = _envelope(body)
    with db.transaction(connection()):
        outside = _outside_signed_target(kiosks, groups, payload)
        if outside:
            raise invalid_request(f"the signed target does not cover {', '.join(outside[:5])}")
        etag = config_store.store(connection(), dinas().now(), kiosks, groups, envelope)
    log.info("config v%d stored for %d kiosk(s) and %d group(s)", payload.version, len(kiosks), len(groups))
    return jsonify({"etag": etag, "version": payload.version, "target": {"kiosks": kiosks, "groups": groups}})


ROLLOUT_STATES = ("running", "stopped", "completed")


@admin.put("/config/rollouts/<rollout_id>")
def record_rollout(rollout_id: str) -> Response:
    """`adm-dinas config rollout` records its progress here, so `config status` shows it
    from any admin's machine."""
    caller("admin")
    if not GROUP.fullmatch(rollout_id):
        raise invalid_request("rollout_id must be 1-64 letters, digits, . _ -")
    body = v.json_object()
    v.reject_unknown(body, {"group", "version", "waves", "max_failures_percent", "state", "waves_done", "message"})
    v.text(body, "group", pattern=GROUP, max_len=64, what="a group name")
    v.integer(body, "version", minimum=1, maximum=2**53)
    v.choice(body, "state", ROLLOUT_STATES)
    v.number(body, "max_failures_percent", minimum=0, maximum=100)
    v.text(body, "message", max_len=500, required=False)
    for key in ("waves", "waves_done"):
        if not isinstance(body.get(key), list) or len(body[key]) > 100:
            raise invalid_request(f"{key} must be a list of at most 100 entries")
    stored = config_store.save_rollout(connection(), dinas().now(), rollout_id, body)
    return jsonify(stored)


@admin.get("/config/rollouts")
def list_rollouts() -> Response:
    caller("admin")
    return jsonify({"rollouts": config_store.rollouts(connection())})


@admin.get("/kiosks")
def kiosks() -> Response:
    caller("admin")
    return jsonify({"kiosks": fleet.listing(connection(), dinas().now())})
