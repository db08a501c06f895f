"""R13 (terms 1.14): the pre-contract information of an order, the document linked from it.

Consumers get, before being bound, the seller's identity, the price, the payment, execution and
delivery terms, the withdrawal terms and the contract's duration. The document is built from the
order as stored (its invoice holds the prices that bind, R14), as JSON and, with
`Accept: text/plain`, as French text from the versioned template
`templates/pre_contract_information.v<version>.txt.j2`.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..adapters.models import ContractModel, CustomerModel, InvoiceModel, OrderModel
from ..bootstrap import Services
from ..domain.billing import vat_cents
from ..domain.calendar import PARIS, WITHDRAWAL_CLEAR_DAYS, add_months, parse_iso, withdrawal_deadline
from ..domain.withdrawal import last_withdrawal_day
from .notice_templates import DOCUMENT_VERSIONS, render_document
from .orders import order_links

DOCUMENT = "pre_contract_information"
TERM_MONTHS = 12          # R16
OFFER_VALIDITY_MONTHS = 1  # R14


def pre_contract_information(order: OrderModel, services: Services) -> dict[str, Any]:
    """R13: the document of `order` (JSON-ready: amounts in integer cents, instants ISO 8601)."""
    s, catalog = services.settings, services.catalog
    contract, invoice, customer = services.store.get_together(
        (ContractModel, order.contract_id), (InvoiceModel, order.invoice_id), (CustomerModel, order.customer_id))
    consumer = customer.kind == "consumer"
    plan = catalog.plans.get(order.plan)
    options = [catalog.options[o] for o in order.options if o in catalog.options]
    validated_at = parse_iso(order.acceptance.accepted_at)
    deadline = withdrawal_deadline(validated_at)
    rate = Decimal(invoice.vat_rate)
    fees = catalog.domain_fees_for(order.registry)
    monthly = order.billing_period == "monthly"
    periods = 12 if monthly else 1
    seller = {"legal_name": s.seller_legal_name, "address": s.seller_address, "email": s.seller_email,
              "phone": s.seller_phone or None, "siren": s.seller_siren or None,
              "vat_number": s.seller_vat_number or None}
    return {
        "document": DOCUMENT, "version": DOCUMENT_VERSIONS[DOCUMENT], "order_id": order.order_id,
        "terms_version": order.acceptance.terms_version, "customer": {
            "kind": customer.kind, "name": (invoice.bill_to or {}).get("name")},
        "seller": seller,
        "plan": None if plan is None else {
            "id": plan.id, "name": plan.name, "storage_mb": plan.storage_mb, "mailboxes": plan.mailboxes,
            "mysql_databases": plan.mysql_databases, "php": plan.php, "cgi_perl": plan.cgi_perl},
        "options": [{"id": o.id, "name": o.name} for o in options],
        "domain": {"name": order.domain_name, "action": order.domain_action, "registry": order.registry},
        "price": {
            "currency": invoice.currency, "billing_period": order.billing_period,
            "period_months": 1 if monthly else 12, "periods_in_term": periods,
            "lines": [{"description": line["description"], "excl_vat_cents": int(line["total_cents"])}
                      for line in invoice.lines],
            "excl_vat_cents": int(invoice.subtotal_cents), "vat_rate_percent": str(rate * 100),
            "vat_cents": int(invoice.vat_cents), "incl_vat_cents": int(invoice.total_cents),
            "term_incl_vat_cents": int(invoice.total_cents) * periods,
            "domain_fees_included_excl_vat_cents": fees,
            "domain_fees_included_incl_vat_cents": fees + vat_cents(fees, rate),
        },
        "payment": {"in_advance": True, "method": order.payment_method, "invoice_number": invoice.number,
                    "due_date": invoice.due_date},
        "execution": {"starts": "on_payment",
                      "description": "the hosting space is created on a hosting node as soon as the payment is "
                                     "received; its address and FTP access are then sent by email"},
        "duration": {"months": TERM_MONTHS, "starts_on": contract.starts_on, "ends_on": contract.ends_on,
                     "tacit_renewal": False},
        "offer_validity": {"months": OFFER_VALIDITY_MONTHS,
                           "until": add_months(validated_at.astimezone(PARIS).date(), OFFER_VALIDITY_MONTHS)
                           .isoformat()},
        "withdrawal": {
            "available": consumer, "clear_days": WITHDRAWAL_CLEAR_DAYS,
            "validated_at": validated_at.astimezone(PARIS).isoformat(),
            "deadline": deadline.isoformat(), "last_day": last_withdrawal_day(validated_at).isoformat(),
            "lost_at_first_use": True, "first_use": ["ftp_login", "ftp_upload", "mailbox"],
            "refund": "everything paid, except the domain fees once the registry accepted the name",
            "domain_fees_kept_incl_vat_cents": fees + vat_cents(fees, rate),
            "how": order_links(order.order_id, True)["withdrawal"] if consumer else None,
        },
        "communication_costs": "the customer's own Internet access costs only; no surcharge",
    }


def pre_contract_text(document: dict[str, Any]) -> str:
    """The French plain-text rendering of the document."""
    return render_document(DOCUMENT, {"doc": document}, version=document["version"])
