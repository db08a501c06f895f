"""R33: options added during the contract, priced pro rata to the end of the paid period."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.bootstrap import load_catalog
from chalicelib.domain.calendar import add_months
from chalicelib.domain.errors import ConflictError, InvalidInputError, RuleViolationError
from chalicelib.domain.options import Limits, limits_with, option_lines, options_to_add, pro_rata_cents

CATALOG = load_catalog()
START = CATALOG.plans["soho-start"]


def test_R33_ordered_on_the_first_day_costs_the_whole_period_and_on_the_last_day_one_day():
    start, end = date(2027, 1, 1), date(2028, 1, 1)
    assert pro_rata_cents(1200, from_day=start, period_start=start, period_end=end) == 1200
    assert pro_rata_cents(1200, from_day=end - timedelta(days=1), period_start=start, period_end=end) == 3  # 1200/365
    assert pro_rata_cents(1200, from_day=end, period_start=start, period_end=end) == 0


def test_R33_half_a_leap_year_is_half_the_price_to_the_cent():
    start, end = date(2028, 1, 1), date(2029, 1, 1)  # 366 days
    assert pro_rata_cents(2400, from_day=start + timedelta(days=183), period_start=start, period_end=end) == 1200


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)), st.integers(0, 400),
       st.integers(0, 1_000_000))
def test_R33_pro_rata_is_exact_decimal_rounded_half_up_and_never_exceeds_the_period_price(start, offset, price):
    end = add_months(start, 12)
    from_day = start + timedelta(days=offset)
    cents = pro_rata_cents(price, from_day=from_day, period_start=start, period_end=end)
    remaining = max(0, (end - min(from_day, end)).days)
    expected = (Decimal(price) * remaining / (end - start).days).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    assert cents == int(expected)
    assert 0 <= cents <= price


def test_R33_options_must_exist_fit_the_plan_and_not_be_held_already():
    assert [o.id for o in options_to_add(START, ["antivirus"], ["antispam"], CATALOG)] == ["antispam"]
    with pytest.raises(ConflictError) as held:
        options_to_add(START, ["antivirus"], ["antivirus"], CATALOG)
    assert held.value.code == "option_already_active"
    with pytest.raises(RuleViolationError) as plan:
        options_to_add(START, [], ["extra-mysql-database"], CATALOG)  # a soho-pro option
    assert plan.value.code == "option_not_available_for_plan"
    with pytest.raises(InvalidInputError):
        options_to_add(START, [], [], CATALOG)
    with pytest.raises(InvalidInputError):
        options_to_add(START, [], ["antispam", "antispam"], CATALOG)


def test_R33_monthly_contract_options_are_priced_on_the_monthly_instalment():
    storage = CATALOG.options["extra-storage-10g"]  # 2400 a year -> 200 a month
    start, end = date(2027, 2, 1), date(2027, 3, 1)  # 28 days
    line, = option_lines([storage], billing_period="monthly", from_day=date(2027, 2, 15), period_start=start,
                         period_end=end)
    assert line.total_cents == 100  # 14 of 28 days of 200
    assert "15/02/2027" in line.description and "01/03/2027" in line.description


def test_R33_limits_grow_by_what_the_options_add():
    added = [CATALOG.options["extra-storage-10g"], CATALOG.options["extra-pop-mailbox"]]
    assert limits_with(Limits(10240, 5, 1), added) == Limits(20480, 6, 1)
