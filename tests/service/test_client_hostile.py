"""The dinas client against a server that lies, stalls, floods and hangs up (real HTTP on
loopback). Every case must end in the right typed error within its time budget, with nothing
handed on for printing; retries must happen only where a repeat is harmless."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import time
import uuid

import pytest

from kiosk.dinas_client import DinasClient, RemoteDocument
from kiosk.dinas_errors import (
    AlreadyPrinted, ContractError, DinasUnavailable, DocumentIntegrityError, InvalidCredentials, Locked,
    RateLimited, ServerError,
)
from tests.fixtures.hostile_server import (
    GIGABYTE, HostileServer, drip, endless, error_reply, hostile_server, json_reply, late,  # noqa: F401
    pdf_reply, reset, respond, trickle,
)

API = "/api/v1"
SESSIONS = f"{API}/kiosk/sessions"
CONFIG = f"{API}/kiosk/config"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
DOC = RemoteDocument("doc-1", "KK", "a4", "Kartu Keluarga", 1, len(PDF), hashlib.sha256(PDF).hexdigest(), "ready")
DOC_PATH = f"{SESSIONS}/s-1/documents/doc-1"
NIK, PIN = "3201014501900003", "482913"
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
MARGIN = 1.5     # seconds of slack on a loaded 2-core machine


def session_body(**changes: object) -> dict:
    body = {"session_id": "s-1", "expires_at": "2026-11-22T10:10:00Z",
            "holder": {"name_masked": "S*** W***", "nik_masked": "320101******0003"},
            "request_no": "REQ-20261122-AB12CD",
            "documents": [{"id": DOC.id, "kind": "KK", "media": "a4", "title": DOC.title, "pages": 1,
                           "size": DOC.size, "sha256": DOC.sha256, "status": "ready"}]}
    body.update(changes)
    return body


def make_client(server: HostileServer, **options: object) -> DinasClient:
    defaults = dict(connect_timeout=1.0, read_timeout=1.0, download_timeout=3.0, retries=2)
    defaults.update(options)
    return DinasClient(server.url, "kiosk-token-1", **defaults)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.monotonic() - self.start


# --- the happy path first, so the failures below mean something ---------------------------

def test_a_well_formed_session_and_document_pass(hostile_server: HostileServer) -> None:
    hostile_server.on("POST", SESSIONS, json_reply(201, session_body()))
    hostile_server.on("GET", DOC_PATH, pdf_reply(PDF))
    client = make_client(hostile_server)
    session = client.open_session(nik=NIK, pin=PIN)
    assert session.documents == (DOC,)
    assert session.expires_at.tzinfo is not None
    assert client.download_document(session.session_id, session.documents[0]) == PDF
    sent = hostile_server.received[0]
    assert sent.headers["authorization"] == "Bearer kiosk-token-1"
    assert sent.headers["accept-encoding"] == "identity"


# --- documents ------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    pytest.param(pdf_reply(PDF + b"tail"), id="longer-than-announced"),
    pytest.param(pdf_reply(PDF[:-10]), id="shorter-than-announced"),
    pytest.param(respond(200, PDF, {"Content-Type": "application/pdf"}, content_length=len(PDF) - 5),
                 id="content-length-lies-low"),
    pytest.param(pdf_reply(PDF[:-1] + b"X"), id="wrong-sha256"),
    pytest.param(pdf_reply(PDF, sha256="0" * 64), id="wrong-sha256-header"),
    # The body alone must be checked against the session's sha256: a header that is absent,
    # or that repeats the session's value over another body, proves nothing.
    pytest.param(respond(200, PDF[:-1] + b"X", {"Content-Type": "application/pdf"}), id="wrong-body-no-header"),
    pytest.param(pdf_reply(PDF[:-1] + b"X", sha256=DOC.sha256), id="wrong-body-header-says-the-sessions-sha256"),
    pytest.param(pdf_reply(PDF[:-1] + b"X", sha256=DOC.sha256.upper()), id="wrong-body-header-upper-case"),
    pytest.param(endless(2 * GIGABYTE, declare_length=True), id="2GB-declared"),
    pytest.param(endless(2 * GIGABYTE, declare_length=False), id="2GB-undeclared"),
])
def test_a_document_that_is_not_the_announced_one_is_refused(hostile_server: HostileServer, answer) -> None:
    hostile_server.on("GET", DOC_PATH, answer)
    client = make_client(hostile_server)
    with Timer() as timer, pytest.raises(DocumentIntegrityError):
        client.download_document("s-1", DOC)
    assert timer.elapsed < 1.0 + MARGIN
    assert hostile_server.hits("GET", DOC_PATH) == 1     # a bad document is not fetched again


@pytest.mark.parametrize("answer", [
    pytest.param(respond(200, PDF, {"Content-Type": "application/pdf"}), id="no-header"),
    pytest.param(pdf_reply(PDF, sha256=DOC.sha256.upper()), id="header-in-upper-case"),
])
def test_the_announced_body_is_taken_with_or_without_its_header(hostile_server: HostileServer, answer) -> None:
    hostile_server.on("GET", DOC_PATH, answer)
    assert make_client(hostile_server).download_document("s-1", DOC) == PDF


def test_a_document_of_exactly_the_cap_is_fetched(hostile_server: HostileServer) -> None:
    hostile_server.on("GET", DOC_PATH, pdf_reply(PDF))
    assert make_client(hostile_server, max_document_bytes=len(PDF)).download_document("s-1", DOC) == PDF
    assert hostile_server.received[0].headers["accept"] == "application/pdf"


def test_a_document_larger_than_any_json_reply_is_fetched_whole(hostile_server: HostileServer) -> None:
    big_pdf = b"%PDF-1.7\n" + bytes(range(256)) * 6000 + b"\n%%EOF\n"        # 1.5 MB: a scanned KK
    big = RemoteDocument("doc-1", "KK", "a4", "t", 1, len(big_pdf), hashlib.sha256(big_pdf).hexdigest(), "ready")
    hostile_server.on("GET", DOC_PATH, pdf_reply(big_pdf))
    assert make_client(hostile_server).download_document("s-1", big) == big_pdf


def test_a_wrong_body_is_reported_with_the_document_and_both_digests(hostile_server: HostileServer) -> None:
    wrong = PDF[:-1] + b"X"
    hostile_server.on("GET", DOC_PATH, pdf_reply(wrong, sha256=DOC.sha256))
    with pytest.raises(DocumentIntegrityError) as refused:
        make_client(hostile_server).download_document("s-1", DOC)
    assert refused.value.status == 200
    assert refused.value.detail == (f"document doc-1: sha256 {hashlib.sha256(wrong).hexdigest()[:12]}… "
                                    f"differs from the announced {DOC.sha256[:12]}…")


def test_a_wrong_header_is_reported_with_the_document(hostile_server: HostileServer) -> None:
    hostile_server.on("GET", DOC_PATH, pdf_reply(PDF, sha256="0" * 64))
    with pytest.raises(DocumentIntegrityError) as refused:
        make_client(hostile_server).download_document("s-1", DOC)
    assert refused.value.status == 200
    assert refused.value.detail == "document doc-1: X-Content-SHA256 differs from the session's sha256"


def test_a_document_the_dinas_refuses_is_its_typed_error(hostile_server: HostileServer) -> None:
    hostile_server.on("GET", DOC_PATH, error_reply(409, "already_printed"))
    with pytest.raises(AlreadyPrinted) as refused:
        make_client(hostile_server).download_document("s-1", DOC)
    assert (refused.value.status, refused.value.detail) == (409, "hostile already_printed")


def test_a_document_call_answered_by_a_proxy_page_names_the_call_not_the_session(
        hostile_server: HostileServer) -> None:
    hostile_server.on("GET", DOC_PATH, respond(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}))
    with pytest.raises(DinasUnavailable) as refused:
        make_client(hostile_server, retries=0).download_document("s-1", DOC)
    assert refused.value.detail == "GET /kiosk/sessions/…/documents/doc-1: HTTP 502"


def test_a_body_cut_short_of_its_content_length_is_unavailable(hostile_server: HostileServer) -> None:
    hostile_server.on("GET", DOC_PATH, respond(200, PDF[:100], {"Content-Type": "application/pdf"},
                                               content_length=len(PDF)))
    with pytest.raises(DinasUnavailable) as cut:
        make_client(hostile_server, retries=0).download_document("s-1", DOC)
    # The session id is a capability: the message names the call without it.
    assert cut.value.detail.startswith("GET /kiosk/sessions/…/documents/doc-1: reply cut off after 100 bytes (")
    assert cut.value.status == 200


def test_a_document_announced_above_the_cap_is_not_even_requested(hostile_server: HostileServer) -> None:
    big = RemoteDocument("doc-1", "KK", "a4", "t", 1, 30 * 1024 * 1024, "a" * 64, "ready")
    with pytest.raises(DocumentIntegrityError) as refused:
        make_client(hostile_server).download_document("s-1", big)
    assert refused.value.detail == ("document doc-1 announces 31457280 bytes, more than the "
                                    "26214400-byte cap")
    assert hostile_server.received == []


@pytest.mark.parametrize("every_s", [0.2, 3.0])
def test_a_document_that_trickles_forever_ends_at_the_download_deadline(hostile_server: HostileServer,
                                                                        every_s: float) -> None:
    """A byte every 3 s never trips the 5 s read timeout; the 1.5 s deadline still holds."""
    hostile_server.on("GET", DOC_PATH, trickle(every_s, declared=DOC.size))
    client = make_client(hostile_server, read_timeout=5.0, download_timeout=1.5, retries=0)
    with Timer() as timer, pytest.raises(DinasUnavailable, match="deadline"):
        client.download_document("s-1", DOC)
    assert 1.5 <= timer.elapsed < 1.5 + 1.0


def test_a_close_delimited_body_cut_by_the_deadline_is_not_taken_as_complete(hostile_server: HostileServer) -> None:
    def slow_undeclared(conn, server) -> None:
        conn.sendall(b"HTTP/1.1 200 X\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{}")
        server.stopping.wait(3.0)
    hostile_server.on("POST", f"{API}/kiosk/heartbeat", slow_undeclared)
    # The body's deadline and the socket's read timeout are both 1 s here: whichever fires
    # first ends the read, and either way the "{}" received so far must not be the reply.
    with pytest.raises(DinasUnavailable, match="deadline|cut off after 2 bytes"):
        make_client(hostile_server, read_timeout=1.0, retries=0).heartbeat({"kiosk_id": "K1"})


# --- JSON replies ---------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    pytest.param(respond(201, b"{not json", {"Content-Type": "application/json"}), id="invalid-json"),
    pytest.param(respond(201, b"<html>hello</html>", {"Content-Type": "text/html"}), id="html"),
    pytest.param(json_reply(201, ["a", "list"]), id="not-an-object"),
    pytest.param(json_reply(201, session_body(session_id=7)), id="wrong-type"),
    pytest.param(json_reply(201, {k: v for k, v in session_body().items() if k != "expires_at"}), id="missing"),
    pytest.param(json_reply(201, session_body(expires_at="tomorrow")), id="bad-time"),
    pytest.param(json_reply(201, session_body(holder={"name_masked": "S", "nik_masked": NIK})), id="full-nik"),
    pytest.param(json_reply(201, session_body(documents=[dict(session_body()["documents"][0], sha256="xyz")])),
                 id="bad-sha256"),
    # Found by tests/fuzz: `$` in the check let a newline after the 64 digits through.
    pytest.param(json_reply(201, session_body(documents=[dict(session_body()["documents"][0],
                                                             sha256=DOC.sha256 + "\n")])), id="sha256-and-newline"),
    pytest.param(json_reply(201, session_body(documents=[dict(session_body()["documents"][0], size=True)])),
                 id="bool-for-int"),
    pytest.param(json_reply(201, session_body(documents=[dict(session_body()["documents"][0], kind="SIM")])),
                 id="unknown-kind"),
    pytest.param(json_reply(200, session_body()), id="200-instead-of-201"),
    pytest.param(error_reply(418, "teapot"), id="unknown-error-code"),
    pytest.param(error_reply(500, "invalid_credentials", attempts_left=2), id="code-with-wrong-status"),
    pytest.param(error_reply(401, "invalid_credentials"), id="missing-attempts-left"),
    pytest.param(respond(302, b"", {"Location": "http://evil.example/"}), id="redirect"),
    pytest.param(endless(2 * GIGABYTE, declare_length=False, content_type="application/json"), id="2GB-json"),
    # Found by tests/fuzz: 200 kB of brackets, under the size cap, made json raise RecursionError.
    pytest.param(respond(201, DEEP_JSON, {"Content-Type": "application/json"}), id="deeply-nested-json"),
    pytest.param(respond(401, DEEP_JSON, {"Content-Type": "application/json"}), id="deeply-nested-error"),
])
def test_a_reply_outside_the_contract_is_a_contract_error(hostile_server: HostileServer, answer) -> None:
    hostile_server.on("POST", SESSIONS, answer)
    with Timer() as timer, pytest.raises(ContractError):
        make_client(hostile_server).open_session(nik=NIK, pin=PIN)
    assert timer.elapsed < 1.0 + MARGIN
    assert hostile_server.hits("POST", SESSIONS) == 1


def test_a_json_reply_that_never_ends_stops_at_the_call_deadline(hostile_server: HostileServer) -> None:
    hostile_server.on("GET", CONFIG, trickle(0.2, content_type="application/json"))
    client = make_client(hostile_server, connect_timeout=0.5, read_timeout=1.0, retries=0)
    with Timer() as timer, pytest.raises(DinasUnavailable, match="deadline"):
        client.fetch_config()
    assert timer.elapsed < 1.5 + MARGIN


def test_contract_errors_map_to_their_types(hostile_server: HostileServer) -> None:
    client = make_client(hostile_server)
    hostile_server.on("POST", SESSIONS, error_reply(401, "invalid_credentials", attempts_left=3))
    with pytest.raises(InvalidCredentials) as wrong:
        client.open_session(request_no="REQ-20261122-AB12CD", pin=PIN)
    assert (wrong.value.attempts_left, wrong.value.status, wrong.value.code) == (3, 401, "invalid_credentials")
    hostile_server.on("POST", SESSIONS, error_reply(423, "locked", retry_after=900))
    with pytest.raises(Locked) as locked:
        client.open_session(nik=NIK, pin=PIN)
    assert locked.value.retry_after == 900


# --- retries --------------------------------------------------------------------------------

def test_an_idempotent_call_is_retried_through_5xx_to_success(hostile_server: HostileServer) -> None:
    envelope = {"payloadType": "application/vnd.adm-kiosk.config+json", "payload": "e30=",
                "signatures": [{"keyid": "k1", "sig": "c2ln"}]}
    hostile_server.on("GET", CONFIG, error_reply(500, "internal"), respond(503), respond(502, b"<html>"),
                      json_reply(200, envelope, {"ETag": '"v3"'}))
    client = make_client(hostile_server, retries=3)
    assert client.fetch_config() == (envelope, '"v3"')
    assert hostile_server.hits("GET", CONFIG) == 4


def test_5xx_past_the_retries_is_unavailable(hostile_server: HostileServer) -> None:
    hostile_server.on("GET", CONFIG, respond(503))
    with pytest.raises(DinasUnavailable):
        make_client(hostile_server, retries=2).fetch_config()
    assert hostile_server.hits("GET", CONFIG) == 3


def test_retry_after_on_503_is_honoured(hostile_server: HostileServer) -> None:
    hostile_server.on("GET", CONFIG, respond(503, headers={"Retry-After": "1"}), respond(304))
    with Timer() as timer:
        assert make_client(hostile_server).fetch_config(etag='"v3"') == (None, '"v3"')
    assert timer.elapsed >= 1.0
    assert hostile_server.received[-1].headers["if-none-match"] == '"v3"'


@pytest.mark.parametrize("answer", [pytest.param(respond(503), id="503"), pytest.param(reset(), id="reset"),
                                    pytest.param(error_reply(500, "internal"), id="500")])
def test_opening_a_session_is_never_retried(hostile_server: HostileServer, answer) -> None:
    """A repeat would spend another of the citizen's PIN tries."""
    hostile_server.on("POST", SESSIONS, answer)
    with pytest.raises((DinasUnavailable, ServerError)):
        make_client(hostile_server, retries=3).open_session(nik=NIK, pin=PIN)
    assert hostile_server.hits("POST", SESSIONS) == 1


