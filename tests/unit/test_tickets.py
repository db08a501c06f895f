"""R43 support tickets and R45 incidents, pure rules: the 48-business-hour take-into-account
deadline in Paris business hours (weekends, public holidays, the 17:00 edge, nights), the ticket
transition table, breaches, incident checks and the reported outages that feed R44."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chalicelib.domain.calendar import PARIS, is_business_day, is_public_holiday
from chalicelib.domain.errors import ConflictError, RuleViolationError
from chalicelib.domain.tickets import (TAKE_INTO_ACCOUNT_HOURS, TRANSITIONS, Cause, TicketEvent, TicketKind,
                                       TicketState, business_time_between, check_incident, check_resolution,
                                       is_breached, next_state, outage_periods, states_accepting,
                                       take_into_account_deadline, within_business_hours)

UTC = timezone.utc
FORTY_EIGHT = timedelta(hours=48)
zones = st.sampled_from([UTC, PARIS, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")])
instants = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 11, 30), timezones=zones)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@lru_cache(maxsize=None)
def _business(day: date) -> bool:
    return is_business_day(day)


def brute_force_deadline(start: datetime, hours: int = TAKE_INTO_ACCOUNT_HOURS) -> datetime:
    """An independent reference: walk Paris wall time minute by minute (a start on a whole minute),
    counting the minutes that lie in 09:00-17:00 of a business day."""
    local = start.astimezone(PARIS).replace(tzinfo=None)
    needed, cursor = hours * 60, local
    while needed:
        if _business(cursor.date()) and time(9) <= cursor.time() < time(17):
            needed -= 1
        cursor += timedelta(minutes=1)
    return cursor.replace(tzinfo=PARIS)


# ---- R43: named cases -------------------------------------------------------------------------

R43_DEADLINES = [
    # Friday 16:30 before Whit Monday: 30 minutes on Friday, Monday skipped, then Tuesday on.
    pytest.param(paris(2027, 5, 14, 16, 30), paris(2027, 5, 25, 16, 30), id="friday-16h30-before-whit-monday"),
    # Good Friday counts (metropolitan calendar), Easter Monday does not, DST starts that Sunday.
    pytest.param(paris(2027, 3, 26, 16, 30), paris(2027, 4, 6, 16, 30), id="before-easter-monday-2027-and-dst"),
    pytest.param(paris(2026, 12, 24, 10), paris(2027, 1, 5, 10), id="christmas-and-new-year"),
    pytest.param(paris(2027, 7, 13, 16), paris(2027, 7, 22, 16), id="across-14-july-2027"),
    pytest.param(paris(2024, 8, 14, 12), paris(2024, 8, 23, 12), id="across-15-august-2024"),
    # The 17:00 edge: one second left on the day, or none.
    pytest.param(paris(2026, 12, 31, 16, 59, 59), paris(2027, 1, 11, 16, 59, 59), id="16h59m59-counts-one-second"),
    pytest.param(paris(2026, 12, 31, 17), paris(2027, 1, 11, 17), id="17h00-counts-from-next-opening"),
    pytest.param(paris(2026, 12, 31, 17, 0, 1), paris(2027, 1, 11, 17), id="after-17h00-same-as-17h00"),
    # Nights and weekends start at the next opening: six full days, ending at 17:00.
    pytest.param(paris(2026, 11, 28, 3), paris(2026, 12, 7, 17), id="saturday-night"),
    pytest.param(paris(2026, 12, 1, 22), paris(2026, 12, 9, 17), id="weekday-evening"),
    pytest.param(paris(2026, 12, 7, 7), paris(2026, 12, 14, 17), id="before-opening"),
    pytest.param(paris(2026, 12, 7, 9), paris(2026, 12, 14, 17), id="at-opening"),
    pytest.param(paris(2026, 12, 25, 11), paris(2027, 1, 5, 17), id="on-christmas-day"),
    pytest.param(datetime(2027, 5, 14, 14, 30, tzinfo=UTC), paris(2027, 5, 25, 16, 30), id="given-in-utc"),
]


@pytest.mark.parametrize("opened_at, expected", R43_DEADLINES)
def test_R43_take_into_account_deadline_examples(opened_at, expected):
    deadline = take_into_account_deadline(opened_at)
    assert deadline == expected
    assert deadline.utcoffset() == expected.utcoffset()  # Paris wall time, summer or winter
    assert business_time_between(opened_at, deadline) == FORTY_EIGHT


def test_R43_the_friday_before_whit_monday_has_the_monday_skipped():
    opened = paris(2027, 5, 14, 16, 30)
    assert is_public_holiday(date(2027, 5, 17)) and not is_business_day(date(2027, 5, 17))
    deadline = take_into_account_deadline(opened)
    # 30 minutes on Friday, 8 hours on Tue 18, Wed 19, Thu 20, Fri 21, Mon 24, then 7 h 30 on Tue 25.
    assert business_time_between(opened, paris(2027, 5, 18, 9)) == timedelta(minutes=30)
    assert business_time_between(paris(2027, 5, 18, 9), deadline) == timedelta(hours=47, minutes=30)
    assert deadline == paris(2027, 5, 25, 16, 30)


def test_R43_a_second_before_closing_and_at_closing_differ_by_one_second():
    assert (take_into_account_deadline(paris(2026, 12, 31, 17)) - take_into_account_deadline(
        paris(2026, 12, 31, 16, 59, 59))) == timedelta(seconds=1)


def test_R43_refuses_a_naive_instant():
    with pytest.raises(ValueError):
        take_into_account_deadline(datetime(2026, 12, 1, 10))


# ---- R43: properties --------------------------------------------------------------------------

@given(opened_at=instants)
def test_R43_deadline_is_within_business_hours_and_exactly_48_business_hours_later(opened_at):
    deadline = take_into_account_deadline(opened_at)
    assert deadline > opened_at
    assert within_business_hours(deadline)
    local = deadline.astimezone(PARIS)
    assert is_business_day(local.date()) and time(9) < local.time() <= time(17)
    assert business_time_between(opened_at, deadline) == FORTY_EIGHT
    # not a second earlier: the count is exact
    assert business_time_between(opened_at, deadline - timedelta(seconds=1)) < FORTY_EIGHT


@settings(max_examples=40)
@given(opened_at=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 1), timezones=zones))
def test_R43_deadline_matches_a_minute_by_minute_count(opened_at):
    opened_at = opened_at.replace(second=0, microsecond=0)
    assert take_into_account_deadline(opened_at) == brute_force_deadline(opened_at)


@given(day=st.dates(min_value=date(2001, 1, 1), max_value=date(2098, 11, 1)),
       evening=st.times(min_value=time(17, 0, 0, 1)), morning=st.times(max_value=time(9)))
def test_R43_from_17h00_to_the_next_opening_every_start_gets_the_same_deadline(day, evening, morning):
    """R43: nothing counts between 17:00 and the next opening (night, weekend, public holiday)."""
    assume(is_business_day(day))
    next_day = day + timedelta(days=1)
    while not is_business_day(next_day):
        next_day += timedelta(days=1)
    at_closing = take_into_account_deadline(datetime.combine(day, time(17), tzinfo=PARIS))
    assert at_closing == take_into_account_deadline(datetime.combine(day, evening, tzinfo=PARIS))
    assert at_closing == take_into_account_deadline(datetime.combine(next_day, morning, tzinfo=PARIS))
    assert at_closing.astimezone(PARIS).time() == time(17)
    second_before = take_into_account_deadline(datetime.combine(day, time(16, 59, 59), tzinfo=PARIS))
    assert at_closing - second_before == timedelta(seconds=1)


@given(opened_at=instants, later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)))
def test_R43_a_later_ticket_never_has_an_earlier_deadline(opened_at, later):
    assert take_into_account_deadline(opened_at + later) >= take_into_account_deadline(opened_at)


@settings(max_examples=40)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1), timezones=zones),
       minutes=st.integers(min_value=0, max_value=8 * 24 * 60))
def test_R43_business_time_between_matches_a_minute_count(start, minutes):
    start = start.replace(second=0, microsecond=0)
    end = start + timedelta(minutes=minutes)
    cursor, counted = start.astimezone(PARIS).replace(tzinfo=None), 0
    stop = end.astimezone(PARIS).replace(tzinfo=None)
    while cursor < stop:
        counted += _business(cursor.date()) and time(9) <= cursor.time() < time(17)
        cursor += timedelta(minutes=1)
    assert business_time_between(start, end) == timedelta(minutes=counted)


# ---- R43: breaches -----------------------------------------------------------------------------

def test_R43_taken_into_account_at_the_deadline_is_on_time_a_microsecond_later_is_late():
    deadline = paris(2027, 5, 25, 16, 30)
    assert not is_breached(deadline, deadline, deadline + timedelta(days=3))
    assert is_breached(deadline, deadline + timedelta(microseconds=1), deadline)
    assert not is_breached(deadline, None, deadline)
    assert is_breached(deadline, None, deadline + timedelta(microseconds=1))


# ---- the transition table ------------------------------------------------------------------------

@pytest.mark.parametrize("state", list(TicketState))
@pytest.mark.parametrize("event", list(TicketEvent))
def test_R43_R45_every_state_and_event_moves_by_the_table_or_is_refused_with_a_409_code(state, event):
    target = TRANSITIONS.get((state, event))
    if target is None:
        with pytest.raises(ConflictError) as refused:
            next_state(state, event)
        assert refused.value.code and refused.value.message
        assert state not in states_accepting(event)
    else:
        assert next_state(state.value, event.value) == target
        assert state in states_accepting(event)


def test_R43_R45_a_resolved_ticket_is_final_and_taking_into_account_happens_once():
    for event in TicketEvent:
        assert (TicketState.RESOLVED, event) not in TRANSITIONS
    assert (TicketState.TAKEN_INTO_ACCOUNT, TicketEvent.TAKE_INTO_ACCOUNT) not in TRANSITIONS
    with pytest.raises(ConflictError) as twice:
        next_state(TicketState.TAKEN_INTO_ACCOUNT, TicketEvent.TAKE_INTO_ACCOUNT)
    assert twice.value.code == "already_taken_into_account"


# ---- R45: incidents ----------------------------------------------------------------------------

NOW = paris(2027, 5, 14, 16, 30)
MAX_AGE = timedelta(days=30)


def test_R45_an_incident_names_a_contract_and_a_start_no_later_than_now_nor_too_old():
    check_incident(TicketKind.INCIDENT, "ctr_1", NOW - MAX_AGE, NOW, MAX_AGE)           # the oldest accepted
    check_incident(TicketKind.INCIDENT, "ctr_1", NOW + timedelta(minutes=5), NOW, MAX_AGE)  # clock skew
    for contract_id, started_at, code in [
            (None, NOW, "incident_needs_contract"), ("ctr_1", None, "incident_needs_start"),
            ("ctr_1", NOW + timedelta(minutes=5, microseconds=1), "incident_in_future"),
            ("ctr_1", NOW - MAX_AGE - timedelta(microseconds=1), "incident_reported_too_late")]:
        with pytest.raises(RuleViolationError) as refused:
            check_incident("incident", contract_id, started_at, NOW, MAX_AGE)
        assert refused.value.code == code


def test_R45_other_kinds_carry_no_incident_details():
    check_incident("question", None, None, NOW, MAX_AGE)
    with pytest.raises(RuleViolationError):
        check_incident("billing", None, NOW, NOW, MAX_AGE)


def test_R45_an_incident_is_resolved_with_its_cause_and_an_end_between_its_start_and_now():
    start = NOW - timedelta(hours=3)
    check_resolution("incident", "outside_provider", None, start, NOW)
    check_resolution("incident", Cause.PROVIDER, start, start, NOW)
    check_resolution("question", None, None, None, NOW)
    for kind, cause, ended_at, code in [("incident", None, None, "cause_required"),
                                        ("incident", "provider", NOW + timedelta(seconds=1), "ended_at_out_of_range"),
                                        ("incident", "provider", start - timedelta(seconds=1), "ended_at_out_of_range"),
                                        ("question", None, NOW, "ended_at_for_incidents_only")]:
        with pytest.raises(RuleViolationError) as refused:
            check_resolution(kind, cause, ended_at, start, NOW)
        assert refused.value.code == code


# ---- R45 -> R44: reported outages ----------------------------------------------------------------

WINDOW = (datetime(2027, 5, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC))


def test_R45_R44_reported_outages_are_clipped_merged_and_leave_out_causes_outside_the_provider():
    h = lambda day, hour: datetime(2027, 5, day, hour, tzinfo=UTC)  # noqa: E731
    incidents = [
        (datetime(2027, 4, 30, 22, tzinfo=UTC), h(1, 2), "provider"),   # starts before the window
        (h(3, 10), h(3, 12), "provider"), (h(3, 11), h(3, 13), None),    # overlapping: merged
        (h(3, 13), h(3, 14), "no_fault_found"),                           # touching: merged
        (h(10, 8), h(10, 9), "outside_provider"),                         # 15.3: not the provider's
        (h(31, 20), None, None),                                          # unresolved: to the end
        (h(5, 8), h(5, 8), "provider"),                                   # empty: dropped
    ]
    assert outage_periods(incidents, *WINDOW) == [
        (WINDOW[0], h(1, 2)), (h(3, 10), h(3, 14)), (h(31, 20), WINDOW[1])]


minutes_in_may = st.integers(min_value=-2 * 24 * 60, max_value=33 * 24 * 60)


@given(st.lists(st.tuples(minutes_in_may, st.integers(min_value=0, max_value=3 * 24 * 60),
                          st.sampled_from([None, "provider", "outside_provider", "no_fault_found"]),
                          st.booleans()), max_size=8))
def test_R45_R44_reported_outages_cover_exactly_the_union_of_the_counted_incidents(raw):
    start, end = WINDOW
    incidents = [(start + timedelta(minutes=a), None if open_ else start + timedelta(minutes=a + length), cause)
                 for a, length, cause, open_ in raw]
    periods = outage_periods(incidents, start, end)
    assert periods == sorted(periods)
    for (a1, b1), (a2, b2) in zip(periods, periods[1:]):
        assert b1 < a2  # disjoint and not touching (merged)
    assert all(start <= a < b <= end for a, b in periods)
    covered = {m for a, b in periods for m in range(int((a - start).total_seconds() // 60),
                                                     int((b - start).total_seconds() // 60))}
    expected = set()
    for s, e, cause in incidents:
        if cause == "outside_provider":
            continue
        lo = max(0, int((s - start).total_seconds() // 60))
        hi = min(int((end - start).total_seconds() // 60), int(((e or end) - start).total_seconds() // 60))
        expected |= set(range(lo, hi))
    assert covered == expected
