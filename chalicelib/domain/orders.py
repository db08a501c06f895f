"""Order verification (R01, R05, R09, R10, R16, R21, R36).

`verify_order` turns a storefront order into everything the one write of
order placement stores, or raises a DomainError with a stable code.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.fr import tva as fr_tva

from .billing import InvoiceDraft, draft_invoice, monthly_lines, yearly_lines
from .calendar import add_months, age_on, paris_date
from .catalog import Catalog, Option, Plan
from .domains import normalise_domain, registry_for
from .errors import InvalidInputError, RuleViolationError

ADULT_AGE = 18


@dataclass(frozen=True)
class AddressInput:
    line1: str
    postcode: str
    city: str
    country: str


@dataclass(frozen=True)
class CustomerInput:
    kind: str
    email: str
    phone: str
    address: AddressInput
    legal_name: Optional[str] = None
    first_name: Optional[str] = None
    last_name: Optional[str] = None
    siren: Optional[str] = None
    siret: Optional[str] = None
    vat_number: Optional[str] = None
    birth_date: Optional[date] = None
    parental_authorisation_ref: Optional[str] = None


@dataclass(frozen=True)
class OrderInput:
    customer: CustomerInput
    plan: str
    options: tuple[str, ...]
    billing_period: str
    payment_method: str
    domain_name: str
    domain_action: str
    terms_version: str
    terms_accepted: bool
    client_ip: str
    user_agent: str
    domain_auth_code: Optional[str] = None  # R38: required for a transfer-in


@dataclass(frozen=True)
class Acceptance:
    """R09: evidence of the acceptance of the terms."""
    terms_version: str
    accepted_at: datetime
    client_ip: str
    user_agent: str


@dataclass(frozen=True)
class VerifiedOrder:
    customer: CustomerInput
    plan: Plan
    options: tuple[Option, ...]
    domain_name: str
    registry: str
    acceptance: Acceptance
    invoice: InvoiceDraft
    starts_on: date
    ends_on: date
    storage_mb: int
    mailboxes: int
    mysql_databases: int
    payment_method: str = "card"  # R21: card or bank_transfer
    billing_period: str = "yearly"  # R21: "monthly": the first invoice pays month 1 only
    domain_action: str = "register"  # R37 register | R38 transfer (the windows are checked with the registry)
    domain_auth_code: Optional[str] = None

    @property
    def is_professional(self) -> bool:
        return self.customer.kind == "professional"


def verify_customer(customer: CustomerInput, today: date) -> CustomerInput:
    """R01 (kinds, SIREN Luhn key, VAT key against SIREN) and R05 (minors)."""
    if customer.kind == "professional":
        if not customer.legal_name:
            raise InvalidInputError("a professional customer needs its legal name",
                                    code="missing_legal_name", fields={"customer.legal_name": "required"})
        if not customer.siren:
            raise InvalidInputError("a professional customer needs its SIREN (9 digits)",
                                    code="missing_siren", fields={"customer.siren": "required"})
        if not fr_siren.is_valid(customer.siren):
            raise RuleViolationError(f"SIREN '{customer.siren}' is invalid: 9 digits with a valid Luhn key",
                                     code="invalid_siren", fields={"customer.siren": "invalid SIREN"})
        siren = fr_siren.compact(customer.siren)
        siret = None
        if customer.siret:
            siret = fr_siret.compact(customer.siret)
            if not fr_siret.is_valid(siret) or siret[:9] != siren:
                raise RuleViolationError(
                    f"SIRET '{customer.siret}' is invalid or does not belong to SIREN {siren}",
                    code="invalid_siret", fields={"customer.siret": "14 digits, valid key, starting with the SIREN"})
        vat = None
        if customer.vat_number:
            digits = fr_tva.compact(customer.vat_number)  # key + SIREN, without "FR"
            vat = "FR" + digits
            if not fr_tva.is_valid(digits) or digits[2:] != siren:
                raise RuleViolationError(
                    f"VAT number '{customer.vat_number}' is invalid or does not match SIREN {siren}",
                    code="invalid_vat_number", fields={"customer.vat_number": "key must match the SIREN"})
        return replace(customer, siren=siren, siret=siret, vat_number=vat, first_name=None, last_name=None,
                        birth_date=None)
    missing = {f"customer.{name}": "required" for name in ("first_name", "last_name", "birth_date")
               if not getattr(customer, name)}
    if missing:
        raise InvalidInputError("a consumer needs first_name, last_name and birth_date",
                                code="missing_consumer_identity", fields=missing)
    assert customer.birth_date is not None
    if customer.birth_date >= today:
        raise InvalidInputError("birth_date must be in the past", code="invalid_birth_date",
                                fields={"customer.birth_date": "in the future"})
    if age_on(customer.birth_date, today) < ADULT_AGE and not customer.parental_authorisation_ref:
        raise RuleViolationError(
            "a customer under 18 needs a parental authorisation document (parental_authorisation.document_ref)",
            code="minor_without_authorisation", fields={"customer.parental_authorisation": "required for minors"})
    return replace(customer, siren=None, siret=None, vat_number=None, legal_name=None)


def verify_options(plan: Plan, option_ids: tuple[str, ...], catalog: Catalog) -> tuple[Option, ...]:
    """R09: options exist, appear once, and fit the plan's technical limits."""
    if len(set(option_ids)) != len(option_ids):
        raise InvalidInputError("an option is listed twice", code="duplicate_option",
                                fields={"options": "each option at most once"})
    for option_id in option_ids:
        if option_id not in catalog.options:
            raise RuleViolationError(f"unknown option '{option_id}'; see GET /catalog",
                                     code="unknown_option", fields={"options": option_id})
        if option_id not in plan.options:
            raise RuleViolationError(f"option '{option_id}' is not available with plan '{plan.id}'",
                                     code="option_not_available_for_plan", fields={"options": option_id})
    return tuple(catalog.options[o] for o in option_ids)


