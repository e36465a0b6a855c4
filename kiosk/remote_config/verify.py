"""Every check a pushed envelope passes before its settings may run (ARCHITECTURE §6).

In order: the envelope's shape; a signature that verifies under a trusted key (each trusted
key is tried against each signature: the keyid is an unauthenticated hint and never a reason
to trust); the payloadType (covered by the signature, so checked once it is authentic); the
payload; a version above the last applied; not expired; a signed target naming this kiosk or
its group; every setting valid under the same reader as kiosk.toml. The first that fails is
the `Refusal`, with its reason from the closed list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from securesystemslib.exceptions import UnverifiedSignatureError, VerificationError
from securesystemslib.signer import Signature, SSlibKey

from ..config import TrustedKey
from ..config_schema import ConfigError
from ..settings import Settings
from .envelope import PAYLOAD_TYPE, ConfigPayload, Refusal, read_envelope, read_payload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verified:
    payload: ConfigPayload
    settings: Settings
    keyid: str                  # the trusted key that verified it (ours, not the envelope's hint)


def _sslib_key(trusted: TrustedKey) -> SSlibKey:
    return SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(trusted.public_key), trusted.keyid, "ed25519")


def signed_by(envelope, trusted_keys: Sequence[TrustedKey]) -> str | None:
    """The keyid of the first trusted key that verifies any of the signatures, or None."""
    if not trusted_keys or not envelope.signatures:
        return None
    pae = envelope.pae()
    keys = [_sslib_key(k) for k in trusted_keys]
    for _hint, raw in envelope.signatures:
        for key in keys:
            try:
                # the Signature is labelled with the key being tried, whatever keyid it claimed
                key.verify_signature(Signature(key.keyid, raw.hex()), pae)
                return key.keyid
            except (UnverifiedSignatureError, VerificationError):
                continue
    return None


def verify(data, *, trusted_keys: Sequence[TrustedKey], kiosk_id: str, group: str | None,
           floor: int | None, now: datetime) -> Verified:
    """The envelope's payload and settings when every check passes; Refusal otherwise.
    `floor` is the highest version applied (or rolled back) so far, None for none."""
    envelope = read_envelope(data)
    keyid = signed_by(envelope, trusted_keys)
    if keyid is None:
        raise Refusal("signature", "no signature verifies under a trusted key"
                      if trusted_keys else "this kiosk trusts no config key (dinas.trusted_config_keys)")
    if envelope.payload_type != PAYLOAD_TYPE:
        raise Refusal("payload_type", f"payloadType is {envelope.payload_type[:80]!r}, not {PAYLOAD_TYPE}")
    payload = read_payload(envelope.body)
    version = payload.version
    if floor is not None and version <= floor:
        raise Refusal("rollback", f"version {version} is not above {floor}, the last applied", version)
    if now >= payload.expires_at:
        raise Refusal("expired", f"expired at {payload.expires_at.isoformat()}", version)
    if not payload.targets(kiosk_id, group):
        raise Refusal("not_for_this_kiosk", f"its target names neither {kiosk_id} nor group {group}", version)
    try:
        settings = Settings.from_mapping(payload.settings, source=f"config v{version}")
    except ConfigError as exc:
        raise Refusal("invalid_settings", "; ".join(exc.problems)[:480], version) from None
    return Verified(payload, settings, keyid)
