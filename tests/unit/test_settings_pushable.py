"""The settings a dinas admin pushes do what they say: each new key is read, range-checked and
reaches the code that uses it (engine, receipt, slowdown, heartbeat)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kiosk.config import ConfigError, Settings
from kiosk.session_model import Screen
from kiosk.session_support import PinSlowdown
from tests.fixtures.kiosk import NIK, rig, settings_with, to_documents  # noqa: F401


@pytest.mark.parametrize("settings, key", [
    ({"closed_dates": ["2026-13-01"]}, "closed_dates"),
    ({"closed_dates": ["2026-12-25", "2026-12-25"]}, "closed_dates"),
    ({"closed_dates": "2026-12-25"}, "closed_dates"),
    ({"announcement_en": "x" * 501}, "announcement_en"),
    ({"pin_slowdown_base_s": 31}, "pin_slowdown_base_s"),
    ({"pin_slowdown_base_s": 10, "pin_slowdown_cap_s": 5}, "pin_slowdown_cap_s"),
    ({"heartbeat_s": 5}, "heartbeat_s"),
    ({"config_poll_s": 59}, "config_poll_s"),
    ({"receipt_enabled": "no"}, "receipt_enabled"),
    ({"spoken_guidance": 1}, "spoken_guidance"),
    ({"operator_pin_hash": "1234"}, "operator_pin_hash"),
])
def test_each_new_setting_is_range_checked(settings, key):
    with pytest.raises(ConfigError) as error:
        Settings.from_mapping(settings)
    assert f"settings.{key}:" in str(error.value)
    assert "1234" not in str(error.value)           # a clear PIN typed by mistake is not echoed


def test_as_dict_reads_back_to_the_same_settings():
    settings = Settings.from_mapping({"closed_dates": ["2026-12-25", "2026-08-17"], "announcement": "Libur",
                                      "announcement_en": "Holiday", "receipt_enabled": False,
                                      "pin_slowdown_base_s": 1, "pin_slowdown_cap_s": 8, "heartbeat_s": 30,
                                      "config_poll_s": 120, "spoken_guidance": False})
    assert Settings.from_mapping(settings.as_dict()) == settings
    assert settings.closed_dates == ("2026-08-17", "2026-12-25")


def test_closed_dates_close_the_whole_day_in_the_kiosk_zone():
    settings = Settings.from_mapping({"closed_dates": ["2026-12-25"], "timezone": "Asia/Jayapura"})
    assert not settings.is_open_at(datetime(2026, 12, 24, 16, 0, tzinfo=timezone.utc))   # 01:00 WIT the 25th
    assert settings.is_open_at(datetime(2026, 12, 24, 14, 0, tzinfo=timezone.utc))       # 23:00 WIT the 24th
    assert settings.refusal("KK", datetime(2026, 12, 25, 3, 0)) == "closed"


def test_the_announcement_follows_the_language(rig):
    r = rig(settings=settings_with(announcement="Libur nasional", announcement_en="National holiday"))
    assert r.views.wait_screen(Screen.ATTRACT).announcement == "Libur nasional"
    r.engine.set_language("en")
    r.engine.wait_idle()
    assert r.engine.view.announcement == "National holiday"
    r.engine.apply_settings(settings_with(announcement="Libur nasional", spoken_guidance=False))
    r.engine.wait_idle()
    assert r.engine.view.announcement == "Libur nasional"       # no English text: the Indonesian one
    assert r.engine.view.spoken_guidance is False


def _print_kk(r):
    to_documents(r)
    r.engine.review()
    r.views.wait_screen(Screen.CONFIRM)
    r.engine.confirm()
    return r.views.wait_screen(Screen.DONE)


@pytest.mark.parametrize("enabled", [True, False])
def test_receipt_on_or_off(rig, enabled):
    r = rig(settings=settings_with(receipt_enabled=enabled))
    done = _print_kk(r)
    assert "printed" in done.outcomes.values()
    assert done.receipt_printed is enabled
    assert bool(r.printers["receipt_printer"].receipts) is enabled


def test_pushed_slowdown_is_used_from_the_next_failure():
    now = [0.0]
    slowdown = PinSlowdown(base_s=2, cap_s=60, clock=lambda: now[0])
    assert slowdown.failed(NIK) == 2
    slowdown.tune(5, 12)
    assert [slowdown.failed(NIK) for _ in range(3)] == [10, 12, 12]
