"""The technician at the screen, in the real window over the real core (reference dinas on
loopback, simulated printers): the hidden gesture, the PIN (right, wrong, locked, none
configured), the maintenance screen healthy and faulted, test prints, recording a refill
and leaving back to service. Screenshots in both languages go to artifacts/ui/technician/."""

from __future__ import annotations

import pytest

from tests.ui.harness import KioskDriver  # noqa: F401,I001 - Kivy environment first
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch

from kiosk.settings import hash_technician_pin
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.ui.rig import kiosk_ui  # noqa: F401
from ui.i18n import _

pytestmark = pytest.mark.ui

PIN = "482913"
FAST_PINS = "pin_slowdown_base_s = 0\n"     # the lock, not the pause, is under test here


def with_pin(extra: str = "") -> str:
    return f'technician_pin_hash = "{hash_technician_pin(PIN)}"\n' + extra


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def corner() -> tuple[float, float]:
    return 40.0, Window.height - 40.0


def gesture(rig) -> None:
    """Hold the header's left corner 5 s, then tap it three times (the time is the test's)."""
    ui = rig.driver
    clock = FakeClock()
    ui.app.staff._clock = clock
    touch = UnitTestTouch(*corner())
    touch.touch_down()
    ui.step()
    clock.now += 5.2
    touch.touch_up()
    ui.step()
    for _tap in range(3):
        clock.now += 0.5
        ui.tap_at(*corner())
    ui.step(2)


def shot(rig, artifacts_dir, name: str) -> None:
    rig.driver.screenshot(artifacts_dir / "ui" / "technician" / f"{name}.png")


def set_language(rig, language: str) -> None:
    rig.driver.app.choose_language(language)
    rig.driver.wait_until(lambda: rig.driver.app.lang == language, what=f"language {language}")


def type_pin(rig, pin: str) -> None:
    ui = rig.driver
    ui.tap_digits(pin)
    ui.tap(_("staff.pin.enter", ui.app.lang))


def wait_report(rig):
    ui = rig.driver
    screen = ui.app.staff_screens["maintenance"]
    ui.wait_until(lambda: ui.screen_name() == "maintenance" and screen.report and not screen.loading,
                  timeout=40, what="the maintenance figures")
    return screen


def test_gesture_pin_right_wrong_locked_and_back_to_service(kiosk_ui, artifacts_dir):  # noqa: F811
    rig = kiosk_ui(settings=with_pin(FAST_PINS))
    ui = rig.driver
    ui.wait_for_screen("attract")
    ui.tap_at(*corner())                          # a citizen's tap on the corner: nothing
    assert ui.screen_name() == "attract"
    for language in ("id", "en"):
        set_language(rig, language)
        gesture(rig)
        assert ui.screen_name() == "staff_pin"
        type_pin(rig, "000000")
        ui.wait_until(lambda: ui.app.staff_screens["staff_pin"].message == _("staff.pin.wrong_now", language),
                      what="the wrong-PIN message")
        shot(rig, artifacts_dir, f"{language}-pin-wrong")
        type_pin(rig, PIN)
        screen = wait_report(rig)
        text = screen.text(screen.report, language)
        assert _("role.card_printer", language) in text and "Evolis KC200" in text
        assert _("staff.state.ready", language) in text
        shot(rig, artifacts_dir, f"{language}-maintenance-healthy")
        ui.tap(_("staff.leave", language))
        ui.wait_for_screen("attract")

    # The card test print, a refill recorded, all audited under the slot that got in; the
    # PIN from a USB keyboard this time (a stray digit, Backspace, Enter).
    gesture(rig)
    for key in PIN + "7":
        ui.press(ord(key), key)
    ui.press(8)
    ui.press(13)
    wait_report(rig)
    ui.tap(_("staff.test.card_printer", "en"))
    ui.wait_until(lambda: ui.app.staff_screens["maintenance"].result == _("staff.test.printed", "en",
                                                                   device=_("role.card_printer", "en"), why=""),
                  timeout=60, what="the test card")
    shot(rig, artifacts_dir, "en-maintenance-test-card")
    ui.tap(_("staff.supplies.button", "en"))        # the refill: tests/ui/test_supplies_screen.py
    ui.wait_until(lambda: ui.app.staff_screens["supplies"].supplies, what="the supplies")
    ui.tap(_("staff.supplies.load", "en", supply=_("supply.cards", "en")))
    ui.tap_digits("150")
    ui.tap(_("staff.count.record", "en"))
    ui.wait_until(lambda: ui.app.staff_screens["supplies"].result == _(
        "staff.supplies.recorded_count", "en", supply=_("supply.cards", "en"), loaded=150), what="the refill recorded")
    ui.tap(_("action.back", "en"))
    wait_report(rig)
    ui.tap(_("staff.leave", "en"))
    ui.wait_for_screen("attract")
    trail = [(r["actor"], r["action"]) for r in reversed(rig.runtime.journal.audit_trail())]
    assert ("technician", "test_print") in trail and ("technician", "replenish_cards") in trail
    # the shared pad's wrong PIN matched no slot: audited as "staff", not as a technician
    assert ("staff", "refused") in trail and trail[-1] == ("technician", "staff_left")
    assert rig.runtime.journal.stock("cards")["remaining"] == 150

    # Five wrong PINs lock every slot, in both languages' words.
    gesture(rig)
    for _try in range(5):
        type_pin(rig, "000000")
        ui.wait_until(lambda: not ui.app.staff_screens["staff_pin"].checking, what="the check")
    pin_screen = ui.app.staff_screens["staff_pin"]
    assert pin_screen.message == _("staff.pin.locked", "en", minutes=15) and not pin_screen.keypad_open
    shot(rig, artifacts_dir, "en-pin-locked")
    ui.tap(_("action.back", "en"))
    set_language(rig, "id")
    gesture(rig)
    assert ui.app.staff_screens["staff_pin"].message == _("staff.pin.locked", "id", minutes=15)
    shot(rig, artifacts_dir, "id-pin-locked")
    ui.tap(_("action.back", "id"))
    ui.wait_for_screen("attract")


