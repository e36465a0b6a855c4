"""KIA imaging: rasterising, separation, black policy, overlay, dithering, and the round trip
PDF -> panels -> encoded stream -> the simulator's decoder."""

import numpy as np
import pytest
from reportlab.lib.units import mm

from devices.sim.evolis_decode import card_image, decode_stream, save_card
from printer_drivers.evolis.imaging import (CARD_HEIGHT, CARD_WIDTH, CardImageError, black_mask, card_panels,
                                            dither_black, overlay_mask, pdf_card_panels, rasterize_pdf,
                                            separate_colour, to_panel)
from printer_drivers.evolis.protocol import download_frame, frame
from tests.fixtures.evolis import A4_SIZE, drawn_pdf, kia_pdf, text_page  # noqa: F401


def encode_stream(panels, compressed):
    parts = [frame("Pr", panels.ribbon), frame("Ss")]
    for side, side_panels in (("Sr", panels.front), ("Sv", panels.back)):
        if side_panels:
            parts.append(frame(side))
            parts += [download_frame(p.name, p.levels, p.payload(compressed), compressed) for p in side_panels]
    return b"".join(parts + [frame("Se")])


def test_kia_rasterises_to_two_landscape_cards(kia_pdf):
    pages = rasterize_pdf(kia_pdf)
    assert [p.shape for p in pages] == [(CARD_HEIGHT, CARD_WIDTH, 3)] * 2
    assert pages[0].dtype == np.uint8 and pages[0].std() > 20    # a picture, not a blank


def test_card_top_edge_becomes_panel_right_edge():
    def corner(pdf, width, height):
        pdf.rect(0, height - 10 * mm, 10 * mm, 10 * mm, stroke=0, fill=1)   # top-left corner
    card = rasterize_pdf(drawn_pdf(corner))[0]
    assert card[:50, :50].mean() < 10 and card[-50:, -50:].mean() > 245
    panel = to_panel(card[..., 0])
    assert panel.shape == (1016, 648)
    assert panel[:50, -50:].mean() < 10            # top-left of the card: panel's top-right
    assert panel[-50:, :50].mean() > 245


def test_colours_come_out_in_rgb_order():
    def halves(pdf, width, height):
        pdf.setFillColorRGB(1, 0, 0)
        pdf.rect(0, 0, width / 2, height, stroke=0, fill=1)
        pdf.setFillColorRGB(0, 0, 1)
        pdf.rect(width / 2, 0, width / 2, height, stroke=0, fill=1)
    card = rasterize_pdf(drawn_pdf(halves))[0]
    assert card[300, 100].tolist() == [255, 0, 0] and card[300, 900].tolist() == [0, 0, 255]
    panels = separate_colour(card, 32, "text")
    assert (panels["m"][300, 100], panels["y"][300, 100], panels["c"][300, 100]) == (31, 31, 0)


def test_other_page_shapes_fit_the_card():
    a4 = rasterize_pdf(drawn_pdf(text_page(), size=A4_SIZE))[0]        # portrait: turned, centred
    assert a4.shape == (CARD_HEIGHT, CARD_WIDTH, 3)
    assert a4[:, :40].min() == 255 and a4[:, -40:].min() == 255       # white margins left and right


