"""The family-wait benchmark's split of a wait (benchmarks/wait_timeline.py), on a made-up
timeline whose shares are known."""

import pytest

from benchmarks.wait_timeline import Call, shares, subtract, union
from devices.sim.mechanics import MechanicalJob


def test_interval_arithmetic():
    assert union([(3, 4), (0, 1), (0.5, 2), (5, 5)]) == [(0, 2), (3, 4)]
    assert subtract([(0, 10)], [(2, 3), (5, 7), (9, 12)]) == [(0, 2), (3, 5), (7, 9)]
    assert subtract([(0, 1)], [(0, 1)]) == []


def test_a_wait_is_split_into_the_printers_the_dinas_and_the_kiosk():
    # PIN at 0, last card shown out at 100. Cards: 10-50 and 52-92 (the second's data came
    # late: out at 95). The A4 page 5-30. Dinas calls on the card lane: 2-6 (before the first
    # card), 40-51 (the next card's reservation, mostly overlapped by the first card); the
    # outbox's call at 60-70 is nobody's wait.
    cards = [MechanicalJob(10, 40, 50), MechanicalJob(52, 40, 95)]
    page = [MechanicalJob(5, 25, 30)]
    calls = [Call("dinas reserve_job", "print-lane_1", 2, 6), Call("dinas reserve_job", "print-stage_0", 40, 51),
             Call("dinas post_event", "outbox", 60, 70), Call("dinas reserve_job", "print-lane_0", 3, 9)]
    lanes = {"print-lane_1", "print-stage_0", "session-io_0"}
    split = shares((0, 100), {"card_printer": cards, "a4_printer": page}, calls,
                   lambda role: lanes if role == "card_printer" else set(),
                   [Call("print send KK a4_printer", "print-lane_0", 5, 30)])
    assert split.critical == "card_printer" and split.mechanical == {"card_printer": 80, "a4_printer": 25}
    assert split.busy == 80 and split.dinas == pytest.approx(4 + 1) and split.dinas_calls == 2
    assert split.kiosk == pytest.approx(100 - 80 - 5)
    assert split.others == 0             # the page printed beside the cards: the card lane never waited for it
    one_lane = shares((0, 100), {"card_printer": cards, "a4_printer": page}, calls, lambda role: lanes,
                      [Call("print send KK a4_printer", "print-lane_1", 4, 31)])
    assert one_lane.others == pytest.approx(4)      # one after another: the page at 6-10 held the first card
    assert split.limit == pytest.approx(1.05 * 80 + 5) and split.wait > split.limit      # 15 of 80: missed
    assert dict((where, (total, of_it)) for where, total, of_it in split.segments) == {
        "before the first job": (10, 4), "between jobs 1 and 2": (2, 1), "after the last job": (8, 0)}
