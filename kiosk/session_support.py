"""Small pieces the session engine uses: the kiosk-side PIN slowdown and document previews."""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import secrets
import threading
import time
from typing import Callable

from printer_drivers.pdf import open_pdf

PREVIEW_MAX_PX = 320


class PinSlowdown:
    """A growing pause before the next PIN try for the same identity is accepted
    (base, 2×base, 4×base … up to cap), on top of the dinas's own lockout.

    Identities are kept only as an HMAC under a key made at start-up and never stored, so
    this table holds no NIK or request number; entries are forgotten after `forget_after_s`.
    Memory only: a restart forgets everything, which is fine, the dinas still counts."""

    def __init__(self, base_s: float = 2.0, cap_s: float = 60.0, forget_after_s: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._base, self._cap, self._forget = base_s, cap_s, forget_after_s
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, tuple[int, float, float]] = {}   # failures, allowed at, last seen
        self._lock = threading.Lock()

    def tune(self, base_s: float, cap_s: float) -> None:
        """New pauses (pushed settings) for the next failures; the ones running stay."""
        with self._lock:
            self._base, self._cap = base_s, cap_s

    def _id(self, identity: str) -> bytes:
        return hmac.new(self._key, identity.encode(), hashlib.sha256).digest()

    def wait_s(self, identity: str) -> int:
        """Whole seconds to wait before a try is accepted; 0 when it may go now."""
        now = self._clock()
        with self._lock:
            self._purge(now)
            entry = self._entries.get(self._id(identity))
        if entry is None:
            return 0
        return max(0, math.ceil(entry[1] - now))

    def failed(self, identity: str) -> float:
        now = self._clock()
        with self._lock:
            failures, _, _ = self._entries.get(self._id(identity), (0, 0.0, 0.0))
            failures += 1
            delay = min(self._cap, self._base * 2 ** (failures - 1))
            self._entries[self._id(identity)] = (failures, now + delay, now)
        return delay

    def succeeded(self, identity: str) -> None:
        with self._lock:
            self._entries.pop(self._id(identity), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _purge(self, now: float) -> None:
        for key in [k for k, (_, _, seen) in self._entries.items() if now - seen > self._forget]:
            del self._entries[key]


def render_preview(pdf: bytes, max_px: int = PREVIEW_MAX_PX) -> bytes:
    """The first page as a small PNG, fitted into max_px × max_px."""
    with open_pdf(pdf) as document:
        page = document[0]
        width, height = page.get_size()
        image = page.render(scale=max_px / max(width, height, 1)).to_pil()
        page.close()
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def blur_preview(png: bytes) -> bytes:
    """The preview blurred enough that names, numbers and dates cannot be read from a step
    behind the citizen, while the document's layout (a KK's table, a KIA's photo and card
    shape) stays recognisable. The radius follows the image: 1/64 of its longer side (5 px
    at 320 px), measured so that a KIA's 9-px field text turns to grey bands."""
    from PIL import Image, ImageFilter

    with Image.open(io.BytesIO(png)) as image:
        blurred = image.convert("RGB").filter(ImageFilter.GaussianBlur(max(image.size) / 64))
    out = io.BytesIO()
    # zlib's fastest level: these bytes only go to the screen, in memory. `optimize=True` spent
    # 180-250 ms of CPU on each blurred RGB preview, a third of a session's CPU in the soak
    # throughput bench (docs/PERFORMANCE.md); this takes 10-20 ms for some 8 kB more.
    blurred.save(out, "PNG", compress_level=1)
    return out.getvalue()
