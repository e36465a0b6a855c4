"""The admin's side of remote configuration, through `adm-dinas` itself: keygen, sign with
messages an admin understands, push to the reference server over loopback HTTP, status, and
a staged rollout over several simulated kiosks that stops at its threshold."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from dinas import auth
from dinas.cli import main as adm_dinas
from kiosk.config import load_config
from kiosk.dinas_client import DinasClient
from kiosk.remote_config.store import ConfigStore
from kiosk.remote_config.sync import ConfigSync
from tests.fixtures.config_envelopes import TestKey, kiosk_toml, trusted_toml
from tests.fixtures.dinas_server import reference_server  # noqa: F401

SETTINGS = 'announcement = "Kiosk buka Sabtu"\nannouncement_en = "Open on Saturday"\nidle_timeout_s = 120\n'


def run(capsys, *argv) -> tuple[int, str, str]:
    status = adm_dinas([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def admin(reference_server, tmp_path, capsys):
    """A key pair from `adm-dinas keygen`, a settings file and the admin token's file."""
    status, out, _ = run(capsys, "keygen", "--out", tmp_path / "keys", "--keyid", "dinas-bdg-2026")
    assert status == 0
    (tmp_path / "settings.toml").write_text(SETTINGS)
    (tmp_path / "admin.token").write_text(reference_server.admin_token + "\n")
    public = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("public key: "))
    return {"key": tmp_path / "keys" / "dinas-bdg-2026.key", "public": public, "out": out,
            "file": tmp_path / "settings.toml",
            "api": ["--url", reference_server.url, "--token-file", tmp_path / "admin.token"],
            "trusted": trusted_toml("dinas-bdg-2026", public)}


def test_keygen_writes_a_private_key_only_its_owner_reads(admin, tmp_path, capsys):
    assert stat.S_IMODE(os.stat(admin["key"]).st_mode) == 0o600
    assert "keyid: dinas-bdg-2026" in admin["out"] and len(admin["public"]) == 44
    assert (tmp_path / "keys" / "dinas-bdg-2026.pub").read_text().strip() == admin["public"]
    status, _, err = run(capsys, "keygen", "--out", tmp_path / "keys", "--keyid", "dinas-bdg-2026")
    assert status == 2 and "never overwritten" in err


@pytest.mark.parametrize("settings, says", [
    ("idle_timout_s = 120\n", "unknown setting 'idle_timout_s' (did you mean 'idle_timeout_s'?)"),
    ("idle_timeout_s = 5\n", "settings.idle_timeout_s: 5 is out of range (minimum "),
    ("language = \"jv\"\n", "settings.language:"),
    ("timezone = \"Asia/Bandung\"\n", "not an IANA time zone"),
    ("idle_timeout_s = \n", "not valid TOML"),
    # what the schema's pattern lets through and every kiosk would refuse (invalid_settings)
    ("[opening_hours]\nmon = \"16:00-08:00\"\n", "opening_hours.mon: '16:00-08:00' ends before it starts"),
    ("[opening_hours]\ntue = \"25:00-26:00\"\n", "opening_hours.tue: '25:00-26:00' is not a time of day"),
    ("[opening_hours]\nwed = \"08:00-12:00, 11:00-13:00\"\n", "the ranges of '08:00-12:00, 11:00-13:00' overlap"),
    ("heartbeat_s = nan\n", "settings.heartbeat_s: nan is not a finite number"),
    ("technician_pin_hash = \"scrypt$3$1$1$AAAAAAAAAAA=$AAAA\"\n", "technician_pin_hash: the hash cannot be checked"),
    ("closed_dates = [\"2026-12-25\\n\"]\n", "closed_dates: '2026-12-25\\n' is not a real date"),
    ("[opening_hours]\nthu = \"8-16\"\n", "settings.opening_hours.thu: '8-16' has the wrong form ('HH:MM-HH:MM'"),
])
def test_sign_refuses_settings_the_kiosk_would_refuse(admin, tmp_path, capsys, settings, says):
    (tmp_path / "bad.toml").write_text(settings)
    status, out, err = run(capsys, "config", "sign", "--group", "kota-bandung", "--file", tmp_path / "bad.toml",
                           "--key", admin["key"])
    assert status == 2 and out == "" and says in err


def test_a_clear_pin_typed_as_its_hash_is_not_echoed(admin, tmp_path, capsys):
    (tmp_path / "pin.toml").write_text('technician_pin_hash = "482913"\noperator_pin_hash = 1357\n')
    status, out, err = run(capsys, "config", "sign", "--group", "kota-bandung", "--file", tmp_path / "pin.toml",
                           "--key", admin["key"])
    assert status == 2 and "settings.technician_pin_hash: the value has the wrong form" in err
    assert "settings.operator_pin_hash: the value is not a string" in err
    assert "482913" not in out + err and "1357" not in out + err


