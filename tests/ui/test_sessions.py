"""Whole citizen sessions in the real Kivy window over the real core: the reference dinas on
loopback, the simulated printers, touches and keys into the window."""

from __future__ import annotations

import time

import pytest

from tests.ui.harness import LANDSCAPE  # noqa: I001 - sets Kivy's environment first
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import citizen_with
from tests.ui.rig import human_type, kiosk_ui  # noqa: F401

pytestmark = pytest.mark.ui


def cards_with_previews(driver) -> int:
    screen = driver.screen()
    return sum(1 for card in screen._cards.values() if card.preview is not None)


def test_kk_and_kia_by_touch(reference_server, kiosk_ui, artifacts_dir):
    citizen = citizen_with(reference_server, "KK", "KIA")
    rig = kiosk_ui()
    ui = rig.driver
    ui.wait_for_screen("attract")
    ui.tap("Mulai")
    ui.wait_for_screen("identify")
    ui.tap_digits(citizen["nik"])
    assert ui.screen().digits == citizen["nik"]
    ui.tap("Lanjut")
    ui.wait_for_screen("pin")
    ui.tap_digits(citizen["pin"])
    ui.tap("Lanjut")
    ui.wait_for_screen("documents")
    ui.wait_until(lambda: cards_with_previews(ui) == 2, what="both previews")
    ui.screenshot(artifacts_dir / "ui" / "session-touch-documents.png")
    ui.tap("Lanjut")
    ui.wait_for_screen("confirm")
    assert "Kartu Keluarga (KK), di kertas A4" in "\n".join(ui.visible_texts())
    ui.tap("Cetak sekarang")
    ui.wait_for_screen("done", timeout=60)
    texts = "\n".join(ui.visible_texts())
    assert "Ambil KK Anda dari baki kertas." in texts
    assert "Ambil KIA dari tempat kartu." in texts
    assert "Ambil struk bukti cetak." in texts
    ui.screenshot(artifacts_dir / "ui" / "session-touch-done.png")
    assert list((rig.printed / "a4_printer").glob("*.pdf"))
    assert rig.runtime.devices.counters("card_printer")["cards_inserted"] == 1
    ui.tap("Selesai")
    ui.wait_for_screen("attract")


def test_the_a4_certificates_by_touch_in_english(reference_server, kiosk_ui, artifacts_dir):
    """Issue 9: a death certificate and a moving-out certificate (the reference server's demo
    family 5) named by the registry on every screen, both printed on the A4 printer."""
    citizen = citizen_with(reference_server, "AKTA_MATI", "SKPWNI")
    rig = kiosk_ui()
    ui = rig.driver
    ui.wait_for_screen("attract")
    ui.tap("English")
    ui.wait_until(lambda: "Start" in ui.visible_texts(), what="English attract")
    ui.log_in(citizen["nik"], citizen["pin"], start="Start", next_label="Next")
    ui.wait_for_screen("documents")
    ui.wait_until(lambda: cards_with_previews(ui) == 2, what="both previews")
    texts = ui.visible_texts()
    assert "Death Certificate" in texts and "Certificate of Moving Out (SKPWNI)" in texts, texts
    ui.screenshot(artifacts_dir / "ui" / "session-certificates-documents.png")
    ui.tap("Next")
    ui.wait_for_screen("confirm")
    texts = "\n".join(ui.visible_texts())
    assert "Death Certificate, on A4 paper" in texts and "Certificate of Moving Out (SKPWNI), on A4 paper" in texts
    ui.tap("Print now")
    ui.wait_for_screen("done", timeout=60)
    texts = "\n".join(ui.visible_texts())
    assert "Take your Death Certificate from the paper tray." in texts
    assert "Take your Certificate of Moving Out (SKPWNI) from the paper tray." in texts
    ui.screenshot(artifacts_dir / "ui" / "session-certificates-done.png")
    assert len(list((rig.printed / "a4_printer").glob("*.pdf"))) == 2
    assert rig.runtime.devices.printer("card_printer").counters()["cards_inserted"] == 0
    ui.tap("Finish")
    ui.wait_for_screen("attract")


def test_kk_and_kia_by_keyboard(reference_server, kiosk_ui):
    citizen = citizen_with(reference_server, "KK", "KIA")
    ui = kiosk_ui(size=LANDSCAPE).driver
    ui.wait_for_screen("attract")
    ui.enter()
    ui.wait_for_screen("identify")
    human_type(ui, citizen["nik"][:-1] + "9")
    ui.press(8)                                   # Backspace fixes the last digit
    human_type(ui, citizen["nik"][-1])
    assert ui.screen().digits == citizen["nik"]
    ui.enter()
    ui.wait_for_screen("pin")
    for digit in citizen["pin"]:                   # the numeric keypad's own keys
        ui.press(256 + int(digit))
        ui.step(6)
    ui.press(271)                                  # keypad Enter
    ui.wait_for_screen("documents")
    ui.enter()
    ui.wait_for_screen("confirm")
    ui.enter()
    ui.wait_for_screen("done", timeout=60)
    assert set(rig_outcomes(ui).values()) == {"printed"}
    ui.enter()
    ui.wait_for_screen("attract")


def rig_outcomes(ui) -> dict:
    return dict(ui.app.view.outcomes)


