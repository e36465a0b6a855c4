"""KIA card imaging: a PDF (front and back) -> the Y, M, C, K and O panels a card printer takes.

Everything after rasterising is whole-array numpy work (no per-pixel Python loops):

1. Rasterise each page with pypdfium2 at 300 dpi to exactly 1016 x 648 (landscape CR-80):
   scaled to fit; a page within 2 % of the card's shape is stretched to fill it, anything
   else is centred on white. A portrait page is turned a quarter turn first.
2. Colour ribbons: subtractive separation Y = 255 - B, M = 255 - G, C = 255 - R, quantised
   to 32/64/128 levels. The resin black panel K follows a black policy:
     - ``none``: no K; black is built from Y+M+C;
     - ``all_black``: every *near-black* pixel goes to K;
     - ``text`` (default): near-black pixels within ``TEXT_EDGE_PX`` pixels of a light pixel,
       i.e. strokes of text, lines and barcodes drawn on a light ground; the inside of a large
       black area and the dark parts of a photo stay in Y/M/C.
   *Near-black* means max(R, G, B) <= ``NEAR_BLACK_MAX`` and max - min <= ``NEAR_BLACK_CHROMA``
   (dark and colourless); *light* means luminance >= ``LIGHT_MIN``. Where K prints, Y/M/C
   are cleared so that resin sits on bare card.
3. The overlay O is set everywhere except the holes given (chip or stripe areas).
4. K-only ribbons (``ko``, ``kb``, ``k`` …) and the back of a YMCKO card get a dithered
   black panel (Floyd–Steinberg, done in C by Pillow's ``convert("1")``).
5. Every panel is turned a quarter turn clockwise to 648 x 1016 (the card's top edge
   becomes the panel's right edge, as the captured vendor streams show).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from ..base import UNREADABLE, DocumentUnprintable
from ..pdf import open_pdf
from ..registry import BLACK_POLICIES   # the choices are the card printer's options (registry)
from .compression import bits_for_levels, encode_mono, encode_runs

CARD_WIDTH, CARD_HEIGHT = 1016, 648          # landscape card, pixels at 300 dpi
NEAR_BLACK_MAX = 80
NEAR_BLACK_CHROMA = 40
LIGHT_MIN = 128
TEXT_EDGE_PX = 4
_STRETCH_TOLERANCE = 0.02

# Which panels each ribbon prints on the front and on the back.
RIBBON_PANELS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ymcko": (("y", "m", "c", "k", "o"), ("k", "o")),
    "ymckos": (("y", "m", "c", "k", "o"), ("k", "o")),
    "ymckok": (("y", "m", "c", "k", "o"), ("k",)),
    "ymckoo": (("y", "m", "c", "k", "o"), ("k", "o")),
    "ko": (("k", "o"), ("k", "o")),
    "kb": (("k",), ("k",)),
    "k": (("k",), ("k",)),
    "kw": (("k",), ("k",)),
}


class CardImageError(DocumentUnprintable):
    """The document cannot become a card (not a PDF, wrong page count, bad options)."""

    def __init__(self, detail: str, reason: str = UNREADABLE) -> None:
        super().__init__(reason, detail)


@dataclass(frozen=True, eq=False)
class PanelImage:
    name: str                   # y, m, c, k, o
    levels: int                 # 2 for K and O, else 32/64/128
    pixels: np.ndarray          # panel orientation: 1016 lines x 648 pixels, uint8

    def payload(self, compressed: bool) -> bytes:
        """The bytes of a Dbc (compressed) or Db download for this panel."""
        if not compressed:
            return pack_levels(self.pixels, self.levels)
        if self.levels == 2:
            return encode_mono(np.packbits(self.pixels, axis=1))
        return encode_runs(self.pixels, self.levels)


@dataclass(frozen=True)
class CardPanels:
    ribbon: str
    front: tuple[PanelImage, ...]
    back: tuple[PanelImage, ...] = field(default=())


# --- rasterising ----------------------------------------------------------------------------

def rasterize_pdf(pdf: bytes, max_pages: int = 2) -> list[np.ndarray]:
    """Each page as a 648 x 1016 x 3 RGB array (landscape card, 300 dpi)."""
    with open_pdf(pdf, max_pages=max_pages, what="a card PDF",
                  error=lambda reason, detail: CardImageError(detail, reason)) as document:
        return [_render_page(document[index]) for index in range(len(document))]


def _render_page(page: pdfium.PdfPage) -> np.ndarray:
    """Render straight into a white card-sized bitmap: pdfium scales the page into the target
    rectangle itself (stretching a near-card shape), so no resampling pass follows."""
    width, height = page.get_size()
    rotate = 0
    if height > width:
        width, height, rotate = height, width, 1          # a quarter turn clockwise
    left, top, target_w, target_h = target_rect(width, height)
    bitmap = pdfium.PdfBitmap.new_native(CARD_WIDTH, CARD_HEIGHT, pdfium_c.FPDFBitmap_BGR, rev_byteorder=True)
    try:
        bitmap.fill_rect((255, 255, 255, 255), 0, 0, CARD_WIDTH, CARD_HEIGHT)
        pdfium_c.FPDF_RenderPageBitmap(bitmap.raw, page.raw, left, top, target_w, target_h, rotate,
                                       pdfium_c.FPDF_ANNOT | pdfium_c.FPDF_REVERSE_BYTE_ORDER)
        return np.array(bitmap.to_numpy()[:, :, :3])
    finally:
        bitmap.close()
        page.close()


def target_rect(width: float, height: float) -> tuple[int, int, int, int]:
    """Where a landscape page of `width` x `height` points lands on the card, in pixels:
    the whole card for a near-card shape, else scaled to fit and centred."""
    scale = min(CARD_WIDTH / width, CARD_HEIGHT / height)
    fitted_w, fitted_h = round(width * scale), round(height * scale)
    if CARD_WIDTH - fitted_w <= CARD_WIDTH * _STRETCH_TOLERANCE \
            and CARD_HEIGHT - fitted_h <= CARD_HEIGHT * _STRETCH_TOLERANCE:
        return 0, 0, CARD_WIDTH, CARD_HEIGHT
    return (CARD_WIDTH - fitted_w) // 2, (CARD_HEIGHT - fitted_h) // 2, fitted_w, fitted_h


# --- separation -------------------------------------------------------------------------------

def to_panel(card: np.ndarray) -> np.ndarray:
    """Landscape card (648 x 1016) -> panel (1016 x 648): a quarter turn clockwise."""
    return np.ascontiguousarray(np.rot90(card, -1))


def luminance(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, 0..255, in 8.8 fixed point (weights 77/150/29 sum to 256, so the
    sum fits uint16)."""
    luma = rgb[..., 0].astype(np.uint16) * 77
    luma += rgb[..., 1].astype(np.uint16) * 150
    luma += rgb[..., 2].astype(np.uint16) * 29
    return (luma >> 8).astype(np.uint8)


