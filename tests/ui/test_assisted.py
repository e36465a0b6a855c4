"""Assisted mode end to end, in the real window over the real core and the reference dinas:
the kecamatan operator's PIN (the same hidden way in) starts a guided session, their words
show on every screen and the PIN screen asks them to look away; the print's `printed` event
arrives at the dinas marked assisted, the journal counts it, and the next session is not."""

from __future__ import annotations

import json

import pytest

from tests.ui.harness import KioskDriver  # noqa: F401,I001 - Kivy environment first
from kiosk.session_model import Screen
from kiosk.settings import hash_technician_pin
from tests.fixtures.cups import a4_pdf
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.ui.rig import kiosk_ui  # noqa: F401
from tests.ui.test_maintenance import gesture, set_language, shot, type_pin
from ui.i18n import _

pytestmark = pytest.mark.ui

OPERATOR_PIN = "775511"


def assisted_count(server, kiosk_id: str) -> int:
    """The reference dinas's own count of the kiosk's assisted prints."""
    from dinas.db import Database
    from dinas.jobs import assisted_prints

    database = Database(server.db, pool_size=1)
    connection = database.connect()
    try:
        return assisted_prints(connection, kiosk_id)
    finally:
        connection.close()
        database.dispose()


def test_assisted_session_is_marked_at_the_dinas(kiosk_ui, reference_server, artifacts_dir):  # noqa: F811
    nik = "3276024707850029"
    issued = reference_server.issue(nik, "Warga Dibantu", "+6281234567891", [("KK", "Kartu Keluarga", a4_pdf())])
    citizen_pin = reference_server.pin_for(issued["request_no"])
    rig = kiosk_ui(settings=f'operator_pin_hash = "{hash_technician_pin(OPERATOR_PIN)}"\n')
    ui, engine = rig.driver, rig.runtime.engine
    ui.wait_for_screen("attract")
    set_language(rig, "en")
    gesture(rig)
    type_pin(rig, OPERATOR_PIN)
    ui.wait_for_screen("identify")
    assert ui.app.view.assisted and _("assisted.identify", "en") in ui.visible_texts() + [ui.app.root.ids.assisted.text]
    shot(rig, artifacts_dir, "en-assisted-identify")
    engine.submit_nik(nik)
    ui.wait_for_screen("pin")
    assert ui.app.root.ids.assisted.text == _("assisted.pin", "en")
    shot(rig, artifacts_dir, "en-assisted-pin-look-away")
    set_language(rig, "id")
    assert ui.app.root.ids.assisted.text == _("assisted.pin", "id")
    shot(rig, artifacts_dir, "id-assisted-pin-look-away")
    engine.submit_pin(citizen_pin)
    ui.wait_for_screen("documents")
    engine.review()
    ui.wait_for_screen("confirm")
    engine.confirm()
    ui.wait_until(lambda: ui.app.view.screen is Screen.DONE, timeout=60, what="the print")
    assert ui.app.root.ids.assisted.text == _("assisted.done", "id")
    shot(rig, artifacts_dir, "id-assisted-done")
    engine.finish()
    ui.wait_for_screen("attract")
    assert ui.app.root.ids.assisted.text == ""
    engine.start()                                    # the next citizen: no longer assisted
    ui.wait_for_screen("identify")
    assert not ui.app.view.assisted and ui.app.root.ids.assisted.text == ""
    engine.cancel()

    assert rig.runtime.outbox.flush(15)
    events = reference_server.query("SELECT e.state, e.detail FROM job_events e JOIN jobs j ON j.job_id = e.job_id"
                                    " JOIN documents d ON d.id = j.document_id WHERE d.request_no = ?",
                                    issued["request_no"])
    printed = [json.loads(e["detail"]) for e in events if e["state"] == "printed"]
    assert printed == [{"assisted": True}]
    assert assisted_count(reference_server, rig.runtime.cfg.kiosk.id) == 1
    today = rig.runtime.journal.counters()
    assert today["KK"]["printed"] == 1 and today["KK"]["assisted"] == 1
    actions = [(r["actor"], r["action"]) for r in rig.runtime.journal.audit_trail()]
    assert ("operator", "assisted_print") in actions and ("operator", "staff_entered") in actions
