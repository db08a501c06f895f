"""Customer area wire models v1 (R04, R06). Strict: an unknown field (e.g. `role`, `customer_id`,
`status`) is a 400, never applied (OWASP API3: mass assignment)."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import EmailStr, Field, StrictBool

from .storefront_v1 import _Strict

LOGIN = r"^[A-Za-z0-9-]{3,64}$"


class LoginV1(_Strict):
    login: str = Field(pattern=LOGIN, description="the login identifier sent by mail (sh-xxxx-xxxx-xxxx)")
    password: str = Field(min_length=1, max_length=128)


class RefreshV1(_Strict):
    refresh_token: str = Field(min_length=10, max_length=200)


class ResetRequestV1(_Strict):
    login: str = Field(pattern=LOGIN)


class PasswordChangeV1(_Strict):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=12, max_length=128)


class AcceptedTermsV1(_Strict):
    version: str = Field(min_length=1, max_length=40)
    accepted: Literal[True] = Field(description="R18: the renewal needs the terms accepted")


class RenewalV1(_Strict):
    terms: AcceptedTermsV1


class BeneficiaryV1(_Strict):
    contract_id: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    email: EmailStr
    name: Optional[str] = Field(default=None, max_length=120)


class CredentialsDeliveryV1(_Strict):
    """R04: credentials sent to another address than the one on file, after an identity check."""
    email: EmailStr
    identity_document_ref: str = Field(min_length=3, max_length=120,
                                       description="reference of the identity document checked")
    login: Optional[str] = Field(default=None, pattern=LOGIN, description="default: the subscriber's login")


__all__ = ["LoginV1", "RefreshV1", "ResetRequestV1", "PasswordChangeV1", "RenewalV1", "BeneficiaryV1",
           "CredentialsDeliveryV1", "StrictBool"]
