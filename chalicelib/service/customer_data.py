"""Everything held about a customer (R07): the export, and the erasure (pseudonymisation).

Every table holding a customer's data is read through its `customer` index (accounts, orders,
contracts, invoices, domains, notices) or its key (the customer row, the evidence log keyed by
customer id); payments through the invoices they pay (and the refunds of those payments through
the `reference` index); R25 payer records through the keys they are filed under.

Erasure keeps every record (contracts, invoices and the evidence log are legal records, kept
`legal_retention_years`) but replaces each personal value in them by a pseudonym (see
domain/privacy.py). It is refused while a contract runs or still holds hosted data, or while a sum
is owed either way. The rows are rewritten in transactions of at most CHUNK items, the customer
row last: it is where the personal values are read from, so an erasure interrupted half-way is
simply asked again and finishes (rows already rewritten hold no personal value any more).

What an erasure decides:
- consumer: names, email, phone, address lines, birth date, parental authorisation reference and
  the login are pseudonymised; so are the buyer's name, email and address printed on invoices.
- professional: its legal identity (legal name, SIREN, SIRET, VAT number) identifies a legal
  person, is not personal data and must stay on the invoices kept for the legal period: it is
  kept; its contact data (email, phone, address) is pseudonymised as a consumer's is. (A sole
  trader trading under their own name keeps that name, as the trade register publishes it.)
- kept as they are: the kind, amounts, numbers, lines and VAT of invoices (they still add up),
  domain names (public registry data), contract and payment records, R25 payer records.
- accounts (the subscriber's and beneficiaries' logins) are closed: the epoch is raised (every
  session and token fails), passwords removed, login and email pseudonymised (re-keyed).
- orders: the IP address and browser of the acceptance of the terms.
- notices: recipient, subject, body and context (a notice not sent yet is cancelled: it could
  only go to a pseudonym).
- evidence entries: actor, entity and before/after values.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from pynamodb.attributes import MapAttribute

from ..adapters.dynamo_store import Effect, TransactionConflict, evidence_to_dict
from ..adapters.models import (AccountModel, ContractModel, CustomerModel, DomainModel, EvidenceModel, InvoiceModel,
                               MetaModel, NoticeModel, OrderModel, PaymentModel)
from ..bootstrap import Services
from ..domain.calendar import paris_date, utc_iso
from ..domain.errors import ConflictError
from ..domain.evidence import EvidenceEntry
from ..domain.privacy import ADDRESS_LINES, Pseudonyms, erasure_blockers
from ..observability import logger
from .privacy import contracts_of_customer, get_customer, verification_view

EXPORT_FORMAT = "soho-personal-data-export/v1"
CHUNK = 80  # rows per transaction (DynamoDB takes at most 100 items in one)
PRIVACY_ACTIONS = ("privacy.", "verification.", "customer.contact_email_changed", "customer.identity_changed",
                   "customer.reference_consent", "customer.rectified")
# Order attributes never shown: the hash of the order's secret token, the request fingerprint.
ORDER_SECRETS = ("access_token_hash", "request_fingerprint")
ACCOUNT_SECRETS = ("password_hash", "pending_password_hash")
# Issue 4: a domain's transfer code is a credential (kept only until the transfer completes).
DOMAIN_SECRETS = ("auth_code",)


@dataclass
class Records:
    customer: CustomerModel
    accounts: list[AccountModel] = field(default_factory=list)
    orders: list[OrderModel] = field(default_factory=list)
    contracts: list[ContractModel] = field(default_factory=list)
    invoices: list[InvoiceModel] = field(default_factory=list)
    domains: list[DomainModel] = field(default_factory=list)
    notices: list[NoticeModel] = field(default_factory=list)
    evidence: list[EvidenceModel] = field(default_factory=list)
    # Issue 5 records (tickets and their messages, claims and cases, abuse cases about the
    # customer): exported as stored, their text pseudonymised at erasure.
    others: dict[str, list[Any]] = field(default_factory=dict)


def _other_records(customer_id: str) -> dict[str, list[Any]]:
    """R07: the customer's tickets (R43) with their messages, disputes (R46-R53) and the abuse
    cases about it (R48; the complaints themselves and their authors are third parties' data and
    stay out)."""
    from ..adapters.models import AbuseCaseModel, DisputeModel, TicketMessageModel, TicketModel
    tickets = list(TicketModel.by_customer.query(customer_id))
    return {"tickets": tickets,
            "ticket_messages": [m for t in tickets for m in TicketMessageModel.query(t.ticket_id)],
            "disputes": list(DisputeModel.by_customer.query(customer_id)),
            "abuse_cases": list(AbuseCaseModel.by_customer.query(customer_id))}


def records_of(customer: CustomerModel, services: Services) -> Records:
    cid, store = customer.customer_id, services.store
    return Records(customer=customer, accounts=list(AccountModel.by_customer.query(cid)),
                   orders=list(OrderModel.by_customer.query(cid)), contracts=contracts_of_customer(cid, services),
                   invoices=[store.get_invoice(i.invoice_id) or i for i in InvoiceModel.by_customer.query(cid)],
                   domains=list(DomainModel.by_customer.query(cid)), notices=list(NoticeModel.by_customer.query(cid)),
                   evidence=list(EvidenceModel.query(cid, consistent_read=True)), others=_other_records(cid))


def _plain(value: Any) -> Any:
    if isinstance(value, MapAttribute):
        return {k: _plain(v) for k, v in value.as_dict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def row(model: Any, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Every attribute of a stored row (JSON values), but those excluded."""
    skip = set(exclude)
    return {name: _plain(getattr(model, name)) for name in sorted(model.get_attributes()) if name not in skip}


