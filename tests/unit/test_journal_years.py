"""Years of use: the versioned schema upgrade of an existing journal, the indexes the hot
queries use (checked with SQLite's own query plans), and retention that keeps open work,
undelivered events and the day counters."""

from __future__ import annotations

import sqlite3
import time

import pytest

from kiosk import journal_schema
from kiosk.housekeeping import DAY_S, Housekeeping
from kiosk.journal import Event, Journal

DAY = 24 * 3600


def finished_job(journal: Journal, job_id: str, state: str = "printed", kind: str = "KIA") -> None:
    journal.create_job(job_id, f"doc-{job_id}", kind, "card_printer")
    journal.transition(job_id, "sending", event=Event.new(job_id, "printing"))
    journal.transition(job_id, state, event=Event.new(job_id, state), count={state: 1})


def deliver_all(journal: Journal, job_id: str | None = None) -> None:
    for row in journal.outbox_rows():
        if row["delivered_at"] is None and job_id in (None, row["job_id"]):
            journal.mark_delivered(row["seq"])


def age(journal: Journal, days: float) -> None:
    """Make everything written so far `days` old, as if the kiosk had been running that long."""
    shift = days * DAY
    with journal._transaction() as db:
        db.execute("UPDATE jobs SET created_at = created_at - ?, updated_at = updated_at - ?", (shift, shift))
        db.execute("UPDATE outbox SET delivered_at = delivered_at - ? WHERE delivered_at IS NOT NULL", (shift,))


def write_v1_journal(path) -> None:
    """A journal as main wrote it before the schema was versioned: the tables, no indexes,
    user_version 0, one finished and one open job."""
    db = sqlite3.connect(path)
    db.executescript(journal_schema.STEPS[0])
    now = time.time()
    for job_id, state in (("old", "printed"), ("open", "sending")):
        db.execute("INSERT INTO jobs (job_id, document_id, kind, role, state, created_at, updated_at)"
                   " VALUES (?, ?, 'KK', 'a4_printer', ?, ?, ?)", (job_id, f"doc-{job_id}", state, now, now))
    db.execute("INSERT INTO outbox (event_id, job_id, state, at) VALUES ('e1', 'open', 'printing', 'now')")
    db.execute("INSERT INTO counters VALUES ('2024-01-02', 'KK', 'printed', 5)")
    db.commit()
    db.close()


def index_names(journal: Journal) -> set[str]:
    return {r[0] for r in journal._db.execute("SELECT name FROM sqlite_master WHERE type = 'index'"
                                              " AND sql IS NOT NULL")}


def plan(journal: Journal, sql: str, args: tuple = ()) -> str:
    return " | ".join(row[3] for row in journal._db.execute("EXPLAIN QUERY PLAN " + sql, args))


