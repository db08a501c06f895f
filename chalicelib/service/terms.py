"""R58: a contract's effective terms, resolved from its three documents (26.2)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..adapters.models import ContractModel, InvoiceModel, OrderModel
from ..bootstrap import Services
from ..domain.terms import LAYERS, general_terms_layer, resolve_terms, sources, technical_description

GENERAL_TERMS_PATH = Path(__file__).resolve().parent.parent / "data" / "general_terms.json"


@lru_cache(maxsize=1)
def general_terms() -> tuple[str, dict[str, Any]]:
    """R58: (version, values) of the general terms document, read once per process."""
    return general_terms_layer(json.loads(GENERAL_TERMS_PATH.read_text(encoding="utf-8")))


def subscription_form(contract: ContractModel, order: Any, invoice: Any) -> dict[str, Any]:
    """R58: what the subscription (or re-subscription, R18) form of the contract states: the
    order's plan, billing period, payment method, domain and accepted terms, the options the
    contract holds (R33 adds to them), its dates, and the totals of its first invoice."""
    form: dict[str, Any] = {
        "customer_id": contract.customer_id, "plan": contract.plan, "options": sorted(contract.options),
        "domain_name": contract.domain_name, "starts_on": contract.starts_on, "ends_on": contract.ends_on,
        "billing_period": contract.billing_period,
    }
    if order is not None:
        acceptance = order.acceptance
        form.update(order_id=order.order_id, plan=order.plan, billing_period=order.billing_period,
                    payment_method=order.payment_method,
                    terms_version=acceptance.terms_version if acceptance else None,
                    terms_accepted_at=acceptance.accepted_at if acceptance else None)
    if invoice is not None:
        form.update(currency=invoice.currency, invoice_number=invoice.number,
                    invoice_subtotal_cents=int(invoice.subtotal_cents), invoice_vat_cents=int(invoice.vat_cents),
                    invoice_total_cents=int(invoice.total_cents), invoice_due_date=invoice.due_date)
    return form


def contract_technical_description(contract: ContractModel, services: Services) -> dict[str, Any]:
    """R58: the catalog's description of the contract's plan with its options; for a plan no
    longer offered, the limits recorded on the contract when it was made."""
    catalog = services.catalog
    plan = catalog.plans.get(contract.plan)
    if plan is None:
        return {"storage_mb": int(contract.storage_mb), "mailboxes": int(contract.mailboxes),
                "mysql_databases": int(contract.mysql_databases), "php": bool(contract.php)}
    return technical_description(plan, [catalog.options[o] for o in contract.options if o in catalog.options])


def contract_terms(contract: ContractModel, services: Services) -> dict[str, Any]:
    """R58: the effective terms of a contract; each value names the layer it came from
    (general_terms < subscription_form < technical_description)."""
    order, invoice = services.store.get_together((OrderModel, contract.order_id), (InvoiceModel, contract.invoice_id))
    version, general = general_terms()
    resolved = resolve_terms(general, subscription_form(contract, order, invoice),
                             contract_technical_description(contract, services))
    return {"contract_id": contract.contract_id, "status": contract.status, "general_terms_version": version,
            "layers": list(LAYERS), "terms": resolved, "decided_by": sources(resolved)}
