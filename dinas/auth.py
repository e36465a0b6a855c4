"""Bearer tokens: one per kiosk and the admin's. Only keyed hashes of tokens are stored.

Every request looks its token up in the database (nothing is cached), so a revoked or
rotated token stops working at once, on every worker and machine. A per-worker cache, even
for a few seconds, would let a revoked kiosk go on for that long on the workers that cached
it: the heartbeat instead checks its token inside the statements that store it
(`heartbeats.HeartbeatStore`), which costs no round trip of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from .db import Connection
from .errors import ApiError
from .vault import Vault, new_token


@dataclass(frozen=True)
class Caller:
    kind: str                 # "admin" or "kiosk"
    kiosk_id: str | None


def issue_admin_token(connection: Connection, vault: Vault, now: float) -> str:
    token = new_token()
    connection.run("INSERT INTO tokens (token_hash, kind, kiosk_id, created_at) VALUES (:h, 'admin', NULL, :now)",
                   h=vault.token_hash(token), now=now)
    return token


def rotate_admin_token(connection: Connection, vault: Vault, now: float) -> str:
    """A new admin token; every earlier one stops working."""
    connection.run("DELETE FROM tokens WHERE kind = 'admin'")
    return issue_admin_token(connection, vault, now)


def has_admin_token(connection: Connection) -> bool:
    return connection.one("SELECT 1 FROM tokens WHERE kind = 'admin'") is not None


def _kiosk_token(connection: Connection, vault: Vault, kiosk_id: str, now: float) -> str:
    token = new_token()
    connection.run("INSERT INTO tokens (token_hash, kind, kiosk_id, created_at) VALUES (:h, 'kiosk', :k, :now)",
                   h=vault.token_hash(token), k=kiosk_id, now=now)
    return token


def add_kiosk(connection: Connection, vault: Vault, kiosk_id: str, group: str | None, now: float) -> str:
    """Registers a kiosk and returns its new token (shown once; only its hash is kept)."""
    if connection.one("SELECT 1 FROM kiosks WHERE kiosk_id = :k", k=kiosk_id):
        raise ValueError(f"kiosk {kiosk_id!r} already exists")
    connection.run("INSERT INTO kiosks (kiosk_id, grp, created_at) VALUES (:k, :g, :now)", k=kiosk_id, g=group, now=now)
    return _kiosk_token(connection, vault, kiosk_id, now)


def _known_kiosk(connection: Connection, kiosk_id: str) -> None:
    if connection.lock("kiosks", ["kiosk_id"], kiosk_id=kiosk_id) is None:
        raise ValueError(f"no kiosk {kiosk_id!r}")


def rotate_kiosk_token(connection: Connection, vault: Vault, kiosk_id: str, now: float) -> str:
    """A new token for the kiosk (also one that was revoked); the old one stops at once."""
    _known_kiosk(connection, kiosk_id)
    connection.run("DELETE FROM tokens WHERE kind = 'kiosk' AND kiosk_id = :k", k=kiosk_id)
    connection.run("UPDATE kiosks SET revoked_at = NULL WHERE kiosk_id = :k", k=kiosk_id)
    return _kiosk_token(connection, vault, kiosk_id, now)


def revoke_kiosk(connection: Connection, kiosk_id: str, now: float) -> None:
    """The kiosk's token stops at once (a stolen kiosk); `rotate_kiosk_token` re-enrols it."""
    _known_kiosk(connection, kiosk_id)
    connection.run("DELETE FROM tokens WHERE kind = 'kiosk' AND kiosk_id = :k", k=kiosk_id)
    connection.run("UPDATE kiosks SET revoked_at = :now WHERE kiosk_id = :k", k=kiosk_id, now=now)


def bearer_token(header: str | None) -> str | None:
    """The token in an `Authorization: Bearer <token>` header, or None."""
    if not header or not header.startswith("Bearer ") or not header[7:].strip():
        return None
    return header[7:].strip()


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def authenticate(connection: Connection, vault: Vault, header: str | None, kind: str) -> Caller:
    token = bearer_token(header)
    if token is None:
        raise ApiError(401, "unauthorized", "missing bearer token (Authorization: Bearer <token>)")
    row = connection.one("SELECT kind, kiosk_id FROM tokens WHERE token_hash = :h", h=vault.token_hash(token))
    if row is None:
        raise ApiError(401, "unauthorized", "unknown or revoked token")
    if row["kind"] != kind:
        raise ApiError(403, "forbidden", f"this call needs {_a(kind)} token, not {_a(row['kind'])} token")
    return Caller(row["kind"], row["kiosk_id"])
