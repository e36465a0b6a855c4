"""The fleet page's login, over real loopback HTTP (and the Flask test client where the host
must be something loopback cannot be): cookie flags, CSRF, logout, expiry, the token never
in an address, and sessions that live in the database, not in one process."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest
import requests

from dinas import auth
from dinas.server import create_app
from dinas.web import admin_sessions
from dinas.web.login import LOGIN_ATTEMPTS_PER_MINUTE
from tests.fixtures.dinas_server import on_both_backends, reference_server  # noqa: F401
from tests.fixtures.fleet_page import CSRF, login


def _base(server) -> str:
    return server.url.removesuffix("/api/v1")


def _set_cookies(reply: requests.Response) -> dict[str, SimpleCookie]:
    """Each Set-Cookie header of a reply, parsed, by cookie name."""
    found = {}
    for header in reply.raw.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        found.update({name: cookie for name in cookie})
    return found


def _logout_csrf(page_html: str) -> str:
    match = re.search(r'action="/admin/logout".*?name="csrf_token" value="([^"]+)"', page_html, re.S)
    assert match, "the page has no logout form with a CSRF token"
    return match.group(1)


def test_login_gives_a_strict_http_only_cookie_with_an_expiry(reference_server):  # noqa: F811
    session = requests.Session()
    reply = login(session, reference_server)
    assert reply.status_code == 303
    assert reply.headers["Location"] == "/admin/"
    cookie = _set_cookies(reply)["dinas_admin"]["dinas_admin"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/admin"
    assert int(cookie["max-age"]) == pytest.approx(admin_sessions.LIFETIME_S, abs=5)
    assert not cookie["secure"], "on loopback the cookie cannot be Secure (plain HTTP)"
    page = session.get(f"{_base(reference_server)}/admin/", timeout=10, allow_redirects=False)
    assert page.status_code == 200 and "ADM-BDG-01" in page.text
    assert reference_server.admin_token not in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    # The API never gets the page's cookie.
    assert reference_server.query("SELECT COUNT(*) AS n FROM admin_sessions")[0]["n"] == 1


def test_a_wrong_token_or_a_kiosk_token_does_not_log_in(reference_server):  # noqa: F811
    for token in ("wrong", reference_server.kiosks[0]["token"], "x" * 5000):
        session = requests.Session()
        form = session.get(f"{_base(reference_server)}/admin/login", timeout=10)
        reply = session.post(f"{_base(reference_server)}/admin/login", timeout=10, allow_redirects=False,
                             data={"csrf_token": CSRF.search(form.text).group(1), "token": token})
        assert reply.status_code == 401
        assert "Token salah atau sudah tidak berlaku." in reply.text
        assert "dinas_admin" not in _set_cookies(reply)
        assert token not in reply.text
    assert reference_server.query("SELECT COUNT(*) AS n FROM admin_sessions")[0]["n"] == 0


def test_the_login_form_without_its_csrf_token_is_refused(reference_server):  # noqa: F811
    base = _base(reference_server)
    token = reference_server.admin_token
    stranger = requests.Session()           # never loaded the form: no login cookie
    reply = stranger.post(f"{base}/admin/login", data={"token": token, "csrf_token": "x"}, timeout=10,
                          allow_redirects=False)
    assert reply.status_code == 400 and "dinas_admin" not in _set_cookies(reply)
    session = requests.Session()
    form = session.get(f"{base}/admin/login", timeout=10)
    good = CSRF.search(form.text).group(1)
    for sent in ({"token": token}, {"token": token, "csrf_token": good[:-1] + "A"}):
        reply = session.post(f"{base}/admin/login", data=sent, timeout=10, allow_redirects=False)
        assert reply.status_code == 400
        assert "kedaluwarsa" in reply.text and "dinas_admin" not in _set_cookies(reply)
    # Another browser's token does not fit this browser's cookie.
    other = requests.Session()
    other_form = other.get(f"{base}/admin/login", timeout=10)
    reply = session.post(f"{base}/admin/login", timeout=10, allow_redirects=False,
                         data={"token": token, "csrf_token": CSRF.search(other_form.text).group(1)})
    assert reply.status_code == 400


def test_logout_needs_the_csrf_token_and_ends_the_session_on_the_server(reference_server):  # noqa: F811
    base = _base(reference_server)
    session = requests.Session()
    login(session, reference_server)
    page = session.get(f"{base}/admin/", timeout=10)
    stolen_cookie = session.cookies.get("dinas_admin")
    refused = session.post(f"{base}/admin/logout", data={"csrf_token": "forged"}, timeout=10, allow_redirects=False)
    assert refused.status_code == 400 and "Formulir ini sudah kedaluwarsa" in refused.text
    assert session.get(f"{base}/admin/", timeout=10, allow_redirects=False).status_code == 200
    reply = session.post(f"{base}/admin/logout", data={"csrf_token": _logout_csrf(page.text)}, timeout=10,
                         allow_redirects=False)
    assert reply.status_code == 303 and reply.headers["Location"] == "/admin/login"
    assert _set_cookies(reply)["dinas_admin"]["dinas_admin"]["max-age"] == "0"
    # The old cookie, replayed, opens nothing: the session is gone from the database.
    replay = requests.get(f"{base}/admin/", cookies={"dinas_admin": stolen_cookie}, timeout=10,
                          allow_redirects=False)
    assert replay.status_code == 303 and replay.headers["Location"] == "/admin/login"


def test_a_session_ends_when_idle_and_at_the_end_of_its_lifetime(reference_server):  # noqa: F811
    base = _base(reference_server)
    session = requests.Session()
    login(session, reference_server)
    reference_server.clock.advance(admin_sessions.IDLE_S - 60)
    assert session.get(f"{base}/admin/", timeout=10, allow_redirects=False).status_code == 200
    reference_server.clock.advance(admin_sessions.IDLE_S - 60)      # used a minute ago: still idle-fresh
    assert session.get(f"{base}/admin/", timeout=10, allow_redirects=False).status_code == 200
    reference_server.clock.advance(admin_sessions.IDLE_S + 1)
    assert session.get(f"{base}/admin/", timeout=10, allow_redirects=False).status_code == 303

    session = requests.Session()
    login(session, reference_server)
    used_for = 0
    while used_for < admin_sessions.LIFETIME_S - admin_sessions.IDLE_S:
        reference_server.clock.advance(admin_sessions.IDLE_S - 60)
        used_for += admin_sessions.IDLE_S - 60
        assert session.get(f"{base}/admin/", timeout=10, allow_redirects=False).status_code == 200
    reference_server.clock.advance(admin_sessions.LIFETIME_S - used_for + 1)
    reply = session.get(f"{base}/admin/", timeout=10, allow_redirects=False)
    assert reply.status_code == 303 and reply.headers["Location"] == "/admin/login"


def test_a_token_in_the_address_is_refused_and_never_echoed(reference_server):  # noqa: F811
    base = _base(reference_server)
    token = reference_server.admin_token
    for path in ("/admin/login", "/admin/", "/admin/kiosks/ADM-BDG-01", "/admin/language/en"):
        reply = requests.get(f"{base}{path}?token={token}", timeout=10, allow_redirects=False)
        assert reply.status_code == 400, path
        assert "tidak boleh ada di alamat" in reply.text
        assert token not in reply.text, "the language switch must not carry the token on"
        assert "dinas_admin" not in _set_cookies(reply)
    # A login sends the token in the body only, and its answer points at a token-free address.
    session = requests.Session()
    reply = login(session, reference_server)
    assert token not in reply.headers["Location"] and token not in reply.request.url


def test_rotating_the_admin_token_ends_its_sessions(reference_server):  # noqa: F811
    session = requests.Session()
    login(session, reference_server)
    with reference_server.writing() as connection:          # as `adm-dinas admin-token rotate` does
        new_token = auth.rotate_admin_token(connection, reference_server.vault(), reference_server.clock())
    reply = session.get(f"{_base(reference_server)}/admin/", timeout=10, allow_redirects=False)
    assert reply.status_code == 303 and reply.headers["Location"] == "/admin/login"
    assert login(requests.Session(), reference_server, token=new_token).status_code == 303


def test_sessions_hold_across_workers_on_one_database(reference_server):  # noqa: F811
    """Two apps on one database stand for two worker processes (or two machines): nothing of
    a session is in either's memory."""
    second_worker = create_app(reference_server.db, clock=reference_server.clock, key_path=reference_server.key_path).test_client()
    session = requests.Session()
    login(session, reference_server)
    cookie = session.cookies.get("dinas_admin")
    second_worker.set_cookie("dinas_admin", cookie, path="/admin")
    page = second_worker.get("/admin/")
    assert page.status_code == 200 and "ADM-BDG-01" in page.text
    reply = second_worker.post("/admin/logout", data={"csrf_token": _logout_csrf(page.text)})
    assert reply.status_code == 303
    assert session.get(f"{_base(reference_server)}/admin/", timeout=10, allow_redirects=False).status_code == 303


