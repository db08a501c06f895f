"""Wire models v1 of the terms, assignment and service-change routes (R55, R57, R58)."""
from __future__ import annotations

from datetime import date
from typing import Optional

from pydantic import EmailStr, Field, StrictBool, field_validator

from .storefront_v1 import _Strict

_ID = r"^[A-Za-z0-9_-]{1,64}$"


class AssignmentV1(_Strict):
    """R57 (24.2): an operator records its approval of a contract's assignment to another customer."""
    to_customer_id: str = Field(pattern=_ID, description="the customer the contract moves to")
    reason: str = Field(min_length=3, max_length=500, description="why the assignment is approved")
    approval_reference: str = Field(min_length=1, max_length=120,
                                    description="the reference of the provider's written approval")


class AssignmentRequestV1(_Strict):
    """R57: a subscriber asks for its contract to be assigned; an operator decides."""
    transferee_name: str = Field(min_length=1, max_length=200, description="who should take the contract over")
    transferee_email: EmailStr
    transferee_customer_id: Optional[str] = Field(default=None, pattern=_ID,
                                                  description="the transferee's customer id, if it is one")
    reason: str = Field(min_length=3, max_length=500)


class PlanChangeV1(_Strict):
    """R55 (21.2): a change of a plan, announced by an operator."""
    plan: str = Field(pattern=_ID, description="the plan id the change applies to (GET /catalog)")
    description: str = Field(min_length=3, max_length=2000, description="what changes, in French, as told to "
                                                                       "the customers")
    effective_on: date = Field(description="the day the change takes effect (Paris)")
    removes_essential_function: StrictBool = Field(description="true: every affected customer is told and may "
                                                               "object within the objection window")

    @field_validator("effective_on")
    @classmethod
    def _plausible_day(cls, day: date) -> date:
        if not date(2000, 1, 1) <= day <= date(2199, 12, 31):
            raise ValueError("a day between 2000-01-01 and 2199-12-31")
        return day


class ObjectionV1(_Strict):
    """R55: a subscriber objects to a change (all its affected contracts, or the one named)."""
    contract_id: Optional[str] = Field(default=None, pattern=_ID)
    reason: Optional[str] = Field(default=None, max_length=1000)


class RenewalRefusalV1(_Strict):
    """R55 (21.2): the provider refuses the next renewal of a contract whose customer objected."""
    reason: str = Field(min_length=3, max_length=500)
    change_id: Optional[str] = Field(default=None, pattern=_ID,
                                     description="the change objected to (any objected change when omitted)")


class PlanChangeRequestV1(_Strict):
    """R55 (21.3): a subscriber asks for another plan; the answer is an offer or no change."""
    plan: str = Field(pattern=_ID, description="the plan wanted (GET /catalog)")
