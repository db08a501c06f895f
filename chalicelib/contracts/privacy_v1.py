"""Personal data wire models v1 (R02, R03, R07, R08). Strict: an unknown field (`status`,
`customer_id`, `kind`, `siren` in a contact-email change...) is a 400, never applied (OWASP API3:
mass assignment); identity data changes only through an identity change with its justification."""
from __future__ import annotations

from datetime import date
from typing import Literal, Optional, get_args

from pydantic import EmailStr, Field, StrictBool, model_validator

from .storefront_v1 import AddressV1, CustomerIdentityV1, _Strict

DocumentType = Literal["identity_card", "passport", "residence_permit", "driving_licence", "kbis",
                       "insee_registration", "proof_of_address", "vat_certificate", "parental_authorisation", "other"]
DOCUMENT_TYPES: tuple[str, ...] = get_args(DocumentType)


class ContactEmailChangeV1(_Strict):
    """R02: the customer changes the contact email themselves (and nothing else here)."""
    email: EmailStr = Field(description="the new contact email; credentials and notices go there (R04, R54)")


REMOVABLE = frozenset({"siret", "vat_number"})  # a professional may have neither (R01)


class IdentityFieldsV1(CustomerIdentityV1):
    """R02: the identity fields to change (only those that change). A professional has legal_name,
    siren, siret, vat_number; a consumer first_name, last_name, birth_date (R01)."""
    phone: Optional[str] = Field(default=None, min_length=6, max_length=32, pattern=r"^\+?[0-9 .()-]+$")
    address: Optional[AddressV1] = None
    birth_date: Optional[date] = None

    @model_validator(mode="after")
    def _something(self) -> "IdentityFieldsV1":
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        nulls = sorted(name for name in self.model_fields_set - REMOVABLE if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"only siret and vat_number can be removed (null); give the new value of: "
                             f"{', '.join(nulls)}")
        return self


class JustificationV1(_Strict):
    """R02: the document that justifies the change (who and when are recorded from the request)."""
    document_type: DocumentType
    document_ref: str = Field(min_length=1, max_length=200, description="the reference or number of the document")
    note: str = Field(default="", max_length=500)


class IdentityChangeV1(_Strict):
    """R02: identity data changed only with a recorded justification."""
    changes: IdentityFieldsV1
    justification: JustificationV1


class VerificationRequestV1(_Strict):
    """R03: the customer's data looks doubtful: the documents asked for, and why."""
    reason: str = Field(min_length=3, max_length=500, description="why, in words the customer will read")
    documents: list[DocumentType] = Field(min_length=1, max_length=10, description="the documents requested")


class VerificationDocumentV1(_Strict):
    """R03: a document the customer sends for the open verification request."""
    document_type: DocumentType
    reference: str = Field(min_length=1, max_length=200,
                           description="where the document is (upload id, mail reference) or its number")


class VerificationDecisionV1(_Strict):
    """R03: the operator's decision on the documents received."""
    accepted: StrictBool
    note: str = Field(min_length=3, max_length=500)


class ReferenceConsentV1(_Strict):
    """R08: may the provider cite the customer as a commercial reference (withdrawable at any time)."""
    consent: StrictBool


__all__ = ["ContactEmailChangeV1", "IdentityChangeV1", "IdentityFieldsV1", "JustificationV1",
           "VerificationRequestV1", "VerificationDocumentV1", "VerificationDecisionV1", "ReferenceConsentV1",
           "DOCUMENT_TYPES"]
