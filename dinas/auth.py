"""Bearer tokens: one per kiosk and the admin's. Only keyed hashes of tokens are stored."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .errors import ApiError
from .vault import Vault, new_token


@dataclass(frozen=True)
class Caller:
    kind: str                 # "admin" or "kiosk"
    kiosk_id: str | None


def issue_admin_token(connection: sqlite3.Connection, vault: Vault, now: float) -> str:
    token = new_token()
    connection.execute("INSERT INTO tokens (token_hash, kind, kiosk_id, created_at) VALUES (?, 'admin', NULL, ?)",
                       (vault.token_hash(token), now))
    return token


def has_admin_token(connection: sqlite3.Connection) -> bool:
    return connection.execute("SELECT 1 FROM tokens WHERE kind = 'admin'").fetchone() is not None


def add_kiosk(connection: sqlite3.Connection, vault: Vault, kiosk_id: str, group: str | None, now: float) -> str:
    """Registers a kiosk and returns its new token (shown once; only its hash is kept)."""
    if connection.execute("SELECT 1 FROM kiosks WHERE kiosk_id = ?", (kiosk_id,)).fetchone():
        raise ValueError(f"kiosk {kiosk_id!r} already exists")
    connection.execute("INSERT INTO kiosks (kiosk_id, grp, created_at) VALUES (?, ?, ?)", (kiosk_id, group, now))
    token = new_token()
    connection.execute("INSERT INTO tokens (token_hash, kind, kiosk_id, created_at) VALUES (?, 'kiosk', ?, ?)",
                       (vault.token_hash(token), kiosk_id, now))
    return token


def authenticate(connection: sqlite3.Connection, vault: Vault, header: str | None, kind: str) -> Caller:
    if not header or not header.startswith("Bearer ") or not header[7:].strip():
        raise ApiError(401, "unauthorized", "missing bearer token (Authorization: Bearer <token>)")
    row = connection.execute("SELECT kind, kiosk_id FROM tokens WHERE token_hash = ?",
                             (vault.token_hash(header[7:].strip()),)).fetchone()
    if row is None:
        raise ApiError(401, "unauthorized", "unknown or revoked token")
    if row["kind"] != kind:
        raise ApiError(403, "forbidden", f"this call needs a {kind} token, not a {row['kind']} token")
    return Caller(row["kind"], row["kiosk_id"])
