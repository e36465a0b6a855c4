"""The first-time citizen (issue 14) in the real window: every login failure says what
happened and what to do next, on the glass and aloud; the idle warning comes early and is
spoken; the done screen says what really came out.

The sentences handed to the voice are recorded by `tests.ui.speech.HeardGuide` (the real
`ui.audio.Guide`); wrong NIK, wrong PIN and network down run against the reference dinas on
loopback, the other refusals against the real engine with an in-memory dinas that answers them."""

from __future__ import annotations

import re
import socket
import time

import pytest

from tests.ui.harness import LANDSCAPE, KioskDriver  # noqa: I001 - sets Kivy's environment first
from kiosk import dinas_errors as de
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import NIK, PIN, FakeDinas, citizen_with, engine_rig, settings_with
from tests.ui.rig import kiosk_ui  # noqa: F401
from tests.ui.speech import HeardGuide
from ui.watchdog import SystemdNotifier

pytestmark = pytest.mark.ui

CONTACT = "Disdukcapil Kab. Bogor, (021) 555-0100"
CONTACT_SETTING = f'dinas_contact = "{CONTACT}"\n'


def masked(nik: str) -> str:
    return nik[:6] + "******" + nik[-4:]


def message_on_glass(ui) -> str:
    texts = [w.text for w in ui.visible_widgets() if type(w).__name__ == "MessageText" and w.text]
    assert len(texts) == 1, texts
    return texts[0]


def no_full_nik(ui, guide) -> None:
    for text in ui.visible_texts() + guide.said():
        assert not re.search(r"\d{16}", text), f"a full NIK: {text!r}"
    for text in guide.said():
        assert "******" not in text and not re.search(r"\d{6}", text), f"digits read aloud: {text!r}"


def test_wrong_nik_shows_it_masked_and_lets_the_citizen_correct_it(reference_server, kiosk_ui, artifacts_dir):
    citizen = citizen_with(reference_server, "KK")
    rig = kiosk_ui(settings=CONTACT_SETTING)
    ui, guide = rig.driver, rig.guide
    typo = citizen["nik"][:12] + "9999"                   # a valid NIK, not the one the PIN was sent for
    ui.log_in(typo, citizen["pin"])
    expected = (f"NIK {masked(typo)} atau PIN tidak cocok. Periksa NIK di atas: kalau salah, tekan Ubah NIK. "
                "Kalau NIK benar, ketik lagi PIN dari WhatsApp. Sisa percobaan: 4.")
    ui.wait_until(lambda: expected in ui.visible_texts(), what="the no-match message")
    assert message_on_glass(ui) == expected
    assert f"NIK yang diketik: {masked(typo)}" in ui.visible_texts()
    assert guide.said()[-1] == ("NIK atau PIN tidak cocok. Periksa NIK di layar: kalau salah, tekan Ubah NIK. "
                                "Kalau NIK benar, ketik lagi PIN dari WhatsApp. Sisa percobaan: 4.")
    no_full_nik(ui, guide)
    ui.screenshot(artifacts_dir / "ui" / "citizen-wrong-nik.png")
    ui.tap("Ubah NIK")                                      # back with the digits kept, to correct
    ui.wait_for_screen("identify")
    assert ui.screen().digits == typo
    for _digit in range(4):
        ui.tap("Hapus satu")
    ui.tap_digits(citizen["nik"][-4:])
    ui.tap("Lanjut")
    ui.wait_for_screen("pin")
    assert f"NIK yang diketik: {masked(citizen['nik'])}" in ui.visible_texts()
    ui.tap_digits(citizen["pin"])
    ui.tap("Lanjut")
    ui.wait_for_screen("documents")


def test_wrong_pin_is_said_with_the_tries_left(reference_server, kiosk_ui):
    citizen = citizen_with(reference_server, "KK")
    rig = kiosk_ui(settings=CONTACT_SETTING, size=LANDSCAPE)
    ui, guide = rig.driver, rig.guide
    wrong = "000000" if citizen["pin"] != "000000" else "111111"
    ui.log_in(citizen["nik"], wrong)
    expected = (f"NIK {masked(citizen['nik'])} atau PIN tidak cocok. Periksa NIK di atas: kalau salah, tekan "
                "Ubah NIK. Kalau NIK benar, ketik lagi PIN dari WhatsApp. Sisa percobaan: 4.")
    ui.wait_until(lambda: expected in ui.visible_texts(), what="the no-match message")
    assert ui.screen_name() == "pin" and message_on_glass(ui) == expected
    assert guide.said()[-1].startswith("NIK atau PIN tidak cocok. Periksa NIK di layar")
    # typing the PIN again: each digit is "bintang", never the digit
    guide.clear()
    ui.tap_digits("12")
    assert guide.said() == ["bintang", "bintang"]
    ui.tap("Dengar lagi")
    assert guide.said()[-1].endswith("Sudah diketik: bintang bintang.")
    no_full_nik(ui, guide)