def verify_order(order: OrderInput, *, catalog: Catalog, now: datetime, vat_rate: Decimal,
                 late_penalty_rate_percent: Decimal) -> VerifiedOrder:
    """R09 verification; R10 conclusion date; R16 twelve-month term."""
    if not order.terms_accepted:
        raise RuleViolationError("the general terms must be accepted (terms.accepted = true)",
                                 code="terms_not_accepted", fields={"terms.accepted": "must be true"})
    if order.terms_version != catalog.terms_version:
        raise RuleViolationError(
            f"terms version '{order.terms_version}' is not the current one '{catalog.terms_version}'",
            code="terms_version_mismatch", fields={"terms.version": f"expected {catalog.terms_version}"})
    plan = catalog.plans.get(order.plan)
    if plan is None:
        raise RuleViolationError(f"unknown plan '{order.plan}'; plans: {', '.join(sorted(catalog.plans))}",
                                 code="unknown_plan", fields={"plan": "unknown"})
    options = verify_options(plan, order.options, catalog)
    if order.billing_period not in ("yearly", "monthly"):  # R21: paid in advance, yearly or monthly
        raise RuleViolationError("billing is yearly or monthly", code="billing_period_not_supported",
                                 fields={"billing_period": "yearly or monthly"})
    if order.payment_method not in ("card", "bank_transfer"):  # R21: by card or bank transfer
        raise RuleViolationError("pay by card or bank_transfer", code="payment_method_not_supported",
                                 fields={"payment_method": "card or bank_transfer"})
    domain_name = normalise_domain(order.domain_name)
    registry = registry_for(domain_name)
    if order.domain_action not in ("register", "transfer"):
        raise RuleViolationError("domain.action is register or transfer", code="domain_action_not_supported",
                                 fields={"domain.action": "register or transfer"})
    if order.domain_action == "transfer" and not order.domain_auth_code:
        raise InvalidInputError("a transfer needs the domain's auth code (domain.auth_code) from its current "
                                "registrar (R38)", code="missing_auth_code", fields={"domain.auth_code": "required"})
    if order.domain_action == "register" and order.domain_auth_code:
        raise InvalidInputError("domain.auth_code is only for a transfer", code="unexpected_auth_code",
                                fields={"domain.auth_code": "only with action transfer"})
    today = paris_date(now)
    customer = verify_customer(order.customer, today)
    # R21: paid in advance: the whole year, or (monthly) month 1, [today, today + 1 month); the
    # contract runs 12 months either way (R16) and the next months are invoiced one by one.
    lines = monthly_lines(plan, options) if order.billing_period == "monthly" else yearly_lines(plan, options)
    invoice = draft_invoice(
        lines, vat_rate=vat_rate, currency=catalog.currency,
        issue_date=today, due_date=today, late_penalty_rate_percent=late_penalty_rate_percent,
        professional=customer.kind == "professional")
    return VerifiedOrder(
        customer=customer, plan=plan, options=options, domain_name=domain_name, registry=registry,
        acceptance=Acceptance(order.terms_version, now, order.client_ip, order.user_agent),
        invoice=invoice, starts_on=today, ends_on=add_months(today, 12),
        storage_mb=plan.storage_mb + sum(o.storage_mb for o in options),
        mailboxes=plan.mailboxes + sum(o.mailboxes for o in options),
        mysql_databases=plan.mysql_databases + sum(o.mysql_databases for o in options),
        payment_method=order.payment_method, billing_period=order.billing_period,
        domain_action=order.domain_action, domain_auth_code=order.domain_auth_code)
