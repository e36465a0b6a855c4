"""The fleet page's login sessions, kept in the database so that every worker process and
every server machine on one database sees the same ones.

The browser holds a random session id in a cookie; the database holds only its keyed hash,
the hash of the admin token that logged in, a CSRF token and two deadlines:
- `expires_at`, the absolute end (LIFETIME_S after login), also the cookie's Max-Age;
- the idle end, `last_used_at + IDLE_S`: a phone left logged in on a desk stops working.
A session ends at once on logout, and when the admin token it came from is rotated or
revoked (the lookup joins the tokens table).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .. import db
from ..db import Connection
from ..auth import authenticate
from ..errors import ApiError
from ..vault import Vault

LIFETIME_S = 8 * 3600          # a working day
IDLE_S = 30 * 60
TOUCH_EVERY_S = 60             # last_used_at is rewritten at most once a minute per session


@dataclass(frozen=True)
class AdminSession:
    session_hash: str
    csrf_token: str
    expires_at: float


def start(connection: Connection, vault: Vault, now: float, token: str) -> tuple[str, AdminSession] | None:
    """A new session for a valid admin token: (cookie value, session); None for any other
    token (wrong, revoked, or a kiosk's)."""
    try:
        authenticate(connection, vault, f"Bearer {token}", "admin")
    except ApiError:
        return None
    session_id = secrets.token_urlsafe(32)
    session = AdminSession(vault.token_hash(f"session:{session_id}"), secrets.token_urlsafe(32), now + LIFETIME_S)
    with db.transaction(connection):
        # Housekeeping here: logins are rare, so expired rows never pile up.
        connection.run("DELETE FROM admin_sessions WHERE expires_at <= :now OR last_used_at <= :idle",
                       now=now, idle=now - IDLE_S)
        connection.run("INSERT INTO admin_sessions (session_hash, token_hash, csrf_token, created_at, "
                       "last_used_at, expires_at) VALUES (:h, :token, :csrf, :now, :now, :exp)",
                       h=session.session_hash, token=vault.token_hash(token.strip()), csrf=session.csrf_token,
                       now=now, exp=session.expires_at)
    return session_id, session


def find(connection: Connection, vault: Vault, now: float, session_id: str | None) -> AdminSession | None:
    """The live session for a cookie value, or None (unknown, ended, expired, idle too long,
    or its admin token is no longer valid). Using it keeps it from going idle."""
    if not session_id or len(session_id) > 100:
        return None
    session_hash = vault.token_hash(f"session:{session_id}")
    row = connection.one(
        "SELECT s.csrf_token, s.last_used_at, s.expires_at FROM admin_sessions s "
        "JOIN tokens t ON t.token_hash = s.token_hash AND t.kind = 'admin' "
        "WHERE s.session_hash = :h AND s.expires_at > :now AND s.last_used_at > :idle",
        h=session_hash, now=now, idle=now - IDLE_S)
    if row is None:
        return None
    if now - row["last_used_at"] >= TOUCH_EVERY_S:
        connection.run("UPDATE admin_sessions SET last_used_at = :now WHERE session_hash = :h", now=now, h=session_hash)
    return AdminSession(session_hash, row["csrf_token"], row["expires_at"])


def end(connection: Connection, session: AdminSession) -> None:
    connection.run("DELETE FROM admin_sessions WHERE session_hash = :h", h=session.session_hash)