def test_a_url_that_is_not_the_dinas_api_says_so(reference_server, admin, capsys):
    api_base = reference_server.url.removesuffix("/api/v1")
    status, _, err = run(capsys, "config", "status", "--url", api_base, "--token-file", admin["api"][3])
    assert status == 2 and "no API call GET /admin/kiosks: the API lives under /api/v1/" in err
    # a server that is not the dinas at all
    status, _, err = run(capsys, "config", "status", "--url", f"{api_base}/api/v1/openapi.yaml#", "--token-file",
                         admin["api"][3])
    assert status == 2 and "not an answer of the dinas API: is --url the API base" in err


def test_sign_needs_a_private_key_file_kept_private(admin, tmp_path, capsys):
    os.chmod(admin["key"], 0o644)
    status, _, err = run(capsys, "config", "sign", "--group", "g", "--file", admin["file"], "--key", admin["key"])
    assert status == 2 and "chmod 600" in err


def headless(server, directory: Path, index: int, trusted: str, group: str, healthy: bool = True):
    """A simulated kiosk: the real ConfigSync, client and store; applying records the settings
    and the health check answers `healthy`."""
    cfg = load_config(kiosk_toml(server, directory, trusted=trusted, group=group, kiosk_index=index))

    class Applier:
        applied: list = []

        def snapshot(self):
            return None

        def apply(self, settings):
            self.applied.append(settings)

        def health(self, settings, before):
            return None if healthy else "required devices worse than before: card_printer"
    applier = Applier()
    applier.applied = []
    sync = ConfigSync(cfg, DinasClient.from_config(cfg), ConfigStore(cfg.kiosk.state_dir), applier)
    sync.poll_s = 0.1
    return sync, applier


def test_push_reaches_a_kiosk_and_status_shows_its_report(reference_server, admin, tmp_path, capsys):
    status, out, _ = run(capsys, "config", "push", "--kiosk", "ADM-BDG-01", "--file", admin["file"],
                         "--key", admin["key"], "--version", 41, *admin["api"])
    assert status == 0 and "v41 published" in out
    sync, applier = headless(reference_server, tmp_path / "k1", 0, admin["trusted"], "kota-bandung")
    result = sync.sync_once()
    assert result.result == "applied" and applier.applied[-1].announcement_en == "Open on Saturday"
    status, out, _ = run(capsys, "config", "status", "--json", *admin["api"])
    row = next(k for k in json.loads(out)["kiosks"] if k["kiosk_id"] == "ADM-BDG-01")
    assert status == 0 and row["last_report"]["version"] == 41 and row["last_report"]["result"] == "applied"
    status, out, _ = run(capsys, "config", "status", *admin["api"])
    assert "v41 applied" in out


def test_sign_makes_an_envelope_the_kiosk_and_the_spec_verify(admin, tmp_path, capsys):
    import base64
    from datetime import datetime, timezone

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from kiosk.config import TrustedKey
    from kiosk.remote_config.verify import verify
    from tests.fixtures.config_envelopes import PAYLOAD_TYPE, pae

    status, _, err = run(capsys, "config", "sign", "--group", "kota-bandung", "--file", admin["file"], "--key",
                         admin["key"], "--version", 3, "--out", tmp_path / "env.json")
    assert status == 0 and "v3 signed into" in err
    envelope = json.loads((tmp_path / "env.json").read_text())
    assert envelope["payloadType"] == PAYLOAD_TYPE and [s["keyid"] for s in envelope["signatures"]] == ["dinas-bdg-2026"]
    body, public = base64.b64decode(envelope["payload"]), base64.b64decode(admin["public"])
    # the signature checked from the DSSE spec alone, with the public key keygen printed
    Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(envelope["signatures"][0]["sig"]),
                                                      pae(PAYLOAD_TYPE, body))
    verified = verify(envelope, trusted_keys=(TrustedKey("dinas-bdg-2026", public),), kiosk_id="ADM-X",
                      group="kota-bandung", floor=2, now=datetime.now(timezone.utc))
    assert verified.payload.version == 3 and verified.settings.announcement == "Kiosk buka Sabtu"
    assert verified.payload.groups == ("kota-bandung",) and verified.payload.kiosks == ()
    status, out, _ = run(capsys, "config", "sign", "--kiosk", "ADM-X", "--file", admin["file"], "--key", admin["key"])
    assert status == 0 and json.loads(out)["payloadType"] == PAYLOAD_TYPE           # no --out: printed


def test_push_to_a_group_and_a_version_the_kiosk_already_ran_is_not_published(reference_server, admin, tmp_path,
                                                                              capsys):
    status, out, _ = run(capsys, "config", "push", "--group", "kota-bandung", "--file", admin["file"],
                         "--key", admin["key"], "--version", 50, *admin["api"])
    assert status == 0 and "v50 published for kota-bandung" in out
    sync, applier = headless(reference_server, tmp_path / "k1", 0, admin["trusted"], "kota-bandung")
    assert sync.sync_once().result == "applied" and applier.applied[-1].announcement == "Kiosk buka Sabtu"
    stored = reference_server.query("SELECT COUNT(*) AS n FROM config_envelopes")
    for version in (50, 49):
        status, _, err = run(capsys, "config", "push", "--group", "kota-bandung", "--file", admin["file"],
                             "--key", admin["key"], "--version", version, *admin["api"])
        assert status == 2 and f"v{version} is not above what 1 kiosk(s) already ran: ADM-BDG-01 (v50)" in err
        assert "Nothing was published" in err
    assert reference_server.query("SELECT COUNT(*) AS n FROM config_envelopes") == stored


