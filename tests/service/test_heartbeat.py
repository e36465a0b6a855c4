"""Heartbeats from a running kiosk (simulated printers) to the reference dinas, over HTTP."""

from __future__ import annotations

import json
import logging
import socket
import time

import jsonschema
import pytest
import requests

from kiosk.app import KioskRuntime
from kiosk.config import load_config
from kiosk.config_schema import ConfigError
from tests.fixtures.dinas_server import openapi_document, reference_server, validate_response  # noqa: F401
from tests.fixtures.kiosk import kiosk_runtimes, write_kiosk_config


def fleet_entry(server, kiosk_id: str) -> dict:
    reply = requests.get(f"{server.url}/admin/kiosks", headers=server.admin_headers(), timeout=5)
    validate_response(reply, "GET", "/admin/kiosks")
    kiosks = reply.json()
    kiosks = kiosks["kiosks"] if isinstance(kiosks, dict) else kiosks
    return next(k for k in kiosks if k["kiosk_id"] == kiosk_id)


def wait_for(condition, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def heartbeat_validator() -> jsonschema.Draft202012Validator:
    document = openapi_document()
    body = document["paths"]["/kiosk/heartbeat"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**document, "$ref": "#/_schema", "_schema": body})


def dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_started_kiosk_is_online_in_the_fleet_with_devices_and_outbox(reference_server, tmp_path):
    kiosk_id = reference_server.kiosks[0]["kiosk_id"]
    assert fleet_entry(reference_server, kiosk_id)["online"] is False
    with kiosk_runtimes() as start:
        runtime = start(write_kiosk_config(reference_server, tmp_path / "kiosk"))
        entry = wait_for(lambda: (e := fleet_entry(reference_server, kiosk_id))["online"] and e,
                         what="the first heartbeat")
    assert set(entry["devices"]) == {"card_printer", "a4_printer", "receipt_printer", "storage"}
    assert entry["devices"]["storage"]["state"] == "ready"          # the state folder (kiosk.storage)
    assert entry["devices"]["card_printer"]["state"] == runtime.devices.statuses()["card_printer"].state.value
    assert entry["outbox_depth"] == 0
    assert entry["software_version"] and entry["config_version"] is None
    assert entry["counters"]["card_stock"]["used"] == 0
    assert entry["heartbeats"] >= 1 and runtime.heartbeat.sent >= 1


def test_card_printer_alarm_is_sent_at_once_and_shows_in_needs(reference_server, tmp_path):
    kiosk_id = reference_server.kiosks[0]["kiosk_id"]
    with kiosk_runtimes() as start:
        runtime = start(write_kiosk_config(reference_server, tmp_path / "kiosk"))
        wait_for(lambda: runtime.heartbeat.sent >= 1, what="the first heartbeat")
        assert "card_printer:cover_open" not in fleet_entry(reference_server, kiosk_id)["needs"]
        runtime.devices.printer("card_printer").simulator.set_cover(True)
        # The interval is the default minute: only the alarm-triggered beat can bring it this soon.
        entry = wait_for(lambda: "card_printer:cover_open" in (e := fleet_entry(reference_server, kiosk_id))["needs"]
                         and e, what="the cover_open alarm in the fleet's needs")
    faults = entry["devices"]["card_printer"]["faults"]
    assert any(f["code"] == "cover_open" and f["severity"] == "alarm" for f in faults)
    assert [f for f in entry["last_faults"] if f["device"] == "card_printer" and f["code"] == "cover_open"]


def test_a_dead_dinas_logs_one_warning_and_the_kiosk_keeps_working(reference_server, tmp_path, caplog):
    path = write_kiosk_config(reference_server, tmp_path / "kiosk", dinas_url=f"http://127.0.0.1:{dead_port()}/api/v1")
    runtime = KioskRuntime.from_config(load_config(path), outbox_base_delay=0.05, heartbeat_s=0.1)
    runtime.heartbeat.first_delay_s = 0.0
    caplog.set_level(logging.INFO, logger="kiosk.telemetry")
    try:
        engine = runtime.start()
        wait_for(lambda: runtime.heartbeat.failed >= 2, what="two failed heartbeats")
        assert runtime.heartbeat.send_now() is False          # never raises
        assert engine.view is not None
        assert runtime.devices.statuses()["card_printer"].state.value == "ready"
    finally:
        runtime.stop()
    warnings = [r for r in caplog.records if r.name == "kiosk.telemetry" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert runtime.heartbeat.sent == 0
    assert not runtime.heartbeat._thread.is_alive()


def test_payload_matches_the_contract_and_holds_no_personal_data(reference_server, tmp_path):
    with kiosk_runtimes() as start:
        runtime = start(write_kiosk_config(reference_server, tmp_path / "kiosk"))
        runtime.devices.printer("card_printer").simulator.set_cover(True)
        wait_for(lambda: runtime.heartbeat.payload()["last_faults"], what="the cover_open fault")
        payload = runtime.heartbeat.payload()
    validator = heartbeat_validator()
    validator.validate(payload)
    broken = {**payload, "devices": {"card_printer": {**payload["devices"]["card_printer"], "state": "on_fire"}}}
    assert not validator.is_valid(broken)                   # the schema check can fail
    text = json.dumps(payload)
    for citizen in reference_server.citizens:
        for value in (citizen["nik"], citizen["name"], citizen["phone"], citizen["pin"], citizen["request_no"]):
            assert value not in text
    for kiosk in reference_server.kiosks:
        assert kiosk["token"] not in text


def _with_settings(path, line: str):
    text = path.read_text()
    text = text.replace("[settings]\n", f"[settings]\n{line}\n", 1) if "[settings]\n" in text \
        else text + f"\n[settings]\n{line}\n"
    path.write_text(text)


@pytest.mark.parametrize("value, problem", [("1", "10 to 900"), ('"fast"', "number")])
def test_a_bad_heartbeat_interval_is_a_clear_config_error(reference_server, tmp_path, value, problem):
    path = write_kiosk_config(reference_server, tmp_path / "kiosk")
    _with_settings(path, f"heartbeat_s = {value}")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "settings.heartbeat_s" in str(error.value) and problem in str(error.value)


def test_heartbeat_interval_comes_from_the_settings(reference_server, tmp_path):
    path = write_kiosk_config(reference_server, tmp_path / "kiosk")
    _with_settings(path, "heartbeat_s = 30")
    assert load_config(path).settings.heartbeat_s == 30.0
