"""The journal's tables and their versioned upgrades (`PRAGMA user_version`).

A kiosk keeps its journal for years and is updated in place, so the schema is a list of
steps: step N takes a journal at version N-1 to version N, in one transaction with the
version bump, so a power cut mid-upgrade leaves the old version whole and the next start
runs the step again. A journal written before versioning (tables present, user_version 0)
is version 1. A journal newer than this software (an update rolled back) is refused with a
clear error rather than written by code that does not know its columns.

The hot queries (the outbox every few seconds, the heartbeat every minute, recovery at
start) filter on few rows out of many: open jobs, undelivered events. Their indexes are
partial, so they stay as small as what they find, however many finished rows the journal
holds. A query only uses a partial index when its WHERE clause repeats the index's, so the
clauses are constants here and the journal's queries use the same strings.
"""

from __future__ import annotations

import sqlite3

OPEN_CLAUSE = "state IN ('created', 'reserved', 'sending')"
FINISHED_CLAUSE = "state IN ('printed', 'failed')"
PENDING_CLAUSE = "delivered_at IS NULL"
DELIVERED_CLAUSE = "delivered_at IS NOT NULL"

_V1_TABLES = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    review INTEGER NOT NULL DEFAULT 0,
    counters_before TEXT,
    counters_after TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS job_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    job_id TEXT NOT NULL,
    state TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT,
    detail TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at REAL,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS counters (
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    counter TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (day, kind, counter)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS card_stock (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    loaded INTEGER NOT NULL,
    used_before INTEGER NOT NULL
);
"""

_V2_INDEXES = f"""
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (created_at) WHERE {OPEN_CLAUSE};
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (updated_at) WHERE {FINISHED_CLAUSE};
CREATE INDEX IF NOT EXISTS job_history_by_job ON job_history (job_id);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE {PENDING_CLAUSE};
CREATE INDEX IF NOT EXISTS outbox_delivered ON outbox (delivered_at) WHERE {DELIVERED_CLAUSE};
CREATE INDEX IF NOT EXISTS counters_by_name ON counters (counter, kind, value);
"""

# The print server's own id for a job (an IPP job id and printer URI, as JSON), journaled the
# moment the server accepts it: recovery asks the server about exactly that job.
_V3_DEVICE_JOB = "ALTER TABLE jobs ADD COLUMN device_job TEXT"

# Every supply the kiosk keeps a record of refills of (kiosk/supplies.py), in one table: the
# card_stock rows move in as `cards` and the old table goes. `loaded` and `used_before` are
# NULL for a supply only recorded, not counted (the ribbon, A4 paper); `actor` is the PIN slot.
_V4_SUPPLY_STOCK = """
CREATE TABLE supply_stock (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    supply TEXT NOT NULL,
    at REAL NOT NULL,
    loaded INTEGER,
    used_before INTEGER,
    actor TEXT
);
INSERT INTO supply_stock (supply, at, loaded, used_before) SELECT 'cards', at, loaded, used_before FROM card_stock ORDER BY id;
DROP TABLE card_stock;
CREATE INDEX supply_stock_latest ON supply_stock (supply, id);
"""

# STEPS[n - 1] takes a journal from version n - 1 to n. Append only; never edit a shipped step.
STEPS: tuple[str, ...] = (
    _V1_TABLES,        # 1: the first journal
    _V2_INDEXES,       # 2: indexes for the hot queries and for retention
    _V3_DEVICE_JOB,    # 3: jobs.device_job
    _V4_SUPPLY_STOCK,  # 4: card_stock becomes supply_stock (cards, receipt paper, refills recorded)
)
VERSION = len(STEPS)


class JournalVersionError(RuntimeError):
    """The journal was written by a newer version of the kiosk software."""


def version_of(db: sqlite3.Connection) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == 0 and db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").fetchone():
        return 1                # written before the schema was versioned
    return version


def upgrade(db: sqlite3.Connection, target: int = VERSION) -> list[int]:
    """Bring the journal to `target`, one step per transaction; the steps run (maybe none).
    `db` is in autocommit mode (isolation_level None)."""
    current = version_of(db)
    if current > VERSION:
        raise JournalVersionError(f"the journal is at schema version {current}; this software knows up to "
                                  f"{VERSION}. Install the newer software again, or move the journal aside.")
    ran = []
    for version in range(current + 1, target + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(STEPS[version - 1]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        ran.append(version)
    return ran


def _statements(script: str) -> list[str]:
    """A step's statements, one by one (executescript would commit the open transaction)."""
    return [s.strip() for s in script.split(";") if s.strip()]
