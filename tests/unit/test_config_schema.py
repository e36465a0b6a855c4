"""config/settings-schema.json (what the dinas side can check before pushing) and
kiosk.config.Settings (what the kiosk enforces) must agree, and every key must be documented."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from kiosk.config import ConfigError, Settings, hash_technician_pin

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "config" / "settings-schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

CASES = [
    {},
    {"enabled_kinds": ["KK"]},
    {"enabled_kinds": []},
    {"enabled_kinds": ["KK", "KK"]},
    {"enabled_kinds": ["SIM"]},
    {"enabled_kinds": "KK"},
    {"opening_hours": {"mon": "08:00-16:00", "sun": "closed"}},
    {"opening_hours": {"fri": "08:00-11:30, 13:00-16:00"}},
    {"opening_hours": {"fri": "08:00-11:30,13:00-16:00"}},
    {"opening_hours": {"mon": "8:00-16:00"}},
    {"opening_hours": {"mon": "Closed"}},
    {"opening_hours": {"mon": " 08:00-16:00"}},
    {"opening_hours": {"monday": "08:00-16:00"}},
    {"opening_hours": {"mon": 8}},
    {"opening_hours": "08:00-16:00"},
    {"maintenance_mode": True},
    {"maintenance_mode": "yes"},
    {"idle_timeout_s": 60},
    {"idle_timeout_s": 600},
    {"idle_timeout_s": 59},
    {"idle_timeout_s": 601},
    {"idle_timeout_s": 90.5},
    {"idle_timeout_s": True},
    {"announcement": "Libur nasional 25 Desember"},
    {"announcement": 5},
    {"help_url": ""},
    {"help_url": "https://disdukcapil.example.go.id/adm"},
    {"help_url": "ftp://x"},
    {"cards_low": 0},
    {"cards_low": -1},
    {"receipt_low": 10001},
    {"language": "en"},
    {"language": "EN"},
    {"technician_pin_hash": "123456"},
    {"technician_pin_hash": hash_technician_pin("135790")},
    {"timezone": "Asia/Makassar"},
    {"closed_dates": ["2026-12-25", "2027-01-01"]},
    {"closed_dates": ["2026-12-25", "2026-12-25"]},
    {"closed_dates": ["25-12-2026"]},
    {"announcement_en": "Closed on 25 December"},
    {"announcement": "x" * 501},
    {"receipt_enabled": False},
    {"receipt_enabled": "off"},
    {"spoken_guidance": False},
    {"pin_slowdown_base_s": 0},
    {"pin_slowdown_base_s": 30.5},
    {"pin_slowdown_cap_s": 0.5},
    {"heartbeat_s": 30},
    {"heartbeat_s": 901},
    {"config_poll_s": 3600},
    {"config_poll_s": 30},
    {"operator_pin_hash": hash_technician_pin("2468")},
    {"operator_pin_hash": "2468"},
    {"colour": "red"},
    # Found by tests/fuzz/test_fuzz_settings.py, where the two disagreed:
    {"cards_low": 20.0},                                   # an integer to JSON Schema
    {"idle_timeout_s": 90.0, "config_poll_s": 3600.0},
    {"help_url": "https:// x"},                            # a space in the host
    {"help_url": "https://x.example/a b"},
    {"help_url": "https://disdukcap[l.example.go.id/adm"},    # atheris: urlsplit raised ValueError
    {"help_url": "http://[::1"},
]


def python_accepts(settings: dict) -> bool:
    try:
        Settings.from_mapping(settings)
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("settings", CASES, ids=lambda c: json.dumps(c)[:50])
def test_the_schema_and_the_kiosk_agree(settings: dict) -> None:
    assert VALIDATOR.is_valid(settings) == python_accepts(settings)


def test_the_shipped_settings_validate() -> None:
    for name in ("kiosk.example.toml", "kiosk.demo.toml"):
        settings = tomllib.loads((REPO / "config" / name).read_text())["settings"]
        VALIDATOR.validate(settings)
        Settings.from_mapping(settings)
    VALIDATOR.validate(Settings().as_dict())


def test_every_setting_is_in_the_schema_and_documented() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert fields == set(SCHEMA["properties"])
    docs = (REPO / "docs" / "CONFIGURATION.md").read_text()
    example = (REPO / "config" / "kiosk.example.toml").read_text()
    for key in fields:
        assert f"`{key}`" in docs, f"{key} is not documented in docs/CONFIGURATION.md"
        assert key in example, f"{key} is not in config/kiosk.example.toml"


def test_an_integral_float_is_read_as_the_integer() -> None:
    settings = Settings.from_mapping({"cards_low": 20.0, "idle_timeout_s": 90.0})
    assert (settings.cards_low, settings.idle_timeout_s) == (20, 90)
    assert type(settings.cards_low) is int and Settings.from_mapping(settings.as_dict()) == settings


def test_an_unknown_key_with_a_line_break_stays_on_its_own_line() -> None:
    # Found by tests/fuzz/test_fuzz_settings.py: a pushed key "announcement\n" forged a second
    # problem line in the log and in the report to the dinas.
    with pytest.raises(ConfigError) as caught:
        Settings.from_mapping({"announcement\nsettings.x: fine": 1, "\u2028": 2}, source="config v3")
    assert len(caught.value.problems) == 2
    assert all("\n" not in line and "\u2028" not in line and line.startswith("config v3: settings.")
               for line in caught.value.problems)


def test_help_url_is_checked_by_the_schemas_own_pattern() -> None:
    from kiosk.config_schema import _WEB_URL
    assert SCHEMA["properties"]["help_url"]["pattern"] == f"^({_WEB_URL.pattern})?$"
