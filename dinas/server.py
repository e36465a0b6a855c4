"""The reference dinas server: `create_app(db)` gives the Flask app for the v1 API, on a SQLite
path or a PostgreSQL URI (`dinas.wsgi` runs it under gunicorn)."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, abort, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .clock import Clock, system_clock
from .context import Dinas
from .errors import ApiError
from .heartbeat_wsgi import HeartbeatFastPath
from .notifier import Notifier, RecordingNotifier
from .ratelimit import RateLimiter
from .retention import DailyPurge
from .routes_admin import admin
from .routes_kiosk import kiosk
from .storage import Store, open_store
from .web import register as register_fleet_page

API = "/api/v1"
OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
MAX_UPLOAD_BYTES = 32 * 1024 * 1024      # POST /admin/applications carries the PDFs
MAX_BODY_BYTES = 1024 * 1024             # every other call
MAX_HEARTBEAT_BYTES = 64 * 1024          # a heartbeat is a few KB; 1 MB ones were seen
HEARTBEATS_PER_MINUTE = 20               # the kiosk sends one a minute (at most one per 5 s)
log = logging.getLogger(__name__)


def create_app(db: str, *, notifier: Notifier | None = None, clock: Clock | None = None,
               pin_secret: bytes | str | None = None, session_attempts_per_minute: int = 30,
               heartbeats_per_minute: int = HEARTBEATS_PER_MINUTE, key_path: str | None = None,
               store: Store | None = None, daily_purge: bool = False) -> Flask:
    """`db` is a SQLite path or a PostgreSQL URI; the schema is migrated and the key checked
    (`storage.open_store`). `daily_purge` starts the retention thread (the CLI's serve does)."""
    store = store or open_store(str(db), key_path=key_path, pin_secret=pin_secret)
    clock = clock or system_clock
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES
    app.json.sort_keys = False
    app.extensions["dinas"] = dinas = Dinas(
        store.database, store.vault, clock, notifier or RecordingNotifier(store.database, store.vault, clock),
        RateLimiter(clock, session_attempts_per_minute, detail="too many PIN attempts from this kiosk; wait a moment"),
        RateLimiter(clock, heartbeats_per_minute, detail="too many heartbeats from this kiosk; send one a minute"))
    app.wsgi_app = HeartbeatFastPath(app.wsgi_app, dinas, dinas.heartbeats, f"{API}/kiosk/heartbeat",
                                     MAX_HEARTBEAT_BYTES)
    if daily_purge:
        purger = DailyPurge(store.database, clock)
        purger.start()
        app.extensions["dinas_purge"] = purger

    app.register_blueprint(kiosk, url_prefix=f"{API}/kiosk")
    app.register_blueprint(admin, url_prefix=f"{API}/admin")
    register_fleet_page(app)

    @app.before_request
    def check_request() -> None:
        # A NUL is valid in a URL and in JSON, but PostgreSQL's text cannot hold one: no id
        # has one (404, as for any unknown id) and a filter with one is a bad request, not a
        # crash. Text fields of a body: validation.text.
        if "\x00" in request.path:
            abort(404, "no such resource: an id cannot contain NUL characters")
        if any("\x00" in value for value in request.args.values()):
            abort(400, "the address must not contain NUL characters")
        if request.path == f"{API}/kiosk/heartbeat":
            request.max_content_length = MAX_HEARTBEAT_BYTES
        elif request.path != f"{API}/admin/applications":
            request.max_content_length = MAX_BODY_BYTES

    @app.teardown_appcontext
    def close_db(_exc: BaseException | None) -> None:
        connection_ = g.pop("db", None)
        if connection_ is not None:
            connection_.close()

    @app.get(f"{API}/openapi.yaml")
    def openapi() -> Response:
        return Response(OPENAPI_PATH.read_bytes(), mimetype="application/yaml")

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int]:
        return jsonify(error.body()), error.status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error: RequestEntityTooLarge) -> tuple[Response, int]:
        return jsonify({"error": "payload_too_large", "detail": "the request body is too large"}), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = {404: "not_found", 405: "invalid_request"}.get(error.code or 500, "invalid_request")
        status = error.code or 500
        if status >= 500:
            code = "internal"
        detail = error.description or error.name
        if status == 404 and request.url_rule is None:
            # no route at all: most often a client whose base URL lacks /api/v1
            detail = f"no API call {request.method} {request.path}: the API lives under {API}/ (dinas/openapi.yaml)"
        return jsonify({"error": code, "detail": detail}), status

    @app.errorhandler(Exception)
    def crash(error: Exception) -> tuple[Response, int]:
        # The type only: a message may hold request data.
        log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.path)
        return jsonify({"error": "internal", "detail": "internal server error"}), 500

    return app
