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
import hashlib
import hmac
import ipaddress
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from devices.transport import DeviceUrl, parse_device_url

from .config_schema import (
    ConfigError, Table, check_timezone, check_web_url, describe, in_range, non_empty, one_of,
    readable_file, resolve_path, strings_from,
)

DEFAULT_CONFIG_PATH = Path("/etc/adm-kiosk/kiosk.toml")
DEFAULT_STATE_DIR = Path("/var/lib/adm-kiosk")

DOCUMENT_KINDS = ("KK", "KIA")
LANGUAGES = ("id", "en")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEVICE_ROLES = ("card_printer", "a4_printer", "receipt_printer", "scanner")
# Only the printers that a document depends on can be declared required; a missing receipt
# printer or scanner never takes the kiosk out of service.
ROLES_WITH_REQUIRED = ("card_printer", "a4_printer")


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


# --- opening hours --------------------------------------------------------------------------

_RANGE = r"[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]"
# The same pattern as "day" in config/settings-schema.json.
_DAY = re.compile(rf"^(closed|({_RANGE})(\s*,\s*{_RANGE})*)$")


def _parse_day(text: str) -> tuple[tuple[int, int], ...]:
    """'08:00-12:00, 13:00-16:00' -> ((480, 720), (780, 960)) in minutes; 'closed' -> ()."""
    if not _DAY.match(text):
        raise ValueError(f"expected 'HH:MM-HH:MM' (several joined by commas) or 'closed', got {text!r}")
    if text == "closed":
        return ()
    ranges = []
    for part in text.split(","):
        h1, m1, h2, m2 = map(int, re.split("[:-]", part.strip()))
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
            raise ValueError(f"{part.strip()!r} is not a time of day (00:00 to 24:00)")
        if end <= start:
            raise ValueError(f"{part.strip()!r} ends before it starts (ranges cannot cross midnight)")
        ranges.append((start, end))
    ranges.sort()
    for (_, end), (start, _) in zip(ranges, ranges[1:]):
        if start < end:
            raise ValueError(f"ranges overlap in {text!r}")
    return tuple(ranges)


@dataclass(frozen=True)
class OpeningHours:
    """Per weekday (Monday first), the open ranges in minutes since midnight."""

    days: tuple[tuple[tuple[int, int], ...], ...]

    @classmethod
    def always(cls) -> OpeningHours:
        return cls(tuple(((0, 24 * 60),) for _ in WEEKDAYS))

    def is_open(self, weekday: int, at: time) -> bool:
        minute = at.hour * 60 + at.minute
        return any(start <= minute < end for start, end in self.days[weekday])

    def as_dict(self) -> dict[str, str]:
        def fmt(m: int) -> str:
            return f"{m // 60:02d}:{m % 60:02d}"
        return {day: ", ".join(f"{fmt(a)}-{fmt(b)}" for a, b in ranges) or "closed"
                for day, ranges in zip(WEEKDAYS, self.days)}


def _opening_hours(table: Table) -> OpeningHours:
    hours = table.table("opening_hours")
    if hours is None:
        return OpeningHours.always()
    days = []
    for day in WEEKDAYS:
        text = hours.take(day, "str", default="closed")
        try:
            days.append(_parse_day(text) if text is not None else ())
        except ValueError as exc:
            hours.problem(day, str(exc))
            days.append(())
    hours.finish()
    return OpeningHours(tuple(days))


