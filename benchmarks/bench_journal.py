"""The journal after years of use: the hot queries at 1k, 50k and 200k finished jobs.

    python -m benchmarks bench_journal                  # 1,000 / 50,000 / 200,000 jobs
    python -m benchmarks.bench_journal --jobs 1000 5000 # other sizes

For each size, a journal is built as the kiosk would have written it over the years (100
prints a day, every job with its history and two delivered events, the day counters, a few
jobs still open and two events waiting), first in the unversioned schema of old (no
indexes), where the queries the outbox and the heartbeat run all day are timed; then it is
opened by `Journal` (the versioned upgrade adds the indexes: its time is reported), the same
queries are timed again, and retention (`retention_days`, 90) is run and timed once. Built
with bulk inserts in one transaction, so the 200k journal takes seconds, not minutes.

Budget: every hot query ≤ 1 ms (median) at every size after the upgrade, i.e. flat.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from kiosk import journal_schema
from kiosk.journal import Journal

BUDGET_MS = 1.0
PER_DAY = 100
RETENTION_DAYS = 90
DAY = 24 * 3600.0


def build(path: Path, jobs: int, now: float) -> None:
    """A pre-versioning journal (schema step 1 only) holding `jobs` finished jobs."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")        # the build only; the kiosk writes with FULL
    db.executescript(journal_schema.STEPS[0])
    span = jobs / PER_DAY * DAY
    job_rows, history_rows, event_rows, counters = [], [], [], {}
    for n in range(jobs):
        at = now - span + n * span / jobs
        job_id = str(uuid.UUID(int=n))
        kind, role = ("KIA", "card_printer") if n % 3 else ("KK", "a4_printer")
        state = "failed" if n % 20 == 0 else "printed"
        job_rows.append((job_id, f"doc-{n}", kind, role, state, json.dumps({"cards_inserted": n}), at, at + 30))
        history_rows.extend((job_id, s, at + i) for i, s in enumerate(("created", "reserved", "sending", state)))
        event_rows.append((f"{job_id}-1", job_id, "printing", "t", at + 31))
        event_rows.append((f"{job_id}-2", job_id, state, "t", at + 32))
        day = time.strftime("%Y-%m-%d", time.localtime(at))
        counters[(day, kind, state)] = counters.get((day, kind, state), 0) + 1
    with db:
        db.executemany("INSERT INTO jobs (job_id, document_id, kind, role, state, counters_before, created_at,"
                       " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", job_rows)
        db.executemany("INSERT INTO job_history (job_id, state, at) VALUES (?, ?, ?)", history_rows)
        db.executemany("INSERT INTO outbox (event_id, job_id, state, at, delivered_at, outcome, attempts)"
                       " VALUES (?, ?, ?, ?, ?, 'accepted', 1)", event_rows)
        db.executemany("INSERT INTO counters (day, kind, counter, value) VALUES (?, ?, ?, ?)",
                       [(*key, value) for key, value in counters.items()])
        for n, state in enumerate(("created", "reserved", "sending")):       # what a live kiosk has open
            job_id = f"open-{n}"
            db.execute("INSERT INTO jobs (job_id, document_id, kind, role, state, created_at, updated_at)"
                       " VALUES (?, ?, 'KIA', 'card_printer', ?, ?, ?)", (job_id, f"doc-open-{n}", state, now, now))
        db.execute("INSERT INTO outbox (event_id, job_id, state, at) VALUES ('p1', 'open-2', 'printing', 't')")
        db.execute("INSERT INTO card_stock (at, loaded, used_before) VALUES (?, 500, 0)", (now,))
    db.close()


class _OldJournal(Journal):
    """`Journal`'s queries on a journal without the indexes (what main measured). The
    columns the queries read since are added for the measurement and dropped afterwards,
    so the real upgrade then starts from the old journal as it was."""

    ADDED = ("device_job",)

    def __init__(self, path: Path) -> None:  # noqa: D107 - skips the upgrade on purpose
        import threading
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        for column in self.ADDED:
            self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} TEXT")
        # card_stock as schema step 4 moves it, for `stock` to read; dropped again on close.
        self._db.execute("CREATE TABLE supply_stock AS SELECT id, 'cards' AS supply, at, loaded, used_before,"
                         " NULL AS actor FROM card_stock")

    def close(self) -> None:
        for column in self.ADDED:
            self._db.execute(f"ALTER TABLE jobs DROP COLUMN {column}")
        self._db.execute("DROP TABLE supply_stock")
        self._db.close()


QUERIES = {
    "open_jobs": lambda j: j.open_jobs(),
    "outbox_depth": lambda j: j.outbox_depth(),
    "next_event": lambda j: j.next_event(),
    "card_stock": lambda j: j.stock("cards"),
    "counters": lambda j: j.counters(),
}


def timed(journal: Journal, repeat: int) -> dict[str, float]:
    result = {}
    for name, query in QUERIES.items():
        query(journal)                          # warm the page cache, as a running kiosk has it
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            query(journal)
            samples.append((time.perf_counter() - start) * 1000)
        result[name] = statistics.median(samples)
    return result


def run(jobs: int, directory: Path) -> dict:
    path = directory / f"journal-{jobs}.sqlite"
    now = time.time()
    start = time.perf_counter()
    build(path, jobs, now)
    built_s = time.perf_counter() - start
    old = _OldJournal(path)
    before = timed(old, 5 if jobs > 10_000 else 50)
    old.close()
    start = time.perf_counter()
    journal = Journal(path)
    upgrade_s = time.perf_counter() - start
    after = timed(journal, 200)
    size_mb = os.path.getsize(path) / 1e6
    start = time.perf_counter()
    removed = journal.prune(RETENTION_DAYS * DAY)
    prune_s = time.perf_counter() - start
    pruned = timed(journal, 200)
    journal.close()
    return {"jobs": jobs, "built_s": built_s, "upgrade_s": upgrade_s, "prune_s": prune_s, "size_mb": size_mb,
            "removed": removed["jobs"], "before": before, "after": after, "pruned": pruned}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1_000, 50_000, 200_000])
    args = parser.parse_args(argv)
    over = []
    with tempfile.TemporaryDirectory(prefix="adm-bench-journal-") as tmp:
        for jobs in args.jobs:
            r = run(jobs, Path(tmp))
            print(f"{jobs:>7,} jobs  {r['size_mb']:6.1f} MB  built {r['built_s']:5.1f} s  "
                  f"upgrade {r['upgrade_s'] * 1000:6.0f} ms  retention {r['prune_s'] * 1000:6.0f} ms "
                  f"({r['removed']:,} jobs older than {RETENTION_DAYS} days removed)")
            for name in QUERIES:
                print(f"    {name:<13} no indexes {r['before'][name]:8.3f} ms   indexed {r['after'][name]:6.3f} ms"
                      f"   after retention {r['pruned'][name]:6.3f} ms")
                if r["after"][name] > BUDGET_MS:
                    over.append(f"{name} at {jobs:,} jobs: {r['after'][name]:.3f} ms")
            print(flush=True)
    if over:
        print(f"over the {BUDGET_MS} ms budget: " + "; ".join(over))
        return 1
    print(f"every hot query within {BUDGET_MS} ms at every size")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
