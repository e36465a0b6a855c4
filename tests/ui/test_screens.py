"""Every screen in both languages and both orientations, in the real window: screenshots for
a person to review (artifacts/ui/), and the checks a person would make on each of them."""

from __future__ import annotations

import dataclasses
import io
import re
import time

import pytest

from tests.ui.harness import LANDSCAPE, PORTRAIT, KioskDriver  # noqa: I001 - Kivy environment first
from kivy.core.window import Window
from kivy.metrics import sp
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from PIL import Image, ImageDraw

from tests.ui.engine_double import RecordingEngine, sample_views
from ui.audio import Guide
from ui.i18n import translator
from ui.watchdog import SystemdNotifier
from ui.widgets.buttons import BigButton

pytestmark = pytest.mark.ui

MIN_TARGET_PX = 15 / 25.4 * 160        # 15 mm on the densest panel we assume (160 dpi): 94.5 px
MIN_FONT = sp(28)
ORIENTATIONS = {"portrait": PORTRAIT, "landscape": LANDSCAPE}


def preview_png() -> bytes:
    image = Image.new("RGB", (297, 420), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 288, 412), outline="black", width=3)
    for row in range(40, 400, 24):
        draw.line((24, row, 270, row), fill=(60, 60, 60), width=2)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def ui():
    engine = RecordingEngine()
    driver = KioskDriver(engine, guide=Guide(enabled=False), notifier=SystemdNotifier(None))
    driver.engine = engine
    yield driver
    driver.close()
    engine.close()


def only_in(language: str) -> set[str]:
    """Catalogue texts that exist in `language` and differ from the other language."""
    catalogues = translator().catalogues
    other = "en" if language == "id" else "id"
    mine, theirs = catalogues[language], catalogues[other]
    return {mine.gettext(k) for k in mine.keys() if mine.gettext(k) != theirs.gettext(k)}


def inside_scroll(widget) -> bool:
    node = widget.parent
    while node is not None and node is not node.parent:
        if isinstance(node, ScrollView):
            return True
        node = node.parent
    return False


def in_front(ui: KioskDriver, widget) -> bool:
    """Under an open overlay (the idle countdown, the cancel question), only the overlay
    on top can be touched."""
    overlays = ui.open_overlays()
    return not overlays or widget in list(overlays[-1].walk(restrict=True))


def problems_on_screen(ui: KioskDriver, language: str) -> list[str]:
    problems = []
    foreign = only_in("en" if language == "id" else "id")
    primaries = 0
    for widget in ui.visible_widgets():
        if isinstance(widget, Label) and widget.text:
            text = widget.text
            if "[[" in text:
                problems.append(f"untranslated: {text!r}")
            if text in foreign:
                problems.append(f"other language on a {language} screen: {text!r}")
            if widget.font_size < MIN_FONT - 0.5:
                problems.append(f"font {widget.font_size:.0f}px < 28sp: {text!r}")
            tw, th = widget.texture_size
            if not inside_scroll(widget) and (tw > widget.width + 2 or th > widget.height + 2):
                problems.append(f"clipped ({tw}x{th} in {widget.width:.0f}x{widget.height:.0f}): {text!r}")
        if "on_release" in widget.events() and not isinstance(widget, ScrollView):
            if widget.width < MIN_TARGET_PX or widget.height < MIN_TARGET_PX:
                problems.append(f"touch target {widget.width:.0f}x{widget.height:.0f} px: "
                                f"{getattr(widget, 'text', type(widget).__name__)!r}")
        if isinstance(widget, BigButton) and widget.kind == "primary" and in_front(ui, widget):
            primaries += 1
    if primaries > 1:
        problems.append(f"{primaries} primary actions")
    return problems


TYPED_NIK = "3201014501900003"


