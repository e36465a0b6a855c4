"""The hidden gesture: a 5 s hold on the header's corner, then three quick taps there."""

from __future__ import annotations

from ui.staff_gesture import CornerGesture


def play(gesture: CornerGesture, touches) -> list[bool]:
    """touches: (in_corner, down_at, up_at) each."""
    return [gesture.down(corner, down) or gesture.up(corner, up) for corner, down, up in touches]


def test_hold_then_three_taps_opens():
    assert play(CornerGesture(), [(True, 0, 5.2), (True, 6, 6.1), (True, 7, 7.1), (True, 8, 8.1)]) == \
        [False, False, False, True]


def test_what_a_citizen_does_by_chance_does_not_open():
    cases = [
        [(True, 0, 4.5), (True, 5, 5.1), (True, 6, 6.1), (True, 7, 7.1)],              # hold too short
        [(True, 0, 5.2), (True, 6, 6.1), (False, 6.5, 6.6), (True, 7, 7.1), (True, 8, 8.1)],  # a touch elsewhere
        [(True, 0, 5.2), (True, 6, 6.1), (True, 9, 9.1), (True, 10, 10.1)],            # a pause too long
        [(True, 0, 5.2), (True, 6, 6.1), (True, 7, 9), (True, 9.5, 9.6)],              # a second hold
        [(True, t, t + 0.1) for t in range(10)],                                       # many quick taps
    ]
    for touches in cases:
        assert not any(play(CornerGesture(), touches)), touches
