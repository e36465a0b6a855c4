import datetime as dt

import pytest

from kiosk.nik import InvalidNik, check_nik, mask_nik

TODAY = dt.date(2026, 11, 22)


def test_a_womans_nik_parses_with_the_plus_forty_rule():
    info = check_nik("3201014501900003", today=TODAY)
    assert info.female and info.birth_date == dt.date(1990, 1, 5) and info.province == "32"
    assert info.masked == "320101******0003"


def test_a_mans_nik_and_a_recent_birth_year():
    info = check_nik("3174051208150001", today=TODAY)
    assert not info.female and info.birth_date == dt.date(2015, 8, 12)


def test_spaces_and_dashes_between_groups_are_ignored():
    assert check_nik("3201 0145 0190 0003", today=TODAY).nik == "3201014501900003"


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("   ", "empty"),
    ("32010145019000", "length"),
    ("32010145019000031", "length"),
    ("320101450190000A", "digits"),
    ("3201014501900X003", "digits"),              # only spaces and dashes are dropped, nothing else
    ("３２０１０１４５０１９０００03", "digits"),     # full-width digits are not ASCII
    ("9901014501900003", "province"),
    ("0001014501900003", "province"),
    ("3200014501900003", "regency"),
    ("3201004501900003", "district"),
    ("3201013201900003", "birth_date"),           # day 32
    ("3201017201900003", "birth_date"),           # day 72 (a woman's 32)
    ("3201010001900003", "birth_date"),           # day 0
    ("3201011513900003", "birth_date"),           # month 13
    ("3201013002900003", "birth_date"),           # 30 February
    ("3201014501900000", "serial"),
])
def test_each_bad_nik_has_its_own_reason(text, reason):
    with pytest.raises(InvalidNik) as caught:
        check_nik(text, today=TODAY)
    assert caught.value.reason == reason
    assert caught.value.message_key == f"nik.invalid.{reason}"
    assert str(caught.value) == f"NIK rejected: {reason}"        # what a log line may say: never the NIK


def test_a_birth_date_later_today_in_this_century_is_read_as_last_century():
    # 01-12-26 is after 22-11-2026, so the NIK means 1926, which is plausible.
    assert check_nik("3201010112260001", today=TODAY).birth_date == dt.date(1926, 12, 1)


def test_a_birth_today_is_this_century():
    assert check_nik("3201012211260001", today=TODAY).birth_date == TODAY


def test_mask_nik_is_reexported_for_the_core():
    assert mask_nik("nik 3201014501900003") == "nik 320101******0003"


# --- the day of birth at the edges of the month (issue 13: a woman born on the 31st) ---------

@pytest.mark.parametrize("ddmmyy, born, female", [
    ("310190", dt.date(1990, 1, 31), False),
    ("710190", dt.date(1990, 1, 31), True),      # a woman born on the 31st: 31 + 40
    ("711290", dt.date(1990, 12, 31), True),
    ("410190", dt.date(1990, 1, 1), True),       # the first day a woman's NIK can carry
    ("700490", dt.date(1990, 4, 30), True),      # the last day of a 30-day month
    ("290200", dt.date(2000, 2, 29), False),     # 2000 was a leap year
    ("690296", dt.date(1996, 2, 29), True),
    ("690200", dt.date(2000, 2, 29), True),
    ("280201", dt.date(2001, 2, 28), False),
    ("680201", dt.date(2001, 2, 28), True),
])
def test_the_last_days_of_a_month_are_accepted_for_men_and_women(ddmmyy, born, female):
    info = check_nik(f"320101{ddmmyy}0003", today=TODAY)
    assert (info.birth_date, info.female) == (born, female)


@pytest.mark.parametrize("ddmmyy", [
    "720190",    # a woman's 32 January
    "710490",    # a woman's 31 April
    "310490",    # a man's 31 April
    "290201",    # 29 February 2001 (and 1901): not leap years
    "690201",    # the same for a woman
    "690290",    # 29 February 1990
    "300200",    # 30 February, even in a leap year
    "700200",
    "400190",    # day 40: neither a man's day nor a woman's (40 - 40 = 0)
    "800190",    # day 80
])
def test_a_day_past_the_end_of_its_month_is_rejected(ddmmyy):
    with pytest.raises(InvalidNik) as caught:
        check_nik(f"320101{ddmmyy}0003", today=TODAY)
    assert caught.value.reason == "birth_date"
