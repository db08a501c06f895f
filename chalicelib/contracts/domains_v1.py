"""Wire models of the domain routes (issue 4, R35, R42)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .node_messages import DnsRecordV1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AvailabilityQueryV1(_Strict):
    """R35: `?name=` the domain name to look up (Unicode or ASCII)."""
    name: str = Field(min_length=1, max_length=300)


class DnsZoneV1(_Strict):
    """R40: the whole zone of the domain (it replaces the records in force; [] is not allowed)."""
    records: list[DnsRecordV1] = Field(min_length=1, max_length=50)


class DomainDecisionV1(_Strict):
    """R42: a decision (court, administrative, dispute resolution) or the holder's own request."""
    kind: Literal["court", "administrative", "dispute_resolution", "holder_request"]
    action: Literal["cancel", "transfer"]
    reference: str = Field(min_length=1, max_length=200, description="the decision's or request's reference")
    document_ref: str = Field(min_length=1, max_length=200, description="where the document is filed")
