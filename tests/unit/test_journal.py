import os
import resource
import signal
import sqlite3
import stat
import subprocess
import sys
import time

import pytest

from kiosk.journal import CRASH_ENV, Event, Journal, JournalWriteError, local_day


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


# --- reads and hooks the mutation run found untested (docs/MUTATION.md) ----------------------

def test_an_unknown_job_reads_as_none_and_its_transition_names_it(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    assert journal.job("nope") is None
    try:
        journal.transition("nope", "printed")
    except KeyError as refused:
        assert refused.args == ("unknown job nope",)
    else:
        raise AssertionError("a transition of an unknown job must be refused")


def test_review_is_set_only_when_asked_and_stays_set(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.create_job("job-1", "doc-1", "KIA", "card_printer")
    journal.transition("job-1", "sending")
    assert journal.job("job-1").review is False
    journal.transition("job-1", "failed", reason="card_jam", review=True)
    journal.transition("job-1", "failed", reason="card_jam")
    assert journal.job("job-1").review is True


def test_a_refused_write_hands_its_event_to_the_unwritten_event_hook(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.create_job("job-1", "doc-1", "KIA", "card_printer")
    unwritten, failures = [], []
    journal.on_unwritten_event, journal.on_write_failed = unwritten.append, failures.append
    journal._db.execute("PRAGMA query_only = ON")          # every write now fails as on a read-only disk
    printed, queued = Event.new("job-1", "printed"), Event.new("job-1", "failed")
    for write in (lambda: journal.transition("job-1", "printed", event=printed), lambda: journal.enqueue(queued)):
        try:
            write()
        except JournalWriteError:
            pass
        else:
            raise AssertionError("the write must fail")
    assert unwritten == [printed, queued] and len(failures) == 2


def test_the_outbox_summary_names_depth_oldest_and_last_error(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    assert journal.outbox_summary() == {"depth": 0, "oldest_at": None, "oldest_attempts": 0, "last_error": None}
    assert journal.next_attempt_at(999) == 0.0
    first, second = Event.new("job-1", "printing"), Event.new("job-1", "printed")
    journal.enqueue(first)
    journal.enqueue(second)
    seq = journal.next_event().seq
    journal.mark_attempt_failed(seq, "timeout", retry_at=1234.5)
    journal.mark_attempt_failed(seq, "HTTP 503", retry_at=2345.5)
    assert journal.next_attempt_at(seq) == 2345.5
    assert journal.outbox_summary() == {"depth": 2, "oldest_at": first.at, "oldest_attempts": 2,
                                        "last_error": "HTTP 503"}
    journal.mark_delivered(seq)
    assert journal.outbox_summary() == {"depth": 1, "oldest_at": second.at, "oldest_attempts": 0,
                                        "last_error": None}


def test_delivery_has_a_crash_point_named_after_the_events_state(tmp_path, monkeypatch):
    journal = Journal(tmp_path / "j.sqlite")
    journal.enqueue(Event.new("job-1", "printed"))
    killed = []
    monkeypatch.setenv(CRASH_ENV, "delivered_printed")
    monkeypatch.setattr("kiosk.journal.os.kill", lambda pid, sig: killed.append((pid, sig)))
    journal.mark_delivered(journal.next_event().seq)
    assert killed == [(os.getpid(), signal.SIGKILL)] and journal.outbox_depth() == 0


def test_a_new_event_carries_its_reason_and_a_copy_of_its_detail():
    detail = {"cards_inserted": 1}
    event = Event.new("job-1", "failed", reason="card_jam", detail=detail)
    assert (event.job_id, event.state, event.reason, event.detail) == ("job-1", "failed", "card_jam", detail)
    assert event.detail is not detail and len(event.event_id) == 36
    assert Event.new("job-1", "printed", detail={}).detail is None


def test_an_audited_action_adds_its_counts_to_its_kind(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.audit("technician", "test_print", {"printer": "card_printer"}, kind="KIA", count={"test_cards": 2})
    assert journal.counters() == {"KIA": {"test_cards": 2}}


def test_counters_by_day_keep_day_kind_and_name(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.count("KIA", "printed", 2)
    journal.count("KK", "failed")
    assert journal.counters_by_day() == {local_day(): {"KIA": {"printed": 2}, "KK": {"failed": 1}}}


def test_last_audit_finds_the_latest_row_with_the_detail_asked(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    assert journal.last_audit("clean", printer="card_printer") is None
    journal.audit("technician", "clean", {"printer": "card_printer"})
    journal.audit("slot-2", "clean", {"printer": "a4_printer"})
    latest = journal.last_audit("clean", printer="card_printer")
    assert latest["actor"] == "technician" and latest["detail"] == {"printer": "card_printer"}
    assert isinstance(latest["at"], float)
    journal.audit("slot-3", "clean")
    assert journal.last_audit("clean") == {"at": journal.last_audit("clean")["at"], "actor": "slot-3", "detail": {}}
    try:
        journal.last_audit("clean", **{"printer') OR 1=1 --": "x"})
    except ValueError as refused:
        assert str(refused) == "audit detail keys are plain names, got [\"printer') OR 1=1 --\"]"
    else:
        raise AssertionError("a detail key that is not a plain name must be refused")


def test_the_devices_reference_for_a_job_is_kept_on_disk(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.create_job("job-1", "doc-1", "KK", "a4_printer")
    journal.create_job("job-2", "doc-2", "KK", "a4_printer")
    journal.note_device_job("job-1", {"ipp_job_id": 42})
    journal.close()
    reopened = Journal(tmp_path / "j.sqlite")
    assert reopened.job("job-1").device_job == {"ipp_job_id": 42}
    assert reopened.job("job-2").device_job is None


def test_a_stand_in_journal_is_in_memory_and_says_why(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                # a file opened by a wrong name would land here
    path = tmp_path / "state" / "journal.sqlite"
    stand_in = Journal.stand_in(path, "state folder read-only")
    assert (stand_in.path, stand_in.unavailable) == (path, "state folder read-only")
    stand_in.create_job("job-1", "doc-1", "KK", "a4_printer")
    assert stand_in.job("job-1").state == "created" and list(tmp_path.iterdir()) == []


def test_the_audit_trail_and_the_heartbeats_batch_have_their_default_lengths(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    for n in range(102):
        journal.audit("slot-1", "replenish_cards", {"n": n})
    trail = journal.audit_trail()
    assert len(trail) == 100 and set(trail[0]) == {"at", "actor", "action", "detail"}
    assert trail[0]["detail"] == {"n": 101}
    assert [len(journal.audit_since(None)), len(journal.audit_since(0))] == [50, 50]


def test_an_audit_row_keeps_the_time_it_was_written(tmp_path, monkeypatch):
    journal = Journal(tmp_path / "j.sqlite")
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: 1_700_000_000.0)
        journal.audit("slot-1", "maintenance_entered")
    [entry] = journal.audit_since(None)
    assert entry["at"] == "2023-11-14T22:13:20Z"


@pytest.mark.parametrize("supply, loaded, message", [
    ("cards", -1, "cards loaded is a whole number of at least 0, got -1"),
    ("cards", True, "cards loaded is a whole number of at least 0, got True"),
    ("cards", 2.5, "cards loaded is a whole number of at least 0, got 2.5"),
    ("cards", "5", "cards loaded is a whole number of at least 0, got '5'"),
    ("ribbon", 5, "ribbon is sensed by its printer, not counted: record the refill without a number"),
])
def test_a_refill_with_a_wrong_count_is_refused_with_the_reason(tmp_path, supply, loaded, message):
    journal = Journal(tmp_path / "j.sqlite")
    with pytest.raises(ValueError) as refused:
        journal.replenish(supply, loaded, "slot-1")
    assert str(refused.value) == message and journal.audit_trail() == []


# --- opening the file and failed writes: survivors of the journal's last run (docs/MUTATION.md)

def test_the_journal_makes_its_folders_and_is_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "var" / "lib" / "adm-kiosk" / "journal.sqlite"
    Journal(path).create_job("job-1", "doc-1", "KK", "a4_printer")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_detail_is_stored_as_one_text_whatever_the_order_of_its_keys(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.audit("slot-1", "replenish_cards", {"loaded": 100, "before": 3})
    journal.audit("slot-1", "replenish_cards", {"before": 3, "loaded": 100})
    journal.enqueue(Event.new("job-1", "failed", detail={"printer": "card_printer", "fault": "card_jam"}))
    audit = [row[0] for row in journal._db.execute("SELECT detail FROM audit")]
    outbox = journal._db.execute("SELECT detail FROM outbox").fetchone()[0]
    assert audit == ['{"before": 3, "loaded": 100}'] * 2
    assert outbox == '{"fault": "card_jam", "printer": "card_printer"}'


def test_a_write_waits_ten_seconds_for_another_writer_then_fails_naming_the_lock(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.create_job("job-1", "doc-1", "KIA", "card_printer")
    assert journal._db.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000     # ms
    failures, unwritten = [], []
    journal.on_write_failed, journal.on_unwritten_event = failures.append, unwritten.append
    other = sqlite3.connect(tmp_path / "j.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")                 # another process writing, e.g. a technician's tool
    journal._db.execute("PRAGMA busy_timeout = 50")  # not to wait the 10 s out here
    printed = Event.new("job-1", "printed")
    with pytest.raises(JournalWriteError) as refused:
        journal.transition("job-1", "printed", event=printed)
    assert str(refused.value) == "journal j.sqlite: database is locked"
    assert isinstance(refused.value.__cause__, sqlite3.OperationalError)
    assert failures == [refused.value] and unwritten == [printed]
    other.execute("COMMIT")
    other.close()
    journal.transition("job-1", "printed", event=printed)
    assert journal.job("job-1").state == "printed" and journal.outbox_depth() == 1


def test_a_write_refused_at_its_commit_is_not_taken_for_written(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.create_job("job-1", "doc-1", "KIA", "card_printer")
    unwritten = []
    journal.on_unwritten_event = unwritten.append
    printed = Event.new("job-1", "printed")
    wal = tmp_path / "j.sqlite-wal"
    # The disk fills up as the commit appends the transaction to the write-ahead log: the
    # file may not grow past its size now (EFBIG, as ENOSPC would be), so the COMMIT fails.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (wal.stat().st_size, hard))
    try:
        with pytest.raises(JournalWriteError) as refused:
            journal.transition("job-1", "printed", event=printed, count={"printed": 1})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert str(refused.value) == "journal j.sqlite: disk I/O error" and unwritten == [printed]
    assert journal.job("job-1").state == "created" and journal.outbox_depth() == 0 and journal.counters() == {}


def test_a_write_that_fails_midway_leaves_nothing_of_it_and_the_next_one_lands(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.create_job("job-1", "doc-1", "KIA", "card_printer")
    printed = Event.new("job-1", "printed")
    journal.enqueue(printed)
    # The job's state and history are written before the event, whose id is already queued.
    with pytest.raises(sqlite3.IntegrityError):
        journal.transition("job-1", "printed", event=printed, count={"printed": 1})
    assert journal.job("job-1").state == "created" and journal.history("job-1") == ["created"]
    assert journal.outbox_depth() == 1 and journal.counters() == {}
    journal.transition("job-1", "failed", reason="card_jam")
    assert journal.history("job-1") == ["created", "failed"]
