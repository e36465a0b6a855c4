"""Logging in and out of the fleet page, and choosing its language."""

from __future__ import annotations

import hmac
import logging

from flask import Response, abort, redirect, request, url_for

from ..context import connection, dinas
from ..errors import ApiError
from ..ratelimit import RateLimiter
from . import admin_sessions
from .guard import (CSRF_FIELD, LANGUAGE_COOKIE, LANGUAGE_COOKIE_S, LOGIN_COOKIE, SESSION_COOKIE, check_csrf,
                    clear_cookie, current_session, login_csrf, page, set_cookie, web, words)
from .i18n import LANGUAGES

log = logging.getLogger(__name__)
MAX_TOKEN_CHARS = 200
LOGIN_ATTEMPTS_PER_MINUTE = 20


def _login_form(status: int, error_key: str | None = None) -> Response:
    return page("login.html", status, login_csrf=login_csrf(),
                error=words()(error_key) if error_key else None)


@web.get("/login")
def login_page() -> Response:
    if current_session() is not None:
        return redirect(url_for("fleet_web.fleet_page"), 303)
    return _login_form(200)


@web.post("/login")
def login() -> Response:
    # Guessing a 256-bit token is hopeless; the limit keeps a flood of tries from filling the
    # log and the database. Kept in the database, so it holds across workers. Behind a reverse
    # proxy every admin shares its address: the limit is set well above what people type.
    try:
        RateLimiter(dinas().clock, LOGIN_ATTEMPTS_PER_MINUTE).admit(connection(), f"admin-login:{request.remote_addr}")
    except ApiError as refused:
        response = page("login.html", 429, login_csrf=login_csrf(),
                        error=words()("login.too_many", seconds=refused.extra["retry_after"]))
        response.headers["Retry-After"] = str(refused.extra["retry_after"])
        return response
    nonce = request.cookies.get(LOGIN_COOKIE)
    sent = request.form.get(CSRF_FIELD, "")
    if not nonce or not hmac.compare_digest(sent.encode(), dinas().vault.form_mac(f"login:{nonce}").encode()):
        return _login_form(400, "login.expired")
    token = request.form.get("token", "").strip()
    started = None
    if token and len(token) <= MAX_TOKEN_CHARS:
        started = admin_sessions.start(connection(), dinas().vault, dinas().now(), token)
    if started is None:
        log.warning("fleet page: login refused (wrong or revoked admin token) from %s", request.remote_addr)
        return _login_form(401, "login.wrong_token")
    session_id, session = started
    log.info("fleet page: admin logged in from %s", request.remote_addr)
    response = redirect(url_for("fleet_web.fleet_page"), 303)
    set_cookie(response, SESSION_COOKIE, session_id, int(session.expires_at - dinas().now()))
    clear_cookie(response, LOGIN_COOKIE)
    return response


@web.post("/logout")
def logout() -> Response:
    session = current_session()
    if session is not None:
        check_csrf(session.csrf_token)
        admin_sessions.end(connection(), session)
        log.info("fleet page: admin logged out")
    response = redirect(url_for("fleet_web.login_page"), 303)
    clear_cookie(response, SESSION_COOKIE)
    return response


def _local_target(target: str) -> str:
    """Only a path of this page: the switch must not send anyone to another site."""
    if target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("fleet_web.fleet_page")


@web.get("/language/<language>")
def choose_language(language: str) -> Response:
    if language not in LANGUAGES:
        abort(404)
    response = redirect(_local_target(request.args.get("next", "")), 303)
    set_cookie(response, LANGUAGE_COOKIE, language, LANGUAGE_COOKIE_S)
    return response