def test_rate_limited_is_answered_not_retried(hostile_server: HostileServer) -> None:
    hostile_server.on("POST", f"{API}/kiosk/heartbeat",
                      respond(429, b'{"error": "rate_limited", "detail": "slow down", "retry_after": 30}',
                              {"Content-Type": "application/json", "Retry-After": "30"}))
    with Timer() as timer, pytest.raises(RateLimited) as limited:
        make_client(hostile_server).heartbeat({"kiosk_id": "K1"})
    assert limited.value.retry_after == 30 and timer.elapsed < 1.0
    assert hostile_server.hits("POST", f"{API}/kiosk/heartbeat") == 1


def test_resets_on_an_idempotent_call_are_retried_then_unavailable(hostile_server: HostileServer) -> None:
    job_id = str(uuid.uuid4())
    path = f"{SESSIONS}/s-1/jobs"
    hostile_server.on("POST", path, reset())
    with Timer() as timer, pytest.raises(DinasUnavailable):
        make_client(hostile_server, retries=2).reserve_job("s-1", job_id, "doc-1")
    assert hostile_server.hits("POST", path) == 3
    assert timer.elapsed < 3.0 + MARGIN
    assert {r.body for r in hostile_server.received} == {
        f'{{"job_id": "{job_id}", "document_id": "doc-1"}}'.encode()}   # the same job id each time


