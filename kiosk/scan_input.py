"""Scanner input as the view sees it.

A 2D scanner in keyboard mode types its code into the window; the view hands each
keystroke to a `KeyboardWedgeDecoder`, which tells a scan from a person typing. The UI
imports it from here because the view reaches devices only through the core.
"""

from devices.scanner import KeyboardWedgeDecoder, ScanEvent

__all__ = ["KeyboardWedgeDecoder", "ScanEvent"]