def test_no_pin_configured_is_no_way_in(kiosk_ui, artifacts_dir):  # noqa: F811
    rig = kiosk_ui()
    ui = rig.driver
    ui.wait_for_screen("attract")
    for language in ("id", "en"):
        set_language(rig, language)
        gesture(rig)
        screen = ui.app.staff_screens["staff_pin"]
        assert ui.screen_name() == "staff_pin" and not screen.keypad_open
        assert screen.message == _("staff.pin.none", language)
        assert _("staff.pin.enter", language) not in ui.visible_texts()
        shot(rig, artifacts_dir, f"{language}-pin-none-configured")
        ui.tap(_("action.back", language))
        ui.wait_for_screen("attract")


def test_refused_while_a_citizen_session_is_open(kiosk_ui):  # noqa: F811
    rig = kiosk_ui(settings=with_pin())
    ui = rig.driver
    ui.wait_for_screen("attract")
    rig.runtime.engine.start()
    ui.wait_for_screen("identify")
    gesture(rig)
    assert ui.screen_name() == "identify" and not ui.app.staff.active


FAULTED = {
    "card-feeder-empty-a4-paper-out-receipt-paper-out": (
        {"card": "faults=feeder_empty", "a4": "fault=media-empty", "receipt": "faults=paper_out"},
        None, {"card_printer": "feeder_empty", "a4_printer": "paper_out", "receipt_printer": "paper_out"}),
    "card-ribbon-out": ({"card": "ribbon_prints=0"}, None, {"card_printer": "ribbon_out"}),
    "card-cover-open": ({}, "cover", {"card_printer": "cover_open"}),
}


