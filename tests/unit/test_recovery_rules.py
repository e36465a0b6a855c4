"""Each rule of kiosk.recovery with all it leaves behind: the Settlement (its reason in words),
the job in the journal, the event for the dinas (state, reason, detail), the day counts and the
audit entry of an automatic reject. Memory printers behind their real device workers; the
Evolis-simulator tests (test_session_recovery.py) take the same rules over the real protocol.
Written for the survivors of `make mutate` (docs/MUTATION.md, recovery)."""

from __future__ import annotations

import logging

import pytest

from devices.status import DeviceError, FaultCode
from kiosk.devices_runtime import DeviceBoard
from kiosk.recovery import CARD_REJECTING, Settlement, left_open, recover, retry_left_open
from printer_drivers.base import CARD_WHOLE, InterruptedJob
from tests.fixtures.kiosk import MemoryPrinter
from tests.unit.test_session_recovery import journal_with

BEFORE, NOW = {"cards_inserted": 0}, {"cards_inserted": 1}
COUNTERS = {"counters_before": BEFORE, "counters_now": NOW}
STOPPED = "the card stopped inside the printer mid-print: "


class CardPrinter(MemoryPrinter):
    """A card printer that says whether a card is inside (its answers in turn, the last one
    repeated; an exception is raised) and sends a card to the reject box."""

    def __init__(self, inside=(False,), reject=True, cards_inserted=1):
        super().__init__("card_printer")
        self.cards_inserted = cards_inserted
        self.inside = list(inside)
        self.reject = reject
        self.reject_timeouts = []

    def card_in_printer(self):
        answer = self.inside.pop(0) if len(self.inside) > 1 else self.inside[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def reject_card(self, timeout=None):
        self.reject_timeouts.append(timeout)
        if isinstance(self.reject, Exception):
            raise self.reject
        return self.reject


class QueuedPrinter(MemoryPrinter):
    """An A4 printer behind a print server: says what became of a job, or fails to."""

    def __init__(self, answer):
        super().__init__("a4_printer")
        self.answer = answer
        self.asked = []

    def settle_interrupted(self, job, ref):
        self.asked.append((job, ref))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def settle(tmp_path, printer, *, state="sending", before=BEFORE, device_job=None, grace=0.05):
    role = printer.role
    kind = "KIA" if role == "card_printer" else "KK"
    journal = journal_with(tmp_path, state, role=role, kind=kind, before=before)
    if device_job is not None:
        journal.note_device_job("job", device_job)
    board = DeviceBoard({role: printer}).start()
    try:
        [result] = recover(journal, board, card_grace_s=grace)
    finally:
        board.stop()
    return journal, result


def sent(journal):
    """(state, reason, detail) of every event waiting for the dinas."""
    events = []
    while (event := journal.next_event()) is not None:
        events.append((event.state, event.reason, event.detail))
        journal.mark_delivered(event.seq)
    return events


def record(journal):
    job = journal.job("job")
    return job.state, job.reason, job.review, job.counters_after


def failed_detail(review, stage="sending", **extra):
    return {"recovered": True, "review": review, "stage": stage, **extra}


def assert_the_card_went_to_the_reject_box(journal, outcome):
    """What a card recovery rejected leaves: `failed` (interrupted, review, card rejected) for
    the dinas, one spoiled card counted, and one card_rejected audit row saying `outcome`."""
    assert sent(journal) == [("failed", "interrupted", failed_detail(True, card="rejected", **COUNTERS))]
    assert journal.counters() == {"KIA": {"failed": 1, "cards_spoiled": 1}}
    [audit] = journal.audit_trail()
    assert (audit["actor"], audit["action"], audit["detail"]) == ("kiosk", "card_rejected", {
        "job_id": "job", "role": "card_printer", "outcome": outcome,
        "why": "recovery: card left inside mid-print", **COUNTERS})


@pytest.mark.parametrize("state", ["created", "reserved"])
def test_a_job_not_sent_yet_is_released_without_review(tmp_path, state):
    journal, result = settle(tmp_path, CardPrinter(), state=state)
    assert result == Settlement("job", "KIA", state, "failed", False, "not sent to the printer")
    assert record(journal) == ("failed", "interrupted", False, None)
    assert sent(journal) == [("failed", "interrupted", failed_detail(False, state))]
    assert journal.counters() == {"KIA": {"failed": 1}}


def test_a_page_from_a_printer_without_counters_or_queue_is_released_for_review(tmp_path):
    journal, result = settle(tmp_path, MemoryPrinter("a4_printer"), before={})
    assert result == Settlement("job", "KK", "sending", "failed", True,
                                "printer keeps no counters; a page may have come out")
    assert sent(journal) == [("failed", "interrupted", failed_detail(True))]


def test_unreadable_counters_release_the_card_for_review_and_say_so_in_the_log(tmp_path, caplog):
    printer = CardPrinter()

    def broken():
        raise RuntimeError("no answer")
    printer.counters = broken
    with caplog.at_level(logging.WARNING, logger="kiosk.recovery"):
        journal, result = settle(tmp_path, printer)
    assert result == Settlement("job", "KIA", "sending", "failed", True, "card counters could not be read")
    assert "recovery: card_printer counters unreadable: RuntimeError" in caplog.messages


def test_unchanged_counters_release_the_card_without_review(tmp_path):
    journal, result = settle(tmp_path, CardPrinter(cards_inserted=0))
    assert result == Settlement("job", "KIA", "sending", "failed", False, "card counters unchanged: no card was taken")
    assert journal.counters() == {"KIA": {"failed": 1}}


def test_a_card_taken_and_out_is_printed_for_review_with_both_counter_reads(tmp_path):
    journal, result = settle(tmp_path, CardPrinter(inside=(False,)))
    assert result == Settlement("job", "KIA", "sending", "printed", True,
                                "card counters advanced: the card went through")
    assert record(journal) == ("printed", "recovered", True, NOW)
    assert sent(journal) == [("printed", None, {"recovered": True, "review": True, **COUNTERS})]
    assert journal.counters() == {"KIA": {"printed": 1}} and journal.audit_trail() == []


def test_a_card_stopped_inside_is_marked_rejected_audited_and_released_spoiled(tmp_path):
    printer = CardPrinter(inside=(True,), reject=True)
    journal, result = settle(tmp_path, printer)
    assert result == Settlement("job", "KIA", "sending", "failed", True, STOPPED + "sent to the reject box")
    assert record(journal)[:3] == ("failed", "interrupted", True)
    assert journal.job("job").device_job == CARD_REJECTING and printer.reject_timeouts == [30.0]
    assert_the_card_went_to_the_reject_box(journal, "rejected")


def test_a_card_gone_when_the_reject_comes_went_through(tmp_path):
    journal, result = settle(tmp_path, CardPrinter(inside=(True,), reject=False))
    assert result == Settlement("job", "KIA", "sending", "printed", True, "the card came out late: it went through")
    assert record(journal) == ("printed", "recovered", True, NOW)
    assert sent(journal) == [("printed", None, {"recovered": True, "review": True, **COUNTERS})]
    assert journal.audit_trail()[0]["detail"]["outcome"] == "no card left to reject"
    assert journal.counters() == {"KIA": {"printed": 1}}


@pytest.mark.parametrize("refusal, outcome", [
    (DeviceError(FaultCode.COVER_OPEN), "refused: cover_open"),
    (ZeroDivisionError("driver bug"), "failed: ZeroDivisionError"),
])
def test_a_card_the_printer_will_not_reject_is_left_inside_for_a_technician(tmp_path, refusal, outcome):
    journal, result = settle(tmp_path, CardPrinter(inside=(True,), reject=refusal))
    assert result == Settlement("job", "KIA", "sending", "failed", True,
                                STOPPED + f"reject {outcome}, a technician must clear it")
    assert sent(journal) == [("failed", "interrupted", failed_detail(True, card="left_inside", **COUNTERS))]
    assert journal.counters() == {"KIA": {"failed": 1, "cards_spoiled": 1}}
    assert journal.audit_trail()[0]["detail"]["outcome"] == outcome


def test_a_stuck_card_the_printer_had_whole_keeps_its_mark_when_rejected(tmp_path):
    journal, result = settle(tmp_path, CardPrinter(inside=(DeviceError(FaultCode.MEDIA_JAM),)), device_job=CARD_WHOLE)
    assert (result.now, result.why) == ("failed", STOPPED + "sent to the reject box")
    assert journal.job("job").device_job == CARD_WHOLE


def test_a_card_the_printer_had_whole_is_waited_for_past_the_grace(tmp_path):
    inside = (True, True, True, False)                 # out after 3 polls (0.6 s), past the 0.05 s grace
    journal, result = settle(tmp_path, CardPrinter(inside=inside), device_job=CARD_WHOLE)
    assert (result.now, result.why) == ("printed", "card counters advanced: the card went through")
    _, without_mark = settle(tmp_path / "again", CardPrinter(inside=inside))
    assert without_mark.now == "failed"


@pytest.mark.parametrize("answer, now", [
    (DeviceError(FaultCode.MEDIA_JAM), "failed"),      # stuck: no finished card came out
    (DeviceError(FaultCode.OFFLINE), "printed"),       # unknown: taken as gone through
])
def test_a_printer_that_cannot_look_for_the_card_decides_by_its_fault(tmp_path, answer, now):
    _, result = settle(tmp_path, CardPrinter(inside=(answer,)))
    assert result.now == now


def test_an_unreadable_card_presence_counts_as_gone_through_and_is_logged(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="kiosk.recovery"):
        _, result = settle(tmp_path, CardPrinter(inside=(RuntimeError("no answer"),)))
    assert result.now == "printed"
    assert "recovery: card_printer card presence unreadable: RuntimeError" in caplog.messages


def test_a_reject_made_before_a_restart_is_settled_spoiled_without_asking_again(tmp_path):
    printer = CardPrinter(inside=(False,))
    journal, result = settle(tmp_path, printer, device_job=CARD_REJECTING)
    assert result == Settlement("job", "KIA", "sending", "failed", True,
                                STOPPED + "sent to the reject box before a restart")
    assert printer.reject_timeouts == []
    assert_the_card_went_to_the_reject_box(journal, "rejected before a restart")


def test_a_marked_card_still_inside_at_the_first_look_is_not_taken_as_rejected(tmp_path):
    """The mark is read with one look (no grace): a card inside then is judged as any other,
    here out within the grace, so it went through."""
    _, result = settle(tmp_path, CardPrinter(inside=(True, False)), device_job=CARD_REJECTING, grace=2.0)
    assert (result.now, result.why) == ("printed", "card counters advanced: the card went through")


@pytest.mark.parametrize("answer, now, review, why, server", [
    (InterruptedJob("completed"), "printed", True, "the print server completed the job: the page came out",
     {"print_server": "completed"}),
    (InterruptedJob("canceled", "pending"), "failed", False,
     "the print server still held the job (pending): cancelled before the document was released",
     {"print_server": "canceled", "was": "pending"}),
    (InterruptedJob("canceled", "pending-held"), "failed", False,
     "the print server still held the job (pending-held): cancelled before the document was released",
     {"print_server": "canceled", "was": "pending-held"}),
    (InterruptedJob("canceled", "processing"), "failed", True,
     "the print server still held the job (processing): cancelled before the document was released",
     {"print_server": "canceled", "was": "processing"}),
    (InterruptedJob("not_found"), "failed", True, "the print server lost the job; a page may have come out",
     {"print_server": "not_found"}),
    (InterruptedJob("ended", "aborted"), "failed", True, "the print server ended the job; a page may have come out",
     {"print_server": "ended", "was": "aborted"}),
])
def test_a_queued_job_is_settled_by_what_its_print_server_says(tmp_path, answer, now, review, why, server):
    printer = QueuedPrinter(answer)
    journal, result = settle(tmp_path, printer, before=None, device_job={"ipp_job_id": 7})
    assert result == Settlement("job", "KK", "sending", now, review, why)
    [(asked, ref)] = printer.asked
    assert (asked.job_id, asked.kind, asked.pdf, ref) == ("job", "KK", b"", {"ipp_job_id": 7})
    if now == "printed":
        assert record(journal) == ("printed", "recovered", True, None)
        assert sent(journal) == [("printed", None, {"recovered": True, "review": True, **server})]
        assert journal.counters() == {"KK": {"printed": 1}}
    else:
        assert record(journal) == ("failed", "interrupted", review, None)
        assert sent(journal) == [("failed", "interrupted", failed_detail(review, **server))]
        assert journal.counters() == {"KK": {"failed": 1}}


def test_a_print_server_that_does_not_answer_leaves_the_job_open_for_review(tmp_path):
    journal, result = settle(tmp_path, QueuedPrinter(DeviceError(FaultCode.OFFLINE)), before=None)
    assert result == Settlement("job", "KK", "sending", "sending", True,
                                "the a4_printer did not answer (DeviceError); kept open: "
                                "its queue may still hold the job")
    assert journal.job("job").state == "sending" and sent(journal) == [] and journal.counters() == {}


class Kicks:
    """Counts the outbox kicks (a settlement's event is ready to go)."""

    def __init__(self):
        self.count = 0

    def kick(self):
        self.count += 1


def test_a_retry_settles_only_the_jobs_it_is_given_and_kicks_the_outbox(tmp_path):
    printer = QueuedPrinter(DeviceError(FaultCode.OFFLINE))
    journal = journal_with(tmp_path, "sending", role="a4_printer", kind="KK")
    journal.create_job("other", "doc-2", "KK", "a4_printer")
    journal.transition("other", "reserved")
    journal.transition("other", "sending")
    board = DeviceBoard({"a4_printer": printer}).start()
    try:
        kicks = Kicks()
        assert left_open(recover(journal, board)) == ["job", "other"]
        printer.answer = InterruptedJob("not_found")
        assert retry_left_open(journal, board, kicks, ["job"]) == []
        assert kicks.count == 1
        assert (journal.job("job").state, journal.job("other").state) == ("failed", "sending")
        assert retry_left_open(journal, board, kicks, []) == [] and kicks.count == 1
    finally:
        board.stop()


def test_each_settlement_is_logged_in_one_line(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="kiosk.recovery"):
        settle(tmp_path / "a", CardPrinter(), state="created")
        settle(tmp_path / "b", MemoryPrinter("a4_printer"), before={})
    assert caplog.messages == [
        "recovered job job (KIA) left in created: failed (not sent to the printer)",
        "recovered job job (KK) left in sending: failed for review "
        "(printer keeps no counters; a page may have come out)"]


def test_the_card_grace_has_a_default(tmp_path):
    journal = journal_with(tmp_path, "sending", before=BEFORE)
    board = DeviceBoard({"card_printer": CardPrinter(inside=(False,))}).start()
    try:
        [result] = recover(journal, board)
    finally:
        board.stop()
    assert result.now == "printed"
