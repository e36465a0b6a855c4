import logging
import random
import threading
import time

from kiosk.journal import Event, Journal
from kiosk.outbox import Outbox


class Refused(Exception):
    def __init__(self, code, retry_after=None):
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after


class Dinas:
    """An in-test receiver: fails while `down`, records what it accepted."""

    def __init__(self):
        self.down = False
        self.refuse: dict[str, Exception] = {}
        self.received: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if self.down:
            raise ConnectionError("network down")
        if event.job_id in self.refuse:
            raise self.refuse[event.job_id]
        with self.lock:
            self.received.append((event.job_id, event.state))


def filled(tmp_path, n=3):
    journal = Journal(tmp_path / "j.sqlite")
    for i in range(n):
        journal.enqueue(Event.new(f"job-{i}", "printed"))
    return journal


def test_delivers_in_order(tmp_path):
    dinas = Dinas()
    outbox = Outbox(filled(tmp_path), dinas)
    while outbox.deliver_next() is not None:
        pass
    assert dinas.received == [("job-0", "printed"), ("job-1", "printed"), ("job-2", "printed")]
    assert outbox.depth() == 0


def test_a_failure_holds_the_head_and_backs_off(tmp_path):
    dinas = Dinas()
    dinas.down = True
    outbox = Outbox(filled(tmp_path), dinas, base_delay=10, rng=random.Random(1))
    first = outbox.deliver_next()
    assert 5 <= first <= 10
    assert outbox.deliver_next() > 0           # still inside the backoff: not even tried
    second = outbox.deliver_next(honour_backoff=False)
    assert 10 <= second <= 20                  # doubled
    assert outbox.depth() == 3 and dinas.received == []
    dinas.down = False
    outbox.deliver_next(honour_backoff=False)
    assert dinas.received == [("job-0", "printed")]


def test_backoff_is_capped_jittered_and_respects_retry_after(tmp_path):
    outbox = Outbox(Journal(tmp_path / "j.sqlite"), Dinas(), base_delay=1, max_delay=60, rng=random.Random(2))
    delays = [outbox.backoff(40) for _ in range(50)]
    assert all(30 <= d <= 60 for d in delays) and len(set(delays)) > 1
    assert outbox.backoff(0, retry_after=120) == 120


def test_events_survive_a_restart(tmp_path):
    dinas = Dinas()
    dinas.down = True
    Outbox(filled(tmp_path, 2), dinas).deliver_next()
    dinas.down = False
    reopened = Outbox(Journal(tmp_path / "j.sqlite"), dinas)
    assert reopened.depth() == 2
    while reopened.deliver_next(honour_backoff=False) is not None:
        pass
    assert [r[0] for r in dinas.received] == ["job-0", "job-1"]


def test_a_definitive_refusal_closes_the_event_but_keeps_it_on_record(tmp_path):
    dinas = Dinas()
    dinas.refuse["job-1"] = Refused("not_found")
    journal = filled(tmp_path)
    outbox = Outbox(journal, dinas)
    while outbox.deliver_next() is not None:
        pass
    assert [r[0] for r in dinas.received] == ["job-0", "job-2"]
    assert [r["outcome"] for r in journal.outbox_rows()] == ["accepted", "rejected:not_found", "accepted"]


def test_a_transient_refusal_is_retried_not_dropped(tmp_path):
    dinas = Dinas()
    dinas.refuse["job-0"] = Refused("rate_limited", retry_after=1)
    outbox = Outbox(filled(tmp_path, 1), dinas)
    assert outbox.deliver_next() >= 1 and outbox.depth() == 1


def test_background_thread_delivers_after_the_network_returns(tmp_path):
    dinas = Dinas()
    dinas.down = True
    outbox = Outbox(filled(tmp_path), dinas, base_delay=0.01, max_delay=0.05).start()
    try:
        assert not outbox.flush(0.2)
        dinas.down = False
        assert outbox.flush(5.0)
    finally:
        outbox.stop()
    assert len(dinas.received) == 3


def test_an_event_the_journal_could_not_write_is_delivered_from_memory_first(tmp_path):
    journal = filled(tmp_path, 1)
    dinas = Dinas()
    outbox = Outbox(journal, dinas, base_delay=0.01, rng=random.Random(1))
    outbox.hold(Event.new("job-held", "printed"))
    assert outbox.depth() == 2                      # the heartbeat counts it too
    dinas.down = True
    wait = outbox.deliver_next()
    assert wait is not None and wait > 0 and outbox.depth() == 2   # kept, with backoff
    dinas.down = False
    assert outbox.deliver_next(honour_backoff=False) == 0.0
    assert dinas.received == [("job-held", "printed")]              # before the journal's
    assert outbox.deliver_next() == 0.0 and outbox.deliver_next() is None
    assert dinas.received[-1] == ("job-0", "printed") and outbox.depth() == 0


def test_a_held_event_the_dinas_refuses_for_good_is_dropped_not_retried(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    dinas = Dinas()
    dinas.refuse["job-held"] = Refused("invalid_transition")
    outbox = Outbox(journal, dinas, base_delay=0.01)
    outbox.hold(Event.new("job-held", "printed"))
    assert outbox.deliver_next() == 0.0 and outbox.depth() == 0


# --- what a failed delivery leaves for the technician (docs/MUTATION.md) ---------------------

def test_a_failed_delivery_records_and_logs_why_and_when_it_is_tried_again(tmp_path, caplog):
    dinas = Dinas()
    dinas.down = True
    journal = filled(tmp_path, 1)
    outbox = Outbox(journal, dinas, base_delay=10, rng=random.Random(1))
    with caplog.at_level(logging.INFO, logger="kiosk.outbox"):
        delay = outbox.deliver_next()
    assert journal.outbox_rows()[0]["last_error"] == "ConnectionError: network down"
    assert 0 < journal.next_attempt_at(journal.next_event().seq) - time.time() <= delay
    assert caplog.messages == [f"outbox: event printed for job job-0 not delivered (ConnectionError); "
                               f"retry in {delay:.1f}s"]


def test_a_long_error_is_cut_to_300_characters(tmp_path):
    dinas = Dinas()
    dinas.refuse["job-0"] = Refused("x" * 400)
    journal = filled(tmp_path, 1)
    Outbox(journal, dinas).deliver_next()
    assert journal.outbox_rows()[0]["last_error"] == ("Refused: " + "x" * 400)[:300]


def test_a_definitive_refusal_is_logged_with_its_code_and_job(tmp_path, caplog):
    dinas = Dinas()
    dinas.refuse["job-0"] = Refused("not_found")
    outbox = Outbox(filled(tmp_path, 1), dinas)
    with caplog.at_level(logging.WARNING, logger="kiosk.outbox"):
        assert outbox.deliver_next() == 0.0
    assert caplog.messages == ["outbox: dinas refused event printed (not_found) for job job-0: not_found"]
