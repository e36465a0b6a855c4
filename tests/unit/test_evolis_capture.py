"""The vendor driver's captured streams decode, and show what their PDFs show."""

import numpy as np
import pytest

from devices.sim.evolis_decode import CommandReader, decode_stream, save_card
from printer_drivers.evolis.imaging import luminance, rasterize_pdf, to_panel

STREAMS = ["card-black", "card-black-fit", "card-white", "card-white-fit", "card-gradient",
           "card-gradient-fit", "evolis-card-text", "evolis-card-curves"]


def k_panel(evolis_testdata, name):
    cards = decode_stream((evolis_testdata / f"{name}.evolis").read_bytes())
    assert len(cards) == 1
    card = cards[0]
    assert card.ribbon == "k" and list(card.front) == ["k"] and not card.back
    panel = card.front["k"]
    assert panel.pixels.shape == (1016, 648) and panel.levels == 2 and panel.compressed
    return panel.pixels


def box_mean(mask, radius=1):
    """Mean of each (2r+1)^2 neighbourhood, by cumulative sums (edges repeat)."""
    padded = np.pad(mask.astype(float), radius + 1, mode="edge")
    total = padded.cumsum(0).cumsum(1)
    size = 2 * radius + 1
    window = total[size:, size:] - total[:-size, size:] - total[size:, :-size] + total[:-size, :-size]
    return window[:mask.shape[0], :mask.shape[1]] / size ** 2


def near(mask, radius):
    return box_mean(mask, radius) > 0


def test_every_capture_decodes_and_is_saved(evolis_testdata, artifacts_dir):
    found = sorted(p.stem for p in evolis_testdata.glob("*.evolis"))
    assert found == sorted(STREAMS)
    for name in found:
        data = (evolis_testdata / f"{name}.evolis").read_bytes()
        reader = CommandReader()
        names = [c.name for c in reader.push(data)]
        assert {"Pdt", "Mr", "Ppws", "Dbc"} <= set(names)   # unknown commands were tolerated
        assert reader.pending == 0 and reader.skipped == 0   # only NUL padding was left over
        paths = save_card(decode_stream(data)[0], artifacts_dir / "card" / "captured", name)
        assert paths and all(p.stat().st_size > 0 for p in paths)


@pytest.mark.parametrize("name", ["card-black", "card-black-fit"])
def test_black_card_is_black(evolis_testdata, name):
    assert k_panel(evolis_testdata, name).mean() > 0.99


@pytest.mark.parametrize("name", ["card-white", "card-white-fit"])
def test_white_card_is_white(evolis_testdata, name):
    assert k_panel(evolis_testdata, name).mean() < 0.01


@pytest.mark.parametrize("name", ["card-gradient", "card-gradient-fit"])
def test_gradient_card_darkens_steadily(evolis_testdata, name):
    card = np.rot90(k_panel(evolis_testdata, name), 1)   # back to landscape, top edge up
    bands = [band.mean() for band in np.array_split(card, 8, axis=1)]
    assert all(a > b for a, b in zip(bands, bands[1:])), bands   # dark on the left, light on the right
    assert bands[0] - bands[-1] > 0.5
    # Same picture as the PDF, orientation included.
    pdf = (evolis_testdata / "card-gradient.pdf").read_bytes()
    darkness = 1 - luminance(rasterize_pdf(pdf)[0]) / 255
    pdf_bands = [band.mean() for band in np.array_split(darkness, 8, axis=1)]
    assert np.corrcoef(bands, pdf_bands)[0, 1] > 0.95


def text_match(panel, pdf_bytes):
    """(recall, precision) of solid black strokes against the PDF's dark pixels, 2 px slack."""
    dark_pdf = to_panel(luminance(rasterize_pdf(pdf_bytes)[0]) < 64)
    solid_pdf = box_mean(dark_pdf) > 0.99
    solid_k = box_mean(panel) > 0.99                 # strokes, not the dithered greys
    recall = (solid_pdf & near(solid_k, 2)).sum() / max(solid_pdf.sum(), 1)
    precision = (solid_k & near(dark_pdf, 2)).sum() / max(solid_k.sum(), 1)
    return recall, precision


@pytest.mark.parametrize("stream, pdf", [("evolis-card-text", "card-text"),
                                         ("evolis-card-curves", "card-curves")])
def test_text_is_where_the_pdf_has_it(evolis_testdata, stream, pdf):
    recall, precision = text_match(k_panel(evolis_testdata, stream), (evolis_testdata / f"{pdf}.pdf").read_bytes())
    assert recall > 0.8 and precision > 0.95, (recall, precision)


def test_text_match_tells_different_cards_apart(evolis_testdata):
    """The measure above fails for a card that does not show the PDF's text."""
    text_pdf = (evolis_testdata / "card-text.pdf").read_bytes()
    assert text_match(k_panel(evolis_testdata, "card-white"), text_pdf)[0] < 0.1
    flipped = np.ascontiguousarray(k_panel(evolis_testdata, "evolis-card-text")[::-1, ::-1])
    assert text_match(flipped, text_pdf)[1] < 0.5
