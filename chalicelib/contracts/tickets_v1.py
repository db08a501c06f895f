"""Wire models v1 of the support tickets and incidents (R43, R45)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal, Optional

from pydantic import AwareDatetime, Field, field_validator, model_validator

from .storefront_v1 import _Strict

_ID = r"^[A-Za-z0-9_-]{1,64}$"
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2199, 12, 31, tzinfo=timezone.utc)


def _text(value: Optional[str]) -> Optional[str]:
    """Free text: printable (new lines and tabs allowed), valid Unicode (no lone surrogate)."""
    if value is None:
        return value
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ValueError("text must be valid Unicode")
    if any((ord(c) < 32 and c not in "\n\r\t") or ord(c) == 127 for c in value):
        raise ValueError("text must not hold control characters")
    return value


def _instant(value: Optional[datetime]) -> Optional[datetime]:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValueError("an instant between 2000 and 2199")
    return value


class IncidentV1(_Strict):
    """R45 (15.3): what the customer saw and since when."""
    started_at: AwareDatetime = Field(description="when the anomaly started (ISO 8601 with its offset)")
    url: Optional[str] = Field(default=None, max_length=2000, pattern=r"^https?://[^\s]+$",
                               description="a page or service that shows the anomaly")

    @field_validator("started_at")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        return _instant(value)

    @field_validator("url")
    @classmethod
    def _printable(cls, value: Optional[str]) -> Optional[str]:
        return _text(value)


class TicketV1(_Strict):
    """R43: a ticket (a question, an incident, a billing question or anything else)."""
    kind: Literal["question", "incident", "billing", "other"]
    subject: str = Field(min_length=3, max_length=200)
    message: str = Field(min_length=1, max_length=5000)
    contract_id: Optional[str] = Field(default=None, pattern=_ID,
                                       description="the contract concerned (required for an incident)")
    incident: Optional[IncidentV1] = Field(default=None, description="R45: required for kind incident only")

    @field_validator("subject", "message")
    @classmethod
    def _printable(cls, value: str) -> str:
        return _text(value)

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError("the subject is one line")
        return value

    @model_validator(mode="after")
    def _incident_shape(self) -> "TicketV1":
        if self.kind == "incident" and self.incident is None:
            raise ValueError("an incident says when the anomaly started: incident.started_at")
        if self.kind != "incident" and self.incident is not None:
            raise ValueError("incident details go with kind 'incident' only")
        return self


class TicketMessageV1(_Strict):
    """A message on a ticket (customer or operator)."""
    message: str = Field(min_length=1, max_length=5000)

    @field_validator("message")
    @classmethod
    def _printable(cls, value: str) -> str:
        return _text(value)


class TicketResolutionV1(_Strict):
    """R45: how a ticket ends. For an incident the cause is required; when it lies outside the
    provider the customer is told so."""
    cause: Optional[Literal["provider", "outside_provider", "no_fault_found"]] = Field(
        default=None, description="where the cause lies (required for an incident)")
    note: str = Field(min_length=1, max_length=5000, description="what was found and done, as told to the customer")
    ended_at: Optional[AwareDatetime] = Field(
        default=None, description="incident only: when the anomaly ended (the resolution time otherwise)")

    @field_validator("note")
    @classmethod
    def _printable(cls, value: str) -> str:
        return _text(value)

    @field_validator("ended_at")
    @classmethod
    def _plausible(cls, value: Optional[datetime]) -> Optional[datetime]:
        return _instant(value)