# --- the technician PIN ---------------------------------------------------------------------

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_PIN_HASH = re.compile(r"^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


def hash_technician_pin(pin: str) -> str:
    """A salted scrypt hash for `settings.technician_pin_hash`: 'scrypt$N$r$p$salt$hash'."""
    if not re.fullmatch(r"\d{4,12}", pin):
        raise ValueError("a technician PIN is 4 to 12 digits")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + \
        f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _check_pin_hash(text: str) -> str | None:
    match = _PIN_HASH.match(text)
    if match:
        n, r, p = map(int, match.groups()[:3])
        if n >= 2 and n & (n - 1) == 0 and r >= 1 and p >= 1 and n * r <= 2**22:
            return None
    return ("expected a salted hash 'scrypt$N$r$p$SALT$HASH' made by "
            "`python -m kiosk.config hash-pin` (never a clear PIN), got a value of another form")


# --- the sections ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """What gates documents on this kiosk. The dinas pushes a new set remotely
    (`Settings.from_mapping` validates those too); until then these come from kiosk.toml."""

    enabled_kinds: tuple[str, ...] = DOCUMENT_KINDS
    opening_hours: OpeningHours = field(default_factory=OpeningHours.always)
    timezone: str = "Asia/Jakarta"
    maintenance_mode: bool = False
    idle_timeout_s: int = 90
    announcement: str = ""
    dinas_contact: str = ""
    help_url: str = ""
    cards_low: int = 20
    receipt_low: int = 10
    technician_pin_hash: str | None = field(default=None, repr=False)
    language: str = "id"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "settings",
                     prefix: str = "settings") -> Settings:
        """Validate a settings table (from kiosk.toml or a pushed envelope); ConfigError
        lists every problem."""
        problems: list[str] = []
        settings = _settings(Table(data, prefix, source, problems))
        if problems:
            raise ConfigError(problems)
        return settings

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open_at(self, when: datetime) -> bool:
        """Whether `when` falls in the opening hours. An aware datetime is converted to the
        kiosk's timezone; a naive one is taken as the kiosk's local wall time."""
        if when.tzinfo is not None:
            when = when.astimezone(self.zone)
        return self.opening_hours.is_open(when.weekday(), when.time())

    def refusal(self, kind: str, when: datetime) -> str | None:
        """Why a document of `kind` cannot be printed at `when` ('maintenance', 'kind_disabled',
        'closed'), or None when it can."""
        if self.maintenance_mode:
            return "maintenance"
        if kind not in self.enabled_kinds:
            return "kind_disabled"
        if not self.is_open_at(when):
            return "closed"
        return None

    def check_technician_pin(self, pin: str) -> bool:
        """True when `pin` matches the configured hash; always False when none is set."""
        match = _PIN_HASH.match(self.technician_pin_hash or "")
        if not match:
            return False
        n, r, p = map(int, match.groups()[:3])
        salt, expected = (base64.b64decode(g) for g in match.groups()[3:])
        digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected))
        return hmac.compare_digest(digest, expected)

    def as_dict(self) -> dict[str, Any]:
        """The settings in the same shape `from_mapping` reads (for reports and persistence)."""
        data: dict[str, Any] = {
            "enabled_kinds": list(self.enabled_kinds), "opening_hours": self.opening_hours.as_dict(),
            "timezone": self.timezone, "maintenance_mode": self.maintenance_mode,
            "idle_timeout_s": self.idle_timeout_s, "announcement": self.announcement,
            "dinas_contact": self.dinas_contact, "help_url": self.help_url,
            "cards_low": self.cards_low, "receipt_low": self.receipt_low, "language": self.language,
        }
        if self.technician_pin_hash is not None:
            data["technician_pin_hash"] = self.technician_pin_hash
        return data


def _settings(table: Table) -> Settings:
    d = Settings()
    kinds = table.take("enabled_kinds", "list", default=list(d.enabled_kinds), check=strings_from(DOCUMENT_KINDS))
    values = dict(
        enabled_kinds=tuple(kinds) if kinds is not None else (),
        opening_hours=_opening_hours(table),
        timezone=table.take("timezone", "str", default=d.timezone, check=check_timezone) or d.timezone,
        maintenance_mode=table.take("maintenance_mode", "bool", default=d.maintenance_mode),
        idle_timeout_s=table.take("idle_timeout_s", "int", default=d.idle_timeout_s, check=in_range(30, 600)),
        announcement=table.take("announcement", "str", default=d.announcement),
        dinas_contact=table.take("dinas_contact", "str", default=d.dinas_contact),
        help_url=table.take("help_url", "str", default=d.help_url, check=check_web_url),
        cards_low=table.take("cards_low", "int", default=d.cards_low, check=in_range(0, 10000)),
        receipt_low=table.take("receipt_low", "int", default=d.receipt_low, check=in_range(0, 10000)),
        technician_pin_hash=table.take("technician_pin_hash", "str", default=None, check=_check_pin_hash,
                                       secret=True),
        language=table.take("language", "str", default=d.language, check=one_of(LANGUAGES)),
    )
    table.finish()
    return Settings(**values)


@dataclass(frozen=True)
class KioskSection:
    id: str
    state_dir: Path
    place: str = ""
    group: str | None = None
    state_min_free_mb: int = 64       # below this free in state_dir the kiosk is out of service
    retention_days: int = 90          # finished jobs and delivered events kept this long


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
    heartbeat_s: float = 60.0         # seconds between heartbeats (kiosk/telemetry.py)

    def read_token(self) -> str:
        """The kiosk's bearer token, read fresh (a technician may re-enrol the kiosk)."""
        return self.token_file.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class DeviceConfig:
    role: str
    url: str
    parsed: DeviceUrl
    required: bool = False


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
    table.finish()
    if kiosk_id is None or state_dir is None or min_free is None or retention is None:
        return None
    return KioskSection(kiosk_id, resolve_path(base, state_dir), place or "", group, min_free, retention)


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
    heartbeat_s = table.take("heartbeat_s", "number", default=DinasSection.heartbeat_s, check=in_range(5, 3600))
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
    if url is None or token_file is None or None in (timeouts.connect, timeouts.read, timeouts.download,
                                                     heartbeat_s):
        return None
    return DinasSection(url.rstrip("/"), resolve_path(base, token_file),
                        resolve_path(base, ca_file) if ca_file else None, keys, timeouts, heartbeat_s)


def _check_device_url(url: str) -> str | None:
    try:
        parse_device_url(url)
    except ValueError as exc:
        return f"expected a device URL (serial://, socket://, usb://, ipp://, sim:, a CUPS queue), {exc}"
    return None


def _devices(root: Table) -> dict[str, DeviceConfig]:
    table = root.table("devices")
    if table is None:
        return {}
    devices = {}
    for role in DEVICE_ROLES:
        section = table.table(role)
        if section is None:
            continue
        url = section.take("url", "str", check=_check_device_url)
        required = section.take("required", "bool", default=False) if role in ROLES_WITH_REQUIRED else False
        section.finish()
        if url is not None and required is not None:
            devices[role] = DeviceConfig(role, url, parse_device_url(url), required)
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
    settings = _settings(settings_table) if settings_table is not None else Settings()
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
