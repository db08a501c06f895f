"""A customer's personal data (R02, R03, R08): the profile, the contact email, identity changes
with their justification, verification requests with their deadline, the reference consent.
Export and erasure (R07) are in customer_data.py.

Every change is one DynamoDB transaction: the customer row (conditioned on the `updated_at` read,
so two concurrent changes cannot overwrite each other, and on the customer not being erased),
the evidence entry (R56: who, when, what, before/after, which document) and what follows from
it (R03: the deadline timer, the notice, the contracts' `unverified_identity` holds).
"""
from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date
from typing import Any, Optional

from ..adapters.dynamo_store import Effect, new_id
from ..adapters.models import AccountModel, ContractModel, CustomerModel, NoticeModel, TimerModel
from ..bootstrap import Services
from ..domain.access import SUBSCRIBER, Principal
from ..domain.calendar import paris_date, utc_iso
from ..domain.contracts import IN_FORCE, HoldLevel, HoldReason
from ..domain.errors import ConflictError, DomainError, NotFoundError, RuleViolationError
from ..domain.evidence import EvidenceEntry
from ..domain.orders import AddressInput, CustomerInput, verify_customer
from ..domain.privacy import document_label_fr, verification_deadline
from .lifecycle import set_hold
from .timers import schedule, timer_handler, timer_row
from .effects import commit

VERIFICATION_DEADLINE = "verification_deadline"   # R03 timer kind, target: the request id
UNVERIFIED = HoldReason.UNVERIFIED_IDENTITY
PROFESSIONAL_FIELDS = frozenset({"legal_name", "siren", "siret", "vat_number"})
CONSUMER_FIELDS = frozenset({"first_name", "last_name", "birth_date"})
IDENTITY_FIELDS = ("legal_name", "first_name", "last_name", "siren", "siret", "vat_number", "birth_date", "phone",
                   "address")
MAX_DOCUMENTS = 20  # documents a customer may send for one request


# ---- reading -------------------------------------------------------------------------------------

def get_customer(customer_id: Optional[str], services: Services, *, to_change: bool = False) -> CustomerModel:
    customer = services.store.get_customer(customer_id) if customer_id else None
    if customer is None:
        raise NotFoundError(f"no customer {customer_id}", code="customer_not_found")
    if to_change and customer.erased_at:
        raise ConflictError(f"the personal data of customer {customer_id} was erased on {customer.erased_at} (R07); "
                            "nothing can be changed any more", code="customer_erased")
    return customer


def contracts_of_customer(customer_id: str, services: Services) -> list[ContractModel]:
    """The customer's contracts, each read again consistently (the index may lag)."""
    rows = list(ContractModel.by_customer.query(customer_id))
    fresh = [services.store.get_contract(row.contract_id) for row in rows]
    return [c for c in fresh if c is not None]


def verification_view(verification: Optional[dict], *, full: bool = False) -> Optional[dict[str, Any]]:
    """R03: what the customer sees of a verification request (the open one unless `full`)."""
    if not verification or (not full and verification.get("status") != "open"):
        return None
    view = {k: verification.get(k) for k in ("request_id", "status", "reason", "documents", "requested_at",
                                              "deadline_on", "deadline", "suspended_at", "closed_at", "outcome")}
    view["submitted"] = [{k: d.get(k) for k in ("document_id", "document_type", "submitted_at", "status")}
                         for d in verification.get("submitted", [])]
    return view


def customer_profile(customer: CustomerModel) -> dict[str, Any]:
    """R02: the customer's identity and contact data as held, the R08 consent, the R03 request."""
    return {
        "customer_id": customer.customer_id, "kind": customer.kind, "email": customer.email, "login": customer.login,
        "identity": {"legal_name": customer.legal_name, "first_name": customer.first_name,
                     "last_name": customer.last_name, "siren": customer.siren, "siret": customer.siret,
                     "vat_number": customer.vat_number, "birth_date": customer.birth_date,
                     "phone": customer.phone, "address": customer.address,
                     "parental_authorisation_ref": customer.parental_authorisation_ref},
        "reference_consent": {"consent": bool(customer.reference_consent), "since": customer.reference_consent_at},
        "verification": verification_view(customer.verification),
        "created_at": customer.created_at, "updated_at": customer.updated_at, "erased_at": customer.erased_at}


