import sqlite3
import subprocess
import sys

from kiosk.journal import CRASH_ENV, Event, Journal


def test_pragma_wal_and_full_sync(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2   # FULL


def test_a_job_goes_through_its_states_with_event_and_counters_in_one_write(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.create_job("job-1", "doc-1", "KIA", "card_printer")
    journal.transition("job-1", "reserved")
    journal.transition("job-1", "sending", counters_before={"cards_inserted": 7})
    journal.transition("job-1", "printed", counters_after={"cards_inserted": 8},
                       event=Event.new("job-1", "printed"), count={"printed": 1})
    record = journal.job("job-1")
    assert record.state == "printed" and record.counters_before == {"cards_inserted": 7}
    assert record.counters_after == {"cards_inserted": 8}
    assert journal.history("job-1") == ["created", "reserved", "sending", "printed"]
    assert journal.counters() == {"KIA": {"printed": 1}}
    assert journal.outbox_depth() == 1 and journal.open_jobs() == []


def test_state_survives_reopening(tmp_path):
    Journal(tmp_path / "j.sqlite").create_job("job-1", "doc-1", "KK", "a4_printer")
    reopened = Journal(tmp_path / "j.sqlite")
    assert [j.job_id for j in reopened.open_jobs()] == ["job-1"]


def test_unknown_job_transition_is_refused_and_writes_nothing(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    try:
        journal.transition("nope", "printed", event=Event.new("nope", "printed"))
    except KeyError:
        pass
    else:
        raise AssertionError("transition of an unknown job accepted")
    assert journal.outbox_depth() == 0


def test_counters_add_up_per_kind_and_audit_is_newest_first(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.count("KIA", "cards_spoiled")
    journal.count("KIA", "cards_spoiled", 2)
    journal.audit("technician", "replenish", {"cards": 100})
    journal.audit("technician", "clean")
    assert journal.counters()["KIA"]["cards_spoiled"] == 3
    assert [a["action"] for a in journal.audit_trail()] == ["clean", "replenish"]


def test_nothing_personal_in_the_schema(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    columns = {row[1] for table in ("jobs", "outbox", "counters", "audit", "job_history")
               for row in journal._db.execute(f"PRAGMA table_info({table})")}
    assert not columns & {"nik", "pin", "name", "pdf", "document"}


def test_crash_hook_kills_the_process_right_after_the_write(tmp_path):
    path = tmp_path / "j.sqlite"
    code = ("from kiosk.journal import Journal; j = Journal(%r); j.create_job('a', 'd', 'KK', 'a4_printer');"
            " j.transition('a', 'reserved'); print('survived')") % str(path)
    proc = subprocess.run([sys.executable, "-c", code], env={CRASH_ENV: "reserved", "PYTHONPATH": "."},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == -9 and "survived" not in proc.stdout
    state = sqlite3.connect(path).execute("SELECT state FROM jobs").fetchone()[0]
    assert state == "reserved"
