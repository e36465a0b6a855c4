"""The DSSE envelope of a pushed configuration, and its payload, read strictly.

The envelope is DSSE's JSON form (`payloadType`, base64 `payload`, `signatures[{keyid, sig}]`);
its signatures are Ed25519 over DSSE's pre-authentication encoding, which securesystemslib's
`dsse.Envelope.pae` computes. The payload is JSON:
`{version, issued_at, expires_at, target: {kiosks, groups}, settings}`.

A problem is a `Refusal` carrying one reason of the closed list `REASONS` (documented in
docs/REMOTE-CONFIG.md), the version when it is known, and a detail for the log and the report.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from securesystemslib.dsse import Envelope

PAYLOAD_TYPE = "application/vnd.adm-kiosk.config+json"
REASONS = ("signature", "payload_type", "malformed", "rollback", "expired", "not_for_this_kiosk",
           "invalid_settings", "health_check")
MAX_SIGNATURES = 16
MAX_ENVELOPE_TEXT = 512 * 1024
PAYLOAD_KEYS = {"version", "issued_at", "expires_at", "target", "settings"}
# RFC 3339 in UTC, as the payload must carry them: 2026-12-01T08:00:00Z (fractions allowed).
# Matched whole (fullmatch: `$` would let a trailing newline in) and in ASCII digits only.
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Refusal(Exception):
    """An envelope that must not be applied: `reason` is one of REASONS."""

    def __init__(self, reason: str, detail: str, version: int | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.version = reason, detail, version


@dataclass(frozen=True)
class SignedEnvelope:
    payload_type: str
    body: bytes                              # the payload bytes, as signed
    signatures: tuple[tuple[str, bytes], ...]  # (keyid hint, raw signature)

    def pae(self) -> bytes:
        """DSSEv1 SP LEN(type) SP type SP LEN(body) SP body."""
        return Envelope(self.body, self.payload_type, {}).pae()


@dataclass(frozen=True)
class ConfigPayload:
    version: int
    issued_at: datetime
    expires_at: datetime
    kiosks: tuple[str, ...]
    groups: tuple[str, ...]
    settings: dict[str, Any]

    def targets(self, kiosk_id: str, group: str | None) -> bool:
        return kiosk_id in self.kiosks or (group is not None and group in self.groups)


def _b64(text: Any, what: str) -> bytes:
    """DSSE allows standard or URL-safe base64; anything else is malformed."""
    if not isinstance(text, str) or not text:
        raise Refusal("malformed", f"{what} must be a non-empty base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.b64decode(text, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise Refusal("malformed", f"{what} is not base64") from None


def read_envelope(data: Any) -> SignedEnvelope:
    """The envelope's parts, or Refusal('malformed'). An empty signature list is not
    malformed: it is an unsigned envelope, refused later for its `signature`."""
    if not isinstance(data, dict):
        raise Refusal("malformed", "the envelope is not a JSON object")
    unknown = set(data) - {"payloadType", "payload", "signatures"}
    if unknown:
        raise Refusal("malformed", f"the envelope has unknown fields {sorted(unknown)[:3]}")
    payload_type = data.get("payloadType")
    if not isinstance(payload_type, str) or not payload_type:
        raise Refusal("malformed", "payloadType must be a non-empty string")
    body = _b64(data.get("payload"), "payload")
    signatures = data.get("signatures")
    if not isinstance(signatures, list) or len(signatures) > MAX_SIGNATURES:
        raise Refusal("malformed", f"signatures must be a list of at most {MAX_SIGNATURES}")
    parts = []
    for index, entry in enumerate(signatures):
        if not isinstance(entry, dict) or not isinstance(entry.get("sig"), str):
            raise Refusal("malformed", f"signatures[{index}] must be an object with a base64 sig")
        keyid = entry.get("keyid", "")
        if not isinstance(keyid, str):
            raise Refusal("malformed", f"signatures[{index}].keyid must be a string")
        parts.append((keyid, _b64(entry["sig"], f"signatures[{index}].sig")))
    return SignedEnvelope(payload_type, body, tuple(parts))


def parse_time(text: Any, what: str, version: int) -> datetime:
    try:
        if not isinstance(text, str) or not _UTC_TIME.fullmatch(text):
            raise ValueError(text)
        # The pattern has the shape only: 2026-13-45T25:61:00Z fits it and is no time.
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)
    except ValueError:
        raise Refusal("malformed", f"{what} must be an RFC 3339 UTC time like 2026-12-01T08:00:00Z",
                      version) from None


def _names(target: dict, key: str, version: int) -> tuple[str, ...]:
    names = target.get(key, [])
    if not isinstance(names, list) or not all(isinstance(n, str) and _NAME.fullmatch(n) for n in names):
        raise Refusal("malformed", f"target.{key} must be a list of ids", version)
    return tuple(names)


def read_payload(body: bytes) -> ConfigPayload:
    """The payload's fields, or Refusal('malformed'); `settings` is checked later, by the
    kiosk's own settings reader."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refusal("malformed", "the payload is not JSON") from None
    except RecursionError:      # nested some thousands deep: no payload of ours nests past 3
        raise Refusal("malformed", "the payload nests too deep to read") from None
    if not isinstance(data, dict):
        raise Refusal("malformed", "the payload is not a JSON object")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 2**53:
        raise Refusal("malformed", "version must be an integer of at least 1")
    if set(data) != PAYLOAD_KEYS:
        missing, extra = PAYLOAD_KEYS - set(data), set(data) - PAYLOAD_KEYS
        raise Refusal("malformed", f"payload fields: missing {sorted(missing)}, unknown {sorted(extra)}", version)
    target, settings = data["target"], data["settings"]
    if not isinstance(target, dict) or set(target) - {"kiosks", "groups"}:
        raise Refusal("malformed", "target must be an object with kiosks and/or groups", version)
    if not isinstance(settings, dict):
        raise Refusal("malformed", "settings must be an object", version)
    issued = parse_time(data["issued_at"], "issued_at", version)
    expires = parse_time(data["expires_at"], "expires_at", version)
    if expires <= issued:
        raise Refusal("malformed", "expires_at must be after issued_at", version)
    return ConfigPayload(version, issued, expires, _names(target, "kiosks", version),
                         _names(target, "groups", version), settings)


def utc_text(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
