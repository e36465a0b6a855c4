import time

import pytest

from devices.sim.evolis import EvolisSimulator
from devices.sim.serve import serve_pty
from devices.status import DeviceState, FaultCode
from kiosk.devices_runtime import DeviceBoard
from kiosk.journal import Journal
from kiosk.recovery import recover
from printer_drivers.evolis.printer import EvolisPrinter
from printer_drivers.evolis.protocol import download_frame, frame
from tests.fixtures.kiosk import MemoryPrinter


def board_with(cards_inserted=5, offline=False):
    card = MemoryPrinter("card_printer")
    card.cards_inserted = cards_inserted
    if offline:
        def broken():
            raise RuntimeError("no answer")
        card.counters = broken
        card.state = DeviceState.OFFLINE
    return DeviceBoard({"card_printer": card, "a4_printer": MemoryPrinter("a4_printer")}).start()


def journal_with(tmp_path, state, role="card_printer", kind="KIA", before=None):
    journal = Journal(tmp_path / "j.sqlite")
    journal.create_job("job", "doc", kind, role)
    if state in ("reserved", "sending"):
        journal.transition("job", "reserved")
    if state == "sending":
        journal.transition("job", "sending", counters_before=before)
    return journal


def settle(tmp_path, state, board, **kwargs):
    journal = journal_with(tmp_path, state, **kwargs)
    try:
        [result] = recover(journal, board)
    finally:
        board.stop()
    return journal, result


def events(journal):
    return [(r["state"], r["reason"]) for r in journal.outbox_rows()]


def test_created_and_reserved_are_released(tmp_path):
    for state in ("created", "reserved"):
        path = tmp_path / state
        journal, result = settle(path, state, board_with())
        assert result.now == "failed" and not result.review
        assert journal.job("job").reason == "interrupted" and events(journal) == [("failed", "interrupted")]


def test_card_not_taken_is_released_without_review(tmp_path):
    journal, result = settle(tmp_path, "sending", board_with(5), before={"cards_inserted": 5})
    assert result.now == "failed" and not result.review


def test_card_taken_is_settled_printed_for_review(tmp_path):
    journal, result = settle(tmp_path, "sending", board_with(6), before={"cards_inserted": 5})
    assert result.now == "printed" and result.review
    assert events(journal) == [("printed", None)] and journal.job("job").review
    assert journal.counters()["KIA"] == {"printed": 1}


def test_unreadable_counters_and_a4_are_failed_for_review(tmp_path):
    _, card = settle(tmp_path / "c", "sending", board_with(offline=True), before={"cards_inserted": 5})
    _, a4 = settle(tmp_path / "a", "sending", board_with(), role="a4_printer", kind="KK", before={})
    assert (card.now, card.review) == ("failed", True) and (a4.now, a4.review) == ("failed", True)


def test_finished_jobs_are_left_alone(tmp_path):
    journal = journal_with(tmp_path, "sending", before={"cards_inserted": 1})
    journal.transition("job", "printed")
    board = board_with()
    try:
        assert recover(journal, board) == []
    finally:
        board.stop()


# --- a card taken: the real driver and simulator say where it is now ---------------------------

FAST = {"timeout": 1.0, "poll_interval": 0.01, "card_timeout": 5.0}


@pytest.fixture
def evolis_board():
    """evolis_board(sim) -> a DeviceBoard with EvolisPrinter on the simulator over a pty."""
    opened = []

    def make(sim):
        context = serve_pty(sim)
        link = context.__enter__()
        board = DeviceBoard({"card_printer": EvolisPrinter(link.url, **FAST)}).start()
        opened.append((board, context))
        return board
    yield make
    for board, context in opened:
        board.stop()
        context.__exit__(None, None, None)


