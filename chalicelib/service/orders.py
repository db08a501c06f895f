"""Use case: place an order (R09, R10, R22, R34, R56)."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict
from decimal import Decimal
from typing import Any, Optional

from ..adapters.dynamo_store import TransactionConflict, TransactionContention, new_id
from ..adapters.models import ContractModel, CustomerModel, DomainModel, InvoiceModel, OrderModel
from ..bootstrap import Services
from ..domain.billing import invoice_number, next_sequence_value, period_bounds
from ..domain.calendar import utc_iso
from ..domain.errors import ConflictError, DomainError
from ..domain.evidence import state_change
from ..domain.orders import OrderInput, VerifiedOrder, verify_order
from .notices import new_notice, queue_notice
from .order_expiry import order_expiry_timer
from .accounts import subscriber_account
from .payers import check_bad_payer

SEQUENCE_ATTEMPTS = 25
_IDEMPOTENCY_NAMESPACE = uuid.UUID("7b0f1f1e-52c1-4f3e-9a51-2f4b0c7f7a10")


class SequenceBusyError(DomainError):
    code = "invoice_sequence_busy"


def backoff(attempt: int) -> None:
    """R22: the invoice sequence is one counter; writers that lost the race wait a little, with
    jitter, so they do not collide again in lockstep."""
    import random
    import time
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** attempt)))


def order_view(order: OrderModel, invoice: InvoiceModel, *, consumer: Optional[bool] = None,
               order_token: Optional[str] = None) -> dict[str, Any]:
    """The order as answered to its buyer. With `consumer` given (storefront orders), it adds the
    customer's access: `order_token` (the secret, known only at creation, else None) and `links`
    to the pre-contract information (R13) and, for a consumer, to the withdrawal."""
    view = {
        "order_id": order.order_id, "contract_id": order.contract_id, "status": order.status,
        "invoice": {"id": invoice.invoice_id, "number": invoice.number, "total_cents": int(invoice.total_cents),
                    "vat_cents": int(invoice.vat_cents), "currency": invoice.currency},
    }
    if consumer is not None:
        view["order_token"] = order_token
        view["links"] = order_links(order.order_id, consumer)
    return view


def order_links(order_id: str, consumer: bool) -> dict[str, str]:
    """R13: the pre-contract information is linked from every order; the withdrawal from a consumer's."""
    links = {"pre_contract_information": f"/orders/{order_id}/pre-contract-information"}
    if consumer:
        links["withdrawal"] = f"/orders/{order_id}/withdrawal"
    return links


def new_order_token() -> tuple[str, str]:
    """A per-order secret for the customer (32 random bytes, URL-safe) and the SHA-256 hex that
    is the only thing stored (OrderModel.access_token_hash)."""
    import secrets
    token = secrets.token_urlsafe(32)
    return token, order_token_hash(token)


def order_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def order_token_matches(order: Optional[OrderModel], token: Optional[str]) -> bool:
    """Constant-time check of `Authorization: Bearer <order_token>` against the stored hash; an
    unknown order, an order without a token (renewals, older orders) or no token never match."""
    import hmac
    expected = order.access_token_hash if order is not None else None
    supplied = order_token_hash(token) if token else ""
    return bool(expected) and hmac.compare_digest(supplied.encode(), expected.encode())


