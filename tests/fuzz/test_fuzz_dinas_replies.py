"""Fuzz the dinas client's reading of replies: the session and its documents, error envelopes,
the other calls' JSON, first as parsed JSON and then as whole HTTP replies over real loopback.

Kept corpus (corpus/dinas_replies/): one reply per file, a first line `STATUS Content-Type`
then the body as sent (11: a sha256 ending in a newline, which the check once let through).

Properties: a reply is the call's typed result or a DinasError subclass, never another
exception; a well-formed session is read back field for field (extra fields tolerated);
removing a field the contract requires, or giving it another JSON type, is a ContractError;
an error envelope with a contract code and its status is that code's exception with its
integer field; a session the client accepts never holds a full NIK or a malformed sha256.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Iterator

import pytest
from hypothesis import given, strategies as st

from kiosk.dinas_client import DinasClient, DinasSession, RemoteDocument, parse_session, parse_time
from kiosk.dinas_errors import ERRORS_BY_CODE, EXTRA_INT_FIELDS, ContractError, DinasError
from printer_drivers.registry import kind_codes, media_codes
from tests.fixtures.hostile_server import HostileServer, respond

from .corpus import budget, seeds, with_seeds

CALL = "POST /kiosk/sessions"
SHA256 = re.compile(r"[0-9a-f]{64}")


def reply_from(raw: bytes) -> tuple[int, str, bytes]:
    head, _, body = raw.partition(b"\n")
    status, _, content_type = head.decode("ascii").partition(" ")
    return int(status), content_type, body


def json_of(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def check_session(session: DinasSession) -> None:
    assert not re.search(r"\d{16}", session.nik_masked)
    assert session.expires_at.tzinfo is not None
    assert len({d.id for d in session.documents}) == len(session.documents)
    for document in session.documents:
        assert SHA256.fullmatch(document.sha256), document.sha256
        assert document.kind in kind_codes() and document.media in media_codes()
        assert document.pages >= 1 and document.size >= 1 and document.id.strip() and document.title.strip()


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
                    max_leaves=20)


@budget(150)
@with_seeds([json_of(reply_from(raw)[2]) for raw in seeds("dinas_replies")])
@given(JSON)
def test_any_json_is_a_session_or_a_contract_error(data: Any) -> None:
    try:
        session = parse_session(CALL, data)
    except ContractError as error:
        assert error.code == "contract_violation" and error.detail.startswith(CALL)
        return
    check_session(session)


WORDS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=16).filter(str.strip)
TIMES = st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()) | \
    st.datetimes().map(lambda t: t.isoformat() + "Z")
DOCUMENT = st.fixed_dictionaries({
    "id": WORDS, "kind": st.sampled_from(kind_codes()), "media": st.sampled_from(media_codes()), "title": WORDS,
    "pages": st.integers(1, 2 ** 40), "size": st.integers(1, 2 ** 40),
    "sha256": st.text("0123456789abcdefABCDEF", min_size=64, max_size=64),
    "status": st.sampled_from(["ready", "printed", "reserved"])})
SESSION = st.fixed_dictionaries({
    "session_id": WORDS, "expires_at": TIMES,
    "holder": st.fixed_dictionaries({"name_masked": st.text(max_size=20),
                                     "nik_masked": st.sampled_from(["320101******0003", "", "3201********0003"])}),
    "request_no": WORDS,
    "documents": st.lists(DOCUMENT, max_size=3, unique_by=lambda d: d["id"])},
    optional={"extra": JSON})


def expected(body: dict) -> DinasSession:
    return DinasSession(body["session_id"], parse_time(body["expires_at"]), body["holder"]["name_masked"],
                        body["holder"]["nik_masked"], body["request_no"],
                        tuple(RemoteDocument(**{**d, "sha256": d["sha256"].lower()}) for d in body["documents"]))


@budget(100)
@given(SESSION)
def test_a_well_formed_session_is_read_field_for_field(body: dict) -> None:
    session = parse_session(CALL, json.loads(json.dumps(body)))
    assert session == expected(body)
    check_session(session)


OTHER_TYPE = {str: st.sampled_from([None, True, 7, 1.5, [], {}]), int: st.sampled_from([None, True, "1", 1.5, [], {}]),
              dict: st.sampled_from([None, True, 7, "x", []]), list: st.sampled_from([None, True, 7, "x", {}])}


def required_fields(body: dict) -> list[tuple[str, ...]]:
    paths = [(key,) for key in ("session_id", "expires_at", "holder", "request_no", "documents")]
    paths += [("holder", "name_masked"), ("holder", "nik_masked")]
    paths += [("documents", i, key) for i, d in enumerate(body["documents"]) for key in DOCUMENT_KEYS]
    return paths


DOCUMENT_KEYS = ("id", "kind", "media", "title", "pages", "size", "sha256", "status")


@budget(100)
@given(SESSION.filter(lambda b: b["documents"]), st.data())
def test_a_missing_or_mistyped_required_field_is_a_contract_error(body: dict, data) -> None:
    path = data.draw(st.sampled_from(required_fields(body)), label="field")
    holder, key = body, path[-1]
    for step in path[:-1]:
        holder = holder[step]
    if data.draw(st.booleans(), label="delete"):
        del holder[key]
    else:
        holder[key] = data.draw(OTHER_TYPE[type(holder[key])], label="other type")
    with pytest.raises(ContractError):
        parse_session(CALL, json.loads(json.dumps(body)))


# --- whole replies over real loopback HTTP ----------------------------------------------------

JOB = uuid.UUID(int=1)
EVENT = uuid.UUID(int=2)
CALLS = {
    "open_session": (("POST", "/kiosk/sessions"), lambda c: c.open_session(nik="3201014501900003", pin="482913")),
    "fetch_config": (("GET", "/kiosk/config"), lambda c: c.fetch_config()),
    "heartbeat": (("POST", "/kiosk/heartbeat"), lambda c: c.heartbeat({"kiosk_id": "K1"})),
    "reserve_job": (("POST", "/kiosk/sessions/s-1/jobs"), lambda c: c.reserve_job("s-1", JOB, "doc-1")),
    "post_event": (("POST", f"/kiosk/jobs/{JOB}/events"),
                   lambda c: c.post_event(JOB, EVENT, "printed", "2026-12-02T00:00:00Z")),
    "end_session": (("DELETE", "/kiosk/sessions/s-1"), lambda c: c.end_session("s-1")),
    "report_config": (("POST", "/kiosk/config/reports"), lambda c: c.report_config(3, "applied")),
}


@pytest.fixture(scope="module")
def dinas() -> Iterator[tuple[HostileServer, DinasClient]]:
    server = HostileServer()
    # Generous time-outs: the server answers at once, and a loaded CI machine must not turn
    # a contract error into DinasUnavailable.
    client = DinasClient(server.url, "kiosk-token-1", connect_timeout=5.0, read_timeout=10.0, retries=0)
    try:
        yield server, client
    finally:
        client.close()
        server.close()


def envelope(code: str, status_offset: int, extra: Any) -> tuple[int, str, bytes]:
    cls = ERRORS_BY_CODE.get(code)
    status = (cls.status_expected if cls else 400) + status_offset
    body = {"error": code, "detail": "fuzz"}
    if code in EXTRA_INT_FIELDS and extra is not None:
        body[EXTRA_INT_FIELDS[code]] = extra
    return status, "application/json", json.dumps(body).encode()


REPLIES = st.one_of(
    st.sampled_from([reply_from(raw) for raw in seeds("dinas_replies")]),
    st.tuples(st.sampled_from(sorted(ERRORS_BY_CODE)) | st.text(max_size=8), st.sampled_from([0, 0, 0, 1, -1, 100]),
              st.none() | st.integers(-2, 10 ** 6) | st.just("5")).map(lambda p: envelope(*p)),
    st.tuples(st.sampled_from([200, 201, 202, 204, 301, 304, 400, 404, 409, 500, 503]),
              st.sampled_from(["application/json", "text/html", "", "application/json; charset=utf-8"]),
              st.binary(max_size=60) | JSON.map(lambda v: json.dumps(v).encode())))


@budget(40)
@given(st.sampled_from(sorted(CALLS)), REPLIES)
def test_any_http_reply_is_the_calls_result_or_a_dinas_error(dinas, call: str, reply) -> None:
    server, client = dinas
    status, content_type, body = reply
    (method, path), make_call = CALLS[call]
    headers = {"Content-Type": content_type} if content_type else {}
    server.on(method, "/api/v1" + path, respond(status, body, headers))
    try:
        result = make_call(client)
    except DinasError as error:
        data = json_of(body) if content_type.startswith("application/json") else None
        cls = ERRORS_BY_CODE.get(data.get("error")) if isinstance(data, dict) and isinstance(data.get("error"), str) \
            else None
        extra = cls.extra_int if cls else None
        if (cls is not None and status == cls.status_expected and isinstance(data.get("detail"), str)
                and (extra is None or (type(data.get(extra)) is int and data[extra] >= 0))
                and not (call == "fetch_config" and cls.code == "not_found")):
            assert type(error) is cls and error.status == status
            if extra:
                assert getattr(error, extra) == data[extra]
        return
    if call == "fetch_config" and status == 404:           # the dinas holds no config for us
        assert result == (None, None) and json.loads(body)["error"] == "not_found"
        return
    assert 200 <= status < 400
    if call == "open_session":
        assert status == 201 and isinstance(result, DinasSession)
        check_session(result)