def test_a_reset_then_success_reserves_once(hostile_server: HostileServer) -> None:
    job_id = str(uuid.uuid4())
    path = f"{SESSIONS}/s-1/jobs"
    hostile_server.on("POST", path, reset(),
                      json_reply(201, {"job_id": job_id, "document_id": "doc-1", "state": "reserved"}))
    assert make_client(hostile_server).reserve_job("s-1", job_id, "doc-1")["state"] == "reserved"
    assert hostile_server.hits("POST", path) == 2


def test_a_reply_slower_than_the_read_timeout_is_unavailable(hostile_server: HostileServer) -> None:
    path = f"{API}/kiosk/jobs/j-1/events"
    hostile_server.on("POST", path, late(5.0, json_reply(200, {})))
    client = make_client(hostile_server, read_timeout=0.5, retries=1)
    with Timer() as timer, pytest.raises(DinasUnavailable):
        client.post_event("j-1", "e-1", "printing", "2026-11-22T10:00:00Z")
    assert hostile_server.hits("POST", path) == 2
    assert timer.elapsed < 2 * 0.5 + 0.6 + MARGIN


def test_nobody_listening_is_unavailable_quickly() -> None:
    server = HostileServer()
    url = server.url
    server.close()
    with Timer() as timer, pytest.raises(DinasUnavailable):
        DinasClient(url, "t", retries=1, connect_timeout=0.5).end_session("s-1")
    assert timer.elapsed < 1.0 + MARGIN


