"""The journal's reads give back every field as it was written, and prune counts what it
removes across its batches. Each test answers survivors of `make mutate`'s journal target
(docs/MUTATION.md): a field read from the wrong column, a count kept per batch instead of
summed, a batch edge off by one, a date in another format or zone."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import date

import pytest

from devices.status import Consumable
from kiosk.journal import Event, Journal, local_day, utc_iso
from kiosk.supplies import COUNTED

LATER = 10 * 24 * 3600          # a `now` for prune that makes everything written today old


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    yield journal
    journal.close()


def finished(journal: Journal, n: int, *, delivered: bool = True) -> None:
    for i in range(n):
        journal.create_job(f"job-{i}", f"doc-{i}", "KIA", "card_printer")
        journal.transition(f"job-{i}", "printed", event=Event.new(f"job-{i}", "printed"))
    while delivered and (event := journal.next_event()) is not None:
        journal.mark_delivered(event.seq)


def test_every_field_of_a_job_reads_back_from_its_own_column(journal):
    journal.create_job("job-1", "doc-1", "KK", "a4_printer")
    journal.transition("job-1", "failed", reason="printer_fault", review=True)
    [record] = journal.jobs()
    assert (record.job_id, record.document_id, record.kind, record.role, record.state, record.reason,
            record.review) == ("job-1", "doc-1", "KK", "a4_printer", "failed", "printer_fault", True)


def test_every_field_of_the_next_event_reads_back_from_its_own_column(journal):
    sent = Event.new("job-1", "failed", reason="printer_fault", detail={"code": "ribbon_out"})
    journal.enqueue(sent)
    got = journal.next_event()
    assert (got.event_id, got.job_id, got.state, got.at, got.reason, got.detail, got.attempts) == (
        sent.event_id, "job-1", "failed", sent.at, "printer_fault", {"code": "ribbon_out"}, 0)


def test_prune_goes_by_the_now_it_is_given(journal):
    finished(journal, 1)
    assert journal.prune(3600)["jobs"] == 0                       # an hour old: not yet
    assert journal.prune(3600, now=time.time() + 7200)["jobs"] == 1


def test_prune_sums_what_it_removes_over_every_batch(journal):
    finished(journal, 5)
    removed = journal.prune(3600, now=time.time() + LATER, batch=2)
    assert removed == {"jobs": 5, "history": 10, "events": 5}      # created + printed per job
    assert journal.jobs() == [] and journal.outbox_rows() == []


def test_prune_goes_on_after_a_full_batch_of_jobs_with_no_events(journal):
    finished(journal, 4)
    journal.prune(0, now=time.time() + LATER)                       # the events go first
    for i in range(4, 8):                                           # four more, their events undelivered...
        journal.create_job(f"job-{i}", f"doc-{i}", "KIA", "card_printer")
        journal.transition(f"job-{i}", "printed")
    assert journal.prune(0, now=time.time() + LATER, batch=2) == {"jobs": 4, "history": 8, "events": 0}


def test_prune_goes_on_after_a_full_batch_of_events_with_no_jobs(journal):
    for i in range(4):                      # delivered events of jobs still open: no job to prune
        journal.create_job(f"job-{i}", f"doc-{i}", "KIA", "card_printer")
        journal.enqueue(Event.new(f"job-{i}", "printing"))
    while (event := journal.next_event()) is not None:
        journal.mark_delivered(event.seq)
    assert journal.prune(0, now=time.time() + LATER, batch=2) == {"jobs": 0, "history": 0, "events": 4}


def test_a_counted_supply_before_any_refill_has_every_key(journal):
    assert journal.stock(Consumable.CARDS) == {"loaded": None, "used": 0, "remaining": None,
                                               "since": None, "by": None}


def test_a_refill_is_dated_when_it_was_made(journal, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: 1_700_000_000.0)
        journal.replenish(Consumable.CARDS, 100, "technician")
    assert journal.stock(Consumable.CARDS)["since"] == "2023-11-14T22:13:20Z"


def test_an_unknown_supply_names_the_known_ones(journal):
    with pytest.raises(ValueError) as refused:
        journal.stock("kertas")
    assert str(refused.value) == f"unknown supply 'kertas'; one of {', '.join(c.value for c in Consumable)}"


def test_cards_used_count_every_kind_printed_on_cards(journal):
    journal.count("KIA", "printed")
    journal.count("KTP", "printed", 2)
    journal.count("KK", "printed", 5)                                # paper: not a card
    two_kinds = dataclasses.replace(COUNTED[Consumable.CARDS], printed_kinds=("KIA", "KTP"))
    assert journal._used(journal._db, two_kinds) == 3


def test_the_day_is_the_local_calendar_day():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", local_day()) and local_day() == date.today().isoformat()


def test_utc_times_are_utc_whatever_the_kiosks_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Jakarta")
    time.tzset()
    try:
        assert utc_iso(0) == "1970-01-01T00:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()
