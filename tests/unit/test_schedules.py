"""EventBridge schedule expressions as the local event runner fires them (AWS semantics, UTC).

These schedules drive the daily jobs behind R17 (expiry notices), R19/R20 (expiry, deletion)
and R23 (overdue), so the local runner must fire them exactly when EventBridge would.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.schedules import Schedule

UTC = timezone.utc


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- rate() ------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, interval", [
    ("rate(1 minute)", timedelta(minutes=1)),
    ("rate(5 minutes)", timedelta(minutes=5)),
    ("rate(1 hour)", timedelta(hours=1)),
    ("rate(2 hours)", timedelta(hours=2)),
    ("rate(1 day)", timedelta(days=1)),
    ("rate(7 days)", timedelta(days=7)),
])
def test_rate_expressions_parse_to_their_interval(expression, interval):
    schedule = Schedule.parse(expression)
    assert schedule.interval == interval
    assert schedule.fields is None


def test_rate_schedule_fires_one_interval_after_the_given_moment():
    schedule = Schedule.parse("rate(5 minutes)")
    assert schedule.next_after(at(2026, 11, 27, 8, 3, 17)) == at(2026, 11, 27, 8, 8, 17)


def test_rate_expression_tolerates_surrounding_whitespace():
    assert Schedule.parse("  rate(2 hours) ").interval == timedelta(hours=2)


@pytest.mark.parametrize("expression", [
    "", "rate()", "rate(0 minutes)", "rate(-1 minutes)", "rate(5 weeks)", "rate(5 seconds)",
    "rate(1.5 hours)", "rate(five minutes)", "rate(5 minute)", "rate(1 minutes)", "rate 5 minutes", "every 5 minutes",
    "at(2026-11-27T08:00:00)",
])
def test_invalid_rate_expressions_raise_value_error(expression):
    with pytest.raises(ValueError):
        Schedule.parse(expression)


# --- cron(): parsing ---------------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "cron(0 8 * * ?)",              # 5 fields: AWS needs 6
    "cron(0 8 * * ? * *)",          # 7 fields
    "cron()",
    "cron(0 8 * * FOO *)",          # unknown day name
    "cron(x 8 * * ? *)",
    "cron(*/0 * * * ? *)",          # zero step
    "0 8 * * ? *",                  # missing cron()
])
def test_invalid_cron_expressions_raise_value_error(expression):
    with pytest.raises(ValueError):
        Schedule.parse(expression)


@pytest.mark.parametrize("expression", [
    "cron(60 * * * ? *)",           # minute 0-59
    "cron(0 24 * * ? *)",           # hour 0-23
    "cron(0 8 32 * ? *)",           # day-of-month 1-31
    "cron(0 8 * 13 ? *)",           # month 1-12
    "cron(0 8 ? * 0 *)",            # day-of-week is 1-7 (SUN-SAT) in AWS, 0 is not Sunday
    "cron(0 8 ? * 8 *)",
])
def test_out_of_range_cron_values_raise_value_error(expression):
    """AWS rejects values outside each field's range; a schedule that can never fire must not parse."""
    with pytest.raises(ValueError):
        Schedule.parse(expression)


def test_aws_cron_needs_a_question_mark_in_day_of_month_or_day_of_week():
    """AWS: day-of-month and day-of-week cannot both be given; one of them must be '?'."""
    with pytest.raises(ValueError):
        Schedule.parse("cron(0 8 * * * *)")


# --- cron(): next_after ------------------------------------------------------------------------

def test_daily_cron_after_its_firing_time_is_the_next_day_same_time():
    schedule = Schedule.parse("cron(0 8 * * ? *)")
    assert schedule.next_after(at(2026, 11, 27, 8, 0)) == at(2026, 11, 28, 8, 0)


def test_daily_cron_before_its_firing_time_is_the_same_day():
    schedule = Schedule.parse("cron(0 8 * * ? *)")
    assert schedule.next_after(at(2026, 11, 27, 7, 59, 59)) == at(2026, 11, 27, 8, 0)


def test_next_after_is_strictly_after_even_within_the_firing_minute():
    schedule = Schedule.parse("cron(0 8 * * ? *)")
    assert schedule.next_after(at(2026, 11, 27, 8, 0, 30)) == at(2026, 11, 28, 8, 0)


def test_cron_is_read_in_utc_whatever_the_zone_of_the_moment():
    schedule = Schedule.parse("cron(0 8 * * ? *)")
    paris = timezone(timedelta(hours=1))
    # 08:30 in Paris is 07:30 UTC: the 08:00 UTC firing of the same day is next.
    assert schedule.next_after(datetime(2026, 11, 27, 8, 30, tzinfo=paris)) == at(2026, 11, 27, 8, 0)


