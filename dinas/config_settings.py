"""The settings an admin signs (`adm-dinas config sign / push / rollout --file settings.toml`),
checked before anything is signed, so that an admin hears about a typo now and not from 300
kiosks' `invalid_settings` reports.

The check is config/settings-schema.json (the published contract) plus the rules a JSON
Schema cannot say, which every kiosk enforces (kiosk/settings.py; `dinas/` shares no code
with `kiosk/`, so they are written again here, and tests/fuzz/test_fuzz_settings.py checks
that whatever passes here the kiosk accepts): a known time zone, the slowdown pair, real
dates, opening hours that are times of day and do not overlap, finite numbers, no line break
after a patterned value (jsonschema's `$` lets one through), and a PIN hash scrypt can check.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import json
import math
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config_admin import AdminError

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "config" / "settings-schema.json"
PIN_HASHES = ("technician_pin_hash", "operator_pin_hash")
# The kiosk checks a PIN within this much scrypt memory (kiosk/settings.py's _SCRYPT_MAX_MEMORY).
SCRYPT_MAX_MEMORY = 64 * 1024 * 1024
_SCRYPT = re.compile(r"scrypt\$([0-9]+)\$([0-9]+)\$([0-9]+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)\n?")


def read_settings_file(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML file (its top level, or its [settings] table), checked;
    AdminError lists every problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AdminError(f"cannot read --file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AdminError(f"{path}: not valid TOML: {exc}") from None
    if set(data) == {"settings"} and isinstance(data["settings"], dict):
        data = data["settings"]
    problems = settings_problems(data)
    if problems:
        raise AdminError("the settings do not validate, nothing was signed:\n  "
                         + "\n  ".join(f"{path}: {p}" for p in problems))
    return data


def settings_problems(data: Any) -> list[str]:
    """What a kiosk would refuse in `data` (a [settings] table), one line each naming the key."""
    schema, validator = _schema()
    problems = [f"{_where(error)}: {_say(error, schema)}"
                for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]
    if isinstance(data, dict):
        problems += [f"settings.{p}" for p in _beyond_the_schema(data)]
    return problems


@functools.cache
def _schema():
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    return schema, jsonschema.Draft202012Validator(schema)


def _where(error) -> str:
    return ".".join(["settings", *map(str, error.absolute_path)])


def _say(error, schema: dict) -> str:
    if error.validator == "additionalProperties":
        known = sorted(schema["properties"]) if not error.absolute_path else []
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        hints = [f"{name!r}" + (f" (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(
            name, known, n=1)) else "") for name in unknown]
        return f"unknown setting {', '.join(hints)}"
    if error.validator in ("minimum", "maximum"):
        return f"{error.instance!r} is out of range ({error.validator} {error.validator_value})"
    secret = bool(error.absolute_path) and str(error.absolute_path[-1]) in PIN_HASHES
    if error.validator == "pattern":
        description = error.schema.get("description", "")
        # a clear PIN typed by mistake into a *_pin_hash is not echoed
        shown = "the value" if secret else repr(str(error.instance)[:40])
        return f"{shown} has the wrong form" + (f" ({description})" if description else "")
    return "the value is not a string" if secret else error.message


def _beyond_the_schema(data: dict) -> list[str]:
    """The rules a JSON Schema cannot say, which the kiosk would refuse the envelope for."""
    problems = [f"{key}: {value!r} is not a finite number" for key, value in data.items()
                if isinstance(value, float) and not math.isfinite(value)]
    zone = data.get("timezone")
    if isinstance(zone, str):
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone: {zone!r} is not an IANA time zone such as 'Asia/Jakarta'")
    base, cap = data.get("pin_slowdown_base_s", 2), data.get("pin_slowdown_cap_s", 60)
    if isinstance(base, (int, float)) and isinstance(cap, (int, float)) and cap < base:
        problems.append(f"pin_slowdown_cap_s: {cap} is below pin_slowdown_base_s ({base})")
    hours = data.get("opening_hours")
    for day, text in hours.items() if isinstance(hours, dict) else ():
        if isinstance(text, str) and (problem := _line_break(text) or _day_problem(text)):
            problems.append(f"opening_hours.{day}: {problem}")
    for day in data.get("closed_dates", []) if isinstance(data.get("closed_dates"), list) else []:
        try:
            if _line_break(str(day)):
                raise ValueError(day)
            datetime.strptime(str(day), "%Y-%m-%d")
        except ValueError:
            problems.append(f"closed_dates: {day!r} is not a real date 'YYYY-MM-DD'")
    help_url = data.get("help_url")
    if isinstance(help_url, str) and (problem := _line_break(help_url)):
        problems.append(f"help_url: {problem}")
    for name in PIN_HASHES:
        if isinstance(data.get(name), str) and _SCRYPT.fullmatch(data[name]) and not _checkable_hash(data[name]):
            problems.append(f"{name}: the hash cannot be checked by the kiosk (scrypt N a power of 2, within "
                            "64 MiB, salt of 8+ bytes): make it with `python -m kiosk.config hash-pin`")
    return problems


def _line_break(text: str) -> str | None:
    return "ends with a line break" if text.endswith("\n") else None


def _checkable_hash(text: str) -> bool:
    match = _SCRYPT.fullmatch(text)
    n, r, p = map(int, match.groups()[:3])
    if not (n >= 2 and n & (n - 1) == 0 and r >= 1 and p >= 1 and 128 * r * (n + p + 2) <= SCRYPT_MAX_MEMORY):
        return False
    try:
        salt, digest = (base64.b64decode(part, validate=True) for part in match.groups()[3:])
    except (binascii.Error, ValueError):
        return False
    return len(salt) >= 8 and 16 <= len(digest) <= 64


def _day_problem(text: str) -> str | None:
    """What the kiosk would refuse in a day's opening hours that the schema's pattern lets
    through: a time past 24:00, a range ending before it starts, ranges that overlap."""
    if text.strip() == "closed":
        return None
    ranges = []
    for part in text.split(","):
        try:
            (h1, m1), (h2, m2) = (map(int, moment.split(":")) for moment in part.strip().split("-"))
        except ValueError:
            return None                     # not the pattern: the schema already said so
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
            return f"{part.strip()!r} is not a time of day (00:00 to 24:00)"
        if end <= start:
            return f"{part.strip()!r} ends before it starts (a range cannot cross midnight)"
        ranges.append((start, end))
    ranges.sort()
    if any(later[0] < earlier[1] for earlier, later in zip(ranges, ranges[1:])):
        return f"the ranges of {text!r} overlap"
    return None
