"""Bank transfers recorded by an operator (R21 payment by transfer, R27 exactly once).

A transfer takes the same path as a card payment (`ReceivedPayment`); its exactly-once key is the
bank's reference, so recording the same statement line twice changes nothing.
"""
from __future__ import annotations

from typing import Any, Optional

from ..bootstrap import Services
from ..contracts.admin_v1 import BankTransferV1
from ..domain.calendar import paris_date
from ..domain.errors import InvalidInputError, NotFoundError
from .payments import ReceivedPayment, apply_payment


def record_bank_transfer(invoice_id: str, body: BankTransferV1, services: Services, *, operator: str,
                         correlation_id: Optional[str] = None) -> dict[str, Any]:
    """Apply a transfer to the invoice it pays; returns the outcome and the invoice's status."""
    invoice = services.store.get_invoice(invoice_id)
    if invoice is None:
        raise NotFoundError(f"no invoice {invoice_id}", code="invoice_not_found")
    if body.received_on > paris_date(services.clock.now()):
        raise InvalidInputError("received_on is in the future: give the value date on the statement",
                                code="invalid_received_on", fields={"received_on": "not after today"})
    payment = ReceivedPayment(
        payment_id=f"transfer:{body.reference}", provider="bank_transfer", event_type="bank_transfer.received",
        reference=body.reference, amount_cents=body.amount_cents, currency=body.currency, invoice_id=invoice_id,
        contract_id=invoice.contract_id, actor=f"operator:{operator}", received_on=body.received_on)
    outcome = apply_payment(payment, services, correlation_id)
    stored = services.store.get_payment(payment.payment_id)
    if stored is not None and stored.invoice_id != invoice_id:
        outcome = "reference_already_used"
    return {"outcome": outcome, "payment_id": payment.payment_id,
            "invoice": {"id": invoice_id, "status": services.store.get_invoice(invoice_id).status}}