def _payments(invoices: list[InvoiceModel], services: Services) -> list[PaymentModel]:
    """The payments of the customer's invoices, the refunds due on its credit notes (R13) and the
    refunds recorded against those payments (R27)."""
    from .withdrawal import refund_due_key
    store, found = services.store, {}
    for invoice in invoices:
        keys = [invoice.payment_event_id] if invoice.payment_event_id else []
        if invoice.kind == "credit_note":
            keys.append(refund_due_key(invoice.invoice_id))
        for key in keys:
            payment = store.get_payment(key)
            if payment is not None:
                found[payment.payment_event_id] = payment
    for payment in list(found.values()):
        if payment.provider_reference:
            for related in store.payments_by_reference(payment.provider_reference):
                found.setdefault(related.payment_event_id, related)
    return sorted(found.values(), key=lambda p: p.received_at)


def _payer_records(customer: CustomerModel, services: Services) -> list[dict[str, Any]]:
    """R25: the bad-payer and guarantee rows filed under the customer's email or SIREN."""
    from .payers import payer_keys
    keys = [f"{kind}#{key}" for key in payer_keys(customer.email, customer.siren)
            for kind in ("bad_payer", "guarantee")]
    rows = services.store.get_together(*[(MetaModel, key) for key in keys]) if keys else []
    return [{"record": key, "text": r.text, "updated_at": r.updated_at} for key, r in zip(keys, rows) if r is not None]


def _log(customer: CustomerModel, services: Services, action: str, actor: str, after: dict,
         correlation_id: Optional[str]) -> None:
    effect = Effect()
    effect.evidence.append(EvidenceEntry(customer_id=customer.customer_id, at=services.clock.now(), actor=actor,
                                         action=action, entity_type="customer", entity_id=customer.customer_id,
                                         after=after, correlation_id=correlation_id))
    services.store.apply(effect)