@pytest.mark.parametrize("case", list(FAULTED))
def test_maintenance_screen_faulted_then_out_of_service(kiosk_ui, artifacts_dir, case):  # noqa: F811
    devices, live, faults = FAULTED[case]
    rig = kiosk_ui(settings=with_pin(), **devices)
    ui = rig.driver
    if live == "cover":
        rig.runtime.devices.printer("card_printer").simulator.set_cover(True)
        ui.wait_until(lambda: not rig.runtime.devices.statuses()["card_printer"].usable, what="the cover open")
    for language in ("id", "en"):
        set_language(rig, language)
        gesture(rig)
        type_pin(rig, PIN)
        screen = wait_report(rig)
        text = screen.text(screen.report, language)
        for role, code in faults.items():
            fault = next(f for f in screen.report["devices"][role]["faults"] if f["code"] == code)
            assert fault["what_to_do"][language] in text and fault["message"][language] in text
        for role, device in screen.report["devices"].items():     # supplies in words, not codes
            for name, supply in device.get("supplies", {}).items():
                assert f"{_('supply.' + name, language)} {_('staff.level.' + supply['level'], language)}" in text
        shot(rig, artifacts_dir, f"{language}-maintenance-{case}")
        ui.tap(_("staff.leave", language))
        # Back to service only when the devices can serve: a KIA printer down leaves the KK.
        expected = "out_of_service" if "a4_printer" in faults else "attract"
        ui.wait_for_screen(expected)
        if expected == "attract":
            assert "KIA" not in ui.app.view.available_kinds


# --- the diagnostics bundle to a USB stick (a loop-mounted filesystem) ---------------------------

@pytest.fixture
def usb_stick(tmp_path):
    """plug() mounts a fresh 8 MB ext4 image under tmp_path/media/usb (as the automounter
    would under /media); unmounted at the end. Skips when this machine refuses to mount."""
    import shutil
    import subprocess

    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 (e2fsprogs) not installed")
    image, point = tmp_path / "usb.img", tmp_path / "media" / "usb"
    point.mkdir(parents=True)
    with open(image, "wb") as handle:
        handle.truncate(8 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    mounted = []

    def plug():
        done = subprocess.run(["mount", "-o", "loop", str(image), str(point)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"mounting a loop image is refused here: {done.stderr.strip()}")
        mounted.append(point)
        return point
    yield tmp_path / "media", plug
    for each in mounted:
        subprocess.run(["umount", str(each)], check=False)


def test_usb_export_carries_no_nik_pin_or_document(kiosk_ui, reference_server, artifacts_dir, usb_stick):  # noqa: F811
    from kiosk.session_headless import run_headless_session
    from tests.fixtures.cups import a4_pdf

    media, plug = usb_stick
    nik, name = "3276024707850011", "Siti Tertanam Rahayu"
    pdf = a4_pdf(text="DOCUMENT BYTES MARKER 7731")
    issued = reference_server.issue(nik, name, "+6281234567890", [("KK", "Kartu Keluarga", pdf)])
    citizen_pin = reference_server.pin_for(issued["request_no"])
    rig = kiosk_ui(settings=with_pin())
    ui = rig.driver
    ui.wait_for_screen("attract")
    result = run_headless_session(rig.runtime.engine, nik=nik, pin=citizen_pin, kinds=["KK"])
    assert result.ok, result
    ui.wait_for_screen("attract")
    ui.app.staff.media_roots = (media,)
    gesture(rig)
    type_pin(rig, PIN)
    screen = wait_report(rig)
    ui.tap(_("staff.usb.button", "id"))
    ui.wait_until(lambda: screen.result == _("staff.usb.insert", "id"), what="the ask for a stick")
    shot(rig, artifacts_dir, "id-usb-insert")
    drive = plug()
    ui.wait_until(lambda: screen.result.startswith(_("staff.usb.written", "id", file="")[:8]), timeout=40,
                  what="the bundle written")
    shot(rig, artifacts_dir, "id-usb-written")
    [bundle] = list(drive.glob("adm-diag-*.json"))
    assert screen.result == _("staff.usb.written", "id", file=bundle.name)
    data = bundle.read_bytes()
    import base64
    import json
    assert json.loads(data)["diagnostics"]["devices"]["card_printer"]["model"] == "Evolis KC200"
    assert json.loads(data)["journal"]["jobs"], "the session's job is in the bundle (redacted)"
    for planted in (nik, nik[6:12], name, citizen_pin, "DOCUMENT BYTES MARKER"):
        assert planted.encode() not in data, planted
    assert pdf[200:232] not in data and base64.b64encode(pdf)[200:232] not in data
    trail = rig.runtime.journal.audit_trail(3)
    assert any(r["action"] == "export_bundle" and r["detail"]["outcome"] == "written" for r in trail)
