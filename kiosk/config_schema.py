"""Reading typed values out of TOML tables, reporting every problem at once.

    problems: list[str] = []
    table = Table(data, "dinas", "kiosk.toml", problems)
    url = table.take("url", "str", check=non_empty)          # None when absent or invalid
    timeout = table.take("timeout_s", "number", default=10.0, check=in_range(0.1, 60))
    table.finish()                                            # unknown keys, with a hint
    if problems:
        raise ConfigError(problems)

Each problem is one line naming the file, the dotted key and what was expected:
`kiosk.toml: dinas.timeout_s: expected a number, got 'ten'`. A check is a function of the
value that returns the problem's text or None. Nothing here knows what the kiosk's keys
are; that is kiosk/config.py.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(ValueError):
    """The configuration does not validate. `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def describe(value: Any) -> str:
    """A value as a problem line shows it: TOML words for booleans, tables and lists, and
    at most 60 characters of anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "str": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    # 20.0 is an integer to JSON Schema (config/settings-schema.json), so a dinas may push it;
    # it is read as 20. 20.5, NaN and booleans are not integers.
    "int": ("an integer", lambda v: (isinstance(v, int) and not isinstance(v, bool))
            or (isinstance(v, float) and v.is_integer())),
    "number": ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "table": ("a table", lambda v: isinstance(v, dict)),
    "list": ("a list", lambda v: isinstance(v, list)),
}

_MISSING = object()


class Table:
    """One TOML table being validated: `take` each known key, then `finish` reports the rest
    as unknown. Problems are collected, never raised one at a time."""

    def __init__(self, data: Mapping[str, Any], prefix: str, source: str, problems: list[str]) -> None:
        self.data, self.prefix, self.source, self.problems = data, prefix, source, problems
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def problem(self, name: str, text: str) -> None:
        self.problems.append(f"{self.source}: {self.key(name)}: {text}")

    def take(self, name: str, kind: str, *, default: Any = _MISSING,
             check: Callable[[Any], str | None] | None = None, secret: bool = False) -> Any:
        """The value of `name`, or `default` when absent (absent without a default is a
        problem). `check` returns an error text or None. Invalid values yield None. A
        `secret` value is never echoed in a message (it may be a clear PIN typed by mistake)."""
        self.seen.add(name)
        if name not in self.data:
            if default is _MISSING:
                self.problem(name, f"required, expected {_KINDS[kind][0]}")
                return None
            return default
        value = self.data[name]
        expected, accepts = _KINDS[kind]
        if not accepts(value):
            shown = f"a value of type {type(value).__name__} (not shown)" if secret else describe(value)
            self.problem(name, f"expected {expected}, got {shown}")
            return None
        if check is not None and (error := check(value)) is not None:
            self.problem(name, error)
            return None
        return float(value) if kind == "number" else int(value) if kind == "int" else value

    def table(self, name: str, *, required: bool = False) -> Table | None:
        value = self.take(name, "table", default=_MISSING if required else None)
        if value is None:
            return None
        return Table(value, self.key(name), self.source, self.problems)

    def finish(self) -> None:
        for name in self.data:
            if name not in self.seen:
                close = difflib.get_close_matches(name, sorted(self.seen), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                # A pushed key may hold anything: a line break in it would forge a second
                # problem line in the log and in the report to the dinas.
                shown = name if isinstance(name, str) and name.isprintable() and len(name) <= 60 else describe(name)
                self.problems.append(f"{self.source}: {self.key(shown)}: unknown key{hint}")


# --- checks (each returns the problem's text, or None) -------------------------------------

def in_range(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"expected a value from {low} to {high}, got {v}"


def non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def strings_from(allowed: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(values: list) -> str | None:
        wrong = [v for v in values if v not in allowed]
        if wrong:
            return f"expected a list of {', '.join(map(repr, allowed))}, got {describe(wrong[0])}"
        if len(set(values)) != len(values):
            return "lists a value twice"
        return None
    return check


def one_of(allowed: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in allowed else f"expected one of {', '.join(map(repr, allowed))}, got {v!r}"


# The same rule as help_url's pattern in config/settings-schema.json: printable ASCII only (the
# URL goes into the receipt's QR code as it is: no space, no line break, no IDN a phone may
# show otherwise), a host, and no [ ] (urlsplit refuses them outside an IPv6 literal, which no
# help page needs).
_WEB_URL = re.compile(r'https?://[!"$-.0->@-Z\\^-~]+([/?#][!-Z\\^-~]*)?')


def check_web_url(url: str) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).netloc if _WEB_URL.fullmatch(url) else ""
    except ValueError:              # urlsplit's own refusals, e.g. an unclosed [IPv6 host
        host = ""
    if not host:
        return f"expected an http(s):// URL or an empty string, got {describe(url)}"
    return None


def check_timezone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"expected an IANA time zone such as 'Asia/Jakarta', 'Asia/Makassar', 'Asia/Jayapura', got {name!r}"
    return None


# --- paths, relative to the folder that holds the config file ---------------------------------

def resolve_path(base: Path, text: str) -> Path:
    path = Path(os.path.expanduser(text))
    return path if path.is_absolute() else (base / path)


def readable_file(base: Path, what: str) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        path = resolve_path(base, text)
        if not path.is_file():
            return f"expected a path to an existing {what} file, {str(path)!r} does not exist"
        try:
            with path.open("rb") as handle:
                content = handle.read(1 << 20)
        except OSError as exc:
            return f"expected a readable {what} file, {str(path)!r} cannot be read ({exc.strerror})"
        if not content.strip():
            return f"expected a non-empty {what} file, {str(path)!r} is empty"
        return None
    return check
