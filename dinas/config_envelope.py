"""Configuration envelopes on the dinas side: their shape (checked by `PUT /admin/config`)
and their making (`adm-dinas config sign / push / rollout`).

An envelope is DSSE's JSON form: `payloadType` (`application/vnd.adm-kiosk.config+json`),
base64 `payload`, `signatures[{keyid, sig}]`, each sig Ed25519 over DSSE's pre-authentication
encoding. securesystemslib makes it (`dsse.Envelope` with a `CryptoSigner`). The payload is
`{version, issued_at, expires_at, target: {kiosks, groups}, settings}`.

The server cannot know which keys a kiosk trusts, so it checks the shape only: the type, the
base64, a JSON payload with exactly those fields, well-formed times and names, at least one
signature. Anything else would be stored and served to kiosks that must then refuse it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

PAYLOAD_TYPE = "application/vnd.adm-kiosk.config+json"
PAYLOAD_KEYS = ("version", "issued_at", "expires_at", "target", "settings")
MAX_PAYLOAD_BASE64 = 512 * 1024
MAX_SIGNATURES = 16
MAX_VERSION = 2**53
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


class EnvelopeProblem(ValueError):
    """One line saying what is wrong with an envelope, naming the field."""


@dataclass(frozen=True)
class Payload:
    version: int
    issued_at: str
    expires_at: str
    kiosks: tuple[str, ...]
    groups: tuple[str, ...]
    settings: dict[str, Any]


def utc_text(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(value: Any, what: str, max_len: int) -> bytes:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise EnvelopeProblem(f"{what} must be a base64 string of 1 to {max_len} characters")
    for altchars in (None, b"-_"):      # DSSE allows standard or URL-safe base64
        try:
            return base64.b64decode(value, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise EnvelopeProblem(f"{what} is not valid base64")


def _time(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or not UTC_TIME.fullmatch(value):
        raise EnvelopeProblem(f"envelope.payload.{what} must be an RFC 3339 UTC time like 2026-12-01T08:00:00Z")
    try:
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=timezone.utc)
    except ValueError:
        raise EnvelopeProblem(f"envelope.payload.{what} is not a real date and time") from None


def _names(target: dict, key: str) -> tuple[str, ...]:
    names = target.get(key, [])
    if not isinstance(names, list) or len(names) > 10000 or not all(
            isinstance(n, str) and NAME.fullmatch(n) for n in names):
        raise EnvelopeProblem(f"envelope.payload.target.{key} must be a list of ids (letters, digits, . _ -)")
    return tuple(dict.fromkeys(names))


def read_payload(body: bytes) -> Payload:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EnvelopeProblem("envelope.payload is not JSON (base64 of the JSON settings document)") from None
    if not isinstance(data, dict) or set(data) != set(PAYLOAD_KEYS):
        raise EnvelopeProblem(f"envelope.payload must be a JSON object with exactly {', '.join(PAYLOAD_KEYS)}")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise EnvelopeProblem("envelope.payload.version must be an integer of at least 1")
    issued, expires = _time(data["issued_at"], "issued_at"), _time(data["expires_at"], "expires_at")
    if expires <= issued:
        raise EnvelopeProblem("envelope.payload.expires_at must be after issued_at")
    target = data["target"]
    if not isinstance(target, dict) or set(target) - {"kiosks", "groups"}:
        raise EnvelopeProblem("envelope.payload.target must be an object with kiosks and/or groups")
    kiosks, groups = _names(target, "kiosks"), _names(target, "groups")
    if not kiosks and not groups:
        raise EnvelopeProblem("envelope.payload.target must name at least one kiosk or group")
    if not isinstance(data["settings"], dict):
        raise EnvelopeProblem("envelope.payload.settings must be an object (the [settings] table)")
    return Payload(version, data["issued_at"], data["expires_at"], kiosks, groups, data["settings"])


def check_envelope(envelope: Any) -> Payload:
    """The payload of a well-shaped envelope; EnvelopeProblem otherwise."""
    if not isinstance(envelope, dict):
        raise EnvelopeProblem("envelope must be a DSSE envelope object")
    unknown = sorted(set(envelope) - {"payloadType", "payload", "signatures"})
    if unknown:
        raise EnvelopeProblem(f"unknown field(s) in envelope: {', '.join(unknown)}")
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise EnvelopeProblem(f"envelope.payloadType must be {PAYLOAD_TYPE}")
    payload = read_payload(_b64(envelope.get("payload"), "envelope.payload", MAX_PAYLOAD_BASE64))
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not 1 <= len(signatures) <= MAX_SIGNATURES:
        raise EnvelopeProblem(f"envelope.signatures must list 1 to {MAX_SIGNATURES} signatures (it is unsigned)")
    for index, signature in enumerate(signatures):
        where = f"envelope.signatures[{index}]"
        if not isinstance(signature, dict) or set(signature) != {"keyid", "sig"}:
            raise EnvelopeProblem(f"{where} must be an object with exactly keyid and sig")
        if not isinstance(signature["keyid"], str) or not 1 <= len(signature["keyid"]) <= 200:
            raise EnvelopeProblem(f"{where}.keyid must be 1 to 200 characters")
        if len(_b64(signature["sig"], f"{where}.sig", 2000)) != 64:
            raise EnvelopeProblem(f"{where}.sig must be a 64-byte Ed25519 signature")
    return payload


# --- making envelopes (the admin's side) -------------------------------------------------------

def payload_bytes(version: int, issued_at: datetime, expires_at: datetime, kiosks: list[str], groups: list[str],
                  settings: dict[str, Any]) -> bytes:
    document = {"version": version, "issued_at": utc_text(issued_at), "expires_at": utc_text(expires_at),
                "target": {"kiosks": list(kiosks), "groups": list(groups)}, "settings": settings}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_envelope(body: bytes, signer) -> dict[str, Any]:
    """A DSSE envelope of `body`, signed by a securesystemslib Signer."""
    from securesystemslib.dsse import Envelope

    envelope = Envelope(body, PAYLOAD_TYPE, {})
    envelope.sign(signer)
    return envelope.to_dict()