# --- what the client refuses before sending -------------------------------------------------

@pytest.mark.parametrize("url", ["http://dinas.example.go.id/api/v1", "http://10.0.0.8/api/v1",
                                 "ftp://127.0.0.1/api", "dinas.example.go.id"])
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="dinas URL"):
        DinasClient(url, "token")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765/api/v1", "http://127.8.9.10/api/v1",
                                 "http://[::1]:8765/api/v1", "http://localhost/api/v1",
                                 "https://dinas.example.go.id/api/v1"])
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    DinasClient(url, "token").close()


def test_a_token_with_a_newline_is_refused() -> None:
    with pytest.raises(ValueError, match="token"):
        DinasClient("http://127.0.0.1/api/v1", "abc\r\nX-Evil: 1")


def test_ids_cannot_escape_their_path_segment(hostile_server: HostileServer) -> None:
    hostile_server.on("DELETE", f"{SESSIONS}/..%2Fadmin", respond(204))
    make_client(hostile_server).end_session("../admin")
    assert hostile_server.received[0].path == f"{SESSIONS}/..%2Fadmin"


def test_no_pin_nik_or_document_reaches_the_log(hostile_server: HostileServer, caplog) -> None:
    hostile_server.on("POST", SESSIONS, json_reply(201, session_body()), error_reply(401, "invalid_credentials",
                                                                                     attempts_left=4))
    hostile_server.on("GET", DOC_PATH, pdf_reply(PDF[:-1] + b"Z"))
    client = make_client(hostile_server)
    caplog.set_level(logging.DEBUG)
    session = client.open_session(nik=NIK, pin=PIN)
    with pytest.raises(InvalidCredentials):
        client.open_session(nik=NIK, pin=PIN)
    with pytest.raises(DocumentIntegrityError) as bad:
        client.download_document(session.session_id, DOC)
    logged = caplog.text + str(bad.value)
    assert caplog.records, "the calls should be logged (masked)"
    for secret in (NIK, PIN, "S*** W***", PDF[:40].decode("latin-1")):
        assert secret not in logged


