"""R14: an order not completed within one month of its registration expires.

Its contract is cancelled, its domain claim released, and its invoice corrected by a credit note
from the same gapless sequence (R22: invoices are immutable). A payment arriving afterwards finds
the invoice cancelled and is recorded for refund (R27)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from ..adapters.dynamo_store import DynamoStore, Effect, new_id
from ..adapters.models import ContractModel, DomainModel, InvoiceModel, OrderModel, TimerModel
from ..bootstrap import Services
from ..domain.billing import invoice_number, next_sequence_value
from ..domain.calendar import PARIS, utc_iso
from ..domain.deadlines import order_expiry_at
from ..domain.contracts import ContractEvent, next_state, states_accepting
from ..domain.evidence import state_change
from .timers import timer_handler, timer_row

ORDER_EXPIRY = "order_expiry"


def order_expiry_timer(order_id: str, customer_id: str, registered_at: datetime) -> TimerModel:
    """R14: due one month after the order's registration (same wall time in Paris)."""
    return timer_row(ORDER_EXPIRY, order_id, customer_id, order_expiry_at(registered_at), registered_at)


def credit_note(invoice: InvoiceModel, sequence: int, prefix: str, now: datetime, reason: str) -> InvoiceModel:
    """R22: a credit note cancelling `invoice`: the same lines negated, its own number."""
    return InvoiceModel(
        invoice_id=new_id("crn"), number=invoice_number(prefix, sequence), sequence=sequence, kind="credit_note",
        customer_id=invoice.customer_id, order_id=invoice.order_id, contract_id=invoice.contract_id,
        status="issued", lines=[{**line, "unit_cents": -line["unit_cents"], "total_cents": -line["total_cents"]}
                                for line in invoice.lines],
        subtotal_cents=-int(invoice.subtotal_cents), vat_rate=invoice.vat_rate, vat_cents=-int(invoice.vat_cents),
        total_cents=-int(invoice.total_cents), currency=invoice.currency, issue_date=now.astimezone(PARIS).date()
        .isoformat(), due_date=now.astimezone(PARIS).date().isoformat(),
        late_penalty_rate_percent=invoice.late_penalty_rate_percent, recovery_indemnity_cents=0,
        credits_invoice_id=invoice.invoice_id, reason=reason, created_at=utc_iso(now), bill_to=invoice.bill_to)


@timer_handler(ORDER_EXPIRY)
def on_order_expiry(timer: TimerModel, services: Services) -> Optional[Effect]:
    store: DynamoStore = services.store
    order = store.get_order(timer.target_id)
    if order is None or order.status not in ("awaiting_payment", "void"):
        return None  # paid (or already ended): nothing expires; a void order (R11) not regularised does
    now, effect = services.clock.now(), Effect()
    invoice, contract = store.get_invoice_and_contract(order.invoice_id, order.contract_id)
    last = store.last_invoice_sequence()
    note = credit_note(invoice, next_sequence_value(last), services.settings.invoice_number_prefix, now,
                       reason="order_expired")
    store.claim_sequence(effect, last, int(note.sequence), now)
    effect.save("credit_note", note, InvoiceModel.invoice_id.does_not_exist())
    effect.update("invoice", InvoiceModel(invoice_id=invoice.invoice_id),
                  [InvoiceModel.status.set("cancelled"), InvoiceModel.credited_by.set(note.invoice_id)],
                  InvoiceModel.status == "issued")
    effect.update("order", OrderModel(order_id=order.order_id),
                  [OrderModel.status.set("expired"), OrderModel.updated_at.set(utc_iso(now))],
                  OrderModel.status == order.status)
    cancelled = next_state(contract.status, ContractEvent.ORDER_CANCELLED)
    effect.update("contract", ContractModel(contract_id=contract.contract_id),
                  [ContractModel.status.set(cancelled.value), ContractModel.updated_at.set(utc_iso(now))],
                  ContractModel.status.is_in(*[s.value for s in states_accepting(ContractEvent.ORDER_CANCELLED)]))
    effect.delete("domain", DomainModel(domain_name=contract.domain_name),
                  DomainModel.contract_id == contract.contract_id)
    common = dict(contract_id=contract.contract_id, order_id=order.order_id)
    effect.evidence += [
        state_change(order.customer_id, now, "system", "order", order.order_id, order.status, "expired",
                     reason="offer_validity_elapsed", **common),
        state_change(order.customer_id, now, "system", "contract", contract.contract_id, contract.status,
                     cancelled.value, reason="order_expired", **common),
        state_change(order.customer_id, now, "system", "invoice", invoice.invoice_id, invoice.status, "cancelled",
                     credit_note=note.number, **common),
        state_change(order.customer_id, now, "system", "credit_note", note.invoice_id, None, "issued",
                     action="credit_note.issued", number=note.number, total_cents=int(note.total_cents), **common),
    ]
    return effect
