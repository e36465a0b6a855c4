"""Signed configuration envelopes, stored per kiosk or group and served with an ETag.

The server does not check signatures (the kiosk does, against its trusted keys); it checks
only that the envelope has the DSSE shape. A kiosk gets the most recently stored envelope
that targets it by id or by its group.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .clock import iso
from . import fleet
from .db import Connection, transaction
from .errors import invalid_request


def etag_of(envelope: dict[str, Any]) -> str:
    canonical = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()[:32]


def store(connection: Connection, now: float, kiosks: list[str], groups: list[str],
          envelope: dict[str, Any]) -> str:
    etag = etag_of(envelope)
    body = json.dumps(envelope)
    for kind, names in (("kiosk", kiosks), ("group", groups)):
        for name in names:
            connection.run("INSERT INTO config_envelopes (target_kind, target_name, envelope, etag, stored_at) "
                           "VALUES (:kind, :name, :body, :etag, :now)", kind=kind, name=name, body=body, etag=etag,
                           now=now)
    return etag


_LATEST = ("FROM config_envelopes WHERE (target_kind = 'kiosk' AND target_name = :k) "
           "OR (target_kind = 'group' AND target_name = (SELECT grp FROM kiosks WHERE kiosk_id = :k)) "
           "ORDER BY seq DESC LIMIT 1")


def latest_for(connection: Connection, kiosk_id: str) -> tuple[dict[str, Any], str] | None:
    row = connection.one(f"SELECT envelope, etag {_LATEST}", k=kiosk_id)
    return None if row is None else (json.loads(row["envelope"]), row["etag"])


# The ETag of the kiosk's latest envelope (`latest_for`'s) as an expression over a `kiosks` row,
# for the heartbeat's UPDATE ... RETURNING: the reply's `config_waiting`, with no statement of its own.
LATEST_ETAG_OF_ROW = ("(SELECT etag FROM config_envelopes WHERE (target_kind = 'kiosk' AND target_name = "
                      "kiosks.kiosk_id) OR (target_kind = 'group' AND target_name = kiosks.grp) "
                      "ORDER BY seq DESC LIMIT 1)")


def etag_differs(etag: str | None, kiosk_etag: str | None) -> bool:
    if etag is None:
        return False
    return (kiosk_etag or "").removeprefix("W/").strip('"') != etag


def store_report(connection: Connection, now: float, kiosk_id: str, version: int, result: str,
                 reason: str | None) -> None:
    with transaction(connection):
        report_id = connection.value(
            "INSERT INTO config_reports (kiosk_id, version, result, reason, received_at) "
            "VALUES (:k, :v, :result, :reason, :now) RETURNING id", k=kiosk_id, v=version, result=result,
            reason=reason, now=now)
        fleet.note_report(connection, kiosk_id, report_id, result)


def save_rollout(connection: Connection, now: float, rollout_id: str, body: dict[str, Any]) -> dict[str, Any]:
    document = {"rollout_id": rollout_id, **body, "updated_at": iso(now)}
    if len(json.dumps(document)) > 256 * 1024:
        raise invalid_request("a rollout record is at most 256 KiB")
    connection.run("INSERT INTO config_rollouts (rollout_id, body, updated_at) VALUES (:id, :body, :now) "
                   "ON CONFLICT (rollout_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                   id=rollout_id, body=json.dumps(document), now=now)
    return document


def rollouts(connection: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The most recently updated rollouts first."""
    rows = connection.all("SELECT body FROM config_rollouts ORDER BY updated_at DESC LIMIT :n", n=limit)
    return [json.loads(row["body"]) for row in rows]
