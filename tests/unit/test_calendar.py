"""Paris calendar helpers behind R05 (age), R16 (12-month term) and every deadline."""
from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.calendar import add_months, age_on, paris_date, parse_iso, require_aware, utc_iso

days = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31))
month_counts = st.integers(min_value=-1200, max_value=1200)


# --- add_months (R16) --------------------------------------------------------------------------

@given(day=days, months=month_counts)
def test_R16_add_months_moves_exactly_that_many_calendar_months(day, months):
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months


@given(day=days, months=month_counts)
def test_R16_add_months_never_moves_to_a_later_day_of_month(day, months):
    assert add_months(day, months).day <= day.day


@given(day=days, months=month_counts)
def test_R16_add_months_keeps_the_day_or_clamps_to_the_last_day_of_the_month(day, months):
    result = add_months(day, months)
    last_day = stdlib_calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(day.day, last_day)


@given(day=days, months=st.integers(min_value=0, max_value=1200))
def test_R16_days_up_to_28_survive_any_month_arithmetic(day, months):
    if day.day <= 28:
        assert add_months(day, months).day == day.day


@given(day=days)
def test_R16_adding_zero_months_is_the_same_day(day):
    assert add_months(day, 0) == day


@pytest.mark.parametrize("start, months, expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),   # leap year
    (date(2026, 3, 31), 1, date(2026, 4, 30)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),  # year boundary
    (date(2026, 11, 27), 12, date(2027, 11, 27)),
    (date(2028, 2, 29), 12, date(2029, 2, 28)),
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 1, 15), -1, date(2025, 12, 15)),
    (date(2026, 12, 31), 0, date(2026, 12, 31)),
])
def test_R16_add_months_examples(start, months, expected):
    assert add_months(start, months) == expected


# --- age_on (R05) ------------------------------------------------------------------------------

def test_R05_the_day_before_the_18th_birthday_the_person_is_17():
    assert age_on(date(2008, 11, 28), date(2026, 11, 27)) == 17


def test_R05_on_the_18th_birthday_the_person_is_18():
    assert age_on(date(2008, 11, 27), date(2026, 11, 27)) == 18


def test_R05_born_29_february_is_18_on_1_march_of_a_common_year():
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_R05_born_29_february_ages_on_1_march_in_common_years_and_on_29_february_in_leap_years():
    assert age_on(date(2012, 2, 29), date(2030, 2, 28)) == 17  # the safe side: not yet of age
    assert age_on(date(2012, 2, 29), date(2030, 3, 1)) == 18
    assert age_on(date(2012, 2, 29), date(2032, 2, 28)) == 19
    assert age_on(date(2012, 2, 29), date(2032, 2, 29)) == 20


@given(birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
       years=st.integers(min_value=1, max_value=99))
def test_R05_age_increases_exactly_on_the_birthday(birth, years):
    if birth.month == 2 and birth.day == 29:
        birth = birth - timedelta(days=1)
    birthday = birth.replace(year=birth.year + years)
    assert age_on(birth, birthday) == years
    assert age_on(birth, birthday - timedelta(days=1)) == years - 1


@given(birth=days, a=days, b=days)
def test_R05_age_never_decreases_with_time(birth, a, b):
    earlier, later = sorted((a, b))
    assert age_on(birth, earlier) <= age_on(birth, later)


# --- paris_date and aware datetimes ------------------------------------------------------------

def test_an_instant_at_2330_utc_on_30_june_is_1_july_in_paris():
    assert paris_date(datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)) == date(2026, 7, 1)


def test_an_instant_at_2130_utc_on_30_june_is_still_30_june_in_paris():
    assert paris_date(datetime(2026, 6, 30, 21, 30, tzinfo=timezone.utc)) == date(2026, 6, 30)


def test_in_winter_paris_is_one_hour_ahead_of_utc():
    assert paris_date(datetime(2026, 12, 31, 22, 59, tzinfo=timezone.utc)) == date(2026, 12, 31)
    assert paris_date(datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)) == date(2027, 1, 1)


def test_paris_date_accepts_any_zone():
    new_york = ZoneInfo("America/New_York")
    # 20:00 in New York on 30 June is 02:00 on 1 July in Paris.
    assert paris_date(datetime(2026, 6, 30, 20, 0, tzinfo=new_york)) == date(2026, 7, 1)


def test_naive_datetime_is_refused_by_paris_date():
    with pytest.raises(ValueError):
        paris_date(datetime(2026, 6, 30, 23, 30))


def test_naive_datetime_is_refused_everywhere():
    with pytest.raises(ValueError):
        require_aware(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        utc_iso(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        parse_iso("2026-01-01T10:00:00")


def test_utc_iso_round_trips_through_parse_iso():
    moment = datetime(2026, 6, 30, 23, 30, 12, 345000, tzinfo=timezone.utc)
    text = utc_iso(moment)
    assert text.endswith("+00:00")
    assert parse_iso(text) == moment
