"""Heartbeats in, the fleet listing out.

Each kiosk row keeps the latest heartbeat and a count of all; the `heartbeats` table keeps
the recent history, bounded two ways: rows older than `HISTORY_SECONDS` go, and each kiosk
keeps at most `HISTORY_ROWS_PER_KIOSK` (pruned every `PRUNE_EVERY` of its heartbeats, so the
bound is that plus `PRUNE_EVERY`), whatever rate it sends at.
`needs` is what a technician should bring: every supply that is low or out and every alarm,
as "role:consumable_level" / "role:fault_code" (e.g. "card_printer:cards_out").
`kiosk_days` keeps each kiosk's own count of prints and failures per day (its local day, as
its heartbeats' `counters` say), for the fleet page's "today" and its 30-day chart: the
heartbeat history is too short for that.

What the fleet page filters and orders on is kept on the kiosk's row as it arrives, so a page
of a country's fleet is one indexed query (`fleet_page`), not every kiosk's last heartbeat read
and parsed: `beat_needs` (its last heartbeat has a `needs`, or runs an expired configuration),
`config_report` (its latest configuration report's result, `config_report_id` that report)
and `needs_action` (either says someone must act).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from .clock import iso
from .db import Connection

ONLINE_SECONDS = 3 * 60
# A 5,000-kiosk fleet sends 7 million heartbeats a day: keep two days of history.
HISTORY_SECONDS = 2 * 86400
HISTORY_ROWS_PER_KIOSK = 2 * 24 * 60        # two days at one a minute
PRUNE_EVERY = 100
DAYS_KEPT = 400                      # a year of daily counts, and some
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
NOT_PRINTS = frozenset({"maintenance"})      # the kiosk's counter kind for technician test cards
MAX_DAY_COUNT = 1_000_000


CONFIG_FAILED = ("rejected", "rolled_back")       # a configuration report that needs the dinas to act
_NEEDS_ACTION = ("CASE WHEN {beat} = 1 OR {report} IN (" + ", ".join(f"'{r}'" for r in CONFIG_FAILED)
                 + ") THEN 1 ELSE 0 END")
_KIOSK_ROW = ("UPDATE kiosks SET last_seen = :now, software_version = :sv, config_version = :cv, "
              "config_stale = :stale, uptime_s = :up, devices = :devices, counters = :counters, "
              "outbox_depth = :outbox, last_faults = :faults, heartbeat_count = heartbeat_count + 1, "
              "beat_needs = :beat_needs, "
              f"needs_action = {_NEEDS_ACTION.format(beat=':beat_needs', report='config_report')} "
              "WHERE kiosk_id = :k{token} RETURNING heartbeat_count{returning}")
# The caller's token, checked by the same statement (no lookup of its own): no row when the
# token is unknown, revoked, an admin's or another kiosk's.
TOKEN_NAMES_KIOSK = "EXISTS (SELECT 1 FROM tokens WHERE token_hash = :h AND kind = 'kiosk' AND kiosk_id = :k)"


def heartbeat_statements(now: float, kiosk_id: str, beat: dict[str, Any], token_hash: str | None = None,
                         returning: dict[str, str] | None = None,
                         gate: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """What storing a heartbeat writes, for one batch: first the kiosk's row (RETURNING its
    heartbeat count and each {name: SQL expression over the row} of `returning`; with
    `token_hash`, only when that token is this kiosk's), then the history row and the day's
    counts. `after_heartbeat` then gets the count. With `gate` (an SQL condition, in place of
    the token check), every one of them writes only when it holds: the parts of one statement."""
    parts = {"devices": json.dumps(beat["devices"]), "counters": json.dumps(beat["counters"]),
             "last_faults": json.dumps(beat["last_faults"])}
    row = {"now": now, "sv": beat["software_version"], "cv": beat["config_version"],
           "stale": None if beat.get("config_stale") is None else int(beat["config_stale"]),
           "up": beat["uptime_s"], "devices": parts["devices"], "counters": parts["counters"],
           "outbox": beat["outbox_depth"], "faults": parts["last_faults"], "k": kiosk_id,
           "beat_needs": beat_needs(beat["devices"], beat.get("config_stale"))}
    if token_hash is not None:
        row["h"] = token_hash
    extra = "".join(f", {expression} AS {name}" for name, expression in (returning or {}).items())
    check = f" AND {gate}" if gate is not None else f" AND {TOKEN_NAMES_KIOSK}" if token_hash is not None else ""
    rows = "VALUES ({})" if gate is None else f"SELECT {{}} WHERE {gate}"
    statements = [(_KIOSK_ROW.format(token=check, returning=extra), row),
                  (f"INSERT INTO heartbeats (kiosk_id, received_at, body) {rows.format(':k, :now, :body')}",
                   {"k": kiosk_id, "now": now, "body": beat_json(beat, parts)})]
    totals = day_totals(beat["counters"])
    # A kiosk's local day is within a day of UTC's: anything else is a wrong clock, and would
    # let one kiosk grow the table without bound.
    if totals is not None and abs((date.fromisoformat(totals[0]) - _utc_day(now)).days) <= 1:
        statements.append(("INSERT INTO kiosk_days (kiosk_id, day, printed, failed) "
                           f"{rows.format(':k, :day, :printed, :failed')} ON CONFLICT (kiosk_id, day) DO UPDATE SET "
                           "printed = excluded.printed, failed = excluded.failed",
                           {"k": kiosk_id, "day": totals[0], "printed": totals[1], "failed": totals[2]}))
    return statements


def beat_json(beat: dict[str, Any], dumped: dict[str, str]) -> str:
    """`json.dumps(beat)`, the same text, with the values in `dumped` (already dumped for the
    kiosk's row) reused: the devices are most of a heartbeat, and most of its JSON work."""
    return "{" + ", ".join(f"{json.dumps(key)}: {dumped[key] if key in dumped else json.dumps(value)}"
                           for key, value in beat.items()) + "}"


def after_heartbeat(connection: Connection, now: float, kiosk_id: str, count: int | None) -> None:
    """Every `PRUNE_EVERY` heartbeats of a kiosk (its row's count), its history is pruned."""
    if count is not None and count % PRUNE_EVERY == 0:
        prune_history(connection, now, kiosk_id)


def store_heartbeat(connection: Connection, now: float, kiosk_id: str, beat: dict[str, Any]) -> None:
    """Stores a heartbeat whose caller is already known (tests, tools)."""
    rows = connection.batch(heartbeat_statements(now, kiosk_id, beat))
    after_heartbeat(connection, now, kiosk_id, rows[0][0]["heartbeat_count"] if rows[0] else None)


def prune_history(connection: Connection, now: float, kiosk_id: str) -> None:
    connection.run("DELETE FROM heartbeats WHERE kiosk_id = :k AND (received_at < :old OR received_at < ("
                   "SELECT received_at FROM heartbeats WHERE kiosk_id = :k "
                   "ORDER BY received_at DESC LIMIT 1 OFFSET :keep))",
                   k=kiosk_id, old=now - HISTORY_SECONDS, keep=HISTORY_ROWS_PER_KIOSK - 1)
    connection.run("DELETE FROM kiosk_days WHERE kiosk_id = :k AND day < :first", k=kiosk_id,
                   first=(_utc_day(now) - timedelta(days=DAYS_KEPT)).isoformat())


def _utc_day(now: float) -> date:
    return datetime.fromtimestamp(now, timezone.utc).date()


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DAY_COUNT else 0


def day_totals(counters: dict[str, Any]) -> tuple[str, int, int] | None:
    """(day, printed, failed) from a heartbeat's `counters` ({day, today: {kind: {name: n}}}),
    summed over the document kinds; None when the kiosk did not send a well-formed day."""
    day, today = counters.get("day"), counters.get("today")
    if not isinstance(day, str) or not DAY.fullmatch(day) or not isinstance(today, dict):
        return None
    try:
        date.fromisoformat(day)
    except ValueError:
        return None
    printed = failed = 0
    for kind, values in today.items():
        if kind not in NOT_PRINTS and isinstance(values, dict):
            printed += _count(values.get("printed"))
            failed += _count(values.get("failed"))
    return day, printed, failed


def counts_on(connection: Connection, day: str, kiosk_ids: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """{kiosk_id: (printed, failed)} for one day, for every kiosk (or each of `kiosk_ids`) that
    reported that day."""
    if kiosk_ids is not None and not kiosk_ids:
        return {}
    where = "" if kiosk_ids is None else " AND kiosk_id IN :ids"
    return {row["kiosk_id"]: (row["printed"], row["failed"]) for row in connection.all(
        f"SELECT kiosk_id, printed, failed FROM kiosk_days WHERE day = :day{where}", day=day,
        **({} if kiosk_ids is None else {"ids": kiosk_ids}))}


def daily_counts(connection: Connection, kiosk_id: str, first_day: str) -> dict[str, tuple[int, int]]:
    """{day: (printed, failed)} for one kiosk from `first_day` on (days it reported)."""
    return {row["day"]: (row["printed"], row["failed"]) for row in connection.all(
        "SELECT day, printed, failed FROM kiosk_days WHERE kiosk_id = :k AND day >= :first ORDER BY day",
        k=kiosk_id, first=first_day)}


def history(connection: Connection, kiosk_id: str, limit: int) -> list[dict[str, Any]]:
    """The kiosk's last `limit` heartbeats, newest first: {received_at, beat}."""
    return [{"received_at": iso(row["received_at"]), "beat": json.loads(row["body"])} for row in connection.all(
        "SELECT received_at, body FROM heartbeats WHERE kiosk_id = :k ORDER BY received_at DESC LIMIT :n",
        k=kiosk_id, n=limit)]


def beat_needs(devices: dict[str, Any], config_stale: Any) -> int:
    """1 when a heartbeat says someone must act: a `needs`, or an expired configuration running."""
    return int(bool(needs(devices)) or bool(config_stale))


def note_report(connection: Connection, kiosk_id: str, report_id: int, result: str) -> None:
    """A configuration report just stored, on the kiosk's row, unless a later one is there
    already (two reports committing out of order on PostgreSQL)."""
    connection.run("UPDATE kiosks SET config_report = :result, config_report_id = :id, "
                   f"needs_action = {_NEEDS_ACTION.format(beat='beat_needs', report=':result')} "
                   "WHERE kiosk_id = :k AND (config_report_id IS NULL OR config_report_id < :id)",
                   result=result, id=report_id, k=kiosk_id)


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


# Each kiosk's latest configuration report, in one pass over the table (not one query per
# kiosk: a country's fleet page would make thousands).
LATEST_REPORTS = ("SELECT r.id, r.kiosk_id, r.version, r.result, r.reason, r.received_at FROM config_reports r "
                  "JOIN (SELECT MAX(id) AS id FROM config_reports GROUP BY kiosk_id) latest ON latest.id = r.id")


def listing(connection: Connection, now: float) -> list[dict[str, Any]]:
    reports = {row["kiosk_id"]: row for row in connection.all(LATEST_REPORTS)}
    return [_status(row, reports.get(row["kiosk_id"]), now)
            for row in connection.all("SELECT * FROM kiosks ORDER BY kiosk_id")]


# The fleet page, from the flags kept on each kiosk's row. Offline: not heard from within
# ONLINE_SECONDS (or never), and not revoked (a revoked kiosk is silent on purpose).
_OFFLINE = "(k.revoked_at IS NULL AND (k.last_seen IS NULL OR k.last_seen <= :cutoff))"
_NEEDING = "(k.needs_action = 1 AND k.revoked_at IS NULL)"
PAGE_FILTERS = {"all": None, "needs": _NEEDING, "offline": _OFFLINE}
# Offline ones that were heard from first (never heard from: not installed yet, later), then
# those needing action, then the rest, revoked ones last; by id within each.
_ATTENTION = ("CASE WHEN k.revoked_at IS NOT NULL THEN 3 WHEN k.last_seen <= :cutoff THEN 0 "
              "WHEN k.needs_action = 1 THEN 1 ELSE 2 END")


def group_counts(connection: Connection, now: float) -> dict[str | None, dict[str, int]]:
    """{group (None: in none): {"all", "needs", "offline"}} for the fleet page's summary and
    its list of groups: one pass over the kiosks' flags."""
    rows = connection.all(f"SELECT k.grp, COUNT(*) AS all_kiosks, SUM(CASE WHEN {_NEEDING} THEN 1 ELSE 0 END) "
                          f"AS needs, SUM(CASE WHEN {_OFFLINE} THEN 1 ELSE 0 END) AS offline FROM kiosks k "
                          "GROUP BY k.grp", cutoff=now - ONLINE_SECONDS)
    return {row["grp"]: {"all": int(row["all_kiosks"]), "needs": int(row["needs"] or 0),
                         "offline": int(row["offline"] or 0)} for row in rows}


def fleet_page(connection: Connection, now: float, show: str, group: str | None, offset: int,
               limit: int) -> list[dict[str, Any]]:
    """One page of the fleet as `listing` shows each kiosk, filtered by `show` (a key of
    PAGE_FILTERS) and `group`, in the order of attention: one query, its latest configuration
    report joined by the id kept on the row."""
    where = [clause for clause in (PAGE_FILTERS[show], "k.grp = :g" if group is not None else None) if clause]
    rows = connection.all(
        "SELECT k.*, r.version AS report_version, r.result AS report_result, r.reason AS report_reason, "
        "r.received_at AS report_at FROM kiosks k LEFT JOIN config_reports r ON r.id = k.config_report_id "
        f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {_ATTENTION}, k.kiosk_id LIMIT :n OFFSET :o",
        cutoff=now - ONLINE_SECONDS, n=limit, o=offset, **({"g": group} if group is not None else {}))
    return [_status(row, None if row["report_version"] is None else {
        "version": row["report_version"], "result": row["report_result"], "reason": row["report_reason"],
        "received_at": row["report_at"]}, now) for row in rows]


def one(connection: Connection, now: float, kiosk_id: str) -> dict[str, Any] | None:
    """One kiosk as `listing` shows it, or None."""
    row = connection.one("SELECT * FROM kiosks WHERE kiosk_id = :k", k=kiosk_id)
    if row is None:
        return None
    report = connection.one("SELECT version, result, reason, received_at FROM config_reports "
                            "WHERE kiosk_id = :k ORDER BY id DESC LIMIT 1", k=kiosk_id)
    return _status(row, report, now)


def _status(row: Any, report: Any, now: float) -> dict[str, Any]:
    devices = json.loads(row["devices"]) if row["devices"] else {}
    return {
        "kiosk_id": row["kiosk_id"],
        "group": row["grp"],
        "online": row["last_seen"] is not None and row["last_seen"] > now - ONLINE_SECONDS,
        "last_seen": iso(row["last_seen"]) if row["last_seen"] is not None else None,
        "software_version": row["software_version"],
        "config_version": row["config_version"],
        "config_stale": bool(row["config_stale"]),     # an expired envelope still running
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
        "revoked": row["revoked_at"] is not None,
    }
