"""The fleet page's blueprint and what guards every request to it: the login session, CSRF,
the cookies' flags, the language, and the security headers.

Cookies (all HttpOnly, SameSite=Strict, Path=/admin, so the API under /api never gets them):
- `dinas_admin`: the session id (dinas/web/admin_sessions.py), Max-Age = the session's end;
- `dinas_login`: a random value set by the login page; the login form's CSRF token is its
  keyed MAC, so a form posted from another site cannot log a browser in;
- `dinas_lang`: "id" or "en", a preference only.
Each is `Secure` unless the browser reached the server on loopback (the host it asked for and
the address it came from are both loopback): a reverse proxy that terminates TLS must pass the
browser's Host header on, as they do by default.
The admin token travels only in the login form's body: a request to /admin with a `token`
in its address is refused, so it never lands in a proxy's log or the browser's history.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import secrets
from typing import Any, Callable
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for

from .. import settings
from ..context import connection, dinas
from . import admin_sessions
from .admin_sessions import AdminSession
from .i18n import DEFAULT_LANGUAGE, LANGUAGES, Translations, Words

web = Blueprint("fleet_web", __name__, url_prefix="/admin", template_folder="templates", static_folder="static",
                static_url_path="/static")
SESSION_COOKIE = "dinas_admin"
LOGIN_COOKIE = "dinas_login"
LANGUAGE_COOKIE = "dinas_lang"
COOKIE_PATH = "/admin"
LOGIN_COOKIE_S = 3600
LANGUAGE_COOKIE_S = 365 * 86400
CSRF_FIELD = "csrf_token"
KEPT_ARGS = ("show", "group", "page")
CHART_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'")


def translations() -> Translations:
    return current_app.extensions["fleet_web"]


def words() -> Words:
    if "fleet_words" not in g:
        # Bahasa Indonesia unless this browser chose otherwise with the switch: the browser's
        # own language is often English on an Indonesian admin's phone.
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        if chosen not in LANGUAGES:
            chosen = DEFAULT_LANGUAGE
        local = settings.read(connection())
        g.fleet_words = translations().words(chosen, local.utc_offset_minutes, local.timezone_label)
    return g.fleet_words


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def secure_cookies() -> bool:
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return request.is_secure or not (_is_loopback(host) and _is_loopback(request.remote_addr))


def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, secure=secure_cookies(), httponly=True,
                        samesite="Strict")


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, secure=secure_cookies(), httponly=True, samesite="Strict")


def current_session() -> AdminSession | None:
    if "fleet_session" not in g:
        g.fleet_session = admin_sessions.find(connection(), dinas().vault, dinas().now(),
                                              request.cookies.get(SESSION_COOKIE))
    return g.fleet_session


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if current_session() is None:
            return redirect(url_for("fleet_web.login_page"), 303)
        return view(*args, **kwargs)
    return guarded


def check_csrf(expected: str) -> None:
    sent = request.form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="csrf")


def login_csrf() -> str:
    """The login form's CSRF token, setting the browser's login cookie when it has none."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or len(nonce) > 100:
        nonce = g.setdefault("fleet_login_nonce", secrets.token_urlsafe(32))
        g.fleet_login_cookie_needed = True
    return dinas().vault.form_mac(f"login:{nonce}")


def page(template: str, http_status: int = 200, **context: Any) -> Response:
    response = Response(render_template(f"fleet_web/{template}", **context), status=http_status,
                        mimetype="text/html")
    if g.get("fleet_login_cookie_needed"):
        set_cookie(response, LOGIN_COOKIE, g.fleet_login_nonce, LOGIN_COOKIE_S)
    return response


@web.context_processor
def template_context() -> dict[str, Any]:
    session = current_session()
    return {"_": words(), "lang": words().language, "languages": LANGUAGES, "csrf_field": CSRF_FIELD,
            "csrf_token": session.csrf_token if session else "", "logged_in": session is not None,
            "here": here()}


def here() -> str:
    """This page's path with its filters only, for the language switch to come back to
    (never anything else that was in the address)."""
    kept = {key: request.args[key] for key in KEPT_ARGS if key in request.args}
    return request.path + ("?" + urlencode(kept) if kept else "")


@web.before_request
def refuse_token_in_address() -> Response | None:
    if "token" in request.args:
        return page("error.html", 400, message=words()("error.token_in_address"))
    return None


@web.after_request
def security_headers(response: Response) -> Response:
    # pygal's SVG carries its own <style>; shown as an image, nothing in it can run.
    response.headers["Content-Security-Policy"] = (CHART_SECURITY_POLICY if response.mimetype == "image/svg+xml"
                                                   else CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "fleet_web.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@web.errorhandler(400)
def bad_request(error: Any) -> Response:
    key = "error.csrf" if getattr(error, "description", "") == "csrf" else "error.bad_request"
    return page("error.html", 400, message=words()(key))


@web.errorhandler(404)
def not_found(_error: Any) -> Response:
    return page("error.html", 404, message=words()("error.not_found"))
