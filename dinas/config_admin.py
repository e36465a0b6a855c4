"""The admin's side of remote configuration: signing keys, settings files, envelopes, and the
admin API calls that publish them (docs/REMOTE-CONFIG.md).

Keys are Ed25519. `keygen` writes `ID.key` (PKCS#8 PEM, mode 0600) and `ID.pub` (base64 of
the raw 32-byte public key, what kiosk.toml's `dinas.trusted_config_keys` takes); the file
name is the keyid. The settings an envelope carries are read and checked by
dinas/config_settings.py before anything is signed.
"""

from __future__ import annotations

import base64
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

from .config_envelope import payload_bytes, sign_envelope

KEYID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DEFAULT_VALID_DAYS = 30
HTTP_TIMEOUT = (3.05, 30.0)


class AdminError(Exception):
    """Something the admin must fix, said in one line."""


# --- keys --------------------------------------------------------------------------------------

def keygen(directory: Path, keyid: str | None = None) -> tuple[str, str, Path]:
    """A new key pair in `directory`: (keyid, base64 public key, private key path)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
    import hashlib

    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    keyid = keyid or f"dinas-{hashlib.sha256(raw).hexdigest()[:16]}"
    if not KEYID.fullmatch(keyid):
        raise AdminError("--keyid must be 1-64 letters, digits, . _ - (starting with a letter or digit)")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path, pub_path = directory / f"{keyid}.key", directory / f"{keyid}.pub"
    if key_path.exists() or pub_path.exists():
        raise AdminError(f"{key_path} already exists: a signing key is never overwritten")
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public = base64.b64encode(raw).decode()
    pub_path.write_text(public + "\n")
    return keyid, public, key_path


def load_signer(path: str | Path):
    """A securesystemslib CryptoSigner for the key file; its keyid is the file's name."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner, SSlibKey

    path = Path(path)
    try:
        private = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise AdminError(f"cannot read --key {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise AdminError(f"--key {path} is not an unencrypted PEM private key (make one with `adm-dinas keygen`)") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise AdminError(f"--key {path} is not an Ed25519 key")
    if path.stat().st_mode & 0o077:
        raise AdminError(f"--key {path} is readable by others: chmod 600 it first")
    keyid = path.stem
    if not KEYID.fullmatch(keyid):
        raise AdminError(f"the key file's name {path.name!r} must be KEYID.key")
    return CryptoSigner(private, SSlibKey.from_crypto(private.public_key(), keyid, "ed25519"))


# --- envelopes ---------------------------------------------------------------------------------

def default_version(now: datetime) -> int:
    """Versions that grow without coordination between admins: the UTC time, YYYYMMDDHHMMSS."""
    return int(now.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S"))


def check_version_is_new(fleet: list[dict[str, Any]], kiosks: list[str], groups: list[str], version: int) -> None:
    """AdminError when a targeted kiosk already applied (or rolled back) `version` or a later
    one: it would refuse the push as a `rollback`, so nothing is published. What the dinas
    knows comes from the kiosks' heartbeats and reports."""
    spent = []
    for kiosk in fleet:
        if kiosk["kiosk_id"] not in kiosks and kiosk.get("group") not in groups:
            continue
        report = kiosk.get("last_config_report") or {}
        reported = report.get("version") if report.get("result") in ("applied", "rolled_back") else None
        floor = max((v for v in (kiosk.get("config_version"), reported) if isinstance(v, int)), default=None)
        if floor is not None and floor >= version:
            spent.append((kiosk["kiosk_id"], floor))
    if spent:
        names = ", ".join(f"{kiosk_id} (v{floor})" for kiosk_id, floor in spent[:5])
        highest = max(floor for _, floor in spent)
        raise AdminError(f"v{version} is not above what {len(spent)} kiosk(s) already ran: {names}; a kiosk refuses "
                         f"any version not above the last it applied (rollback). Give a --version above {highest}, "
                         "or leave --version out (it is the UTC time). Nothing was published.")


def make_envelope(settings: dict[str, Any], signer, *, kiosks: list[str], groups: list[str],
                  version: int | None = None, valid_days: float = DEFAULT_VALID_DAYS,
                  now: datetime | None = None) -> tuple[dict[str, Any], int]:
    now = now or datetime.now(timezone.utc)
    if not kiosks and not groups:
        raise AdminError("name the target: --kiosk ID and/or --group NAME")
    if not 0 < valid_days <= 366:
        raise AdminError("--valid-days must be more than 0 and at most 366")
    version = version if version is not None else default_version(now)
    if not 1 <= version <= 2**53:
        raise AdminError("--version must be an integer of at least 1")
    body = payload_bytes(version, now, now + timedelta(days=valid_days), kiosks, groups, settings)
    return sign_envelope(body, signer), version


# --- the admin API -----------------------------------------------------------------------------

class AdminApi:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url, self.token = base_url.rstrip("/"), token
        self.http = requests.Session()

    @classmethod
    def from_args(cls, url: str | None, token_file: str | None) -> AdminApi:
        url = url or os.environ.get("ADM_DINAS_URL")
        token_file = token_file or os.environ.get("ADM_DINAS_TOKEN_FILE")
        if not url or not token_file:
            raise AdminError("give the dinas API with --url URL (…/api/v1) and --token-file FILE (the admin token)")
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AdminError(f"cannot read --token-file {token_file}: {exc.strerror}") from None
        if not token:
            raise AdminError(f"--token-file {token_file} is empty")
        return cls(url, token)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            reply = self.http.request(method, f"{self.base_url}{path}", json=body, timeout=HTTP_TIMEOUT,
                                      headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as exc:
            raise AdminError(f"the dinas at {self.base_url} did not answer ({type(exc).__name__})") from None
        try:
            data = reply.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or (reply.status_code >= 400 and "error" not in data):
            # not the dinas API's JSON: most often a --url without /api/v1, or another server
            raise AdminError(f"{method} {self.base_url}{path}: HTTP {reply.status_code}, not an answer of the dinas "
                             "API: is --url the API base, e.g. https://adm.example.go.id/api/v1?")
        if reply.status_code >= 400:
            raise AdminError(f"{method} {path}: HTTP {reply.status_code}: {data.get('detail') or data['error']}")
        return data

    def publish(self, envelope: dict, kiosks: list[str], groups: list[str]) -> dict:
        return self.call("PUT", "/admin/config", {"target": {"kiosks": kiosks, "groups": groups}, "envelope": envelope})

    def kiosks(self) -> list[dict[str, Any]]:
        return self.call("GET", "/admin/kiosks")["kiosks"]

    def rollouts(self) -> list[dict[str, Any]]:
        return self.call("GET", "/admin/config/rollouts")["rollouts"]

    def record_rollout(self, rollout_id: str, progress: dict[str, Any]) -> None:
        self.call("PUT", f"/admin/config/rollouts/{rollout_id}", progress)
