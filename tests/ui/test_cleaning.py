"""Cleaning the card printer from the maintenance screen, in the real window over the real core
(the Evolis simulator on a pty, answering ``Scp`` as the programming guide reads): the counter
since the last cleaning, the steps, a refusal (ribbon still in), the cleaning itself (the
counter back at 0, audited by slot and in the next heartbeat), and the refusal while a print is running. Screenshots in
both languages go to artifacts/ui/technician/."""

from __future__ import annotations

import pytest

from tests.ui.harness import KioskDriver  # noqa: F401,I001 - Kivy environment first
from kiosk.diagnostics import CLEANING_ACTION
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.service.test_staff_audit import beats
from tests.ui.rig import kiosk_ui  # noqa: F401
from tests.ui.test_maintenance import PIN, gesture, set_language, shot, type_pin, wait_report, with_pin
from ui.i18n import _

pytestmark = pytest.mark.ui


def enter(rig, language: str):
    set_language(rig, language)
    gesture(rig)
    type_pin(rig, PIN)
    return wait_report(rig)


def wait_cleaning_result(rig, expected: str):
    ui = rig.driver
    screen = ui.app.staff_screens["staff_cleaning"]
    ui.wait_until(lambda: not screen.running and screen.result == expected, timeout=30,
                  what=f"the cleaning result {expected!r} (got {screen.result!r})")
    return screen


def test_cleaning_the_card_printer_resets_its_counter(kiosk_ui, reference_server, artifacts_dir):  # noqa: F811
    rig = kiosk_ui(settings=with_pin(), card="faults=needs_cleaning&cleaning_seconds=0.3")
    ui, sim = rig.driver, rig.runtime.devices.printer("card_printer").simulator
    ui.wait_for_screen("attract")

    # The counter on the maintenance screen; nothing recorded yet, and the printer asks for it.
    screen = enter(rig, "en")
    cleaning = screen.report["devices"]["card_printer"]["cleaning"]
    assert cleaning["last_at"] is None and cleaning["due"] is True and cleaning["cleanings_done"] == 0
    text = screen.text(screen.report, "en")
    assert _("staff.clean.never", "en") in text and _("staff.clean.due", "en") in text
    shot(rig, artifacts_dir, "en-maintenance-cleaning-due")
    ui.tap(_("staff.clean.button", "en"))
    ui.wait_until(lambda: ui.screen_name() == "staff_cleaning", what="the cleaning screen")
    assert _("staff.clean.steps", "en") in ui.visible_texts()
    shot(rig, artifacts_dir, "en-cleaning-steps")

    # The ribbon still in: the printer refuses, the technician is told to take it out.
    ui.tap(_("staff.clean.start", "en"))
    wait_cleaning_result(rig, _("staff.clean.ribbon", "en"))
    assert ui.app.staff_screens["staff_cleaning"].result_is_error and sim.snapshot()["cleanings"] == 0
    shot(rig, artifacts_dir, "en-cleaning-ribbon-in")
    ui.tap(_("action.back", "en"))
    wait_report(rig)
    ui.tap(_("staff.leave", "en"))

    # In Bahasa Indonesia: ribbon out, cleaning card in, and the cleaning runs.
    screen = enter(rig, "id")
    ui.tap(_("staff.clean.button", "id"))
    ui.wait_until(lambda: ui.screen_name() == "staff_cleaning", what="the cleaning screen")
    shot(rig, artifacts_dir, "id-cleaning-steps")
    sim.remove_ribbon()
    sim.insert_cleaning_card()
    ui.tap(_("staff.clean.start", "id"))
    ui.wait_until(lambda: ui.app.staff_screens["staff_cleaning"].running, what="the cleaning running")
    cleaned = wait_cleaning_result(rig, _("staff.clean.done", "id"))
    assert not cleaned.result_is_error and sim.snapshot()["cleanings"] == 1 and not sim.needs_cleaning
    ui.wait_until(lambda: cleaned.figures.get("last_at") and not screen.loading, timeout=40,
                  what="the counter read again")
    assert cleaned.figures["cards_since"] == 0 and cleaned.figures["last_by"] == "technician"
    assert cleaned.figures["cleanings_done"] == 1
    assert _("staff.clean.since", "id", cards=0, at=cleaned.figures["last_at"], by="technician") \
        in cleaned.counter_text(cleaned.figures, "id")
    shot(rig, artifacts_dir, "id-cleaning-done")
    sim.fit_ribbon()

    # Every try is audited by slot, with the printer's count at the cleaning.
    tries = [r["detail"] for r in reversed(rig.runtime.journal.audit_trail()) if r["action"] == CLEANING_ACTION]
    assert [t["outcome"] for t in tries] == ["failed: ribbon_error", "cleaned"]
    assert tries[1]["slot"] == "technician" and tries[1]["cards_inserted"] == 0 and tries[1]["cleanings_done"] == 1
    assert rig.runtime.heartbeat.send_now()                 # the dinas hears of both, by slot
    carried = [a for beat in beats(reference_server, rig.runtime.cfg.kiosk.id) for a in beat["staff_actions"]]
    assert [(a["actor"], a["detail"]["outcome"]) for a in carried if a["action"] == CLEANING_ACTION] == \
        [("technician", "failed: ribbon_error"), ("technician", "cleaned")]

    # A print running on the card printer (a job not yet final): refused, and the printer untouched.
    rig.runtime.journal.create_job("job-cleaning-test", "doc-1", "KIA", "card_printer")
    sim.remove_ribbon()
    sim.insert_cleaning_card()
    ui.tap(_("staff.clean.start", "id"))
    wait_cleaning_result(rig, _("staff.clean.refused_printing", "id"))
    assert sim.snapshot()["cleanings"] == 1 and sim.log.count("Scp") == 2
    shot(rig, artifacts_dir, "id-cleaning-refused-printing")


def test_no_cleaning_button_without_a_printer_that_cleans(kiosk_ui):  # noqa: F811
    rig = kiosk_ui(settings=with_pin(), card="none")
    ui = rig.driver
    ui.wait_for_screen("attract")
    screen = enter(rig, "en")
    assert screen.clean_roles == [] and _("staff.clean.button", "en") not in ui.visible_texts()
    assert "card_printer" not in screen.report["devices"]
