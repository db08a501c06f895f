"""French calendar rules: business days (Time), withdrawal window (R13), support deadline (R43),
late penalties (R24)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, localcontext
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.domain.calendar import (
    PARIS,
    add_business_hours,
    is_business_day,
    is_public_holiday,
    late_penalty_cents,
    next_business_day,
    withdrawal_deadline,
    withdrawal_open,
)

UTC = timezone.utc
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 1))
zones = st.sampled_from([UTC, PARIS, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")])
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 11, 30), timezones=zones
)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


# --- business days (Time paragraph) ------------------------------------------------------------

METROPOLITAN_HOLIDAYS_2026 = {
    date(2026, 1, 1): "Jour de l'an",
    date(2026, 4, 6): "Easter Monday",
    date(2026, 5, 1): "1 May",
    date(2026, 5, 8): "8 May",
    date(2026, 5, 14): "Ascension",
    date(2026, 5, 25): "Whit Monday",
    date(2026, 7, 14): "14 July",
    date(2026, 8, 15): "15 August",
    date(2026, 11, 1): "1 November",
    date(2026, 11, 11): "11 November",
    date(2026, 12, 25): "Christmas",
}


@pytest.mark.parametrize("day", sorted(METROPOLITAN_HOLIDAYS_2026), ids=str)
def test_Time_every_metropolitan_holiday_is_a_public_holiday_and_not_a_business_day(day):
    assert is_public_holiday(day)
    assert not is_business_day(day)


def test_Time_the_2026_holiday_list_is_exactly_the_metropolitan_one():
    year = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    assert {d for d in year if is_public_holiday(d)} == set(METROPOLITAN_HOLIDAYS_2026)


@pytest.mark.parametrize(
    "day",
    [date(2026, 4, 3), date(2025, 12, 26), date(2028, 4, 14), date(2030, 12, 26)],
    ids=["good-friday-2026", "st-stephen-2025", "good-friday-2028", "st-stephen-2030"],
)
def test_Time_alsace_moselle_only_days_are_business_days(day):
    assert day.weekday() < 5
    assert not is_public_holiday(day)
    assert is_business_day(day)


@pytest.mark.parametrize("year", [2005, 2006, 2007, 2008, 2026, 2028, 2099])
def test_Time_whit_monday_is_a_holiday_every_year_even_during_the_solidarity_day_years(year):
    # 2005-2007: the `holidays` package drops Whit Monday (loi 2004-626); the rules keep it.
    whit_mondays = {2005: date(2005, 5, 16), 2006: date(2006, 6, 5), 2007: date(2007, 5, 28),
                    2008: date(2008, 5, 12), 2026: date(2026, 5, 25), 2028: date(2028, 6, 5),
                    2099: date(2099, 6, 1)}
    assert not is_business_day(whit_mondays[year])


def test_Time_weekends_are_not_business_days_and_plain_weekdays_are():
    assert not is_business_day(date(2026, 6, 6))  # Saturday
    assert not is_business_day(date(2026, 6, 7))  # Sunday
    assert is_business_day(date(2026, 6, 8))  # Monday
    assert is_business_day(date(2028, 2, 29))  # leap day, a Tuesday


def test_Time_a_datetime_is_refused_rather_than_silently_missing_holidays():
    with pytest.raises(TypeError):
        is_business_day(datetime(2026, 7, 14, 12, tzinfo=PARIS))


def test_Time_years_the_holiday_calendar_does_not_cover_are_refused():
    with pytest.raises(ValueError):
        is_business_day(date(2101, 7, 14))


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 6, 8), date(2026, 6, 8)),  # a business day is its own next business day
        (date(2026, 6, 6), date(2026, 6, 8)),  # Saturday -> Monday
        (date(2026, 4, 4), date(2026, 4, 7)),  # Saturday before Easter Monday -> Tuesday
        (date(2026, 5, 23), date(2026, 5, 26)),  # Saturday before Whit Monday -> Tuesday
        (date(2026, 12, 25), date(2026, 12, 28)),  # Christmas Friday -> Monday
        (date(2026, 12, 31), date(2026, 12, 31)),
        (date(2027, 1, 1), date(2027, 1, 4)),  # New Year Friday -> Monday
        (date(2043, 5, 7), date(2043, 5, 11)),  # Ascension 7 May + 8 May + weekend: 4 days
    ],
    ids=str,
)
def test_Time_next_business_day_examples(day, expected):
    assert next_business_day(day) == expected


@given(day=days)
def test_Time_next_business_day_is_the_first_business_day_on_or_after(day):
    result = next_business_day(day)
    assert result >= day
    assert is_business_day(result)
    assert all(not is_business_day(day + timedelta(days=n)) for n in range((result - day).days))
    # at worst Ascension on Thursday 7 May, then 8 May, Saturday, Sunday (2043, 2054, 2065)
    assert (result - day).days <= 4


# --- R13 withdrawal window ---------------------------------------------------------------------

R13_EXAMPLES = [
    # (validated_at, deadline: first instant at which withdrawal is refused)
    pytest.param(paris(2026, 6, 5, 10), paris(2026, 6, 23), id="friday-day15-saturday-end-of-monday"),
    pytest.param(paris(2026, 3, 13, 10), paris(2026, 3, 31), id="friday-day15-saturday-across-march-dst"),
    pytest.param(paris(2026, 6, 10, 10), paris(2026, 6, 26), id="plain-weekday-no-shift"),
    pytest.param(paris(2026, 6, 29, 10), paris(2026, 7, 16), id="day15-is-14-july"),
    pytest.param(paris(2026, 3, 21, 10), paris(2026, 4, 8), id="day15-sunday-before-easter-monday"),
    pytest.param(paris(2026, 3, 22, 10), paris(2026, 4, 8), id="day15-is-easter-monday"),
    pytest.param(paris(2026, 5, 9, 10), paris(2026, 5, 27), id="day15-sunday-before-whit-monday"),
    pytest.param(paris(2006, 5, 20, 10), paris(2006, 6, 7), id="whit-monday-2006-still-a-holiday"),
    pytest.param(paris(2026, 4, 29, 10), paris(2026, 5, 16), id="day15-is-ascension"),
    pytest.param(paris(2043, 4, 22, 10), paris(2043, 5, 12), id="day15-ascension-7-may-then-8-may-4-days-later"),
    pytest.param(paris(2026, 4, 16, 10), paris(2026, 5, 5), id="day15-is-1-may-friday"),
    pytest.param(paris(2026, 4, 23, 10), paris(2026, 5, 12), id="day15-is-8-may-friday"),
    pytest.param(paris(2026, 7, 31, 10), paris(2026, 8, 18), id="day15-is-15-august-saturday"),
    pytest.param(paris(2026, 10, 17, 10), paris(2026, 11, 3), id="day15-is-1-november-sunday"),
    pytest.param(paris(2026, 10, 27, 10), paris(2026, 11, 13), id="day15-is-11-november"),
    pytest.param(paris(2026, 12, 10, 10), paris(2026, 12, 29), id="day15-is-christmas-friday"),
    pytest.param(paris(2026, 12, 17, 10), paris(2027, 1, 5), id="day15-is-1-january-friday"),
    pytest.param(paris(2028, 2, 14, 10), paris(2028, 3, 1), id="day15-is-29-february-2028"),
    pytest.param(paris(2028, 2, 29, 10), paris(2028, 3, 16), id="validated-29-february-2028"),
    pytest.param(paris(2026, 3, 19, 10), paris(2026, 4, 4), id="day15-good-friday-is-not-a-holiday"),
    pytest.param(paris(2025, 12, 11, 10), paris(2025, 12, 27), id="day15-st-stephen-is-not-a-holiday"),
    pytest.param(paris(2026, 1, 31, 23, 30), paris(2026, 2, 17), id="2330-paris-on-31-january"),
    pytest.param(paris(2026, 6, 30, 23, 30), paris(2026, 7, 16), id="2330-paris-on-30-june"),
    pytest.param(datetime(2026, 6, 30, 21, 30, tzinfo=UTC), paris(2026, 7, 16), id="2330-paris-given-in-utc"),
    pytest.param(datetime(2026, 6, 30, 22, 30, tzinfo=UTC), paris(2026, 7, 17), id="utc-30-june-is-1-july-in-paris"),
    pytest.param(paris(2026, 10, 10, 10), paris(2026, 10, 27), id="day15-is-october-dst-sunday"),
    pytest.param(paris(2026, 10, 24, 23, 30), paris(2026, 11, 10), id="validated-night-before-october-dst"),
]


@pytest.mark.parametrize("validated_at, expected", R13_EXAMPLES)
def test_R13_withdrawal_deadline_examples(validated_at, expected):
    deadline = withdrawal_deadline(validated_at)
    assert deadline == expected
    assert deadline.tzinfo is not None
    assert deadline.astimezone(PARIS).utcoffset() == expected.utcoffset()  # same wall-clock 00:00


@pytest.mark.parametrize("validated_at, expected", R13_EXAMPLES)
def test_R13_withdrawal_open_until_the_exclusive_end(validated_at, expected):
    assert withdrawal_open(validated_at, validated_at)
    assert withdrawal_open(validated_at, expected - timedelta(microseconds=1))
    assert not withdrawal_open(validated_at, expected)
    assert not withdrawal_open(validated_at, validated_at - timedelta(seconds=1))


def test_R13_march_dst_deadline_is_paris_midnight_in_summer_time():
    assert withdrawal_deadline(paris(2026, 3, 13, 10)) == datetime(2026, 3, 30, 22, 0, tzinfo=UTC)


def test_R13_naive_validation_is_refused():
    with pytest.raises(ValueError):
        withdrawal_deadline(datetime(2026, 6, 5, 10))


@given(validated_at=instants)
def test_R13_deadline_is_always_0000_paris_and_zone_aware(validated_at):
    deadline = withdrawal_deadline(validated_at)
    assert deadline.utcoffset() is not None
    assert deadline.astimezone(PARIS).time() == time(0)


@given(validated_at=instants)
def test_R13_deadline_leaves_at_least_15_full_days_after_the_validation_day(validated_at):
    validation_day = validated_at.astimezone(PARIS).date()
    deadline_day = withdrawal_deadline(validated_at).astimezone(PARIS).date()
    assert deadline_day >= validation_day + timedelta(days=16)
    # so more than 15 days of real time after the validation instant, give or take a DST hour
    assert withdrawal_deadline(validated_at) - validated_at > timedelta(days=15, hours=-1)


@given(validated_at=instants)
def test_R13_the_last_day_of_the_window_is_a_business_day(validated_at):
    last_day = withdrawal_deadline(validated_at).astimezone(PARIS).date() - timedelta(days=1)
    assert is_business_day(last_day)


@given(validated_at=instants)
def test_R13_the_window_is_only_extended_over_non_business_days(validated_at):
    validation_day = validated_at.astimezone(PARIS).date()
    plain_last_day = validation_day + timedelta(days=15)
    last_day = withdrawal_deadline(validated_at).astimezone(PARIS).date() - timedelta(days=1)
    extension = (last_day - plain_last_day).days
    assert 0 <= extension <= 4
    assert all(not is_business_day(plain_last_day + timedelta(days=n)) for n in range(extension))


@given(first=instants, second=instants)
def test_R13_a_later_validation_never_gets_an_earlier_deadline(first, second):
    if second < first:
        first, second = second, first
    assert withdrawal_deadline(first) <= withdrawal_deadline(second)


@given(validated_at=instants, offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=25)))
def test_R13_withdrawal_open_iff_before_the_deadline(validated_at, offset):
    at = validated_at + offset
    assert withdrawal_open(validated_at, at) == (at < withdrawal_deadline(validated_at))


# --- R43 support deadline in business hours ----------------------------------------------------

def business_time_between(start: datetime, end: datetime) -> timedelta:
    """Independent oracle: real (UTC) duration of 09:00-17:00 Paris business time in [start, end)."""
    total = timedelta(0)
    day = start.astimezone(PARIS).date()
    while day <= end.astimezone(PARIS).date():
        if is_business_day(day):
            opening = datetime.combine(day, time(9), tzinfo=PARIS).astimezone(UTC)
            closing = datetime.combine(day, time(17), tzinfo=PARIS).astimezone(UTC)
            low, high = max(opening, start.astimezone(UTC)), min(closing, end.astimezone(UTC))
            total += max(timedelta(0), high - low)
        day += timedelta(days=1)
    return total


R43_EXAMPLES = [
    pytest.param(paris(2026, 6, 5, 16), 48, paris(2026, 6, 15, 16), id="48h-from-friday-1600"),
    pytest.param(paris(2026, 6, 8, 9), 48, paris(2026, 6, 15, 17), id="48h-from-monday-opening-ends-at-closing"),
    pytest.param(paris(2026, 6, 6, 11), 48, paris(2026, 6, 15, 17), id="48h-from-saturday-starts-monday"),
    pytest.param(paris(2026, 6, 8, 7, 45), 48, paris(2026, 6, 15, 17), id="before-opening-starts-at-0900"),
    pytest.param(paris(2026, 6, 8, 17), 1, paris(2026, 6, 9, 10), id="at-1700-starts-next-morning"),
    pytest.param(paris(2026, 6, 8, 19, 30), 1, paris(2026, 6, 9, 10), id="evening-starts-next-morning"),
    pytest.param(paris(2026, 6, 8, 10, 37, 12), 8, paris(2026, 6, 9, 10, 37, 12), id="minutes-kept"),
    pytest.param(paris(2026, 6, 8, 16), 1, paris(2026, 6, 8, 17), id="ends-exactly-at-closing"),
    pytest.param(paris(2026, 3, 27, 16), 48, paris(2026, 4, 7, 16), id="march-dst-and-easter-monday"),
    pytest.param(paris(2026, 10, 23, 16), 48, paris(2026, 11, 2, 16), id="october-dst-and-1-november-sunday"),
    pytest.param(paris(2026, 5, 13, 16), 48, paris(2026, 5, 22, 16), id="across-ascension"),
    pytest.param(paris(2026, 5, 22, 16), 9, paris(2026, 5, 26, 17), id="across-whit-monday"),
    pytest.param(paris(2026, 7, 13, 16), 2, paris(2026, 7, 15, 10), id="across-14-july"),
    pytest.param(paris(2026, 12, 24, 16), 2, paris(2026, 12, 28, 10), id="across-christmas"),
    pytest.param(paris(2026, 4, 2, 16), 2, paris(2026, 4, 3, 10), id="good-friday-counts"),
    pytest.param(paris(2028, 2, 28, 16), 9, paris(2028, 2, 29, 17), id="leap-day-counts"),
    pytest.param(datetime(2026, 6, 5, 14, tzinfo=UTC), 48, paris(2026, 6, 15, 16), id="utc-input"),
    pytest.param(paris(2026, 6, 8, 11), 0, paris(2026, 6, 8, 11), id="zero-in-hours"),
    pytest.param(paris(2026, 6, 8, 17), 0, paris(2026, 6, 8, 17), id="zero-at-closing"),
    pytest.param(paris(2026, 6, 6, 11), 0, paris(2026, 6, 8, 9), id="zero-on-saturday-is-next-opening"),
]


@pytest.mark.parametrize("start, hours, expected", R43_EXAMPLES)
def test_R43_business_hours_examples(start, hours, expected):
    result = add_business_hours(start, hours)
    assert result == expected
    assert result.utcoffset() == expected.utcoffset()  # zone-aware, Paris wall clock


def test_R43_march_dst_result_is_in_summer_time_and_not_off_by_an_hour():
    result = add_business_hours(paris(2026, 3, 27, 16), 48)
    assert result.utcoffset() == timedelta(hours=2)
    assert result.astimezone(UTC) == datetime(2026, 4, 7, 14, tzinfo=UTC)


def test_R43_rejects_naive_negative_and_non_int():
    with pytest.raises(ValueError):
        add_business_hours(datetime(2026, 6, 8, 10), 1)
    with pytest.raises(ValueError):
        add_business_hours(paris(2026, 6, 8, 10), -1)
    with pytest.raises(TypeError):
        add_business_hours(paris(2026, 6, 8, 10), 1.5)


hour_counts = st.integers(min_value=0, max_value=200)


@given(start=instants, hours=hour_counts)
def test_R43_result_is_within_business_hours_of_a_business_day(start, hours):
    result = add_business_hours(start, hours)
    local = result.astimezone(PARIS)
    assert result.utcoffset() is not None
    assert is_business_day(local.date())
    assert time(9) <= local.time() <= time(17)


@given(start=instants, first=hour_counts, second=hour_counts)
def test_R43_adding_h1_then_h2_equals_adding_h1_plus_h2(start, first, second):
    assert add_business_hours(add_business_hours(start, first), second) == add_business_hours(start, first + second)


@given(start=instants, hours=hour_counts)
def test_R43_exactly_that_many_business_hours_elapse(start, hours):
    result = add_business_hours(start, hours)
    assert result >= start
    assert business_time_between(start, result) == timedelta(hours=hours)


@given(start=instants)
def test_R43_48_business_hours_are_6_business_days_of_8_hours(start):
    opening = add_business_hours(start, 0)
    result = add_business_hours(start, 48)
    local_open, local_result = opening.astimezone(PARIS), result.astimezone(PARIS)
    assume(local_open.time() != time(17))  # a start at closing time has its 6 days from tomorrow
    business_days_later = 0
    day = local_open.date()
    while day < local_result.date():
        day += timedelta(days=1)
        business_days_later += is_business_day(day)
    if local_open.time() == time(9):
        assert (business_days_later, local_result.time()) == (5, time(17))
    else:
        assert (business_days_later, local_result.time()) == (6, local_open.time())


@given(start=instants, hours=hour_counts, more=st.integers(min_value=1, max_value=50))
def test_R43_more_hours_never_give_an_earlier_deadline(start, hours, more):
    assert add_business_hours(start, hours) < add_business_hours(start, hours + more)


# --- R24 late penalties ------------------------------------------------------------------------

def test_R24_worked_example_by_hand():
    # 10000 * 19.95 % * 30 / 365 = 163.972... -> 164 cents; + 4000 for a professional.
    assert late_penalty_cents(10000, Decimal("19.95"), date(2026, 3, 31), date(2026, 4, 30), False) == 164
    assert late_penalty_cents(10000, Decimal("19.95"), date(2026, 3, 31), date(2026, 4, 30), True) == 4164


def test_R24_one_day_late_already_owes_the_indemnity():
    # 10000 * 19.95 % / 365 = 5.465... -> 5 cents
    assert late_penalty_cents(10000, Decimal("19.95"), date(2026, 3, 31), date(2026, 4, 1), False) == 5
    assert late_penalty_cents(10000, Decimal("19.95"), date(2026, 3, 31), date(2026, 4, 1), True) == 4005


@pytest.mark.parametrize("professional", [False, True])
@pytest.mark.parametrize("paid_on", [date(2026, 3, 31), date(2026, 3, 1), date(2025, 12, 31)], ids=str)
def test_R24_nothing_when_paid_on_or_before_the_due_date(paid_on, professional):
    assert late_penalty_cents(10000, Decimal("19.95"), date(2026, 3, 31), paid_on, professional) == 0


def test_R24_rounds_half_up_to_the_cent():
    # 36.5 % a year is 0.1 % a day: exact halves, where banker's rounding would differ.
    assert late_penalty_cents(2500, Decimal("36.5"), date(2026, 1, 1), date(2026, 1, 2), False) == 3
    assert late_penalty_cents(1500, Decimal("36.5"), date(2026, 1, 1), date(2026, 1, 2), False) == 2
    assert late_penalty_cents(2499, Decimal("36.5"), date(2026, 1, 1), date(2026, 1, 2), False) == 2


def test_R24_actual_days_over_365_even_across_a_leap_day():
    # 28 Feb -> 1 Mar 2028 is 2 actual days (29 Feb counts); still divided by 365.
    # 365000 * 10 % * 2 / 365 = 200 cents exactly.
    assert late_penalty_cents(365000, Decimal("10"), date(2028, 2, 28), date(2028, 3, 1), False) == 200
    # a whole leap year late: 366 days / 365
    assert late_penalty_cents(365000, Decimal("10"), date(2028, 1, 1), date(2029, 1, 1), False) == 36600


def test_R24_month_end_due_date():
    # due 31 January 2027, paid 1 March 2027: 29 days. 100000 * 12 % * 29 / 365 = 953.42... -> 953
    assert late_penalty_cents(100000, Decimal("12"), date(2027, 1, 31), date(2027, 3, 1), False) == 953


def test_R24_nothing_unpaid_owes_nothing():
    assert late_penalty_cents(0, Decimal("19.95"), date(2026, 3, 31), date(2026, 5, 1), True) == 0


def test_R24_rejects_float_rate_and_negative_inputs():
    with pytest.raises(TypeError):
        late_penalty_cents(10000, 19.95, date(2026, 3, 31), date(2026, 4, 30), False)
    with pytest.raises(ValueError):
        late_penalty_cents(10000, Decimal("-1"), date(2026, 3, 31), date(2026, 4, 30), False)
    with pytest.raises(ValueError):
        late_penalty_cents(-1, Decimal("19.95"), date(2026, 3, 31), date(2026, 4, 30), False)
    with pytest.raises(ValueError):
        late_penalty_cents(10000, Decimal("NaN"), date(2026, 3, 31), date(2026, 4, 30), False)


amounts = st.integers(min_value=0, max_value=10**10)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("50"), places=4, allow_nan=False, allow_infinity=False)
any_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


def oracle(unpaid: int, rate: Decimal, days_late: int) -> int:
    with localcontext() as ctx:
        ctx.prec = 200
        exact = Decimal(unpaid) * rate * days_late / Decimal(100) / Decimal(365)
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(unpaid=amounts, rate=rates, due=any_days, paid=any_days, professional=st.booleans())
def test_R24_matches_simple_interest_actual_365_rounded_half_up(unpaid, rate, due, paid, professional):
    days_late = max(0, (paid - due).days)
    expected = oracle(unpaid, rate, days_late)
    if professional and days_late > 0 and unpaid > 0:
        expected += 4000
    assert late_penalty_cents(unpaid, rate, due, paid, professional) == expected


@given(unpaid=amounts, rate=rates, due=any_days, professional=st.booleans(),
       earlier=st.integers(min_value=-400, max_value=4000), later=st.integers(min_value=-400, max_value=4000))
def test_R24_monotonic_in_days_late(unpaid, rate, due, professional, earlier, later):
    if later < earlier:
        earlier, later = later, earlier
    first = late_penalty_cents(unpaid, rate, due, due + timedelta(days=earlier), professional)
    second = late_penalty_cents(unpaid, rate, due, due + timedelta(days=later), professional)
    assert 0 <= first <= second


@given(unpaid=st.integers(min_value=1, max_value=10**10), rate=rates, due=any_days,
       days_late=st.integers(min_value=1, max_value=4000))
def test_R24_professionals_owe_exactly_the_40_euro_indemnity_more(unpaid, rate, due, days_late):
    paid = due + timedelta(days=days_late)
    assert late_penalty_cents(unpaid, rate, due, paid, True) - late_penalty_cents(unpaid, rate, due, paid, False) == 4000


@given(unpaid=amounts, rate=rates, due=any_days, professional=st.booleans(),
       early=st.integers(min_value=0, max_value=4000))
def test_R24_zero_when_paid_on_or_before_the_due_date(unpaid, rate, due, professional, early):
    assert late_penalty_cents(unpaid, rate, due, due - timedelta(days=early), professional) == 0
