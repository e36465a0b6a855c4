"""The hidden way into maintenance: a gesture no citizen makes by chance (issue 12).

Hold the header's left corner (the kiosk's name, which does nothing when touched) for
HOLD_S seconds, let go, then tap the same corner TAPS times, each tap within TAP_GAP_S of
the one before, the first within TAP_GAP_S of letting go. Anything else in between (a touch
elsewhere, a hold too short, a pause too long) starts it over. Pure logic over touch times,
so it is tested without a window; ui/staff_mode.py feeds it the window's touches.
"""

from __future__ import annotations

HOLD_S = 5.0
TAPS = 3
TAP_GAP_S = 2.0
TAP_MAX_S = 0.8          # a tap is short: a second hold is not a tap


class CornerGesture:
    def __init__(self, hold_s: float = HOLD_S, taps: int = TAPS, tap_gap_s: float = TAP_GAP_S) -> None:
        self.hold_s, self.taps, self.tap_gap_s = hold_s, taps, tap_gap_s
        self._down_at: float | None = None
        self._armed_at: float | None = None       # when the long hold ended
        self._tapped = 0

    def reset(self) -> None:
        self._down_at, self._armed_at, self._tapped = None, None, 0

    def down(self, in_corner: bool, now: float) -> None:
        if not in_corner:
            self.reset()
            return
        if self._armed_at is not None and now - self._armed_at > self.tap_gap_s:
            self.reset()
        self._down_at = now

    def up(self, in_corner: bool, now: float) -> bool:
        """True when this release completes the gesture."""
        down_at, self._down_at = self._down_at, None
        if not in_corner or down_at is None:
            self.reset()
            return False
        held = now - down_at
        if self._armed_at is None:
            if held >= self.hold_s:
                self._armed_at, self._tapped = now, 0
            return False
        if held > TAP_MAX_S:
            self.reset()
            return False
        self._tapped += 1
        self._armed_at = now
        if self._tapped >= self.taps:
            self.reset()
            return True
        return False