def _fingerprint(order: OrderInput) -> str:
    data = asdict(order)
    data.pop("client_ip"), data.pop("user_agent")
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def place_order(order: OrderInput, services: Services, *, correlation_id: str,
                idempotency_key: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """Verify and store an order; returns (view, created). With an Idempotency-Key, a retry of the
    same order returns the stored one (created=False); the same key for another order is a conflict.

    The view carries the order's secret `order_token` (R13: the customer's access to its
    pre-contract information and withdrawal) only in the answer that created the order: only its
    SHA-256 is stored, so an Idempotency-Key replay cannot give it again and answers
    `order_token: null` (the storefront keeps the token from the first answer)."""
    s = services.settings
    now = services.clock.now()
    verified = verify_order(order, catalog=services.catalog, now=now, vat_rate=s.vat_rate,
                            late_penalty_rate_percent=s.late_penalty_rate_percent)
    if verified.domain_action == "transfer":  # R38: the windows, from the registry, before anything is stored
        from .domains import verify_transfer_in
        verify_transfer_in(verified.domain_name, verified.registry, verified.domain_auth_code or "", services)
    fingerprint = _fingerprint(order)
    order_id = (f"ord_{uuid.uuid5(_IDEMPOTENCY_NAMESPACE, idempotency_key).hex[:24]}"
                if idempotency_key else new_id("ord"))
    try:
        check_bad_payer(order, verified.customer.siren, services)  # R25
    except DomainError:
        # A retry of an order stored before the customer's default answers what was stored.
        if idempotency_key and services.store.get_order(order_id) is not None:
            return _replay(services, order_id, fingerprint), False
        raise
    ids = {"order_id": order_id, "customer_id": new_id("cus"), "contract_id": new_id("ctr"),
           "invoice_id": new_id("inv")}
    order_token, token_hash = new_order_token()
    consumer = verified.customer.kind == "consumer"
    for attempt in range(SEQUENCE_ATTEMPTS):
        if attempt:
            backoff(attempt)
        last = services.store.last_invoice_sequence()
        sequence = next_sequence_value(last)
        rows = _rows(verified, ids, sequence, fingerprint, now, s.invoice_number_prefix)
        rows["order"].access_token_hash = token_hash
        # R04: the customer's login, created with the customer; its password comes at conclusion.
        rows["account"] = subscriber_account(ids["customer_id"], now, verified.customer.email)
        rows["customer"].login = rows["contract"].customer_login = rows["account"].login
        try:
            notice = invoice_notice(rows["invoice"], now, correlation_id)
            services.store.insert_order(**rows, last_sequence=last, now=now,
                                        evidence=_evidence(verified, ids, rows["invoice"], now, correlation_id),
                                        timers=[order_expiry_timer(ids["order_id"], ids["customer_id"], now)],
                                        notices=[notice])
            queue_notice(notice, services)
            return order_view(rows["order"], rows["invoice"], consumer=consumer, order_token=order_token), True
        except TransactionContention:
            continue  # another write held the sequence at that instant
        except TransactionConflict as conflict:
            if "order" in conflict.failed and idempotency_key:
                return _replay(services, order_id, fingerprint), False
            if "domain" in conflict.failed:
                raise ConflictError(f"the domain {verified.domain_name} is already ordered or hosted here",
                                    code="domain_already_ordered", fields={"domain.name": "already ordered"})
            if "sequence" not in conflict.failed:
                raise
    raise SequenceBusyError("too many concurrent orders; retry the same request")


def invoice_notice(invoice: InvoiceModel, now, correlation_id: Optional[str]):
    """R54 + R22: the invoice, sent to the billing address printed on it."""
    return new_notice(
        notice_key=f"invoice_issued#{invoice.invoice_id}", customer_id=invoice.customer_id,
        to=invoice.bill_to["email"], template="invoice_issued", now=now, correlation_id=correlation_id,
        contract_id=invoice.contract_id, context={
            "invoice_number": invoice.number, "issue_date": invoice.issue_date, "due_date": invoice.due_date,
            "subtotal_cents": int(invoice.subtotal_cents), "vat_rate_percent": str(Decimal(invoice.vat_rate) * 100),
            "vat_cents": int(invoice.vat_cents), "total_cents": int(invoice.total_cents),
            "late_penalty_rate_percent": invoice.late_penalty_rate_percent,
            "recovery_indemnity_cents": int(invoice.recovery_indemnity_cents),
            "customer_name": invoice.bill_to["name"]})


def _replay(services: Services, order_id: str, fingerprint: str) -> dict[str, Any]:
    existing = services.store.get_order(order_id)
    if existing is None or existing.request_fingerprint != fingerprint:
        raise ConflictError("this Idempotency-Key was already used for a different order",
                            code="idempotency_key_reused", fields={"Idempotency-Key": "use a new key"})
    invoice = services.store.get_invoice(existing.invoice_id)
    # The token is not stored (only its hash): a replay cannot give it again.
    customer = services.store.get_customer(existing.customer_id)
    return order_view(existing, invoice, consumer=customer.kind == "consumer", order_token=None)


def _rows(v: VerifiedOrder, ids: dict[str, str], sequence: int, fingerprint: str, now, prefix: str) -> dict:
    at = utc_iso(now)
    c = v.customer
    customer = CustomerModel(
        customer_id=ids["customer_id"], kind=c.kind, email=c.email, phone=c.phone, address=asdict(c.address),
        legal_name=c.legal_name, first_name=c.first_name, last_name=c.last_name, siren=c.siren, siret=c.siret,
        vat_number=c.vat_number, birth_date=c.birth_date.isoformat() if c.birth_date else None,
        parental_authorisation_ref=c.parental_authorisation_ref, created_at=at)
    order = OrderModel(
        order_id=ids["order_id"], customer_id=ids["customer_id"], contract_id=ids["contract_id"],
        invoice_id=ids["invoice_id"], status="awaiting_payment", plan=v.plan.id,
        options=[o.id for o in v.options], billing_period=v.billing_period, payment_method=v.payment_method,
        domain_name=v.domain_name, domain_action=v.domain_action, registry=v.registry,
        acceptance={"terms_version": v.acceptance.terms_version, "accepted_at": utc_iso(v.acceptance.accepted_at),
                    "client_ip": v.acceptance.client_ip, "user_agent": v.acceptance.user_agent},
        request_fingerprint=fingerprint, created_at=at, updated_at=at)
    contract = ContractModel(
        contract_id=ids["contract_id"], customer_id=ids["customer_id"], order_id=ids["order_id"],
        invoice_id=ids["invoice_id"], status="awaiting_payment", plan=v.plan.id,
        options=[o.id for o in v.options], domain_name=v.domain_name, storage_mb=v.storage_mb,
        mailboxes=v.mailboxes, mysql_databases=v.mysql_databases, php=v.plan.php,
        starts_on=v.starts_on.isoformat(), ends_on=v.ends_on.isoformat(), billing_period=v.billing_period,
        created_at=at, updated_at=at)
    inv = v.invoice
    # R21: the invoice pays in advance the year, or (monthly) month 1 of the 12-month term.
    period = period_bounds(v.starts_on, 1) if v.billing_period == "monthly" else (v.starts_on, v.ends_on)
    invoice = InvoiceModel(
        invoice_id=ids["invoice_id"], number=invoice_number(prefix, sequence), sequence=sequence,
        customer_id=ids["customer_id"], order_id=ids["order_id"], contract_id=ids["contract_id"],
        status="issued", lines=[{"code": l.code, "description": l.description, "quantity": l.quantity,
                                 "unit_cents": l.unit_cents, "total_cents": l.total_cents} for l in inv.lines],
        subtotal_cents=inv.subtotal_cents, vat_rate=str(inv.vat_rate), vat_cents=inv.vat_cents,
        total_cents=inv.total_cents, currency=inv.currency, issue_date=inv.issue_date.isoformat(),
        due_date=inv.due_date.isoformat(), late_penalty_rate_percent=str(inv.late_penalty_rate_percent),
        recovery_indemnity_cents=inv.professional_recovery_indemnity_cents, created_at=at,
        period_start=period[0].isoformat(), period_end=period[1].isoformat(),
        bill_to={"name": c.legal_name or f"{c.first_name} {c.last_name}", "email": c.email,
                 "address": asdict(c.address), "siren": c.siren, "vat_number": c.vat_number})
    domain = DomainModel(domain_name=v.domain_name, contract_id=ids["contract_id"],
                         customer_id=ids["customer_id"], registry=v.registry, action=v.domain_action, created_at=at,
                         status="ordered", auth_code=v.domain_auth_code)
    return {"customer": customer, "order": order, "contract": contract, "invoice": invoice, "domain": domain}


def _evidence(v: VerifiedOrder, ids: dict[str, str], invoice: InvoiceModel, now, correlation_id: str) -> list:
    common = dict(correlation_id=correlation_id, contract_id=ids["contract_id"], order_id=ids["order_id"])
    cid, actor = ids["customer_id"], "customer"
    return [
        state_change(cid, now, actor, "order", ids["order_id"], None, "awaiting_payment",
                     action="order.placed", terms_version=v.acceptance.terms_version,
                     client_ip=v.acceptance.client_ip, user_agent=v.acceptance.user_agent,
                     plan=v.plan.id, domain=v.domain_name, **common),
        state_change(cid, now, actor, "contract", ids["contract_id"], None, "awaiting_payment",
                     action="contract.concluded", starts_on=v.starts_on.isoformat(),
                     ends_on=v.ends_on.isoformat(), **common),
        state_change(cid, now, "system", "invoice", ids["invoice_id"], None, "issued", action="invoice.issued",
                     number=invoice.number, total_cents=int(invoice.total_cents), **common),
    ]
