from devices.status import DeviceState
from kiosk.devices_runtime import DeviceBoard
from kiosk.journal import Journal
from kiosk.recovery import recover
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