def primary_place(ui: KioskDriver) -> tuple[int, int, int, int] | None:
    """Where the screen's primary button is on the glass (x, y, width, height), if it shows."""
    for widget in ui.visible_widgets():
        if isinstance(widget, BigButton) and widget.kind == "primary" and not ui.open_overlays():
            x, y = widget.to_window(*widget.pos)
            return round(x), round(y), round(widget.width), round(widget.height)
    return None


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_every_screen_in_both_languages(ui, orientation, artifacts_dir):
    """Includes the help (attract), closed and error screens; a NIK typed on identify is never
    shown in full afterwards; the primary button is in one place on every screen."""
    ui.resize(ORIENTATIONS[orientation])
    assert ui.app.portrait == (orientation == "portrait")
    problems, places = [], {}
    for language in ("id", "en"):
        typed = False
        for name, view in sample_views(preview_png(), language).items():
            ui.engine.publish(view)
            ui.wait_until(lambda: ui.app.view == view, what=f"{name} view")
            if name == "identify":
                ui.screen().clear()
                ui.tap_digits(TYPED_NIK)
                typed = ui.screen().digits == TYPED_NIK
            if name == "idle":
                assert ui.app.idle_overlay._window is not None
            ui.screenshot(artifacts_dir / "ui" / f"{orientation}-{language}-{name}.png")
            problems += [f"{orientation}/{language}/{name}: {p}" for p in problems_on_screen(ui, language)]
            header = {translator().text(key, language) for key in ("listen.again", f"sound.{ui.app.sound_level}")}
            problems += [f"{orientation}/{language}/{name}: no {label!r} in the header"
                         for label in header if label not in ui.visible_texts()]
            if typed and name != "identify":
                problems += [f"{orientation}/{language}/{name}: the full NIK on the glass: {t!r}"
                             for t in ui.visible_texts() if re.search(r"\d{16}", t) or TYPED_NIK[6:12] in t]
            if (place := primary_place(ui)) is not None:
                places.setdefault(place, []).append(f"{language}/{name}")
        assert typed
    ui.engine.publish(sample_views(None)["attract"])
    ui.wait_until(lambda: ui.app.idle_overlay._window is None, what="the overlay to close")
    assert not problems, "\n".join(problems)
    assert len(places) == 1, f"the primary button moves: {places}"
    assert len(next(iter(places.values()))) >= 14, "most screens have a primary, all in the same place"


def test_the_checks_see_a_missing_translation_and_a_small_target(ui):
    """The screen checks above must be able to fail."""
    from kiosk.session_model import Message
    views = sample_views(None)
    ui.resize(PORTRAIT)
    ui.engine.publish(dataclasses.replace(views["identify"], message=Message("no.such.key")))
    ui.wait_until(lambda: any("[[no.such.key]]" in t for t in ui.visible_texts()), what="the mark")
    back = ui.screen().ids.actions.ids.secondary
    back.size_hint_x, back.width = None, 40
    ui.step(2)
    problems = problems_on_screen(ui, "id")
    back.size_hint_x = 0.4
    assert any("untranslated" in p for p in problems)
    assert any("touch target 40x" in p for p in problems)


def test_touches_send_commands(ui):
    views = sample_views(preview_png())
    ui.resize(PORTRAIT)
    ui.engine.calls.clear()
    ui.engine.publish(views["attract"])
    ui.wait_until(lambda: ui.screen_name() == "attract")
    ui.tap("Mulai")
    ui.engine.publish(views["documents"])
    ui.wait_until(lambda: ui.screen_name() == "documents")
    kk_card = ui.screen()._cards["d-kk"]
    ui.tap_widget(kk_card)
    ui.tap_widget(ui.screen()._cards["d-kia"])      # unavailable: touching it does nothing
    ui.tap("Lanjut")
    ui.tap("English")
    assert ui.engine.commands("start") == [()]
    assert ui.engine.commands("toggle_document") == [("d-kk",)]
    assert ui.engine.commands("review") == [()]
    assert ui.engine.commands("set_language") == [("en",)]
    assert ui.engine.commands("touch"), "every touch tells the engine the citizen is there"
    ui.wait_until(lambda: "Your documents" in ui.visible_texts(), what="English")
    ui.tap("Indonesia")
    ui.wait_until(lambda: "Dokumen Anda" in ui.visible_texts(), what="Indonesian")