def test_a_new_journal_is_at_the_latest_version_with_its_indexes(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    assert journal._db.execute("PRAGMA user_version").fetchone()[0] == journal_schema.VERSION
    assert {"jobs_open", "outbox_pending", "job_history_by_job"} <= index_names(journal)


def test_an_unversioned_journal_from_main_is_upgraded_in_place_keeping_everything(tmp_path):
    path = tmp_path / "j.sqlite"
    write_v1_journal(path)
    db = sqlite3.connect(path)
    assert journal_schema.version_of(db) == 1
    assert journal_schema.upgrade(db) == list(range(2, journal_schema.VERSION + 1))
    assert journal_schema.upgrade(db) == []           # a second start has nothing to do
    db.close()
    journal = Journal(path)
    assert [j.job_id for j in journal.open_jobs()] == ["open"]
    assert journal.job("old").state == "printed"
    assert journal.next_event().event_id == "e1"
    assert journal.counters("2024-01-02") == {"KK": {"printed": 5}}
    assert "jobs_open" in index_names(journal)


def test_a_journal_from_newer_software_is_refused_untouched(tmp_path):
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {journal_schema.VERSION + 1}")
    db.close()
    with pytest.raises(journal_schema.JournalVersionError, match="newer software"):
        Journal(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == journal_schema.VERSION + 1


def test_a_step_that_fails_leaves_the_journal_at_its_old_version(tmp_path, monkeypatch):
    path = tmp_path / "j.sqlite"
    write_v1_journal(path)
    monkeypatch.setattr(journal_schema, "STEPS", (*journal_schema.STEPS[:1],
                                                  "CREATE INDEX a ON jobs (state); CREATE INDEX broken ON nowhere (x)"))
    db = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        journal_schema.upgrade(db, target=2)
    assert journal_schema.version_of(db) == 1
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'a'").fetchone() is None   # rolled back


def journal_sql(journal: Journal, call) -> list[str]:
    """The statements the journal itself runs for `call()` (its own SQL, not a copy)."""
    seen: list[str] = []
    journal._db.set_trace_callback(seen.append)
    try:
        call()
    finally:
        journal._db.set_trace_callback(None)
    return [s for s in seen if s.lstrip().upper().startswith("SELECT")]


@pytest.mark.parametrize("query, index", [
    (Journal.open_jobs, "jobs_open"),
    (Journal.next_event, "outbox_pending"),
    (Journal.outbox_depth, "outbox_pending"),
    (lambda j: j.history("job-1"), "job_history_by_job"),
])
def test_the_hot_queries_use_their_indexes(tmp_path, query, index):
    journal = Journal(tmp_path / "j.sqlite")
    finished_job(journal, "job-1")
    [sql] = journal_sql(journal, lambda: query(journal))
    steps = plan(journal, sql)
    assert f"INDEX {index}" in steps and "SCAN jobs\n" not in steps + "\n", steps
    assert not any(step in ("SCAN jobs", "SCAN outbox", "SCAN job_history") for step in steps.split(" | ")), steps


def test_retention_drops_old_finished_work_and_keeps_open_jobs_pending_events_and_counters(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    finished_job(journal, "old-printed")
    finished_job(journal, "old-failed", "failed")
    deliver_all(journal)
    finished_job(journal, "old-undelivered")           # its `printed` event never got through
    journal.create_job("old-open", "doc-open", "KK", "a4_printer")
    age(journal, 100)
    finished_job(journal, "recent")
    deliver_all(journal, "recent")
    counters_before = journal.counters_by_day()

    removed = journal.prune(90 * DAY, batch=2)         # small batches: the loop must go round
    assert removed["jobs"] == 2 and removed["history"] == 6
    assert {j.job_id for j in journal.jobs()} == {"old-undelivered", "old-open", "recent"}
    assert journal.history("old-printed") == []
    assert journal.history("old-undelivered") == ["created", "sending", "printed"]
    assert [j.job_id for j in journal.open_jobs()] == ["old-open"]
    rows = journal.outbox_rows()
    # old delivered events gone; recent ones and undelivered ones kept
    assert {(r["job_id"], r["delivered_at"] is None) for r in rows} == {
        ("recent", False), ("old-undelivered", True)}
    assert counters_before == journal.counters_by_day()
    assert journal.prune(90 * DAY) == {"jobs": 0, "history": 0, "events": 0}


def test_housekeeping_prunes_at_start_and_once_a_day_and_never_during_a_session(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    now = [1000.0]
    serving = [False]
    chores = Housekeeping(journal, in_session=lambda: serving[0], retention_days=30, clock=lambda: now[0])
    finished_job(journal, "a")
    deliver_all(journal)
    age(journal, 40)
    chores.run_once()
    assert journal.jobs() == []
    finished_job(journal, "b")
    deliver_all(journal)
    age(journal, 40)
    now[0] += DAY_S - 1
    chores.run_once()                                   # not a day yet
    assert [j.job_id for j in journal.jobs()] == ["b"]
    now[0] += 2
    serving[0] = True
    chores.run_once()                                   # a citizen is at the kiosk
    assert [j.job_id for j in journal.jobs()] == ["b"]
    serving[0] = False
    chores.run_once()
    assert journal.jobs() == []


def test_the_journal_benchmark_runs_on_a_small_journal(capsys):
    """`bench_journal` builds an old journal, measures, upgrades and prunes it: kept working."""
    from benchmarks import bench_journal
    assert bench_journal.main(["--jobs", "300"]) == 0
    out = capsys.readouterr().out
    assert "300 jobs" in out and "every hot query within" in out


def test_the_page_cache_stays_at_its_bound_however_large_the_journal(tmp_path):
    """SQLite's default cache (2 MB) filled with the journal, 0.5 MB more resident memory
    every 500 sessions; the journal sizes its own (kiosk.journal.PAGE_CACHE_KIB). A 4 MB
    journal read from end to end keeps SQLite's memory (page cache, schema, statements)
    within the bound plus 256 KiB."""
    from benchmarks.bench_journal import build
    from benchmarks.memory_readings import sqlite_memory_kb
    from kiosk.journal import PAGE_CACHE_KIB

    path = tmp_path / "journal.sqlite"
    build(path, 5000, time.time())
    assert path.stat().st_size > 4 * PAGE_CACHE_KIB * 1024
    before = sqlite_memory_kb()[0]
    journal = Journal(path)            # the upgrade reads every page to build the indexes
    try:
        jobs = journal.jobs()
        for job in jobs[::10]:
            journal.history(job.job_id)
        journal.outbox_rows()
        held = sqlite_memory_kb()[0] - before
    finally:
        journal.close()
    assert len(jobs) == 5003
    assert 0 < held <= PAGE_CACHE_KIB + 256, held