def test_a_503_whose_body_never_ends_does_not_hold_the_retries(hostile_server: HostileServer) -> None:
    """urllib3 drains a failed reply before retrying; a trickling one must not stall that."""
    # The head written out, without the Connection: close that _head adds: a reply to drain.
    trickling_503 = b"HTTP/1.1 503 X\r\nContent-Length: 100000\r\nContent-Type: text/html\r\n\r\n"
    hostile_server.on("GET", CONFIG, drip(trickling_503, 0.2))
    client = make_client(hostile_server, read_timeout=1.0, retries=2)
    with Timer() as timer, pytest.raises(DinasUnavailable):
        client.fetch_config()
    assert hostile_server.hits("GET", CONFIG) == 3
    assert timer.elapsed < 1.0 + 1.0 + MARGIN       # backoff + the last reply's body deadline


def test_a_malformed_retry_after_is_unavailable_not_a_crash(hostile_server: HostileServer) -> None:
    hostile_server.on("GET", CONFIG, respond(503, headers={"Retry-After": "soon-ish"}))
    with Timer() as timer, pytest.raises(DinasUnavailable):
        make_client(hostile_server).fetch_config()
    assert timer.elapsed < 1.0 + MARGIN


def chunked(data: bytes, content_type: str, status: int = 200, piece: int = 700):
    """A well-formed reply in chunked transfer encoding, as a proxy in front of a dinas may send."""
    def answer(conn, server) -> None:
        conn.sendall(f"HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\nContent-Type: {content_type}\r\n"
                     f"X-Content-SHA256: {hashlib.sha256(data).hexdigest()}\r\n\r\n".encode())
        for start in range(0, len(data), piece):
            part = data[start:start + piece]
            conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        conn.sendall(b"0\r\n\r\n")
    return answer


