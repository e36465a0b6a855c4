"""The documents screen's previews (kiosk/session_support.py): the blurred one keeps the sharp
one's size and is written for the screen, at zlib's fastest level (docs/PERFORMANCE.md, soak
throughput: the best compression spent 180-250 ms of CPU on each)."""

import io
import zlib

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