def test_wrong_pin_says_how_many_tries_are_left(reference_server, kiosk_ui, artifacts_dir):
    citizen = citizen_with(reference_server, "KK")
    ui = kiosk_ui().driver
    ui.tap("Mulai")
    ui.wait_for_screen("identify")
    ui.tap_digits(citizen["nik"])
    ui.tap("Lanjut")
    ui.wait_for_screen("pin")
    wrong = "000000" if citizen["pin"] != "000000" else "111111"
    ui.tap_digits(wrong)
    assert ui.screen().ids.display.masked, "the PIN is masked while typed"
    ui.tap("Lanjut")
    ui.wait_until(lambda: any(t.endswith("Sisa percobaan: 4.") for t in ui.visible_texts()), what="wrong-PIN message")
    assert ui.screen_name() == "pin"
    assert ui.screen().digits == "", "a refused PIN does not stay on the screen"
    ui.screenshot(artifacts_dir / "ui" / "session-wrong-pin.png")
    # The kiosk slows repeated tries on its own side: a try too soon is told to wait.
    for _attempt in range(4):
        ui.tap_digits(citizen["pin"])
        ui.tap("Lanjut")
        ui.wait_until(lambda: ui.screen_name() == "documents" or any(
            t.startswith("Tunggu ") for t in ui.visible_texts()), what="documents or a wait")
        if ui.screen_name() == "documents":
            break
        pause_until = time.monotonic() + 1.2
        while time.monotonic() < pause_until:
            ui.step()
    ui.wait_for_screen("documents")


def test_card_printer_fault_mid_print_is_explained(reference_server, kiosk_ui, artifacts_dir):
    citizen = citizen_with(reference_server, "KIA")
    ui = kiosk_ui(card="faults=ribbon_out").driver
    ui.print_everything(citizen["nik"], citizen["pin"], timeout=60)
    texts = "\n".join(ui.visible_texts())
    assert "Tidak semua dokumen tercetak" in texts
    assert ("Kartu Identitas Anak (KIA) belum tercetak (pita printer kartu habis). Dokumen ini tetap aman dan "
            "bisa dicetak lagi nanti dengan PIN yang sama.") in texts
    # no receipt for a failed print: the help QR is on the screen instead
    assert not ui.app.view.receipt_printed
    qr = [w for w in ui.visible_widgets() if type(w).__name__ == "HelpQR"]
    assert qr and qr[0].texture is not None and qr[0].data == "http://127.0.0.1/help"
    ui.screenshot(artifacts_dir / "ui" / "session-card-fault-done.png")


def test_idle_timeout_counts_down_and_clears_the_session(reference_server, kiosk_ui, artifacts_dir):
    citizen = citizen_with(reference_server, "KK")
    ui = kiosk_ui(engine_options={"idle_timeout_s": 6, "idle_warning_s": 3, "tick_s": 0.1}).driver
    ui.tap("Mulai")
    ui.wait_for_screen("identify")
    ui.tap_digits(citizen["nik"][:5])
    overlay = ui.app.idle_overlay
    ui.wait_until(lambda: overlay._window is not None, what="the countdown")
    assert 1 <= overlay.seconds_left <= 3
    assert any(t.startswith("Sentuh layar untuk melanjutkan.") for t in ui.visible_texts())
    ui.screenshot(artifacts_dir / "ui" / "session-idle-countdown.png")
    ui.tap_at(50, 50)                              # anywhere: the citizen is still there
    ui.wait_until(lambda: overlay._window is None, what="the countdown to go")
    assert ui.screen_name() == "identify" and ui.screen().digits == citizen["nik"][:5]
    ui.wait_until(lambda: overlay._window is not None, what="the countdown again")
    ui.wait_for_screen("attract")
    assert overlay._window is None
    ui.tap("Mulai")
    ui.wait_for_screen("identify")
    assert ui.screen().digits == "", "nothing of the last citizen is left"


def test_language_switch_on_every_step(reference_server, kiosk_ui):
    citizen = citizen_with(reference_server, "KK")
    ui = kiosk_ui().driver
    ui.tap("English")
    ui.wait_until(lambda: "Start" in ui.visible_texts(), what="English attract")
    ui.tap("Start")
    ui.wait_for_screen("identify")
    assert "Type the NIK" in ui.visible_texts()
    ui.tap_digits(citizen["nik"])
    ui.tap("Indonesia")
    ui.wait_until(lambda: "Ketik NIK" in ui.visible_texts(), what="Indonesian identify")
    assert ui.screen().digits == citizen["nik"], "switching language keeps what was typed"
    ui.tap("Lanjut")
    ui.wait_for_screen("pin")
    ui.tap("English")
    ui.wait_until(lambda: "Type the PIN" in ui.visible_texts(), what="English PIN")
    ui.tap_digits(citizen["pin"])
    ui.tap("Next")
    ui.wait_for_screen("documents")
    assert "Your documents" in ui.visible_texts()
    ui.tap("Cancel")                               # documents on the screen: asked first
    ui.wait_until(lambda: "Stop now?" in ui.visible_texts(), what="the cancel question")
    assert ui.screen_name() == "documents"
    ui.tap("Yes, stop")
    ui.wait_for_screen("attract")
    ui.wait_until(lambda: "Mulai" in ui.visible_texts(), what="the default language back")


def test_whatsapp_qr_from_a_keyboard_wedge_scanner(reference_server, kiosk_ui):
    citizen = citizen_with(reference_server, "KK")
    ui = kiosk_ui().driver
    ui.tap("Mulai")
    ui.wait_for_screen("identify")
    for char in f"ADM1:{citizen['request_no']}":   # a scanner's burst: one key per frame
        ui.press(ord(char.lower()) if char.isalpha() else ord(char), char)
    assert ui.screen().digits == "", "the scan's digits never reach the NIK boxes"
    ui.enter()
    ui.wait_for_screen("pin")
    ui.tap_digits(citizen["pin"])
    ui.tap("Lanjut")
    ui.wait_for_screen("documents")
