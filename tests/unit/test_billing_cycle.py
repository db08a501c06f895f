"""Monthly billing and its deadlines, pure: R21 (monthly instalments, periods tiling the 12-month
term), R23 (restriction at 00:00 Paris on the due date, suspension at D+7), R24 (penalty lines),
R26 (termination at D+7+30, termination lines)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.bootstrap import load_catalog
from chalicelib.domain.billing import (INSTALMENTS, InvoiceLine, accrued_penalty_cents, instalment_issue_at,
                                       instalment_lines, monthly_cents, monthly_lines, overdue_instants,
                                       overdue_level, penalty_lines, period_bounds, termination_lines,
                                       yearly_lines)
from chalicelib.domain.calendar import PARIS, add_months, late_penalty_cents
from chalicelib.domain.contracts import HoldLevel
from chalicelib.service.notices import new_notice, render_notice

RATE = Decimal("19.95")
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


# ---- R21: monthly prices ---------------------------------------------------------------------------
def test_R21_every_catalog_price_divides_by_12_so_12_instalments_make_the_yearly_price():
    catalog = load_catalog()
    for plan in catalog.plans.values():
        options = [catalog.options[o] for o in plan.options]
        assert plan.yearly_price_cents % 12 == 0 and all(o.yearly_price_cents % 12 == 0 for o in options)
        monthly, yearly = monthly_lines(plan, options), yearly_lines(plan, options)
        assert [line.code for line in monthly] == [line.code for line in yearly]
        assert 12 * sum(line.total_cents for line in monthly) == sum(line.total_cents for line in yearly)
        assert all(line.description.endswith(" - 1 mois") for line in monthly)


@given(yearly=st.integers(min_value=0, max_value=10**8))
def test_R21_monthly_price_is_the_yearly_price_over_12_rounded_half_up(yearly):
    assert monthly_cents(yearly) == floor(Fraction(yearly, 12) + Fraction(1, 2))
    assert abs(12 * monthly_cents(yearly) - yearly) <= 6
    if yearly % 12 == 0:
        assert 12 * monthly_cents(yearly) == yearly  # the sum of the 12 monthly invoices is the yearly price


@pytest.mark.parametrize("yearly, monthly", [(5988, 499), (1200, 100), (6, 1), (5, 0), (18, 2), (30, 3)])
def test_R21_monthly_price_examples_half_up(yearly, monthly):
    assert monthly_cents(yearly) == monthly  # 0.5 -> 1, 0.41 -> 0, 1.5 -> 2, 2.5 -> 3 (never to even)


def test_R21_R33_later_instalments_keep_contracted_prices_and_add_options_ordered_since():
    catalog = load_catalog()
    contracted = (InvoiceLine("plan:soho-start", "SOHO Start - 1 mois", 1, 450),)  # a price since changed
    lines = instalment_lines(contracted, [catalog.options["antivirus"], catalog.options["antispam"]])
    assert [(line.code, line.unit_cents) for line in lines] == [
        ("plan:soho-start", 450), ("option:antivirus", 100), ("option:antispam", 100)]
    assert instalment_lines(lines, [catalog.options["antivirus"]]) == lines  # never twice


# ---- R21: the 12 periods of the term ---------------------------------------------------------------
@given(start=days)
def test_R21_twelve_monthly_periods_tile_the_term_with_no_gap_and_no_overlap(start):
    periods = [period_bounds(start, n) for n in range(1, INSTALMENTS + 1)]
    assert periods[0][0] == start and periods[-1][1] == add_months(start, 12)  # the R16 term
    for (_, end), (next_start, _) in zip(periods, periods[1:]):
        assert end == next_start
    for n, (begin, end) in enumerate(periods, start=1):
        assert 28 <= (end - begin).days <= 31
        assert begin == add_months(start, n - 1)  # counted from the start, never chained
        assert begin.day == start.day or (begin.day < start.day and (begin + timedelta(days=1)).day == 1)
    assert sum((end - begin).days for begin, end in periods) == (add_months(start, 12) - start).days


@pytest.mark.parametrize("start, expected", [
    (date(2027, 1, 31), [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]),
    (date(2028, 1, 31), [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30)]),  # leap year
    (date(2028, 2, 29), [date(2028, 2, 29), date(2028, 3, 29), date(2028, 4, 29), date(2028, 5, 29)]),
    (date(2026, 11, 27), [date(2026, 11, 27), date(2026, 12, 27), date(2027, 1, 27), date(2027, 2, 27)]),
])
def test_R21_month_starts_across_month_ends_and_leap_years(start, expected):
    assert [period_bounds(start, n)[0] for n in range(1, 5)] == expected


def test_R21_a_term_starting_on_29_february_ends_on_28_february_of_the_next_year():
    assert period_bounds(date(2028, 2, 29), 12) == (date(2029, 1, 29), date(2029, 2, 28))
    assert period_bounds(date(2027, 3, 31), 12)[1] == date(2028, 3, 31)


@pytest.mark.parametrize("n", [0, 13, -1])
def test_R21_there_are_12_instalments_only(n):
    with pytest.raises(ValueError):
        period_bounds(date(2027, 1, 1), n)


@given(start=days, n=st.integers(min_value=2, max_value=12), lead=st.integers(min_value=0, max_value=27))
def test_R21_an_instalment_is_issued_lead_days_before_its_month_at_midnight_paris(start, n, lead):
    issue_at = instalment_issue_at(start, n, lead)
    local = issue_at.astimezone(PARIS)
    assert local.time() == time(0) and local.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert local.date() == period_bounds(start, n)[0] - timedelta(days=lead)


# ---- R23 + R26: overdue instants ------------------------------------------------------------------
@given(due=days, suspend=st.integers(min_value=0, max_value=30), terminate=st.integers(min_value=1, max_value=90))
def test_R23_R26_restriction_suspension_and_termination_fall_at_midnight_paris_whatever_the_dst(due, suspend,
                                                                                              terminate):
    restrict_at, suspend_at, terminate_at = overdue_instants(due, suspend, terminate)
    for instant, day in ((restrict_at, due), (suspend_at, due + timedelta(days=suspend)),
                         (terminate_at, due + timedelta(days=suspend + terminate))):
        local = instant.astimezone(PARIS)
        assert (local.date(), local.time()) == (day, time(0))
        # The same instant in UTC is 23:00 or 22:00 the evening before (winter / summer time).
        utc = instant.astimezone(timezone.utc)
        assert utc.date() == day - timedelta(days=1) and utc.hour in (22, 23)
    assert restrict_at < suspend_at or suspend == 0
    assert suspend_at < terminate_at


@pytest.mark.parametrize("due, suspended_utc, hours", [
    # Due Wednesday 24 March 2027 (winter time), suspended on 31 March (summer time since the 28th):
    # the grace period is 7 calendar days in Paris, which is one hour short of 7 x 24 h.
    (date(2027, 3, 24), datetime(2027, 3, 30, 22, 0, tzinfo=timezone.utc), 7 * 24 - 1),
    # Due 27 October 2027 (summer time), suspended on 3 November (winter time since the 31st): one hour more.
    (date(2027, 10, 27), datetime(2027, 11, 2, 23, 0, tzinfo=timezone.utc), 7 * 24 + 1),
    (date(2027, 1, 15), datetime(2027, 1, 21, 23, 0, tzinfo=timezone.utc), 7 * 24),
])
def test_R23_the_grace_period_counts_paris_calendar_days_across_dst_changes(due, suspended_utc, hours):
    restrict_at, suspend_at, _ = overdue_instants(due, 7, 30)
    assert suspend_at == suspended_utc
    # (Subtracting two datetimes of one zone gives wall-clock time in Python: compare in UTC.)
    assert suspend_at.astimezone(timezone.utc) - restrict_at.astimezone(timezone.utc) == timedelta(hours=hours)


def test_R23_the_hold_an_unpaid_invoice_warrants_grows_with_time():
    due = date(2027, 1, 27)
    before = datetime(2027, 1, 26, 22, 59, tzinfo=timezone.utc)  # 23:59 Paris the day before
    assert overdue_level([due], before, 7) is None
    assert overdue_level([due], datetime(2027, 1, 26, 23, 0, tzinfo=timezone.utc), 7) == HoldLevel.RESTRICTED
    assert overdue_level([due], datetime(2027, 2, 3, 0, 0, tzinfo=PARIS), 7) == HoldLevel.SUSPENDED
    assert overdue_level([], datetime(2030, 1, 1, tzinfo=PARIS), 7) is None
    # The strongest of several: one suspended-old invoice is enough.
    assert overdue_level([date(2027, 3, 1), due], datetime(2027, 2, 10, tzinfo=PARIS), 7) == HoldLevel.SUSPENDED


# ---- R24: penalties -------------------------------------------------------------------------------
def test_R24_a_professional_pays_interest_and_the_40_euro_indemnity_on_separate_lines():
    lines = penalty_lines(719, RATE, date(2027, 1, 27), date(2027, 2, 5), professional=True)
    assert [line.description for line in lines] == [
        "Pénalités de retard : 9 jours au taux annuel 19,95 %", "Indemnité forfaitaire pour frais de recouvrement"]
    interest = late_penalty_cents(719, RATE, date(2027, 1, 27), date(2027, 2, 5), False)
    assert [line.total_cents for line in lines] == [interest, 4000]
    assert sum(line.total_cents for line in lines) == late_penalty_cents(719, RATE, date(2027, 1, 27),
                                                                          date(2027, 2, 5), True)


@given(unpaid=st.integers(min_value=0, max_value=10**7), due=days, late=st.integers(min_value=-5, max_value=400),
       professional=st.booleans())
def test_R24_penalty_lines_total_late_penalty_cents_and_nothing_when_paid_in_time(unpaid, due, late, professional):
    paid_on = due + timedelta(days=late)
    lines = penalty_lines(unpaid, RATE, due, paid_on, professional)
    assert sum(line.total_cents for line in lines) == late_penalty_cents(unpaid, RATE, due, paid_on, professional)
    if late <= 0 or unpaid == 0:
        assert lines == ()
    assert all(line.total_cents > 0 for line in lines)


def test_R24_one_day_late_is_singular_and_a_consumer_owes_no_indemnity():
    [line] = penalty_lines(100_000, Decimal("20"), date(2027, 1, 27), date(2027, 1, 28), professional=False)
    assert line.description == "Pénalités de retard : 1 jour au taux annuel 20 %"
    assert line.total_cents == 55  # 1000 EUR x 20 % / 365 = 0.548 EUR


def test_R24_accrued_penalty_to_today_is_the_interest_only():
    assert accrued_penalty_cents(719, RATE, date(2027, 1, 27), date(2027, 1, 27)) == 0
    assert accrued_penalty_cents(71_900, RATE, date(2027, 1, 27), date(2027, 2, 5)) == \
        late_penalty_cents(71_900, RATE, date(2027, 1, 27), date(2027, 2, 5), False)


# ---- R26: termination -----------------------------------------------------------------------------
def test_R26_termination_invoices_the_fee_and_every_remaining_instalment_at_once():
    monthly = (InvoiceLine("plan:soho-start", "SOHO Start - 1 mois", 1, 499),
               InvoiceLine("option:antivirus", "Antivirus - 1 mois", 1, 100))
    lines = termination_lines(5000, monthly, [4, 5, 6, 7, 8, 9, 10, 11, 12], date(2026, 11, 27))
    assert [(line.code, line.quantity, line.unit_cents) for line in lines] == [
        ("termination_fee", 1, 5000), ("plan:soho-start", 9, 499), ("option:antivirus", 9, 100)]
    assert "du 27/02/2027 au 27/11/2027" in lines[1].description
    assert sum(line.total_cents for line in lines) == 5000 + 9 * 599
    assert termination_lines(5000, monthly, [], date(2026, 11, 27)) == (lines[0],)  # all invoiced: the fee only


def test_R26_R20_termination_notice_says_why_what_is_due_and_when_the_data_goes():
    context = {"domain": "acme-test.fr", "invoice_number": "F00000042", "amount_due_cents": 719,
               "suspended_since": "2027-02-03", "terminated_on": "2027-03-05",
               "termination_invoice_number": "F00000043", "termination_fee_cents": 5000,
               "remaining_instalments": 9, "termination_total_cents": 12470, "deletion_on": "2027-04-04",
               "customer_name": "ACME SARL"}
    notice = new_notice(notice_key="contract_terminated#ctr_1", customer_id="cus_1", to="contact@acme.fr",
                        template="contract_terminated", context=context, contract_id="ctr_1",
                        now=datetime(2027, 3, 5, 8, 0, tzinfo=timezone.utc))
    subject, body = render_notice(notice)
    assert subject == "Résiliation de votre contrat pour acme-test.fr : défaut de paiement"
    for fact in ("Bonjour ACME SARL,", "contrat n° ctr_1 est résilié à vos torts depuis le 5 mars 2027",
                 "suspension du service d'hébergement du domaine acme-test.fr depuis le 3 février 2027",
                 "F00000043", "124,70\u00a0€ TTC", "50,00\u00a0€ HT", "les 9 échéances mensuelles",
                 "conservés jusqu'au 4 avril 2027", "immédiatement exigibles"):
        assert fact in body, fact
    without = render_notice(new_notice(notice_key="k", customer_id="cus_1", to="contact@acme.fr",
                                       template="contract_terminated", now=datetime(2027, 3, 5, tzinfo=timezone.utc),
                                       context={**context, "remaining_instalments": 0}, contract_id="ctr_1"))
    assert "échéances" not in without.body
