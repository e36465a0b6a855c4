"""What a technician or operator does reaches the dinas in the next heartbeat (audit rows by
PIN slot), once, and carries no PIN."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Iterator

from kiosk.settings import hash_technician_pin
from kiosk.staff_access import TECHNICIAN, StaffAccess
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import kiosk_runtimes, write_kiosk_config
from tests.service.test_heartbeat import wait_for

PIN = "482913"


@contextmanager
def technician_kiosk(server, directory) -> Iterator:
    """Kiosk 0 of the seed with PIN as its technician PIN, running, its first heartbeat sent."""
    config = write_kiosk_config(server, directory, settings=f'technician_pin_hash = "{hash_technician_pin(PIN)}"\n')
    with kiosk_runtimes() as start:
        runtime = start(config)
        wait_for(lambda: runtime.heartbeat.sent >= 1, what="the first heartbeat")
        yield runtime


def beats(server, kiosk_id: str) -> list[dict]:
    return [json.loads(row["body"]) for row in
            server.query("SELECT body FROM heartbeats WHERE kiosk_id = ? ORDER BY received_at", kiosk_id)]


def test_staff_actions_go_with_the_next_heartbeat_once(reference_server, tmp_path):  # noqa: F811
    kiosk_id = reference_server.kiosks[0]["kiosk_id"]
    with technician_kiosk(reference_server, tmp_path / "kiosk") as runtime:
        now = [1_000_000.0]
        access = StaffAccess(runtime.journal, lambda: runtime.config_sync.settings, clock=lambda: now[0])
        assert access.try_pin("000000", TECHNICIAN).outcome.value == "wrong"
        now[0] += 60                  # past the slowdown
        answer = access.try_pin(PIN, TECHNICIAN)
        access.record(answer.slot, "replenish_cards", {"loaded": 50})
        assert runtime.heartbeat.send_now() and runtime.heartbeat.send_now()
    carried = [beat["staff_actions"] for beat in beats(reference_server, kiosk_id)]
    with_actions = [actions for actions in carried if actions]
    assert len(with_actions) == 1, carried
    [actions] = with_actions
    assert [(a["actor"], a["action"]) for a in actions] == \
        [("technician", "refused"), ("technician", "staff_entered"), ("technician", "replenish_cards")]
    assert actions[-1]["detail"] == {"loaded": 50, "slot": "technician"}
    assert PIN not in json.dumps(carried)


def test_ribbon_and_a4_paper_refills_are_audited_and_go_with_the_next_heartbeat(reference_server, tmp_path):  # noqa: F811
    """The desk's refills (ui/staff_mode.py calls them): who by PIN slot, what, when; the
    receipt count rides in the beat's counters beside the card stock (the dinas keeps
    `counters` as an open object, so the extra key is accepted)."""
    from kiosk.staff_desk import StaffDesk

    kiosk_id = reference_server.kiosks[0]["kiosk_id"]
    with technician_kiosk(reference_server, tmp_path / "kiosk") as runtime:
        desk = StaffDesk(runtime)
        assert desk.replenish("technician", "ribbon", None)["by"] == "technician"
        desk.replenish("technician", "paper_a4", None)
        assert desk.replenish("technician", "receipt_paper", 250)["remaining"] == 250
        report = runtime.diagnostics.report()
        assert report["supplies"]["ribbon"]["since"] and report["supplies"]["paper_a4"]["by"] == "technician"
        assert runtime.heartbeat.send_now()
    [beat] = [b for b in beats(reference_server, kiosk_id) if b["staff_actions"]]
    assert [(a["actor"], a["action"], a["detail"]) for a in beat["staff_actions"]] == [
        ("technician", "refilled_ribbon", {"supply": "ribbon", "slot": "technician"}),
        ("technician", "refilled_paper_a4", {"supply": "paper_a4", "slot": "technician"}),
        ("technician", "replenish_receipt_paper", {"supply": "receipt_paper", "loaded": 250, "slot": "technician"})]
    assert all(a["at"].endswith("Z") for a in beat["staff_actions"])
    assert beat["counters"]["receipt_stock"]["remaining"] == 250
    assert beat["counters"]["card_stock"]["loaded"] is None
    # The fleet page's kiosk view shows the receipt count beside the card count (none recorded).
    import requests
    from tests.fixtures.fleet_page import login

    admin = requests.Session()
    login(admin, reference_server)
    page = admin.get(f"{reference_server.url.removesuffix('/api/v1')}/admin/kiosks/{kiosk_id}", timeout=10).text
    assert "Stok struk (hitungan kios)" in page and "250 dari 250" in page
    assert "Stok kartu (hitungan kios)" not in page


def test_the_dinas_refuses_malformed_staff_actions(reference_server):  # noqa: F811
    import requests

    kiosk_id = reference_server.kiosks[0]["kiosk_id"]
    beat = {"kiosk_id": kiosk_id, "software_version": "t", "config_version": None, "uptime_s": 1,
            "devices": {}, "counters": {}, "outbox_depth": 0, "last_faults": []}
    for bad in ("x", [{"actor": "technician"}], [{}] * 101):
        reply = requests.post(f"{reference_server.url}/kiosk/heartbeat", json={**beat, "staff_actions": bad},
                              headers=reference_server.kiosk_headers(), timeout=5)
        assert reply.status_code == 400 and "staff_actions" in reply.text, reply.text
    reply = requests.post(f"{reference_server.url}/kiosk/heartbeat", json={**beat, "cards_low": "yes"},
                          headers=reference_server.kiosk_headers(), timeout=5)
    assert reply.status_code == 400 and "cards_low" in reply.text


def test_the_dinas_refuses_an_assisted_mark_that_is_not_true_or_false(reference_server):  # noqa: F811
    import uuid

    import requests

    reply = requests.post(f"{reference_server.url}/kiosk/jobs/{uuid.uuid4()}/events",
                          json={"event_id": str(uuid.uuid4()), "state": "printed", "at": "2026-12-01T10:00:00Z",
                                "detail": {"assisted": "yes"}},
                          headers=reference_server.kiosk_headers(), timeout=5)
    assert reply.status_code == 400 and "detail.assisted" in reply.text, reply.text