def profile(principal: Principal, services: Services) -> dict[str, Any]:
    """GET /me. The subscriber sees the customer's profile; a beneficiary (R06) only its own login."""
    from .accounts import account_view, get_account
    account = get_account(principal.login or "")
    if account is None:
        raise NotFoundError("no such login", code="account_not_found")
    if principal.role != SUBSCRIBER:
        return {"account": account_view(account)}
    return {**customer_profile(get_customer(principal.customer_id, services)), "account": account_view(account)}


# ---- writing -------------------------------------------------------------------------------------

def _as_read(customer: CustomerModel) -> Any:
    """The write holds only on the customer as read, and never on an erased one."""
    unchanged = (CustomerModel.updated_at == customer.updated_at) if customer.updated_at else \
        CustomerModel.updated_at.does_not_exist()
    return CustomerModel.customer_id.exists() & CustomerModel.erased_at.does_not_exist() & unchanged


def _commit(effect: Effect, services: Services) -> None:
    commit(effect, services, ConflictError("the customer record changed meanwhile; read it again and retry",
                                           code="customer_changed"))


def _entry(customer: CustomerModel, now: Any, actor: str, action: str, entity_type: str, entity_id: str,
           before: Optional[dict], after: Optional[dict], correlation_id: Optional[str]) -> EvidenceEntry:
    return EvidenceEntry(customer_id=customer.customer_id, at=now, actor=actor, action=action,
                         entity_type=entity_type, entity_id=entity_id, before=before, after=after,
                         correlation_id=correlation_id)


