"""Use case: a refund reported by the payment provider, Stripe `charge.refunded` (R27, R13).

The Charge names its PaymentIntent; our payment rows carry that id as `provider_reference` (GSI
`reference`), so the payment it refunds is found without a scan. Then, in one transaction:

- the refund is recorded once per event id (R27): a PaymentModel row keyed on the event id,
  outcome `refunded`, whose `amount_cents` is what this event adds to the payment's refunded
  total: positive cents, money going back to the customer, and 0 for an event that arrives after
  one reporting a larger cumulative total (Stripe's `amount_refunded` is cumulative). The refund
  rows of a payment therefore sum to what the provider refunded, whatever the delivery order;
- the payment's `refunded_cents` and, when that payment paid an invoice, the invoice's
  `refunded_cents` are *set* to the charge's cumulative `amount_refunded`, never added to, and
  only when larger, so duplicates and out-of-order deliveries converge on the provider's figure
  (the payment row's value is the optimistic lock: two events of one charge cannot both win);
- the refunds due on that payment (R13 withdrawal rows `refund_due:<credit note id>`) that the
  refunded total now covers, oldest first, get outcome `refunded` and their `refund_due` alert is
  closed (moved from `open` to `closed`);
- evidence entries (R56).

A refund that matches no payment of ours (unknown PaymentIntent, other currency) is recorded once
with outcome `refund_unmatched` and an operator alert.
"""
from __future__ import annotations

from typing import Optional

from ..adapters.dynamo_store import Effect, TransactionConflict, TransactionContention, new_alert
from ..adapters.models import AlertModel, InvoiceModel, PaymentModel
from ..bootstrap import Services
from ..contracts.payments import Charge, StripeEvent
from ..domain.calendar import utc_iso
from ..domain.evidence import state_change
from ..observability import logger
from .payments import SUCCEEDED

REFUND_DUE = "refund_due"
ATTEMPTS = 8
ACTOR = "payment_provider:stripe"


def apply_refund_event(event: StripeEvent, services: Services, correlation_id: Optional[str] = None) -> str:
    """R27: apply one `charge.refunded` event exactly once; returns "refunded", "duplicate" or
    "refund_unmatched"."""
    from .orders import backoff
    store = services.store
    if store.get_payment(event.id) is not None:
        return "duplicate"
    charge = event.charge()
    rows = store.payments_by_reference(charge.payment_intent) if charge.payment_intent else []
    paid = sorted((r for r in rows if r.event_type == SUCCEEDED and r.currency.upper() == charge.currency.upper()),
                  key=lambda r: (r.outcome not in ("applied", "credited"), r.received_at))
    if not paid:
        return _unmatched(event, charge, services)
    payment_id = paid[0].payment_event_id
    due_ids = [r.payment_event_id for r in sorted(rows, key=lambda r: r.received_at) if r.event_type == REFUND_DUE]
    for attempt in range(ATTEMPTS):
        if attempt:
            backoff(attempt)
        effect = _refund_effect(event, charge, payment_id, due_ids, services, correlation_id)
        try:
            store.apply(effect)
        except TransactionContention:
            continue
        except TransactionConflict as conflict:
            if "refund" in conflict.failed:
                return "duplicate"
            continue  # another refund event of the charge, or a due closed meanwhile: read again
        logger.info("refund recorded", event_id=event.id, charge_id=charge.id, payment_id=payment_id,
                    amount_refunded=charge.amount_refunded)
        return "refunded"
    raise RuntimeError(f"refund {event.id} kept conflicting; the queue will retry it")


