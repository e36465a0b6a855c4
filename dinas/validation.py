"""Reading request bodies: each bad field gets one `invalid_request` that names it."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from flask import request

from .errors import invalid_request

# [0-9], not \d: \d takes any Unicode digit (Arabic-Indic, full-width ...), and int() reads them.
NIK = re.compile(r"[0-9]{16}")
PIN = re.compile(r"[0-9]{6}")
REQUEST_NO = re.compile(r"REQ-[0-9]{8}-[A-Z0-9]{6}")
MAX_JSON_DEPTH = 32
NAME = re.compile(r"[A-Za-z][A-Za-z .,'-]{0,99}")
KIOSK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MISSING = object()


def json_object() -> dict[str, Any]:
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise invalid_request(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(body, dict):
        raise invalid_request("the body must be a JSON object (Content-Type: application/json)")
    check_depth(body)
    return body


def check_depth(body: Any) -> None:
    """Walks without recursion: a deep body must not reach code that recurses (json.dumps)."""
    level = [body]
    for _ in range(MAX_JSON_DEPTH):
        level = [child for node in level
                 for child in (node.values() if isinstance(node, dict) else node if isinstance(node, list) else ())
                 if isinstance(child, (dict, list))]
        if not level:
            return
    raise invalid_request(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")


def reject_unknown(body: dict[str, Any], allowed: set[str], where: str = "body") -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid_request(f"unknown field(s) in {where}: {', '.join(unknown)}")


def text(body: dict[str, Any], key: str, *, pattern: re.Pattern | None = None, max_len: int = 200,
         required: bool = True, what: str = "") -> str | None:
    value = body.get(key, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise invalid_request(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise invalid_request(f"{key} must be a string")
    if not value or len(value) > max_len:
        raise invalid_request(f"{key} must be 1 to {max_len} characters")
    if "\x00" in value:                 # valid JSON, but PostgreSQL's text cannot hold it
        raise invalid_request(f"{key} must not contain NUL characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise invalid_request(f"{key} must be {what or pattern.pattern}")
    return value


def integer(body: dict[str, Any], key: str, *, minimum: int, maximum: int, required: bool = True,
            nullable: bool = False) -> int | None:
    value = body.get(key, _MISSING)
    if value is _MISSING or (value is None and nullable):
        if required and value is _MISSING:
            raise invalid_request(f"{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"{key} must be an integer")
    if not minimum <= value <= maximum:
        raise invalid_request(f"{key} must be between {minimum} and {maximum}")
    return value


def number(body: dict[str, Any], key: str, *, minimum: float, maximum: float) -> float:
    value = body.get(key, _MISSING)
    if value is _MISSING:
        raise invalid_request(f"{key} is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise invalid_request(f"{key} must be a number")
    if not minimum <= value <= maximum:
        raise invalid_request(f"{key} must be between {minimum} and {maximum}")
    return float(value)


def choice(body: dict[str, Any], key: str, choices: tuple[str, ...], *, required: bool = True) -> str | None:
    value = body.get(key, _MISSING)
    if value is _MISSING and not required:
        return None
    if value not in choices:
        raise invalid_request(f"{key} must be one of: {', '.join(choices)}")
    return value


def uuid_text(body: dict[str, Any], key: str) -> str:
    value = text(body, key, max_len=36)
    return uuid_value(value, key)


def uuid_value(value: str, key: str) -> str:
    """A UUID in its 36-character form, returned lower-case (the form it is stored in)."""
    try:
        parsed = uuid.UUID(value) if len(value) == 36 and value.isascii() else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise invalid_request(f"{key} must be a UUID like 0b8f3c4e-1d2a-4c5b-9e6f-7a8b9c0d1e2f")
    return str(parsed)


def nik(body: dict[str, Any], key: str = "nik") -> str:
    value = text(body, key, pattern=NIK, max_len=16, what="16 digits")
    if not nik_is_well_formed(value):
        raise invalid_request(f"{key} is not a valid NIK (region code, birth date, serial)")
    return value


def nik_is_well_formed(value: str) -> bool:
    """Region code (non-zero province), DDMMYY birth date (+40 on the day for women), serial."""
    if not NIK.fullmatch(value) or value[:2] == "00" or value[12:] == "0000":
        return False
    day, month, year = int(value[6:8]), int(value[8:10]), int(value[10:12])
    if day > 40:
        day -= 40
    try:
        # The century is unknown from the NIK; 2000 is a leap year, so 29 Feb is accepted.
        date(2000 + year, month, day)
    except ValueError:
        return False
    return True
