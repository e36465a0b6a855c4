"""PIN security on the reference server: lockout, its expiry, used and expired PINs, and no
PIN, NIK, name or phone in clear in the database file or in the logs."""

from __future__ import annotations

import logging
import re
import uuid

import requests

from tests.fixtures.dinas_server import on_both_backends, reference_server, validate_response  # noqa: F401

TIMEOUT = 10


def attempt(server, kiosk=0, **body):
    reply = requests.post(f"{server.url}/kiosk/sessions", json=body, headers=server.kiosk_headers(kiosk),
                          timeout=TIMEOUT)
    validate_response(reply, "POST", "/kiosk/sessions")
    return reply


def wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 1_000_000:06d}"


def test_sixth_try_is_locked_even_with_the_right_pin(reference_server):
    citizen = reference_server.citizens[0]
    left = [attempt(reference_server, nik=citizen["nik"], pin=wrong(citizen["pin"])).json()["attempts_left"]
            for _ in range(5)]
    assert left == [4, 3, 2, 1, 0]
    sixth = attempt(reference_server, nik=citizen["nik"], pin=citizen["pin"])
    assert sixth.status_code == 423 and sixth.json()["error"] == "locked"
    assert 880 <= sixth.json()["retry_after"] <= 900
    # The lock is on the NIK and its request, whichever way in, from any kiosk.
    assert attempt(reference_server, kiosk=1, request_no=citizen["request_no"], pin=citizen["pin"]).status_code == 423
    assert attempt(reference_server, kiosk=2, nik=citizen["nik"], pin=citizen["pin"]).status_code == 423
    # Another citizen is not affected.
    other = reference_server.citizens[1]
    assert attempt(reference_server, nik=other["nik"], pin=other["pin"]).status_code == 201


def test_lock_expires_after_fifteen_minutes(reference_server):
    citizen = reference_server.citizens[1]
    for _ in range(5):
        attempt(reference_server, request_no=citizen["request_no"], pin=wrong(citizen["pin"]))
    reference_server.clock.advance(14 * 60)
    assert attempt(reference_server, nik=citizen["nik"], pin=citizen["pin"]).status_code == 423
    reference_server.clock.advance(61)
    assert attempt(reference_server, nik=citizen["nik"], pin=citizen["pin"]).status_code == 201


def test_counting_starts_again_after_the_lock_and_after_a_right_pin(reference_server):
    citizen = reference_server.citizens[0]
    for _ in range(4):
        attempt(reference_server, nik=citizen["nik"], pin=wrong(citizen["pin"]))
    assert attempt(reference_server, nik=citizen["nik"], pin=citizen["pin"]).status_code == 201
    assert attempt(reference_server, nik=citizen["nik"], pin=wrong(citizen["pin"])).json()["attempts_left"] == 4


def test_unknown_request_number_is_locked_too(reference_server):
    for _ in range(5):
        assert attempt(reference_server, request_no="REQ-20260101-ZZZZZZ", pin="123456").status_code == 401
    assert attempt(reference_server, request_no="REQ-20260101-ZZZZZZ", pin="123456").status_code == 423


def test_expired_pin_is_refused_and_only_the_right_pin_learns_it(reference_server):
    citizen = reference_server.citizens[0]
    reference_server.clock.advance(7 * 86400 + 1)
    reply = attempt(reference_server, nik=citizen["nik"], pin=citizen["pin"])
    assert reply.status_code == 410 and reply.json()["error"] == "pin_expired"
    reply = attempt(reference_server, nik=citizen["nik"], pin=wrong(citizen["pin"]))
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_credentials"


