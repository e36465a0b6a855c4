"""Keys from a hardware keyboard, a USB keypad or a keyboard-wedge QR scanner.

Every key press goes with its time to `devices.scanner.KeyboardWedgeDecoder`, which tells a
scanner's burst (many keys a few ms apart, then Enter) from a person typing; a burst becomes
`submit_scan`. So that a scan's characters (`ADM1:REQ-20261122-AB12CD`) never land in the NIK
boxes, a key sequence that starts with a non-digit is held back from the screen until Enter
or a pause. Digits, Backspace and Enter otherwise go to the current screen, the same path as
the on-screen keypad. Esc is swallowed (kiosk mode).
"""

from __future__ import annotations

import time

from kiosk.scan_input import KeyboardWedgeDecoder

KEY_ESCAPE = 27
KEY_BACKSPACE = 8
KEY_ENTERS = (13, 271)            # Return, keypad Enter
KEYPAD_DIGITS = range(256, 266)   # SDL keypad 0..9 as Kivy numbers them
HOLD_GAP_S = 0.5                  # held-back keys older than this were a person, not a scan


class KeyRouter:
    def __init__(self, app, decoder: KeyboardWedgeDecoder | None = None, clock=time.monotonic):
        self.app = app
        self.decoder = decoder if decoder is not None else KeyboardWedgeDecoder()
        self.clock = clock
        self.held = ""                 # keys kept from the screen: probably a scan
        self._held_at = 0.0

    def on_key_down(self, _window, key, _scancode=None, codepoint=None, _modifiers=None) -> bool:
        if key == KEY_ESCAPE:
            return True
        name = self.key_name(key, codepoint)
        if name is None:
            self.decoder.reset()
            return False
        now = self.clock()
        self.app.commands.touch()
        scan = self.decoder.feed(name, now)
        if scan is not None:
            self.held = ""
            self.app.commands.submit_scan(scan.text)
            return True
        if self._hold(name, now):
            return True
        screen = self.app.current_screen()
        return bool(screen is not None and screen.hardware_key(name))

    @staticmethod
    def key_name(key: int, codepoint: str | None) -> str | None:
        if key in KEYPAD_DIGITS:
            return str(key - KEYPAD_DIGITS.start)
        if key == KEY_BACKSPACE:
            return "backspace"
        if key in KEY_ENTERS:
            return "enter"
        if codepoint and len(codepoint) == 1 and codepoint.isprintable():
            return codepoint
        return None

    def _hold(self, name: str, now: float) -> bool:
        """True when the key is held back from the screen."""
        if self.held and now - self._held_at > HOLD_GAP_S:
            self.held = ""
        if name == "enter" and self.held:
            self.held = ""             # not a scan (too slow or too short): drop it quietly
            return True
        if len(name) == 1 and (self.held or not name.isdigit()):
            self.held += name
            self._held_at = now
            return True
        return False


class DigitKeys:
    """A screen that takes typed digits (the citizen's NIK or PIN, the technician's PIN or a
    count): a hardware key does what the same on-screen key does. The screen has `digits`,
    `add_digit` and `submit`."""

    def delete(self) -> None:
        self.digits = self.digits[:-1]

    def clear(self) -> None:
        self.digits = ""

    def hardware_key(self, key: str) -> bool:
        if key.isdigit():
            self.add_digit(key)
        elif key == "backspace":
            self.delete()
        elif key == "enter":
            self.submit()
        else:
            return False
        return True
