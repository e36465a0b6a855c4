"""`Settings`: what a dinas admin may change on a kiosk, from kiosk.toml's `[settings]` or a
signed remote envelope (kiosk/remote_config/), validated by the same strict reader.

Every key has a default, a range and a line in docs/CONFIGURATION.md; config/settings-schema.json
is the same rules as a JSON Schema for the dinas side. `Settings.from_mapping` lists every
problem at once (ConfigError); `as_dict` gives back the exact shape it reads, so applied
settings can be persisted and read again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from printer_drivers.registry import kind_codes

from .config_schema import ConfigError, Table, check_timezone, check_web_url, in_range, one_of, strings_from

DOCUMENT_KINDS = kind_codes()           # every kind in the registry
LANGUAGES = ("id", "en")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ANNOUNCEMENT_MAX = 500
CLOSED_DATES_MAX = 366


# --- opening hours --------------------------------------------------------------------------

_RANGE = r"[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]"
# The same pattern as "day" in config/settings-schema.json.
_DAY = re.compile(rf"^(closed|({_RANGE})(\s*,\s*{_RANGE})*)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


def _check_closed_dates(values: list) -> str | None:
    if len(values) > CLOSED_DATES_MAX:
        return f"expected at most {CLOSED_DATES_MAX} dates, got {len(values)}"
    for value in values:
        try:
            if not isinstance(value, str) or not _DATE.match(value):
                raise ValueError
            date.fromisoformat(value)
        except ValueError:
            return f"expected dates as 'YYYY-MM-DD' strings (e.g. '2026-12-25'), got {value!r}"
    if len(set(values)) != len(values):
        return "lists a date twice"
    return None


# --- PIN hashes (technician, operator) --------------------------------------------------------

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_PIN_HASH = re.compile(r"scrypt\$([0-9]+)\$([0-9]+)\$([0-9]+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)\n?")
# scrypt needs 128 * r * (n + p + 2) bytes (OpenSSL's count). 64 MiB is four times what hash_technician_pin's own
# parameters need and what pin_matches lets hashlib use: a hash above it would validate and
# then fail at the technician's first PIN (hashlib's default cap is 32 MiB).
_SCRYPT_MAX_MEMORY = 64 * 1024 * 1024


def hash_technician_pin(pin: str) -> str:
    """A salted scrypt hash for `settings.technician_pin_hash` (or `operator_pin_hash`):
    'scrypt$N$r$p$salt$hash'."""
    if not re.fullmatch(r"\d{4,12}", pin):
        raise ValueError("a technician PIN is 4 to 12 digits")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + \
        f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _read_pin_hash(text: str) -> tuple[int, int, int, bytes, bytes] | None:
    """(n, r, p, salt, digest) of a hash scrypt can check within its memory, or None. The
    validator and the PIN check read a hash the same way, so a hash that validates can be
    checked (a trailing newline, as `$` in the schema's pattern allows, is tolerated)."""
    match = _PIN_HASH.fullmatch(text)
    if not match:
        return None
    n, r, p = map(int, match.groups()[:3])
    if not (n >= 2 and n & (n - 1) == 0 and r >= 1 and p >= 1 and 128 * r * (n + p + 2) <= _SCRYPT_MAX_MEMORY):
        return None
    try:
        salt, digest = (base64.b64decode(g, validate=True) for g in match.groups()[3:])
    except ValueError:              # binascii.Error: not whole base64
        return None
    if len(salt) < 8 or not 16 <= len(digest) <= 64:
        return None
    return n, r, p, salt, digest


def _check_pin_hash(text: str) -> str | None:
    if _read_pin_hash(text) is not None:
        return None
    return ("expected a salted hash 'scrypt$N$r$p$SALT$HASH' made by "
            "`python -m kiosk.config hash-pin` (never a clear PIN), got a value of another form")


def pin_matches(pin_hash: str | None, pin: str) -> bool:
    """True when `pin` matches the scrypt hash; always False when there is none."""
    parts = _read_pin_hash(pin_hash or "")
    if parts is None:
        return False
    n, r, p, salt, expected = parts
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected),
                            maxmem=_SCRYPT_MAX_MEMORY + 1024 * 1024)
    return hmac.compare_digest(digest, expected)


