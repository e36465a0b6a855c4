"""The server's small rules on their own: masks, keyed hashes, sealing, NIK checks, the
message text, fleet needs, the rate limiter."""

from __future__ import annotations

import pytest

from dinas.clock import AdjustableClock, iso, parse_iso
from dinas.errors import ApiError
from dinas.fleet import needs
from dinas.message import compose
from dinas.settings import DinasSettings
from dinas.validation import nik_is_well_formed
from dinas.vault import Vault, load_or_create_secret, mask_name, mask_nik, mask_phone, new_pin, secret_path


def test_masks():
    assert mask_nik("NIK 3273021203840011 ok") == "NIK 327302******0011 ok"
    assert mask_nik("12345678901234567") == "12345678901234567"      # 17 digits: not a NIK
    assert mask_name("Hendra Wiratmaja") == "He**** Wi*******"
    assert mask_phone("+6281100000101") == "+62811*****101"


@pytest.mark.parametrize("nik,ok", [
    ("3273021203840011", True), ("3273025207870012", True),            # a woman: day 12 + 40
    ("3273022902000001", True), ("3273023203840011", False),          # day 32
    ("3273027203840011", False), ("3273021213840011", False),         # day 72 / month 13
    ("0073021203840011", False), ("3273021203840000", False),         # no province / serial 0000
    ("327302120384001", False), ("32730212038400a1", False),
])
def test_nik_well_formed(nik, ok):
    assert nik_is_well_formed(nik) is ok


def test_keyed_hashes_depend_on_the_key_and_the_application():
    one, two = Vault(b"k" * 32), Vault(b"j" * 32)
    assert one.nik_hash("3273021203840011") != two.nik_hash("3273021203840011")
    assert one.pin_hash("REQ-20261122-AAAAAA", "123456") != one.pin_hash("REQ-20261122-BBBBBB", "123456")
    stored = one.pin_hash("REQ-20261122-AAAAAA", "123456")
    assert one.pin_matches("REQ-20261122-AAAAAA", "123456", stored)
    assert not one.pin_matches("REQ-20261122-AAAAAA", "123457", stored)
    assert "123456" not in stored


def test_sealing_round_trips_and_needs_the_key():
    sealed = Vault(b"k" * 32).seal(b"%PDF-3273021203840011")
    assert b"3273021203840011" not in sealed
    assert Vault(b"k" * 32).unseal(sealed) == b"%PDF-3273021203840011"
    with pytest.raises(ValueError):
        Vault(b"j" * 32).unseal(sealed)


def test_secret_file_is_private_and_stable(tmp_path):
    db = tmp_path / "d.db"
    first = load_or_create_secret(secret_path(db))
    assert load_or_create_secret(secret_path(db)) == first and len(first) == 32
    assert secret_path(db).stat().st_mode & 0o077 == 0
    secret_path(db).write_bytes(b"short")
    with pytest.raises(ValueError, match="32-byte"):
        load_or_create_secret(secret_path(db))


def test_pins_are_six_digits_and_vary():
    pins = {new_pin() for _ in range(200)}
    assert all(len(p) == 6 and p.isdigit() for p in pins) and len(pins) > 190


def test_message_in_bahasa_indonesia():
    settings = DinasSettings("Disdukcapil Kota Contoh", "MPP Kota Contoh", "call center 112", 420, "WIB")
    message = compose(settings, phone="+6281100000101", name="Ani", request_no="REQ-20261122-AAAAAA", pin="012345",
                      pin_expires_at=parse_iso("2026-11-29T17:30:00Z"), kinds=["KK", "KIA"])
    assert "Disdukcapil Kota Contoh" in message.text and "PIN: *012345*" in message.text
    assert "Berlaku sampai: 30 November 2026 pukul 00.30 WIB" in message.text     # UTC+7
    assert "Kartu Keluarga (KK), Kartu Identitas Anak (KIA)" in message.text
    assert "MPP Kota Contoh" in message.text
    assert message.qr_payload == "ADM1:REQ-20261122-AAAAAA" and message.qr_png.startswith(b"\x89PNG")


def test_fleet_needs_from_supplies_and_alarms():
    devices = {
        "card_printer": {"state": "ready", "supplies": {"cards": {"level": "low"}, "ribbon": {"level": "out"}},
                         "faults": [{"code": "ribbon_out", "severity": "alarm"},
                                    {"code": "needs_cleaning", "severity": "warning"}]},
        "a4_printer": {"state": "ready", "supplies": {"paper_a4": {"level": "full"}}, "faults": []},
        "receipt_printer": {"state": "no_device", "faults": [{"code": "disconnected", "severity": "alarm"}]},
    }
    assert needs(devices) == ["card_printer:cards_low", "card_printer:ribbon_out",
                              "receipt_printer:disconnected"]
    assert needs({}) == []


def test_rate_limiter_window(tmp_path):
    from dinas.ratelimit import RateLimiter
    from dinas.storage import open_store

    store = open_store(tmp_path / "d.db")
    clock = AdjustableClock()
    limiter = RateLimiter(clock, limit=3, window=60)
    with store.database.session() as connection:
        for _ in range(3):
            limiter.admit(connection, "k1")
        with pytest.raises(ApiError) as refused:
            limiter.admit(connection, "k1")
        assert refused.value.status == 429 and 1 <= refused.value.extra["retry_after"] <= 20
        limiter.admit(connection, "k2")
        clock.advance(20)                    # one token back (3 a minute)
        limiter.admit(connection, "k1")
        with pytest.raises(ApiError):
            limiter.admit(connection, "k1")
        clock.advance(60)
        for _ in range(3):                   # a full bucket, never more
            limiter.admit(connection, "k1")
        with pytest.raises(ApiError):
            limiter.admit(connection, "k1")
    store.close()


