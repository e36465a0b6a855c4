"""The supplies screen in the real window over the real core (reference dinas on loopback,
simulated printers; the receipt printer a clone whose roll is not sensed, so the kiosk's own
receipt count stands in): one button per supply the configured printers take, a counted
supply's number on the keypad, a sensed one recorded as replaced, each result shown, audited
under the PIN slot that got in, and back. Screenshots in both languages go to
artifacts/ui/technician/."""

from __future__ import annotations

import pytest

from tests.ui.harness import KioskDriver  # noqa: F401,I001 - Kivy environment first

from devices.status import Consumable, FaultCode
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.ui.rig import kiosk_ui  # noqa: F401
from tests.ui.test_maintenance import PIN, gesture, set_language, shot, type_pin, wait_report, with_pin
from ui.i18n import _

pytestmark = pytest.mark.ui


def name(supply: str, language: str) -> str:
    return _("supply." + supply, language)


def open_supplies(rig, language: str):
    ui = rig.driver
    gesture(rig)
    type_pin(rig, PIN)
    wait_report(rig)
    ui.tap(_("staff.supplies.button", language))
    screen = ui.app.staff_screens["supplies"]
    ui.wait_until(lambda: ui.screen_name() == "supplies" and screen.supplies and not screen.loading,
                  what="the supplies screen")
    return screen


def wait_result(rig, text: str) -> None:
    screen = rig.driver.app.staff_screens["supplies"]
    rig.driver.wait_until(lambda: screen.result == text and not screen.loading, what=text)


def test_recording_refills_from_the_supplies_screen_in_both_languages(kiosk_ui, artifacts_dir):  # noqa: F811
    rig = kiosk_ui(settings=with_pin("receipt_low = 5\n"), receipt="faults=odd_status")
    ui = rig.driver
    journal = rig.runtime.journal
    ui.wait_for_screen("attract")
    for language, receipts in (("id", 3), ("en", 40)):
        set_language(rig, language)
        screen = open_supplies(rig, language)
        # A button per supply of the configured printers, in the registry's order.
        assert list(screen.supplies) == ["cards", "ribbon", "paper_a4", "receipt_paper"]
        labels = [button.text for button in reversed(screen.ids.buttons.children)]
        assert labels == [_("staff.supplies.load", language, supply=name("cards", language)),
                          _("staff.supplies.replace", language, supply=name("ribbon", language)),
                          _("staff.supplies.replace", language, supply=name("paper_a4", language)),
                          _("staff.supplies.load", language, supply=name("receipt_paper", language))]
        shot(rig, artifacts_dir, f"{language}-supplies")

        # A counted supply: the keypad, then the result and the count on the screen.
        ui.tap(_("staff.supplies.load", language, supply=name("receipt_paper", language)))
        assert ui.screen_name() == "staff_pin"
        shot(rig, artifacts_dir, f"{language}-supplies-keypad-receipts")
        ui.tap_digits(str(receipts))
        ui.tap(_("staff.count.record", language))
        wait_result(rig, _("staff.supplies.recorded_count", language, supply=name("receipt_paper", language),
                           loaded=receipts))
        figures = screen.text(screen.supplies, language)
        assert _("staff.supplies.count", language, supply=name("receipt_paper", language), remaining=receipts,
                 loaded=receipts, low_at=5) in figures
        receipt = rig.runtime.devices.statuses()["receipt_printer"]
        assert receipt.has_fault(FaultCode.PAPER_LOW) == (receipts <= 5) and receipt.usable    # by count

        # A sensed supply: recorded as replaced at the touch, with when and by whom.
        ui.tap(_("staff.supplies.replace", language, supply=name("ribbon", language)))
        wait_result(rig, _("staff.supplies.recorded_refill", language, supply=name("ribbon", language)))
        ui.wait_until(lambda: screen.supplies["ribbon"]["since"], what="the ribbon's record")
        figures = screen.text(screen.supplies, language)
        assert "technician" in figures and " UTC" in figures
        shot(rig, artifacts_dir, f"{language}-supplies-recorded")

        ui.tap(_("action.back", language))
        maintenance = wait_report(rig)
        assert _("staff.supplies.count", language, supply=name("receipt_paper", language), remaining=receipts,
                 loaded=receipts, low_at=5) in maintenance.text(maintenance.report, language)
        ui.tap(_("staff.leave", language))
        ui.wait_for_screen("attract")

    # Each refill is audited under the slot that got in, with what it was.
    status = rig.runtime.devices.statuses()["receipt_printer"]
    assert status.supply(Consumable.RECEIPT_PAPER).count == 40 and not status.has_fault(FaultCode.PAPER_LOW)
    refills = [(r["actor"], r["action"], r["detail"]) for r in reversed(journal.audit_trail())
               if r["action"].startswith(("replenish_", "refilled_"))]
    assert refills == [
        ("technician", "replenish_receipt_paper", {"supply": "receipt_paper", "loaded": 3, "slot": "technician"}),
        ("technician", "refilled_ribbon", {"supply": "ribbon", "slot": "technician"}),
        ("technician", "replenish_receipt_paper", {"supply": "receipt_paper", "loaded": 40, "slot": "technician"}),
        ("technician", "refilled_ribbon", {"supply": "ribbon", "slot": "technician"})]


def test_a_count_above_the_limit_is_refused_on_the_keypad_and_back_returns_to_the_supplies(kiosk_ui, artifacts_dir):  # noqa: F811,E501
    rig = kiosk_ui(settings=with_pin())
    ui = rig.driver
    ui.wait_for_screen("attract")
    set_language(rig, "en")
    open_supplies(rig, "en")
    ui.tap(_("staff.supplies.load", "en", supply=name("cards", "en")))
    ui.tap_digits("99999")
    ui.tap(_("staff.count.record", "en"))
    pad = ui.app.staff_screens["staff_pin"]
    assert ui.screen_name() == "staff_pin" and pad.message == _("staff.count.too_many", "en", max=10_000)
    shot(rig, artifacts_dir, "en-supplies-keypad-too-many")
    ui.tap(_("action.back", "en"))
    ui.wait_until(lambda: ui.screen_name() == "supplies", what="back to the supplies")
    assert rig.runtime.journal.stock("cards")["loaded"] is None
    assert not [r for r in rig.runtime.journal.audit_trail() if r["action"].startswith("replenish_")]
