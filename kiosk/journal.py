"""The kiosk's durable record: print jobs and their states, the outbox of events for the
dinas and daily counters, in one SQLite file. The same file holds the staff's ledger, the
technician audit trail and the supplies' refills (`audit`, `replenish`, `stock`): that half
is kiosk/journal_ledger.py, which Journal inherits. The records it hands out (Event,
JobRecord, `utc_iso`) are kiosk/journal_records.py's; import them from here, as before.

WAL with synchronous=FULL: each transition is on disk before the next step starts, so a
power cut leaves the journal saying exactly how far a print got. A job's state change, its
event for the dinas and its counters are written in one transaction: the event can never
be lost between them. No document bytes, PIN or full NIK are ever stored here.

Test hook: when the environment variable ADM_KIOSK_CRASH_AT names a transition (created,
reserved, sending, printed, failed, or delivered_printing / delivered_printed /
delivered_failed for the outbox marking that event delivered), the process kills itself with
SIGKILL right after that write is committed (`device_job`: after the print server's job id
is journaled); `sent` (in the orchestrator) kills it after the
printer finished but before `printed` is written. The crash-consistency tests use it; it is
inert otherwise.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from .journal_ledger import MAINTENANCE_KIND, StaffLedger  # noqa: F401 - MAINTENANCE_KIND is part of this API
from .journal_records import Event, JobRecord, dump_json, load_json, utc_iso  # noqa: F401 - utc_iso is part of this API
from .journal_schema import DELIVERED_CLAUSE, FINISHED_CLAUSE, OPEN_CLAUSE, PENDING_CLAUSE, upgrade
from .journal_tx import JournalWriteError, WriteTransaction  # noqa: F401 - JournalWriteError is part of this API
from .storage import RESERVE_FILE, Reserve
from .supplies import CARDS_SPOILED, TEST_CARDS  # noqa: F401 - the counters' names, as before

log = logging.getLogger(__name__)

CRASH_ENV = "ADM_KIOSK_CRASH_AT"
JOURNAL_FILE = "journal.sqlite"             # in the kiosk's state_dir

# Job states in the order a print goes through them.
CREATED, RESERVED, SENDING, PRINTED, FAILED = "created", "reserved", "sending", "printed", "failed"
OPEN_STATES = (CREATED, RESERVED, SENDING)
PRUNE_BATCH = 5000                          # rows per retention transaction
# SQLite's page cache for the journal's one connection, in KiB. SQLite's default (2,000 KiB)
# fills slowly as the journal grows (new jobs land on random pages of the job_id indexes), so
# resident memory crept up by 0.5 MB every 500 sessions until the bound, weeks into a kiosk's
# life (docs/PERFORMANCE.md, "Memory over the soak"). The hot queries read a few pages of
# their partial indexes, and a page not in the cache comes from the OS's file cache in
# microseconds, against the millisecond fsync of every write: 256 KiB (64 pages) holds the
# working set and fills within the first couple of hundred sessions.
PAGE_CACHE_KIB = 256


def journal_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / JOURNAL_FILE


def local_day() -> str:
    """The day counters are kept under: the kiosk's local day, as the staff count."""
    return datetime.now().strftime("%Y-%m-%d")


def crash_point(transition: str) -> None:
    """The crash-test hook: die at once, as a power cut would, right after `transition`."""
    if os.environ.get(CRASH_ENV) == transition:
        os.kill(os.getpid(), signal.SIGKILL)