def change_contact_email(customer_id: str, email: str, services: Services, *, actor: str,
                         correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R02: the customer changes the contact email themselves; the subscriber login's address
    follows (R04: credentials go to the contact email). Evidence with before/after (R56)."""
    customer = get_customer(customer_id, services, to_change=True)
    email = email.strip().lower()
    if email == customer.email:
        return customer_profile(customer)
    now = services.clock.now()
    effect = Effect().update("customer", CustomerModel(customer_id=customer_id),
                             [CustomerModel.email.set(email), CustomerModel.updated_at.set(utc_iso(now))],
                             _as_read(customer))
    if customer.login:
        effect.update("account", AccountModel(login=customer.login),
                      [AccountModel.email.set(email), AccountModel.updated_at.set(utc_iso(now))],
                      AccountModel.login.exists())
    effect.evidence.append(_entry(customer, now, actor, "customer.contact_email_changed", "customer", customer_id,
                                  {"email": customer.email}, {"email": email}, correlation_id))
    _commit(effect, services)
    return customer_profile(get_customer(customer_id, services))


def _stored_input(customer: CustomerModel) -> CustomerInput:
    return CustomerInput(
        kind=customer.kind, email=customer.email, phone=customer.phone, address=AddressInput(**customer.address),
        legal_name=customer.legal_name, first_name=customer.first_name, last_name=customer.last_name,
        siren=customer.siren, siret=customer.siret, vat_number=customer.vat_number,
        birth_date=date.fromisoformat(customer.birth_date) if customer.birth_date else None,
        parental_authorisation_ref=customer.parental_authorisation_ref)


def _stored_value(customer: CustomerModel, field: str) -> Any:
    return customer.address if field == "address" else getattr(customer, field)


def change_identity(customer_id: str, body: Any, services: Services, *, actor: str,
                    correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R02: identity data changes only with a recorded justification (who, when, what, which
    document). The changed data is verified as an order's is (R01: SIREN/SIRET Luhn keys, the
    VAT key against the SIREN; R05: a minor needs the parental authorisation on file) and a
    field that does not belong to the customer's kind is refused. `body` is an IdentityChangeV1."""
    customer = get_customer(customer_id, services, to_change=True)
    asked = body.changes.model_dump(exclude_unset=True)
    foreign = sorted(set(asked) & (CONSUMER_FIELDS if customer.kind == "professional" else PROFESSIONAL_FIELDS))
    if foreign:
        raise RuleViolationError(
            f"R01: a {customer.kind} customer has no {', '.join(foreign)}; the kind cannot be changed here",
            code="field_not_for_kind", fields={f"changes.{name}": f"not a field of a {customer.kind}"
                                               for name in foreign})
    changes = dict(asked)
    if "address" in changes:
        changes["address"] = AddressInput(**changes["address"])
    now = services.clock.now()
    try:
        verified = verify_customer(replace(_stored_input(customer), **changes), paris_date(now))
    except DomainError as error:  # the order's verification names `customer.<field>`: here it is `changes.<field>`
        error.fields = {key.replace("customer.", "changes.", 1): value for key, value in error.fields.items()}
        raise
    after_all = {name: getattr(verified, name) for name in IDENTITY_FIELDS}
    after_all["address"] = asdict(verified.address)
    after_all["birth_date"] = verified.birth_date.isoformat() if verified.birth_date else None
    changed = {name: after_all[name] for name in asked if after_all[name] != _stored_value(customer, name)}
    if not changed:
        return {**customer_profile(customer), "changed": []}
    before = {name: _stored_value(customer, name) for name in changed}
    justification = body.justification.model_dump()
    effect = Effect().update(
        "customer", CustomerModel(customer_id=customer_id),
        [getattr(CustomerModel, name).set(value) if value is not None else getattr(CustomerModel, name).remove()
         for name, value in changed.items()] + [CustomerModel.updated_at.set(utc_iso(now))],
        _as_read(customer))
    effect.evidence.append(_entry(customer, now, actor, "customer.identity_changed", "customer", customer_id,
                                  {"changes": before}, {"changes": changed, "justification": justification},
                                  correlation_id))
    _commit(effect, services)
    return {**customer_profile(get_customer(customer_id, services)), "changed": sorted(changed)}


def set_reference_consent(customer_id: str, consent: bool, services: Services, *, actor: str,
                          correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R08: the customer may be cited as a commercial reference: the flag and its time are stored,
    with evidence; withdrawing it is the same call with `false`."""
    customer = get_customer(customer_id, services, to_change=True)
    current = bool(customer.reference_consent)
    if customer.reference_consent is not None and current == consent:
        return {"consent": current, "since": customer.reference_consent_at}
    now = services.clock.now()
    effect = Effect().update("customer", CustomerModel(customer_id=customer_id),
                             [CustomerModel.reference_consent.set(consent),
                              CustomerModel.reference_consent_at.set(utc_iso(now)),
                              CustomerModel.updated_at.set(utc_iso(now))], _as_read(customer))
    effect.evidence.append(_entry(customer, now, actor,
                                  f"customer.reference_consent_{'given' if consent else 'withdrawn'}", "customer",
                                  customer_id, {"consent": customer.reference_consent}, {"consent": consent},
                                  correlation_id))
    _commit(effect, services)
    return {"consent": consent, "since": utc_iso(now)}


# ---- R03: verification requests ----------------------------------------------------------------

def _verification_notice(customer: CustomerModel, template: str, key: str, context: dict, now: Any,
                         correlation_id: Optional[str]) -> NoticeModel:
    from .notices import new_notice
    return new_notice(notice_key=key, customer_id=customer.customer_id, to=customer.email, template=template,
                      context={"login": customer.login or customer.customer_id, **context}, now=now,
                      correlation_id=correlation_id)


def _with_notice(effect: Effect, notice: NoticeModel, services: Services) -> None:
    from .notices import queue_notice
    effect.save(f"notice:{notice.template}", notice, NoticeModel.notice_id.does_not_exist())
    effect.after_commit.append(lambda: queue_notice(notice, services))


def request_verification(customer_id: str, reason: str, documents: list[str], services: Services, *,
                         operator: str, correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R03: the operator finds the customer's data doubtful and asks for documents: the request
    is stored on the customer with its deadline (the end, Paris time, of the day
    `verification_deadline_days` later), the customer is told, and a timer suspends the service
    at the deadline unless a document is accepted before. One open request at a time."""
    customer = get_customer(customer_id, services, to_change=True)
    current = customer.verification or {}
    if current.get("status") == "open":
        raise ConflictError(f"verification request {current['request_id']} is still open (deadline "
                            f"{current['deadline_on']}); decide it before asking again",
                            code="verification_request_open")
    now, actor = services.clock.now(), f"operator:{operator}"
    deadline_on, deadline = verification_deadline(now, services.settings.verification_deadline_days)
    request_id = new_id("vrq")
    documents = list(dict.fromkeys(documents))
    verification = {"request_id": request_id, "status": "open", "reason": reason, "documents": documents,
                    "requested_at": utc_iso(now), "requested_by": actor, "deadline_on": deadline_on.isoformat(),
                    "deadline": utc_iso(deadline), "submitted": [], "decisions": [], "suspended_at": None}
    effect = Effect().update("customer", CustomerModel(customer_id=customer_id),
                             [CustomerModel.verification.set(verification),
                              CustomerModel.updated_at.set(utc_iso(now))], _as_read(customer))
    schedule(effect, timer_row(VERIFICATION_DEADLINE, request_id, customer_id, deadline, now))
    _with_notice(effect, _verification_notice(
        customer, "verification_requested", f"verification_requested#{request_id}",
        {"request_id": request_id, "reason": reason, "documents": [document_label_fr(d) for d in documents],
         "deadline_on": deadline_on}, now, correlation_id), services)
    effect.evidence.append(_entry(customer, now, actor, "verification.requested", "verification", request_id, None,
                                  {"status": "open", "reason": reason, "documents": documents,
                                   "deadline_on": deadline_on.isoformat(), "deadline": utc_iso(deadline)},
                                  correlation_id))
    _commit(effect, services)
    return verification_view(verification, full=True)


def submit_document(customer_id: str, document_type: str, reference: str, services: Services, *, actor: str,
                    correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R03: the customer sends a document for the open request (an operator decides on it)."""
    customer = get_customer(customer_id, services, to_change=True)
    verification = customer.verification or {}
    if verification.get("status") != "open":
        raise ConflictError("no verification request is open for your account: no document is expected",
                            code="no_open_verification_request")
    submitted = list(verification.get("submitted", []))
    if len(submitted) >= MAX_DOCUMENTS:
        raise RuleViolationError(f"{MAX_DOCUMENTS} documents were already sent for this request; wait for the "
                                 "operator's decision", code="too_many_documents")
    now = services.clock.now()
    document = {"document_id": new_id("doc"), "document_type": document_type, "document_ref": reference,
                "submitted_at": utc_iso(now), "submitted_by": actor, "status": "submitted"}
    updated = {**verification, "submitted": submitted + [document]}
    effect = Effect().update("customer", CustomerModel(customer_id=customer_id),
                             [CustomerModel.verification.set(updated), CustomerModel.updated_at.set(utc_iso(now))],
                             _as_read(customer))
    effect.evidence.append(_entry(customer, now, actor, "verification.document_submitted", "verification",
                                  verification["request_id"], None,
                                  {"document_id": document["document_id"], "document_type": document_type,
                                   "document_ref": reference}, correlation_id))
    _commit(effect, services)
    return {"request_id": verification["request_id"],
            **{k: document[k] for k in ("document_id", "document_type", "submitted_at", "status")}}


def decide_verification(customer_id: str, request_id: str, accepted: bool, note: str, services: Services, *,
                        operator: str, correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R03: the operator accepts the documents (the request closes and every contract suspended
    for it gets that hold lifted, and only that one: a non-payment hold stays) or refuses them
    (the request stays open; a suspension already made stays)."""
    customer = get_customer(customer_id, services, to_change=True)
    verification = customer.verification or {}
    if verification.get("request_id") != request_id:
        raise NotFoundError(f"no verification request {request_id} for customer {customer_id}",
                            code="verification_request_not_found")
    if verification.get("status") != "open":
        raise ConflictError(f"verification request {request_id} is closed ({verification.get('outcome')})",
                            code="verification_request_closed")
    now, actor = services.clock.now(), f"operator:{operator}"
    outcome = "accepted" if accepted else "refused"
    submitted = [{**d, "status": outcome, "decided_at": utc_iso(now)} if d.get("status") == "submitted" else d
                 for d in verification.get("submitted", [])]
    decided = [d["document_id"] for d, old in zip(submitted, verification.get("submitted", []))
               if old.get("status") == "submitted"]
    updated = {**verification, "submitted": submitted,
               "decisions": list(verification.get("decisions", [])) + [
                   {"accepted": accepted, "note": note, "decided_at": utc_iso(now), "decided_by": actor,
                    "documents": decided}]}
    if accepted:
        updated.update(status="closed", outcome="accepted", closed_at=utc_iso(now))
    effect = Effect().update("customer", CustomerModel(customer_id=customer_id),
                             [CustomerModel.verification.set(updated), CustomerModel.updated_at.set(utc_iso(now))],
                             _as_read(customer))
    lifted = []
    if accepted:
        for contract in contracts_of_customer(customer_id, services):
            if contract.status in [s.value for s in IN_FORCE] and UNVERIFIED.value in (contract.holds or {}):
                set_hold(effect, f"contract:{contract.contract_id}", contract, UNVERIFIED, None, services, now, actor,
                         request_id=request_id)
                lifted.append(contract.contract_id)
    effect.evidence.append(_entry(customer, now, actor, f"verification.{outcome}", "verification", request_id,
                                  {"status": "open"}, {"status": updated["status"], "note": note,
                                                       "documents": decided, "holds_lifted": lifted},
                                  correlation_id))
    _commit(effect, services)
    return {**verification_view(updated, full=True), "holds_lifted": lifted}


@timer_handler(VERIFICATION_DEADLINE)
def on_verification_deadline(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R03: the deadline passed and no document was accepted: every contract in force of the
    customer is suspended for `unverified_identity` (SuspendSpace on its node, data kept) and the
    customer is told; accepting a document later lifts that hold."""
    customer = services.store.get_customer(timer.customer_id)
    verification = (customer.verification or {}) if customer is not None else {}
    if (customer is None or customer.erased_at or verification.get("request_id") != timer.target_id
            or verification.get("status") != "open"):
        return None
    now, effect = services.clock.now(), Effect()
    suspended = []
    for contract in contracts_of_customer(customer.customer_id, services):
        if contract.status not in [s.value for s in IN_FORCE]:
            continue
        if (contract.holds or {}).get(UNVERIFIED.value) != HoldLevel.SUSPENDED.value:
            set_hold(effect, f"contract:{contract.contract_id}", contract, UNVERIFIED, HoldLevel.SUSPENDED, services,
                     now, "system", request_id=timer.target_id)
        suspended.append(contract)
    updated = {**verification, "suspended_at": utc_iso(now) if suspended else None, "deadline_missed": True}
    effect.update("customer", CustomerModel(customer_id=customer.customer_id),
                  [CustomerModel.verification.set(updated), CustomerModel.updated_at.set(utc_iso(now))],
                  _as_read(customer))
    effect.evidence.append(_entry(customer, now, "system", "verification.deadline_missed", "verification",
                                  timer.target_id, {"status": "open"},
                                  {"status": "open", "suspended_contracts": [c.contract_id for c in suspended]},
                                  None))
    if suspended:
        _with_notice(effect, _verification_notice(
            customer, "verification_suspended", f"verification_suspended#{timer.target_id}",
            {"request_id": timer.target_id, "deadline_on": verification["deadline_on"],
             "domains": sorted({c.domain_name for c in suspended})}, now, None), services)
    return effect
