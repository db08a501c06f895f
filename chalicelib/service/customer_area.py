"""What a customer sees of its own objects (R04, R06): contracts, invoices, domains.

Every read goes through the `customer` index of its table with the caller's customer id, so a
customer can only ever list its own objects (OWASP API1); a beneficiary (R06) sees only the
contracts it was named on, and their domains."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional

from ..adapters.models import ContractModel, DomainModel, InvoiceModel
from ..bootstrap import Services
from ..domain.access import SUBSCRIBER, Principal
from .notice_templates import DOCUMENT_VERSIONS


def _visible(principal: Principal, contract_id: str) -> bool:
    return principal.role == SUBSCRIBER or contract_id in principal.contract_ids


def contract_summary(contract: ContractModel, services: Services) -> dict[str, Any]:
    """A contract as its customer sees it (no node internals)."""
    return {"contract_id": contract.contract_id, "status": contract.status, "plan": contract.plan,
            "options": list(contract.options or ()), "domain": contract.domain_name,
            "starts_on": contract.starts_on, "ends_on": contract.ends_on, "billing_period": contract.billing_period,
            "limits": {"storage_mb": int(contract.storage_mb), "mailboxes": int(contract.mailboxes),
                       "mysql_databases": int(contract.mysql_databases), "php": bool(contract.php)},
            "holds": contract.holds or {}, "first_used_at": contract.first_used_at,
            "renewal_contract_id": contract.renewal_contract_id, "ended_reason": contract.ended_reason}


def contracts_of(principal: Principal, services: Services) -> list[dict[str, Any]]:
    return [contract_summary(c, services) for c in ContractModel.by_customer.query(principal.customer_id)
            if _visible(principal, c.contract_id)]


def invoices_of(customer_id: str, services: Services) -> list[dict[str, Any]]:
    return [{"id": i.invoice_id, "number": i.number, "kind": i.kind, "status": i.status, "purpose": i.purpose,
             "contract_id": i.contract_id, "issue_date": i.issue_date, "due_date": i.due_date,
             "total_cents": int(i.total_cents), "currency": i.currency, "paid_at": i.paid_at,
             "links": {"self": f"/me/invoices/{i.invoice_id}"}}
            for i in InvoiceModel.by_customer.query(customer_id)]


def domains_of(principal: Principal, services: Services) -> list[dict[str, Any]]:
    from .domains import domain_view
    return [{"domain_name": d.domain_name, "contract_id": d.contract_id, "registry": d.registry,
             "action": d.action, "created_at": d.created_at, **domain_view(d)}
            for d in DomainModel.by_customer.query(principal.customer_id) if _visible(principal, d.contract_id)]


def contract_domain(contract: ContractModel) -> Optional[dict[str, Any]]:
    """Issue 4: the contract's domain as the customer sees it (status, expiry, pending operation)."""
    from .domains import _get_domain, domain_view
    domain = _get_domain(contract.domain_name)
    if domain is None or domain.customer_id != contract.customer_id:
        return None
    return domain_view(domain)


@lru_cache(maxsize=1)
def _html_environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from .notice_templates import TEMPLATES_DIR, euros
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["euros"] = euros
    return env


INVOICE_HTML_VERSION = DOCUMENT_VERSIONS["invoice"]


def invoice_html(invoice: InvoiceModel, services: Services) -> str:
    """The invoice as a printable French HTML page (R22 mentions: seller, buyer, number, dates,
    lines, VAT, total, late-payment penalty rate and indemnity); every value is escaped."""
    s = services.settings
    seller = {"name": s.seller_legal_name, "address": s.seller_address, "siren": s.seller_siren,
              "vat_number": s.seller_vat_number, "email": s.seller_email}
    template = _html_environment().get_template(f"invoice.v{INVOICE_HTML_VERSION}.html.j2")
    return template.render(invoice=invoice, lines=invoice.lines or [], bill_to=invoice.bill_to or {}, seller=seller,
                           version=INVOICE_HTML_VERSION)
