"""Operator API wire models v1 (bodies of the /admin routes that record facts)."""
from __future__ import annotations

from datetime import date
from typing import Optional

from pydantic import EmailStr, Field, model_validator

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
