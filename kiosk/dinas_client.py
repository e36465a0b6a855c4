"""The kiosk's client for the dinas API v1 (the contract: dinas/openapi.yaml).

- Pooled connections (requests Sessions over an HTTPAdapter); a timeout on every call, and
  deadlines that hold inside a blocking read, so neither a silent server nor one that
  trickles its headers or its body a byte at a time can hold a call.
- Retries with backoff and jitter (urllib3 `Retry`) only where a repeat is harmless: GET,
  DELETE, and the POSTs the contract makes idempotent by a kiosk-made id (job reservation,
  events), plus heartbeats and config reports, which a repeat only records twice. Opening a
  session consumes a PIN try, so it is retried only when the connection could not even be
  opened (the request never left the kiosk).
- TLS always verified (`ca_file` when set); plain http only to a loopback host.
- Replies are parsed strictly into frozen dataclasses; anything else is a `ContractError`
  (fields the contract does not name are tolerated, so the dinas can add some).
  Contract errors become the typed exceptions of `kiosk.dinas_errors`.
- Documents are streamed into memory, never to disk, checked against the announced size and
  sha256 while they arrive, and cut off as soon as they exceed it or the hard cap.

Nothing here logs a PIN, a NIK, a holder's name or document bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping, NoReturn
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from .config import check_dinas_url
from .dinas_errors import (
    ERRORS_BY_CODE, EXTRA_INT_FIELDS, ContractError, DinasError, DinasUnavailable,
    DocumentIntegrityError,
)

if TYPE_CHECKING:
    from .config import KioskConfig

log = logging.getLogger("kiosk.dinas")

MAX_JSON_BYTES = 1024 * 1024          # no contract reply comes near this
READ_CHUNK = 64 * 1024
RETRY_STATUSES = frozenset({500, 502, 503, 504})
EVENT_STATES = ("printing", "printed", "failed")
CONFIG_RESULTS = ("applied", "rejected", "rolled_back")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FULL_NIK = re.compile(r"\d{16}")


# --- typed replies --------------------------------------------------------------------------

@dataclass(frozen=True)
class RemoteDocument:
    id: str
    kind: str             # KK, KIA
    media: str            # a4, card
    title: str
    pages: int
    size: int             # bytes
    sha256: str           # lowercase hex
    status: str           # ready, printed, reserved


@dataclass(frozen=True)
class DinasSession:
    session_id: str
    expires_at: datetime
    holder_name_masked: str
    nik_masked: str
    request_no: str
    documents: tuple[RemoteDocument, ...]


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a zone ('Z' or an offset) -> an aware datetime."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if when.tzinfo is None:
        raise ValueError("no time zone")
    return when


def format_time(when: datetime | str) -> str:
    if isinstance(when, str):
        parse_time(when)
        return when
    if when.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


class _Reply:
    """Strict reading of one JSON object in a reply; errors name the call and the field."""

    def __init__(self, call: str, data: Any, where: str = "") -> None:
        self.call, self.where = call, where
        if not isinstance(data, dict):
            self.fail(f"expected a JSON object, got {type(data).__name__}")
        self.data = data

    def fail(self, text: str, name: str | None = None) -> NoReturn:
        path = ".".join(p for p in (self.where, name) if p)
        raise ContractError(detail=f"{self.call}: reply{' field ' + path if path else ''}: {text}")

    def get(self, name: str, kind: type | tuple[type, ...], *,
            check: Callable[[Any], bool] | None = None, expected: str = "") -> Any:
        if name not in self.data:
            self.fail("missing", name)
        value = self.data[name]
        if isinstance(value, bool) and kind is not bool:
            self.fail(f"expected {expected or kind}, got a boolean", name)
        if not isinstance(value, kind) or (check is not None and not check(value)):
            shown = type(value).__name__ if not isinstance(value, (int, float)) else repr(value)
            self.fail(f"expected {expected or getattr(kind, '__name__', kind)}, got {shown}", name)
        return value

    def text(self, name: str, allowed: tuple[str, ...] | None = None) -> str:
        if allowed:
            return self.get(name, str, check=lambda v: v in allowed, expected=" or ".join(allowed))
        return self.get(name, str, check=lambda v: bool(v.strip()), expected="a non-empty string")

    def count(self, name: str, minimum: int = 0) -> int:
        return self.get(name, int, check=lambda v: v >= minimum, expected=f"an integer >= {minimum}")

    def time(self, name: str) -> datetime:
        text = self.get(name, str, expected="an ISO 8601 time")
        try:
            return parse_time(text)
        except ValueError:
            self.fail("expected an ISO 8601 time with a zone", name)

    def equals(self, name: str, sent: Any) -> Any:
        value = self.get(name, type(sent))
        if value != sent:
            self.fail("does not match the request", name)
        return value

    def nested(self, name: str) -> _Reply:
        return _Reply(self.call, self.get(name, dict, expected="an object"),
                      ".".join(p for p in (self.where, name) if p))


def _document(reply: _Reply) -> RemoteDocument:
    return RemoteDocument(
        id=reply.text("id"), kind=reply.text("kind", ("KK", "KIA")),
        media=reply.text("media", ("a4", "card")), title=reply.text("title"),
        pages=reply.count("pages", 1), size=reply.count("size", 1),
        sha256=reply.get("sha256", str, check=lambda v: bool(_SHA256.match(v.lower())),
                         expected="64 hex digits").lower(),
        status=reply.text("status", ("ready", "printed", "reserved")),
    )


def parse_session(call: str, data: Any) -> DinasSession:
    """A `POST /kiosk/sessions` reply body, checked field by field (ContractError otherwise)."""
    reply = _Reply(call, data)
    holder = reply.nested("holder")
    nik_masked = holder.get("nik_masked", str)
    if _FULL_NIK.search(nik_masked):
        holder.fail("holds a full NIK instead of a masked one", "nik_masked")
    entries = reply.get("documents", list, expected="a list")
    documents = tuple(_document(_Reply(call, entry, f"documents[{i}]")) for i, entry in enumerate(entries))
    if len({d.id for d in documents}) != len(documents):
        reply.fail("lists a document id twice", "documents")
    return DinasSession(
        session_id=reply.text("session_id"), expires_at=reply.time("expires_at"),
        holder_name_masked=holder.get("name_masked", str), nik_masked=nik_masked,
        request_no=reply.text("request_no"), documents=documents,
    )


# --- transport ------------------------------------------------------------------------------

class _DinasRetry(Retry):
    # 429 and 413 carry Retry-After too, but they are answers for the caller, not for a
    # silent retry; only a 503's Retry-After is honoured here.
    RETRY_AFTER_STATUS_CODES = frozenset({503})

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> Retry:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if response is not None:
            # A retry is coming: urllib3 first drains the failed reply, and a body that
            # trickles forever would hold that drain forever. Cut the reply off instead.
            try:
                response.shutdown()
            except (ValueError, RuntimeError, OSError):
                pass
        return retry


def _retry_policy(retries: int, *, whole_request: bool) -> Retry:
    """The first retry at once, then 0.6 s, 1.2 s, 2.4 s... (capped at 5 s), each plus up
    to 0.3 s of jitter; a 503's Retry-After is honoured up to 10 s. Without `whole_request`, only connection failures
    (the request never left) are retried."""
    return _DinasRetry(
        total=retries, connect=retries, read=retries if whole_request else 0,
        status=retries if whole_request else 0, other=0, redirect=0,
        allowed_methods=None, status_forcelist=RETRY_STATUSES if whole_request else (),
        backoff_factor=0.3, backoff_max=5.0, backoff_jitter=0.3, retry_after_max=10,
        raise_on_status=False, raise_on_redirect=False,
    )


class _CallDeadline:
    """A deadline that holds even inside a blocking read. A server that sends a byte just
    before each read timeout (in its headers or its body) never trips the timeout; at the
    deadline this shuts the call's socket down, which ends any recv() at once. Armed first
    for the exchange up to the reply's headers, then re-armed for the body."""

    def __init__(self, seconds: float) -> None:
        self.fired = threading.Event()
        self._lock = threading.Lock()
        self._connection: Any = None
        self._sock: socket.socket | None = None
        self._timer: threading.Timer | None = None
        self.rearm(seconds)

    def rearm(self, seconds: float) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(max(0.0, seconds), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def attach(self, connection: Any) -> None:
        """Called by the connection that carries this call (each attempt, when retrying)."""
        with self._lock:
            if connection is not self._connection:
                self._connection, self._sock = connection, None
            # Remember the socket: http.client drops `connection.sock` once a reply that
            # closes the connection has begun, while its body is still read through it.
            self._sock = getattr(connection, "sock", None) or self._sock
        if self.fired.is_set():
            self._cut()

    def _fire(self) -> None:
        self.fired.set()
        self._cut()

    def _cut(self) -> None:
        with self._lock:
            sock = getattr(self._connection, "sock", None) or self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass        # already closed

    def __enter__(self) -> _CallDeadline:
        _current_call.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._connection = self._sock = None
        _current_call.deadline = None


_current_call = threading.local()


class _GuardedConnection:
    """Makes the connection known to the calling thread's `_CallDeadline`."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._attach()
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        self._attach()
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]

    def _attach(self) -> None:
        deadline = getattr(_current_call, "deadline", None)
        if deadline is not None:
            deadline.attach(self)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), {})


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), {})


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def _new_session(retry: Retry, pool: requests.Session | None = None) -> requests.Session:
    session = pool or requests.Session()
    adapter = _GuardedAdapter(pool_connections=2, pool_maxsize=4, max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@dataclass(frozen=True)
class _Raw:
    status: int
    headers: Mapping[str, str]
    body: bytes


class DinasClient:
    """One kiosk's connection to the dinas; make one per process and share it. The session
    engine and the outbox may call it from their own threads: the connection pool is
    thread-safe, and nothing per call changes the shared session (headers are fixed at
    construction, redirects are never followed)."""

    def __init__(self, base_url: str, token: str, *, ca_file: str | None = None,
                 connect_timeout: float = 3.05, read_timeout: float = 10,
                 download_timeout: float = 120, max_document_bytes: int = 25 * 1024 * 1024,
                 retries: int = 3, session: requests.Session | None = None) -> None:
        if (problem := check_dinas_url(base_url)) is not None:
            raise ValueError(f"dinas URL: {problem}")
        if not token or any(c.isspace() for c in token) or not token.isprintable():
            raise ValueError("dinas token: expected one line of printable characters without spaces")
        self.base_url = base_url.rstrip("/")
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.download_timeout = float(download_timeout)
        self.max_document_bytes = int(max_document_bytes)
        self._verify: bool | str = str(ca_file) if ca_file else True
        headers = {
            "Authorization": f"Bearer {token}", "Accept": "application/json",
            # Compressed bodies would make Content-Length and the size cap mean the wrong thing.
            "Accept-Encoding": "identity", "User-Agent": "adm-kiosk",
        }
        self._retries = int(retries)
        self._idempotent = _new_session(_retry_policy(retries, whole_request=True), session)
        self._once = _new_session(_retry_policy(retries, whole_request=False))
        for pool in (self._idempotent, self._once):
            pool.headers.update(headers)

    @classmethod
    def from_config(cls, config: KioskConfig, **overrides: Any) -> DinasClient:
        dinas = config.dinas
        options: dict[str, Any] = dict(
            ca_file=str(dinas.ca_file) if dinas.ca_file else None,
            connect_timeout=dinas.timeout_s.connect, read_timeout=dinas.timeout_s.read,
            download_timeout=dinas.timeout_s.download,
        )
        options.update(overrides)
        return cls(dinas.url, dinas.read_token(), **options)

    def close(self) -> None:
        self._idempotent.close()
        self._once.close()

    def __enter__(self) -> DinasClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the calls --------------------------------------------------------------------------

    def open_session(self, *, pin: str, nik: str | None = None, request_no: str | None = None) -> DinasSession:
        """Check the citizen's PIN against their NIK or request number (exactly one)."""
        if (nik is None) == (request_no is None):
            raise ValueError("open_session needs exactly one of nik or request_no")
        body = {"pin": pin, **({"nik": nik} if nik is not None else {"request_no": request_no})}
        raw = self._request("POST", "/kiosk/sessions", json_body=body, retry=False)
        return parse_session("POST /kiosk/sessions", self._expect_json(raw, "POST /kiosk/sessions", (201,)))

    def download_document(self, session_id: str, document: RemoteDocument) -> bytes:
        """The document's bytes, only once their length and sha256 match `document`."""
        if document.size > self.max_document_bytes:
            raise DocumentIntegrityError(detail=f"document {document.id} announces {document.size} bytes, "
                                                f"more than the {self.max_document_bytes}-byte cap")
        path = f"/kiosk/sessions/{_seg(session_id)}/documents/{_seg(document.id)}"
        call = f"GET /kiosk/sessions/…/documents/{document.id}"
        raw = self._request("GET", path, accept="application/pdf", limit=document.size,
                            deadline_s=self.download_timeout, expect_size=document.size)
        if raw.status != 200:
            raise self._error(raw, call)
        digest = hashlib.sha256(raw.body).hexdigest()
        if digest != document.sha256:
            raise DocumentIntegrityError(detail=f"document {document.id}: sha256 {digest[:12]}… "
                                                f"differs from the announced {document.sha256[:12]}…", status=200)
        announced = raw.headers.get("X-Content-SHA256")
        if announced is not None and announced.lower() != document.sha256:
            raise DocumentIntegrityError(detail=f"document {document.id}: X-Content-SHA256 differs "
                                                f"from the session's sha256", status=200)
        return raw.body

    def reserve_job(self, session_id: str, job_id: uuid.UUID | str, document_id: str) -> dict:
        """Reserve a print of `document_id` under the kiosk-made `job_id` (retry-safe)."""
        job_id = str(job_id)
        call = "POST /kiosk/sessions/…/jobs"
        raw = self._request("POST", f"/kiosk/sessions/{_seg(session_id)}/jobs",
                            json_body={"job_id": job_id, "document_id": document_id})
        reply = _Reply(call, self._expect_json(raw, call, (200, 201)))
        reply.equals("job_id", job_id)
        reply.equals("document_id", document_id)
        reply.text("state", ("reserved",))
        return dict(reply.data)

    def post_event(self, job_id: uuid.UUID | str, event_id: uuid.UUID | str, state: str,
                   at: datetime | str, reason: str | None = None, detail: dict | None = None) -> dict:
        """Report a job's progress; idempotent on `event_id`, so the outbox may resend."""
        if state not in EVENT_STATES:
            raise ValueError(f"event state must be one of {EVENT_STATES}, not {state!r}")
        body: dict[str, Any] = {"event_id": str(event_id), "state": state, "at": format_time(at)}
        if reason is not None:
            body["reason"] = reason
        if detail is not None:
            body["detail"] = detail
        call = "POST /kiosk/jobs/…/events"
        raw = self._request("POST", f"/kiosk/jobs/{_seg(str(job_id))}/events", json_body=body)
        reply = _Reply(call, self._expect_json(raw, call, (200,)))
        reply.equals("event_id", str(event_id))
        reply.equals("job_id", str(job_id))
        reply.text("state", EVENT_STATES)
        reply.get("duplicate", bool, expected="true or false")
        return dict(reply.data)

    def end_session(self, session_id: str) -> None:
        call = "DELETE /kiosk/sessions/…"
        raw = self._request("DELETE", f"/kiosk/sessions/{_seg(session_id)}")
        if raw.status != 204:
            raise self._error(raw, call)

    def heartbeat(self, payload: dict) -> dict:
        call = "POST /kiosk/heartbeat"
        raw = self._request("POST", "/kiosk/heartbeat", json_body=payload)
        reply = _Reply(call, self._expect_json(raw, call, (200,)))
        reply.time("server_time")
        return dict(reply.data)

    def fetch_config(self, etag: str | None = None) -> tuple[dict | None, str | None]:
        """The latest config envelope and its ETag; (None, etag) when unchanged (304),
        (None, None) when the dinas holds none for this kiosk."""
        call = "GET /kiosk/config"
        raw = self._request("GET", "/kiosk/config", headers={"If-None-Match": etag} if etag else None)
        if raw.status == 304:
            return None, etag
        if raw.status == 404:
            error = self._error(raw, call)
            if error.code == "not_found":
                return None, None
            raise error
        reply = _Reply(call, self._expect_json(raw, call, (200,)))
        reply.text("payloadType")
        reply.text("payload")
        for index, signature in enumerate(reply.get("signatures", list, expected="a list")):
            entry = _Reply(call, signature, f"signatures[{index}]")
            entry.text("keyid")
            entry.text("sig")
        return dict(reply.data), raw.headers.get("ETag")

    def report_config(self, version: int, result: str, reason: str | None = None) -> None:
        if result not in CONFIG_RESULTS:
            raise ValueError(f"config result must be one of {CONFIG_RESULTS}, not {result!r}")
        body: dict[str, Any] = {"version": int(version), "result": result}
        if reason is not None:
            body["reason"] = reason
        call = "POST /kiosk/config/reports"
        raw = self._request("POST", "/kiosk/config/reports", json_body=body)
        reply = _Reply(call, self._expect_json(raw, call, (202,)))
        reply.get("accepted", bool, check=lambda v: v is True, expected="true")

    # --- plumbing ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, json_body: Any = None, retry: bool = True,
                 headers: Mapping[str, str] | None = None, accept: str = "application/json",
                 limit: int = MAX_JSON_BYTES, deadline_s: float | None = None,
                 expect_size: int | None = None) -> _Raw:
        """Send one request and read the whole reply body under `limit` bytes and a total
        deadline. A success body must be exactly `expect_size` bytes when that is given."""
        pool = self._idempotent if retry else self._once
        request_headers = {"Accept": accept, **(headers or {})}
        call = f"{method} {_loggable(path)}"
        started = time.monotonic()
        with _CallDeadline(self._headers_budget(retry)) as deadline:
            try:
                response = pool.request(method, self.base_url + path, json=json_body, headers=request_headers,
                                        timeout=self.timeout, verify=self._verify, stream=True,
                                        allow_redirects=False)
            except requests.exceptions.SSLError as exc:
                raise DinasUnavailable(detail=f"{call}: TLS verification failed ({_reason(exc)})") from None
            except (requests.exceptions.RequestException, Urllib3Error, OSError) as exc:
                why = "no reply within the deadline" if deadline.fired.is_set() else f"no answer ({_reason(exc)})"
                log.warning("dinas %s: %s", call, why)
                raise DinasUnavailable(detail=f"{call}: {why}") from None
            success = 200 <= response.status_code < 300
            deadline.rearm(deadline_s if deadline_s is not None else self.timeout[1])
            with response:
                body = self._read_body(response, call, limit if success else MAX_JSON_BYTES,
                                       deadline, expect_size if success else None)
        log.debug("dinas %s -> %d (%d bytes, %.2fs)", call, response.status_code, len(body),
                  time.monotonic() - started)
        return _Raw(response.status_code, response.headers, body)

    def _headers_budget(self, retry: bool) -> float:
        """The longest the exchange up to a reply's headers may take: each attempt's
        timeouts, plus the retries' backoff and Retry-After (at most 10.3 s each)."""
        attempts = self._retries + 1 if retry else 1
        return attempts * sum(self.timeout) + (attempts - 1) * 10.3

    def _read_body(self, response: requests.Response, call: str, limit: int,
                   deadline: _CallDeadline, expect_size: int | None) -> bytes:
        integrity = DocumentIntegrityError if expect_size is not None else ContractError
        encoding = response.headers.get("Content-Encoding", "identity").lower()
        if encoding != "identity":
            raise ContractError(detail=f"{call}: compressed reply ({encoding}) although identity was asked",
                                status=response.status_code)
        declared = response.headers.get("Content-Length")
        if declared is not None:
            if not declared.isdigit():
                raise integrity(detail=f"{call}: Content-Length {declared[:20]!r} is not a number",
                                status=response.status_code)
            if expect_size is not None and int(declared) != expect_size:
                raise integrity(detail=f"{call}: Content-Length {declared} but the session announced "
                                       f"{expect_size} bytes", status=response.status_code)
            if int(declared) > limit:
                raise integrity(detail=f"{call}: Content-Length {declared} exceeds the {limit}-byte limit",
                                status=response.status_code)
        body = bytearray()

        def overdue() -> DinasUnavailable:
            return DinasUnavailable(detail=f"{call}: reply not complete within its deadline "
                                           f"({len(body)} bytes received)", status=response.status_code)
        try:
            while not deadline.fired.is_set():
                # read1 returns what has arrived; iter_content/read(n) would block until n
                # bytes came, so a trickling body could outlive the deadline.
                chunk = response.raw.read1(READ_CHUNK, decode_content=False)
                if not chunk:
                    break
                body += chunk
                if len(body) > limit:
                    raise integrity(detail=f"{call}: reply exceeds the {limit}-byte limit",
                                    status=response.status_code)
        except (Urllib3Error, OSError, requests.exceptions.RequestException) as exc:
            if deadline.fired.is_set():
                raise overdue() from None
            raise DinasUnavailable(detail=f"{call}: reply cut off after {len(body)} bytes ({_reason(exc)})",
                                   status=response.status_code) from None
        if deadline.fired.is_set():      # the end of the body may be the deadline's cut, not the server's
            raise overdue()
        if expect_size is not None and len(body) != expect_size:
            raise DocumentIntegrityError(detail=f"{call}: got {len(body)} bytes, the session announced "
                                                f"{expect_size}", status=response.status_code)
        return bytes(body)

    def _expect_json(self, raw: _Raw, call: str, statuses: tuple[int, ...]) -> Any:
        if raw.status not in statuses:
            raise self._error(raw, call)
        return _parse_json(raw, call)

    def _error(self, raw: _Raw, call: str) -> DinasError:
        """The exception for a reply that is not the call's success."""
        if raw.status >= 500:
            try:
                data = _parse_json(raw, call)
            except ContractError:
                data = None
            if not isinstance(data, dict) or "error" not in data:
                # A proxy's or a dying server's page: the dinas is not there to answer.
                return DinasUnavailable(detail=f"{call}: HTTP {raw.status}", status=raw.status)
        if raw.status < 400:
            return ContractError(detail=f"{call}: unexpected HTTP {raw.status}", status=raw.status)
        reply = _Reply(call, _parse_json(raw, call), "")
        code = reply.get("error", str, expected="an error code")
        detail = reply.get("detail", str, expected="a string")
        cls = ERRORS_BY_CODE.get(code)
        if cls is None:
            return ContractError(detail=f"{call}: unknown error code {code[:40]!r} (HTTP {raw.status})",
                                 status=raw.status)
        if raw.status != cls.status_expected:
            return ContractError(detail=f"{call}: error {code} came with HTTP {raw.status}, "
                                        f"the contract says {cls.status_expected}", status=raw.status)
        if code in EXTRA_INT_FIELDS:
            reply.count(EXTRA_INT_FIELDS[code])
        log.info("dinas %s -> %s", call, code)
        return cls.from_reply(detail, raw.status, reply.data)


def _parse_json(raw: _Raw, call: str) -> Any:
    content_type = raw.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ContractError(detail=f"{call}: HTTP {raw.status} reply is {content_type or 'untyped'}, "
                                   f"not application/json", status=raw.status)
    try:
        return json.loads(raw.body)
    except (ValueError, UnicodeDecodeError):
        raise ContractError(detail=f"{call}: HTTP {raw.status} reply is not valid JSON ({len(raw.body)} bytes)",
                            status=raw.status) from None


def _seg(value: str) -> str:
    """One path segment: a hostile id cannot reach another path."""
    if not isinstance(value, str) or not value:
        raise ValueError("ids must be non-empty strings")
    return quote(value, safe="")


def _loggable(path: str) -> str:
    # A session id is a capability while the session lasts: keep it out of our own log lines.
    return re.sub(r"(/sessions/)[^/]+", r"\1…", path)


def _reason(exc: BaseException) -> str:
    """The innermost cause's type, e.g. ConnectTimeoutError, ConnectionResetError."""
    inner = exc
    for _ in range(5):
        nxt = getattr(inner, "reason", None) or inner.__cause__ or inner.__context__
        if nxt is None or not isinstance(nxt, BaseException):
            break
        inner = nxt
    return type(inner).__name__