def test_used_pin_is_refused(reference_server):
    citizen = reference_server.citizens[1]
    session = attempt(reference_server, request_no=citizen["request_no"], pin=citizen["pin"]).json()
    headers = reference_server.kiosk_headers(0)
    job_id = str(uuid.uuid4())
    requests.post(f"{reference_server.url}/kiosk/sessions/{session['session_id']}/jobs", headers=headers,
                  json={"job_id": job_id, "document_id": session["documents"][0]["id"]}, timeout=TIMEOUT)
    requests.post(f"{reference_server.url}/kiosk/jobs/{job_id}/events", headers=headers, timeout=TIMEOUT,
                  json={"event_id": str(uuid.uuid4()), "state": "printed", "at": "2026-11-22T10:00:00Z"})
    for body in ({"nik": citizen["nik"]}, {"request_no": citizen["request_no"]}):
        reply = attempt(reference_server, **body, pin=citizen["pin"])
        assert reply.status_code == 410 and reply.json()["error"] == "pin_used"


def _clear_occurrences(data: bytes, secret: str) -> list[int]:
    """Where `secret` sits in `data` other than by chance inside a long hash or base64 run."""
    found = []
    for match in re.finditer(re.escape(secret.encode()), data):
        start, end = match.start(), match.end()
        while start > 0 and re.match(rb"[A-Za-z0-9_=-]", data[start - 1:start]):
            start -= 1
        while end < len(data) and re.match(rb"[A-Za-z0-9_=-]", data[end:end + 1]):
            end += 1
        if end - start < 32:
            found.append(match.start())
    return found


def _stored_bytes(server, folder):
    """Everything the database holds: its files (SQLite) or every row of every table (PostgreSQL)."""
    if server.backend == "sqlite":
        return b"".join(path.read_bytes() for path in sorted(folder.iterdir())
                        if path.name.startswith("dinas.db") and not path.name.endswith(".key"))
    tables = [row["tablename"] for row in server.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return b"".join(value if isinstance(value, bytes) else str(value).encode()
                    for table in tables for row in server.query(f"SELECT * FROM {table}") for value in row.values())


def test_no_pin_nik_name_or_phone_in_clear_in_the_database_or_logs(reference_server, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    server = reference_server
    # Exercise every path that touches personal data: right and wrong PINs, downloads,
    # prints, a new application through the admin API.
    for index, citizen in enumerate(server.citizens):
        attempt(server, nik=citizen["nik"], pin=wrong(citizen["pin"]))
        session = attempt(server, nik=citizen["nik"], pin=citizen["pin"]).json()
        for document in session["documents"]:
            requests.get(f"{server.url}/kiosk/sessions/{session['session_id']}/documents/{document['id']}",
                         headers=server.kiosk_headers(0), timeout=TIMEOUT)
    pdf = requests.get(f"{server.url}/kiosk/sessions/{session['session_id']}/documents/"
                       f"{session['documents'][0]['id']}", headers=server.kiosk_headers(0), timeout=TIMEOUT).content
    issued = server.issue("3273024506950007", "Wulan Sari Dewi", "081100000404", [("KK", "Kartu Keluarga", pdf)])
    new_pin = server.pin_for(issued["request_no"])
    attempt(server, nik="3273024506950007", pin=new_pin)

    data = _stored_bytes(server, tmp_path)
    assert len(data) > 10_000
    logs = "\n".join(record.getMessage() for record in caplog.records)
    citizens = server.citizens + [{"nik": "3273024506950007", "pin": new_pin, "name": "Wulan Sari Dewi",
                                   "phone": "+6281100000404"}]
    for citizen in citizens:
        for secret in (citizen["nik"], citizen["name"], citizen["name"].upper(), citizen["phone"],
                       citizen["phone"][3:]):
            assert secret.encode() not in data, f"{secret} in the database"
            assert secret not in logs, f"{secret} in the logs"
        assert not _clear_occurrences(data, citizen["pin"]), "a PIN in the database"
        assert citizen["pin"] not in logs, "a PIN in the logs"
    assert "327302******0007" in logs           # logged, masked
    # Only the database and its key beside it: nothing else left on disk.
    assert {path.name for path in tmp_path.iterdir()} <= {"dinas.db", "dinas.db-wal", "dinas.db-shm", "dinas.db.key"}