def card_left_by_a_crash(eject=False, **options):
    """A simulator as a kiosk that died mid-card leaves it: the card taken (counter 1), part
    of the front sent; with `eject`, the card was already on its way out."""
    sim = EvolisSimulator(**options)
    white_k = download_frame("k", 2, b"\x00" * 1016, True)
    sim.feed(frame("Pr", "ymcko") + frame("Ss") + frame("Sr") + white_k + (frame("Se") if eject else b""))
    sim.take_output()
    return sim


def recover_card_job(tmp_path, board, grace=0.3):
    journal = journal_with(tmp_path, "sending", before={"cards_inserted": 0, "panels_printed": 0})
    [result] = recover(journal, board, card_grace_s=grace)
    return journal, result


def test_card_stopped_mid_print_is_rejected_and_the_document_released(tmp_path, evolis_board):
    sim = card_left_by_a_crash()
    board = evolis_board(sim)
    assert board.refresh()["card_printer"].has_fault(FaultCode.MEDIA_JAM)       # not offered meanwhile
    journal, result = recover_card_job(tmp_path, board)
    assert (result.now, result.review) == ("failed", True) and "reject box" in result.why
    assert sim.snapshot()["card"] is None and sim.snapshot()["rejected"] == 1 and sim.log.count("Ser") == 1
    job = journal.job("job")
    assert (job.state, job.reason, job.review) == ("failed", "interrupted", True)
    assert events(journal) == [("failed", "interrupted")]
    assert journal.counters()["KIA"] == {"failed": 1, "cards_spoiled": 1}
    [audit] = journal.audit_trail()
    assert (audit["actor"], audit["action"], audit["detail"]["outcome"]) == ("kiosk", "card_rejected", "rejected")
    assert audit["detail"]["job_id"] == "job" and audit["detail"]["counters_now"]["cards_inserted"] == 1
    assert board.statuses()["card_printer"].state == DeviceState.READY         # free for the next card


def test_card_ejecting_slowly_is_waited_for_and_settled_printed(tmp_path, evolis_board):
    sim = card_left_by_a_crash(eject=True, card_seconds=0.5)
    board = evolis_board(sim)
    journal, result = recover_card_job(tmp_path, board, grace=3.0)
    assert (result.now, result.review) == ("printed", True)
    assert sim.snapshot()["rejected"] == 0 and "Ser" not in sim.log and len(sim.decoded) == 1
    assert journal.counters()["KIA"] == {"printed": 1} and journal.audit_trail() == []


def test_a_card_the_printer_had_whole_is_waited_for_past_the_grace(tmp_path, evolis_board):
    """The kiosk died after `Se` and journaled CARD_WHOLE: the printer is still printing the
    card (here 1 s, a real one ~30 s), longer than the grace. Recovery waits for it and
    settles it printed; without the mark the same card would be rejected after the grace."""
    from printer_drivers.base import CARD_WHOLE
    sim = card_left_by_a_crash(eject=True, card_seconds=1.0)
    board = evolis_board(sim)
    journal = journal_with(tmp_path, "sending", before={"cards_inserted": 0, "panels_printed": 0})
    journal.note_device_job("job", CARD_WHOLE)
    [result] = recover(journal, board, card_grace_s=0.1)
    assert (result.now, result.review) == ("printed", True)
    assert sim.snapshot()["rejected"] == 0 and "Ser" not in sim.log and len(sim.decoded) == 1
    assert journal.counters()["KIA"] == {"printed": 1}


def test_a_card_without_the_mark_still_gets_only_the_grace(tmp_path, evolis_board):
    sim = card_left_by_a_crash(eject=True, card_seconds=1.0)
    board = evolis_board(sim)
    journal, result = recover_card_job(tmp_path, board, grace=0.1)
    assert (result.now, result.review) == ("failed", True) and sim.snapshot()["rejected"] == 1


