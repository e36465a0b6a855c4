"""Signed configuration envelopes, stored per kiosk or group and served with an ETag.

The server does not check signatures (the kiosk does, against its trusted keys); it checks
only that the envelope has the DSSE shape. A kiosk gets the most recently stored envelope
that targets it by id or by its group.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any


def etag_of(envelope: dict[str, Any]) -> str:
    canonical = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()[:32]


def store(connection: sqlite3.Connection, now: float, kiosks: list[str], groups: list[str],
          envelope: dict[str, Any]) -> str:
    etag = etag_of(envelope)
    body = json.dumps(envelope)
    for kind, names in (("kiosk", kiosks), ("group", groups)):
        for name in names:
            connection.execute("INSERT INTO config_envelopes (target_kind, target_name, envelope, etag, stored_at) "
                               "VALUES (?, ?, ?, ?, ?)", (kind, name, body, etag, now))
    return etag


def latest_for(connection: sqlite3.Connection, kiosk_id: str) -> tuple[dict[str, Any], str] | None:
    row = connection.execute(
        "SELECT envelope, etag FROM config_envelopes WHERE (target_kind = 'kiosk' AND target_name = ?) "
        "OR (target_kind = 'group' AND target_name = (SELECT grp FROM kiosks WHERE kiosk_id = ?)) "
        "ORDER BY seq DESC LIMIT 1", (kiosk_id, kiosk_id)).fetchone()
    return None if row is None else (json.loads(row["envelope"]), row["etag"])


def store_report(connection: sqlite3.Connection, now: float, kiosk_id: str, version: int, result: str,
                 reason: str | None) -> None:
    connection.execute("INSERT INTO config_reports (kiosk_id, version, result, reason, received_at) "
                       "VALUES (?, ?, ?, ?, ?)", (kiosk_id, version, result, reason, now))