def test_pin_is_masked_until_shown(ui):
    views = sample_views(None)
    ui.resize(PORTRAIT)
    ui.engine.publish(views["pin"])
    ui.wait_until(lambda: ui.screen_name() == "pin")
    ui.tap_digits("4711")
    boxes = ui.screen().ids.display._boxes
    assert [b.text for b in boxes] == [""] * 6 and [b.filled for b in boxes] == [True] * 4 + [False] * 2
    ui.tap("Tampilkan PIN")
    assert "".join(b.text for b in boxes) == "4711"
    ui.tap("Sembunyikan PIN")
    assert "".join(b.text for b in boxes) == ""
    ui.tap("Hapus satu")
    ui.tap("Hapus semua")
    assert ui.screen().digits == ""


def test_kiosk_mode_refuses_every_way_out(ui):
    assert Window.dispatch("on_request_close") is True
    assert Window.dispatch("on_keyboard", 27, 9, None, []) is True
    Window.dispatch("on_keyboard", 282, 58, None, [])      # F1: Kivy's settings panel
    ui.step(2)
    assert ui.app._app_settings is None
    from kivy.base import EventLoop
    assert EventLoop.status == "started" and ui.app.root.parent is Window
    assert Window.show_cursor is False
    from kivy.config import Config
    assert Config.get("kivy", "exit_on_escape") == "0"
    assert Config.get("graphics", "allow_screensaver") == "0"


def test_scanner_bursts_become_scans_and_a_persons_keys_stay_keys(ui):
    views = sample_views(None)
    ui.resize(PORTRAIT)
    ui.engine.publish(dataclasses.replace(views["identify"], message=None))
    ui.wait_until(lambda: ui.screen_name() == "identify")
    ui.engine.calls.clear()
    ui.screen().clear()
    for char in "ADM1:REQ-20261122-AB12CD":           # a scanner: one key per frame, ~16 ms apart
        ui.press(ord(char.lower()) if char.isalpha() else ord(char), char)
    ui.enter()
    assert ui.engine.commands("submit_scan") == [("ADM1:REQ-20261122-AB12CD",)]
    assert ui.screen().digits == "" and ui.engine.commands("submit_nik") == []
    ui.press(ord("x"), "x")                            # a stray letter from a person ...
    ui.wait_until(lambda: ui.app.keys.held == "x")
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        ui.step()
    ui.press(ord("3"), "3")                            # ... does not swallow their digits
    assert ui.screen().digits == "3"
    ui.press(27)                                       # Esc: swallowed, nothing happens
    assert ui.screen_name() == "identify"


def rows_in_view(scroller, rows) -> dict[str, list]:
    """Rows of a scrolled list that show whole, and those cut by its edges, in window pixels."""
    top, bottom = scroller.to_window(0, scroller.top)[1], scroller.to_window(0, scroller.y)[1]
    seen = {"whole": [], "cut": []}
    for row in rows:
        row_bottom = row.to_window(0, row.y)[1]
        row_top = row_bottom + row.height
        if row_top <= bottom + 0.5 or row_bottom >= top - 0.5:
            continue
        inside = row_bottom >= bottom - 0.5 and row_top <= top + 0.5
        seen["whole" if inside else "cut"].append(row)
    return seen


def test_whole_rows_window_keeps_the_focus_and_cuts_no_row():
    from ui.screens.printing import whole_rows_window
    assert whole_rows_window([60] * 8, 8, 4 * 60 + 3 * 8, focus=5) == (3, 6)
    assert whole_rows_window([60] * 8, 8, 4 * 60 + 3 * 8 - 1, focus=5) == (4, 6)
    assert whole_rows_window([60] * 3, 8, 1000, focus=0) == (0, 2)
    assert whole_rows_window([60, 100, 60], 8, 50, focus=1) == (1, 1)


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_printing_list_shows_the_current_step_and_no_half_rows(ui, orientation, artifacts_dir):
    from kiosk.session_model import StepView
    view = sample_views(None)["printing"]
    steps = tuple(StepView(f"d{n}", "KIA" if n % 2 else "KK", "printing", "done") for n in range(8))
    view = dataclasses.replace(view, steps=steps + view.steps)
    ui.resize(ORIENTATIONS[orientation])
    ui.engine.publish(view)
    ui.wait_until(lambda: ui.app.view == view, what="the printing view")
    ui.step(6)
    screen = ui.screen()
    rows = list(reversed(screen.ids.steps.children))
    seen = rows_in_view(screen.ids.scroller, rows)
    ui.screenshot(artifacts_dir / "ui" / f"{orientation}-id-printing-long.png")
    active = [row for row in rows if row.state_name == "active"]
    assert active and active[0] in seen["whole"], "the step happening now is in sight"
    assert not seen["cut"], f"rows cut at the list's edges: {[r.text for r in seen['cut']]}"
    assert len(seen["whole"]) >= 3


