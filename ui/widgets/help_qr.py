"""A QR code (help link, receipt verification) drawn from the `qrcode` library's module
matrix straight into a Kivy texture: one byte per module, scaled up with nearest filtering,
so it stays sharp at any size and needs no image file."""

from __future__ import annotations

from functools import lru_cache

import qrcode
from kivy.graphics.texture import Texture
from kivy.properties import StringProperty
from kivy.uix.image import Image

QUIET_ZONE = 4   # modules of white around the code, as the QR standard asks


@lru_cache(maxsize=8)
def qr_luminance(data: str) -> tuple[int, bytes]:
    """(side, one 0/255 byte per module, bottom row first as OpenGL expects)."""
    code = qrcode.QRCode(border=QUIET_ZONE, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    side = len(matrix)
    rows = [bytes(0 if dark else 255 for dark in row) for row in reversed(matrix)]
    return side, b"".join(rows)


def qr_texture(data: str) -> Texture:
    side, pixels = qr_luminance(data)
    texture = Texture.create(size=(side, side), colorfmt="luminance")
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    texture.blit_buffer(pixels, colorfmt="luminance", bufferfmt="ubyte")
    return texture


class HelpQR(Image):
    data = StringProperty("")

    def on_data(self, _instance, data: str) -> None:
        self.texture = qr_texture(data) if data else None
        self.opacity = 1 if data else 0