@pytest.mark.parametrize("base_url, secure", [("https://dinas.example.go.id", True),
                                              ("http://dinas.example.go.id", True),
                                              ("http://127.0.0.1:8080", False), ("http://localhost", False)])
def test_cookies_are_secure_unless_on_loopback(reference_server, base_url, secure):  # noqa: F811
    client = create_app(reference_server.db, clock=reference_server.clock, key_path=reference_server.key_path).test_client()
    form = client.get("/admin/login", base_url=base_url)
    reply = client.post("/admin/login", base_url=base_url, data={
        "csrf_token": CSRF.search(form.text).group(1), "token": reference_server.admin_token})
    assert reply.status_code == 303
    flags = [header for header in reply.headers.getlist("Set-Cookie") if header.startswith("dinas_admin=")][0]
    assert ("; Secure" in flags) is secure
    assert "HttpOnly" in flags and "SameSite=Strict" in flags


def test_pages_need_a_session(reference_server):  # noqa: F811
    base = _base(reference_server)
    for path in ("/admin/", "/admin/kiosks/ADM-BDG-01", "/admin/kiosks/ADM-BDG-01/chart.svg"):
        reply = requests.get(f"{base}{path}", timeout=10, allow_redirects=False)
        assert reply.status_code == 303 and reply.headers["Location"] == "/admin/login", path
    assert requests.get(f"{base}/admin", timeout=10).url.endswith("/admin/login")


def test_a_flood_of_login_tries_is_slowed_and_then_let_through(reference_server):  # noqa: F811
    base = _base(reference_server)
    session = requests.Session()
    csrf = CSRF.search(session.get(f"{base}/admin/login", timeout=10).text).group(1)
    replies = [session.post(f"{base}/admin/login", data={"csrf_token": csrf, "token": "guess"}, timeout=10,
                            allow_redirects=False) for _ in range(LOGIN_ATTEMPTS_PER_MINUTE + 1)]
    assert [r.status_code for r in replies] == [401] * LOGIN_ATTEMPTS_PER_MINUTE + [429]
    assert "Terlalu banyak percobaan masuk" in replies[-1].text and int(replies[-1].headers["Retry-After"]) >= 1
    refused = session.post(f"{base}/admin/login", data={"csrf_token": csrf, "token": reference_server.admin_token},
                           timeout=10, allow_redirects=False)
    assert refused.status_code == 429 and "dinas_admin" not in _set_cookies(refused)
    reference_server.clock.advance(60)
    assert login(requests.Session(), reference_server).status_code == 303
