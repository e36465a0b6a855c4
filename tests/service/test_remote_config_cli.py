"""`adm-kiosk config sync --once` and `config show --json` as specified, the heartbeat hint that
makes the running worker poll at once, and the state that survives a restart (an unfinished
health check, an undelivered report)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from kiosk.app import KioskRuntime
from kiosk.cli import main as adm_kiosk
from kiosk.config import load_config
from kiosk.remote_config.store import ConfigStore
from kiosk.remote_config.sync import ConfigSync
from tests.fixtures.config_envelopes import TestKey, kiosk_toml, payload, spec_sign
from tests.fixtures.dinas_server import reference_server  # noqa: F401

KEY = TestKey.new("dinas-bdg-2026")
GROUP = "kota-bandung"


def push(server, version: int, settings: dict, key: TestKey = KEY) -> None:
    envelope = spec_sign(payload(version, groups=[GROUP], settings=settings), [key])
    reply = requests.put(f"{server.url}/admin/config", headers=server.admin_headers(), timeout=10,
                         json={"target": {"groups": [GROUP]}, "envelope": envelope})
    assert reply.status_code == 200, reply.text


@pytest.fixture
def config_path(reference_server, tmp_path):
    return kiosk_toml(reference_server, tmp_path / "kiosk", trusted=KEY.trusted_toml(), group=GROUP)


def cli(capsys, config_path, *argv) -> tuple[int, str, str]:
    status = adm_kiosk(["--config", str(config_path), "config", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_show_before_anything_was_pushed(config_path, capsys):
    status, out, _ = cli(capsys, config_path, "show", "--json")
    shown = json.loads(out)
    assert status == 0 and set(shown) == {"applied_version", "settings", "last"}
    assert shown["applied_version"] is None and shown["last"] is None
    assert shown["settings"]["help_url"] == "http://127.0.0.1/help"          # kiosk.toml's


def test_sync_once_exit_statuses_and_show(reference_server, config_path, capsys):
    status, out, _ = cli(capsys, config_path, "sync", "--once", "--device-timeout", "5")
    assert status == 0 and "no configuration" in out                         # nothing published: exit 0
    push(reference_server, 5, {"announcement": "Libur", "heartbeat_s": 30})
    status, out, _ = cli(capsys, config_path, "sync", "--once", "--device-timeout", "5")
    assert status == 0 and "applied v5" in out
    status, out, _ = cli(capsys, config_path, "sync", "--once", "--device-timeout", "5")
    assert status == 0 and "nothing new" in out
    push(reference_server, 6, {"announcement": 7})
    status, _, err = cli(capsys, config_path, "sync", "--once", "--device-timeout", "5")
    assert status == 1 and "rejected v6: invalid_settings" in err
    status, out, _ = cli(capsys, config_path, "show", "--json")
    shown = json.loads(out)
    assert shown["applied_version"] == 5 and shown["settings"]["announcement"] == "Libur"
    assert shown["settings"]["heartbeat_s"] == 30
    assert shown["last"] == {"version": 6, "result": "rejected", "reason": "invalid_settings"}


def test_sync_once_when_the_dinas_cannot_be_asked(reference_server, tmp_path, capsys):
    path = kiosk_toml(reference_server, tmp_path / "kiosk", trusted=KEY.trusted_toml(), group=GROUP,
                      dinas_url="http://127.0.0.1:9/api/v1")
    status, _, err = cli(capsys, path, "sync", "--once", "--device-timeout", "5")
    assert status == 2 and "could not be asked" in err


def test_sync_once_with_a_damaged_state_file_says_so_and_keeps_it(reference_server, config_path, capsys):
    push(reference_server, 4, {"announcement": "x"})
    state = load_config(config_path).kiosk.state_dir / "remote-config.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text('{"floor": 9, "applied_ver')                  # cut short
    status, _, err = cli(capsys, config_path, "sync", "--once", "--device-timeout", "5")
    assert status == 2 and "remote-config state" in err and "move it away to reset remote config" in err
    assert "could not be asked" not in err
    assert state.read_text() == '{"floor": 9, "applied_ver'         # the version floor is never reset silently
    assert cli(capsys, config_path, "show", "--json")[0] == 2


def test_the_heartbeat_hint_makes_the_worker_poll_at_once(reference_server, config_path):
    push(reference_server, 7, {"announcement": "at start"})
    runtime = KioskRuntime.from_config(load_config(config_path), outbox_base_delay=0.05)
    try:
        runtime.start()                       # the worker syncs now, then every config_poll_s (15 minutes)
        deadline = time.monotonic() + 10
        while runtime.config_sync.version != 7:
            assert time.monotonic() < deadline, "the first sync did not apply v7"
            time.sleep(0.05)
        push(reference_server, 8, {"heartbeat_s": 20, "announcement": "via the hint"})
        # the worker's own next poll is 15 minutes away: only a heartbeat reply can bring v8 now
        assert runtime.heartbeat.send_now()                  # its reply says config_waiting
        deadline = time.monotonic() + 10
        while runtime.config_sync.version != 8:
            assert time.monotonic() < deadline, "the worker did not poll after the hint"
            time.sleep(0.05)
        assert runtime.engine.settings.announcement == "via the hint"
        assert runtime.heartbeat.interval_s == 20            # the pushed interval took effect
    finally:
        runtime.stop()


def test_a_restart_during_the_health_check_rolls_back(reference_server, config_path, capsys):
    push(reference_server, 9, {"announcement": "unproven"})
    assert cli(capsys, config_path, "sync", "--once", "--device-timeout", "5")[0] == 0
    cfg = load_config(config_path)
    store = ConfigStore(cfg.kiosk.state_dir)
    store.update(store.load(), checking=True)               # as if the kiosk died mid-check
    starting = ConfigSync(cfg, client=None, store=store, applier=None)   # what a restarted kiosk runs first
    assert starting.settings.announcement == "" and starting.version is None
    status, _, err = cli(capsys, config_path, "sync", "--once", "--device-timeout", "5")
    shown = json.loads(cli(capsys, config_path, "show", "--json")[1])
    assert shown["applied_version"] is None and shown["settings"]["announcement"] == ""
    assert shown["last"] == {"version": 9, "result": "rolled_back", "reason": "health_check"}
    assert reference_server.query("SELECT version, result FROM config_reports ORDER BY id DESC LIMIT 1") == \
        [{"version": 9, "result": "rolled_back"}]


def test_a_report_the_dinas_did_not_take_is_sent_with_the_next_sync(reference_server, config_path, capsys):
    push(reference_server, 10, {"announcement": "x"}, key=TestKey.new("stranger"))
    cfg = load_config(config_path)
    runtime = KioskRuntime.from_config(cfg, outbox_base_delay=0.05)
    report = runtime.client.report_config
    runtime.client.report_config = lambda *a: (_ for _ in ()).throw(OSError("link down"))
    try:
        runtime.start(config_worker=False)
        assert runtime.config_sync.sync_once().result == "rejected"
        assert ConfigStore(cfg.kiosk.state_dir).load().unreported["version"] == 10
        assert reference_server.query("SELECT COUNT(*) AS n FROM config_reports") == [{"n": 0}]
        runtime.client.report_config = report
        assert runtime.config_sync.sync_once().result == "unchanged"      # same envelope: not handled again
    finally:
        runtime.stop()
    assert ConfigStore(cfg.kiosk.state_dir).load().unreported is None
    assert reference_server.query("SELECT version, result, reason FROM config_reports") == \
        [{"version": 10, "result": "rejected", "reason": "signature"}]


def test_a_pushed_technician_pin_hash_is_the_one_the_technician_commands_ask_for(reference_server, config_path,
                                                                                 capsys):
    from kiosk.remote_config.store import with_running_settings
    from kiosk.settings import hash_technician_pin

    push(reference_server, 11, {"technician_pin_hash": hash_technician_pin("246810"),
                                "operator_pin_hash": hash_technician_pin("1357")})
    assert cli(capsys, config_path, "sync", "--once", "--device-timeout", "5")[0] == 0
    settings = with_running_settings(load_config(config_path)).settings
    assert settings.check_technician_pin("246810") and not settings.check_technician_pin("000000")
    assert settings.check_operator_pin("1357")
    shown = json.loads(cli(capsys, config_path, "show", "--json")[1])
    assert shown["settings"]["technician_pin_hash"] == "(set)"          # the hash is not printed


def test_a_replayed_older_version_is_refused_by_a_new_os_process(reference_server, config_path, capsys):
    import subprocess
    import sys

    push(reference_server, 20, {"announcement": "current"})
    assert cli(capsys, config_path, "sync", "--once", "--device-timeout", "5")[0] == 0
    push(reference_server, 19, {"announcement": "an old push replayed"})
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(config_path), "config", "sync",
                           "--once", "--device-timeout", "5"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "rejected v19: rollback" in done.stderr
    shown = json.loads(cli(capsys, config_path, "show", "--json")[1])
    assert shown["applied_version"] == 20 and shown["settings"]["announcement"] == "current"