@pytest.mark.parametrize("language", ["id", "en"])
def test_printing_shows_one_line_per_printer_at_work(ui, language, artifacts_dir):
    """Issue 13: the printers work at the same time, and the screen shows both lines."""
    view = sample_views(None, language)["printing"]
    ui.engine.publish(view)
    ui.wait_until(lambda: ui.app.view == view, what="the printing view")
    ui.step(3)
    lines = [line.text for line in reversed(ui.screen().ids.printers.children)]
    ui.screenshot(artifacts_dir / "ui" / f"{language}-printing-two-printers.png")
    assert ui.app.lang == language
    if language == "en":
        assert lines == ["The paper printer: 1 of 1 done",
                         "The card printer: 0 of 2 done — Child Identity Card (KIA): printing the back"]
    else:
        assert lines[0] == "Printer kertas: sudah 1 dari 1" and lines[1].startswith("Printer kartu: sudah 0 dari 2 — ")


def test_documents_say_when_more_are_below(ui, artifacts_dir):
    view = sample_views(preview_png())["documents"]
    kk, kia_out = view.documents
    more = tuple(dataclasses.replace(kk, id=f"d-kk{n}") for n in range(3))
    view = dataclasses.replace(view, documents=(kk, kia_out) + more)
    ui.resize(LANDSCAPE)
    ui.engine.publish(view)
    ui.wait_until(lambda: ui.app.view == view, what="five documents")
    ui.step(4)
    screen = ui.screen()
    ui.screenshot(artifacts_dir / "ui" / "landscape-id-documents-more.png")
    ui.wait_until(lambda: screen.ids.more_below.text, what="the hint that more documents are below")
    assert screen.ids.more_below.height > 0 and screen.ids.scroller.bar_width >= 8
    screen.ids.scroller.scroll_y = 0
    ui.wait_until(lambda: not screen.ids.more_below.text, what="the hint to go at the list's end")


def test_two_documents_fit_in_landscape(ui):
    view = sample_views(preview_png())["documents"]
    ui.resize(LANDSCAPE)
    ui.engine.publish(view)
    ui.wait_until(lambda: ui.app.view == view, what="the documents view")
    screen = ui.screen()
    # After a change of orientation the card heights settle over a few frames.
    ui.wait_until(lambda: len(screen.ids.cards.children) == 2
                  and not rows_in_view(screen.ids.scroller, list(screen.ids.cards.children))["cut"],
                  timeout=5, what="both cards to show whole")
    assert not screen.ids.more_below.text


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_full_or_read_only_state_folder_has_its_own_out_of_service_words(ui, language, artifacts_dir):
    from kiosk.session_model import Message, Screen
    base = sample_views(None, language)["attract"]
    view = dataclasses.replace(base, screen=Screen.OUT_OF_SERVICE,
                               message=Message("out_of_service.storage", {"fault": "storage_full"}))
    ui.resize(PORTRAIT)
    ui.engine.publish(view)
    ui.wait_until(lambda: ui.app.view == view, what="the out-of-service view")
    expected = translator().text("out_of_service.storage", language)
    assert expected in ui.visible_texts() and "[[" not in expected
    ui.screenshot(artifacts_dir / "ui" / f"portrait-{language}-out_of_service-storage.png")
    assert not problems_on_screen(ui, language)
    ui.engine.publish(base)


