"""The kiosk's client for the dinas API v1 (the contract: dinas/openapi.yaml).

One method per call of the contract. Each says whether a repeat is harmless, and so may be
retried whole: GET, DELETE, and the POSTs the contract makes idempotent by a kiosk-made id
(job reservation, events), plus heartbeats and config reports, which a repeat only records
twice. Opening a session consumes a PIN try, so it is retried only when the connection could
not even be opened. The HTTP plumbing (pools, retries, deadlines, capped streaming reads) is
`kiosk.dinas_transport`.

- TLS always verified (`ca_file` when set); plain http only to a loopback host.
- Replies are parsed strictly into frozen dataclasses; anything else is a `ContractError`
  (fields the contract does not name are tolerated, so the dinas can add some).
  Contract errors become the typed exceptions of `kiosk.dinas_errors`.
- Documents are held in memory, never on disk, checked against the announced size and
  sha256, and cut off as soon as they exceed it or the hard cap.

Nothing here logs a PIN, a NIK, a holder's name or document bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, NoReturn
from urllib.parse import quote

import requests

from printer_drivers.registry import kind_codes, media_codes

from .config import check_dinas_url
from .dinas_errors import (
    ERRORS_BY_CODE, EXTRA_INT_FIELDS, ContractError, DinasError, DinasUnavailable,
    DocumentIntegrityError,
)
from .dinas_transport import DinasTransport, RawReply

if TYPE_CHECKING:
    from .config import KioskConfig

log = logging.getLogger("kiosk.dinas")

EVENT_STATES = ("printing", "printed", "failed")
CONFIG_RESULTS = ("applied", "rejected", "rolled_back")
_SHA256 = re.compile(r"[0-9a-f]{64}")      # fullmatch: `$` would let a trailing newline in
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
        id=reply.text("id"), kind=reply.text("kind", kind_codes()),
        media=reply.text("media", media_codes()), title=reply.text("title"),
        pages=reply.count("pages", 1), size=reply.count("size", 1),
        sha256=reply.get("sha256", str, check=lambda v: bool(_SHA256.fullmatch(v.lower())),
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


class DinasClient:
    """One kiosk's connection to the dinas; make one per process and share it. The session
    engine and the outbox may call it from their own threads: its `DinasTransport` is
    thread-safe, and nothing here changes per call."""

    def __init__(self, base_url: str, token: str, *, ca_file: str | None = None,
                 connect_timeout: float = 3.05, read_timeout: float = 10,
                 download_timeout: float = 120, max_document_bytes: int = 25 * 1024 * 1024,
                 retries: int = 3, session: requests.Session | None = None) -> None:
        if (problem := check_dinas_url(base_url)) is not None:
            raise ValueError(f"dinas URL: {problem}")
        if not token or any(c.isspace() for c in token) or not token.isprintable():
            raise ValueError("dinas token: expected one line of printable characters without spaces")
        self.download_timeout = float(download_timeout)
        self.max_document_bytes = int(max_document_bytes)
        headers = {
            "Authorization": f"Bearer {token}", "Accept": "application/json",
            # Compressed bodies would make Content-Length and the size cap mean the wrong thing.
            "Accept-Encoding": "identity", "User-Agent": "adm-kiosk",
        }
        self._http = DinasTransport(base_url, headers, verify=str(ca_file) if ca_file else True,
                                    connect_timeout=connect_timeout, read_timeout=read_timeout,
                                    retries=retries, session=session)
        self.base_url = self._http.base_url

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) seconds for each attempt."""
        return self._http.timeout

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
        self._http.close()

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
        raw = self._http.request("POST", "/kiosk/sessions", json_body=body, retry=False)
        return parse_session("POST /kiosk/sessions", self._expect_json(raw, "POST /kiosk/sessions", (201,)))

    def download_document(self, session_id: str, document: RemoteDocument) -> bytes:
        """The document's bytes, only once their length and sha256 match `document`."""
        if document.size > self.max_document_bytes:
            raise DocumentIntegrityError(detail=f"document {document.id} announces {document.size} bytes, "
                                                f"more than the {self.max_document_bytes}-byte cap")
        path = f"/kiosk/sessions/{_seg(session_id)}/documents/{_seg(document.id)}"
        call = f"GET /kiosk/sessions/…/documents/{document.id}"
        raw = self._http.request("GET", path, accept="application/pdf", limit=document.size,
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
        raw = self._http.request("POST", f"/kiosk/sessions/{_seg(session_id)}/jobs",
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
        raw = self._http.request("POST", f"/kiosk/jobs/{_seg(str(job_id))}/events", json_body=body)
        reply = _Reply(call, self._expect_json(raw, call, (200,)))
        reply.equals("event_id", str(event_id))
        reply.equals("job_id", str(job_id))
        reply.text("state", EVENT_STATES)
        reply.get("duplicate", bool, expected="true or false")
        return dict(reply.data)

    def end_session(self, session_id: str) -> None:
        call = "DELETE /kiosk/sessions/…"
        raw = self._http.request("DELETE", f"/kiosk/sessions/{_seg(session_id)}")
        if raw.status != 204:
            raise self._error(raw, call)

    def probe(self) -> int:
        """One unretried GET of the published contract: the HTTP status (raises
        DinasUnavailable, DinasTlsFailed when the certificate did not verify). Technician
        diagnostics time it; it carries nothing about the kiosk."""
        return self._http.request("GET", "/openapi.yaml", retry=False, accept="application/yaml").status

    def heartbeat(self, payload: dict) -> dict:
        call = "POST /kiosk/heartbeat"
        raw = self._http.request("POST", "/kiosk/heartbeat", json_body=payload)
        reply = _Reply(call, self._expect_json(raw, call, (200,)))
        reply.time("server_time")
        return dict(reply.data)

    def fetch_config(self, etag: str | None = None) -> tuple[dict | None, str | None]:
        """The latest config envelope and its ETag; (None, etag) when unchanged (304),
        (None, None) when the dinas holds none for this kiosk."""
        call = "GET /kiosk/config"
        raw = self._http.request("GET", "/kiosk/config", headers={"If-None-Match": etag} if etag else None)
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
        raw = self._http.request("POST", "/kiosk/config/reports", json_body=body)
        reply = _Reply(call, self._expect_json(raw, call, (202,)))
        reply.get("accepted", bool, check=lambda v: v is True, expected="true")

    # --- reading replies --------------------------------------------------------------------

    def _expect_json(self, raw: RawReply, call: str, statuses: tuple[int, ...]) -> Any:
        if raw.status not in statuses:
            raise self._error(raw, call)
        return _parse_json(raw, call)

    def _error(self, raw: RawReply, call: str) -> DinasError:
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


def _parse_json(raw: RawReply, call: str) -> Any:
    content_type = raw.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ContractError(detail=f"{call}: HTTP {raw.status} reply is {content_type or 'untyped'}, "
                                   f"not application/json", status=raw.status)
    try:
        return json.loads(raw.body)
    except (ValueError, UnicodeDecodeError):
        raise ContractError(detail=f"{call}: HTTP {raw.status} reply is not valid JSON ({len(raw.body)} bytes)",
                            status=raw.status) from None
    except RecursionError:
        # Arrays nested some thousands deep fit well under the size cap but exhaust the
        # parser's stack; no contract reply nests more than three levels.
        raise ContractError(detail=f"{call}: HTTP {raw.status} reply nests too deep to parse "
                                   f"({len(raw.body)} bytes)", status=raw.status) from None


def _seg(value: str) -> str:
    """One path segment: a hostile id cannot reach another path."""
    if not isinstance(value, str) or not value:
        raise ValueError("ids must be non-empty strings")
    return quote(value, safe="")

