"""The orchestrator's deadline never releases an A4 document that its queue may still print:
it waits at least as long as the driver's own deadline (after which the driver cancels the
job itself), and a print it stopped waiting for keeps its reservation until the driver says
how the job ended."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from kiosk.config import Settings
from kiosk.devices_runtime import DeviceBoard
from kiosk.journal import Journal
from kiosk.orchestrator import PrintOrchestrator
from kiosk.outbox import Outbox
from printer_drivers.a4 import A4Printer
from printer_drivers.base import InterruptedJob
from tests.fixtures.kiosk import FakeDinas, MemoryPrinter


class QueuedMemoryPrinter(MemoryPrinter):
    """An A4 printer behind a queue (base.QueuedJobs) whose print ends when a test says so."""

    def __init__(self) -> None:
        super().__init__("a4_printer")
        self.release = threading.Event()

    def print_document(self, job, progress=None):
        self.release.wait(30)
        return super().print_document(job, progress)

    def settle_interrupted(self, job, ref):
        return InterruptedJob("not_found")


def rig(tmp_path, printer, deadline_s):
    dinas = FakeDinas(kinds=("KK",))
    board = DeviceBoard({"a4_printer": printer}, poll_interval=0.05).start()
    board.refresh()
    journal = Journal(tmp_path / "journal.sqlite")
    outbox = Outbox(journal, lambda e: dinas.post_event(e.job_id, e.event_id, e.state, e.at))
    orchestrator = PrintOrchestrator(dinas, journal, outbox, board, deadlines={"a4_printer": deadline_s})
    return dinas, board, journal, outbox, orchestrator


def print_kk(dinas, orchestrator):
    [document] = dinas.documents()
    return orchestrator.print_one("session", document, dinas.pdfs[document.id], Settings(),
                                  datetime.now(timezone.utc), lambda step, state: None)


def test_the_kiosk_waits_for_the_a4_drivers_own_deadline(tmp_path):
    printer = A4Printer(f"sim:a4_printer?out={tmp_path / 'a4'}&slow=0.6", job_timeout=5, poll_interval=0.05)
    assert printer.deadline_s >= 5
    dinas, board, journal, outbox, orchestrator = rig(tmp_path, printer, deadline_s=0.2)
    try:
        outcome = print_kk(dinas, orchestrator)       # takes 0.6 s, longer than the 0.2 s given
    finally:
        board.stop()
    assert (outcome.result, outcome.reason) == ("printed", None)
    assert journal.job(outcome.job_id).state == "printed"


def test_a_print_the_kiosk_stopped_waiting_for_is_settled_when_the_driver_is_done(tmp_path):
    printer = QueuedMemoryPrinter()
    dinas, board, journal, outbox, orchestrator = rig(tmp_path, printer, deadline_s=0.2)
    try:
        outcome = print_kk(dinas, orchestrator)
        assert (outcome.result, outcome.reason) == ("failed", "timeout")      # the citizen is told
        job = journal.job(outcome.job_id)
        assert job.state == "sending"                                       # not released
        assert [r["state"] for r in journal.outbox_rows()] == ["printing"]
        printer.release.set()                                               # the page came out late
        deadline = time.monotonic() + 10
        while journal.job(outcome.job_id).state == "sending":
            assert time.monotonic() < deadline, "the late print was never settled"
            time.sleep(0.02)
    finally:
        board.stop()
    job = journal.job(outcome.job_id)
    assert (job.state, job.reason, job.review) == ("printed", "late", True)
    assert [r["state"] for r in journal.outbox_rows()] == ["printing", "printed"]

