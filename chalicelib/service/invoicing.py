"""Issuing invoices after the order (R22): an invoice row from a draft, numbered in the same write.

Every later invoice (an option, R33; ...) takes the next number of the one gapless sequence in
the transaction that stores it; a writer that lost the race for the number builds its write
again on the new last number.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict, TransactionContention
from ..adapters.models import InvoiceModel
from ..bootstrap import Services
from ..domain.billing import InvoiceDraft, invoice_number, next_sequence_value
from ..domain.calendar import utc_iso


def invoice_row(draft: InvoiceDraft, *, invoice_id: str, sequence: int, prefix: str, customer_id: str,
                order_id: str, contract_id: str, bill_to: dict, now, purpose: Optional[str] = None,
                **extra: Any) -> InvoiceModel:
    """R22: the stored invoice, as printed: number, lines, VAT apart, due date, penalty rate."""
    return InvoiceModel(
        invoice_id=invoice_id, number=invoice_number(prefix, sequence), sequence=sequence,
        customer_id=customer_id, order_id=order_id, contract_id=contract_id, status="issued",
        lines=[{"code": l.code, "description": l.description, "quantity": l.quantity, "unit_cents": l.unit_cents,
                "total_cents": l.total_cents} for l in draft.lines],
        subtotal_cents=draft.subtotal_cents, vat_rate=str(draft.vat_rate), vat_cents=draft.vat_cents,
        total_cents=draft.total_cents, currency=draft.currency, issue_date=draft.issue_date.isoformat(),
        due_date=draft.due_date.isoformat(), late_penalty_rate_percent=str(draft.late_penalty_rate_percent),
        recovery_indemnity_cents=draft.professional_recovery_indemnity_cents, bill_to=bill_to,
        purpose=purpose, created_at=utc_iso(now), **extra)


def commit_numbered(services: Services, build: Callable[[int], Effect], now, attempts: int = 25) -> Effect:
    """Build (with the next sequence value) and commit an effect that claims that number, again
    on a fresh number while another writer holds the sequence. Conflicts other than the sequence
    are the caller's (raised as TransactionConflict)."""
    from .orders import SequenceBusyError, backoff
    store = services.store
    for attempt in range(attempts):
        if attempt:
            backoff(attempt)
        last = store.last_invoice_sequence()
        effect = build(next_sequence_value(last))
        store.claim_sequence(effect, last, next_sequence_value(last), now)
        try:
            store.apply(effect)
        except TransactionContention:
            continue
        except TransactionConflict as conflict:
            if conflict.failed == {"sequence"}:
                continue
            raise
        return effect
    raise SequenceBusyError("too many concurrent invoices; retry the same request")
