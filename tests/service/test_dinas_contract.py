"""Every endpoint of the dinas API v1 and every error code, over loopback HTTP against the
reference server, each answer checked against dinas/openapi.yaml."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.fixtures.config_envelopes import TestKey, payload, spec_sign
import requests

from tests.fixtures.dinas_server import on_both_backends, reference_server, validate_response  # noqa: F401

TIMEOUT = 10


def call(server, method, path, template=None, *, kiosk=0, admin=False, token=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    elif admin:
        headers.update(server.admin_headers())
    elif kiosk is not None:
        headers.update(server.kiosk_headers(kiosk))
    response = requests.request(method, server.url + path, headers=headers, timeout=TIMEOUT, **kwargs)
    validate_response(response, method, template or path)
    return response


def open_session(server, citizen=0, kiosk=0, **body):
    person = server.citizens[citizen]
    body = body or {"nik": person["nik"], "pin": person["pin"]}
    return call(server, "POST", "/kiosk/sessions", json=body, kiosk=kiosk)


def reserve(server, session_id, document_id, job_id=None, kiosk=0):
    return call(server, "POST", f"/kiosk/sessions/{session_id}/jobs", "/kiosk/sessions/{session_id}/jobs",
                json={"job_id": job_id or str(uuid.uuid4()), "document_id": document_id}, kiosk=kiosk)


def event(server, job_id, state, event_id=None, kiosk=0, **extra):
    return call(server, "POST", f"/kiosk/jobs/{job_id}/events", "/kiosk/jobs/{job_id}/events", kiosk=kiosk,
                json={"event_id": event_id or str(uuid.uuid4()), "state": state, "at": "2026-11-22T10:00:00Z",
                      **extra})


def heartbeat_body(kiosk_id, **devices):
    return {"kiosk_id": kiosk_id, "software_version": "0.1.0", "config_version": None, "uptime_s": 12.5,
            "devices": devices, "counters": {"cards_printed": 3}, "outbox_depth": 0, "last_faults": []}


KEY = TestKey.new("dinas-2026")
ENVELOPE = spec_sign(payload(1, groups=["kota-bandung"]), [KEY])


# --- sessions ----------------------------------------------------------------------------------

def test_session_by_nik_lists_the_ready_documents(reference_server):
    reply = open_session(reference_server, 2)
    assert reply.status_code == 201
    body = reply.json()
    citizen = reference_server.citizens[2]
    assert body["request_no"] == citizen["request_no"]
    assert body["holder"]["nik_masked"] == citizen["nik"][:6] + "******" + citizen["nik"][-4:]
    assert body["holder"]["name_masked"].startswith("Jo")
    assert [(d["id"], d["kind"]) for d in body["documents"]] == [(d["id"], d["kind"]) for d in citizen["documents"]]
    assert {d["media"] for d in body["documents"]} == {"a4", "card"}
    assert all(d["status"] == "ready" for d in body["documents"])


def test_session_by_request_number(reference_server):
    citizen = reference_server.citizens[1]
    reply = open_session(reference_server, request_no=citizen["request_no"], pin=citizen["pin"])
    assert reply.status_code == 201 and reply.json()["documents"][0]["kind"] == "KIA"


@pytest.mark.parametrize("body", [
    {}, {"pin": "123456"}, {"nik": "3273021203840011"}, {"nik": "123", "pin": "123456"},
    {"nik": "3273021203840011", "pin": "12345"}, {"nik": "3273021203840011", "pin": 123456},
    {"nik": "3273023203840011", "pin": "123456"},                      # day 32: not a birth date
    {"request_no": "REQ-1", "pin": "123456"},
    {"nik": "3273021203840011", "request_no": "REQ-20261122-ABCDEF", "pin": "123456"},
    {"nik": "3273021203840011", "pin": "123456", "extra": 1},
])
def test_session_bad_bodies_are_invalid_request(reference_server, body):
    reply = call(reference_server, "POST", "/kiosk/sessions", json=body)
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_request"


def test_session_body_that_is_not_json(reference_server):
    reply = call(reference_server, "POST", "/kiosk/sessions", data=b"nik=1", headers={"Content-Type": "text/plain"})
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_request"


def test_wrong_pin_is_invalid_credentials_with_attempts_left(reference_server):
    citizen = reference_server.citizens[0]
    wrong = f"{(int(citizen['pin']) + 1) % 1_000_000:06d}"
    reply = open_session(reference_server, nik=citizen["nik"], pin=wrong)
    assert reply.status_code == 401
    assert reply.json() == {"error": "invalid_credentials", "detail": reply.json()["detail"], "attempts_left": 4}


def test_unknown_nik_answers_like_a_wrong_pin(reference_server):
    reply = open_session(reference_server, nik="3273020101900001", pin="000000")
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_credentials"


def test_session_attempts_are_rate_limited_per_kiosk(reference_server):
    codes = []
    for serial in range(1, 32):
        reply = open_session(reference_server, kiosk=1, nik=f"32730201019{serial:05d}", pin="000000")
        codes.append(reply.status_code)
    assert codes[:30] == [401] * 30 and codes[30] == 429
    assert reply.json()["error"] == "rate_limited" and reply.json()["retry_after"] >= 1
    assert open_session(reference_server, kiosk=0).status_code == 201      # another kiosk is not slowed
    reference_server.clock.advance(61)
    assert open_session(reference_server, kiosk=1).status_code == 201


def test_end_session(reference_server):
    session_id = open_session(reference_server).json()["session_id"]
    template = "/kiosk/sessions/{session_id}"
    assert call(reference_server, "DELETE", f"/kiosk/sessions/{session_id}", template).status_code == 204
    assert call(reference_server, "DELETE", f"/kiosk/sessions/{session_id}", template).status_code == 204
    assert call(reference_server, "DELETE", "/kiosk/sessions/nope", template).status_code == 404
    other_kiosk = call(reference_server, "DELETE", f"/kiosk/sessions/{session_id}", template, kiosk=1)
    assert other_kiosk.status_code == 404


# --- auth --------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,template", [
    ("POST", "/kiosk/sessions", None), ("POST", "/kiosk/heartbeat", None), ("GET", "/kiosk/config", None),
    ("POST", "/kiosk/config/reports", None), ("GET", "/admin/kiosks", None), ("PUT", "/admin/config", None),
    ("POST", "/admin/applications", None),
    ("DELETE", "/kiosk/sessions/x", "/kiosk/sessions/{session_id}"),
])
def test_missing_or_unknown_token_is_unauthorized(reference_server, method, path, template):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        reply = call(reference_server, method, path, template, kiosk=None, headers=headers, json={})
        assert reply.status_code == 401 and reply.json()["error"] == "unauthorized"


def test_wrong_kind_of_token_is_forbidden(reference_server):
    assert call(reference_server, "GET", "/admin/kiosks").json()["error"] == "forbidden"
    reply = call(reference_server, "POST", "/kiosk/sessions", admin=True, json={})
    assert reply.status_code == 403 and reply.json()["error"] == "forbidden"


def test_unknown_path_is_not_found_json(reference_server):
    reply = requests.get(reference_server.url + "/nothing/here", timeout=TIMEOUT)
    assert reply.status_code == 404 and reply.json()["error"] == "not_found"


# --- documents ---------------------------------------------------------------------------------

def test_document_download_has_length_and_sha256(reference_server):
    session = open_session(reference_server, 2).json()
    for document in session["documents"]:
        reply = call(reference_server, "GET", f"/kiosk/sessions/{session['session_id']}/documents/{document['id']}",
                     "/kiosk/sessions/{session_id}/documents/{document_id}")
        assert reply.status_code == 200 and reply.headers["Content-Type"] == "application/pdf"
        assert int(reply.headers["Content-Length"]) == len(reply.content) == document["size"]
        assert reply.headers["X-Content-SHA256"] == hashlib.sha256(reply.content).hexdigest() == document["sha256"]
        assert reply.content.startswith(b"%PDF-")


def test_document_of_another_application_is_not_found(reference_server):
    session = open_session(reference_server, 0).json()
    foreign = reference_server.citizens[1]["documents"][0]["id"]
    template = "/kiosk/sessions/{session_id}/documents/{document_id}"
    reply = call(reference_server, "GET", f"/kiosk/sessions/{session['session_id']}/documents/{foreign}", template)
    assert reply.status_code == 404 and reply.json()["error"] == "not_found"
    reply = call(reference_server, "GET", f"/kiosk/sessions/unknown/documents/{foreign}", template)
    assert reply.status_code == 404


def test_document_after_session_expiry_is_session_expired(reference_server):
    session = open_session(reference_server, 0).json()
    reference_server.clock.advance(15 * 60 + 1)
    path = f"/kiosk/sessions/{session['session_id']}/documents/{session['documents'][0]['id']}"
    reply = call(reference_server, "GET", path, "/kiosk/sessions/{session_id}/documents/{document_id}")
    assert reply.status_code == 410 and reply.json()["error"] == "session_expired"


# --- jobs and events ---------------------------------------------------------------------------

def test_reservation_is_idempotent_on_job_id(reference_server):
    session = open_session(reference_server, 0).json()
    job_id, document_id = str(uuid.uuid4()), session["documents"][0]["id"]
    first = reserve(reference_server, session["session_id"], document_id, job_id)
    again = reserve(reference_server, session["session_id"], document_id, job_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() == {"job_id": job_id, "document_id": document_id, "state": "reserved"}
    assert reference_server.query("SELECT status FROM documents WHERE id = ?", document_id) == [{"status": "reserved"}]


def test_second_job_for_a_reserved_document_is_reserved_elsewhere(reference_server):
    session = open_session(reference_server, 0).json()
    document_id = session["documents"][0]["id"]
    reserve(reference_server, session["session_id"], document_id)
    other = open_session(reference_server, 0, kiosk=1).json()
    reply = reserve(reference_server, other["session_id"], document_id, kiosk=1)
    assert reply.status_code == 409 and reply.json()["error"] == "reserved_elsewhere"


def test_full_print_consumes_document_and_pin(reference_server):
    session = open_session(reference_server, 0).json()
    document_id = session["documents"][0]["id"]
    job_id = reserve(reference_server, session["session_id"], document_id).json()["job_id"]
    assert event(reference_server, job_id, "printing").json()["state"] == "printing"
    printed_id = str(uuid.uuid4())
    ack = event(reference_server, job_id, "printed", printed_id)
    assert ack.status_code == 200 and ack.json() == {"event_id": printed_id, "job_id": job_id, "state": "printed",
                                                     "duplicate": False}
    assert event(reference_server, job_id, "printed", printed_id).json()["duplicate"] is True
    reply = reserve(reference_server, session["session_id"], document_id)
    assert reply.status_code == 409 and reply.json()["error"] == "already_printed"
    reply = open_session(reference_server, 0)
    assert reply.status_code == 410 and reply.json()["error"] == "pin_used"


def test_pin_stays_valid_until_every_document_is_printed(reference_server):
    session = open_session(reference_server, 2).json()
    kk, kia = session["documents"]
    job_id = reserve(reference_server, session["session_id"], kk["id"]).json()["job_id"]
    event(reference_server, job_id, "printed")
    again = open_session(reference_server, 2)
    assert again.status_code == 201
    assert {d["kind"]: d["status"] for d in again.json()["documents"]} == {"KK": "printed", "KIA": "ready"}
    job_id = reserve(reference_server, again.json()["session_id"], kia["id"]).json()["job_id"]
    event(reference_server, job_id, "printed")
    assert open_session(reference_server, 2).json()["error"] == "pin_used"


def test_failed_releases_the_document(reference_server):
    session = open_session(reference_server, 0).json()
    document_id = session["documents"][0]["id"]
    job_id = reserve(reference_server, session["session_id"], document_id).json()["job_id"]
    event(reference_server, job_id, "printing")
    ack = event(reference_server, job_id, "failed", reason="media_jam", detail={"fault": "media_jam"})
    assert ack.json()["state"] == "failed"
    assert reserve(reference_server, session["session_id"], document_id).status_code == 201
    reply = event(reference_server, job_id, "printing")
    assert reply.status_code == 409 and reply.json()["error"] == "invalid_transition"


def test_printing_after_printed_is_invalid_transition(reference_server):
    session = open_session(reference_server, 0).json()
    job_id = reserve(reference_server, session["session_id"], session["documents"][0]["id"]).json()["job_id"]
    event(reference_server, job_id, "printed")
    reply = event(reference_server, job_id, "printing")
    assert reply.status_code == 409 and reply.json()["error"] == "invalid_transition"


def test_events_are_accepted_after_the_session_expired(reference_server):
    session = open_session(reference_server, 0).json()
    job_id = reserve(reference_server, session["session_id"], session["documents"][0]["id"]).json()["job_id"]
    call(reference_server, "DELETE", f"/kiosk/sessions/{session['session_id']}", "/kiosk/sessions/{session_id}")
    reference_server.clock.advance(3600)
    assert event(reference_server, job_id, "printed").status_code == 200


def test_reservation_errors(reference_server):
    session = open_session(reference_server, 0).json()
    sid = session["session_id"]
    assert reserve(reference_server, sid, "doc-nope").json()["error"] == "not_found"
    assert reserve(reference_server, "no-such-session", session["documents"][0]["id"]).status_code == 404
    bad = call(reference_server, "POST", f"/kiosk/sessions/{sid}/jobs", "/kiosk/sessions/{session_id}/jobs",
               json={"job_id": "not-a-uuid", "document_id": "x"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"
    job_id = str(uuid.uuid4())
    reserve(reference_server, sid, session["documents"][0]["id"], job_id)
    reuse = reserve(reference_server, sid, reference_server.citizens[1]["documents"][0]["id"], job_id)
    assert reuse.status_code == 400
    reference_server.clock.advance(15 * 60 + 1)
    reply = reserve(reference_server, sid, session["documents"][0]["id"])
    assert reply.status_code == 410 and reply.json()["error"] == "session_expired"


def test_event_errors(reference_server):
    assert event(reference_server, str(uuid.uuid4()), "printing").json()["error"] == "not_found"
    session = open_session(reference_server, 0).json()
    job_id = reserve(reference_server, session["session_id"], session["documents"][0]["id"]).json()["job_id"]
    assert event(reference_server, job_id, "printing", kiosk=1).status_code == 404     # not this kiosk's job
    for body in ({"event_id": str(uuid.uuid4()), "state": "done", "at": "2026-11-22T10:00:00Z"},
                 {"event_id": str(uuid.uuid4()), "state": "printed", "at": "yesterday"},
                 {"event_id": str(uuid.uuid4()), "state": "printed", "at": "2026-11-22T10:00:00"},
                 {"event_id": str(uuid.uuid4()), "state": "printed", "at": "2026-11-22T10:00:00Z", "detail": []},
                 {"state": "printed", "at": "2026-11-22T10:00:00Z"}):
        reply = call(reference_server, "POST", f"/kiosk/jobs/{job_id}/events", "/kiosk/jobs/{job_id}/events",
                     json=body)
        assert reply.status_code == 400, body
    reply = call(reference_server, "POST", "/kiosk/jobs/nope/events", "/kiosk/jobs/{job_id}/events",
                 json={"event_id": str(uuid.uuid4()), "state": "printed", "at": "2026-11-22T10:00:00Z"})
    assert reply.status_code == 400


# --- heartbeat, config, fleet ------------------------------------------------------------------

def card_printer(level="full", faults=()):
    return {"device": "card_printer", "state": "ready", "supplies": {"cards": {"level": level, "count": 3},
                                                                     "ribbon": {"level": "full", "count": None}},
            "faults": [{"code": code, "severity": "alarm"} for code in faults], "capabilities": {}, "updated_at": 1.0}


def test_heartbeat_is_stored_and_shows_in_the_fleet(reference_server):
    kiosk_id = reference_server.kiosks[0]["kiosk_id"]
    body = heartbeat_body(kiosk_id, card_printer=card_printer("out", ["feeder_empty"]))
    reply = call(reference_server, "POST", "/kiosk/heartbeat", json=body)
    assert reply.status_code == 200 and reply.json()["server_time"].endswith("Z")
    call(reference_server, "POST", "/kiosk/heartbeat", json=body)
    fleet = {k["kiosk_id"]: k for k in call(reference_server, "GET", "/admin/kiosks", admin=True).json()["kiosks"]}
    assert set(fleet) == {k["kiosk_id"] for k in reference_server.kiosks}
    mine = fleet[kiosk_id]
    assert mine["online"] is True and mine["software_version"] == "0.1.0" and mine["heartbeats"] == 2
    assert mine["needs"] == ["card_printer:cards_out", "card_printer:feeder_empty"]
    assert fleet[reference_server.kiosks[1]["kiosk_id"]]["online"] is False
    reference_server.clock.advance(181)
    fleet = call(reference_server, "GET", "/admin/kiosks", admin=True).json()["kiosks"]
    assert not any(k["online"] for k in fleet)
    assert reference_server.query("SELECT COUNT(*) AS n FROM heartbeats WHERE kiosk_id = ?", kiosk_id) == [{"n": 2}]


def test_heartbeat_for_another_kiosk_is_forbidden(reference_server):
    body = heartbeat_body(reference_server.kiosks[1]["kiosk_id"])
    assert call(reference_server, "POST", "/kiosk/heartbeat", json=body).status_code == 403


@pytest.mark.parametrize("change", [
    {"uptime_s": -1}, {"uptime_s": "long"}, {"devices": []}, {"devices": {"x": {"state": "fine"}}},
    {"devices": {"x": {"state": "ready", "supplies": {"cards": {"level": "half"}}}}},
    {"devices": {"x": {"state": "ready", "faults": [{"severity": "alarm"}]}}},
    {"outbox_depth": -1}, {"config_version": "7"}, {"counters": []}, {"last_faults": {}},
])
def test_heartbeat_bad_bodies(reference_server, change):
    body = {**heartbeat_body(reference_server.kiosks[0]["kiosk_id"]), **change}
    reply = call(reference_server, "POST", "/kiosk/heartbeat", json=body)
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_request"


def test_heartbeat_too_large_is_payload_too_large(reference_server):
    body = heartbeat_body(reference_server.kiosks[0]["kiosk_id"])
    body["counters"] = {"junk": "x" * (2 * 1024 * 1024)}
    reply = call(reference_server, "POST", "/kiosk/heartbeat", json=body)
    assert reply.status_code == 413 and reply.json()["error"] == "payload_too_large"


def test_config_envelope_with_etag_and_304(reference_server):
    assert call(reference_server, "GET", "/kiosk/config").json()["error"] == "not_found"
    put = call(reference_server, "PUT", "/admin/config", admin=True,
               json={"target": {"groups": ["kota-bandung"]}, "envelope": ENVELOPE})
    assert put.status_code == 200
    first = call(reference_server, "GET", "/kiosk/config")
    assert first.status_code == 200 and first.json() == ENVELOPE
    etag = first.headers["ETag"]
    unchanged = call(reference_server, "GET", "/kiosk/config", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == etag
    assert call(reference_server, "GET", "/kiosk/config", kiosk=2).status_code == 404      # another group
    newer = spec_sign(payload(2, groups=["kota-bandung"]), [KEY])
    call(reference_server, "PUT", "/admin/config", admin=True,
         json={"target": {"kiosks": [reference_server.kiosks[0]["kiosk_id"]]}, "envelope": newer})
    changed = call(reference_server, "GET", "/kiosk/config", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json() == newer and changed.headers["ETag"] != etag
    assert call(reference_server, "GET", "/kiosk/config", kiosk=1).json() == ENVELOPE


BANDUNG = {"groups": ["kota-bandung"]}          # inside ENVELOPE's signed target: only the envelope is wrong


@pytest.mark.parametrize("body, status, says", [
    ({"target": {}, "envelope": ENVELOPE}, 400, "target must name"),
    ({"target": {"kiosks": ["ADM-NOPE"]}, "envelope": ENVELOPE}, 404, "no kiosk ADM-NOPE"),
    # the opening complaint: an unsigned or non-JSON envelope was stored and served
    ({"target": BANDUNG, "envelope": {**ENVELOPE, "signatures": []}}, 400, "it is unsigned"),
    ({"target": BANDUNG, "envelope": {k: v for k, v in ENVELOPE.items() if k != "signatures"}}, 400,
     "it is unsigned"),
    ({"target": BANDUNG, "envelope": spec_sign(b"not json", [KEY])}, 400, "envelope.payload is not JSON"),
    ({"target": BANDUNG, "envelope": {**ENVELOPE, "payload": "%%%"}}, 400, "envelope.payload is not valid base64"),
    ({"target": BANDUNG, "envelope": {**ENVELOPE, "payloadType": "application/json"}}, 400,
     "envelope.payloadType must be application/vnd.adm-kiosk.config+json"),
    ({"target": BANDUNG, "envelope": spec_sign(b'{"version": 1}', [KEY])}, 400, "with exactly version"),
    ({"target": BANDUNG, "envelope": spec_sign(payload(0, groups=["kota-bandung"]), [KEY])}, 400,
     "version must be an integer of at least 1"),
    ({"target": BANDUNG, "envelope": {**ENVELOPE, "signatures": [{"keyid": "k", "sig": "c2ln"}]}}, 400,
     "64-byte Ed25519 signature"),
    ({"target": BANDUNG, "envelope": {**ENVELOPE, "extra": 1}}, 400, "unknown field(s) in envelope: extra"),
    ({"target": {"groups": ["another-group"]}, "envelope": ENVELOPE}, 400,
     "the signed target does not cover group another-group"),
    ({"target": {"groups": ["bad group"]}, "envelope": ENVELOPE}, 400, "target.groups must be a list of ids"),
    ({"target": BANDUNG}, 400, "envelope must be a DSSE envelope object"),
])
def test_config_publish_errors(reference_server, body, status, says):
    reply = call(reference_server, "PUT", "/admin/config", admin=True, json=body)
    assert reply.status_code == status and says in reply.json()["detail"], reply.text
    assert reference_server.query("SELECT COUNT(*) AS n FROM config_envelopes") == [{"n": 0}]     # nothing stored
    assert call(reference_server, "GET", "/kiosk/config").status_code == 404                     # nothing served


def test_config_reports_are_stored(reference_server):
    reply = call(reference_server, "POST", "/kiosk/config/reports",
                 json={"version": 3, "result": "rolled_back", "reason": "printer check failed"})
    assert reply.status_code == 202 and reply.json() == {"accepted": True}
    kiosk = call(reference_server, "GET", "/admin/kiosks", admin=True).json()["kiosks"][0]
    assert kiosk["last_config_report"]["result"] == "rolled_back"
    for bad in ({"version": 3, "result": "ok"}, {"version": -1, "result": "applied"}, {"result": "applied"}):
        assert call(reference_server, "POST", "/kiosk/config/reports", json=bad).status_code == 400


def test_openapi_document_is_served(reference_server):
    reply = requests.get(reference_server.url + "/openapi.yaml", timeout=TIMEOUT)
    assert reply.status_code == 200 and reply.text.startswith("openapi: 3.1")
