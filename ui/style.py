"""Colours and sizes for a public touchscreen, in one place for every .kv file.

Assumption about the panel: 96-160 dpi (a 21.5" 1080x1920 stand is about 102 dpi, a 10"
1280x800 panel about 150). A 15 mm touch target is 57-95 px across that range, so every touch
target is at least max(15 mm at the reported dpi, 96 px): right even when the X server reports
a wrong dpi, which they often do. Fonts: body >= 28 sp, headings 48 sp, readable from 60 cm.
Colours: dark ink on white and white on dark blue only (contrast >= 7:1, WCAG AAA).
"""

from __future__ import annotations

from kivy.metrics import dp, mm, sp

# Colours (RGBA). Contrast against their background is checked in tests/ui/test_style.py.
NAVY = (0.039, 0.200, 0.451, 1)        # #0A3373: header, primary buttons
INK = (0.067, 0.067, 0.098, 1)         # #111119: body text on white
WHITE = (1, 1, 1, 1)
PALE = (0.918, 0.941, 0.980, 1)        # #EAF0FA: card backgrounds behind INK text
ERROR = (0.690, 0.000, 0.125, 1)       # #B00020: error text on white / error banner
SUCCESS = (0.000, 0.333, 0.165, 1)     # #00552A: done marks, "ready" on cards
DISABLED_BG = (0.867, 0.890, 0.933, 1)  # #DDE3EE: a primary button not yet usable, INK text

TOUCH_MIN = max(mm(15), dp(96))
BUTTON_HEIGHT = max(TOUCH_MIN, dp(112))
KEY_HEIGHT = max(TOUCH_MIN, dp(104))
HEADER_HEIGHT = max(TOUCH_MIN, dp(112))
PADDING = dp(32)
SPACING = dp(20)

FONT_SMALL = sp(28)
FONT_BODY = sp(32)
FONT_BUTTON = sp(38)
FONT_HEADING = sp(50)
FONT_KEY = sp(52)
FONT_DIGIT = sp(46)
