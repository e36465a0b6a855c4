"""Translations: every word the citizen sees comes from ui/locale/<lang>/LC_MESSAGES/adm.po.

Why the .po files are parsed at start instead of compiled to .mo: the catalogue is small (a
few hundred strings), parsing takes about a millisecond, and there is then no build step that
could leave a stale .mo beside an edited .po. The parsed catalogue is served through Python's
`gettext.NullTranslations` interface, so the rest of the code speaks plain gettext.

Message ids are stable keys ("identify.title"), not English sentences: the core sends keys
too (`Message.key`), and a key that is missing from a catalogue is rendered visibly as
`[[key]]`, so a test that looks at the screen finds it.
"""

from __future__ import annotations

import ast
import gettext
import logging
from pathlib import Path
from typing import Any, Mapping

from kiosk.document_kinds import kind_brief, kind_label

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "adm"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
MISSING_MARK = "[[{}]]"


class PoSyntaxError(ValueError):
    pass


def parse_po(text: str, source: str = "<po>") -> dict[str, str]:
    """msgid -> msgstr for every entry with a non-empty msgstr (the header entry skipped).

    Supports what our catalogues use: comments, msgctxt-free entries, multi-line strings
    made of consecutive quoted lines. Anything else is a clear error with its line number."""
    catalogue: dict[str, str] = {}
    current: dict[str, str] = {}
    field_name: str | None = None

    def flush() -> None:
        msgid = current.get("msgid")
        if msgid is not None and msgid != "" and current.get("msgstr"):
            if msgid in catalogue:
                raise PoSyntaxError(f"{source}: duplicate msgid {msgid!r}")
            catalogue[msgid] = current["msgstr"]
        current.clear()

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            if not line:
                flush()
                field_name = None
            continue
        if line.startswith('"'):
            if field_name is None:
                raise PoSyntaxError(f"{source}:{number}: continuation line outside an entry")
            current[field_name] += _unquote(line, source, number)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword not in ("msgid", "msgstr"):
            raise PoSyntaxError(f"{source}:{number}: unsupported keyword {keyword!r}")
        if keyword == "msgid" and "msgid" in current:
            flush()
        field_name = keyword
        current[keyword] = _unquote(rest.strip(), source, number)
    flush()
    return catalogue


def _unquote(token: str, source: str, number: int) -> str:
    if len(token) < 2 or not (token.startswith('"') and token.endswith('"')):
        raise PoSyntaxError(f"{source}:{number}: expected a quoted string, got {token!r}")
    try:
        return ast.literal_eval(token)
    except (SyntaxError, ValueError) as exc:
        raise PoSyntaxError(f"{source}:{number}: bad string {token!r}: {exc}") from None


class PoTranslations(gettext.NullTranslations):
    """A gettext translations object over a parsed .po catalogue."""

    def __init__(self, catalogue: Mapping[str, str], language: str):
        super().__init__()
        self._catalogue = dict(catalogue)
        self.language = language

    def gettext(self, message: str) -> str:
        return self._catalogue.get(message, MISSING_MARK.format(message))

    def has(self, key: str) -> bool:
        return key in self._catalogue

    def keys(self) -> frozenset[str]:
        return frozenset(self._catalogue)


def load_catalogue(language: str, locale_dir: Path = LOCALE_DIR) -> PoTranslations:
    path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    return PoTranslations(parse_po(path.read_text(encoding="utf-8"), str(path)), language)


class _SafeParams(dict):
    """Unknown format fields stay visible instead of raising in the middle of a frame."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Translator:
    """All catalogues, loaded once; `text(key, language, **params)` is the one lookup."""

    def __init__(self, locale_dir: Path = LOCALE_DIR, languages: tuple[str, ...] = LANGUAGES):
        self.catalogues = {lang: load_catalogue(lang, locale_dir) for lang in languages}

    def has(self, key: str, language: str) -> bool:
        catalogue = self.catalogues.get(language) or self.catalogues[DEFAULT_LANGUAGE]
        return catalogue.has(key)

    def text(self, key: str, language: str, **params: Any) -> str:
        catalogue = self.catalogues.get(language) or self.catalogues[DEFAULT_LANGUAGE]
        template = catalogue.gettext(key)
        if not params:
            return template
        return template.format_map(_SafeParams({k: str(v) for k, v in params.items()}))


_translator: Translator | None = None


def translator() -> Translator:
    global _translator
    if _translator is None:
        _translator = Translator()
    return _translator


def _(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The lookup the .kv files use: `_("attract.start", app.lang)`. Passing the language makes
    Kivy re-evaluate the rule when `app.lang` changes."""
    return translator().text(key, language, **params)


# Parameters whose values are codes (KIA, card_printer, cover_open) rather than text: they
# are translated through "<name>.<value>" keys before they are put into the sentence.
CODED_PARAMS = ("role", "fault", "media", "day")


def kind_text(kind: str, language: str) -> str:
    """A document kind as the citizen reads it: its name from the registry (kiosk), never
    from a list of the UI's own, so a new kind needs no catalogue entry."""
    return kind_label(kind, language)


def kind_brief_text(kind: str, language: str) -> str:
    """A document kind by its shortest name ('KK', 'Akta Kelahiran'), for short sentences."""
    return kind_brief(kind, language)


def contact_text(contact: str, language: str) -> str:
    """How to reach the dinas (`settings.dinas_contact`, its name and phone number), or
    the office's name when none is configured: the `{contact}` of every message."""
    return contact.strip() or translator().text("contact.fallback", language)


def message_params(message: Any, language: str, contact: str = "") -> dict[str, Any]:
    params = dict(message.params)
    if params.get("kind") is not None:
        params["kind"] = kind_text(params["kind"], language)
    for name in CODED_PARAMS:
        if name in params and params[name] is not None:
            params[name] = translator().text(f"{name}.{params[name]}", language)
    params.setdefault("contact", contact_text(contact, language))
    return params


def message_text(message: Any, language: str, contact: str = "") -> str:
    """A core `Message` (key + params) in the citizen's language; empty for no message.
    `contact` is the view's `dinas_contact`, for the messages whose next step is to call."""
    if message is None:
        return ""
    return translator().text(message.key, language, **message_params(message, language, contact))


def spoken_key(key: str, language: str) -> str:
    """The key of what is said aloud for `key`: its own "speak.<key>" when the written text
    cannot be read aloud (a masked NIK, a code), else the written text itself."""
    own = f"speak.{key}"
    return own if translator().has(own, language) else key


def spoken_message(message: Any, language: str, contact: str = "") -> str:
    if message is None:
        return ""
    return translator().text(spoken_key(message.key, language), language,
                             **message_params(message, language, contact))


def failure_reason(message: Any, language: str) -> str:
    """Why a print failed (`print.failed.<reason>`): a dinas or kiosk reason with its own key,
    or a device fault code, which has its `fault.<code>` key."""
    reason = message.key.removeprefix("print.failed.")
    found = next((key for key in (message.key, f"fault.{reason}") if translator().has(key, language)),
                 message.key)
    return translator().text(found, language)


def failure_text(message: Any, language: str) -> str:
    """"Failed: <reason>" for a step that failed; empty for no message."""
    if message is None:
        return ""
    return translator().text("print.failed", language, reason=failure_reason(message, language))
