"""The heartbeat's hot path, in front of Flask: `POST /api/v1/kiosk/heartbeat`.

A province's kiosks send one a minute each, so this one call is nearly all of the server's
load (833/s for 50,000 kiosks). Flask's request and app contexts, URL matching, its Request
and Response objects cost about a third of a heartbeat's CPU; here a heartbeat that is
plainly good (a bearer token, `Content-Type: application/json`, a `Content-Length` within the
heartbeat's limit, a body that reads as one) is checked and stored with the same code as the
Flask route (`heartbeats.read`, `HeartbeatStore.store`), with the token checked inside the
kiosk row's UPDATE. Anything else goes to the Flask app, with the body already read handed
on unchanged, and is answered there exactly as before: a bad or foreign token (nothing was
kept: the UPDATE matched no row), a bad body, a wrong size or type, chunked bodies. A refused
heartbeat (429) and a crash (500) are answered here with the bodies Flask's error handlers
give. `tests/service/test_heartbeat_path.py` checks both paths answer alike.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any, Callable, Iterable

from werkzeug.http import HTTP_STATUS_CODES

from . import auth, heartbeats, validation as v
from .context import Dinas
from .errors import ApiError

log = logging.getLogger(__name__)


def _reply(start_response: Callable, status: int, body: dict[str, Any]) -> list[bytes]:
    # As Flask's jsonify and werkzeug's Response: compact ASCII JSON, keys in their order, a
    # final newline; the status line in werkzeug's words.
    data = (json.dumps(body, separators=(",", ":")) + "\n").encode()
    start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class HeartbeatFastPath:
    """WSGI middleware (`app.wsgi_app = HeartbeatFastPath(...)`) for `path`."""

    def __init__(self, flask_wsgi: Callable, dinas: Dinas, store: heartbeats.HeartbeatStore, path: str,
                 max_bytes: int) -> None:
        self._next = flask_wsgi
        self._dinas = dinas
        self._store = store
        self._path = path
        self._max_bytes = max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self._path or environ.get("REQUEST_METHOD") != "POST":
            return self._next(environ, start_response)
        token = auth.bearer_token(environ.get("HTTP_AUTHORIZATION"))
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            length = -1
        if token is None or not 0 < length <= self._max_bytes or "HTTP_TRANSFER_ENCODING" in environ \
                or environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower() != "application/json":
            return self._next(environ, start_response)
        data = environ["wsgi.input"].read(length)
        parsed = self._parse(data) if len(data) == length else None
        if parsed is None:
            return self._hand_on(environ, start_response, data)
        beat, kiosk_etag = parsed
        connection = None

        def connect():
            nonlocal connection
            connection = self._dinas.database.connect()
            return connection
        try:
            reply = self._store.store(connect, beat["kiosk_id"], beat, kiosk_etag, self._dinas.vault.token_hash(token))
        except heartbeats.NotThisKiosksToken:
            return self._hand_on(environ, start_response, data)
        except ApiError as error:
            return _reply(start_response, error.status, error.body())
        except Exception as error:
            # As the app's crash handler: the type only (a message may hold request data).
            log.error("unhandled %s on POST %s", type(error).__name__, self._path)
            return _reply(start_response, 500, {"error": "internal", "detail": "internal server error"})
        finally:
            if connection is not None:
                connection.close()
        return _reply(start_response, 200, reply)

    @staticmethod
    def _parse(data: bytes) -> tuple[dict, str | None] | None:
        try:
            body = json.loads(data)
            if not isinstance(body, dict):
                return None
            v.check_depth(body)
            return heartbeats.read(body)
        except (ValueError, RecursionError, ApiError):
            return None

    def _hand_on(self, environ: dict[str, Any], start_response: Callable, data: bytes) -> Iterable[bytes]:
        """The Flask app answers, reading the same bytes as the body."""
        environ["wsgi.input"] = io.BytesIO(data)
        return self._next(environ, start_response)
