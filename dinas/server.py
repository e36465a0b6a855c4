"""The reference dinas server: `create_app(db_path)` gives the Flask app for the v1 API."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import db
from .clock import Clock, system_clock
from .context import Dinas
from .errors import ApiError
from .notifier import Notifier, RecordingNotifier
from .pins import SessionRateLimiter
from .routes_admin import admin
from .routes_kiosk import kiosk
from .vault import Vault, load_or_create_secret
from .web import register as register_fleet_page

API = "/api/v1"
OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
MAX_UPLOAD_BYTES = 32 * 1024 * 1024      # POST /admin/applications carries the PDFs
MAX_BODY_BYTES = 1024 * 1024             # every other call
log = logging.getLogger(__name__)


def create_app(db_path: str, *, notifier: Notifier | None = None, clock: Clock | None = None,
               pin_secret: bytes | str | None = None, session_attempts_per_minute: int = 30) -> Flask:
    db_path = str(db_path)
    db.initialise(db_path)
    clock = clock or system_clock
    vault = Vault(pin_secret if pin_secret is not None else load_or_create_secret(db_path))
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES
    app.json.sort_keys = False
    app.extensions["dinas"] = Dinas(db_path, vault, clock, notifier or RecordingNotifier(db_path, vault, clock),
                                    SessionRateLimiter(clock, session_attempts_per_minute), db.ConnectionPool(db_path))

    app.register_blueprint(kiosk, url_prefix=f"{API}/kiosk")
    app.register_blueprint(admin, url_prefix=f"{API}/admin")
    register_fleet_page(app)

    @app.before_request
    def limit_body() -> None:
        if request.path != f"{API}/admin/applications":
            request.max_content_length = MAX_BODY_BYTES

    @app.teardown_appcontext
    def close_db(_exc: BaseException | None) -> None:
        connection_ = g.pop("db", None)
        if connection_ is not None:
            app.extensions["dinas"].pool.give_back(connection_)

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
        return jsonify({"error": code, "detail": error.description or error.name}), status

    @app.errorhandler(Exception)
    def crash(error: Exception) -> tuple[Response, int]:
        # The type only: a message may hold request data.
        log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.path)
        return jsonify({"error": "internal", "detail": "internal server error"}), 500

    return app
