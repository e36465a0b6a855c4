"""Fuzz the NIK parser (kiosk.nik.check_nik), which every typed NIK goes through.

Kept corpus (corpus/nik/): typed texts, one per file (UTF-8), among them a woman born on the
31st (day 71), 29 February, other scripts' digits and the refusals of each reason.

Properties: any text is a NikInfo or an InvalidNik with a documented reason, never another
exception; every well-formed NIK (any province, any real birth day in the last 100 years,
men and women, any serial) is accepted with its own birth date and sex; spaces and dashes
typed between digits change nothing; the masked form shows only the first 6 and last 4.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import example, given, strategies as st

from kiosk.nik import PROVINCE_CODES, InvalidNik, NikInfo, check_nik

from .corpus import budget, seeds, with_seeds

TODAY = date(2026, 12, 2)
REASONS = {"empty", "length", "digits", "province", "regency", "district", "birth_date", "serial"}
DIGIT_TEXT = st.text(st.sampled_from("0123456789 -"), max_size=22)


@budget(200)
@with_seeds([raw.decode("utf-8") for raw in seeds("nik")])
@given(st.one_of(st.text(max_size=24), DIGIT_TEXT,
                 st.sampled_from(sorted(PROVINCE_CODES)).flatmap(lambda p: st.text("0123456789", min_size=14,
                                                                                   max_size=14).map(p.__add__))))
def test_any_text_is_a_nik_or_a_reason(text: str) -> None:
    try:
        info = check_nik(text, today=TODAY)
    except InvalidNik as refused:
        assert refused.reason in REASONS and refused.message_key == f"nik.invalid.{refused.reason}"
        assert not any(ch.isdigit() for ch in str(refused))          # no digit of the NIK in logs
        return
    digits = info.nik
    assert len(digits) == 16 and digits.isascii() and digits.isdigit()
    assert digits == "".join(ch for ch in text if ch not in " -")
    assert info.birth_date <= TODAY and info.province == digits[:2] in PROVINCE_CODES
    day = int(digits[6:8])
    assert info.female == (day > 40) and info.birth_date.day == day - (40 if info.female else 0)
    assert info.masked == digits[:6] + "******" + digits[12:]


@st.composite
def well_formed(draw) -> tuple[str, date, bool]:
    born = draw(st.dates(TODAY - timedelta(days=36_524), TODAY))
    female = draw(st.booleans())
    nik = (draw(st.sampled_from(sorted(PROVINCE_CODES))) + f"{draw(st.integers(1, 99)):02d}"
           + f"{draw(st.integers(1, 99)):02d}" + f"{born.day + (40 if female else 0):02d}{born:%m}"
           + f"{born.year % 100:02d}" + f"{draw(st.integers(1, 9999)):04d}")
    return nik, born, female


@budget(200)
@example(("3201017112990001", date(1999, 12, 31), True), [])        # a woman born on the 31st
@example(("3201016902000001", date(2000, 2, 29), True), [(4, "-")])
@given(well_formed(), st.lists(st.tuples(st.integers(0, 16), st.sampled_from([" ", "-", "  ", " - "])), max_size=4))
def test_every_well_formed_nik_is_accepted_with_its_birth_date(case, separators) -> None:
    nik, born, female = case
    typed = nik
    for where, separator in sorted(separators, reverse=True):
        typed = typed[:where] + separator + typed[where:]
    info = check_nik(typed, today=TODAY)
    assert info == NikInfo(nik, nik[:2], born, female)
