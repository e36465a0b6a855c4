"""Heartbeats in, the fleet listing out.

Each kiosk row keeps the latest heartbeat and a count of all; the `heartbeats` table keeps
the recent history.
`needs` is what a technician should bring: every supply that is low or out and every alarm,
as "role:consumable_level" / "role:fault_code" (e.g. "card_printer:cards_out").
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .clock import iso

ONLINE_SECONDS = 3 * 60
# A 5,000-kiosk fleet sends 7 million heartbeats a day: keep two days of history, pruned
# every `PRUNE_EVERY` heartbeats rather than by a separate job.
HISTORY_SECONDS = 2 * 86400
PRUNE_EVERY = 1000


def store_heartbeat(connection: sqlite3.Connection, now: float, kiosk_id: str, beat: dict[str, Any]) -> None:
    connection.execute(
        "UPDATE kiosks SET last_seen = ?, software_version = ?, config_version = ?, uptime_s = ?, devices = ?, "
        "counters = ?, outbox_depth = ?, last_faults = ?, heartbeat_count = heartbeat_count + 1 WHERE kiosk_id = ?",
        (now, beat["software_version"], beat["config_version"], beat["uptime_s"], json.dumps(beat["devices"]),
         json.dumps(beat["counters"]), beat["outbox_depth"], json.dumps(beat["last_faults"]), kiosk_id))
    row_id = connection.execute("INSERT INTO heartbeats (kiosk_id, received_at, body) VALUES (?, ?, ?)",
                                (kiosk_id, now, json.dumps(beat))).lastrowid
    if row_id % PRUNE_EVERY == 0:
        connection.execute("DELETE FROM heartbeats WHERE received_at < ?", (now - HISTORY_SECONDS,))


def needs(devices: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for role, device in sorted(devices.items()):
        for consumable, supply in sorted((device.get("supplies") or {}).items()):
            if supply.get("level") in ("low", "out"):
                found.append(f"{role}:{consumable}_{supply['level']}")
        for fault in device.get("faults") or []:
            if fault.get("severity") == "alarm":
                found.append(f"{role}:{fault.get('code')}")
    return list(dict.fromkeys(found))


def listing(connection: sqlite3.Connection, now: float) -> list[dict[str, Any]]:
    kiosks = []
    for row in connection.execute("SELECT * FROM kiosks ORDER BY kiosk_id"):
        devices = json.loads(row["devices"]) if row["devices"] else {}
        report = connection.execute("SELECT version, result, reason, received_at FROM config_reports "
                                    "WHERE kiosk_id = ? ORDER BY id DESC LIMIT 1", (row["kiosk_id"],)).fetchone()
        kiosks.append({
            "kiosk_id": row["kiosk_id"],
            "group": row["grp"],
            "online": row["last_seen"] is not None and row["last_seen"] > now - ONLINE_SECONDS,
            "last_seen": iso(row["last_seen"]) if row["last_seen"] is not None else None,
            "software_version": row["software_version"],
            "config_version": row["config_version"],
            "uptime_s": row["uptime_s"],
            "devices": devices,
            "counters": json.loads(row["counters"]) if row["counters"] else {},
            "outbox_depth": row["outbox_depth"],
            "last_faults": json.loads(row["last_faults"]) if row["last_faults"] else [],
            "heartbeats": row["heartbeat_count"],
            "last_config_report": None if report is None else {
                "version": report["version"], "result": report["result"], "reason": report["reason"],
                "at": iso(report["received_at"])},
            "needs": needs(devices),
        })
    return kiosks
