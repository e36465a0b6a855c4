import logging
import random
import threading
import time

from kiosk.journal import Event, Journal
from kiosk.outbox import Outbox, post_with


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


# --- the delivery loop, the held events and the controls (survivors of make mutate) --------

class Top(random.Random):
    """Jitter at its top: a backoff is exactly min(cap, base * 2**attempts)."""

    def uniform(self, a, b):
        return b


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def outbox_threads():
    return [t for t in threading.enumerate() if t.name == "outbox"]


def test_post_with_hands_every_field_of_the_event_to_the_client(tmp_path):
    calls = []

    class Client:
        def post_event(self, *args, **kwargs):
            calls.append((args, kwargs))

    event = Event.new("job-1", "failed", "media_jam", {"stage": "prepare"})
    post_with(Client())(event)
    assert calls == [(("job-1", event.event_id, "failed", event.at), {"reason": "media_jam",
                                                                       "detail": {"stage": "prepare"}})]


def test_the_default_backoff_starts_at_one_second_and_stops_at_five_minutes(tmp_path):
    outbox = Outbox(Journal(tmp_path / "j.sqlite"), Dinas(), rng=Top())
    assert (outbox.backoff(0), outbox.backoff(3), outbox.backoff(40)) == (1.0, 8.0, 300.0)


def test_the_backoff_doubles_up_to_2_to_the_30_and_a_retry_after_of_none_adds_nothing(tmp_path):
    outbox = Outbox(Journal(tmp_path / "j.sqlite"), Dinas(), base_delay=1, max_delay=1e12, rng=Top())
    assert outbox.backoff(40) == 2.0 ** 30
    assert Outbox(Journal(tmp_path / "k.sqlite"), Dinas(), base_delay=0.01, rng=Top()).backoff(0) == 0.01


def test_a_head_inside_its_backoff_is_not_tried_even_for_a_fraction_of_a_second(tmp_path):
    dinas = Dinas()
    dinas.down = True
    outbox = Outbox(filled(tmp_path, 1), dinas, base_delay=0.5, rng=Top())
    assert outbox.deliver_next() == 0.5
    dinas.down = False
    assert 0 < outbox.deliver_next() <= 0.5 and dinas.received == []


def test_a_held_event_backs_off_from_one_base_delay_doubling_and_honours_retry_after(tmp_path):
    dinas = Dinas()
    dinas.down = True
    outbox = Outbox(Journal(tmp_path / "j.sqlite"), dinas, base_delay=0.5, rng=Top())
    outbox.hold(Event.new("job-held", "printed"))
    assert outbox.deliver_next() == 0.5
    dinas.down = False
    assert 0 < outbox.deliver_next() <= 0.5 and dinas.received == []      # inside its backoff
    dinas.down = True
    assert outbox.deliver_next(honour_backoff=False) == 1.0                # doubled
    assert outbox.deliver_next(honour_backoff=False) == 2.0                # and again
    dinas.down = False
    dinas.refuse["job-held"] = Refused("rate_limited", retry_after=30)
    assert outbox.deliver_next(honour_backoff=False) == 30
    del dinas.refuse["job-held"]
    assert outbox.deliver_next(honour_backoff=False) == 0.0
    dinas.down = True                                                      # the next starts afresh
    outbox.hold(Event.new("job-next", "printed"))
    assert outbox.deliver_next() == 0.5


def test_a_held_event_refused_for_good_is_logged_with_its_state_code_and_job(tmp_path, caplog):
    dinas = Dinas()
    dinas.refuse["job-held"] = Refused("invalid_transition")
    outbox = Outbox(Journal(tmp_path / "j.sqlite"), dinas)
    with caplog.at_level(logging.WARNING, logger="kiosk.outbox"):
        outbox.hold(Event.new("job-held", "failed"))
        outbox.deliver_next()
    assert caplog.messages == [
        "outbox: event failed for job job-held held in memory (journal not writable)",
        "outbox: dinas refused held event failed (invalid_transition) for job job-held"]


