"""Abuse wire models v1 (R48, R49). Strict: an unknown field is a 400, never applied.

The public intake (POST /abuse-reports) takes a category, exactly one target (a domain, an http(s)
URL or a mailbox, validated), a description, the reporter's contact and up to five evidence files
(announced here, uploaded to S3 through the pre-signed forms of the answer). Operators enter court
or authority orders and third parties' written claims (1.20) with POST /admin/abuse-reports.
"""
from __future__ import annotations

from typing import Literal, Optional, get_args

from pydantic import EmailStr, Field, field_validator, model_validator

from ..domain.abuse import (DESCRIPTION_MAX, DESCRIPTION_MIN, EVIDENCE_TYPES, MAX_EVIDENCE_BYTES, MAX_EVIDENCE_FILES,
                            Target, check_evidence_file, target_of)
from .storefront_v1 import _Strict

Category = Literal["spam", "illegal_content", "copyright", "defamation", "phishing_malware", "other"]
Severity = Literal["minor", "serious", "manifestly_illegal"]
Measure = Literal["warning", "restrict_mail", "limit", "suspend"]
OperatorSource = Literal["court_order", "authority_order", "third_party_claim", "provider_detection"]
ContentType = Literal["application/pdf", "image/png", "image/jpeg", "text/plain", "message/rfc822"]
assert set(get_args(ContentType)) == set(EVIDENCE_TYPES)


class AbuseTargetV1(_Strict):
    """What the complaint is about: exactly one of `domain`, `url` (http or https) or `mailbox`."""
    domain: Optional[str] = Field(default=None, min_length=1, max_length=300, examples=["www.example.fr"])
    url: Optional[str] = Field(default=None, min_length=1, max_length=2048, examples=["https://www.example.fr/page"])
    mailbox: Optional[str] = Field(default=None, min_length=3, max_length=320, examples=["contact@example.fr"])

    @model_validator(mode="after")
    def _exactly_one_valid(self) -> "AbuseTargetV1":
        target_of(domain=self.domain, url=self.url, mailbox=self.mailbox)  # ValueError -> 400 naming the fault
        return self

    def to_domain(self) -> Target:
        return target_of(domain=self.domain, url=self.url, mailbox=self.mailbox)


class ReporterV1(_Strict):
    """Who complains: kept for the case only, never told to the customer (R48)."""
    email: EmailStr
    name: Optional[str] = Field(default=None, min_length=1, max_length=200)


class EvidenceFileV1(_Strict):
    """A file to upload: PDF, PNG, JPEG, text or e-mail (.eml), at most 10 MB."""
    filename: str = Field(min_length=1, max_length=200, examples=["capture.png"])
    content_type: ContentType
    size_bytes: int = Field(gt=0, le=MAX_EVIDENCE_BYTES, description="the exact size of the file to upload")

    @model_validator(mode="after")
    def _checked(self) -> "EvidenceFileV1":
        check_evidence_file(self.filename, self.content_type, self.size_bytes)
        return self


def _description() -> object:
    return Field(min_length=DESCRIPTION_MIN, max_length=DESCRIPTION_MAX,
                 description="what is wrong, where and since when (20 to 5000 characters)")


class AbuseReportV1(_Strict):
    """R48: a complaint about a hosted site or mailbox, by anyone (no account)."""
    category: Category
    target: AbuseTargetV1
    description: str = _description()  # type: ignore[assignment]
    reporter: ReporterV1
    evidence_files: list[EvidenceFileV1] = Field(default_factory=list, max_length=MAX_EVIDENCE_FILES)

    @field_validator("evidence_files")
    @classmethod
    def _distinct_names(cls, files: list[EvidenceFileV1]) -> list[EvidenceFileV1]:
        names = [f.filename for f in files]
        if len(set(names)) != len(names):
            raise ValueError("give each file its own name")
        return files


class AdminAbuseReportV1(_Strict):
    """R48 (1.20): an operator enters a court or authority order, a third party's written claim or
    a breach the provider found, about a target or a named contract (at least one)."""
    source: OperatorSource
    category: Category
    description: str = _description()  # type: ignore[assignment]
    document_reference: str = Field(min_length=1, max_length=200, description="the order's or letter's reference")
    target: Optional[AbuseTargetV1] = None
    contract_id: Optional[str] = Field(default=None, min_length=1, max_length=100)
    severity: Optional[Severity] = Field(default=None, description="R49: the severity, when the document settles it")
    reporter: Optional[ReporterV1] = Field(default=None, description="the third party's contact, when there is one")

    @model_validator(mode="after")
    def _about_something(self) -> "AdminAbuseReportV1":
        if self.target is None and self.contract_id is None:
            raise ValueError("name the target (domain, url or mailbox) or the contract_id")
        return self


class AbuseAnswerV1(_Strict):
    """R48: the customer's answer to the complaint (what was done, or why it is unfounded)."""
    message: str = Field(min_length=10, max_length=5000)


class AbuseSeverityV1(_Strict):
    """R49: the severity an operator sets (manifestly_illegal suspends at once)."""
    severity: Severity
    note: Optional[str] = Field(default=None, min_length=1, max_length=2000)


class AbuseMeasureV1(_Strict):
    """R49: apply a measure now: the matrix's (no `measure`) or another one with its reason."""
    measure: Optional[Measure] = None
    reason: Optional[str] = Field(default=None, min_length=1, max_length=2000)


class AbuseCloseV1(_Strict):
    outcome: Literal["resolved", "dismissed"]
    note: str = Field(min_length=1, max_length=2000)


class AbuseLiftV1(_Strict):
    """R49: lift the contract's abuse hold (never another reason's)."""
    note: str = Field(min_length=1, max_length=2000)
