"""Whatever a kiosk.toml or a pushed settings table holds, validation answers with a
KioskConfig or a ConfigError of clear lines: never another exception, never a half-built
config."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from kiosk.config import ConfigError, KioskConfig, Settings, parse_config

SOURCE = "fuzz.toml"
KEYS = ["kiosk", "dinas", "devices", "settings", "id", "state_dir", "place", "group", "url", "token_file",
        "ca_file", "trusted_config_keys", "timeout_s", "connect", "read", "download", "card_printer",
        "a4_printer", "receipt_printer", "scanner", "required", "enabled_kinds", "opening_hours", "mon",
        "sun", "timezone", "maintenance_mode", "idle_timeout_s", "announcement", "help_url", "cards_low",
        "technician_pin_hash", "language", "keyid", "public_key", "zzz"]
STRINGS = st.sampled_from(["", "K1", "KK", "KIA", "sim:scanner", "usb://zz", "http://127.0.0.1/api/v1",
                           "https://dinas.example.go.id/api/v1", "08:00-16:00", "closed", "25:00-26:00",
                           "token", "Asia/Jakarta", "id", "../x", "gopher://x"]) | st.text(max_size=12)
SCALARS = (STRINGS | st.integers(-10**12, 10**12) | st.floats(allow_nan=True) | st.booleans()
           | st.dates() | st.times() | st.datetimes())
TOML_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(KEYS), inner, max_size=6), max_leaves=30)


def check_problems(error: ConfigError) -> None:
    assert error.problems
    for line in error.problems:
        assert line.startswith(f"{SOURCE}: ") and "\n" not in line


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), TOML_VALUES, max_size=6))
def test_any_document_validates_or_fails_clearly(tmp_path_factory, data: dict) -> None:
    base = tmp_path_factory.getbasetemp()
    (base / "token").write_text("t")
    try:
        config = parse_config(data, SOURCE, Path(base))
    except ConfigError as error:
        check_problems(error)
    else:
        assert isinstance(config, KioskConfig) and config.kiosk.id and config.dinas.url


@hypothesis_settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), TOML_VALUES, max_size=6))
def test_any_settings_table_validates_or_fails_clearly(data: dict) -> None:
    try:
        result = Settings.from_mapping(data, source=SOURCE)
    except ConfigError as error:
        check_problems(error)
    else:
        assert Settings.from_mapping(result.as_dict()) == result
        result.is_open_at(datetime(2026, 11, 23, 9, 0))


def test_toml_dates_and_times_are_type_errors_not_crashes() -> None:
    for value in (date(2026, 1, 1), time(8, 0), datetime(2026, 1, 1, 8, 0)):
        with pytest.raises(ConfigError) as error:
            Settings.from_mapping({"opening_hours": {"mon": value}, "announcement": value}, source=SOURCE)
        assert len(error.value.problems) == 2