def test_network_down_says_documents_and_pin_are_safe(reference_server, kiosk_ui):
    citizen = citizen_with(reference_server, "KK")
    with socket.socket() as probe:                          # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rig = kiosk_ui(settings=CONTACT_SETTING, dinas_url=f"http://127.0.0.1:{port}")
    ui, guide = rig.driver, rig.guide
    ui.log_in(citizen["nik"], citizen["pin"])
    ui.wait_for_screen("error", timeout=60)
    expected = ("ADM ini tidak bisa tersambung ke Dinas Dukcapil sekarang. Dokumen dan PIN Anda aman: PIN belum "
                "terpakai. Coba lagi beberapa menit lagi.")
    assert message_on_glass(ui) == expected
    assert CONTACT in ui.visible_texts()
    assert guide.said()[-1] == f"Maaf, ada masalah. {expected} Tekan Ke layar awal."


REFUSALS = {
    "locked": (de.Locked(detail="x", retry_after=900),
               "Terlalu banyak percobaan yang salah. Demi keamanan, percobaan ditutup selama 15 menit. Setelah itu, "
               f"coba lagi dengan NIK dan PIN dari pesan WhatsApp. Pesan itu hilang? Hubungi {CONTACT}.", None),
    # the fifth wrong try: the dinas cannot say which was wrong, so the NIK it was for is shown
    "no_tries_left": (de.InvalidCredentials(detail="x", attempts_left=0),
                      f"Percobaan sudah habis: NIK {masked(NIK)} atau PIN tidak cocok. Demi keamanan, percobaan dengan "
                      "NIK ini ditutup untuk sementara. Dokumen Anda tetap aman. Kalau NIK itu salah ketik, tekan Ke "
                      "layar awal, lalu mulai lagi dengan NIK yang benar. Kalau NIK benar, coba lagi nanti dengan PIN dari pesan "
                      f"WhatsApp. Pesan itu hilang? Hubungi {CONTACT}.",
                      "Percobaan sudah habis: NIK atau PIN tidak cocok. Demi keamanan, percobaan dengan NIK ini ditutup "
                      "untuk sementara. Dokumen Anda tetap aman. Kalau NIK itu salah ketik, tekan Ke layar awal, lalu "
                      "mulai lagi dengan NIK yang benar. Kalau NIK benar, coba lagi nanti dengan PIN dari pesan WhatsApp. Pesan itu "
                      f"hilang? Hubungi {CONTACT}."),
    "expired": (de.PinExpired(detail="x"),
                f"PIN ini sudah tidak berlaku. Dokumen Anda tetap aman. Untuk PIN baru, hubungi {CONTACT}, atau "
                "datang ke loket Dinas Dukcapil. PIN baru dikirim lewat WhatsApp.", None),
    "used": (de.PinUsed(detail="x"),
             "PIN ini sudah dipakai: semua dokumennya sudah dicetak. Kalau Anda belum menerima dokumennya, atau "
             f"perlu PIN baru, hubungi {CONTACT}, atau datang ke loket Dinas Dukcapil.", None),
    "dinas_error": (de.ServerError(detail="x"),
                    "Ada gangguan di Dinas Dukcapil (kode internal). Dokumen dan PIN Anda aman. Coba lagi nanti, "
                    f"atau hubungi {CONTACT}.",
                    "Ada gangguan di Dinas Dukcapil. Dokumen dan PIN Anda aman. Coba lagi nanti, "
                    f"atau hubungi {CONTACT}."),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_says_what_to_do_next(case, tmp_path):
    error, expected, spoken = REFUSALS[case]
    rig = engine_rig(tmp_path, dinas=FakeDinas(refuse_with=error), settings=settings_with(dinas_contact=CONTACT))
    guide = HeardGuide()
    ui = KioskDriver(rig.engine, guide=guide, notifier=SystemdNotifier(None), size=LANDSCAPE)
    try:
        ui.log_in(NIK, PIN)
        ui.wait_for_screen("error")
        assert message_on_glass(ui) == expected
        assert guide.said()[-1] == f"Maaf, ada masalah. {spoken or expected} Tekan Ke layar awal."
        assert not any("petugas" in t for t in ui.visible_texts()), "a PIN problem is never sent to staff"
        no_full_nik(ui, guide)
        ui.tap("Ke layar awal")
        ui.wait_for_screen("attract")
    finally:
        ui.close()
        rig.close()


def test_idle_warning_is_shown_and_spoken_30_s_before_the_end_and_touches_extend_it(reference_server, kiosk_ui):
    rig = kiosk_ui(engine_options={"idle_timeout_s": 31.5, "tick_s": 0.1})    # the default 30 s warning
    ui, guide = rig.driver, rig.guide
    ui.tap("Mulai")
    ui.wait_for_screen("identify")
    ui.tap_digits("3201")
    overlay = ui.app.idle_overlay
    for _round in range(3):
        guide.clear()
        ui.wait_until(lambda: overlay._window is not None, what="the countdown")
        # 30 s before the end, less what a busy machine takes to put the view on the glass
        assert ui.app.view.idle_deadline - time.monotonic() >= 27.0
        assert overlay.seconds_left >= 27
        assert guide.said()[0] == "Apakah Anda masih di sini? Sentuh layar untuk melanjutkan."
        assert any(t.startswith("Sentuh layar untuk melanjutkan. Kalau tidak ada sentuhan, dalam") for t in
                   ui.visible_texts())
        assert all(box.text == "" for box in ui.screen().ids.display._boxes), "digits hidden under the countdown"
        ui.tap_at(50, 300)
        ui.wait_until(lambda: overlay._window is None, what="the countdown to go")
        assert ui.screen_name() == "identify" and ui.screen().digits == "3201"
        assert ui.app.view.idle_deadline - time.monotonic() > 30


def test_done_says_what_really_came_out_of_a_partial_print(reference_server, kiosk_ui, artifacts_dir):
    """KK printed, KIA failed (the ribbon runs out mid-print), no receipt printer."""
    citizen = citizen_with(reference_server, "KK", "KIA")
    rig = kiosk_ui(card="faults=ribbon_out", receipt="none")
    ui, guide = rig.driver, rig.guide
    ui.print_everything(citizen["nik"], citizen["pin"], timeout=90)
    assert dict(ui.app.view.outcomes) == {d.id: ("printed" if d.kind == "KK" else "failed")
                                          for d in ui.app.view.documents}
    assert not ui.app.view.receipt_printed
    assert guide.said()[-1] == (
        "Tidak semua dokumen tercetak. Ambil KK Anda dari baki kertas. Kartu Identitas Anak (KIA) belum tercetak "
        "(pita printer kartu habis). Dokumen ini tetap aman dan bisa dicetak lagi nanti dengan PIN yang sama. "
        "Struk tidak tercetak. Sebagai bukti cetak, pindai kode QR ini dengan HP. Terima kasih. Setelah Anda "
        "menekan Selesai, data Anda dihapus dari ADM ini. Tekan Selesai kalau sudah mengambil semuanya.")
    assert "Ambil struk bukti cetak." not in "\n".join(ui.visible_texts())
    ui.screenshot(artifacts_dir / "ui" / "citizen-partial-done.png")


def test_the_same_message_given_again_is_said_again_and_blinks(tmp_path):
    """A second try that fails the same way (the same mistyped NIK, a second bad scan) gets the
    same words: said again, and the message blinks, so the citizen knows the kiosk answered."""
    rig = engine_rig(tmp_path)
    guide = HeardGuide()
    ui = KioskDriver(rig.engine, guide=guide, notifier=SystemdNotifier(None), size=LANDSCAPE)
    province = "Dua angka pertama NIK tidak benar. Lihat lagi NIK di KTP, lalu perbaiki."
    not_ours = ("Kode QR ini bukan dari Dinas Dukcapil. Tunjukkan kode QR dari pesan WhatsApp Dinas Dukcapil, "
                "atau ketik NIK.")
    try:
        ui.wait_for_screen("attract")
        ui.tap("Mulai")
        ui.wait_for_screen("identify")
        ui.tap_digits("00" + NIK[2:])                     # no province starts with 00
        seen = []
        for _try in range(2):
            guide.clear()
            ui.tap("Lanjut")
            ui.wait_until(lambda: province in guide.said(), what="the NIK message said")
            assert message_on_glass(ui) == province
            box = next(w for w in ui.visible_widgets() if type(w).__name__ == "MessageText" and w.text)
            box.bind(opacity=lambda _box, value: seen.append(value))
        assert seen and min(seen) < 0.5, "the message given again blinks"
        ui.wait_until(lambda: box.opacity == 1.0, what="the blink to end")
        for _scan in range(2):
            guide.clear()
            rig.engine.submit_scan("WIFI:S:warung;T:WPA;P:12345678;;")
            ui.wait_until(lambda: not_ours in guide.said(), what="the scan message said")
        assert message_on_glass(ui) == not_ours
        guide.clear()
        ui.tap_at(50, 300)                                # a touch repaints, and says nothing again
        ui.step(5)
        assert not_ours not in guide.said()
    finally:
        ui.close()
        rig.close()
