"""The kiosk's local configuration: `kiosk.toml`, read and validated once, at start.

What a technician sets up once lives here (kiosk id, dinas URL and token, trusted config
keys, device connections), plus the `[settings]` that gate documents until the dinas pushes
its own (see docs/CONFIGURATION.md). Every problem is reported at load, all at once, one line
each, naming the file, the dotted key and what was expected; nothing is checked lazily later.

Relative paths (`state_dir`, `token_file`, `ca_file`) are resolved against the folder that
holds the config file, so a config and its token can travel together. The typed readers that
make the problem lines are kiosk/config_schema.py; this module says which keys there are.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from devices.transport import DeviceUrl, parse_device_url
from printer_drivers import registry

from .config_schema import ConfigError, Table, describe, in_range, non_empty, readable_file, resolve_path
# The settings live in kiosk/settings.py; these names stay importable from here.
from .settings import (  # noqa: F401
    DOCUMENT_KINDS, LANGUAGES, WEEKDAYS, OpeningHours, Settings, hash_technician_pin, read_settings,
)
from .settings import _check_pin_hash as check_pin_hash

DEFAULT_CONFIG_PATH = Path("/etc/adm-kiosk/kiosk.toml")
DEFAULT_STATE_DIR = Path("/var/lib/adm-kiosk")



def is_loopback_host(host: str | None) -> bool:
    """localhost, 127.0.0.0/8 and ::1: the only hosts plain HTTP may go to."""
    if not host:
        return False
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_dinas_url(url: str) -> str | None:
    """Why `url` cannot be the dinas base URL, or None when it can."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"expected an https:// URL, got {url!r} ({exc})"
    if parts.scheme not in ("https", "http") or not host:
        return f"expected an https:// URL such as https://dinas.example.go.id/api/v1, got {url!r}"
    if parts.scheme == "http" and not is_loopback_host(host):
        return f"expected https:// (plain http is allowed only to a loopback host), got {url!r}"
    if parts.query or parts.fragment:
        return f"expected a base URL without ?query or #fragment, got {url!r}"
    return None


# --- the sections ---------------------------------------------------------------------------

@dataclass(frozen=True)
class KioskSection:
    id: str
    state_dir: Path
    place: str = ""
    group: str | None = None
    state_min_free_mb: int = 64       # below this free in state_dir the kiosk is out of service
    retention_days: int = 90          # finished jobs and delivered events kept this long
    # The technician's way in when no remote configuration brought a PIN hash (a new kiosk, a
    # lost dinas): local only, never pushed (kiosk/staff_access.py).
    emergency_technician_pin_hash: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TrustedKey:
    keyid: str
    public_key: bytes                 # raw 32-byte Ed25519 public key

    def verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public_key)


@dataclass(frozen=True)
class DinasTimeouts:
    connect: float = 3.05
    read: float = 10.0
    download: float = 120.0           # the whole document download, however it trickles


@dataclass(frozen=True)
class DinasSection:
    url: str
    token_file: Path
    ca_file: Path | None = None
    trusted_config_keys: tuple[TrustedKey, ...] = ()
    timeout_s: DinasTimeouts = DinasTimeouts()

    def read_token(self) -> str:
        """The kiosk's bearer token, read fresh (a technician may re-enrol the kiosk)."""
        return self.token_file.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class DeviceConfig:
    role: str
    url: str
    parsed: DeviceUrl
    required: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)   # the driver's, from the registry's schema


@dataclass(frozen=True)
class KioskConfig:
    path: Path | None
    kiosk: KioskSection
    dinas: DinasSection
    devices: Mapping[str, DeviceConfig]   # by role; a role absent here has no device
    settings: Settings

    def device(self, role: str) -> DeviceConfig | None:
        return self.devices.get(role)


def _kiosk_section(root: Table, base: Path) -> KioskSection | None:
    table = root.table("kiosk", required=True)
    if table is None:
        return None
    kiosk_id = table.take("id", "str", check=lambda v: None if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", v)
                          else f"expected letters, digits, '.', '_' or '-' (1 to 64), got {v!r}")
    state_dir = table.take("state_dir", "str", default=str(DEFAULT_STATE_DIR), check=non_empty)
    place = table.take("place", "str", default="")
    group = table.take("group", "str", default=None, check=non_empty)
    min_free = table.take("state_min_free_mb", "int", default=KioskSection.state_min_free_mb,
                          check=in_range(1, 100_000))
    retention = table.take("retention_days", "int", default=KioskSection.retention_days, check=in_range(7, 3650))
    emergency = table.take("emergency_technician_pin_hash", "str", default=None, check=check_pin_hash)
    table.finish()
    if kiosk_id is None or state_dir is None or min_free is None or retention is None:
        return None
    return KioskSection(kiosk_id, resolve_path(base, state_dir), place or "", group, min_free, retention, emergency)


