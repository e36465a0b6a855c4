"""Signed remote configuration on a running kiosk (simulated printers) against the reference
dinas over loopback HTTP: every refusal with its reason reported and the running settings
unchanged, what gets through, and applying only between sessions with a health check."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest

from dinas.config_envelope import sign_envelope
from kiosk.settings import DOCUMENT_KINDS
from kiosk.remote_config.envelope import PAYLOAD_TYPE
from kiosk.session_model import Screen
from tests.fixtures.config_envelopes import CONFIG_GROUP, CONFIG_KEY, TestKey, config_kiosk, config_reports, \
    payload, publish, spec_sign, store_raw  # noqa: F401 - config_kiosk is a fixture
from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.kiosk import NIK
from tests.fixtures.lossy_link import LossyLink

TRUSTED = CONFIG_KEY                            # "dinas-bdg-2026"
SECOND = TestKey.new("dinas-bdg-2027")          # the rotation's new key
ATTACKER = TestKey.new("dinas-bdg-2026")        # claims the trusted keyid
GROUP = CONFIG_GROUP                            # kiosks[0] is in it on the server
GOOD = {"announcement": "Layanan dibuka kembali", "idle_timeout_s": 120}
push, reports = publish, config_reports


def signed(version: int, settings=None, keys=(TRUSTED,), **options) -> dict:
    return spec_sign(payload(version, groups=[GROUP], settings=GOOD if settings is None else settings, **options),
                     list(keys))


def assert_refused(server, runtime, reason: str, version: int):
    before = runtime.engine.settings
    result = runtime.config_sync.sync_once()
    assert (result.result, result.reason, result.version) == ("rejected", reason, version), result
    assert runtime.engine.settings == before and runtime.config_sync.version is None
    assert reports(server, runtime.cfg.kiosk.id)[-1] == (version, "rejected", reason)


# --- each refusal, reported, running settings unchanged -------------------------------------

@pytest.mark.parametrize("make, reason, version", [
    # the version reported for an unauthentic payload is the one it claims (so a rollout can
    # tell which push a refusal answers); it decides nothing
    pytest.param(lambda: {**signed(3), "signatures": []}, "signature", 3, id="no-signature"),
    pytest.param(lambda: signed(3, keys=[ATTACKER]), "signature", 3, id="untrusted-key-claiming-trusted-keyid"),
    pytest.param(lambda: {**signed(3), "payload": base64.b64encode(
        payload(3, groups=[GROUP], settings={"maintenance_mode": True})).decode()}, "signature", 3, id="tampered"),
    pytest.param(lambda: spec_sign(payload(3, groups=[GROUP], settings=GOOD), [TRUSTED],
                                   payload_type="application/json"), "payload_type", 3, id="wrong-payload-type"),
    pytest.param(lambda: spec_sign(b"version=3; announcement=hi", [TRUSTED]), "malformed", 0, id="not-json"),
])
def test_refusals_the_server_would_not_store(reference_server, config_kiosk, make, reason, version):
    runtime = config_kiosk()
    store_raw(reference_server, runtime.cfg.kiosk.id, make())
    assert_refused(reference_server, runtime, reason, version)


@pytest.mark.parametrize("envelope, reason, version", [
    pytest.param(signed(3, keys=[ATTACKER]), "signature", 3, id="untrusted-key-via-the-api"),
    pytest.param(signed(4, expires_in=timedelta(seconds=1)), "expired", 4, id="expired"),
    pytest.param(signed(5, settings={"colour": "red"}), "invalid_settings", 5, id="unknown-setting"),
    pytest.param(signed(6, settings={"idle_timeout_s": 5}), "invalid_settings", 6, id="out-of-range"),
])
def test_refusals_through_the_api(reference_server, config_kiosk, envelope, reason, version):
    runtime = config_kiosk()
    push(reference_server, envelope)
    assert_refused(reference_server, runtime, reason, version)


def test_a_target_naming_another_kiosk_or_group(reference_server, config_kiosk):
    runtime = config_kiosk(group="kabupaten-bogor")        # the server still counts it in kota-bandung
    push(reference_server, signed(7))
    assert_refused(reference_server, runtime, "not_for_this_kiosk", 7)
    other = spec_sign(payload(8, kiosks=["ADM-BDG-02"], settings=GOOD), [TRUSTED])
    store_raw(reference_server, runtime.cfg.kiosk.id, other)
    assert_refused(reference_server, runtime, "not_for_this_kiosk", 8)


def test_an_older_or_equal_version_is_refused_also_after_a_restart(reference_server, config_kiosk):
    runtime = config_kiosk()
    push(reference_server, signed(10))
    assert runtime.config_sync.sync_once().result == "applied"
    assert runtime.engine.settings.announcement == GOOD["announcement"]
    runtime.stop()
    again = config_kiosk()                                  # a new process: the version floor was persisted
    assert again.engine.settings.announcement == GOOD["announcement"] and again.config_sync.version == 10
    for version in (10, 9):
        push(reference_server, signed(version, settings={"announcement": f"replayed {version}"}))
        result = again.config_sync.sync_once()
        assert (result.result, result.reason) == ("rejected", "rollback")
        assert again.engine.settings.announcement == GOOD["announcement"]
        assert reports(reference_server, again.cfg.kiosk.id)[-1] == (version, "rejected", "rollback")


# --- what gets through ---------------------------------------------------------------------

def test_applied_reported_and_shown_in_the_heartbeat(reference_server, config_kiosk):
    runtime = config_kiosk()
    beat = runtime.client.heartbeat(runtime.heartbeat.payload())
    assert beat["config_waiting"] is False
    push(reference_server, sign_with_library(11))
    assert runtime.client.heartbeat(runtime.heartbeat.payload())["config_waiting"] is True
    result = runtime.config_sync.sync_once()
    assert result.result == "applied" and result.exit_status == 0
    assert runtime.engine.settings.idle_timeout_s == 120
    assert reports(reference_server, runtime.cfg.kiosk.id) == [(11, "applied", None)]
    fetched = []
    fetch = runtime.client.fetch_config
    runtime.client.fetch_config = lambda etag=None: fetched.append((etag, fetch(etag))) or fetched[-1][1]
    assert runtime.config_sync.sync_once().result == "unchanged"
    (sent, (envelope, etag)), = fetched                                  # it sent its ETag and got a 304
    assert sent and envelope is None and etag == sent
    payload_now = runtime.heartbeat.payload()
    assert payload_now["config_version"] == 11 and payload_now["config_stale"] is False
    assert runtime.client.heartbeat(payload_now)["config_waiting"] is False


def library_signer():
    """The admin CLI's way: securesystemslib's CryptoSigner (with its DSSE Envelope)."""
    from securesystemslib.signer import CryptoSigner, SSlibKey
    return CryptoSigner(TRUSTED.private, SSlibKey.from_crypto(TRUSTED.private.public_key(), TRUSTED.keyid, "ed25519"))


def sign_with_library(version: int) -> dict:
    return sign_envelope(payload(version, groups=[GROUP], settings=GOOD), library_signer())


def test_the_library_and_the_independent_signer_agree():
    body = payload(12, groups=[GROUP], settings=GOOD)
    ours, theirs = spec_sign(body, [TRUSTED]), sign_envelope(body, library_signer())
    assert ours == theirs                        # Ed25519 is deterministic: same PAE, same signature
    assert json.loads(base64.b64decode(ours["payload"])) == json.loads(body) and ours["payloadType"] == PAYLOAD_TYPE


def test_a_second_trusted_key_is_accepted(reference_server, config_kiosk):
    runtime = config_kiosk(keys=(TRUSTED, SECOND))
    push(reference_server, signed(13, keys=[SECOND]))
    assert runtime.config_sync.sync_once().result == "applied"
    assert runtime.config_sync.version == 13


def test_a_forged_signature_beside_a_good_one_still_verifies(reference_server, config_kiosk):
    runtime = config_kiosk()
    body = payload(14, groups=[GROUP], settings=GOOD)
    forged = spec_sign(body, [ATTACKER])["signatures"] + spec_sign(body, [TRUSTED], keyids=["whatever"])["signatures"]
    push(reference_server, {**spec_sign(body, [TRUSTED]), "signatures": forged})
    assert runtime.config_sync.sync_once().result == "applied"


def test_an_expired_applied_envelope_keeps_running_and_is_stale(reference_server, config_kiosk):
    runtime = config_kiosk()
    push(reference_server, signed(15, expires_in=timedelta(minutes=1, seconds=2)))
    assert runtime.config_sync.sync_once().result == "applied"
    time.sleep(2.2)
    assert runtime.config_sync.stale and runtime.engine.settings.idle_timeout_s == 120
    assert runtime.heartbeat.send_now()
    assert reference_server.query("SELECT config_stale FROM kiosks WHERE kiosk_id = ?",
                                  runtime.cfg.kiosk.id) == [{"config_stale": 1}]


# --- applying at the right moment -------------------------------------------------------------

def test_a_push_during_a_session_waits_for_its_end(reference_server, config_kiosk):
    runtime = config_kiosk()
    engine = runtime.engine
    engine.start()
    engine.submit_nik(NIK)
    engine.wait_idle()
    assert engine.in_session
    push(reference_server, signed(16, settings={"announcement": "after the citizen"}))
    runtime.config_sync.start()
    runtime.config_sync.poke()
    time.sleep(1.0)
    assert engine.in_session and engine.settings.announcement == ""            # still the old settings
    assert reports(reference_server, runtime.cfg.kiosk.id) == []
    engine.cancel()
    deadline = time.monotonic() + 10
    while not reports(reference_server, runtime.cfg.kiosk.id) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reports(reference_server, runtime.cfg.kiosk.id) == [(16, "applied", None)]
    assert engine.settings.announcement == "after the citizen"


def test_a_push_failing_its_health_check_is_rolled_back_and_reported(reference_server, config_kiosk):
    runtime = config_kiosk(card="none")                      # no card printer: KIA alone serves nobody
    push(reference_server, signed(17, settings={"enabled_kinds": ["KIA"], "announcement": "KIA saja"}))
    result = runtime.config_sync.sync_once()
    assert (result.result, result.reason, result.exit_status) == ("rolled_back", "health_check", 1)
    assert "no_printer" in result.detail or "no_documents" in result.detail
    assert runtime.engine.settings.enabled_kinds == DOCUMENT_KINDS and runtime.engine.settings.announcement == ""
    runtime.engine.wait_idle()
    assert runtime.engine.view.screen is Screen.ATTRACT
    assert reports(reference_server, runtime.cfg.kiosk.id) == [(17, "rolled_back", "health_check")]
    assert runtime.config_sync.version is None
    push(reference_server, signed(17, settings=GOOD))
    assert runtime.config_sync.sync_once().reason == "rollback"          # the failed version stays spent


def after_applying(runtime, then) -> None:
    """Run `then()` once the pushed settings are in force, before the health check (only the
    first time: not again for the rollback)."""
    applier, apply = runtime.config_sync.applier, runtime.config_sync.applier.apply
    fired = []

    def apply_then(settings):
        apply(settings)
        if not fired:
            fired.append(then())
    applier.apply = apply_then


def test_a_push_after_which_the_dinas_takes_no_heartbeat_is_rolled_back(reference_server, config_kiosk):
    link = LossyLink(reference_server.url)
    try:
        runtime = config_kiosk(dinas_url=link.url)
        push(reference_server, signed(20))
        after_applying(runtime, link.down)            # the link dies as the new settings start
        result = runtime.config_sync.sync_once()
        assert (result.result, result.reason) == ("rolled_back", "health_check")
        assert "did not take a heartbeat" in result.detail
        assert runtime.engine.settings.idle_timeout_s == 90 and runtime.config_sync.version is None
        assert reports(reference_server, runtime.cfg.kiosk.id) == []      # the link is down: kept
        link.up()
        assert runtime.config_sync.sync_once().result == "unchanged"      # ... and sent with the next sync
        assert reports(reference_server, runtime.cfg.kiosk.id) == [(20, "rolled_back", "health_check")]
    finally:
        link.close()


def test_a_push_after_which_a_required_printer_is_worse_is_rolled_back(reference_server, config_kiosk):
    runtime = config_kiosk(options={"a4_printer": "required = true"})
    a4 = runtime.devices.printer("a4_printer").simulator
    # maintenance mode: out of service on purpose, so only the device check can find the fault
    push(reference_server, signed(21, settings={"maintenance_mode": True}))
    after_applying(runtime, lambda: a4.inject("media-empty"))
    result = runtime.config_sync.sync_once()
    assert (result.result, result.reason) == ("rolled_back", "health_check")
    assert result.detail == "required devices worse than before: a4_printer"
    assert runtime.engine.settings.maintenance_mode is False
    assert reports(reference_server, runtime.cfg.kiosk.id) == [(21, "rolled_back", "health_check")]


def test_a_kiosk_already_out_of_service_still_takes_a_push(reference_server, config_kiosk):
    runtime = config_kiosk(card="none", a4="none")            # no printer at all: out of service before
    runtime.engine.wait_idle()
    assert runtime.engine.view.screen is Screen.OUT_OF_SERVICE
    push(reference_server, signed(18))
    assert runtime.config_sync.sync_once().result == "applied"       # not made worse: no rollback
    assert runtime.engine.settings.idle_timeout_s == 120


def test_settings_that_cannot_be_remembered_do_not_run(reference_server, config_kiosk):
    runtime = config_kiosk()
    push(reference_server, signed(19))
    # the state file cannot be written (here: its temporary name is taken by a folder; a
    # read-only or full state folder fails the same way)
    (runtime.cfg.kiosk.state_dir / "remote-config.json.tmp").mkdir()
    with pytest.raises(OSError):
        runtime.config_sync.sync_once()
    assert runtime.engine.settings.idle_timeout_s != 120 and runtime.config_sync.version is None
    (runtime.cfg.kiosk.state_dir / "remote-config.json.tmp").rmdir()
    assert runtime.config_sync.sync_once().result == "applied"          # the next poll gets it