def test_time_format():
    assert iso(parse_iso("2026-11-22T10:00:00Z")) == "2026-11-22T10:00:00Z"
    assert iso(parse_iso("2026-11-22T17:00:00+07:00")) == "2026-11-22T10:00:00Z"
    with pytest.raises(ValueError):
        parse_iso("2026-11-22T10:00:00")


def test_an_unexpected_error_is_internal_and_logs_no_personal_data(tmp_path, caplog):
    from dinas.server import create_app

    app = create_app(str(tmp_path / "d.db"), pin_secret=b"s" * 32)

    def explode():
        raise RuntimeError("NIK 3273021203840011 PIN 123456")
    app.add_url_rule("/api/v1/explode", "explode", explode)
    reply = app.test_client().get("/api/v1/explode")
    assert reply.status_code == 500 and reply.get_json() == {"error": "internal", "detail": "internal server error"}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "RuntimeError" in logged and "3273021203840011" not in logged and "123456" not in logged


def test_wrong_method_is_a_json_error(tmp_path):
    from dinas.server import create_app

    reply = create_app(str(tmp_path / "d.db"), pin_secret=b"s" * 32).test_client().get("/api/v1/kiosk/heartbeat")
    assert reply.status_code == 405 and reply.get_json()["error"] == "invalid_request"


def test_heartbeat_history_is_pruned_by_age_and_rows_per_kiosk(tmp_path):
    import dinas.fleet as fleet
    from dinas.storage import open_store

    store = open_store(tmp_path / "d.db")
    beat = {"software_version": "1", "config_version": None, "uptime_s": 1.0, "devices": {}, "counters": {},
            "outbox_depth": 0, "last_faults": []}
    with store.database.session() as connection:
        connection.run("INSERT INTO kiosks (kiosk_id, created_at) VALUES ('K1', 0), ('K2', 0)")
        for _ in range(fleet.PRUNE_EVERY - 1):
            fleet.store_heartbeat(connection, 1000.0, "K1", beat)              # old ones
        fleet.store_heartbeat(connection, 1000.0, "K2", beat)
        fleet.store_heartbeat(connection, 1000.0 + fleet.HISTORY_SECONDS + 1, "K1", beat)   # the pruning one
        assert connection.value("SELECT COUNT(*) FROM heartbeats WHERE kiosk_id = 'K1'") == 1
        assert connection.value("SELECT COUNT(*) FROM heartbeats WHERE kiosk_id = 'K2'") == 1   # not K1's to prune
        assert connection.value("SELECT heartbeat_count FROM kiosks WHERE kiosk_id = 'K1'") == fleet.PRUNE_EVERY
        # A kiosk sending fast keeps at most HISTORY_ROWS_PER_KIOSK (+ PRUNE_EVERY before the next prune).
        now = 10_000_000.0
        for n in range(fleet.HISTORY_ROWS_PER_KIOSK + 2 * fleet.PRUNE_EVERY):
            fleet.store_heartbeat(connection, now + n, "K2", beat)
        kept = connection.value("SELECT COUNT(*) FROM heartbeats WHERE kiosk_id = 'K2'")
        assert fleet.HISTORY_ROWS_PER_KIOSK <= kept < fleet.HISTORY_ROWS_PER_KIOSK + fleet.PRUNE_EVERY
        assert connection.value("SELECT MAX(received_at) FROM heartbeats WHERE kiosk_id = 'K2'") == \
            now + fleet.HISTORY_ROWS_PER_KIOSK + 2 * fleet.PRUNE_EVERY - 1       # the newest are the ones kept
    store.close()

def test_the_history_row_is_the_same_json_as_dumping_the_heartbeat():
    import json

    from dinas import fleet, heartbeats

    body = {"kiosk_id": "K1", "software_version": "0.1.0", "config_version": 3, "uptime_s": 5.5,
            "devices": {"card_printer": {"state": "ready", "faults": [{"code": "x", "severity": "alarm"}],
                                         "supplies": {"cards": {"level": "low", "count": None}}, "é": "ü"}},
            "counters": {"day": "2026-12-02", "today": {"KK": {"printed": 2}}}, "outbox_depth": 0,
            "last_faults": [{"code": "jam"}], "staff_actions": [{"id": 1, "at": "t", "actor": "a", "action": "b"}]}
    beat = heartbeats.read(body)[0]
    statements = fleet.heartbeat_statements(1_764_633_600.0, "K1", beat)
    history = next(params for sql, params in statements if sql.startswith("INSERT INTO heartbeats"))
    assert history["body"] == json.dumps(beat)
    assert statements[0][1]["devices"] == json.dumps(beat["devices"])


def test_iso_times_within_one_second_and_across_seconds():
    from datetime import datetime, timezone

    for t in (1_764_633_600.0, 1_764_633_600.999, 1_764_633_601.0, 1_764_633_600.5, 59.9, 0.0, -0.5, -1.0):
        assert iso(t) == datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