def _refund_effect(event: StripeEvent, charge: Charge, payment_id: str, due_ids: list[str], services: Services,
                   correlation_id: Optional[str]) -> Effect:
    store, now = services.store, services.clock.now()
    at = utc_iso(now)
    payment = store.get_payment(payment_id)
    invoice = store.get_invoice(payment.invoice_id) if payment.invoice_id else None
    pays_invoice = invoice is not None and invoice.payment_event_id == payment.payment_event_id
    previous = int(payment.refunded_cents or 0)
    total = max(previous, int(charge.amount_refunded))
    effect = Effect()
    effect.save("refund", PaymentModel(
        payment_event_id=event.id, provider="stripe", event_type=event.type, outcome="refunded",
        invoice_id=payment.invoice_id, amount_cents=total - previous, currency=charge.currency.upper(),
        provider_reference=charge.payment_intent, contract_id=payment.contract_id, received_at=at),
        PaymentModel.payment_event_id.does_not_exist())
    unchanged = (PaymentModel.refunded_cents == previous) if previous else (
        PaymentModel.refunded_cents.does_not_exist() | (PaymentModel.refunded_cents == 0))
    effect.update("payment", PaymentModel(payment_event_id=payment.payment_event_id),
                  [PaymentModel.refunded_cents.set(total)], unchanged)
    customer_id = invoice.customer_id if invoice is not None else None
    common = dict(correlation_id=correlation_id, contract_id=payment.contract_id,
                  order_id=invoice.order_id if invoice is not None else None)
    if pays_invoice and total > int(invoice.refunded_cents or 0):
        effect.update("invoice", InvoiceModel(invoice_id=invoice.invoice_id), [InvoiceModel.refunded_cents.set(total)])
    if customer_id:
        effect.evidence.append(state_change(
            customer_id, now, ACTOR, "payment", event.id, None, "refunded", action="payment.refunded",
            charge_id=charge.id, payment_intent=charge.payment_intent, refunds_payment=payment.payment_event_id,
            amount_refunded_cents=int(charge.amount_refunded), refunded_total_cents=total,
            added_cents=total - previous, invoice_id=payment.invoice_id, **common))
    budget = total
    for due_id in due_ids:
        due = store.get_payment(due_id)
        if due is None:
            continue
        amount = int(due.amount_cents)
        if due.outcome != REFUND_DUE:  # already settled by an earlier refund of this payment
            budget -= amount
            continue
        if budget < amount:
            break
        budget -= amount
        _settle_due(effect, due, event, total, now, customer_id, common)
    return effect


def _settle_due(effect: Effect, due: PaymentModel, event: StripeEvent, total: int, now, customer_id: Optional[str],
                common: dict) -> None:
    """R13: the refund owed after a withdrawal was made: the due row and its alert are closed."""
    from .withdrawal import refund_alert_key
    credit_note_id = due.payment_event_id.split(":", 1)[1]
    effect.update(f"due:{due.payment_event_id}", PaymentModel(payment_event_id=due.payment_event_id),
                  [PaymentModel.outcome.set("refunded")], PaymentModel.outcome == REFUND_DUE)
    alert_id = refund_alert_key(credit_note_id)
    effect.delete(f"open_alert:{alert_id}", AlertModel(state="open", alert_id=alert_id))
    closed = new_alert(REFUND_DUE, f"refund of {int(due.amount_cents)} cents made (event {event.id}, refunded total "
                       f"{total} cents)", now, alert_key=alert_id, refund_due=due.payment_event_id,
                       refund_event_id=event.id, invoice_id=due.invoice_id, contract_id=due.contract_id)
    closed.state = "closed"
    effect.save(f"closed_alert:{alert_id}", closed)
    if customer_id:
        effect.evidence.append(state_change(customer_id, now, ACTOR, "payment", due.payment_event_id, REFUND_DUE,
                                            "refunded", action="refund.made", amount_cents=int(due.amount_cents),
                                            refund_event_id=event.id, **common))


def _unmatched(event: StripeEvent, charge: Charge, services: Services) -> str:
    """R27: a refund of a payment we do not know is recorded once and alerted."""
    now = services.clock.now()
    row = PaymentModel(
        payment_event_id=event.id, provider="stripe", event_type=event.type, outcome="refund_unmatched",
        invoice_id=None, amount_cents=int(charge.amount_refunded), currency=charge.currency.upper(),
        provider_reference=charge.payment_intent or charge.id, received_at=utc_iso(now))
    alert = new_alert("refund_unmatched", f"Stripe refunded {charge.amount_refunded} {charge.currency.upper()} on "
                      f"charge {charge.id} (PaymentIntent {charge.payment_intent}) that matches no payment recorded "
                      "here", now, event_id=event.id, charge_id=charge.id, payment_intent=charge.payment_intent)
    if not services.store.record_unapplied_payment(row, alert, []):
        return "duplicate"
    logger.warning("refund matches no payment", event_id=event.id, charge_id=charge.id)
    return "refund_unmatched"