def test_a_disabled_primary_says_why_on_the_glass_and_aloud(ui):
    from tests.ui.speech import HeardGuide
    views = sample_views(None)
    ui.resize(PORTRAIT)
    guide, ui.app.guide = ui.app.guide, HeardGuide()
    try:
        ui.engine.publish(dataclasses.replace(views["identify"], message=None))
        ui.wait_until(lambda: ui.screen_name() == "identify")
        ui.screen().clear()
        primary = ui.screen().ids.actions.ids.primary
        assert primary.text == "Ketik 16 angka dulu" and not primary.usable
        ui.engine.calls.clear()
        ui.tap_widget(primary)
        assert ui.app.guide.said()[-1] == "Ketik 16 angka dulu"
        assert ui.engine.commands("submit_nik") == []
        ui.tap_digits(TYPED_NIK)
        assert ui.app.guide.said()[-1] == "16 dari 16", "a NIK typed is counted aloud, never read"
        assert primary.text == "Lanjut" and primary.usable
        ui.tap_widget(primary)
        assert ui.engine.commands("submit_nik") == [(TYPED_NIK,)]
    finally:
        ui.app.guide = guide


def test_batal_asks_before_dropping_documents_on_the_screen(ui):
    views = sample_views(preview_png())
    ui.resize(PORTRAIT)
    ui.engine.publish(views["documents"])
    ui.wait_until(lambda: ui.screen_name() == "documents")
    ui.engine.calls.clear()
    ui.tap("Batal")
    ui.wait_until(lambda: "Berhenti sekarang?" in ui.visible_texts(), what="the question")
    assert ui.engine.commands("cancel") == []
    assert len([w for w in ui.visible_widgets() if isinstance(w, BigButton) and w.kind == "primary"
                and in_front(ui, w)]) == 1
    ui.tap("Tidak, lanjutkan")
    ui.wait_until(lambda: not ui.open_overlays(), what="the question to close")
    assert ui.engine.commands("cancel") == [] and ui.screen_name() == "documents"
    ui.tap("Batal")
    ui.wait_until(lambda: "Ya, berhenti" in ui.visible_texts(), what="the question again")
    ui.tap("Ya, berhenti")
    assert ui.engine.commands("cancel") == [()]
    ui.wait_until(lambda: not ui.open_overlays(), what="the question to close")
    ui.engine.publish(dataclasses.replace(views["identify"], message=None))     # nothing on the screen yet:
    ui.wait_until(lambda: ui.screen_name() == "identify")
    ui.tap("Batal")                                                             # no question
    assert ui.engine.commands("cancel") == [(), ()] and not ui.open_overlays()


def test_previews_are_blurred_until_held_and_holding_does_not_choose(ui):
    from kivy.tests.common import UnitTestTouch
    views = sample_views(preview_png())
    ui.resize(PORTRAIT)
    ui.engine.publish(views["documents"])
    ui.wait_until(lambda: ui.screen_name() == "documents")
    ui.step(3)
    card = ui.screen()._cards["d-kk"]
    image = next(w for w in card.ids.see.children if type(w).__name__ == "Image")
    assert card.blurred is not None and image.texture is card.blurred
    assert card.document.title not in ui.visible_texts(), "the dinas title (a KK number) is not shown"
    ui.engine.calls.clear()
    touch = UnitTestTouch(*card.ids.see.to_window(*card.ids.see.center))
    touch.touch_down()
    # The list's ScrollView holds a touch for its scroll_timeout before it reaches the card.
    ui.wait_until(lambda: image.texture is card.preview, timeout=2, what="sharp while held")
    touch.touch_up()
    ui.step(2)
    assert image.texture is card.blurred
    assert ui.engine.commands("toggle_document") == []