@pytest.mark.parametrize("bad, message", [
    (b"not a pdf at all", "not a readable PDF"),
    (b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF", "not a readable PDF|pages"),
])
def test_bad_documents_are_refused_clearly(bad, message):
    with pytest.raises(CardImageError, match=message):
        rasterize_pdf(bad)


def test_three_pages_are_refused():
    with pytest.raises(CardImageError, match="1 to 2 pages, this one has 3"):
        rasterize_pdf(drawn_pdf(text_page(), text_page(), text_page()))


@pytest.mark.parametrize("ribbon, levels, policy, message", [
    ("rainbow", 32, "text", "not supported"), ("ymcko", 16, "text", "unsupported level count"),
    ("ymcko", 32, "grey", "unknown black policy"),
])
def test_bad_options_are_refused(ribbon, levels, policy, message):
    page = np.full((CARD_HEIGHT, CARD_WIDTH, 3), 255, np.uint8)
    with pytest.raises(ValueError, match=message):
        card_panels([page], ribbon, levels, policy)


def policy_scene():
    rgb = np.full((CARD_HEIGHT, CARD_WIDTH, 3), 255, np.uint8)
    rgb[100:300, 100:300] = 0                      # a large black area
    rgb[400:403, 100:600] = 10                     # a thin near-black stroke (text, a line)
    rgb[500:520, 100:600] = (0, 0, 90)             # dark blue: not black
    rgb[550:560, 700:900] = (75, 20, 20)           # dark red: too much colour for black
    return rgb


def test_black_policies():
    rgb = policy_scene()
    assert not black_mask(rgb, "none").any()
    every = black_mask(rgb, "all_black")
    assert every[100:300, 100:300].all() and every[400:403, 100:600].all()
    assert not every[500:520].any() and not every[550:560].any()
    text = black_mask(rgb, "text")
    assert text[400:403, 100:600].all()            # the stroke goes to resin
    assert text[100:104, 100:300].all()            # so does the rim of the black area
    assert not text[150:250, 150:250].any()        # but not its inside
    assert not text[500:520].any()


@pytest.mark.parametrize("levels", [32, 64, 128])
def test_separation_is_subtractive_and_cleared_under_black(levels):
    rgb = policy_scene()
    rgb[0:50, 0:50] = (255, 0, 0)                  # red = magenta + yellow
    panels = separate_colour(rgb, levels, "all_black")
    top = levels - 1
    assert panels["y"][10, 10] == top and panels["m"][10, 10] == top and panels["c"][10, 10] == 0
    assert panels["c"][510, 200] == top and panels["m"][510, 200] == top      # dark blue (0, 0, 90)
    assert panels["y"][510, 200] == round((255 - 90) * top / 255)
    for name in "ymc":
        assert not panels[name][panels["k"].astype(bool)].any()
        assert panels[name].max() <= top
    assert panels["y"][600, 600] == 0              # white card: no dye


def test_overlay_holes():
    mask = overlay_mask([(100, 200, 50, 40)])
    assert mask.sum() == CARD_WIDTH * CARD_HEIGHT - 50 * 40
    assert not mask[200:240, 100:150].any()
    with pytest.raises(CardImageError, match="not inside"):
        overlay_mask([(1000, 600, 50, 50)])


def test_mono_dither_keeps_grey_as_density():
    for grey in (64, 128, 192):
        rgb = np.full((CARD_HEIGHT, CARD_WIDTH, 3), grey, np.uint8)
        assert abs(dither_black(rgb).mean() - (1 - grey / 255)) < 0.03


@pytest.mark.parametrize("ribbon, front, back", [
    ("ymcko", ["y", "m", "c", "k", "o"], ["k", "o"]), ("ko", ["k", "o"], ["k", "o"]), ("kb", ["k"], ["k"])])
def test_ribbon_decides_the_panels(kia_pdf, ribbon, front, back):
    panels = pdf_card_panels(kia_pdf, ribbon)
    assert [p.name for p in panels.front] == front and [p.name for p in panels.back] == back
    assert all(p.pixels.shape == (1016, 648) for p in panels.front + panels.back)


@pytest.mark.parametrize("compressed", [True, False], ids=["Dbc", "Db"])
@pytest.mark.parametrize("levels", [32, 64, 128])
def test_round_trip_through_the_simulator_decoder(kia_pdf, levels, compressed):
    panels = pdf_card_panels(kia_pdf, "ymcko", levels)
    cards = decode_stream(encode_stream(panels, compressed))
    assert len(cards) == 1
    for side, sent in (("front", panels.front), ("back", panels.back)):
        got = getattr(cards[0], side)
        assert list(got) == [p.name for p in sent]
        for panel in sent:
            assert got[panel.name].levels == panel.levels
            assert np.array_equal(got[panel.name].pixels, panel.pixels), (side, panel.name)


def test_mono_round_trip_and_compression(kia_pdf):
    panels = pdf_card_panels(kia_pdf, "ko")
    stream = encode_stream(panels, True)
    card = decode_stream(stream)[0]
    for got, sent in ((card.front, panels.front), (card.back, panels.back)):
        assert [p.name for p in sent] == list(got) == ["k", "o"]
        for panel in sent:
            assert np.array_equal(got[panel.name].pixels, panel.pixels)
    assert len(panels.front[1].payload(True)) == 1016        # a full overlay: one 0xFF a line


def test_demo_kia_composite_looks_like_the_pdf(kia_pdf, artifacts_dir):
    pages = rasterize_pdf(kia_pdf)
    card = decode_stream(encode_stream(pdf_card_panels(kia_pdf, "ymcko", 64), True))[0]
    save_card(card, artifacts_dir / "card" / "kia", "demo-kia")
    front = np.asarray(card_image(card.front), dtype=float)
    assert front.shape == pages[0].shape
    assert np.abs(front - pages[0]).mean() < 6          # colours survive the separation
    back = np.asarray(card_image(card.back).convert("L"), dtype=float)
    assert abs(back.mean() - pages[1].mean(axis=2).mean()) < 60   # dithered black back side
