"""HTTP plumbing for the dinas client: pooled connections, retries, and deadlines that hold.

- Pooled connections (requests Sessions over an HTTPAdapter); a timeout on every call, and
  deadlines that hold inside a blocking read, so neither a silent server nor one that
  trickles its headers or its body a byte at a time can hold a call.
- Retries with backoff and jitter (urllib3 `Retry`) only where the caller says a repeat is
  harmless (`retry=True`); otherwise only when the connection could not even be opened
  (the request never left the kiosk).
- Bodies are streamed into memory, never to disk, and cut off as soon as they exceed the
  call's cap (or, for a document, the size the session announced).

What a reply means is `kiosk.dinas_client`'s business; failures here are already the typed
exceptions of `kiosk.dinas_errors` (`DinasUnavailable`, `ContractError`,
`DocumentIntegrityError`). Nothing here logs a request or reply body, nor a session id.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from .dinas_errors import ContractError, DinasTlsFailed, DinasUnavailable, DocumentIntegrityError

log = logging.getLogger("kiosk.dinas")

MAX_JSON_BYTES = 1024 * 1024          # no contract reply comes near this
READ_CHUNK = 64 * 1024
RETRY_STATUSES = frozenset({500, 502, 503, 504})


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


def retry_policy(retries: int, *, whole_request: bool) -> Retry:
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


class CallDeadline:
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

    def __enter__(self) -> CallDeadline:
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
    """Makes the connection known to the calling thread's `CallDeadline`."""

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
class RawReply:
    status: int
    headers: Mapping[str, str]
    body: bytes


class DinasTransport:
    """The two connection pools of one dinas client: one that retries whole requests (for
    calls the contract makes safe to repeat) and one that retries only a connection that
    never opened. Thread-safe: nothing per call changes a shared session (headers are fixed
    at construction, redirects are never followed)."""

    def __init__(self, base_url: str, headers: Mapping[str, str], *, verify: bool | str = True,
                 connect_timeout: float = 3.05, read_timeout: float = 10, retries: int = 3,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (float(connect_timeout), float(read_timeout))
        self._verify = verify
        self._retries = int(retries)
        self._idempotent = _new_session(retry_policy(retries, whole_request=True), session)
        self._once = _new_session(retry_policy(retries, whole_request=False))
        for pool in (self._idempotent, self._once):
            pool.headers.update(headers)

    def close(self) -> None:
        self._idempotent.close()
        self._once.close()

    def request(self, method: str, path: str, *, json_body: Any = None, retry: bool = True,
                headers: Mapping[str, str] | None = None, accept: str = "application/json",
                limit: int = MAX_JSON_BYTES, deadline_s: float | None = None,
                expect_size: int | None = None) -> RawReply:
        """Send one request and read the whole reply body under `limit` bytes and a total
        deadline. A success body must be exactly `expect_size` bytes when that is given."""
        pool = self._idempotent if retry else self._once
        request_headers = {"Accept": accept, **(headers or {})}
        call = f"{method} {_loggable(path)}"
        started = time.monotonic()
        with CallDeadline(self._headers_budget(retry)) as deadline:
            try:
                response = pool.request(method, self.base_url + path, json=json_body, headers=request_headers,
                                        timeout=self.timeout, verify=self._verify, stream=True,
                                        allow_redirects=False)
            except requests.exceptions.SSLError as exc:
                raise DinasTlsFailed(detail=f"{call}: TLS verification failed ({_reason(exc)})") from None
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
        return RawReply(response.status_code, response.headers, body)

    def _headers_budget(self, retry: bool) -> float:
        """The longest the exchange up to a reply's headers may take: each attempt's
        timeouts, plus the retries' backoff and Retry-After (at most 10.3 s each)."""
        attempts = self._retries + 1 if retry else 1
        return attempts * sum(self.timeout) + (attempts - 1) * 10.3

    def _read_body(self, response: requests.Response, call: str, limit: int,
                   deadline: CallDeadline, expect_size: int | None) -> bytes:
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
