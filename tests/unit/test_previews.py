"""The documents screen's previews (kiosk/session_support.py): the blurred one keeps the sharp
one's size and is written for the screen, at zlib's fastest level (docs/PERFORMANCE.md, soak
throughput: the best compression spent 180-250 ms of CPU on each)."""

import io
import zlib

import pytest
from PIL import Image

from kiosk.session_support import blur_preview, render_preview


def idat_stream(png: bytes) -> bytes:
    """The concatenated IDAT chunks: the image's zlib stream."""
    data, at = b"", 8
    while at < len(png):
        length = int.from_bytes(png[at:at + 4], "big")
        kind = png[at + 4:at + 8]
        if kind == b"IDAT":
            data += png[at + 8:at + 8 + length]
        at += 12 + length
    return data


def test_the_blurred_preview_is_the_same_size_and_written_fast():
    from dinas.documents import kia_pdf
    from dinas.seed import demo_families

    family = demo_families()[2][0]
    sharp = render_preview(kia_pdf(family, family.members[3], "Disdukcapil"))
    blurred = blur_preview(sharp)
    with Image.open(io.BytesIO(sharp)) as a, Image.open(io.BytesIO(blurred)) as b:
        assert a.size == b.size
        assert a.convert("RGB").tobytes() != b.convert("RGB").tobytes()
    stream = idat_stream(blurred)
    assert stream[1] >> 6 == 0, "zlib level: FLEVEL 0 is the fastest"
    assert zlib.decompress(stream)


@pytest.mark.parametrize("document", ["KK", "KIA"])
def test_the_blur_hides_the_fields_and_keeps_the_layout(document):
    """Issue 14: recognisable, not readable from a step away. The fine detail (edge energy:
    text strokes) falls to at most a fifth of the sharp preview's (a 2-px blur keeps a KIA's
    fields at about a quarter, readable), while the picture at 1/16 scale (the card's colours,
    the photo, the KK's table) stays within 8 levels of the sharp one (a blur of 1/16 of the
    width turns a KIA to a smear and fails)."""
    from PIL import ImageChops, ImageFilter, ImageStat

    from dinas.documents import kia_pdf, kk_pdf
    from dinas.seed import demo_families

    family = demo_families()[2][0]
    pdf = kk_pdf(family, "Disdukcapil") if document == "KK" else kia_pdf(family, family.members[3], "Disdukcapil")
    sharp_png = render_preview(pdf)
    with Image.open(io.BytesIO(sharp_png)) as a, Image.open(io.BytesIO(blur_preview(sharp_png))) as b:
        sharp, blurred = a.convert("RGB"), b.convert("RGB")

    def detail(image) -> float:
        return ImageStat.Stat(image.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]

    def layout_gap(image) -> float:
        small = (sharp.width // 16, sharp.height // 16)
        return max(ImageStat.Stat(ImageChops.difference(sharp.resize(small, Image.BOX),
                                                        image.resize(small, Image.BOX))).mean)

    assert detail(blurred) <= 0.2 * detail(sharp)
    assert layout_gap(blurred) <= 8
    # both checks can fail
    assert detail(sharp.filter(ImageFilter.GaussianBlur(1))) > 0.2 * detail(sharp)
    assert layout_gap(sharp.filter(ImageFilter.GaussianBlur(sharp.width / 8))) > 8
