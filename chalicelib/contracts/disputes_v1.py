"""Wire models v1 of the dispute routes: claims (R46, R47), settlement cases (R51), formal notices
and termination (R52), early termination (R53). Strict: an unknown field is a 400."""
from __future__ import annotations

from datetime import datetime
from typing import Literal, Optional

from pydantic import AwareDatetime, Field, StrictBool, StrictInt, field_validator, model_validator

from .storefront_v1 import _Strict

_ID = r"^[A-Za-z0-9_-]{1,64}$"
MAX_CENTS = 10_000_000_000  # EUR 100 million: far above any claim on a hosting contract


def _plausible(moment: Optional[datetime]) -> Optional[datetime]:
    if moment is not None and not 2000 <= moment.year <= 2199:
        raise ValueError("an instant between the years 2000 and 2199")
    return moment


class CustomerClaimV1(_Strict):
    """R47: a claim about one of your contracts, filed now (a filing date cannot be chosen)."""
    contract_id: str = Field(pattern=_ID)
    event_at: AwareDatetime = Field(description="when the triggering event happened (ISO 8601 with its offset)")
    description: str = Field(min_length=3, max_length=4000, description="what happened and what you ask for")
    amount_claimed_cents: StrictInt = Field(ge=0, le=MAX_CENTS, description="the compensation asked, in cents")

    @field_validator("event_at")
    @classmethod
    def _plausible_event(cls, moment: datetime) -> datetime:
        return _plausible(moment)


class ClaimV1(CustomerClaimV1):
    """R46 + R47: a claim recorded by an operator (e.g. received by registered letter, 20.1)."""
    filed_at: Optional[AwareDatetime] = Field(default=None, description="when the customer filed it (default: now)")
    gross_or_wilful_fault: StrictBool = Field(default=False, description="R46: the provider's fault is wilful or "
                                                                         "gross: the compensation is not capped")

    @field_validator("filed_at")
    @classmethod
    def _plausible_filing(cls, moment: Optional[datetime]) -> Optional[datetime]:
        return _plausible(moment)


class ClaimDecisionV1(_Strict):
    """R46: the compensation granted (capped at the yearly price unless wilful or gross fault)."""
    granted_cents: StrictInt = Field(ge=0, le=MAX_CENTS, description="0 rejects the claim")
    note: str = Field(min_length=3, max_length=2000, description="the reasons, as told to the customer")
    gross_or_wilful_fault: Optional[StrictBool] = Field(
        default=None, description="R46: qualify the provider's fault now (default: as filed)")


class SettlementCaseV1(_Strict):
    """R51: a breach opening a settlement case (never an illegal one, never a payment default)."""
    breach: str = Field(min_length=3, max_length=2000, description="the breach, as told to the customer")
    breach_kind: Literal["service_quality", "customer_obligation", "other", "payment"]
    illegal: StrictBool = Field(default=False, description="the breach is an illegal activity (no settlement)")


class SettlementOutcomeV1(_Strict):
    """R51: how the settlement case ended."""
    outcome: Literal["settled", "failed"]
    note: str = Field(min_length=3, max_length=2000)


class FormalNoticeV1(_Strict):
    """R52: a formal notice (mise en demeure) for a wilful or gross breach."""
    breach: str = Field(min_length=3, max_length=2000, description="the breach to remedy, as told to the customer")
    gross_or_wilful: StrictBool = Field(description="must be true: only a wilful or gross breach allows it")
    breach_kind: Literal["service_quality", "customer_obligation", "other", "payment"] = "customer_obligation"
    illegal: StrictBool = Field(default=False, description="an illegal breach needs no settlement case first")
    settlement_case_id: Optional[str] = Field(default=None, pattern=_ID,
                                              description="R51: the failed settlement case (breach not illegal)")
    from_party: Literal["provider", "customer"] = Field(
        default="provider", description="provider: we put the customer on notice (termination after a month); "
                                        "customer: record the customer's notice to us (R53 provider_breach)")


class RemedyV1(_Strict):
    """R52: the breach was cured; no termination on this notice."""
    note: str = Field(min_length=3, max_length=2000)


class BreachTerminationV1(_Strict):
    """R52: terminate for gross breach on a formal notice whose month is over."""
    reason: Literal["gross_breach"] = "gross_breach"
    formal_notice_id: Optional[str] = Field(default=None, pattern=_ID,
                                            description="default: the contract's provider notice still served")
    note: Optional[str] = Field(default=None, max_length=2000)


class EarlyTerminationV1(_Strict):
    """R53: end your contract before its term. Outside the allowed cases, the remaining sums are owed."""
    reason: str = Field(min_length=3, max_length=2000)
    allowed_case: Optional[Literal["force_majeure", "provider_breach"]] = Field(
        default=None, description="force_majeure (R50, over 30 days) or provider_breach (R52: your formal notice "
                                  "to us remained without effect for a month)")
    reference: Optional[str] = Field(default=None, pattern=_ID,
                                     description="the force majeure event id, or your formal notice's id")

    @model_validator(mode="after")
    def _reference_with_case(self) -> "EarlyTerminationV1":
        if (self.allowed_case is None) != (self.reference is None):
            raise ValueError("allowed_case and reference go together")
        return self
