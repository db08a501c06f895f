"""Disputes, pure rules: the claims time bar (R47) and liability cap (R46) at their edges, the
settlement preconditions (R51), the formal notice's month and the termination it allows (R52),
the remaining instalments of a wrongful early termination (R53)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.billing import InvoiceLine, monthly_cents
from chalicelib.domain.calendar import PARIS, add_months
from chalicelib.domain.disputes import (cap_compensation, check_breach_termination, check_claim_dates,
                                        check_formal_notice, check_settlement_allowed, claim_last_day,
                                        formal_notice_term, remaining_instalment_lines, settlement_next,
                                        solution_yearly_price, terminated_state, time_barred)
from chalicelib.domain.errors import ConflictError, IllegalTransitionError, RuleViolationError


def paris(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


# ---- R47: the time bar -------------------------------------------------------------------------------

def test_R47_a_claim_filed_on_the_same_date_one_year_later_is_within_time():
    event = paris(date(2026, 3, 15), 10)
    assert claim_last_day(event) == date(2027, 3, 15)
    assert not time_barred(event, paris(date(2027, 3, 15), 23, 59))   # the last day, to its very end
    assert time_barred(event, paris(date(2027, 3, 16), 0, 0))          # one day more: barred


def test_R47_the_year_is_counted_in_paris_days_not_in_utc():
    """An event at 00:30 Paris on 1 January is 23:30 UTC on 31 December: its day is 1 January."""
    event = datetime(2025, 12, 31, 23, 30, tzinfo=timezone.utc)
    assert claim_last_day(event) == date(2027, 1, 1)
    assert not time_barred(event, datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc))  # 1 Jan 2027, Paris
    assert time_barred(event, datetime(2027, 1, 1, 23, 30, tzinfo=timezone.utc))        # 2 Jan 2027, Paris


def test_R47_an_event_on_29_february_may_be_claimed_until_28_february():
    event = paris(date(2028, 2, 29))
    assert claim_last_day(event) == date(2029, 2, 28)
    assert not time_barred(event, paris(date(2029, 2, 28)))
    assert time_barred(event, paris(date(2029, 3, 1)))


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2190, 12, 31)),
       st.integers(min_value=0, max_value=23), st.integers(min_value=-3, max_value=3))
def test_R47_barred_exactly_from_the_day_after_the_anniversary(event_day, hour, offset):
    """Property: filed on the anniversary plus `offset` days (any hour), barred iff offset > 0."""
    event = paris(event_day, hour)
    anniversary = add_months(event_day, 12)
    for filed_hour in (0, 23):
        filed = paris(anniversary + timedelta(days=offset), filed_hour)
        assert time_barred(event, filed) is (offset > 0)


@pytest.mark.parametrize("event, filed, code", [
    (datetime(2027, 1, 2, tzinfo=PARIS), datetime(2027, 1, 2, tzinfo=PARIS), "event_in_future"),
    (datetime(2026, 1, 2, tzinfo=PARIS), datetime(2027, 1, 2, tzinfo=PARIS), "filed_in_future"),
    (datetime(2026, 6, 2, tzinfo=PARIS), datetime(2026, 6, 1, tzinfo=PARIS), "filed_before_event")])
def test_R47_impossible_claim_dates_are_refused(event, filed, code):
    with pytest.raises(RuleViolationError) as refused:
        check_claim_dates(event, filed, datetime(2027, 1, 1, tzinfo=PARIS))
    assert refused.value.code == code and refused.value.fields


# ---- R46: the liability cap ----------------------------------------------------------------------------

YEARLY = [InvoiceLine("plan:soho-start", "SOHO Start - 12 mois", 1, 5988),
          InvoiceLine("option:antivirus", "Antivirus - 12 mois", 1, 1200)]
MONTHLY = [InvoiceLine("plan:soho-start", "SOHO Start - 1 mois", 1, 499),
           InvoiceLine("option:antivirus", "Antivirus - 1 mois", 1, 100)]


def test_R46_the_yearly_price_is_the_contracted_plan_and_options_vat_included():
    price = solution_yearly_price(YEARLY, "yearly", [], Decimal("0.20"))
    assert (price.subtotal_cents, price.vat_cents, price.total_cents) == (7188, 1438, 8626)
    # a monthly contract's month, twelve times: the same yearly price
    assert solution_yearly_price(MONTHLY, "monthly", [], Decimal("0.20")) == price
    # an option added during the term counts at its yearly price; a line that is no part of the solution does not
    more = solution_yearly_price(YEARLY + [InvoiceLine("penalty:interest", "x", 1, 999)], "yearly", [2400],
                                 Decimal("0.20"))
    assert more.subtotal_cents == 9588 and more.total_cents == 11506


def test_R46_a_grant_at_the_cap_is_kept_one_cent_more_is_reduced_to_the_cap():
    at_cap = cap_compensation(8626, 8626, False)
    assert (at_cap.awarded_cents, at_cap.capped, at_cap.cap_cents) == (8626, False, 8626)
    above = cap_compensation(8627, 8626, False)
    assert (above.granted_cents, above.awarded_cents, above.capped) == (8627, 8626, True)
    below = cap_compensation(8625, 8626, False)
    assert (below.awarded_cents, below.capped) == (8625, False)


def test_R46_wilful_or_gross_fault_is_not_capped():
    uncapped = cap_compensation(1_000_000, 8626, True)
    assert (uncapped.awarded_cents, uncapped.capped, uncapped.cap_cents) == (1_000_000, False, None)


@given(st.integers(min_value=0, max_value=10**10), st.integers(min_value=0, max_value=10**8), st.booleans())
def test_R46_awarded_never_exceeds_the_cap_without_gross_fault_and_never_the_grant(granted, cap, gross):
    result = cap_compensation(granted, cap, gross)
    assert result.awarded_cents <= granted
    if gross:
        assert result.awarded_cents == granted and not result.capped
    else:
        assert result.awarded_cents == min(granted, cap) and result.capped is (granted > cap)


@pytest.mark.parametrize("granted", [-1, 1.5, True, "100"])
def test_R46_a_grant_is_non_negative_integer_cents(granted):
    with pytest.raises(ValueError):
        cap_compensation(granted, 8626, False)


# ---- R51: amicable settlement ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["service_quality", "customer_obligation", "other"])
def test_R51_a_breach_neither_illegal_nor_a_payment_default_opens_a_settlement_case(kind):
    check_settlement_allowed(kind, False)


@pytest.mark.parametrize("kind, illegal, code", [
    ("payment", False, "settlement_excluded_payment_default"),
    ("service_quality", True, "settlement_excluded_illegal"),
    ("payment", True, "settlement_excluded_illegal"),
    ("theft", False, "unknown_breach_kind")])
def test_R51_an_illegal_breach_or_a_payment_default_opens_none(kind, illegal, code):
    with pytest.raises(RuleViolationError) as refused:
        check_settlement_allowed(kind, illegal)
    assert refused.value.code == code


def test_R51_an_open_case_is_settled_or_fails_once():
    assert settlement_next("open", "settled") == "settled"
    assert settlement_next("open", "failed") == "failed"
    for status in ("settled", "failed"):
        with pytest.raises(IllegalTransitionError):
            settlement_next(status, "settled")


# ---- R52: formal notice, then termination ----------------------------------------------------------------

def test_R52_the_month_ends_at_the_end_of_the_same_numbered_day_next_month():
    term = formal_notice_term(paris(date(2026, 12, 1), 15))
    assert (term.served_on, term.last_day) == (date(2026, 12, 1), date(2027, 1, 1))
    assert term.terminable_at == datetime(2027, 1, 2, 0, 0, tzinfo=PARIS)
    # 31 January: the month ends on the last day of February
    assert formal_notice_term(paris(date(2027, 1, 31))).last_day == date(2027, 2, 28)
    # the day served is the Paris day: 22:30 UTC on 31 March is 00:30 on 1 April in Paris (summer time)
    late = datetime(2027, 3, 31, 22, 30, tzinfo=timezone.utc)
    assert formal_notice_term(late).served_on == date(2027, 4, 1)
    assert formal_notice_term(late).last_day == date(2027, 5, 1)


def test_R52_termination_needs_a_notice_whose_month_is_over_and_not_remedied():
    term = formal_notice_term(paris(date(2026, 12, 1), 15))
    with pytest.raises(RuleViolationError) as none:
        check_breach_termination(None, None, paris(date(2027, 6, 1)))
    assert none.value.code == "formal_notice_required"
    with pytest.raises(ConflictError) as running:
        check_breach_termination("served", term.terminable_at, term.terminable_at - timedelta(microseconds=1))
    assert running.value.code == "formal_notice_period_running"
    check_breach_termination("served", term.terminable_at, term.terminable_at)  # from 00:00 the next day
    with pytest.raises(ConflictError) as remedied:
        check_breach_termination("remedied", term.terminable_at, paris(date(2027, 6, 1)))
    assert remedied.value.code == "formal_notice_remedied"


@pytest.mark.parametrize("fields, code", [
    (dict(gross_or_wilful=False), "gross_breach_required"),
    (dict(breach_kind="payment"), "payment_default_follows_r26"),
    (dict(settlement_status=None), "settlement_required"),
    (dict(settlement_status="open"), "settlement_required"),
    (dict(settlement_status="settled"), "settlement_required")])
def test_R51_R52_a_provider_notice_needs_a_gross_breach_and_a_failed_settlement_unless_illegal(fields, code):
    base = dict(gross_or_wilful=True, breach_kind="customer_obligation", illegal=False, from_party="provider",
                settlement_status="failed")
    check_formal_notice(**base)
    with pytest.raises(RuleViolationError) as refused:
        check_formal_notice(**{**base, **fields})
    assert refused.value.code == code


def test_R52_an_illegal_breach_or_the_customers_own_notice_needs_no_settlement_case():
    check_formal_notice(gross_or_wilful=True, breach_kind="customer_obligation", illegal=True, from_party="provider",
                        settlement_status=None)
    check_formal_notice(gross_or_wilful=True, breach_kind="service_quality", illegal=False, from_party="customer",
                        settlement_status=None)


@pytest.mark.parametrize("state", ["active", "restricted", "suspended"])
def test_R52_R53_a_contract_in_force_can_be_terminated(state):
    assert terminated_state(state).value == "terminated"


@pytest.mark.parametrize("state", ["expired", "terminated", "withdrawn", "awaiting_payment", "data_deleted"])
def test_R52_R53_a_contract_not_in_force_cannot(state):
    with pytest.raises(IllegalTransitionError):
        terminated_state(state)


# ---- R53: wrongful early termination ---------------------------------------------------------------------

def test_R53_the_remaining_instalments_are_one_line_per_contracted_line_times_the_months_left():
    lines = remaining_instalment_lines(MONTHLY, [5, 6, 7, 8, 9, 10, 11, 12], date(2026, 11, 27))
    assert [(l.code, l.quantity, l.unit_cents, l.total_cents) for l in lines] == [
        ("plan:soho-start", 8, 499, 3992), ("option:antivirus", 8, 100, 800)]
    assert "échéances 5, 6, 7, 8, 9, 10, 11, 12/12" in lines[0].description
    assert "du 27/03/2027 au 27/11/2027" in lines[0].description
    assert remaining_instalment_lines(MONTHLY, [], date(2026, 11, 27)) == ()


@given(st.integers(min_value=2, max_value=13))
def test_R53_the_remaining_sum_is_exactly_the_months_not_invoiced(first_remaining):
    """Property: with months 1..first_remaining-1 invoiced, the lines sum to the rest of the year."""
    remaining = list(range(first_remaining, 13))
    lines = remaining_instalment_lines(MONTHLY, remaining, date(2027, 1, 31))
    assert sum(l.total_cents for l in lines) == len(remaining) * (monthly_cents(5988) + monthly_cents(1200))