def test_chunked_replies_are_read_and_checked_the_same_way(hostile_server: HostileServer) -> None:
    hostile_server.on("POST", SESSIONS, chunked(json.dumps(session_body()).encode(), "application/json", 201))
    hostile_server.on("GET", DOC_PATH, chunked(PDF, "application/pdf"), chunked(PDF + b"more", "application/pdf"))
    client = make_client(hostile_server)
    session = client.open_session(nik=NIK, pin=PIN)
    assert client.download_document(session.session_id, DOC) == PDF
    with pytest.raises(DocumentIntegrityError):
        client.download_document(session.session_id, DOC)


# The body's own checks (DinasTransport._read_body), each with its exact words: the call named
# (never the session id), what was wrong, and the HTTP status it came with.
DOWNLOAD = "GET /kiosk/sessions/…/documents/doc-1"
LONG_LENGTH = "1" * 25 + "x"


@pytest.mark.parametrize("answer, error, detail", [
    pytest.param(respond(200, gzip.compress(PDF), {"Content-Type": "application/pdf", "Content-Encoding": "GZIP"}),
                 ContractError, f"{DOWNLOAD}: compressed reply (gzip) although identity was asked", id="compressed"),
    pytest.param(respond(200, PDF, {"Content-Type": "application/pdf", "Content-Length": LONG_LENGTH}),
                 DocumentIntegrityError, f"{DOWNLOAD}: Content-Length {LONG_LENGTH[:20]!r} is not a number",
                 id="length-not-a-number"),
    pytest.param(respond(200, PDF, {"Content-Type": "application/pdf"}, content_length=len(PDF) - 5),
                 DocumentIntegrityError,
                 f"{DOWNLOAD}: Content-Length {len(PDF) - 5} but the session announced {len(PDF)} bytes",
                 id="length-not-the-announced-one"),
    pytest.param(chunked(PDF[:-10], "application/pdf"), DocumentIntegrityError,
                 f"{DOWNLOAD}: got {len(PDF) - 10} bytes, the session announced {len(PDF)}", id="undeclared-and-short"),
    pytest.param(chunked(PDF + b"more", "application/pdf"), DocumentIntegrityError,
                 f"{DOWNLOAD}: reply exceeds the {len(PDF)}-byte limit", id="undeclared-and-long"),
])
def test_a_refused_body_says_what_was_wrong_with_it(hostile_server: HostileServer, answer, error,
                                                                 detail) -> None:
    hostile_server.on("GET", DOC_PATH, answer)
    with pytest.raises(error) as refused:
        make_client(hostile_server).download_document("s-1", DOC)
    assert (type(refused.value), refused.value.status, refused.value.detail) == (error, 200, detail)


