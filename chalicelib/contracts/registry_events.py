"""Wire model of the registry-events queue (issue 4, R37-R39): one registry poll message, as the
poll schedule put it on the queue for `on_registry_event`."""
from __future__ import annotations

from datetime import datetime
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from ..domain.registrar import PollMessage


class TransferStatusV1(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    status: str = Field(min_length=1, max_length=40)
    requesting_registrar: str = Field(max_length=100)
    losing_registrar: str = Field(max_length=100)
    requested_at: datetime
    action_deadline: datetime
    expires_at: Optional[datetime] = None


class RegistryEventV1(BaseModel):
    """One message of a registry's queue: `client_id` is our registrar id there (to tell a transfer
    we asked for from one asked of us)."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: Literal[1] = 1
    registry: str = Field(min_length=1, max_length=40)
    client_id: str = Field(min_length=1, max_length=100)
    message_id: str = Field(min_length=1, max_length=100)
    queued_at: datetime
    kind: Literal["create", "transfer", "renew", "delete", "other"]
    domain: Optional[str] = Field(default=None, max_length=253)
    result: Optional[bool] = None
    text: str = Field(default="", max_length=2000)
    transfer: Optional[TransferStatusV1] = None
    expires_at: Optional[datetime] = None

    @classmethod
    def from_poll(cls, registry: str, client_id: str, message: PollMessage) -> "RegistryEventV1":
        t = message.transfer
        return cls(registry=registry, client_id=client_id, message_id=message.message_id,
                   queued_at=message.queued_at, kind=message.kind if message.kind in (
                       "create", "transfer", "renew", "delete") else "other",
                   domain=(message.domain or None) and message.domain.lower(), result=message.result,
                   text=(message.text or "")[:2000], expires_at=message.expires_at,
                   transfer=None if t is None else TransferStatusV1(
                       status=t.status, requesting_registrar=t.requesting_registrar,
                       losing_registrar=t.losing_registrar, requested_at=t.requested_at,
                       action_deadline=t.action_deadline, expires_at=t.expires_at))
