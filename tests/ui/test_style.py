"""High contrast: every text colour against the background it is drawn on, by the WCAG
formula (>= 7:1, level AAA, for citizens with weak eyes in a bright hall)."""

from __future__ import annotations

import pytest

from tests.ui import harness  # noqa: F401 - Kivy's environment before ui.style imports kivy.metrics
from ui import style as S


def luminance(rgba) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


PAIRS = {
    "body text on white": (S.INK, S.WHITE),
    "headings and secondary buttons on white": (S.NAVY, S.WHITE),
    "primary button text": (S.WHITE, S.NAVY),
    "text on cards": (S.INK, S.PALE),
    "headings on cards": (S.NAVY, S.PALE),
    "error text on white": (S.ERROR, S.WHITE),
    "error banner text": (S.WHITE, S.ERROR),
    "done marks": (S.WHITE, S.SUCCESS),
    "available note on cards": (S.SUCCESS, S.PALE),
    "a button not yet usable": (S.INK, S.DISABLED_BG),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_contrast_is_aaa(name):
    assert contrast(*PAIRS[name]) >= 7.0, f"{name}: {contrast(*PAIRS[name]):.1f}:1"


def test_the_formula_can_fail():
    assert contrast((0.6, 0.6, 0.6, 1), S.WHITE) < 3


def test_sizes_for_a_public_touchscreen():
    assert S.TOUCH_MIN >= 15 / 25.4 * 160 and S.BUTTON_HEIGHT >= S.TOUCH_MIN and S.KEY_HEIGHT >= S.TOUCH_MIN
    assert min(S.FONT_SMALL, S.FONT_BODY) >= 28 and S.FONT_HEADING > S.FONT_BODY
