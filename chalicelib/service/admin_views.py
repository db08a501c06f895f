"""Read models for operators."""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from ..bootstrap import Services


def invoice_view(invoice: Any, today: Optional[date] = None) -> Optional[dict[str, Any]]:
    """The invoice as issued, with what it is for (R21 period, R24 penalty, R26 termination) and,
    while it is unpaid after its due date, the days late and the penalty interest accrued to
    `today` (R24; the professional's fixed indemnity is `recovery_indemnity_cents`, shown apart).
    `today` defaults to the business clock's Paris date, read only for such an invoice."""
    if invoice is None:
        return None
    view = {"id": invoice.invoice_id, "number": invoice.number, "status": invoice.status,
            "kind": invoice.kind, "purpose": invoice.purpose,
            "contract_id": invoice.contract_id, "order_id": invoice.order_id,
            "issue_date": invoice.issue_date, "due_date": invoice.due_date, "lines": invoice.lines,
            "period_start": invoice.period_start, "period_end": invoice.period_end,
            "penalty_of": invoice.penalty_of, "details": invoice.details,
            "subtotal_cents": int(invoice.subtotal_cents), "vat_rate": invoice.vat_rate,
            "vat_cents": int(invoice.vat_cents), "total_cents": int(invoice.total_cents),
            "currency": invoice.currency, "late_penalty_rate_percent": invoice.late_penalty_rate_percent,
            "recovery_indemnity_cents": int(invoice.recovery_indemnity_cents), "paid_at": invoice.paid_at,
            # R22 corrections (a credit note names the invoice it corrects) and R13/R27 refunds
            "credits_invoice_id": invoice.credits_invoice_id, "credited_by": invoice.credited_by,
            "reason": invoice.reason, "refunded_cents": int(invoice.refunded_cents or 0)}
    if invoice.status == "issued" and invoice.kind == "invoice":
        from .billing_cycle import accrued_penalty
        if today is None:
            from ..bootstrap import services
            from ..domain.calendar import paris_date
            today = paris_date(services().clock.now())
        view.update(accrued_penalty(invoice, today) or {"days_late": 0, "accrued_penalty_cents": 0})
    return view


def contract_view(contract_id: str, services: Services) -> Optional[dict[str, Any]]:
    store = services.store
    contract = store.get_contract(contract_id)
    if contract is None:
        return None
    from ..adapters.models import DomainModel, InvoiceModel, NodeCommandModel
    from .domains import domain_view
    command, invoice, domain = store.get_together((NodeCommandModel, contract.command_id),
                                                  (InvoiceModel, contract.invoice_id),
                                                  (DomainModel, contract.domain_name))
    from ..domain.calendar import paris_date
    today = paris_date(services.clock.now())
    return {
        "contract_id": contract.contract_id, "status": contract.status, "customer_id": contract.customer_id,
        "order_id": contract.order_id, "plan": contract.plan, "options": list(contract.options),
        "domain": contract.domain_name, "node_id": contract.node_id, "starts_on": contract.starts_on,
        "ends_on": contract.ends_on, "last_error": contract.last_error,
        "first_used_at": contract.first_used_at, "first_use": contract.first_use,  # R32
        "provisioning": None if command is None else {
            "command_id": command.command_id, "status": command.status, "attempts": int(command.attempts),
            "last_error": command.last_error, "issued_at": command.issued_at, "completed_at": command.completed_at},
        "invoice": invoice_view(invoice, today),
        # R21 instalments, R24 penalties, R26 termination: every invoice of the contract, oldest first
        "billing_period": contract.billing_period, "holds": contract.holds or {},
        "ended_reason": contract.ended_reason,
        "invoices": [invoice_view(i, today) for i in store.invoices_of_contract(contract_id)],
        "evidence": store.evidence_for(contract.customer_id, contract_id=contract_id),
        # issue 4: the domain's status and its registry operation in progress (R37-R42)
        "domain_state": domain_view(domain, operator=True) if domain is not None else None,
    }


def order_admin_view(order_id: str, services: Services) -> Optional[dict[str, Any]]:
    store = services.store
    order = store.get_order(order_id)
    if order is None:
        return None
    contract = store.get_contract(order.contract_id)
    return {
        "order_id": order.order_id, "status": order.status, "customer_id": order.customer_id,
        "contract_id": order.contract_id, "contract_status": contract.status if contract else None,
        "plan": order.plan, "options": list(order.options), "domain": order.domain_name,
        "domain_action": order.domain_action, "registry": order.registry,
        "billing_period": order.billing_period, "payment_method": order.payment_method,
        "node_id": contract.node_id if contract else None, "acceptance": order.acceptance.as_dict(),
        "invoice": invoice_view(store.get_invoice(order.invoice_id)),
        "evidence": store.evidence_for(order.customer_id, order_id=order_id),
    }


def evidence_export(customer_id: str, services: Services, now) -> Optional[dict[str, Any]]:
    """R56: a customer's whole evidence log (and the notices sent, R54) as one JSON document, with
    the SHA-256 of its canonical form so a copy handed over as evidence can be checked later."""
    import hashlib
    import json

    from ..domain.calendar import utc_iso
    from .notices import notices_for_customer
    customer = services.store.get_customer(customer_id)
    if customer is None:
        return None
    document = {"customer_id": customer_id, "exported_at": utc_iso(now),
                "entries": services.store.evidence_for(customer_id),
                "notices": notices_for_customer(customer_id)}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return {**document, "sha256": hashlib.sha256(canonical.encode()).hexdigest()}