def _trusted_keys(table: Table) -> tuple[TrustedKey, ...]:
    entries = table.take("trusted_config_keys", "list", default=[])
    keys: list[TrustedKey] = []
    for index, entry in enumerate(entries or []):
        name = f"trusted_config_keys[{index}]"
        if not isinstance(entry, dict):
            table.problem(name, f"expected a table {{keyid, public_key}}, got {describe(entry)}")
            continue
        item = Table(entry, table.key(name), table.source, table.problems)
        keyid = item.take("keyid", "str", check=non_empty)
        public_key = item.take("public_key", "str", check=_check_ed25519)
        item.finish()
        if keyid is not None and public_key is not None:
            if any(k.keyid == keyid for k in keys):
                item.problem("keyid", f"{keyid!r} is listed twice")
            keys.append(TrustedKey(keyid, base64.b64decode(public_key, validate=True)))
    return tuple(keys)


def _check_ed25519(text: str) -> str | None:
    try:
        raw = base64.b64decode(text, validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        return "expected a base64 raw Ed25519 public key (32 bytes, 44 base64 characters)"
    return None


def _dinas_section(root: Table, base: Path) -> DinasSection | None:
    table = root.table("dinas", required=True)
    if table is None:
        return None
    url = table.take("url", "str", check=check_dinas_url)
    token_file = table.take("token_file", "str", check=readable_file(base, "token"))
    ca_file = table.take("ca_file", "str", default=None, check=readable_file(base, "CA bundle"))
    keys = _trusted_keys(table)
    timeouts = DinasTimeouts()
    timeout_table = table.table("timeout_s")
    if timeout_table is not None:
        timeouts = DinasTimeouts(
            connect=timeout_table.take("connect", "number", default=timeouts.connect, check=in_range(0.1, 60)),
            read=timeout_table.take("read", "number", default=timeouts.read, check=in_range(0.1, 300)),
            download=timeout_table.take("download", "number", default=timeouts.download, check=in_range(1, 3600)),
        )
        timeout_table.finish()
    table.finish()
    if url is None or token_file is None or None in (timeouts.connect, timeouts.read, timeouts.download):
        return None
    return DinasSection(url.rstrip("/"), resolve_path(base, token_file),
                        resolve_path(base, ca_file) if ca_file else None, keys, timeouts)


def _url_check(entry: registry.DeviceRole):
    def check(url: str) -> str | None:
        problem = entry.url_problem(url)
        return None if problem is None else f"expected a {entry.role} URL: {problem}"
    return check


def _device(section: Table, entry: registry.DeviceRole) -> DeviceConfig | None:
    """One `[devices.<role>]`: its url, `required` (only for the printers a document depends
    on: a missing receipt printer or scanner never takes the kiosk out of service) and the
    driver's options from the registry's schema; any other key is unknown and named."""
    url = section.take("url", "str", check=_url_check(entry))
    required = section.take("required", "bool", default=False) if entry.can_be_required else False
    options: dict[str, Any] = {}
    for option in entry.options:
        value = section.take(option.name, option.kind, default=None, check=option.check)
        if value is not None:
            options[option.name] = option.convert(value) if option.convert else value
    section.finish()
    if url is None or required is None:
        return None
    return DeviceConfig(entry.role, url, parse_device_url(url), required, MappingProxyType(options))


def _devices(root: Table) -> dict[str, DeviceConfig]:
    table = root.table("devices")
    if table is None:
        return {}
    devices = {}
    for role in registry.roles():
        section = table.table(role)
        if section is not None and (device := _device(section, registry.device(role))) is not None:
            devices[role] = device
    table.finish()
    return devices


def parse_config(data: Mapping[str, Any], source: str, base: Path, path: Path | None = None) -> KioskConfig:
    """Validate an already parsed TOML document; relative paths resolve against `base`."""
    problems: list[str] = []
    root = Table(data, "", source, problems)
    kiosk = _kiosk_section(root, base)
    dinas = _dinas_section(root, base)
    devices = _devices(root)
    settings_table = root.table("settings")
    settings = read_settings(settings_table) if settings_table is not None else Settings()
    root.finish()
    if problems or kiosk is None or dinas is None:
        raise ConfigError(problems)
    return KioskConfig(path, kiosk, dinas, MappingProxyType(devices), settings)


def load_config(path: str | Path | None = None) -> KioskConfig:
    """Read and validate kiosk.toml (default /etc/adm-kiosk/kiosk.toml). Raises ConfigError
    naming the file and each offending key."""
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such configuration file (use --config to point at another)"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return parse_config(data, str(path), path.resolve().parent, path)


def _print_pin_hash() -> int:
    """`python -m kiosk.config hash-pin`: ask for a technician PIN twice, print its hash."""
    import getpass
    import sys

    if sys.argv[1:] != ["hash-pin"]:
        print("usage: python -m kiosk.config hash-pin", file=sys.stderr)
        return 2
    pin = getpass.getpass("Technician PIN (4-12 digits): ")
    if pin != getpass.getpass("Again: "):
        print("the two PINs differ", file=sys.stderr)
        return 1
    try:
        print(f'technician_pin_hash = "{hash_technician_pin(pin)}"')
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_print_pin_hash())
