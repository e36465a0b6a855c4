"""NIK (Nomor Induk Kependudukan) checks done at the kiosk before the dinas is asked.

A NIK is 16 digits: province (2), regency/city (2), district (2), date of birth as DDMMYY
with 40 added to the day for women, then a 4-digit serial that starts at 0001. The kiosk
can only check plausibility; the dinas is the authority. Each failure has its own reason so
the citizen is told what to fix, e.g. `nik.invalid.length`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from .logging_setup import mask_nik

__all__ = ["InvalidNik", "NikInfo", "check_nik", "mask_nik", "PROVINCE_CODES"]

# Province codes of the Kemendagri regional code list (Permendagri 58/2021 and the 2022 Papua
# provinces). A NIK issued anywhere in Indonesia starts with one of these.
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "16", "17", "18", "19", "21",
    "31", "32", "33", "34", "35", "36",
    "51", "52", "53",
    "61", "62", "63", "64", "65",
    "71", "72", "73", "74", "75", "76",
    "81", "82",
    "91", "92", "93", "94", "95", "96",
})


class InvalidNik(ValueError):
    """`reason` is one of: empty, length, digits, province, regency, district, birth_date,
    serial. The message key shown to the citizen is `nik.invalid.<reason>`."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"NIK rejected: {reason}")
        self.reason = reason

    @property
    def message_key(self) -> str:
        return f"nik.invalid.{self.reason}"


@dataclass(frozen=True)
class NikInfo:
    nik: str
    province: str
    birth_date: _dt.date
    female: bool

    @property
    def masked(self) -> str:
        return mask_nik(self.nik)


def check_nik(text: str, today: _dt.date | None = None) -> NikInfo:
    """Return the parsed NIK or raise InvalidNik with the first thing that is wrong.
    Spaces and dashes a citizen may type between groups are ignored."""
    nik = "".join(ch for ch in (text or "") if ch not in " -")
    if not nik:
        raise InvalidNik("empty")
    if not nik.isascii() or not nik.isdigit():
        raise InvalidNik("digits")
    if len(nik) != 16:
        raise InvalidNik("length")
    if nik[0:2] not in PROVINCE_CODES:
        raise InvalidNik("province")
    if nik[2:4] == "00":
        raise InvalidNik("regency")
    if nik[4:6] == "00":
        raise InvalidNik("district")
    if nik[12:16] == "0000":
        raise InvalidNik("serial")
    birth_date, female = _birth_date(nik[6:12], today or _dt.date.today())
    return NikInfo(nik=nik, province=nik[0:2], birth_date=birth_date, female=female)


def _birth_date(ddmmyy: str, today: _dt.date) -> tuple[_dt.date, bool]:
    day, month, year2 = int(ddmmyy[0:2]), int(ddmmyy[2:4]), int(ddmmyy[4:6])
    female = day > 40
    if female:
        day -= 40
    # Two-digit years: the latest century that does not put the birth in the future.
    for century in (2000, 1900):
        try:
            born = _dt.date(century + year2, month, day)
        except ValueError:
            continue
        if born <= today:
            return born, female
    raise InvalidNik("birth_date")