class Journal(StaffLedger):
    """Thread-safe: one connection behind a lock (the writes are small and few).

    When a write fails it raises JournalWriteError, after calling `on_write_failed(error)`
    and, for a write that carried an event for the dinas, `on_unwritten_event(event)`: the
    runtime delivers such an event from memory (kiosk.outbox.Outbox.hold) so that no dinas
    job is left without it. Before each write, the reserve (kiosk.storage.Reserve) gives its
    space back if the folder is nearly full, so that the writes in progress still fit.
    The audit trail and the supply stock are StaffLedger's (kiosk.journal_ledger)."""

    on_write_failed: Callable[[Exception], None] | None = None
    on_unwritten_event: Callable[[Event], None] | None = None

    def __init__(self, path: str | Path, *, stand_in_for: str | None = None) -> None:
        self.path = Path(path)
        self.unavailable = stand_in_for          # why the real journal could not be opened
        self.reserve = Reserve(self.path.parent / RESERVE_FILE)
        self._lock = threading.RLock()
        if stand_in_for is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.reserve.ensure()
        self._db = sqlite3.connect(":memory:" if stand_in_for else str(self.path), isolation_level=None,
                                   check_same_thread=False, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        upgrade(self._db)
        if stand_in_for is None:
            os.chmod(self.path, 0o600)

    @classmethod
    def stand_in(cls, path: str | Path, reason: str) -> Journal:
        """An empty journal in memory for a kiosk whose journal at `path` cannot be opened (a
        read-only or failing state folder): the kiosk can start, show why it is out of
        service and report it, and prints nothing until restarted on a healthy folder."""
        return cls(path, stand_in_for=reason)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- writing ---------------------------------------------------------------------------
    def _transaction(self, event: Event | None = None) -> WriteTransaction:
        return WriteTransaction(self, event)

    def _write_failed(self, error: Exception, event: Event | None) -> None:
        log.error("journal write failed: %s", error)
        for hook, arg in ((self.on_unwritten_event, event), (self.on_write_failed, error)):
            if hook is not None and arg is not None:
                try:
                    hook(arg)
                except Exception:  # noqa: BLE001 - the caller must still hear of the failure
                    log.exception("journal write-failure hook failed")

    def create_job(self, job_id: str, document_id: str, kind: str, role: str) -> None:
        now = time.time()
        with self._transaction() as db:
            db.execute("INSERT INTO jobs (job_id, document_id, kind, role, state, created_at, updated_at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", (job_id, document_id, kind, role, CREATED, now, now))
            db.execute("INSERT INTO job_history (job_id, state, at) VALUES (?, ?, ?)", (job_id, CREATED, now))
        crash_point(CREATED)

    def transition(self, job_id: str, state: str, *, reason: str | None = None,
                   counters_before: Mapping[str, int] | None = None,
                   counters_after: Mapping[str, int] | None = None,
                   review: bool = False, event: Event | None = None,
                   count: Mapping[str, int] | None = None) -> None:
        """Move a job on, with its outbox event and counter increments, in one transaction."""
        now = time.time()
        with self._transaction(event) as db:
            row = db.execute("SELECT kind FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(f"unknown job {job_id}")
            db.execute(
                "UPDATE jobs SET state = ?, reason = ?, review = MAX(review, ?),"
                " counters_before = COALESCE(?, counters_before),"
                " counters_after = COALESCE(?, counters_after), updated_at = ? WHERE job_id = ?",
                (state, reason, int(review), dump_json(counters_before), dump_json(counters_after), now, job_id))
            db.execute("INSERT INTO job_history (job_id, state, reason, at) VALUES (?, ?, ?, ?)",
                       (job_id, state, reason, now))
            if event is not None:
                self._enqueue(db, event)
            for name, amount in (count or {}).items():
                self._count(db, row[0], name, amount)
        crash_point(state)

    def note_device_job(self, job_id: str, ref: Mapping[str, Any]) -> None:
        """The print server accepted the job and gave it an id of its own (`ref`, JSON-able):
        on disk before the kiosk waits for the print, so recovery can ask about that job."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET device_job = ? WHERE job_id = ?", (dump_json(ref), job_id))
        crash_point("device_job")

    def enqueue(self, event: Event) -> None:
        with self._transaction(event) as db:
            self._enqueue(db, event)

    def count(self, kind: str, name: str, amount: int = 1) -> None:
        with self._transaction() as db:
            self._count(db, kind, name, amount)

    @staticmethod
    def _enqueue(db: sqlite3.Connection, event: Event) -> None:
        db.execute("INSERT INTO outbox (event_id, job_id, state, at, reason, detail) VALUES (?, ?, ?, ?, ?, ?)",
                   (event.event_id, event.job_id, event.state, event.at, event.reason, dump_json(event.detail)))

    @staticmethod
    def _count(db: sqlite3.Connection, kind: str, name: str, amount: int) -> None:
        day = local_day()
        db.execute("INSERT INTO counters (day, kind, counter, value) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT (day, kind, counter) DO UPDATE SET value = value + excluded.value",
                   (day, kind, name, amount))

    # --- the outbox, for kiosk.outbox --------------------------------------------------------
    def next_event(self) -> Event | None:
        """The oldest undelivered event: delivery is strictly in order."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq, event_id, job_id, state, at, reason, detail, attempts, next_attempt_at"
                f" FROM outbox WHERE {PENDING_CLAUSE} ORDER BY seq LIMIT 1").fetchone()
        if row is None:
            return None
        return Event(seq=row[0], event_id=row[1], job_id=row[2], state=row[3], at=row[4],
                     reason=row[5], detail=load_json(row[6]), attempts=row[7])

    def next_attempt_at(self, seq: int) -> float:
        with self._lock:
            row = self._db.execute("SELECT next_attempt_at FROM outbox WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else 0.0

    def mark_delivered(self, seq: int, outcome: str = "accepted") -> None:
        with self._transaction() as db:
            db.execute("UPDATE outbox SET delivered_at = ?, outcome = ?, attempts = attempts + 1 WHERE seq = ?",
                       (time.time(), outcome, seq))
            row = db.execute("SELECT state FROM outbox WHERE seq = ?", (seq,)).fetchone()
        crash_point(f"delivered_{row[0] if row else ''}")

    def mark_attempt_failed(self, seq: int, error: str, retry_at: float) -> None:
        with self._transaction() as db:
            db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
                       " WHERE seq = ?", (error, retry_at, seq))

    def outbox_depth(self) -> int:
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM outbox WHERE {PENDING_CLAUSE}").fetchone()[0]

    def outbox_summary(self) -> dict[str, Any]:
        """{depth, oldest_at, oldest_attempts, last_error} of the events still to deliver
        (the index on pending rows keeps this cheap at any journal size)."""
        with self._lock:
            depth = self._db.execute(f"SELECT COUNT(*) FROM outbox WHERE {PENDING_CLAUSE}").fetchone()[0]
            oldest = self._db.execute(f"SELECT at, attempts FROM outbox WHERE {PENDING_CLAUSE}"
                                      " ORDER BY seq LIMIT 1").fetchone()
            error = self._db.execute(f"SELECT last_error FROM outbox WHERE {PENDING_CLAUSE}"
                                     " AND last_error IS NOT NULL ORDER BY seq DESC LIMIT 1").fetchone()
        return {"depth": depth, "oldest_at": oldest[0] if oldest else None,
                "oldest_attempts": oldest[1] if oldest else 0, "last_error": error[0] if error else None}

    def outbox_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute("SELECT seq, event_id, job_id, state, reason, attempts, last_error,"
                                      " delivered_at, outcome FROM outbox ORDER BY seq")
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    # --- retention ---------------------------------------------------------------------------
    def prune(self, older_than_s: float, *, now: float | None = None, batch: int = PRUNE_BATCH) -> dict[str, int]:
        """Drop finished jobs (with their history) last changed more than `older_than_s`
        ago and events delivered as long ago. Never an open job, nor a job with an event
        still to deliver. The day counters, the audit trail and the supply stock stay: they
        are small and are the kiosk's lasting record. Short transactions of `batch` rows,
        so a first prune of years of jobs never holds up a print for long."""
        cutoff = (time.time() if now is None else now) - older_than_s
        removed = {"jobs": 0, "history": 0, "events": 0}
        while True:
            with self._transaction() as db:
                ids = [row[0] for row in db.execute(
                    f"SELECT job_id FROM jobs WHERE {FINISHED_CLAUSE} AND updated_at < ? AND job_id NOT IN"
                    f" (SELECT job_id FROM outbox WHERE {PENDING_CLAUSE}) LIMIT ?", (cutoff, batch))]
                marks = ",".join("?" * len(ids))
                if ids:
                    removed["history"] += db.execute(f"DELETE FROM job_history WHERE job_id IN ({marks})",
                                                      ids).rowcount
                    removed["jobs"] += db.execute(f"DELETE FROM jobs WHERE job_id IN ({marks})", ids).rowcount
                events = db.execute(
                    f"DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE {DELIVERED_CLAUSE}"
                    " AND delivered_at < ? LIMIT ?)", (cutoff, batch)).rowcount
                removed["events"] += events
            if len(ids) < batch and events < batch:
                return removed

    # --- reading -----------------------------------------------------------------------------
    def job(self, job_id: str) -> JobRecord | None:
        return next(self._jobs("WHERE job_id = ?", (job_id,)), None)

    def open_jobs(self) -> list[JobRecord]:
        return list(self._jobs(f"WHERE {OPEN_CLAUSE} ORDER BY created_at", ()))

    def jobs(self) -> list[JobRecord]:
        return list(self._jobs("ORDER BY created_at", ()))

    def history(self, job_id: str) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT state FROM job_history WHERE job_id = ? ORDER BY id",
                                    (job_id,)).fetchall()
        return [r[0] for r in rows]

    def counters(self, day: str | None = None) -> dict[str, dict[str, int]]:
        """{kind: {name: value}} for one day (today by default)."""
        day = day or local_day()
        with self._lock:
            rows = self._db.execute("SELECT kind, counter, value FROM counters WHERE day = ?", (day,)).fetchall()
        result: dict[str, dict[str, int]] = {}
        for kind, name, value in rows:
            result.setdefault(kind, {})[name] = value
        return result

    def counters_by_day(self) -> dict[str, dict[str, dict[str, int]]]:
        """{day: {kind: {name: value}}} for every day on record (exports, reports)."""
        with self._lock:
            rows = self._db.execute("SELECT day, kind, counter, value FROM counters ORDER BY day").fetchall()
        result: dict[str, dict[str, dict[str, int]]] = {}
        for day, kind, name, value in rows:
            result.setdefault(day, {}).setdefault(kind, {})[name] = value
        return result

    def _jobs(self, where: str, args: tuple) -> Iterator[JobRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT job_id, document_id, kind, role, state, reason, review, counters_before,"
                f" counters_after, device_job FROM jobs {where}", args).fetchall()
        for r in rows:
            yield JobRecord(job_id=r[0], document_id=r[1], kind=r[2], role=r[3], state=r[4], reason=r[5],
                            review=bool(r[6]), counters_before=load_json(r[7]), counters_after=load_json(r[8]),
                            device_job=load_json(r[9]))