def test_flush_gives_up_at_its_timeout_with_one_event_left(tmp_path):
    dinas = Dinas()
    dinas.down = True
    outbox = Outbox(filled(tmp_path, 1), dinas)            # not started: nothing delivers it
    started = time.monotonic()
    assert outbox.flush(0.2) is False
    assert time.monotonic() - started < 0.6


def test_the_outbox_thread_is_a_daemon_named_outbox_and_ends_on_stop(tmp_path):
    outbox = Outbox(Journal(tmp_path / "j.sqlite"), Dinas()).start()
    try:
        [thread] = outbox_threads()
        assert thread.daemon
    finally:
        outbox.stop()
    assert not thread.is_alive() and outbox_threads() == []


def test_a_stopped_outbox_starts_again(tmp_path):
    dinas = Dinas()
    journal = filled(tmp_path, 1)
    outbox = Outbox(journal, dinas, base_delay=0.01)
    outbox.start()
    outbox.stop()
    journal.enqueue(Event.new("job-9", "printed"))
    outbox.start()
    try:
        assert outbox.flush(5.0)
    finally:
        outbox.stop()
    assert dinas.received[-1] == ("job-9", "printed")


def test_a_started_outbox_waits_out_the_heads_backoff_until_kicked(tmp_path):
    dinas = Dinas()
    dinas.down = True
    journal = filled(tmp_path, 1)
    Outbox(journal, dinas, base_delay=60, rng=Top()).deliver_next()          # next try in 60 s
    dinas.down = False
    outbox = Outbox(journal, dinas, base_delay=60).start()
    try:
        time.sleep(0.3)
        assert dinas.received == []
        outbox.kick()                                                       # the network is back
        assert wait_until(lambda: dinas.received == [("job-0", "printed")])
    finally:
        outbox.stop()


def test_the_loop_sleeps_through_a_backoff_and_retries_when_it_ends(tmp_path):
    dinas = Dinas()
    dinas.down = True
    attempts = []

    def deliver(event):
        attempts.append(time.monotonic())
        dinas(event)
    outbox = Outbox(filled(tmp_path, 1), deliver, base_delay=0.4, rng=Top()).start()
    try:
        assert wait_until(lambda: len(attempts) == 1)
        time.sleep(0.2)
        assert len(attempts) == 1                           # not tried again inside the backoff
        dinas.down = False
        assert wait_until(lambda: dinas.received, timeout=3.0)   # ... and tried again after it
    finally:
        outbox.stop()
    assert attempts[1] - attempts[0] >= 0.35


def test_a_delivery_the_journal_cannot_mark_is_sent_again_after_the_cap(tmp_path):
    journal = filled(tmp_path, 1)
    dinas = Dinas()

    def deliver(event):
        dinas(event)
        journal._db.execute("PRAGMA query_only = ON")       # delivered, but not marked
    outbox = Outbox(journal, deliver, base_delay=0.01, max_delay=0.1).start()
    try:
        assert wait_until(lambda: len(dinas.received) >= 3, timeout=3.0)
    finally:
        outbox.stop()


def test_a_journal_error_is_logged_and_the_loop_goes_on_after_one_base_delay(tmp_path, caplog):
    journal = filled(tmp_path, 1)
    dinas = Dinas()
    real_next = journal.next_event
    failures = [RuntimeError("disk hiccup")]

    def next_event():
        if failures:
            raise failures.pop()
        return real_next()
    journal.next_event = next_event
    outbox = Outbox(journal, dinas, base_delay=0.05)
    with caplog.at_level(logging.ERROR, logger="kiosk.outbox"):
        outbox.start()
        try:
            assert wait_until(lambda: dinas.received == [("job-0", "printed")], timeout=3.0)
        finally:
            outbox.stop()
    [record] = [r for r in caplog.records if r.name == "kiosk.outbox"]
    assert record.getMessage() == "outbox: delivery loop error" and record.exc_info
