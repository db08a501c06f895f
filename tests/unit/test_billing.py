"""Prices, VAT and invoices: R21 (VAT half-up to the cent), R22 (gapless numbering,
invoice contents), R24 (late-penalty rate, EUR 40 indemnity for professionals)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.billing import (InvoiceLine, draft_invoice, invoice_number, next_sequence_value,
                                       vat_cents, yearly_lines)
from chalicelib.domain.catalog import Option, Plan

ISSUE = date(2026, 11, 27)


def _draft(lines, *, professional=False, vat_rate=Decimal("0.20"), issue=ISSUE, due=ISSUE,
           penalty=Decimal("19.95")):
    return draft_invoice(lines, vat_rate=vat_rate, currency="EUR", issue_date=issue, due_date=due,
                         late_penalty_rate_percent=penalty, professional=professional)


# --- R21 VAT -----------------------------------------------------------------------------------

@pytest.mark.parametrize("subtotal, rate, expected", [
    (7188, "0.20", 1438),   # 1437.6 -> 1438
    (7185, "0.20", 1437),   # exact
    (10, "0.055", 1),       # 0.55 -> 1
    (300, "0.055", 17),     # 16.5 -> 17 (banker's rounding would give 16)
    (25, "0.10", 3),        # 2.5 -> 3 (banker's rounding would give 2)
    (5, "0.10", 1),         # 0.5 -> 1 (banker's rounding would give 0)
    (4, "0.10", 0),         # 0.4 -> 0
    (0, "0.20", 0),
    (123, "0", 0),
])
def test_R21_vat_is_rounded_half_up_to_the_cent(subtotal, rate, expected):
    assert vat_cents(subtotal, Decimal(rate)) == expected


@given(subtotal=st.integers(min_value=0, max_value=10**9),
       rate=st.sampled_from(["0", "0.021", "0.055", "0.085", "0.10", "0.20", "0.196"]))
def test_R21_vat_matches_exact_rational_half_up_rounding(subtotal, rate):
    exact = Fraction(subtotal) * Fraction(rate)
    assert vat_cents(subtotal, Decimal(rate)) == floor(exact + Fraction(1, 2))


@given(subtotal=st.integers(min_value=0, max_value=10**9))
def test_R21_vat_is_within_half_a_cent_of_the_exact_amount(subtotal):
    vat = vat_cents(subtotal, Decimal("0.20"))
    assert abs(Fraction(vat) - Fraction(subtotal) / 5) <= Fraction(1, 2)
    assert isinstance(vat, int)


# --- R21 lines ---------------------------------------------------------------------------------

def test_R21_yearly_lines_are_the_plan_then_each_option_at_its_yearly_price():
    plan = Plan(id="p", name="Plan P", yearly_price_cents=1000, storage_mb=1, mailboxes=1,
                mysql_databases=0, php=True, cgi_perl=False, options=("o1", "o2"))
    options = [Option(id="o1", name="O1", yearly_price_cents=200), Option(id="o2", name="O2", yearly_price_cents=30)]
    lines = yearly_lines(plan, options)
    assert [(l.code, l.quantity, l.unit_cents) for l in lines] == [
        ("plan:p", 1, 1000), ("option:o1", 1, 200), ("option:o2", 1, 30)]
    assert all("12 mois" in l.description for l in lines)


def test_R21_line_total_is_quantity_times_unit_price():
    assert InvoiceLine("option:pop", "POP", 3, 600).total_cents == 1800


# --- R22 invoice contents ----------------------------------------------------------------------

def test_R22_invoice_totals_are_lines_plus_vat_shown_apart():
    lines = [InvoiceLine("plan:x", "X", 1, 5988), InvoiceLine("option:a", "A", 1, 1200)]
    invoice = _draft(lines)
    assert invoice.subtotal_cents == 7188
    assert invoice.vat_cents == 1438
    assert invoice.total_cents == 7188 + 1438
    assert invoice.lines == tuple(lines)
    assert invoice.currency == "EUR"
    assert invoice.issue_date == ISSUE and invoice.due_date == ISSUE


def test_R22_vat_is_computed_on_the_subtotal_not_line_by_line():
    # Three lines of 5 cents at 10 %: per line 0.5 -> 1 each (3), on the total 1.5 -> 2.
    invoice = _draft([InvoiceLine(f"l{i}", "x", 1, 5) for i in range(3)], vat_rate=Decimal("0.10"))
    assert invoice.vat_cents == 2


def test_R22_invoice_with_quantities_sums_every_line():
    invoice = _draft([InvoiceLine("a", "a", 2, 100), InvoiceLine("b", "b", 3, 10)])
    assert invoice.subtotal_cents == 230


def test_R22_invoice_without_lines_is_refused():
    with pytest.raises(ValueError):
        _draft([])


def test_R22_due_date_before_issue_date_is_refused():
    with pytest.raises(ValueError):
        _draft([InvoiceLine("a", "a", 1, 100)], due=ISSUE - timedelta(days=1))


def test_R22_due_date_after_issue_date_is_accepted():
    invoice = _draft([InvoiceLine("a", "a", 1, 100)], due=ISSUE + timedelta(days=30))
    assert invoice.due_date == date(2026, 12, 27)


def test_R22_R24_invoice_carries_the_late_penalty_rate():
    invoice = _draft([InvoiceLine("a", "a", 1, 100)], penalty=Decimal("19.95"))
    assert invoice.late_penalty_rate_percent == Decimal("19.95")


def test_R24_professional_invoice_carries_the_40_euro_recovery_indemnity():
    assert _draft([InvoiceLine("a", "a", 1, 100)], professional=True).professional_recovery_indemnity_cents == 4000


def test_R24_consumer_invoice_carries_no_recovery_indemnity():
    assert _draft([InvoiceLine("a", "a", 1, 100)], professional=False).professional_recovery_indemnity_cents == 0


def test_R24_recovery_indemnity_is_not_part_of_the_invoice_total():
    invoice = _draft([InvoiceLine("a", "a", 1, 100)], professional=True)
    assert invoice.total_cents == invoice.subtotal_cents + invoice.vat_cents


def test_R22_invoice_draft_is_immutable():
    invoice = _draft([InvoiceLine("a", "a", 1, 100)])
    with pytest.raises(AttributeError):
        invoice.total_cents = 0  # type: ignore[misc]


# --- R22 numbering -----------------------------------------------------------------------------

def test_R22_first_number_of_the_sequence_is_1():
    assert next_sequence_value(None) == 1


@given(st.integers(min_value=1, max_value=10**7))
def test_R22_next_number_follows_the_last_issued_without_gap(last):
    assert next_sequence_value(last) == last + 1


def test_R22_a_run_of_invoices_is_numbered_1_to_n_without_gap_or_duplicate():
    issued, last = [], None
    for _ in range(50):
        last = next_sequence_value(last)
        issued.append(invoice_number("F", last))
    assert [int(n[1:]) for n in issued] == list(range(1, 51))
    assert len(set(issued)) == 50


@pytest.mark.parametrize("value", [0, -1])
def test_R22_sequence_value_below_1_is_refused(value):
    with pytest.raises(ValueError):
        invoice_number("F", value)


def test_R22_invoice_number_carries_the_prefix_and_the_sequence_value():
    number = invoice_number("F", 1)
    assert number.startswith("F")
    assert int(number[1:]) == 1
    assert number == "F00000001"


@given(st.integers(min_value=1, max_value=10**8 - 2), st.integers(min_value=1, max_value=10**8 - 1))
def test_R22_printed_numbers_sort_in_issue_order(a, b):
    if a == b:
        b += 1
    low, high = sorted((a, b))
    assert invoice_number("F", low) < invoice_number("F", high)
