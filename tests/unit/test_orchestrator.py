"""PrintOrchestrator.print_one, each way a print can end: what the citizen is told (the
Outcome and the steps), what the journal keeps (state, reason, review, counters, day counts)
and what the dinas is sent (the event that closes or releases the reservation). Against the
in-memory dinas, memory printers behind their real device workers, and a real journal made
read-only at the step under test (`PRAGMA query_only`, as a read-only disk refuses writes).
Written for the survivors of `make mutate` (docs/MUTATION.md, orchestrator)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

import pytest

from devices.status import DeviceError, DeviceState, FaultCode
from kiosk import dinas_errors as de
from kiosk.config import Settings
from kiosk.devices_runtime import DeviceBoard
from kiosk.journal import Journal
from kiosk.orchestrator import PrintOrchestrator, _dinas_reason
from kiosk.outbox import Outbox
from printer_drivers.base import DocumentUnprintable, JobMayStillPrint
from printer_drivers.receipt import Receipt
from tests.fixtures.kiosk import FakeDinas, MemoryPrinter, settings_with
from tests.unit.test_print_deadlines import QueuedMemoryPrinter

ROLES = ("card_printer", "a4_printer", "receipt_printer")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)


class Rig:
    def __init__(self, tmp_path, printers=None, deadlines=None) -> None:
        self.dinas = FakeDinas()
        self.printers = printers or {role: MemoryPrinter(role) for role in ROLES}
        self.board = DeviceBoard(self.printers, poll_interval=0.05).start()
        self.board.refresh()
        self.journal = Journal(tmp_path / "journal.sqlite")
        self.held = []                                  # events the journal could not write
        self.journal.on_unwritten_event = self.held.append
        self.outbox = Outbox(self.journal, lambda event: None)
        self.kept_open = []
        self.orchestrator = PrintOrchestrator(self.dinas, self.journal, self.outbox, self.board,
                                              keep_open=self.kept_open.append,
                                              **({"deadlines": deadlines} if deadlines else {}))
        self.steps = []

    def print(self, kind="KIA", *, fetch=False, settings=None, assisted_by=None):
        [document] = [d for d in self.dinas.documents() if d.kind == kind]
        pdf = None if fetch else self.dinas.pdfs[document.id]
        return self.orchestrator.print_one("session-1", document, pdf, settings or Settings(), NOW,
                                           lambda step, state: self.steps.append((step, state)),
                                           assisted_by=assisted_by)

    def read_only(self) -> None:
        self.journal._db.execute("PRAGMA query_only = ON")

    def events(self):
        """(state, reason, detail) of every event waiting for the dinas, oldest first."""
        sent = []
        while (event := self.journal.next_event()) is not None:
            sent.append((event.state, event.reason, event.detail))
            self.journal.mark_delivered(event.seq)
        return sent

    def close(self) -> None:
        self.board.stop()
        self.journal.close()


@pytest.fixture
def rig(tmp_path):
    made = Rig(tmp_path)
    yield made
    made.close()


RESERVING = [("fetching", "done"), ("reserving", "active")]
SENDING = RESERVING + [("reserving", "done"), ("sending", "active")]


def test_a_printed_card_walks_every_step_and_journals_both_counter_reads(rig):
    outcome = rig.print("KIA")
    assert outcome == type(outcome)("doc-KIA", "KIA", "printed", None, outcome.job_id) and outcome.printed
    assert rig.steps == SENDING + [("printing", "active"), ("done", "done")]
    [sent] = rig.printers["card_printer"].printed
    assert (sent.job_id, sent.kind, sent.pdf, sent.title) == (outcome.job_id, "KIA", rig.dinas.pdfs["doc-KIA"],
                                                              f"KIA {outcome.job_id[:8]}")
    job = rig.journal.job(outcome.job_id)
    assert (job.document_id, job.kind, job.role, job.state, job.reason, job.review) == (
        "doc-KIA", "KIA", "card_printer", "printed", None, False)
    assert (job.counters_before, job.counters_after) == ({"cards_inserted": 0}, {"cards_inserted": 1})
    assert rig.journal.history(outcome.job_id) == ["created", "reserved", "sending", "printed"]
    assert rig.dinas.reserved == ["doc-KIA"]
    assert rig.events() == [("printing", None, None), ("printed", None, None)]
    assert rig.journal.counters() == {"KIA": {"printed": 1}}


def test_a_document_not_fetched_yet_is_fetched_first(rig):
    outcome = rig.print("KK", fetch=True)
    assert outcome.printed
    assert rig.steps[:2] == [("fetching", "active"), ("fetching", "done")]
    assert rig.printers["a4_printer"].printed[0].pdf == rig.dinas.pdfs["doc-KK"]


def test_an_assisted_print_is_marked_counted_and_audited_for_the_operator(rig):
    outcome = rig.print("KK", assisted_by="slot-2")
    assert rig.events()[-1] == ("printed", None, {"assisted": True})
    assert rig.journal.counters() == {"KK": {"printed": 1, "assisted": 1}}
    [entry] = [e for e in rig.journal.audit_trail() if e["action"] == "assisted_print"]
    assert (entry["actor"], entry["detail"]) == ("slot-2", {"kind": "KK", "job_id": outcome.job_id, "slot": "slot-2"})


@pytest.mark.parametrize("settings, printer_state, reason", [
    (settings_with(enabled_kinds=("KK",)), DeviceState.READY, "kind_disabled"),
    (settings_with(maintenance_mode=True), DeviceState.READY, "maintenance"),
    (Settings(), DeviceState.OFFLINE, "printer"),
])
def test_a_document_the_gate_refuses_is_neither_fetched_nor_journaled(rig, settings, printer_state, reason):
    rig.printers["card_printer"].state = printer_state
    rig.board.refresh()
    outcome = rig.print("KIA", fetch=True, settings=settings)
    assert (outcome.result, outcome.reason, outcome.job_id) == ("failed", reason, None)
    assert rig.steps == [("fetching", "failed")]
    assert rig.journal.jobs() == [] and rig.dinas.reserved == []


def stage(rig, kind="KIA"):
    [document] = [d for d in rig.dinas.documents() if d.kind == kind]
    return rig.orchestrator.stage("session-1", document, rig.dinas.pdfs[document.id], Settings(), NOW,
                                  lambda step, state: rig.steps.append((step, state)))


def test_a_staged_document_released_on_a_cancel_frees_its_reservation_and_is_no_failure(rig):
    staged = stage(rig)
    assert rig.journal.job(staged.job_id).state == "reserved" and len(rig.dinas.reserved) == 1
    outcome = rig.orchestrator.release(staged)
    assert (outcome.result, outcome.reason, outcome.job_id) == ("skipped", "cancelled", staged.job_id)
    assert (rig.journal.job(staged.job_id).state, rig.journal.job(staged.job_id).reason) == ("failed", "cancelled")
    assert rig.events() == [("failed", "cancelled", {"stage": "staged"})]      # the dinas frees the document
    assert rig.journal.counters() == {"KIA": {"cancelled": 1}}
    assert rig.printers["card_printer"].printed == []


def test_a_staged_document_whose_printer_went_out_meanwhile_is_refused_at_its_turn(rig):
    staged = stage(rig)
    rig.printers["card_printer"].state = DeviceState.OFFLINE          # e.g. the card before it jammed
    rig.board.refresh()
    rig.steps.clear()
    outcome = rig.orchestrator.send(staged, Settings(), NOW, lambda step, state: rig.steps.append((step, state)))
    assert (outcome.result, outcome.reason, outcome.job_id) == ("failed", "printer", staged.job_id)
    assert rig.steps == [("sending", "active"), ("sending", "failed")]
    assert rig.journal.job(staged.job_id).state == "failed" and rig.printers["card_printer"].printed == []
    assert rig.events() == [("failed", "printer", {"stage": "staged"})]
    assert rig.journal.counters() == {"KIA": {"failed": 1}}


@pytest.mark.parametrize("error, reason", [
    (de.DinasUnavailable(detail="down"), "network"),
    (de.SessionExpired(detail="gone", status=410), "session_expired"),
])
def test_a_failed_download_fails_the_document_before_any_job(rig, error, reason):
    def refuse(session_id, document):
        raise error
    rig.dinas.download_document = refuse
    outcome = rig.print("KK", fetch=True)
    assert (outcome.result, outcome.reason, outcome.job_id) == ("failed", reason, None)
    assert rig.steps == [("fetching", "active"), ("fetching", "failed")]
    assert rig.journal.jobs() == []


def test_a_journal_that_cannot_create_the_job_reserves_nothing(rig):
    rig.read_only()
    outcome = rig.print("KK")
    assert (outcome.result, outcome.reason, outcome.job_id) == ("failed", "storage", None)
    assert rig.steps == RESERVING + [("reserving", "failed")]
    assert rig.dinas.reserved == [] and rig.held == []


def test_a_reservation_lost_on_the_network_is_released_by_a_failed_event(rig):
    rig.dinas.down = True
    outcome = rig.print("KK")
    assert (outcome.result, outcome.reason) == ("failed", "network")
    assert rig.steps == RESERVING + [("reserving", "failed")]
    job = rig.journal.job(outcome.job_id)
    assert (job.state, job.reason, job.review) == ("failed", "network", False)
    assert rig.events() == [("failed", "network", {"stage": "reserve"})]
    assert rig.journal.counters() == {"KK": {"failed": 1}}


def test_a_reservation_the_dinas_refuses_is_journaled_as_refused_with_no_event(rig):
    def refuse(session_id, job_id, document_id):
        raise de.AlreadyPrinted(detail="printed", status=409)
    rig.dinas.reserve_job = refuse
    outcome = rig.print("KK")
    assert (outcome.result, outcome.reason) == ("failed", "already_printed")
    job = rig.journal.job(outcome.job_id)
    assert (job.state, job.reason) == ("failed", "already_printed")
    assert rig.events() == [] and rig.journal.counters() == {"KK": {"refused": 1}}


def test_a_refused_reservation_the_journal_cannot_record_is_still_the_citizens_answer(rig):
    def refuse(session_id, job_id, document_id):
        rig.read_only()
        raise de.AlreadyPrinted(detail="printed", status=409)
    rig.dinas.reserve_job = refuse
    outcome = rig.print("KK")
    assert (outcome.result, outcome.reason) == ("failed", "already_printed")
    assert rig.held == []


def test_a_reservation_the_journal_cannot_record_is_released_from_memory(rig):
    reserve = rig.dinas.reserve_job

    def then_read_only(*args):
        reply = reserve(*args)
        rig.read_only()
        return reply
    rig.dinas.reserve_job = then_read_only
    outcome = rig.print("KK")
    assert (outcome.result, outcome.reason) == ("failed", "storage")
    assert rig.steps == RESERVING + [("reserving", "failed")]
    assert [(e.job_id, e.state, e.reason, e.detail) for e in rig.held] == [
        (outcome.job_id, "failed", "storage", {"stage": "journal"})]
    assert rig.printers["a4_printer"].printed == []


class Unprintable(MemoryPrinter):
    def __init__(self, role, error):
        super().__init__(role)
        self.error = error

    def prepare(self, job):
        raise self.error


@pytest.mark.parametrize("error, reason, detail", [
    (DocumentUnprintable("unreadable", "x" * 250), "unreadable", "x" * 200),
    (ZeroDivisionError("renderer bug"), "internal", "ZeroDivisionError"),
])
def test_a_document_that_cannot_be_rendered_fails_before_sending(tmp_path, caplog, error, reason, detail):
    rig = Rig(tmp_path, {"a4_printer": Unprintable("a4_printer", error)})
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk.orchestrator"):
            outcome = rig.print("KK")
        assert (outcome.result, outcome.reason) == ("failed", reason)
        # Rendered while staged, before `send` says "sending": it never got that far.
        assert rig.steps == RESERVING + [("reserving", "done"), ("sending", "failed")]
        assert rig.events() == [("failed", reason, {"stage": "prepare", "error": detail})]
        assert rig.journal.counters() == {"KK": {"failed": 1}}
    finally:
        rig.close()
    [record] = [r for r in caplog.records if r.name == "kiosk.orchestrator"]
    if reason == "unreadable":
        assert (record.levelno, record.getMessage()) == (
            logging.WARNING, f"job {outcome.job_id}: KK document not printable: unreadable ({'x' * 250})")
        assert record.exc_info is None
    else:
        assert (record.levelno, record.getMessage()) == (logging.ERROR, f"job {outcome.job_id}: rendering failed")


class CountersFail(MemoryPrinter):
    def __init__(self, role, error, after=0):
        super().__init__(role)
        self.error, self.reads_left = error, after

    def counters(self):
        if self.reads_left == 0:
            raise self.error
        self.reads_left -= 1
        return super().counters()


@pytest.mark.parametrize("error, reason", [
    (DeviceError(FaultCode.DISCONNECTED, "gone"), "disconnected"),
    (RuntimeError("no card_printer configured"), "timeout"),
])
def test_counters_that_cannot_be_read_fail_the_print_before_sending(tmp_path, error, reason):
    rig = Rig(tmp_path, {"card_printer": CountersFail("card_printer", error)})
    try:
        outcome = rig.print("KIA")
        assert (outcome.result, outcome.reason) == ("failed", reason)
        assert outcome.job_id == rig.journal.jobs()[0].job_id
        assert rig.steps == SENDING + [("sending", "failed")]
        assert rig.events() == [("failed", reason, {"stage": "counters"})]
        assert rig.printers["card_printer"].printed == []
    finally:
        rig.close()


def test_a_sending_state_the_journal_cannot_record_sends_nothing(rig):
    printer = rig.printers["card_printer"]
    printer.counters = lambda: (rig.read_only(), {"cards_inserted": 0})[1]
    outcome = rig.print("KIA")
    assert (outcome.result, outcome.reason) == ("failed", "storage")
    assert outcome.job_id == rig.journal.jobs()[0].job_id
    assert rig.steps == SENDING + [("sending", "failed")]
    assert [(e.job_id, e.state) for e in rig.held] == [(outcome.job_id, "printing"), (outcome.job_id, "failed")]
    assert (rig.held[1].reason, rig.held[1].detail) == ("storage", {"stage": "journal"})
    assert printer.printed == [] and printer.cards_inserted == 0


@pytest.mark.parametrize("role, kind, spoiled", [("card_printer", "KIA", True), ("a4_printer", "KK", False)])
def test_a_device_fault_fails_the_print_and_counts_a_card_it_took(rig, role, kind, spoiled):
    fault = DeviceError(FaultCode.MEDIA_JAM, "jam at the head")
    rig.printers[role].fail_with = fault
    outcome = rig.print(kind)
    assert (outcome.result, outcome.reason) == ("failed", "media_jam")
    assert rig.steps == SENDING + [("printing", "active"), ("sending", "failed")]
    job = rig.journal.job(outcome.job_id)
    assert (job.state, job.reason, job.review) == ("failed", "media_jam", False)
    assert rig.events()[-1] == ("failed", "media_jam", {"fault": fault.fault.as_dict()})
    assert rig.journal.counters() == {kind: {"failed": 1, **({"cards_spoiled": 1} if spoiled else {})}}


def test_a_driver_bug_is_a_failed_print_logged_with_its_traceback(rig, caplog):
    rig.printers["card_printer"].fail_with = ZeroDivisionError("driver bug")
    with caplog.at_level(logging.ERROR, logger="kiosk.orchestrator"):
        outcome = rig.print("KIA")
    assert (outcome.result, outcome.reason) == ("failed", "hardware")
    assert rig.steps == SENDING + [("printing", "active"), ("sending", "failed")]
    assert rig.events()[-1] == ("failed", "hardware", {"error": "ZeroDivisionError"})
    assert rig.journal.counters() == {"KIA": {"failed": 1, "cards_spoiled": 1}}
    [record] = [r for r in caplog.records if r.name == "kiosk.orchestrator"]
    assert record.getMessage() == f"job {outcome.job_id}: driver failed" and record.exc_info


def test_no_card_is_counted_spoiled_when_the_counters_cannot_be_read_after_a_fault(tmp_path):
    printer = CountersFail("card_printer", DeviceError(FaultCode.DISCONNECTED), after=1)
    printer.fail_with = DeviceError(FaultCode.MEDIA_JAM)
    rig = Rig(tmp_path, {"card_printer": printer})
    try:
        outcome = rig.print("KIA")
        assert outcome.reason == "media_jam"
        assert rig.journal.counters() == {"KIA": {"failed": 1}}
    finally:
        rig.close()


def test_a_job_the_print_server_may_still_hold_is_kept_open_not_released(rig, caplog):
    rig.printers["a4_printer"].fail_with = JobMayStillPrint(FaultCode.OFFLINE, "no answer to cancel")
    with caplog.at_level(logging.WARNING, logger="kiosk.orchestrator"):
        outcome = rig.print("KK")
    assert (outcome.result, outcome.reason) == ("failed", "offline")
    assert rig.steps == SENDING + [("printing", "active"), ("sending", "failed")]
    assert caplog.messages == [f"job {outcome.job_id}: no answer to cancel; kept open until its print server answers"]
    assert rig.kept_open == [outcome.job_id]
    assert rig.journal.job(outcome.job_id).state == "sending"
    assert [state for state, _, _ in rig.events()] == ["printing"]


class Held(MemoryPrinter):
    """A card printer whose print ends when the test says so."""

    def __init__(self, role):
        super().__init__(role)
        self.release = threading.Event()

    def print_document(self, job, progress=None):
        self.release.wait(10)
        return super().print_document(job, progress)


def test_a_card_print_past_its_deadline_is_failed_for_review(tmp_path):
    printer = Held("card_printer")
    rig = Rig(tmp_path, {"card_printer": printer}, deadlines={"card_printer": 0.1})
    try:
        outcome = rig.print("KIA")
        assert (outcome.result, outcome.reason) == ("failed", "timeout")
        assert rig.steps[-1] == ("sending", "failed")
        job = rig.journal.job(outcome.job_id)
        assert (job.state, job.reason, job.review) == ("failed", "timeout", True)
        assert rig.events()[-1] == ("failed", "timeout", {"review": True})
        assert rig.journal.counters() == {"KIA": {"failed": 1}}
    finally:
        printer.release.set()
        rig.close()


def test_a_driver_without_a_deadline_of_its_own_leaves_the_kiosks(tmp_path):
    printer = Held("card_printer")                    # deadline_s None
    rig = Rig(tmp_path, {"card_printer": printer}, deadlines={"card_printer": 0.1})
    try:
        threading.Timer(0.6, printer.release.set).start()
        assert rig.print("KIA").reason == "timeout"
    finally:
        printer.release.set()
        rig.close()


def test_a_role_the_deadlines_leave_out_gets_the_registrys(tmp_path):
    rig = Rig(tmp_path, deadlines={"a4_printer": 5.0})
    try:
        assert rig.print("KIA").printed
    finally:
        rig.close()


def test_the_drivers_longer_deadline_wins_over_the_kiosks(tmp_path):
    printer = Held("card_printer")
    printer.deadline_s = 5.0
    rig = Rig(tmp_path, {"card_printer": printer}, deadlines={"card_printer": 0.05})
    try:
        threading.Timer(0.3, printer.release.set).start()
        assert rig.print("KIA").printed
    finally:
        printer.release.set()
        rig.close()


@pytest.mark.parametrize("error, reason", [
    (DeviceError(FaultCode.PAPER_OUT, "tray empty"), "paper_out"),
    (ZeroDivisionError("driver bug"), "hardware"),
])
def test_a_queued_print_that_fails_after_its_deadline_is_released_for_review(tmp_path, error, reason):
    printer = QueuedMemoryPrinter()
    printer.fail_with = error
    rig = Rig(tmp_path, {"a4_printer": printer}, deadlines={"a4_printer": 0.1})
    try:
        outcome = rig.print("KK")
        assert outcome.reason == "timeout" and rig.journal.job(outcome.job_id).state == "sending"
        printer.release.set()
        wait_for(lambda: rig.journal.job(outcome.job_id).state != "sending")
        job = rig.journal.job(outcome.job_id)
        assert (job.state, job.reason, job.review) == ("failed", reason, True)
        assert rig.events()[-1] == ("failed", reason, {"late": True, "review": True})
    finally:
        printer.release.set()
        rig.close()


def test_a_late_print_the_journal_cannot_record_is_delivered_from_memory(tmp_path):
    printer = QueuedMemoryPrinter()
    rig = Rig(tmp_path, {"a4_printer": printer}, deadlines={"a4_printer": 0.1})
    try:
        outcome = rig.print("KK")
        rig.read_only()
        printer.release.set()
        wait_for(lambda: rig.held)
        [event] = rig.held
        assert (event.job_id, event.state, event.detail) == (outcome.job_id, "printed", {"late": True, "review": True})
    finally:
        printer.release.set()
        rig.close()


def test_a_queued_print_that_may_still_print_after_its_deadline_is_kept_open(tmp_path):
    printer = QueuedMemoryPrinter()
    printer.fail_with = JobMayStillPrint(FaultCode.OFFLINE)
    rig = Rig(tmp_path, {"a4_printer": printer}, deadlines={"a4_printer": 0.1})
    try:
        outcome = rig.print("KK")
        printer.release.set()
        wait_for(lambda: rig.kept_open)
        assert rig.kept_open == [outcome.job_id] and rig.journal.job(outcome.job_id).state == "sending"
    finally:
        printer.release.set()
        rig.close()


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.02)


class Sends(MemoryPrinter):
    """Tells the orchestrator the device holds the job (on_sent), then prints it."""

    def __init__(self, role, before_sent=lambda: None):
        super().__init__(role)
        self.before_sent = before_sent

    def print_document(self, job, progress=None):
        self.before_sent()
        job.on_sent({"ipp_job_id": 42})
        return super().print_document(job, progress)


def test_the_devices_reference_for_the_job_is_journaled(tmp_path):
    rig = Rig(tmp_path, {"a4_printer": Sends("a4_printer")})
    try:
        outcome = rig.print("KK")
        assert rig.journal.job(outcome.job_id).device_job == {"ipp_job_id": 42}
    finally:
        rig.close()


def test_a_print_the_journal_cannot_record_is_still_printed_for_the_citizen(tmp_path, caplog):
    holder = {}
    rig = Rig(tmp_path, {"a4_printer": Sends("a4_printer", lambda: holder["rig"].read_only())})
    holder["rig"] = rig
    try:
        with caplog.at_level(logging.ERROR, logger="kiosk.orchestrator"):
            outcome = rig.print("KK", assisted_by="slot-1")
        assert outcome.printed and rig.steps[-1] == ("done", "done")
        assert [(e.state, e.detail) for e in rig.held] == [("printed", {"assisted": True})]
    finally:
        rig.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "kiosk.orchestrator"]
    assert messages == [f"job {outcome.job_id}: the print server's job id could not be journaled",
                        f"job {outcome.job_id} printed but not journaled; its event is delivered from memory"]


RECEIPT = Receipt("K-1", "Test", NOW, "KK", "320101******0003", "job-1", "https://dinas.example/v/1")


def test_a_receipt_is_printed_and_counted_against_its_documents_kind(rig):
    assert rig.orchestrator.print_receipt(RECEIPT) is True
    assert rig.printers["receipt_printer"].receipts == [RECEIPT]
    assert rig.journal.counters() == {"KK": {"receipts_printed": 1}}


def test_no_receipt_on_a_receipt_printer_that_is_down_or_absent(rig, tmp_path):
    rig.printers["receipt_printer"].state = DeviceState.OFFLINE
    rig.board.refresh()
    assert rig.orchestrator.print_receipt(RECEIPT) is False
    without = Rig(tmp_path / "without", {"a4_printer": MemoryPrinter("a4_printer")})
    try:
        assert without.orchestrator.print_receipt(RECEIPT) is False
    finally:
        without.close()
    assert rig.printers["receipt_printer"].receipts == [] and rig.journal.counters() == {}


def test_a_receipt_that_fails_is_no_refusal_and_is_not_counted(rig, caplog):
    def jam(receipt):
        raise DeviceError(FaultCode.PAPER_OUT)
    rig.printers["receipt_printer"].print_receipt = jam
    with caplog.at_level(logging.WARNING, logger="kiosk.orchestrator"):
        assert rig.orchestrator.print_receipt(RECEIPT) is False
    assert [r.getMessage() for r in caplog.records if r.name == "kiosk.orchestrator"] == [
        "receipt not printed: DeviceError"]
    assert rig.journal.counters() == {}


def test_a_receipt_the_journal_cannot_count_is_still_printed(rig, caplog):
    rig.read_only()
    with caplog.at_level(logging.ERROR, logger="kiosk.orchestrator"):
        assert rig.orchestrator.print_receipt(RECEIPT) is True
    assert "a printed receipt could not be counted in the journal" in [
        r.getMessage() for r in caplog.records if r.name == "kiosk.orchestrator"]


def test_a_dinas_error_becomes_the_reason_the_citizen_is_given():
    assert _dinas_reason(de.DinasUnavailable(detail="down")) == "network"
    assert _dinas_reason(de.PinUsed(detail="used", status=410)) == "pin_used"
    assert _dinas_reason(ValueError("no code")) == "error"


def test_the_download_is_asked_for_in_the_citizens_session(rig):
    asked = []
    download = rig.dinas.download_document
    rig.dinas.download_document = lambda session_id, document: (asked.append(session_id),
                                                                 download(session_id, document))[1]
    assert rig.print("KK", fetch=True).printed and asked == ["session-1"]


class QueuedCard(Held):
    """A card printer behind a queue (QueuedJobs), so a late print is settled, not failed."""

    def settle_interrupted(self, job, ref):
        raise AssertionError("not asked here")


def test_a_print_that_ends_after_its_deadline_is_journaled_printed_late_with_its_counters(tmp_path, caplog):
    printer = QueuedCard("card_printer")
    rig = Rig(tmp_path, {"card_printer": printer}, deadlines={"card_printer": 0.1})
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk.orchestrator"):
            outcome = rig.print("KIA")
            assert outcome.reason == "timeout"
            printer.release.set()
            wait_for(lambda: rig.journal.job(outcome.job_id).state == "printed")
        job = rig.journal.job(outcome.job_id)
        assert (job.reason, job.review, job.counters_after) == ("late", True, {"cards_inserted": 1})
        assert rig.journal.counters() == {"KIA": {"printed": 1}}
        assert rig.events()[-1] == ("printed", None, {"late": True, "review": True})
    finally:
        printer.release.set()
        rig.close()
    assert f"job {outcome.job_id}: printed after its deadline" in caplog.messages


class SlowReceipts(MemoryPrinter):
    def __init__(self):
        super().__init__("receipt_printer")
        self.release = threading.Event()

    def print_receipt(self, receipt):
        self.release.wait(5)
        super().print_receipt(receipt)


def test_a_receipt_slower_than_its_deadline_is_given_up(tmp_path, caplog):
    printer = SlowReceipts()
    rig = Rig(tmp_path, {"receipt_printer": printer}, deadlines={"receipt_printer": 0.2})
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="kiosk.orchestrator"):
            assert rig.orchestrator.print_receipt(RECEIPT) is False
        assert time.monotonic() - started < 2.0
        assert "receipt not printed: TimeoutError" in caplog.messages
    finally:
        printer.release.set()
        rig.close()


def test_the_reservation_names_the_session_the_job_and_the_document(rig):
    asked = []
    reserve = rig.dinas.reserve_job
    rig.dinas.reserve_job = lambda *args: (asked.append(args), reserve(*args))[1]
    outcome = rig.print("KK")
    assert asked == [("session-1", outcome.job_id, "doc-KK")]