def export(customer_id: str, services: Services, *, actor: str, correlation_id: Optional[str] = None
           ) -> dict[str, Any]:
    """R07: everything held about the customer, as one JSON document. The request is logged
    first (evidence `privacy.export`), so the export shows it too."""
    from .accounts import account_view
    from .admin_views import invoice_view
    from .notices import notice_view
    customer = get_customer(customer_id, services)
    now = services.clock.now()
    _log(customer, services, "privacy.export", actor, {"status": "exported", "format": EXPORT_FORMAT},
         correlation_id)
    records = records_of(customer, services)
    today = paris_date(now)
    evidence = [evidence_to_dict(e) for e in records.evidence]
    document = {
        "format": EXPORT_FORMAT, "customer_id": customer_id, "exported_at": utc_iso(now), "requested_by": actor,
        "customer": row(customer),
        "accounts": [{**account_view(a), "status": a.status, "updated_at": a.updated_at} for a in records.accounts],
        "orders": [row(o, ORDER_SECRETS) for o in records.orders],
        "contracts": [row(c) for c in records.contracts],
        "invoices": [{**invoice_view(i, today), "bill_to": i.bill_to} for i in records.invoices],
        "domains": [row(d, DOMAIN_SECRETS) for d in records.domains],
        "payments": [row(p) for p in _payments(records.invoices, services)],
        "notices": [{**notice_view(n), "template_version": int(n.template_version)} for n in records.notices],
        "evidence": evidence,
        "verification": verification_view(customer.verification, full=True),
        "privacy_requests": [e for e in evidence if str(e["action"]).startswith(PRIVACY_ACTIONS)],
        "payer_records": _payer_records(customer, services),
        **{name: [row(r) for r in rows] for name, rows in records.others.items()},
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return {**document, "sha256": hashlib.sha256(canonical.encode()).hexdigest()}


# ---- erasure -------------------------------------------------------------------------------------

def _check_erasable(records: Records, services: Services) -> None:
    from .withdrawal import refund_due_key
    unpaid = [i.number for i in records.invoices if (i.kind or "invoice") == "invoice" and i.status == "issued"]
    refunds_due = []
    for note in (i for i in records.invoices if i.kind == "credit_note"):
        due = services.store.get_payment(refund_due_key(note.invoice_id))
        if due is not None and due.outcome == "refund_due":
            refunds_due.append(note.number)
    code, message = erasure_blockers([(c.contract_id, c.status) for c in records.contracts], unpaid, refunds_due)
    if code:
        raise ConflictError(message, code=code)


def _pseudonyms(records: Records) -> Pseudonyms:
    """Every personal value of the customer's records, each with its pseudonym."""
    customer = records.customer
    names = Pseudonyms(customer.customer_id)
    professional = customer.kind == "professional"
    for name in ("email", "phone", "first_name", "last_name", "birth_date", "parental_authorisation_ref", "login"):
        names.add(getattr(customer, name), name)
    if not professional:
        for name in ("legal_name", "siren", "siret", "vat_number"):
            names.add(getattr(customer, name), name)
    names.collect_all({k: v for k, v in (customer.address or {}).items() if k in ADDRESS_LINES}, "address")
    names.collect(customer.verification or {})
    for account in records.accounts:
        names.add(account.login, "login")
        names.add(account.email, "email")
        names.add(account.name, "name")
    for order in records.orders:
        acceptance = order.acceptance.as_dict() if order.acceptance else {}
        names.add(acceptance.get("client_ip"), "client_ip")
        names.add(acceptance.get("user_agent"), "user_agent")
    for invoice in records.invoices:
        bill_to = invoice.bill_to or {}
        if not professional:
            names.add(bill_to.get("name"), "name")
        names.add(bill_to.get("email"), "email")
        names.collect({"address": bill_to.get("address") or {}})
    for notice in records.notices:
        names.add(notice.recipient, "email")
        names.collect(notice.context or {})
    for entry in records.evidence:
        names.collect({"before": entry.before or {}, "after": entry.after or {}})
    for rows in records.others.values():
        for other in rows:
            names.collect({k: v for k, v in row(other).items() if k in ("email", "reporter", "incident")})
    return names


def _bill_to(bill_to: Optional[dict], names: Pseudonyms, professional: bool) -> Optional[dict]:
    if bill_to is None:
        return None
    kept = {k: v for k, v in bill_to.items() if professional and k in ("name", "siren", "vat_number", "siret")}
    return {**names.scrub(bill_to), **kept}


def _row_updates(records: Records, names: Pseudonyms) -> list[tuple[str, Any, list, Any]]:
    """(label, key row, actions, condition) of every row but the customer and its accounts."""
    professional = records.customer.kind == "professional"
    updates: list[tuple[str, Any, list, Any]] = []
    for order in records.orders:
        acceptance = order.acceptance.as_dict() if order.acceptance else {}
        new = names.scrub(acceptance)
        if new != acceptance:
            updates.append((f"order:{order.order_id}", OrderModel(order_id=order.order_id),
                            [OrderModel.acceptance.client_ip.set(new.get("client_ip") or "erased"),
                             OrderModel.acceptance.user_agent.set(new.get("user_agent") or "")],
                            OrderModel.order_id.exists()))
    for contract in records.contracts:  # R04: the login the contract was ordered with
        if contract.customer_login and names.text(contract.customer_login) != contract.customer_login:
            updates.append((f"contract:{contract.contract_id}", ContractModel(contract_id=contract.contract_id),
                            [ContractModel.customer_login.set(names.text(contract.customer_login))],
                            ContractModel.contract_id.exists()))
    for invoice in records.invoices:
        new = _bill_to(invoice.bill_to, names, professional)
        if new != invoice.bill_to:
            updates.append((f"invoice:{invoice.invoice_id}", InvoiceModel(invoice_id=invoice.invoice_id),
                            [InvoiceModel.bill_to.set(new)], InvoiceModel.invoice_id.exists()))
    for notice in records.notices:
        actions = []
        for name in ("recipient", "subject", "body", "last_error"):
            value = getattr(notice, name)
            if isinstance(value, str) and names.text(value) != value:
                actions.append(getattr(NoticeModel, name).set(names.text(value)))
        context = names.scrub(notice.context or {})
        if context != (notice.context or {}):
            actions.append(NoticeModel.context.set(context))
        if notice.status in ("queued", "failed", "sending"):  # could only go to a pseudonym now
            actions += [NoticeModel.status.set("cancelled"), NoticeModel.unsent.remove(),
                        NoticeModel.last_error.set("R07: the recipient's personal data was erased")]
        if actions:
            updates.append((f"notice:{notice.notice_id}", NoticeModel(notice_id=notice.notice_id), actions,
                            NoticeModel.notice_id.exists()))
    for kind, rows in records.others.items():
        for other in rows:
            actions = _scrubbed_attributes(other, names)
            if actions:
                key = type(other)(**{a: getattr(other, a) for a in _key_names(type(other))})
                updates.append((f"{kind}:{'#'.join(str(getattr(other, a)) for a in _key_names(type(other)))}",
                                key, actions, getattr(type(other), _key_names(type(other))[0]).exists()))
    for entry in records.evidence:
        actions = []
        for name in ("actor", "entity_id"):
            value = getattr(entry, name)
            if value and names.text(value) != value:
                actions.append(getattr(EvidenceModel, name).set(names.text(value)))
        for name in ("before", "after"):
            value = getattr(entry, name)
            if value is not None and names.scrub(value) != value:
                actions.append(getattr(EvidenceModel, name).set(names.scrub(value)))
        if actions:
            updates.append((f"evidence:{entry.entry_id}",
                            EvidenceModel(customer_id=entry.customer_id, entry_id=entry.entry_id), actions,
                            EvidenceModel.entry_id.exists()))
    return updates


def _key_names(model_class: Any) -> list[str]:
    """The hash key (then range key) attribute names of a PynamoDB model."""
    attributes = model_class.get_attributes()
    return ([n for n, a in attributes.items() if a.is_hash_key] + [n for n, a in attributes.items() if a.is_range_key])


def _scrubbed_attributes(model: Any, names: Pseudonyms) -> list:
    """Update actions replacing every personal value in a row's text, maps and lists (keys,
    ids, amounts and dates untouched)."""
    actions = []
    keys = set(_key_names(type(model)))
    for name, attribute in type(model).get_attributes().items():
        value = getattr(model, name)
        if name in keys or name.endswith("_id") or value is None:
            continue
        if isinstance(value, str):
            new = names.text(value)
        elif isinstance(value, (dict, list)):
            new = names.scrub(value)
        else:
            continue
        if new != value:
            actions.append(attribute.set(new))
    return actions


def _final_effect(records: Records, names: Pseudonyms, now: Any, actor: str, counts: dict[str, int],
                  correlation_id: Optional[str]) -> Effect:
    """The customer row and its accounts, pseudonymised, with the `privacy.erasure` entry."""
    customer, at = records.customer, utc_iso(now)
    professional = customer.kind == "professional"
    effect = Effect()
    for account in records.accounts:
        alias = names.of(account.login, "login")
        closed = AccountModel(
            login=alias, account_id=account.account_id, customer_id=account.customer_id, role=account.role,
            email=names.of(account.email, "email"), name=names.of(account.name, "name"),
            contract_ids=list(account.contract_ids or []), epoch=int(account.epoch or 0) + 1, status="closed",
            created_at=account.created_at, updated_at=at, password_changed_at=account.password_changed_at)
        effect.delete(f"account:{account.login}", AccountModel(login=account.login), AccountModel.login.exists())
        effect.save(f"account:{alias}", closed, AccountModel.login.does_not_exist())
    address = dict(customer.address or {})
    for line in ADDRESS_LINES:
        if address.get(line):
            address[line] = names.of(address[line], line)
    actions = [CustomerModel.email.set(names.of(customer.email, "email")),
               CustomerModel.phone.set(names.of(customer.phone, "phone")), CustomerModel.address.set(address),
               CustomerModel.erased_at.set(at), CustomerModel.updated_at.set(at),
               CustomerModel.reference_consent.set(False), CustomerModel.reference_consent_at.set(at)]
    personal = ["first_name", "last_name", "birth_date", "parental_authorisation_ref", "login"]
    if not professional:
        personal += ["legal_name", "siren", "siret", "vat_number"]
    for name in personal:
        value = getattr(customer, name)
        if value is not None:
            actions.append(getattr(CustomerModel, name).set(names.of(value, name)))
    if customer.verification:
        actions.append(CustomerModel.verification.set(names.scrub(customer.verification)))
    effect.update("customer", CustomerModel(customer_id=customer.customer_id), actions,
                  CustomerModel.customer_id.exists() & CustomerModel.erased_at.does_not_exist())
    fields = sorted({"email", "phone", "address", "reference_consent", *[n for n in personal
                                                                          if getattr(customer, n) is not None]})
    effect.evidence.append(EvidenceEntry(
        customer_id=customer.customer_id, at=now, actor=names.text(actor), action="privacy.erasure",
        entity_type="customer", entity_id=customer.customer_id, before={"status": "identified"},
        after={"status": "erased", "customer_fields": fields, "kept": _kept(professional),
               "rows_pseudonymised": counts, "accounts_closed": len(records.accounts)},
        correlation_id=correlation_id))
    return effect


def _kept(professional: bool) -> list[str]:
    kept = ["kind", "invoice amounts, numbers, lines and VAT", "domain names", "contracts", "payments"]
    return kept + (["legal_name", "siren", "siret", "vat_number"] if professional else [])


def erase(customer_id: str, services: Services, *, actor: str, correlation_id: Optional[str] = None
          ) -> dict[str, Any]:
    """R07: erase the customer's personal data: refused (409) while a contract runs or holds hosted
    data, or a sum is owed; otherwise every personal value of every record is pseudonymised, the
    logins closed (sessions revoked), and the erasure logged (evidence `privacy.erasure`). Legal
    records stay, pseudonymised: invoices still add up. Asking again after it finished answers the
    same (nothing is written)."""
    customer = get_customer(customer_id, services)
    if customer.erased_at:
        return {"customer_id": customer_id, "erased_at": customer.erased_at, "status": "erased"}
    records = records_of(customer, services)
    _check_erasable(records, services)
    now = services.clock.now()
    names = _pseudonyms(records)
    updates = _row_updates(records, names)
    counts: dict[str, int] = {}
    for label, _, _, _ in updates:
        kind = label.split(":", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    for start in range(0, len(updates), CHUNK):
        effect = Effect()
        for label, model, actions, condition in updates[start:start + CHUNK]:
            effect.update(label, model, actions, condition)
        services.store.apply(effect)
    try:
        services.store.apply(_final_effect(records, names, now, actor, counts, correlation_id))
    except TransactionConflict:
        raise ConflictError("the customer's records changed during the erasure; ask again to finish it",
                            code="customer_changed") from None
    return {"customer_id": customer_id, "erased_at": utc_iso(now), "status": "erased",
            "rows_pseudonymised": counts, "accounts_closed": len(records.accounts)}


ERASURE_QUEUE = "privacy-erasures"


def request_erasure(customer_id: str, services: Services, *, actor: str,
                    correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R07: a customer's (or an operator's) erasure request. Refused at once (409) while a
    contract runs or a sum is owed; otherwise logged (evidence `privacy.erasure_requested`) and
    handed to the erasure worker (`on_erasure_request`), the one function allowed to rewrite the
    evidence log, and only to pseudonymise it (R56). Returns (answer, queued): an erased customer
    answers its erasure again, nothing queued."""
    from ..domain.evidence import EvidenceEntry
    customer = get_customer(customer_id, services)
    if customer.erased_at:
        return {"customer_id": customer_id, "erased_at": customer.erased_at, "status": "erased"}, False
    _check_erasable(records_of(customer, services), services)
    now = services.clock.now()
    effect = Effect()
    effect.evidence.append(EvidenceEntry(customer_id=customer_id, at=now, actor=actor,
                                         action="privacy.erasure_requested", entity_type="customer",
                                         entity_id=customer_id, after={"status": "erasure_in_progress"},
                                         correlation_id=correlation_id))
    services.store.apply(effect)
    services.queues.send(queue_name=services.settings.queue_name(ERASURE_QUEUE),
                         body=json.dumps({"customer_id": customer_id, "actor": actor}),
                         correlation_id=correlation_id)
    return {"customer_id": customer_id, "status": "erasure_in_progress", "requested_at": utc_iso(now)}, True


def on_erasure_request(message: dict[str, Any], services: Services, correlation_id: Optional[str] = None) -> str:
    """The erasure worker's step for one request (R07): erase, or find it done. A customer who
    became non-erasable meanwhile (a new order) is left as is: the refusal is logged."""
    from ..domain.errors import ConflictError as _Conflict
    customer_id, actor = message["customer_id"], message.get("actor") or "system"
    try:
        outcome = erase(customer_id, services, actor=actor, correlation_id=correlation_id)
    except _Conflict as exc:
        if exc.code == "customer_changed":
            raise  # a concurrent write: the message returns to the queue and the erasure resumes
        logger.warning("erasure refused when its turn came", customer_id=customer_id, code=exc.code)
        return exc.code
    return outcome["status"]
