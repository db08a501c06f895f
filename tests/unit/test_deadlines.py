"""Deadlines of a contract and an order as instants (R14, R16, R17, R19, R20), across DST changes,
month ends and leap years."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.calendar import PARIS, add_months
from chalicelib.domain.deadlines import (contract_end_at, data_deletion_at, deletion_warning_at, expiry_notice_at,
                                         order_expiry_at)

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2040, 12, 31))
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2040, 12, 31),
                        timezones=st.just(timezone.utc))


def test_R16_R19_the_contract_ends_at_paris_midnight_of_its_end_date_in_winter_and_summer():
    assert contract_end_at(date(2027, 1, 15)).astimezone(timezone.utc) == datetime(2027, 1, 14, 23, tzinfo=timezone.utc)
    assert contract_end_at(date(2027, 7, 15)).astimezone(timezone.utc) == datetime(2027, 7, 14, 22, tzinfo=timezone.utc)


def test_R17_notice_60_days_before_an_end_after_the_spring_dst_change_is_still_0900_paris():
    notice = expiry_notice_at(date(2027, 5, 1), 60)  # 2027-03-02, winter time; the end is in summer time
    assert notice == datetime(2027, 3, 2, 9, 0, tzinfo=PARIS)
    assert notice.utcoffset() == timedelta(hours=1)
    elapsed = contract_end_at(date(2027, 5, 1)).astimezone(timezone.utc) - notice.astimezone(timezone.utc)
    assert elapsed == timedelta(days=59, hours=14)  # 60 days at 09:00 -> 00:00 minus the hour DST ate


@given(days, st.integers(46, 200))
def test_R17_the_notice_is_always_more_than_45_days_before_the_end_and_at_0900_paris(ends_on, notice_days):
    notice = expiry_notice_at(ends_on, notice_days)
    assert contract_end_at(ends_on).astimezone(timezone.utc) - notice.astimezone(timezone.utc) > timedelta(days=45)
    assert notice.astimezone(PARIS).time() == time(9, 0)
    assert (ends_on - notice.astimezone(PARIS).date()).days == notice_days


@pytest.mark.parametrize("notice_days", [45, 30, 0])
def test_R17_a_notice_45_days_or_fewer_before_the_end_is_refused(notice_days):
    with pytest.raises(ValueError):
        expiry_notice_at(date(2027, 11, 27), notice_days)


def test_R20_deletion_and_warning_across_the_october_dst_change_keep_paris_midnight():
    ended = contract_end_at(date(2027, 10, 15))  # summer time
    deletion = data_deletion_at(ended, 30)
    assert deletion == datetime(2027, 11, 14, 0, 0, tzinfo=PARIS) and deletion.utcoffset() == timedelta(hours=1)
    assert deletion.astimezone(timezone.utc) - ended.astimezone(timezone.utc) == timedelta(days=30, hours=1)
    assert deletion_warning_at(deletion, 7) == datetime(2027, 11, 7, 0, 0, tzinfo=PARIS)


@given(days, st.integers(1, 120), st.integers(1, 119))
def test_R20_the_warning_comes_before_the_deletion_and_the_deletion_after_the_end(ends_on, retention, warning):
    if warning >= retention:
        warning = retention - 1 or 1
    ended = contract_end_at(ends_on)
    deletion = data_deletion_at(ended, retention)
    assert deletion > ended
    assert (deletion.astimezone(PARIS).date() - ends_on).days == retention
    assert deletion.astimezone(PARIS).time() == time(0, 0)
    if warning < retention:
        assert ended < deletion_warning_at(deletion, warning) < deletion


def test_R14_an_order_of_31_january_expires_on_the_last_day_of_february_leap_or_not():
    assert order_expiry_at(datetime(2028, 1, 31, 15, 0, tzinfo=PARIS)) == datetime(2028, 2, 29, 15, 0, tzinfo=PARIS)
    assert order_expiry_at(datetime(2027, 1, 31, 15, 0, tzinfo=PARIS)) == datetime(2027, 2, 28, 15, 0, tzinfo=PARIS)


@given(instants)
def test_R14_the_offer_holds_one_calendar_month_at_the_same_paris_wall_time(registered):
    expiry = order_expiry_at(registered)
    local = registered.astimezone(PARIS)
    assert expiry.astimezone(PARIS).date() == add_months(local.date(), 1)
    assert expiry > registered
    if expiry.astimezone(PARIS).replace(tzinfo=None) == expiry.replace(tzinfo=None):  # not a DST gap hour
        assert expiry.astimezone(PARIS).time() == local.time()