def test_cron_every_15_minutes_from_minute_0():
    schedule = Schedule.parse("cron(0/15 * * * ? *)")
    assert schedule.next_after(at(2026, 11, 27, 8, 0)) == at(2026, 11, 27, 8, 15)
    assert schedule.next_after(at(2026, 11, 27, 8, 44, 59)) == at(2026, 11, 27, 8, 45)
    assert schedule.next_after(at(2026, 11, 27, 23, 45)) == at(2026, 11, 28, 0, 0)


def test_cron_step_with_a_start_other_than_zero():
    schedule = Schedule.parse("cron(5/20 * * * ? *)")
    firings, moment = [], at(2026, 11, 27, 8, 0)
    for _ in range(4):
        moment = schedule.next_after(moment)
        firings.append(moment.minute)
    assert firings == [5, 25, 45, 5]


def test_cron_star_step():
    schedule = Schedule.parse("cron(*/30 * * * ? *)")
    assert schedule.next_after(at(2026, 11, 27, 8, 1)) == at(2026, 11, 27, 8, 30)


@settings(max_examples=50)
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                           timezones=st.just(UTC)))
def test_cron_every_15_minutes_fires_within_15_minutes_on_a_quarter(moment):
    firing = Schedule.parse("cron(0/15 * * * ? *)").next_after(moment)
    assert moment < firing <= moment + timedelta(minutes=15)
    assert firing.minute % 15 == 0 and firing.second == 0 and firing.microsecond == 0


def test_weekday_cron_after_friday_morning_is_monday_morning():
    schedule = Schedule.parse("cron(0 9 ? * MON-FRI *)")
    friday = at(2026, 11, 27, 10, 0)
    assert friday.strftime("%A") == "Friday"
    monday = schedule.next_after(friday)
    assert monday == at(2026, 11, 30, 9, 0)
    assert monday.strftime("%A") == "Monday"


@pytest.mark.parametrize("number, weekday_name", [
    ("1", "Sunday"), ("2", "Monday"), ("3", "Tuesday"), ("4", "Wednesday"),
    ("5", "Thursday"), ("6", "Friday"), ("7", "Saturday"),
])
def test_aws_day_of_week_numbers_run_from_1_sunday_to_7_saturday(number, weekday_name):
    firing = Schedule.parse(f"cron(0 12 ? * {number} *)").next_after(at(2026, 11, 27, 13, 0))
    assert firing.strftime("%A") == weekday_name
    assert (firing.hour, firing.minute) == (12, 0)
    assert firing - at(2026, 11, 27, 13, 0) < timedelta(days=7)


@pytest.mark.parametrize("names, numbers", [("SUN", "1"), ("mon-fri", "2-6"), ("SAT,SUN", "7,1")])
def test_day_names_are_case_insensitive_and_equal_their_numbers(names, numbers):
    by_name = Schedule.parse(f"cron(0 12 ? * {names} *)")
    by_number = Schedule.parse(f"cron(0 12 ? * {numbers} *)")
    moment = at(2026, 11, 27, 13, 0)
    for _ in range(5):
        assert by_name.next_after(moment) == by_number.next_after(moment)
        moment = by_name.next_after(moment)


def test_cron_lists_of_hours():
    schedule = Schedule.parse("cron(30 8,20 * * ? *)")
    assert schedule.next_after(at(2026, 11, 27, 9, 0)) == at(2026, 11, 27, 20, 30)
    assert schedule.next_after(at(2026, 11, 27, 20, 30)) == at(2026, 11, 28, 8, 30)


def test_cron_ranges_of_hours():
    schedule = Schedule.parse("cron(0 9-11 * * ? *)")
    assert schedule.next_after(at(2026, 11, 27, 9, 0)) == at(2026, 11, 27, 10, 0)
    assert schedule.next_after(at(2026, 11, 27, 11, 0)) == at(2026, 11, 28, 9, 0)


def test_cron_day_of_month_with_month_name():
    schedule = Schedule.parse("cron(0 0 1 JAN ? *)")
    assert schedule.next_after(at(2026, 11, 27, 10, 0)) == at(2027, 1, 1, 0, 0)


def test_cron_first_of_every_month():
    schedule = Schedule.parse("cron(0 6 1 * ? *)")
    assert schedule.next_after(at(2026, 11, 27, 10, 0)) == at(2026, 12, 1, 6, 0)


def test_cron_year_field_limits_the_firings():
    schedule = Schedule.parse("cron(0 0 1 1 ? 2028)")
    assert schedule.next_after(at(2026, 11, 27, 10, 0)) == at(2028, 1, 1, 0, 0)


def test_cron_matches_only_its_own_minutes():
    schedule = Schedule.parse("cron(0 8 * * ? *)")
    assert schedule.matches(at(2026, 11, 27, 8, 0))
    assert not schedule.matches(at(2026, 11, 27, 8, 1))
    assert not schedule.matches(at(2026, 11, 27, 9, 0))