def test_hear_again_says_what_each_screen_shows(ui, artifacts_dir):
    """"Dengar lagi": the whole screen, its messages included, in the citizen's language."""
    from tests.ui.speech import HeardGuide
    views = sample_views(preview_png())
    ui.resize(PORTRAIT)
    guide, allowed = ui.app.guide, ui.app._guide_allowed
    ui.app.guide, ui.app._guide_allowed = HeardGuide(), True    # a voice the attract screen keeps on
    try:
        expected = {
            "attract": ("Selamat datang.", "Hubungi Disdukcapil Kab. Contoh — 0800-1-234-567. Sentuh tombol Mulai. "
                                           "Bisa dicetak sekarang: Kartu Keluarga (KK), Kartu Identitas Anak (KIA). "
                                           "Layanan ADM buka setiap hari kerja."),
            "documents": ("Ini dokumen Anda.", "Kartu Keluarga (KK): Siap dicetak. Kartu Identitas Anak (KIA): "
                          "Printer untuk Kartu Identitas Anak (KIA) sedang bermasalah: pita printer kartu habis. "
                          "Dokumen yang belum bisa dicetak tetap aman: cetak nanti dengan PIN yang sama."),
            "confirm": ("Kartu Keluarga (KK), di kertas A4. Kartu Identitas Anak (KIA), di kartu plastik.",
                        "tekan Cetak sekarang."),
            "closed": ("ADM sedang tutup. Buka lagi besok pukul 08:00.", "hubungi Disdukcapil Kab. Contoh"),
        }
        for name, (start, part) in expected.items():
            ui.engine.publish(views[name])
            ui.wait_until(lambda: ui.app.view == views[name], what=name)
            ui.app.guide.clear()
            ui.tap("Dengar lagi")
            said = ui.app.guide.said()
            assert len(said) == 1 and said[0].startswith(start) and part in said[0], (name, said)
        ui.engine.publish(views["documents"])
        ui.wait_until(lambda: ui.screen_name() == "documents")
        ui.tap("Batal")
        ui.wait_until(lambda: "Berhenti sekarang?" in ui.visible_texts(), what="the question")
        assert ui.app.guide.said()[-1].startswith("Berhenti sekarang? Dokumen Anda tidak dicetak sekarang")
        ui.screenshot(artifacts_dir / "ui" / "portrait-id-cancel-question.png")
        ui.engine.calls.clear()
        ui.enter()                                  # a stray Enter does not answer the question
        assert ui.engine.commands("review") == [] and ui.open_overlays()
        ui.tap("Tidak, lanjutkan")
    finally:
        ui.app.guide, ui.app._guide_allowed = guide, allowed


@pytest.mark.parametrize("reason, expected", [
    ("ribbon_out", "Kartu Identitas Anak (KIA) belum tercetak (pita printer kartu habis). Dokumen ini tetap aman "
                   "dan bisa dicetak lagi nanti dengan PIN yang sama."),
    ("integrity", "Kartu Identitas Anak (KIA) belum tercetak (dokumen rusak dalam perjalanan ke ADM). Mencetak lagi "
                  "tidak akan menolong: hubungi Disdukcapil Kab. Contoh — 0800-1-234-567."),
    ("already_printed", "Kartu Identitas Anak (KIA) tidak dicetak di sini (sudah dicetak). Kalau bukan Anda yang "
                        "mencetaknya, hubungi Disdukcapil Kab. Contoh — 0800-1-234-567."),
])
def test_a_failed_document_gets_the_next_step_true_for_its_reason(ui, reason, expected):
    from kiosk.session_model import Message, StepView
    view = sample_views(None)["done"]
    view = dataclasses.replace(view, outcomes={"d-kk": "printed", "d-kia": "failed"}, receipt_printed=True,
                               steps=(StepView("d-kia", "KIA", "printing", "failed", Message(f"print.failed.{reason}")),))
    ui.engine.publish(view)
    ui.wait_until(lambda: ui.app.view == view, what="the done view")
    assert ui.screen().take_lines(view, "id") == ["Ambil KK Anda dari baki kertas.", expected,
                                                  "Ambil struk bukti cetak."]
    assert "•  " + expected in "\n".join(ui.visible_texts())