def test_a_document_sent_as_identity_by_name_is_taken(hostile_server: HostileServer) -> None:
    hostile_server.on("GET", DOC_PATH, respond(200, PDF, {"Content-Type": "application/pdf",
                                                          "Content-Encoding": "Identity"}))
    assert make_client(hostile_server).download_document("s-1", DOC) == PDF


def test_a_json_reply_declared_above_its_limit_is_refused_before_reading(hostile_server: HostileServer) -> None:
    hostile_server.on("POST", SESSIONS, endless(2 * GIGABYTE, declare_length=True, content_type="application/json"))
    with pytest.raises(ContractError) as refused:
        make_client(hostile_server).open_session(nik=NIK, pin=PIN)
    assert (type(refused.value), refused.value.status) == (ContractError, 200)
    assert refused.value.detail == f"POST /kiosk/sessions: Content-Length {2 * GIGABYTE} exceeds the 1048576-byte limit"


def test_an_undeclared_json_reply_above_its_limit_is_cut_at_the_limit(hostile_server: HostileServer) -> None:
    hostile_server.on("POST", SESSIONS, endless(2 * GIGABYTE, declare_length=False, content_type="application/json"))
    with pytest.raises(ContractError) as refused:
        make_client(hostile_server).open_session(nik=NIK, pin=PIN)
    assert (type(refused.value), refused.value.status) == (ContractError, 200)
    assert refused.value.detail == "POST /kiosk/sessions: reply exceeds the 1048576-byte limit"


def test_a_json_reply_with_a_length_that_is_not_a_number_is_a_contract_error(hostile_server: HostileServer) -> None:
    hostile_server.on("POST", SESSIONS, respond(201, b"{}", {"Content-Type": "application/json",
                                                             "Content-Length": "-2"}))
    with pytest.raises(ContractError) as refused:
        make_client(hostile_server).open_session(nik=NIK, pin=PIN)
    assert (type(refused.value), refused.value.status) == (ContractError, 201)
    assert refused.value.detail == "POST /kiosk/sessions: Content-Length '-2' is not a number"


def test_a_body_overdue_at_the_deadline_keeps_its_status_and_counts_what_came(hostile_server: HostileServer) -> None:
    hostile_server.on("GET", DOC_PATH, trickle(0.2, declared=DOC.size))
    client = make_client(hostile_server, read_timeout=5.0, download_timeout=1.0, retries=0)
    with pytest.raises(DinasUnavailable) as overdue:
        client.download_document("s-1", DOC)
    assert overdue.value.status == 200
    assert re.fullmatch(rf"{re.escape(DOWNLOAD)}: reply not complete within its deadline \([1-9]\d* bytes received\)",
                        overdue.value.detail), overdue.value.detail


def test_headers_that_trickle_forever_end_at_the_call_deadline(hostile_server: HostileServer) -> None:
    """Each header byte comes well within the read timeout; the call's own deadline
    (connect + read timeout for a call that is not retried) still ends it."""
    hostile_server.on("POST", SESSIONS, drip(b"HTTP/1.1 201 Created\r\nX-Slow: ", 0.3, b"a"))
    client = make_client(hostile_server, connect_timeout=0.5, read_timeout=1.0)
    with Timer() as timer, pytest.raises(DinasUnavailable, match="deadline"):
        client.open_session(nik=NIK, pin=PIN)
    assert 1.5 <= timer.elapsed < 1.5 + 1.0
    assert hostile_server.hits("POST", SESSIONS) == 1