# --- the settings ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """What gates documents and tunes the kiosk. The dinas pushes a new set remotely
    (`Settings.from_mapping` validates those too); until then these come from kiosk.toml."""

    enabled_kinds: tuple[str, ...] = DOCUMENT_KINDS
    opening_hours: OpeningHours = field(default_factory=OpeningHours.always)
    closed_dates: tuple[str, ...] = ()            # 'YYYY-MM-DD' holidays, in the kiosk's zone
    timezone: str = "Asia/Jakarta"
    maintenance_mode: bool = False
    idle_timeout_s: int = 90
    announcement: str = ""                        # Bahasa Indonesia
    announcement_en: str = ""                     # English; empty shows the Indonesian text
    dinas_contact: str = ""
    help_url: str = ""
    cards_low: int = 20
    receipt_low: int = 10
    receipt_enabled: bool = True
    spoken_guidance: bool = True
    pin_slowdown_base_s: float = 2.0
    pin_slowdown_cap_s: float = 60.0
    heartbeat_s: float = 60.0
    config_poll_s: int = 900
    technician_pin_hash: str | None = field(default=None, repr=False)
    operator_pin_hash: str | None = field(default=None, repr=False)
    language: str = "id"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "settings",
                     prefix: str = "settings") -> Settings:
        """Validate a settings table (from kiosk.toml or a pushed envelope); ConfigError
        lists every problem."""
        problems: list[str] = []
        settings = read_settings(Table(data, prefix, source, problems))
        if problems:
            raise ConfigError(problems)
        return settings

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open_at(self, when: datetime) -> bool:
        """Whether `when` falls in the opening hours and not on a closed date. An aware
        datetime is converted to the kiosk's timezone; a naive one is taken as the kiosk's
        local wall time."""
        if when.tzinfo is not None:
            when = when.astimezone(self.zone)
        if when.date().isoformat() in self.closed_dates:
            return False
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

    def announcement_for(self, language: str) -> str:
        return self.announcement_en if language == "en" and self.announcement_en else self.announcement

    def check_technician_pin(self, pin: str) -> bool:
        """True when `pin` matches the configured hash; always False when none is set."""
        return pin_matches(self.technician_pin_hash, pin)

    def check_operator_pin(self, pin: str) -> bool:
        """The assisted-mode operator's PIN; always False when none is set."""
        return pin_matches(self.operator_pin_hash, pin)

    def as_dict(self) -> dict[str, Any]:
        """The settings in the same shape `from_mapping` reads (for reports and persistence)."""
        data: dict[str, Any] = {
            "enabled_kinds": list(self.enabled_kinds), "opening_hours": self.opening_hours.as_dict(),
            "closed_dates": list(self.closed_dates), "timezone": self.timezone,
            "maintenance_mode": self.maintenance_mode, "idle_timeout_s": self.idle_timeout_s,
            "announcement": self.announcement, "announcement_en": self.announcement_en,
            "dinas_contact": self.dinas_contact, "help_url": self.help_url,
            "cards_low": self.cards_low, "receipt_low": self.receipt_low,
            "receipt_enabled": self.receipt_enabled, "spoken_guidance": self.spoken_guidance,
            "pin_slowdown_base_s": self.pin_slowdown_base_s, "pin_slowdown_cap_s": self.pin_slowdown_cap_s,
            "heartbeat_s": self.heartbeat_s, "config_poll_s": self.config_poll_s, "language": self.language,
        }
        for name in ("technician_pin_hash", "operator_pin_hash"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    def redacted(self) -> dict[str, Any]:
        """`as_dict` with the PIN hashes replaced by whether one is set (for `config show`)."""
        data = self.as_dict()
        for name in ("technician_pin_hash", "operator_pin_hash"):
            if name in data:
                data[name] = "(set)"
        return data


def _text(max_len: int):
    return lambda v: None if len(v) <= max_len else f"expected at most {max_len} characters, got {len(v)}"


def read_settings(table: Table) -> Settings:
    """The `[settings]` table (or a pushed `settings` object) read through `table`."""
    d = Settings()
    kinds = table.take("enabled_kinds", "list", default=list(d.enabled_kinds), check=strings_from(DOCUMENT_KINDS))
    closed = table.take("closed_dates", "list", default=[], check=_check_closed_dates)
    values = dict(
        enabled_kinds=tuple(kinds) if kinds is not None else (),
        opening_hours=_opening_hours(table),
        closed_dates=tuple(sorted(closed)) if closed is not None else (),
        timezone=table.take("timezone", "str", default=d.timezone, check=check_timezone) or d.timezone,
        maintenance_mode=table.take("maintenance_mode", "bool", default=d.maintenance_mode),
        idle_timeout_s=table.take("idle_timeout_s", "int", default=d.idle_timeout_s, check=in_range(60, 600)),
        announcement=table.take("announcement", "str", default=d.announcement, check=_text(ANNOUNCEMENT_MAX)),
        announcement_en=table.take("announcement_en", "str", default=d.announcement_en,
                                   check=_text(ANNOUNCEMENT_MAX)),
        dinas_contact=table.take("dinas_contact", "str", default=d.dinas_contact, check=_text(200)),
        help_url=table.take("help_url", "str", default=d.help_url, check=check_web_url),
        cards_low=table.take("cards_low", "int", default=d.cards_low, check=in_range(0, 10000)),
        receipt_low=table.take("receipt_low", "int", default=d.receipt_low, check=in_range(0, 10000)),
        receipt_enabled=table.take("receipt_enabled", "bool", default=d.receipt_enabled),
        spoken_guidance=table.take("spoken_guidance", "bool", default=d.spoken_guidance),
        pin_slowdown_base_s=table.take("pin_slowdown_base_s", "number", default=d.pin_slowdown_base_s,
                                       check=in_range(0, 30)),
        pin_slowdown_cap_s=table.take("pin_slowdown_cap_s", "number", default=d.pin_slowdown_cap_s,
                                      check=in_range(1, 900)),
        heartbeat_s=table.take("heartbeat_s", "number", default=d.heartbeat_s, check=in_range(10, 900)),
        config_poll_s=table.take("config_poll_s", "int", default=d.config_poll_s, check=in_range(60, 86400)),
        technician_pin_hash=table.take("technician_pin_hash", "str", default=None, check=_check_pin_hash,
                                       secret=True),
        operator_pin_hash=table.take("operator_pin_hash", "str", default=None, check=_check_pin_hash,
                                     secret=True),
        language=table.take("language", "str", default=d.language, check=one_of(LANGUAGES)),
    )
    base, cap = values["pin_slowdown_base_s"], values["pin_slowdown_cap_s"]
    if base is not None and cap is not None and cap < base:
        table.problem("pin_slowdown_cap_s", f"must not be below pin_slowdown_base_s ({base}), got {cap}")
    table.finish()
    return Settings(**{k: v for k, v in values.items() if v is not None or k.endswith("_pin_hash")})


def unset_for_citizens(settings: Settings) -> tuple[str, ...]:
    """The settings still at a default that a deployment must fill in, because a citizen
    misses them: `diag` names them and the kiosk logs them at start. Only `dinas_contact`
    today: without it every message whose next step is to call says "hubungi Dinas
    Dukcapil" with no number (issue 14)."""
    return () if settings.dinas_contact.strip() else ("dinas_contact",)