def test_the_attract_and_closed_screens_answer_before_anything_goes_wrong(ui):
    """Issue 14 point 2, on the glass: what it prints, free, what to bring (whose NIK), what to
    do with no PIN or an expired one (the contact, the counter); closed: the hours and the
    next opening. Said aloud too, nothing printable included."""
    from tests.ui.speech import HeardGuide
    views = sample_views(None)
    ui.resize(PORTRAIT)
    expected = {
        "id": ["Gratis. Tidak ada biaya apa pun.", "•  Kartu Keluarga (KK)\n•  Kartu Identitas Anak (KIA)",
               "•  NIK orang yang menerima pesan WhatsApp dari Dinas Dukcapil\n•  PIN 6 angka dari pesan itu, atau "
               "kode QR-nya", "Belum punya PIN, atau PIN sudah tidak berlaku?",
               "Hubungi Disdukcapil Kab. Contoh — 0800-1-234-567, atau datang ke loket Dinas Dukcapil.",
               "Jam buka: Senin–Jumat: 08:00–15:00\nSabtu–Minggu: tutup"],
        "en": ["Free of charge. There is nothing to pay.", "No PIN, or the PIN is no longer valid?",
               "Contact Disdukcapil Kab. Contoh — 0800-1-234-567, or go to the civil registry office's counter."],
    }
    for language, lines in expected.items():
        ui.engine.publish(sample_views(None, language)["attract"])
        ui.wait_until(lambda: ui.app.lang == language and ui.screen_name() == "attract", what=language)
        ui.step(2)
        assert [line for line in lines if line not in ui.visible_texts()] == []
    ui.engine.publish(views["closed"])
    ui.wait_until(lambda: ui.screen_name() == "out_of_service", what="the closed screen")
    texts = ui.visible_texts()
    assert {"ADM sedang tutup", "Buka lagi besok pukul 08:00.", "Jam buka:",
            "Senin–Jumat: 08:00–15:00\nSabtu–Minggu: tutup", "Disdukcapil Kab. Contoh — 0800-1-234-567"} <= set(texts)
    guide, allowed = ui.app.guide, ui.app._guide_allowed
    ui.app.guide, ui.app._guide_allowed = HeardGuide(), True
    try:
        ui.engine.publish(dataclasses.replace(views["attract"], available_kinds=()))
        ui.wait_until(lambda: ui.screen_name() == "attract", what="the attract screen")
        ui.wait_until(lambda: "Saat ini belum ada dokumen yang bisa dicetak." in ui.visible_texts(), what="none")
        ui.tap("Dengar lagi")
        assert "Sentuh tombol Mulai. Saat ini belum ada dokumen yang bisa dicetak." in ui.app.guide.said()[-1]
    finally:
        ui.app.guide, ui.app._guide_allowed = guide, allowed


def test_stop_while_printing_asks_first_and_the_done_screen_says_what_came_out(ui, artifacts_dir):
    """'Hentikan setelah dokumen ini' ends a session with documents on the glass: it asks
    first, and after the stop the done screen says to take what printed and what is left."""
    from tests.ui.speech import HeardGuide
    from kiosk.session_model import Message, StepView
    views = sample_views(None)
    ui.resize(PORTRAIT)
    ui.engine.publish(views["printing"])
    ui.wait_until(lambda: ui.screen_name() == "printing")
    ui.engine.calls.clear()
    guide, allowed = ui.app.guide, ui.app._guide_allowed
    ui.app.guide, ui.app._guide_allowed = HeardGuide(), True
    try:
        ui.tap("Hentikan setelah dokumen ini")
        body = ("Dokumen yang sedang dicetak tetap diselesaikan. Dokumen lainnya tidak dicetak sekarang, tetapi tetap "
                "aman: cetak lain kali dengan NIK dan PIN yang sama.")
        ui.wait_until(lambda: body in ui.visible_texts(), what="the question")
        assert ui.app.guide.said()[-1] == "Berhenti sekarang? " + body
        ui.screenshot(artifacts_dir / "ui" / "portrait-id-printing-stop-question.png")
        ui.tap("Tidak, lanjutkan")
        ui.wait_until(lambda: not ui.open_overlays(), what="the question to close")
        assert ui.engine.commands("cancel") == []
        ui.tap("Hentikan setelah dokumen ini")
        ui.wait_until(lambda: "Ya, berhenti" in ui.visible_texts(), what="the question again")
        ui.tap("Ya, berhenti")
        assert ui.engine.commands("cancel") == [()]
    finally:
        ui.app.guide, ui.app._guide_allowed = guide, allowed
    done = dataclasses.replace(views["done"], outcomes={"d-kk": "printed", "d-kia": "skipped"}, receipt_printed=True,
                               steps=(StepView("d-kia", "KIA", "fetching", "failed", Message("print.failed.cancelled")),))
    ui.engine.publish(done)
    ui.wait_until(lambda: ui.app.view == done, what="the done view")
    assert ui.screen().take_lines(done, "id") == [
        "Ambil KK Anda dari baki kertas.",
        "Kartu Identitas Anak (KIA) belum tercetak (dibatalkan). Dokumen ini tetap aman dan bisa dicetak lagi nanti "
        "dengan PIN yang sama.", "Ambil struk bukti cetak."]
    assert "Tidak semua dokumen tercetak" in ui.visible_texts()


