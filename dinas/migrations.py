"""The versioned schema: migrations run at start, in order, each in its own transaction.

`schema_version` holds the version the database is at. A database made before schema versions
(SQLite only, no `schema_version` table) is version 1; version 2 adds, where missing, what
`main` added to it in between. A new database runs every migration
from 1, so the upgrade path is the path every database takes.

To change the schema, append a function to `MIGRATIONS`: it gets alembic's `Operations` (DDL
that each database speaks its own way: types, ALTER on SQLite) and the connection, and never
edits an earlier migration.
"""

from __future__ import annotations

import json
import logging
from typing import Callable

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from .db import Database

log = logging.getLogger(__name__)
# Epoch seconds: DOUBLE PRECISION on PostgreSQL (its REAL is 4 bytes), REAL on SQLite.
Time = sa.Double
# A primary key that grows by millions a day: BIGINT on PostgreSQL, the rowid on SQLite.
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _version_1(op: Operations, _connection: sa.Connection) -> None:
    """The first release's schema (`main` before schema versions)."""
    op.create_table("settings", sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    op.create_table("tokens", sa.Column("token_hash", sa.Text, primary_key=True),
                    sa.Column("kind", sa.Text, sa.CheckConstraint("kind IN ('admin', 'kiosk')"), nullable=False),
                    sa.Column("kiosk_id", sa.Text), sa.Column("created_at", Time, nullable=False))
    op.create_table("kiosks", sa.Column("kiosk_id", sa.Text, primary_key=True), sa.Column("grp", sa.Text),
                    sa.Column("created_at", Time, nullable=False), sa.Column("last_seen", Time),
                    sa.Column("software_version", sa.Text), sa.Column("config_version", sa.BigInteger),
                    sa.Column("uptime_s", Time), sa.Column("devices", sa.Text), sa.Column("counters", sa.Text),
                    sa.Column("outbox_depth", sa.Integer), sa.Column("last_faults", sa.Text),
                    sa.Column("heartbeat_count", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table("heartbeats", sa.Column("id", RowId, primary_key=True, autoincrement=True),
                    sa.Column("kiosk_id", sa.Text, nullable=False), sa.Column("received_at", Time, nullable=False),
                    sa.Column("body", sa.Text, nullable=False))
    op.create_index("heartbeats_by_time", "heartbeats", ["received_at"])
    op.create_table("applications", sa.Column("request_no", sa.Text, primary_key=True),
                    sa.Column("nik_hash", sa.Text, nullable=False), sa.Column("nik_masked", sa.Text, nullable=False),
                    sa.Column("name_masked", sa.Text, nullable=False),
                    sa.Column("phone_masked", sa.Text, nullable=False),
                    sa.Column("pin_hash", sa.Text, nullable=False), sa.Column("pin_expires_at", Time, nullable=False),
                    sa.Column("pin_used_at", Time), sa.Column("created_at", Time, nullable=False))
    op.create_index("applications_by_nik", "applications", ["nik_hash"])
    op.create_table("documents", sa.Column("id", sa.Text, primary_key=True),
                    sa.Column("request_no", sa.Text, sa.ForeignKey("applications.request_no"), nullable=False),
                    sa.Column("position", sa.Integer, nullable=False), sa.Column("kind", sa.Text, nullable=False),
                    sa.Column("media", sa.Text, nullable=False), sa.Column("title", sa.Text, nullable=False),
                    sa.Column("pages", sa.Integer, nullable=False), sa.Column("size", sa.Integer, nullable=False),
                    sa.Column("sha256", sa.Text, nullable=False),
                    sa.Column("sealed_pdf", sa.LargeBinary, nullable=False),
                    sa.Column("status", sa.Text, sa.CheckConstraint("status IN ('ready', 'reserved', 'printed')"),
                              nullable=False, server_default="ready"),
                    sa.Column("printed_at", Time))
    op.create_table("lockouts", sa.Column("subject", sa.Text, primary_key=True),
                    sa.Column("failures", sa.Integer, nullable=False),
                    sa.Column("last_failure_at", Time, nullable=False), sa.Column("locked_until", Time))
    op.create_table("sessions", sa.Column("session_id", sa.Text, primary_key=True),
                    sa.Column("kiosk_id", sa.Text, nullable=False), sa.Column("request_no", sa.Text, nullable=False),
                    sa.Column("created_at", Time, nullable=False), sa.Column("expires_at", Time, nullable=False),
                    sa.Column("ended_at", Time))
    op.create_table("jobs", sa.Column("job_id", sa.Text, primary_key=True),
                    sa.Column("document_id", sa.Text, nullable=False), sa.Column("session_id", sa.Text, nullable=False),
                    sa.Column("kiosk_id", sa.Text, nullable=False),
                    sa.Column("state", sa.Text, sa.CheckConstraint(
                        "state IN ('reserved', 'printing', 'printed', 'failed', 'lapsed')"), nullable=False),
                    sa.Column("created_at", Time, nullable=False), sa.Column("updated_at", Time, nullable=False))
    op.create_index("jobs_by_document", "jobs", ["document_id"])
    op.create_table("job_events", sa.Column("event_id", sa.Text, primary_key=True),
                    sa.Column("job_id", sa.Text, nullable=False), sa.Column("state", sa.Text, nullable=False),
                    sa.Column("at", sa.Text, nullable=False), sa.Column("reason", sa.Text),
                    sa.Column("detail", sa.Text), sa.Column("received_at", Time, nullable=False))
    op.create_table("config_envelopes", sa.Column("seq", RowId, primary_key=True, autoincrement=True),
                    sa.Column("target_kind", sa.Text, sa.CheckConstraint("target_kind IN ('kiosk', 'group')"),
                              nullable=False),
                    sa.Column("target_name", sa.Text, nullable=False), sa.Column("envelope", sa.Text, nullable=False),
                    sa.Column("etag", sa.Text, nullable=False), sa.Column("stored_at", Time, nullable=False),
                    sqlite_autoincrement=True)
    op.create_index("config_by_target", "config_envelopes", ["target_kind", "target_name"])
    op.create_table("config_reports", sa.Column("id", RowId, primary_key=True, autoincrement=True),
                    sa.Column("kiosk_id", sa.Text, nullable=False), sa.Column("version", sa.BigInteger, nullable=False),
                    sa.Column("result", sa.Text, nullable=False), sa.Column("reason", sa.Text),
                    sa.Column("received_at", Time, nullable=False))
    op.create_table("outbox_messages", sa.Column("id", RowId, primary_key=True, autoincrement=True),
                    sa.Column("request_no", sa.Text, nullable=False), sa.Column("to_masked", sa.Text, nullable=False),
                    sa.Column("sealed_message", sa.LargeBinary, nullable=False),
                    sa.Column("created_at", Time, nullable=False))


def _version_2(op: Operations, connection: sa.Connection) -> None:
    """What landed on `main` after the first release, before schema versions: the fleet page's
    daily counts and login sessions, remote-configuration rollouts and the stale flag. A
    database made by `main` in between holds some of it already, so each step looks first."""
    inspector = sa.inspect(connection)
    tables = set(inspector.get_table_names())
    if "kiosk_days" not in tables:
        op.create_table("kiosk_days", sa.Column("kiosk_id", sa.Text, primary_key=True),
                        sa.Column("day", sa.Text, primary_key=True), sa.Column("printed", sa.Integer, nullable=False),
                        sa.Column("failed", sa.Integer, nullable=False))
        op.create_index("kiosk_days_by_day", "kiosk_days", ["day"])
    if "heartbeats_by_kiosk" not in {index["name"] for index in inspector.get_indexes("heartbeats")}:
        op.create_index("heartbeats_by_kiosk", "heartbeats", ["kiosk_id", "received_at"])
    if "admin_sessions" not in tables:
        op.create_table("admin_sessions", sa.Column("session_hash", sa.Text, primary_key=True),
                        sa.Column("token_hash", sa.Text, nullable=False),
                        sa.Column("csrf_token", sa.Text, nullable=False),
                        sa.Column("created_at", Time, nullable=False), sa.Column("last_used_at", Time, nullable=False),
                        sa.Column("expires_at", Time, nullable=False))
    if "config_rollouts" not in tables:
        op.create_table("config_rollouts", sa.Column("rollout_id", sa.Text, primary_key=True),
                        sa.Column("body", sa.Text, nullable=False), sa.Column("updated_at", Time, nullable=False))
    if "config_stale" not in {column["name"] for column in inspector.get_columns("kiosks")}:
        op.add_column("kiosks", sa.Column("config_stale", sa.Integer))


def _version_3(op: Operations, _connection: sa.Connection) -> None:
    """A province: rate limits in the database, lockout escalation, token revocation,
    document review after a lapse, retention, and indexes for the per-kiosk views."""
    op.create_table("rate_limits", sa.Column("bucket", sa.Text, primary_key=True),
                    sa.Column("tokens", Time, nullable=False), sa.Column("updated_at", Time, nullable=False),
                    sa.Column("admitted", sa.Integer, nullable=False))
    op.add_column("applications", sa.Column("lock_periods", sa.Integer, nullable=False, server_default="0"))
    op.add_column("applications", sa.Column("pin_blocked_at", Time))
    op.add_column("kiosks", sa.Column("revoked_at", Time))
    op.add_column("documents", sa.Column("review_reason", sa.Text))
    op.add_column("documents", sa.Column("review_at", Time))
    op.add_column("documents", sa.Column("purged_at", Time))
    op.create_index("jobs_by_kiosk", "jobs", ["kiosk_id", "updated_at"])
    op.create_index("job_events_by_job", "job_events", ["job_id"])
    op.create_index("outbox_by_time", "outbox_messages", ["created_at"])


def _version_4(op: Operations, connection: sa.Connection) -> None:
    """The fleet page as indexed queries: what it filters and orders on is kept on the kiosk's
    row as heartbeats and configuration reports arrive (`dinas.fleet`), not worked out from
    every kiosk's last heartbeat on each view. Existing kiosks get theirs from what they last sent."""
    from . import fleet

    op.add_column("kiosks", sa.Column("beat_needs", sa.Integer, nullable=False, server_default="0"))
    op.add_column("kiosks", sa.Column("config_report", sa.Text))
    op.add_column("kiosks", sa.Column("config_report_id", sa.BigInteger))
    op.add_column("kiosks", sa.Column("needs_action", sa.Integer, nullable=False, server_default="0"))
    op.create_index("kiosks_needing_action", "kiosks", ["needs_action", "kiosk_id"])
    op.create_index("kiosks_by_group", "kiosks", ["grp", "kiosk_id"])
    op.create_index("kiosks_by_last_seen", "kiosks", ["last_seen"])
    op.create_index("config_reports_by_kiosk", "config_reports", ["kiosk_id", "id"])
    reports = {row.kiosk_id: row for row in connection.execute(sa.text(fleet.LATEST_REPORTS))}
    for row in connection.execute(sa.text("SELECT kiosk_id, devices, config_stale FROM kiosks")).all():
        report = reports.get(row.kiosk_id)
        beat_needs = fleet.beat_needs(json.loads(row.devices) if row.devices else {}, row.config_stale)
        result = report.result if report is not None else None
        connection.execute(sa.text(
            "UPDATE kiosks SET beat_needs = :beat, config_report = :result, config_report_id = :id, "
            "needs_action = :needs WHERE kiosk_id = :k"),
            {"beat": beat_needs, "result": result, "id": report.id if report is not None else None,
             "needs": int(beat_needs == 1 or result in fleet.CONFIG_FAILED), "k": row.kiosk_id})


Migration = Callable[[Operations, sa.Connection], None]
MIGRATIONS: list[Migration] = [_version_1, _version_2, _version_3, _version_4]
LATEST = len(MIGRATIONS)


def current_version(connection: sa.Connection) -> int:
    """0 for an empty database, 1 for a first-release one, else what `schema_version` says."""
    tables = set(sa.inspect(connection).get_table_names())
    if "schema_version" in tables:
        return int(connection.exec_driver_sql("SELECT version FROM schema_version").scalar() or 0)
    return 1 if "settings" in tables else 0


def migrate(database: Database) -> int:
    """Brings the database to `LATEST`; returns the version it was at. Safe to run from several
    processes at once: each step is one transaction and re-reads the version inside it."""
    if database.is_sqlite:
        with database.session() as connection:
            connection.raw.exec_driver_sql("PRAGMA journal_mode = WAL")
    with database.session() as connection:
        started = current_version(connection.raw)
    if started > LATEST:
        raise RuntimeError(f"{database.target} is at schema version {started}, newer than this server ({LATEST})")
    while True:
        with database.session() as connection:
            raw = connection.raw
            raw.exec_driver_sql(database._begin)
            connection.in_transaction = True
            if not database.is_sqlite:
                # Two servers starting on a new database: the second waits here, then sees
                # the version the first one reached.
                raw.exec_driver_sql("SELECT pg_advisory_xact_lock(7263010)")
            version = current_version(raw)
            if version >= LATEST:
                raw.exec_driver_sql("COMMIT")
                connection.in_transaction = False
                return started
            step = MIGRATIONS[version]
            step(Operations(MigrationContext.configure(raw)), raw)
            if version == 0 or "schema_version" not in sa.inspect(raw).get_table_names():
                raw.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                raw.exec_driver_sql("INSERT INTO schema_version (version) VALUES (0)")
            raw.execute(sa.text("UPDATE schema_version SET version = :v"), {"v": version + 1})
            raw.exec_driver_sql("COMMIT")
            connection.in_transaction = False
        log.info("database schema migrated to version %d", version + 1)
