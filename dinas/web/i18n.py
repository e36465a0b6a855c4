"""The fleet page's words, in Bahasa Indonesia and English, from
dinas/web/locale/<lang>/LC_MESSAGES/fleet.po (read with Babel at start; no compile step that
could leave a stale .mo beside an edited .po), and its dates and durations, formatted by
Babel's locale data in the dinas's own time zone.

Message ids are stable keys ("fleet.offline"); a key missing from a catalogue shows as
`[[key]]`, so a test that reads the page finds it. Device roles, states, supplies and fault
codes come from the kiosks as open strings: one without a catalogue entry shows as it came.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from babel.dates import format_date, format_datetime, format_timedelta
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "fleet"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
MISSING_MARK = "[[{}]]"
DATETIME_PATTERN = {"id": "d MMM y HH.mm", "en": "d MMM y HH:mm"}


def load_catalogue(language: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {message.id: message.string for message in catalog if message.id and message.string}


class Words:
    """One language's words and formats, for one request."""

    def __init__(self, catalogue: dict[str, str], language: str, utc_offset_minutes: int, zone_label: str) -> None:
        self._catalogue = catalogue
        self.language = language
        self._zone = timezone(timedelta(minutes=utc_offset_minutes))
        self._zone_label = zone_label

    def __call__(self, key: str, **params: object) -> str:
        template = self._catalogue.get(key)
        if template is None:
            return MISSING_MARK.format(key)
        return template.format(**params) if params else template

    def open_word(self, prefix: str, code: str) -> str:
        """The word for a code the kiosks send (a role, a state, a fault): the code itself
        when the catalogue does not know it."""
        return self._catalogue.get(f"{prefix}.{code}", code)

    def moment(self, timestamp: float) -> str:
        local = datetime.fromtimestamp(timestamp, self._zone)
        return f"{format_datetime(local, DATETIME_PATTERN[self.language], locale=self.language)} {self._zone_label}"

    def ago(self, seconds: float) -> str:
        return format_timedelta(timedelta(seconds=-max(seconds, 0.0)), add_direction=True, threshold=1.5,
                                locale=self.language)

    def duration(self, seconds: float) -> str:
        return format_timedelta(timedelta(seconds=seconds), threshold=1.5, locale=self.language)

    def day(self, day: date) -> str:
        return format_date(day, "EEE d MMM", locale=self.language)

    def local_date(self, timestamp: float) -> datetime:
        return datetime.fromtimestamp(timestamp, self._zone)


class Translations:
    """Every catalogue, loaded once per app."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self.catalogues = {language: load_catalogue(language, locale_dir) for language in LANGUAGES}

    def words(self, language: str, utc_offset_minutes: int, zone_label: str) -> Words:
        if language not in self.catalogues:
            language = DEFAULT_LANGUAGE
        return Words(self.catalogues[language], language, utc_offset_minutes, zone_label)
