"""Fuzz the settings validator (kiosk.settings.Settings.from_mapping over kiosk.config_schema's
Table), which reads kiosk.toml's [settings] and every pushed configuration, against the JSON
Schema the dinas checks before it pushes (config/settings-schema.json).

Kept corpus (corpus/settings/): one settings object per file, as JSON (10 and 11: PIN hashes
that validated and then made the technician's PIN check raise).

Properties: what `adm-dinas config sign` lets an admin sign (dinas/config_settings.py: the
schema and the rules it cannot say) every kiosk accepts; any object is a Settings or a ConfigError whose every line names the source and
the key, never another exception; accepted settings read back the same from `as_dict`, answer
every opening-hours and PIN question without raising; what the kiosk accepts the schema
accepts, and what the schema accepts the kiosk refuses only for the rules the schema cannot
express (its description lists them).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from datetime import datetime, timedelta, timezone

import jsonschema
from hypothesis import given, strategies as st

from dinas.config_settings import settings_problems
from kiosk.config_schema import ConfigError
from kiosk.settings import DOCUMENT_KINDS, Settings
from tests.conftest import REPO

from .corpus import budget, seeds, with_seeds

SOURCE = "fuzz"
SCHEMA = jsonschema.Draft202012Validator(json.loads((REPO / "config" / "settings-schema.json").read_text()))
# What config/settings-schema.json's description says only the kiosk checks.
KIOSK_ONLY = ("ranges overlap", "not a time of day", "ends before it starts", "unknown time zone", "time zone",
              "salted hash", "must not be below pin_slowdown_base_s", "expected dates as")
# A cheap hash of 246810 (n = 16): the PIN checks below run thousands of times.
A_HASH = "scrypt$16$1$1${}${}".format(*(base64.b64encode(part).decode() for part in (
    b"salt-of-16-bytes", hashlib.scrypt(b"246810", salt=b"salt-of-16-bytes", n=16, r=1, p=1, dklen=32))))

RANGE = st.builds(lambda h1, m1, h2, m2: f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}",
                  st.integers(0, 29), st.sampled_from([0, 30, 59]), st.integers(0, 29), st.sampled_from([0, 30, 59]))
DAY = st.one_of(st.just("closed"), st.lists(RANGE, min_size=1, max_size=3).map(", ".join),
                st.lists(RANGE, min_size=1, max_size=2).map(",".join), st.text(max_size=14))
NUMBER = st.one_of(st.integers(-10, 100_000), st.floats(allow_nan=True, allow_infinity=True), st.booleans())
NEAR = {
    "enabled_kinds": st.lists(st.sampled_from([*DOCUMENT_KINDS, "SIM", ""]), max_size=6),
    "opening_hours": st.dictionaries(st.sampled_from(["mon", "tue", "sat", "sun", "monday"]), DAY, max_size=4),
    "closed_dates": st.lists(st.dates().map(str) | st.sampled_from(["2027-02-29", "25-12-2026", "2026-12-25\n"]),
                             max_size=4),
    "timezone": st.sampled_from(["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "UTC", "Asia/Tuban", "", "../etc"]),
    "maintenance_mode": st.booleans() | st.sampled_from(["yes", 1]),
    "idle_timeout_s": NUMBER, "cards_low": NUMBER, "receipt_low": NUMBER, "pin_slowdown_base_s": NUMBER,
    "pin_slowdown_cap_s": NUMBER, "heartbeat_s": NUMBER, "config_poll_s": NUMBER,
    "announcement": st.text(max_size=20) | st.just("x" * 501), "announcement_en": st.text(max_size=20),
    "dinas_contact": st.text(max_size=20),
    "help_url": st.sampled_from(["", "https://disdukcapil.example.go.id/adm", "http://x", "ftp://x", "https://",
                                 "https:// x"]),
    "receipt_enabled": st.booleans(), "spoken_guidance": st.booleans(),
    "technician_pin_hash": st.sampled_from([A_HASH, A_HASH + "\n", "246810", A_HASH.replace("$16$1$", "$16$10000$"),
                                            A_HASH[:-4], "scrypt$3$1$1$AAAA$AAAA"]),
    "operator_pin_hash": st.sampled_from([A_HASH, "2468"]),
    "language": st.sampled_from(["id", "en", "EN", "jv"]),
}
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=10)
SETTINGS = st.one_of(
    st.fixed_dictionaries({}, optional=NEAR),
    st.fixed_dictionaries({}, optional={key: JSON for key in NEAR}),
    st.dictionaries(st.text(max_size=12), JSON, max_size=4))


def schema_blind(value) -> bool:
    """Where the dinas's jsonschema cannot see what the kiosk refuses, somewhere in `value`:
    a string ending in a line break (its patterns run on Python's re, whose `$` also matches
    before a final newline), or NaN or an infinity (not JSON at all, and no bound rejects them)."""
    if isinstance(value, str):
        return value.endswith("\n")
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(schema_blind(v) for v in value.values())
    return isinstance(value, list) and any(schema_blind(v) for v in value)


def kiosk_reads(data: dict) -> Settings | ConfigError:
    try:
        return Settings.from_mapping(data, source=SOURCE)
    except ConfigError as error:
        return error


@budget(120)
@with_seeds([json.loads(raw) for raw in seeds("settings")])
@given(SETTINGS)
def test_any_object_is_settings_or_clear_problems_and_agrees_with_the_schema(data: dict) -> None:
    result = kiosk_reads(data)
    schema_problems = [error.message for error in SCHEMA.iter_errors(data)]
    if isinstance(result, ConfigError):
        assert result.problems
        for line in result.problems:
            assert line.startswith(f"{SOURCE}: settings") and "\n" not in line, line
        if not schema_problems and not schema_blind(data):
            # The dinas would push these and every kiosk refuse them: only for what the
            # schema cannot say.
            for line in result.problems:
                assert any(rule in line for rule in KIOSK_ONLY), (line, data)
        return
    assert not schema_problems, (schema_problems, data)
    assert Settings.from_mapping(result.as_dict()) == result
    assert json.loads(json.dumps(result.as_dict())) == result.as_dict()
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    for hours in range(0, 24 * 7, 5):
        when = start + timedelta(hours=hours, minutes=hours)
        assert isinstance(result.is_open_at(when), bool)
        assert result.refusal("KK", when) in (None, "maintenance", "kind_disabled", "closed")
    for pin in ("246810", "0000"):
        # A_HASH cut short still holds (a prefix of) scrypt's output for 246810; another r does not.
        assert result.check_technician_pin(pin) == (pin == "246810" and result.technician_pin_hash is not None
                                                    and result.technician_pin_hash.startswith(A_HASH[:-4]))
        assert isinstance(result.check_operator_pin(pin), bool)


@budget(120)
@with_seeds([json.loads(raw) for raw in seeds("settings")])
@given(SETTINGS)
def test_what_an_admin_may_sign_every_kiosk_accepts(data: dict) -> None:
    result = kiosk_reads(data)
    if not settings_problems(data):
        assert not isinstance(result, ConfigError), (result.problems, data)
