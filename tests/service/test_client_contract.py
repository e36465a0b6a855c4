"""The dinas client against the reference server over real HTTP on loopback: every call the
kiosk makes, and every contract error code the kiosk can meet mapped to its exception."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from tests.fixtures.config_envelopes import TestKey, payload, spec_sign

from kiosk.config import load_config
from kiosk.dinas_client import DinasClient, DinasSession
from kiosk.dinas_errors import (
    AlreadyPrinted, Forbidden, InvalidCredentials, InvalidRequest, InvalidTransition, Locked,
    NotFound, PayloadTooLarge, PinBlocked, PinExpired, PinUsed, RateLimited, ReservedElsewhere, SessionExpired,
    Unauthorized,
)
from tests.fixtures.dinas_server import DinasServer, reference_server  # noqa: F401

NOW = "2026-11-22T10:00:00Z"


def client_for(server: DinasServer, kiosk: int = 0, **options: object) -> DinasClient:
    return DinasClient(server.url, server.kiosks[kiosk]["token"], connect_timeout=2, read_timeout=10, **options)


def open_for(client: DinasClient, citizen: dict) -> DinasSession:
    return client.open_session(nik=citizen["nik"], pin=citizen["pin"])


def heartbeat_body(server: DinasServer, **changes: object) -> dict:
    body = {"kiosk_id": server.kiosks[0]["kiosk_id"], "software_version": "0.1.0", "config_version": None,
            "uptime_s": 12.5, "devices": {"a4_printer": {"state": "ready", "supplies": {}, "faults": []}},
            "counters": {"cards_printed": 0}, "outbox_depth": 0, "last_faults": []}
    body.update(changes)
    return body


def test_a_whole_print_against_the_reference_server(reference_server: DinasServer) -> None:
    citizen = reference_server.citizens[0]
    client = client_for(reference_server)
    session = open_for(client, citizen)
    assert [d.id for d in session.documents] == [d["id"] for d in citizen["documents"]]
    assert session.request_no == citizen["request_no"]
    assert citizen["nik"] not in session.nik_masked and session.nik_masked.endswith(citizen["nik"][-4:])
    assert session.expires_at > datetime.now(timezone.utc).replace(year=2000)
    document = session.documents[0]

    pdf = client.download_document(session.session_id, document)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == document.sha256

    job_id = uuid.uuid4()
    first = client.reserve_job(session.session_id, job_id, document.id)
    assert client.reserve_job(session.session_id, job_id, document.id) == first     # idempotent
    with pytest.raises(ReservedElsewhere):
        client.reserve_job(session.session_id, uuid.uuid4(), document.id)

    printing, printed = uuid.uuid4(), uuid.uuid4()
    assert client.post_event(job_id, printing, "printing", NOW)["duplicate"] is False
    assert client.post_event(job_id, printed, "printed", datetime.now(timezone.utc),
                             detail={"counter_before": 10})["duplicate"] is False
    assert client.post_event(job_id, printed, "printed", NOW)["duplicate"] is True
    with pytest.raises(InvalidTransition):
        client.post_event(job_id, uuid.uuid4(), "printing", NOW)
    with pytest.raises(AlreadyPrinted):
        client.reserve_job(session.session_id, uuid.uuid4(), document.id)

    client.end_session(session.session_id)
    client.end_session(session.session_id)        # ending twice is fine
    with pytest.raises(SessionExpired):
        client.download_document(session.session_id, document)
    with pytest.raises(PinUsed):                  # every document printed: the PIN is spent
        open_for(client, citizen)


def test_a_failed_print_releases_the_document(reference_server: DinasServer) -> None:
    client = client_for(reference_server)
    citizen = reference_server.citizens[2]
    session = client.open_session(request_no=citizen["request_no"], pin=citizen["pin"])
    assert {d.kind for d in session.documents} == {"KK", "KIA"}
    card = next(d for d in session.documents if d.media == "card")
    job = uuid.uuid4()
    client.reserve_job(session.session_id, job, card.id)
    client.post_event(job, uuid.uuid4(), "failed", NOW, reason="ribbon_out")
    assert client.reserve_job(session.session_id, uuid.uuid4(), card.id)["state"] == "reserved"


def test_wrong_pins_count_down_then_lock_and_the_lock_expires(reference_server: DinasServer) -> None:
    client = client_for(reference_server)
    citizen = reference_server.citizens[1]
    wrong = "000000" if citizen["pin"] != "000000" else "111111"
    left = []
    for _ in range(5):
        with pytest.raises(InvalidCredentials) as refused:
            client.open_session(nik=citizen["nik"], pin=wrong)
        left.append(refused.value.attempts_left)
    assert left == [4, 3, 2, 1, 0]
    with pytest.raises(Locked) as locked:                      # the 6th try, even with the right PIN
        open_for(client, citizen)
    assert 0 < locked.value.retry_after <= 15 * 60
    reference_server.clock.advance(15 * 60 + 1)
    assert open_for(client, citizen).documents


def test_a_pin_locked_three_times_is_blocked_for_the_kiosk_too(reference_server: DinasServer) -> None:
    client = client_for(reference_server)
    citizen = reference_server.citizens[1]
    wrong = "000000" if citizen["pin"] != "000000" else "111111"
    for _ in range(3):
        for _ in range(5):
            with pytest.raises(InvalidCredentials):
                client.open_session(nik=citizen["nik"], pin=wrong)
        reference_server.clock.advance(15 * 60 + 1)
    with pytest.raises(PinBlocked) as blocked:                 # the right PIN too: only the dinas can help
        open_for(client, citizen)
    assert (blocked.value.status, blocked.value.code) == (423, "pin_blocked")


def test_an_expired_pin_is_refused(reference_server: DinasServer) -> None:
    reference_server.clock.advance(8 * 24 * 3600)
    with pytest.raises(PinExpired):
        open_for(client_for(reference_server), reference_server.citizens[0])


def test_an_expired_session_is_refused(reference_server: DinasServer) -> None:
    client = client_for(reference_server)
    session = open_for(client, reference_server.citizens[0])
    reference_server.clock.advance(16 * 60)
    with pytest.raises(SessionExpired):
        client.download_document(session.session_id, session.documents[0])
    with pytest.raises(SessionExpired):
        client.reserve_job(session.session_id, uuid.uuid4(), session.documents[0].id)


def test_unknown_things_are_not_found(reference_server: DinasServer) -> None:
    client = client_for(reference_server)
    session = open_for(client, reference_server.citizens[0])
    with pytest.raises(NotFound):
        client.post_event(uuid.uuid4(), uuid.uuid4(), "printing", NOW)
    with pytest.raises(NotFound):
        client.reserve_job(session.session_id, uuid.uuid4(), "doc-does-not-exist")
    with pytest.raises(NotFound):
        client_for(reference_server, kiosk=1).end_session(session.session_id)   # another kiosk's session


def test_malformed_requests_are_invalid(reference_server: DinasServer) -> None:
    client = client_for(reference_server)
    with pytest.raises(InvalidRequest):
        client.open_session(nik="12345", pin="123456")
    with pytest.raises(InvalidRequest):
        client.post_event("not-a-uuid", uuid.uuid4(), "printing", NOW)


def test_tokens_are_checked(reference_server: DinasServer) -> None:
    with pytest.raises(Unauthorized):
        DinasClient(reference_server.url, "not-a-token").heartbeat(heartbeat_body(reference_server))
    with pytest.raises(Forbidden):
        DinasClient(reference_server.url, reference_server.admin_token).heartbeat(heartbeat_body(reference_server))
    with pytest.raises(Forbidden):       # a kiosk cannot speak for another
        client_for(reference_server, kiosk=1).heartbeat(heartbeat_body(reference_server))


def test_too_many_session_attempts_from_one_kiosk_are_rate_limited(reference_server: DinasServer) -> None:
    client = client_for(reference_server)
    with pytest.raises(RateLimited) as limited:
        for serial in range(40):                  # unknown requests: no lockout, only the kiosk's rate
            with pytest.raises(InvalidCredentials):
                client.open_session(request_no=f"REQ-20261122-ZZZZ{serial:02d}", pin="123456")
    assert limited.value.retry_after > 0


def test_an_oversized_body_is_refused(reference_server: DinasServer) -> None:
    body = heartbeat_body(reference_server, counters={"padding": "x" * (2 * 1024 * 1024)})
    with pytest.raises(PayloadTooLarge):
        client_for(reference_server).heartbeat(body)


def test_heartbeat_config_and_reports(reference_server: DinasServer) -> None:
    client = client_for(reference_server)
    assert "server_time" in client.heartbeat(heartbeat_body(reference_server))
    assert client.fetch_config() == (None, None)

    envelope = spec_sign(payload(1, kiosks=[reference_server.kiosks[0]["kiosk_id"]]), [TestKey.new("k1")])
    published = requests.put(f"{reference_server.url}/admin/config", headers=reference_server.admin_headers(),
                             json={"target": {"kiosks": [reference_server.kiosks[0]["kiosk_id"]]},
                                   "envelope": envelope}, timeout=10)
    assert published.status_code == 200
    fetched, etag = client.fetch_config()
    assert fetched == envelope and etag
    assert client.fetch_config(etag) == (None, etag)
    client.report_config(1, "applied")
    client.report_config(2, "rejected", reason="signature by an untrusted key")
    assert [r["result"] for r in reference_server.query("SELECT result FROM config_reports ORDER BY rowid")] == \
        ["applied", "rejected"]


def test_a_client_made_from_kiosk_toml(reference_server: DinasServer, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(reference_server.kiosks[0]["token"] + "\n")
    (tmp_path / "kiosk.toml").write_text(
        f'[kiosk]\nid = "{reference_server.kiosks[0]["kiosk_id"]}"\nstate_dir = "state"\n'
        f'[dinas]\nurl = "{reference_server.url}"\ntoken_file = "token"\n'
        f'[dinas.timeout_s]\nconnect = 1.5\nread = 5\n')
    with DinasClient.from_config(load_config(tmp_path / "kiosk.toml")) as client:
        assert client.timeout == (1.5, 5.0)
        assert "server_time" in client.heartbeat(heartbeat_body(reference_server))
