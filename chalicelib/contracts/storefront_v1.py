"""Storefront wire contract v1: the body of POST /orders and its answer."""
from __future__ import annotations

from datetime import date
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from ..domain.orders import AddressInput, CustomerInput, OrderInput


class _Strict(BaseModel):
    # Mass assignment guard: unknown fields are an error, not silently dropped.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressV1(_Strict):
    line1: str = Field(min_length=1, max_length=200)
    postcode: str = Field(min_length=2, max_length=16)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class ParentalAuthorisationV1(_Strict):
    document_ref: str = Field(min_length=1, max_length=200)


class CustomerIdentityV1(_Strict):
    """Who the customer is (R01): a professional's legal name and numbers, a consumer's names."""
    legal_name: Optional[str] = Field(default=None, max_length=200)
    first_name: Optional[str] = Field(default=None, max_length=100)
    last_name: Optional[str] = Field(default=None, max_length=100)
    siren: Optional[str] = Field(default=None, max_length=20)
    siret: Optional[str] = Field(default=None, max_length=20)
    vat_number: Optional[str] = Field(default=None, max_length=20)


class CustomerV1(CustomerIdentityV1):
    kind: Literal["professional", "consumer"]
    email: EmailStr
    phone: str = Field(min_length=6, max_length=32, pattern=r"^\+?[0-9 .()-]+$")
    address: AddressV1
    birth_date: Optional[date] = None
    parental_authorisation: Optional[ParentalAuthorisationV1] = None


class DomainV1(_Strict):
    name: str = Field(min_length=1, max_length=300)
    action: Literal["register", "transfer"]
    # R38: a transfer-in needs the code the current registrar gives the holder
    auth_code: Optional[str] = Field(default=None, min_length=1, max_length=64)


class TermsV1(_Strict):
    version: str = Field(min_length=1, max_length=40)
    accepted: bool


class OrderRequestV1(_Strict):
    customer: CustomerV1
    plan: str = Field(min_length=1, max_length=60)
    options: list[str] = Field(default_factory=list, max_length=20)
    billing_period: Literal["yearly", "monthly"]
    payment_method: Literal["card", "bank_transfer"]
    domain: DomainV1
    terms: TermsV1

    def to_domain(self, client_ip: str, user_agent: str) -> OrderInput:
        c = self.customer
        return OrderInput(
            customer=CustomerInput(
                kind=c.kind, legal_name=c.legal_name, first_name=c.first_name, last_name=c.last_name,
                siren=c.siren, siret=c.siret, vat_number=c.vat_number, email=str(c.email).lower(), phone=c.phone,
                address=AddressInput(**c.address.model_dump()), birth_date=c.birth_date,
                parental_authorisation_ref=c.parental_authorisation.document_ref
                if c.parental_authorisation else None),
            plan=self.plan, options=tuple(self.options), billing_period=self.billing_period,
            payment_method=self.payment_method, domain_name=self.domain.name,
            domain_action=self.domain.action, domain_auth_code=self.domain.auth_code,
            terms_version=self.terms.version,
            terms_accepted=self.terms.accepted, client_ip=client_ip, user_agent=user_agent)