def test_a_reject_the_last_recovery_made_before_it_died_is_settled_spoiled(tmp_path, evolis_board):
    """Recovery sent a card stopped mid-print to the reject box, and the kiosk died again
    before it could settle the job: the card is gone, the counters advanced. The mark
    journaled before `Ser` says where it went: a spoiled card, the document released, not a
    card `printed` that the citizen never got."""
    from kiosk.recovery import CARD_REJECTING
    sim = card_left_by_a_crash()
    sim.feed(frame("Ser"))
    sim.take_output()
    board = evolis_board(sim)
    journal = journal_with(tmp_path, "sending", before={"cards_inserted": 0, "panels_printed": 0})
    journal.note_device_job("job", CARD_REJECTING)
    [result] = recover(journal, board, card_grace_s=0.1)
    assert (result.now, result.review) == ("failed", True) and "reject box" in result.why
    assert journal.counters()["KIA"] == {"failed": 1, "cards_spoiled": 1}
    assert journal.audit_trail()[0]["detail"]["outcome"] == "rejected before a restart"
    assert sim.log.count("Ser") == 1                      # not asked again


def test_recovery_marks_a_card_before_it_rejects_it(tmp_path, evolis_board):
    from kiosk.recovery import CARD_REJECTING
    sim = card_left_by_a_crash()
    board = evolis_board(sim)
    journal, result = recover_card_job(tmp_path, board, grace=0.1)
    assert result.now == "failed" and journal.job("job").device_job == CARD_REJECTING


@pytest.mark.parametrize("block, code", [
    (lambda sim: sim.set_cover(True), "cover_open"),
    (lambda sim: (sim.inject("jam_mid_card"), sim.feed(frame("Se")), sim.take_output()), "media_jam"),
], ids=["cover_open", "jam"])
def test_card_the_printer_will_not_reject_stays_a_fault(tmp_path, evolis_board, block, code):
    sim = card_left_by_a_crash()
    block(sim)
    board = evolis_board(sim)
    journal, result = recover_card_job(tmp_path, board)
    assert (result.now, result.review) == ("failed", True) and "technician" in result.why
    assert sim.snapshot()["card"] is not None and sim.snapshot()["rejected"] == 0
    assert journal.counters()["KIA"] == {"failed": 1, "cards_spoiled": 1}
    assert journal.audit_trail()[0]["detail"]["outcome"] == f"refused: {code}"
    assert not board.statuses()["card_printer"].usable                          # KIA stays off offer


def test_an_a4_job_whose_print_server_does_not_answer_stays_open_until_it_does(tmp_path):
    """Nothing answers on the A4 printer's port at start: the job stays `sending` (the
    dinas keeps the KK reserved) with no event; once the server answers, the job it still
    prints is cancelled first, then released."""
    from devices import ipp
    from devices.sim.a4 import QUEUE_NAME, SimulatedA4Printer
    from kiosk.recovery import retry_left_open
    from printer_drivers.a4 import A4Printer
    from tests.fixtures.cups import a4_pdf, free_port

    port = free_port()
    journal = journal_with(tmp_path, "sending", role="a4_printer", kind="KK")
    board = DeviceBoard({"a4_printer": A4Printer(f"ipp://127.0.0.1:{port}/printers/{QUEUE_NAME}", timeout=2)}).start()
    server = None
    try:
        [result] = recover(journal, board)
        assert (result.now, journal.job("job").state, events(journal)) == ("sending", "sending", [])
        assert retry_left_open(journal, board, None, ["job"]) == ["job"]       # still nobody there

        server = SimulatedA4Printer(tmp_path / "a4", page_seconds=30, port=port)
        queued = server.submit("KK-job", a4_pdf())               # what the dead kiosk had sent
        deadline = time.monotonic() + 10
        while queued.state != ipp.JOB_PROCESSING:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert retry_left_open(journal, board, None, ["job"]) == []
        assert queued.job_id not in server.jobs                  # cancelled and purged
        record = journal.job("job")
        assert (record.state, record.reason, record.review) == ("failed", "interrupted", True)  # was printing
        assert events(journal) == [("failed", "interrupted")]
    finally:
        board.stop()
        if server is not None:
            server.stop()