def test_push_to_an_unknown_kiosk_is_a_clear_error(admin, capsys):
    status, _, err = run(capsys, "config", "push", "--kiosk", "ADM-NOPE", "--file", admin["file"],
                         "--key", admin["key"], *admin["api"])
    assert status == 2 and "no kiosk ADM-NOPE" in err


def enrol_group(server, group: str, count: int) -> int:
    """Kiosks R-01..R-<count> in `group` at the server; the seed index of R-01."""
    with server.writing() as connection:
        added = [{"kiosk_id": f"R-{n:02d}", "group": group,
                  "token": auth.add_kiosk(connection, server.vault(), f"R-{n:02d}", group, time.time())}
                 for n in range(1, count + 1)]
    server.seed = {**server.seed, "kiosks": server.kiosks + added}
    return len(server.kiosks) - count


def test_staged_rollout_completes_when_every_wave_applies(reference_server, admin, tmp_path, capsys):
    first = enrol_group(reference_server, "rollout-ok", 3)
    kiosks = [headless(reference_server, tmp_path / f"R-{n}", first + n, admin["trusted"], "rollout-ok")
              for n in range(3)]
    for sync, _ in kiosks:
        sync.start()
    try:
        status, out, _ = run(capsys, "config", "rollout", "--group", "rollout-ok", "--file", admin["file"],
                             "--key", admin["key"], "--version", 78, "--waves", "30,100", "--max-failures", "0%",
                             "--timeout", 10, "--poll", 0.1, *admin["api"])
    finally:
        for sync, _ in kiosks:
            sync.stop()
    assert status == 0 and "wave 1: 1 applied, 0 failed (0%)" in out and "wave 2: 2 applied, 0 failed (0%)" in out
    assert "completed: v78 reached all 3 kiosk(s) of rollout-ok" in out
    assert all(applier.applied[-1].announcement == "Kiosk buka Sabtu" for _, applier in kiosks)
    status, out, _ = run(capsys, "config", "status", *admin["api"])
    assert "rollout rollout-ok-v78: v78 to rollout-ok, completed, 2/2 wave(s) done" in out


def test_staged_rollout_stops_at_the_threshold(reference_server, admin, tmp_path, capsys):
    group, count = "rollout-bdg", 10
    first = enrol_group(reference_server, group, count)
    other = TestKey.new("dinas-bdg-2026").trusted_toml()          # same keyid, another key
    # waves 20,60,80,100 of 10 kiosks: R-01..02 | R-03..06 | R-07..08 | R-09..10
    behaviour = {3: ("distrusts", True), 7: ("silent", True), 8: ("unhealthy", False)}
    kiosks = {}
    for n in range(1, count + 1):
        kind, healthy = behaviour.get(n, ("fine", True))
        if kind == "silent":
            continue
        kiosks[n] = headless(reference_server, tmp_path / f"R-{n:02d}", first + n - 1,
                             other if kind == "distrusts" else admin["trusted"], group, healthy)
    for sync, _ in kiosks.values():
        sync.start()
    try:
        status, out, _ = run(capsys, "config", "rollout", "--group", group, "--file", admin["file"],
                             "--key", admin["key"], "--version", 77, "--waves", "20,60,80,100",
                             "--max-failures", "30%", "--timeout", 3, "--poll", 0.1, *admin["api"])
    finally:
        for sync, _ in kiosks.values():
            sync.stop()
    assert status == 1
    assert "wave 2: 3 applied, 1 failed (25%)" in out                 # under 30%: it went on
    assert "R-03: rejected: signature" in out
    assert "R-07: no report within 3 s" in out and "R-08: rolled_back: health_check" in out
    assert "stopped after wave 3: 100% failed, more than the 30% allowed; 2 kiosk(s) not reached" in out
    for n in (1, 2, 4, 5, 6):
        assert kiosks[n][1].applied[-1].announcement == "Kiosk buka Sabtu"
    for n in (9, 10):                                                  # never reached
        assert kiosks[n][1].applied == [] and kiosks[n][0].version is None
    assert reference_server.query("SELECT COUNT(*) AS n FROM config_envelopes WHERE target_name IN ('R-09', 'R-10')"
                                  ) == [{"n": 0}]
    status, out, _ = run(capsys, "config", "status", *admin["api"])
    assert f"rollout {group}-v77: v77 to {group}, stopped, 3/4 wave(s) done" in out
    assert "wave 3: 0 applied, 2 failed (100.0%)" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("R-")}
    assert rows["R-03"][2:] == ["-", "v77", "rejected", "signature"]            # applied, last report, reason
    assert rows["R-08"][2:] == ["-", "v77", "rolled_back", "health_check"]
    assert rows["R-07"][2:] == ["-", "-", "-"] and rows["R-09"][2:] == ["-", "-", "-"]
