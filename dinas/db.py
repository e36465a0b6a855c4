"""The one SQLite file: schema, connections and transactions.

WAL lets the heartbeat writes and the kiosks' reads go on together; every request opens its
own connection, and anything that reads then writes (PIN tries, reservations) runs inside
`BEGIN IMMEDIATE` so two kiosks cannot both win the same document.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
from typing import Any, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('admin', 'kiosk')),
    kiosk_id TEXT,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS kiosks (
    kiosk_id TEXT PRIMARY KEY,
    grp TEXT,
    created_at REAL NOT NULL,
    last_seen REAL,
    software_version TEXT,
    config_version INTEGER,
    uptime_s REAL,
    devices TEXT,
    counters TEXT,
    outbox_depth INTEGER,
    last_faults TEXT,
    heartbeat_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS heartbeats (
    id INTEGER PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS heartbeats_by_time ON heartbeats (received_at);
CREATE TABLE IF NOT EXISTS applications (
    request_no TEXT PRIMARY KEY,
    nik_hash TEXT NOT NULL,
    nik_masked TEXT NOT NULL,
    name_masked TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    pin_expires_at REAL NOT NULL,
    pin_used_at REAL,
    created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS applications_by_nik ON applications (nik_hash);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    request_no TEXT NOT NULL REFERENCES applications (request_no),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    media TEXT NOT NULL,
    title TEXT NOT NULL,
    pages INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    sealed_pdf BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'reserved', 'printed')),
    printed_at REAL);
CREATE TABLE IF NOT EXISTS lockouts (
    subject TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at REAL NOT NULL,
    locked_until REAL);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    request_no TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    ended_at REAL);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    kiosk_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('reserved', 'printing', 'printed', 'failed', 'lapsed')),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_by_document ON jobs (document_id);
CREATE TABLE IF NOT EXISTS job_events (
    event_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    state TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT,
    detail TEXT,
    received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS config_envelopes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('kiosk', 'group')),
    target_name TEXT NOT NULL,
    envelope TEXT NOT NULL,
    etag TEXT NOT NULL,
    stored_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS config_by_target ON config_envelopes (target_kind, target_name);
CREATE TABLE IF NOT EXISTS config_reports (
    id INTEGER PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    result TEXT NOT NULL,
    reason TEXT,
    received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS kiosk_days (
    kiosk_id TEXT NOT NULL,
    day TEXT NOT NULL,
    printed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    PRIMARY KEY (kiosk_id, day));
CREATE INDEX IF NOT EXISTS kiosk_days_by_day ON kiosk_days (day);
CREATE INDEX IF NOT EXISTS heartbeats_by_kiosk ON heartbeats (kiosk_id, received_at);
CREATE TABLE IF NOT EXISTS admin_sessions (
    session_hash TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_used_at REAL NOT NULL,
    expires_at REAL NOT NULL);
-- remote configuration (issue 10): staged rollouts, their progress as one JSON document each.
CREATE TABLE IF NOT EXISTS config_rollouts (
    rollout_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_messages (
    id INTEGER PRIMARY KEY,
    request_no TEXT NOT NULL,
    to_masked TEXT NOT NULL,
    sealed_message BLOB NOT NULL,
    created_at REAL NOT NULL);
"""


def connect(db_path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(db_path, timeout=10.0, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA busy_timeout = 10000")
    connection.execute("PRAGMA foreign_keys = ON")
    # NORMAL is durable across a process crash in WAL mode; fsync per commit is not needed here.
    connection.execute("PRAGMA synchronous = NORMAL")
    # Freed pages are zeroed, so nothing deleted lingers in the file.
    connection.execute("PRAGMA secure_delete = ON")
    return connection


class ConnectionPool:
    """Open connections kept for reuse. Opening one per request costs a millisecond, and
    closing the last one makes SQLite checkpoint and delete the WAL (an fsync each time)."""

    def __init__(self, db_path: str, size: int = 16) -> None:
        self._db_path = db_path
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue(maxsize=size)

    def take(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return connect(self._db_path)

    def give_back(self, connection: sqlite3.Connection) -> None:
        if connection.in_transaction:       # a request that died mid-transaction
            connection.execute("ROLLBACK")
        try:
            self._idle.put_nowait(connection)
        except queue.Full:
            connection.close()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def initialise(db_path: str) -> None:
    connection = connect(db_path)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.executescript(SCHEMA)
        # remote configuration (issue 10): a column added after the first release.
        columns = {row["name"] for row in connection.execute("PRAGMA table_info(kiosks)")}
        if "config_stale" not in columns:
            connection.execute("ALTER TABLE kiosks ADD COLUMN config_stale INTEGER")
    finally:
        connection.close()


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def get_setting(connection: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = connection.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row["value"] if row else default


def put_setting(connection: sqlite3.Connection, key: str, value: Any) -> None:
    connection.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, str(value)))