def test_a_document_that_can_no_longer_be_printed_is_said_as_its_card_changes(ui):
    from tests.ui.speech import HeardGuide
    from kiosk.session_model import Message
    view = sample_views(None)["documents"]
    ui.resize(PORTRAIT)
    ui.engine.publish(view)
    ui.wait_until(lambda: ui.screen_name() == "documents")
    kk, kia = view.documents
    out = dataclasses.replace(kk, available=False, selected=False, unavailable=Message(
        "document.unavailable.printer", {"kind": "KK", "role": "a4_printer", "fault": "paper_out"}))
    guide, allowed = ui.app.guide, ui.app._guide_allowed
    ui.app.guide, ui.app._guide_allowed = HeardGuide(), True
    try:
        ui.engine.publish(dataclasses.replace(view, documents=(out, kia)))
        ui.wait_until(lambda: ui.app.guide.said(), what="the change said")
        assert ui.app.guide.said() == ["Kartu Keluarga (KK): Printer untuk Kartu Keluarga (KK) sedang bermasalah: "
                                       "kertas habis."]
        ui.engine.publish(dataclasses.replace(view, documents=(kk, kia)))
        ui.wait_until(lambda: len(ui.app.guide.said()) == 2, what="back in service said")
        assert ui.app.guide.said()[-1] == "Kartu Keluarga (KK): Siap dicetak."
    finally:
        ui.app.guide, ui.app._guide_allowed = guide, allowed


def test_done_when_only_some_receipts_printed(ui, artifacts_dir):
    """The receipt paper ran out after the first slip: 'no receipt' would be untrue."""
    from tests.ui.speech import HeardGuide
    view = dataclasses.replace(sample_views(None)["done"], receipt_printed=False, receipts_printed=1)
    ui.resize(PORTRAIT)
    guide, allowed = ui.app.guide, ui.app._guide_allowed
    ui.app.guide, ui.app._guide_allowed = HeardGuide(), True
    try:
        ui.engine.publish(view)
        ui.wait_until(lambda: ui.app.view == view, what="the done view")
        some, qr = ("Ambil struk yang sudah tercetak. Tidak semua struk tercetak.",
                    "Untuk dokumen yang tidak ada struknya, pindai kode QR ini dengan HP sebagai bukti cetak.")
        ui.wait_until(lambda: qr in ui.visible_texts(), what="the help QR's words")
        assert "•  " + some in "\n".join(ui.visible_texts())
        ui.screenshot(artifacts_dir / "ui" / "portrait-id-done-some-receipts.png")
        assert not [t for t in ui.visible_texts() if "Struk tidak tercetak" in t]
        ui.tap("Dengar lagi")
        said = ui.app.guide.said()[-1]
        assert f"{some} {qr}" in said and "Struk tidak tercetak" not in said
    finally:
        ui.app.guide, ui.app._guide_allowed = guide, allowed