def near_black(rgb: np.ndarray) -> np.ndarray:
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # Element-wise max/min of the three planes: far faster than a reduction over axis 2.
    high = np.maximum(np.maximum(red, green), blue)
    low = np.minimum(np.minimum(red, green), blue)
    return (high <= NEAR_BLACK_MAX) & ((high - low) <= NEAR_BLACK_CHROMA)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Square binary dilation by `radius`, separable: one pass per axis of shifted ORs."""
    out = mask.copy()
    for axis in (0, 1):
        source = out.copy()
        length = source.shape[axis]
        for shift in range(1, radius + 1):
            ahead = [slice(None)] * 2
            behind = [slice(None)] * 2
            ahead[axis], behind[axis] = slice(shift, length), slice(0, length - shift)
            out[tuple(behind)] |= source[tuple(ahead)]
            out[tuple(ahead)] |= source[tuple(behind)]
    return out


def black_mask(rgb: np.ndarray, policy: str) -> np.ndarray:
    if policy == "none":
        return np.zeros(rgb.shape[:2], dtype=bool)
    if policy == "all_black":
        return near_black(rgb)
    if policy == "text":
        light = luminance(rgb) >= LIGHT_MIN
        return near_black(rgb) & _dilate(light, TEXT_EDGE_PX)
    raise CardImageError(f"unknown black policy {policy!r}; use one of {', '.join(BLACK_POLICIES)}")


def _level_table(levels: int) -> np.ndarray:
    """Dye density 0..255 -> 0..levels-1, rounded."""
    return ((np.arange(256, dtype=np.uint32) * (levels - 1) + 127) // 255).astype(np.uint8)


def separate_colour(rgb: np.ndarray, levels: int, policy: str) -> dict[str, np.ndarray]:
    """Card-orientation Y, M, C (dye levels) and K (0/1) for a colour ribbon."""
    bits_for_levels(levels)
    if levels == 2:
        raise CardImageError("colour panels need 32, 64 or 128 levels")
    # One lookup from the channel value straight to the dye level (255 - v folded in).
    density_levels = _level_table(levels)[::-1].copy()
    black = black_mask(rgb, policy)
    panels = {}
    for name, channel in (("y", 2), ("m", 1), ("c", 0)):
        values = np.take(density_levels, rgb[..., channel])
        values[black] = 0
        panels[name] = values
    panels["k"] = black.astype(np.uint8)
    return panels


def dither_black(rgb: np.ndarray) -> np.ndarray:
    """A K panel for a black-only side: Floyd–Steinberg dither of the luminance (1 = print)."""
    grey = Image.fromarray(np.ascontiguousarray(rgb)).convert("L")
    return (np.asarray(grey.convert("1"), dtype=np.uint8) == 0).astype(np.uint8)


def overlay_mask(holes: Iterable[tuple[int, int, int, int]] = ()) -> np.ndarray:
    """Card-orientation overlay: 1 everywhere but the (x, y, width, height) holes."""
    mask = np.ones((CARD_HEIGHT, CARD_WIDTH), dtype=np.uint8)
    for hole in holes:
        x, y, w, h = (int(v) for v in hole)
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > CARD_WIDTH or y + h > CARD_HEIGHT:
            raise CardImageError(f"overlay hole {hole} is not inside the {CARD_WIDTH}x{CARD_HEIGHT} card")
        mask[y:y + h, x:x + w] = 0
    return mask


def pack_levels(values: np.ndarray, levels: int) -> bytes:
    """Uncompressed panel bytes: `bits` bits a pixel, most significant first, no gaps."""
    bits = bits_for_levels(levels)
    if bits == 1:
        return np.packbits(values.astype(bool), axis=None).tobytes()
    planes = np.unpackbits(values[..., None].astype(np.uint8), axis=-1)[..., 8 - bits:]
    return np.packbits(planes, axis=None).tobytes()


# --- a whole card ---------------------------------------------------------------------------

def side_panels(rgb: np.ndarray, names: Sequence[str], levels: int, policy: str,
                holes: Iterable[tuple[int, int, int, int]] = ()) -> tuple[PanelImage, ...]:
    if rgb.shape != (CARD_HEIGHT, CARD_WIDTH, 3):
        raise CardImageError(f"a card side is {CARD_WIDTH}x{CARD_HEIGHT} RGB, got {rgb.shape}")
    card: dict[str, np.ndarray] = {}
    if "y" in names:
        card.update(separate_colour(rgb, levels, policy))
    elif "k" in names:
        card["k"] = dither_black(rgb)
    if "o" in names:
        card["o"] = overlay_mask(holes)
    return tuple(PanelImage(name, levels if name in "ymc" else 2, to_panel(card[name])) for name in names)


def card_panels(pages: Sequence[np.ndarray], ribbon: str, levels: int = 32, policy: str = "text",
                holes: Iterable[tuple[int, int, int, int]] = ()) -> CardPanels:
    """The panels of a card: page 1 on the front, page 2 (if any) on the back."""
    ribbon = ribbon.lower()
    if ribbon not in RIBBON_PANELS:
        raise CardImageError(f"ribbon {ribbon!r} is not supported; known: {', '.join(RIBBON_PANELS)}")
    if not 1 <= len(pages) <= 2:
        raise CardImageError(f"a card has one or two sides, got {len(pages)} pages")
    holes = tuple(holes)
    front_names, back_names = RIBBON_PANELS[ribbon]
    front = side_panels(pages[0], front_names, levels, policy, holes)
    back = side_panels(pages[1], back_names, levels, policy, holes) if len(pages) == 2 else ()
    return CardPanels(ribbon, front, back)


def pdf_card_panels(pdf: bytes, ribbon: str, levels: int = 32, policy: str = "text",
                    holes: Iterable[tuple[int, int, int, int]] = ()) -> CardPanels:
    return card_panels(rasterize_pdf(pdf), ribbon, levels, policy, holes)
