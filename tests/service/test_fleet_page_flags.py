"""The fleet page's flags kept on each kiosk's row (dinas.fleet: beat_needs, config_report,
needs_action), on both backends: after heartbeats and configuration reports in every order,
the page's one query filters, counts and orders the kiosks exactly as the rules say when they
are worked out from each kiosk's status (`fleet.listing` and `view.triage`); and a database
from before the flags (schema version 3) gets them from what its kiosks last sent."""

from __future__ import annotations

import json

import pytest
import requests

from devices.status import Fault, FaultCode, SupplyLevel
from dinas import auth, fleet, migrations
from dinas.db import Database
from dinas.web.view import triage
from tests.fixtures.dinas_server import on_both_backends, reference_server  # noqa: F401
from tests.fixtures.fleet_page import add_kiosks, devices, heartbeat, local_day, send
from tests.fixtures.postgres import postgres_cluster  # noqa: F401


def _report(server, token: str, version: int, result: str) -> None:
    reply = requests.post(f"{server.url}/kiosk/config/reports", json={"version": version, "result": result},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reply.status_code == 202, reply.text


def _expected_order(statuses: list[dict]) -> list[str]:
    """The page's order, from each kiosk's status: offline ones heard from first, then those
    needing action, then the rest, revoked ones last; by id within each."""
    def rank(status: dict) -> tuple[int, str]:
        kiosk = triage(status)
        if kiosk.revoked:
            return 3, kiosk.kiosk_id
        return (0 if kiosk.offline and kiosk.ever_seen else 1 if kiosk.needs_action else 2), kiosk.kiosk_id
    return [status["kiosk_id"] for status in sorted(statuses, key=rank)]


def _check_page_against_the_rules(connection, now: float) -> dict[str, dict]:
    statuses = {status["kiosk_id"]: status for status in fleet.listing(connection, now)}
    counts = fleet.group_counts(connection, now)
    for group in (None, *{s["group"] for s in statuses.values()}):
        in_group = [s for s in statuses.values() if group is None or s["group"] == group]
        chosen = {"all": in_group, "needs": [s for s in in_group if triage(s).needs_action],
                  "offline": [s for s in in_group if triage(s).offline]}
        for show, expected in chosen.items():
            page = fleet.fleet_page(connection, now, show, group, 0, 1000)
            assert [s["kiosk_id"] for s in page] == _expected_order(expected), (show, group)
            assert all(s == statuses[s["kiosk_id"]] for s in page), "the page's row differs from the listing's"
            assert sum(c[show] for g, c in counts.items() if group is None or g == group) == len(expected)
    return statuses


def test_the_kept_flags_filter_and_order_as_the_rules_say(reference_server):  # noqa: F811
    server = reference_server
    tokens = {k["kiosk_id"]: k["token"] for k in server.kiosks}
    tokens.update(add_kiosks(server, [(f"ADM-F-{n:02d}", "kota-f" if n % 2 else None) for n in range(10)]))
    today = local_day(server)
    low = {"devices": devices(cards=SupplyLevel.LOW, card_faults=(Fault(FaultCode.FEEDER_LOW),))}
    alarm = {"devices": devices(ribbon=SupplyLevel.OUT, card_faults=(Fault(FaultCode.RIBBON_OUT),))}
    ids = sorted(tokens)

    def beat(kiosk_id: str, **overrides) -> None:
        send(server, tokens[kiosk_id], heartbeat(kiosk_id, today, 3, 0, **overrides))

    server.clock.advance(-3600)                     # an hour ago: these are offline now
    beat(ids[0], **low)
    beat(ids[1])
    server.clock.advance(3600)
    beat(ids[2])                                    # fine
    beat(ids[3], **low)                             # a supply low
    beat(ids[4], **alarm)
    beat(ids[4])                                    # ... then mended: no longer needs action
    beat(ids[5])
    _report(server, tokens[ids[5]], 3, "rejected")  # a rejected configuration
    _report(server, tokens[ids[6]], 3, "rejected")  # rejected before its first heartbeat ...
    beat(ids[6])                                    # ... which does not clear it
    beat(ids[7])
    _report(server, tokens[ids[7]], 3, "rolled_back")
    _report(server, tokens[ids[7]], 4, "applied")   # a later report clears it
    beat(ids[8], config_stale=True)                 # an expired configuration running
    beat(ids[9], **alarm)
    with server.writing() as connection:
        auth.revoke_kiosk(connection, ids[9], server.clock())
    _report(server, tokens[ids[10]], 2, "rolled_back")   # never sent a heartbeat, needs action
    # ids[11], ids[12]: never heard from.
    with server.writing() as connection:
        statuses = _check_page_against_the_rules(connection, server.clock())
    needing = {k for k, s in statuses.items() if triage(s).needs_action}
    assert needing == {ids[0], ids[3], ids[5], ids[6], ids[8], ids[10]}
    with server.writing() as connection:
        page = [s["kiosk_id"] for s in fleet.fleet_page(connection, server.clock(), "all", None, 0, 3)]
        second = [s["kiosk_id"] for s in fleet.fleet_page(connection, server.clock(), "all", None, 3, 3)]
    assert page == [ids[0], ids[1], ids[3]] and second == [ids[5], ids[6], ids[8]]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_3_database_gets_the_flags_from_what_its_kiosks_last_sent(backend, tmp_path, monkeypatch,
                                                                             request):
    target = (request.getfixturevalue("postgres_cluster").new_database() if backend == "postgresql"
              else str(tmp_path / "v3.db"))
    database = Database(target, pool_size=1)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
    monkeypatch.setattr(migrations, "LATEST", 3)
    migrations.migrate(database)
    low = json.dumps(devices(cards=SupplyLevel.LOW, card_faults=(Fault(FaultCode.FEEDER_LOW),)))
    fine = json.dumps(devices())
    with database.write() as connection:
        for kiosk_id, body, stale in (("K-LOW", low, 0), ("K-FINE", fine, 0), ("K-STALE", fine, 1),
                                      ("K-REJECTED", fine, 0), ("K-MENDED", fine, 0), ("K-NEVER", None, None)):
            connection.run("INSERT INTO kiosks (kiosk_id, grp, created_at, last_seen, devices, config_stale) "
                           "VALUES (:k, 'g', 0, :seen, :d, :s)", k=kiosk_id, seen=None if body is None else 1000.0,
                           d=body, s=stale)
        for kiosk_id, result in (("K-REJECTED", "rejected"), ("K-MENDED", "rejected"), ("K-MENDED", "applied")):
            connection.run("INSERT INTO config_reports (kiosk_id, version, result, received_at) "
                           "VALUES (:k, 1, :r, 1000)", k=kiosk_id, r=result)
    monkeypatch.undo()
    assert migrations.migrate(database) == 3
    with database.session() as connection:
        assert migrations.current_version(connection.raw) == migrations.LATEST
        rows = {row["kiosk_id"]: dict(row) for row in connection.all(
            "SELECT kiosk_id, beat_needs, config_report, needs_action FROM kiosks")}
        assert {k: r["needs_action"] for k, r in rows.items()} == {
            "K-LOW": 1, "K-FINE": 0, "K-STALE": 1, "K-REJECTED": 1, "K-MENDED": 0, "K-NEVER": 0}
        assert rows["K-MENDED"]["config_report"] == "applied" and rows["K-STALE"]["beat_needs"] == 1
        _check_page_against_the_rules(connection, 1000.0 + 60)
    database.dispose()
