"""R13 withdrawal rules (R32 first use, R22 credit note to the cent), as pure functions."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.billing import InvoiceLine, draft_invoice, vat_cents
from chalicelib.domain.calendar import PARIS, is_business_day, withdrawal_deadline
from chalicelib.domain.catalog import Catalog
from chalicelib.domain.errors import ConflictError, RuleViolationError
from chalicelib.domain.withdrawal import (KEPT_DOMAIN_FEES_CODE, check_withdrawal, last_withdrawal_day,
                                          withdrawal_credit)

VALIDATED = datetime(2026, 11, 28, 15, 30, tzinfo=PARIS)  # a Saturday: day 15 is Sunday 13 December


def refusal(**changes):
    args = dict(customer_kind="consumer", validated_at=VALIDATED, now=VALIDATED + timedelta(days=3),
                contract_status="active", first_used_at=None, first_use=None)
    with pytest.raises((RuleViolationError, ConflictError)) as caught:
        check_withdrawal(**{**args, **changes})
    return type(caught.value), caught.value.code, caught.value.message


def test_R13_a_consumer_withdraws_an_unused_contract_within_the_window():
    deadline = check_withdrawal(customer_kind="consumer", validated_at=VALIDATED, now=VALIDATED + timedelta(days=3),
                                contract_status="active")
    assert deadline == withdrawal_deadline(VALIDATED)


def test_R13_the_last_day_moves_to_the_monday_when_day_15_is_a_sunday():
    day_15 = VALIDATED.date() + timedelta(days=15)
    assert day_15.weekday() == 6 and is_business_day(day_15 + timedelta(days=1))
    assert last_withdrawal_day(VALIDATED) == day_15 + timedelta(days=1)
    monday_evening = datetime.combine(day_15 + timedelta(days=1), datetime.max.time(), tzinfo=PARIS)
    check_withdrawal(customer_kind="consumer", validated_at=VALIDATED, now=monday_evening, contract_status="active")
    tuesday = datetime.combine(day_15 + timedelta(days=2), datetime.min.time(), tzinfo=PARIS)
    kind, code, message = refusal(now=tuesday)
    assert (kind, code) == (RuleViolationError, "withdrawal_period_over")
    assert withdrawal_deadline(VALIDATED).isoformat() in message and "2026-12-14" in message


def test_R13_professionals_have_no_withdrawal_right():
    assert refusal(customer_kind="professional")[:2] == (RuleViolationError,
                                                         "withdrawal_not_available_to_professionals")


def test_R32_first_use_ends_the_right_and_the_refusal_says_when_and_how():
    used = VALIDATED + timedelta(days=2)
    kind, code, message = refusal(first_used_at=used, first_use={"usage": "ftp_upload", "node_id": "node-1"})
    assert (kind, code) == (ConflictError, "withdrawal_right_lost_by_first_use")
    assert "ftp_upload" in message and "node-1" in message and used.isoformat() in message


@pytest.mark.parametrize("status", ["cancelled", "expired", "withdrawn", "scheduled", "suspended", "void"])
def test_R13_only_states_that_accept_withdrawn_can_be_withdrawn(status):
    assert refusal(contract_status=status)[:2] == (ConflictError, "not_withdrawable")


def test_R13_a_renewal_is_not_withdrawable():
    assert refusal(is_renewal=True, contract_status="awaiting_payment")[1] == "not_withdrawable"


def invoice_of(prices: list[int], rate: Decimal):
    return draft_invoice([InvoiceLine(f"l{i}", f"ligne {i}", 1, p) for i, p in enumerate(prices)], vat_rate=rate,
                         currency="EUR", issue_date=VALIDATED.date(), due_date=VALIDATED.date(),
                         late_penalty_rate_percent=Decimal("19.95"), professional=False)


def credit_of(draft, rate, **kwargs):
    lines = [{"code": l.code, "description": l.description, "quantity": l.quantity, "unit_cents": l.unit_cents,
              "total_cents": l.total_cents} for l in draft.lines]
    return withdrawal_credit(lines, subtotal_cents=draft.subtotal_cents, vat_cents_=draft.vat_cents,
                             total_cents=draft.total_cents, vat_rate=rate, **kwargs)


RATES = st.sampled_from([Decimal("0.20"), Decimal("0.10"), Decimal("0.055"), Decimal("0.021"), Decimal("0")])


@given(prices=st.lists(st.integers(1, 500_000), min_size=1, max_size=6), rate=RATES, fees=st.integers(0, 5_000),
       refunded=st.integers(0, 1_000))
def test_R13_R22_paid_invoice_credit_keeps_only_spent_domain_fees_exact_to_the_cent(prices, rate, fees, refunded):
    draft = invoice_of(prices, rate)
    credit = credit_of(draft, rate, paid=True, spent_domain_fees_cents=fees, refunded_cents=refunded)
    # The credit note is a document of its own: lines add up, subtotal + VAT = total.
    assert sum(line["total_cents"] for line in credit.lines) == credit.subtotal_cents
    assert all(line["quantity"] * line["unit_cents"] == line["total_cents"] for line in credit.lines)
    assert credit.subtotal_cents + credit.vat_cents == credit.total_cents
    # Invoice + credit note = the domain fees kept, which is itself a correct invoice for them.
    kept_ht = min(fees, draft.subtotal_cents)
    assert credit.kept_subtotal_cents == kept_ht
    assert draft.subtotal_cents + credit.subtotal_cents == kept_ht
    assert draft.vat_cents + credit.vat_cents == credit.kept_vat_cents == min(vat_cents(kept_ht, rate), draft.vat_cents)
    assert draft.total_cents + credit.total_cents == credit.kept_total_cents
    # Its own VAT is within a cent of the VAT of its subtotal (rounding once on each side).
    assert abs(-credit.vat_cents - vat_cents(-credit.subtotal_cents, rate)) <= 1
    # R13: everything paid comes back except the fees spent (and what was already refunded).
    assert credit.refund_cents == max(0, draft.total_cents - credit.kept_total_cents - refunded)
    assert credit.total_cents <= 0 and credit.kept_total_cents >= 0
    if kept_ht:
        assert credit.lines[-1]["code"] == KEPT_DOMAIN_FEES_CODE and credit.lines[-1]["total_cents"] == kept_ht


@given(prices=st.lists(st.integers(1, 500_000), min_size=1, max_size=6), rate=RATES)
def test_R13_R22_without_spent_fees_the_credit_note_is_the_exact_negative_of_the_invoice(prices, rate):
    draft = invoice_of(prices, rate)
    credit = credit_of(draft, rate, paid=True, spent_domain_fees_cents=0)
    assert (credit.subtotal_cents, credit.vat_cents, credit.total_cents) == (
        -draft.subtotal_cents, -draft.vat_cents, -draft.total_cents)
    assert credit.refund_cents == draft.total_cents and credit.kept_total_cents == 0


@given(prices=st.lists(st.integers(1, 500_000), min_size=1, max_size=6), rate=RATES, fees=st.integers(0, 5_000))
def test_R13_R22_an_unpaid_invoice_is_credited_in_full_and_nothing_is_refunded(prices, rate, fees):
    draft = invoice_of(prices, rate)
    credit = credit_of(draft, rate, paid=False, spent_domain_fees_cents=fees)
    assert credit.total_cents == -draft.total_cents and credit.refund_cents == 0 and credit.kept_total_cents == 0


def test_R13_the_catalog_gives_domain_fees_per_registry_with_a_default():
    catalog = Catalog.from_document({"terms_version": "x", "currency": "EUR", "plans": [], "options": [],
                                     "domain_fees_cents": {"default": 800, "eurid": 500}})
    assert (catalog.domain_fees_for("eurid"), catalog.domain_fees_for("afnic")) == (500, 800)
    assert Catalog.from_document({"terms_version": "x", "currency": "EUR", "plans": [], "options": []}
                                 ).domain_fees_for("afnic") == 0


def test_R13_withdrawal_mail_says_what_is_refunded_or_that_nothing_was_paid():
    from chalicelib.service.notice_templates import CURRENT_VERSIONS, render
    base = {"contract_id": "ctr_1", "domain": "dupont.fr", "withdrawn_at": "2026-12-14T17:00:00+00:00",
            "invoice_number": "F00000001", "credit_note_number": "F00000002"}
    version = CURRENT_VERSIONS["withdrawal_confirmed"]
    paid = render("withdrawal_confirmed", version, {**base, "refund_cents": 7666, "kept_domain_fees_cents": 960,
                                                     "paid_cents": 8626, "space_removed": True}).body
    assert "Nous vous remboursons 76,66" in paid and "9,60" in paid and "désinstallé" in paid
    assert "corrigée par l'avoir n° F00000002" in paid
    unpaid = render("withdrawal_confirmed", version, {**base, "refund_cents": 0, "kept_domain_fees_cents": 0,
                                                       "paid_cents": 0, "space_removed": False}).body
    assert "rien à vous rembourser" in unpaid and "annulée par l'avoir n° F00000002" in unpaid
    assert "remboursons" not in unpaid and "désinstallé" not in unpaid


def test_R27_the_charge_of_a_refund_event_is_read_leniently():
    import json

    from chalicelib.contracts.payments import StripeEvent
    from devstack.pay import charge_refunded_event
    event = StripeEvent.model_validate_json(charge_refunded_event("pi_1", 300, amount=1000))
    charge = event.charge()
    assert (charge.payment_intent, charge.amount_refunded, charge.refunds) == ("pi_1", 300, None)
    raw = json.loads(charge_refunded_event("pi_2", 1000, refunds=[400, 600]))
    raw["data"]["object"]["payment_intent"] = {"id": "pi_2", "object": "payment_intent"}  # expanded
    raw["data"]["object"]["unknown_new_field"] = {"x": 1}
    charge = StripeEvent.model_validate(raw).charge()
    assert charge.payment_intent == "pi_2" and [r.amount for r in charge.refunds.data] == [400, 600]
