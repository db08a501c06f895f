"""Operator API wire models v1 (bodies of the /admin routes that record facts)."""
from __future__ import annotations

from datetime import date
from typing import Literal, Optional

from pydantic import ConfigDict, EmailStr, Field, StrictBool, model_validator

from .storefront_v1 import AddressV1, CustomerIdentityV1, ParentalAuthorisationV1, _Strict


class BankTransferV1(_Strict):
    """A bank transfer the operator saw on the provider's account statement (R21)."""
    amount_cents: int = Field(gt=0, description="the amount credited, in euro cents")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    reference: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$",
                           description="the bank's reference of the transfer (unique per transfer)")
    received_on: date = Field(description="value date on the statement")


class PayerKeyV1(_Strict):
    """Who a bad-payer record or a guarantee is about: an email and/or a SIREN (R25)."""
    email: Optional[EmailStr] = None
    siren: Optional[str] = Field(default=None, pattern=r"^[0-9 ]{9,11}$")

    @model_validator(mode="after")
    def _one_key(self) -> "PayerKeyV1":
        if not self.email and not self.siren:
            raise ValueError("give the customer's email or SIREN")
        return self


class GuaranteeV1(_Strict):
    """R25: a guarantee (deposit, bank guarantee, parent company letter) accepted by an operator."""
    customer: PayerKeyV1
    reference: str = Field(min_length=1, max_length=120)
    amount_cents: int = Field(ge=0)


class OptionsOrderV1(_Strict):
    """R33: options to add to a contract in force."""
    options: list[str] = Field(min_length=1, max_length=10)


class IrregularOrderV1(_Strict):
    """R11: why the order is irregular, in words the customer will read."""
    reason: str = Field(min_length=3, max_length=500)


class CustomerCorrectionV1(CustomerIdentityV1):
    """R11 + R02: the corrected customer data agreed with the customer (only what changes)."""
    phone: Optional[str] = Field(default=None, min_length=6, max_length=32, pattern=r"^\+?[0-9 .()-]+$")
    address: Optional[AddressV1] = None
    birth_date: Optional[date] = None
    parental_authorisation: Optional[ParentalAuthorisationV1] = None


class RegularisationV1(_Strict):
    customer: CustomerCorrectionV1
    note: str = Field(min_length=3, max_length=500, description="how it was agreed with the customer")


class RenewalTermsV1(_Strict):
    """The terms the customer accepted for the renewal (R18): their version, and `accepted: true`."""
    version: str = Field(min_length=1, max_length=40, description="version of the terms in force, e.g. 2026-09")
    accepted: StrictBool = Field(description="must be true (422 terms_not_accepted otherwise)")


class RenewalAcceptanceV1(_Strict):
    """R18: the customer's acceptance of the renewal offer, as received by an operator."""
    terms: RenewalTermsV1
    channel: Literal["email", "phone", "web", "post"] = Field(description="how the acceptance reached the operator")


class ClockMoveV1(_Strict):
    """Local mode only: move the business clock forward by an ISO 8601 duration ("advance": "P30D") or to
    an instant with its offset ("set": "2027-01-01T00:00:00+01:00"); exactly one of the two."""
    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["advance"]}, {"required": ["set"]}]})

    advance: Optional[str] = Field(default=None, min_length=1, max_length=64, description="ISO 8601 duration",
                                   examples=["P30D"])
    set: Optional[str] = Field(default=None, min_length=1, max_length=64,
                               description="ISO 8601 instant with its offset", examples=["2027-01-01T00:00:00+01:00"])

    @model_validator(mode="after")
    def _exactly_one(self) -> "ClockMoveV1":
        if (self.advance is None) == (self.set is None):
            raise ValueError("send exactly one of 'advance' or 'set'")
        return self

    def as_move(self) -> dict[str, str]:
        """The move as devclock.move_clock takes it: {"advance": ...} or {"set": ...}."""
        return self.model_dump(exclude_none=True)
