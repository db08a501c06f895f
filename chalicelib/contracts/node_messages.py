"""Wire messages between the back office and hosting nodes (R30), version 1.

Commands go to a node's own queue; results come back on the shared results
queue. Both sides (Lambda consumers and nodeagent/) parse with these models.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: Literal[1] = 1
    node_id: str
    correlation_id: Optional[str] = None


class ProvisionSpace(_Message):
    """Create the hosting space of a contract (R28, R29)."""
    type: Literal["ProvisionSpace"] = "ProvisionSpace"
    command_id: str
    contract_id: str
    domain: str
    quota_mb: int = Field(gt=0)
    mailboxes: int = Field(ge=0)
    mysql_databases: int = Field(ge=0)
    php: bool
    issued_at: datetime


NodeCommand = Annotated[Union[ProvisionSpace], Field(discriminator="type")]


class SpaceProvisioned(_Message):
    type: Literal["SpaceProvisioned"] = "SpaceProvisioned"
    command_id: str
    contract_id: str
    domain: str
    completed_at: datetime


class CommandFailed(_Message):
    """One failed try; the queue retries it until the dead-letter queue (R30)."""
    type: Literal["CommandFailed"] = "CommandFailed"
    command_id: str
    contract_id: Optional[str] = None
    error: str
    attempt: int = Field(ge=1)
    failed_at: datetime


class NodeHeartbeat(_Message):
    type: Literal["NodeHeartbeat"] = "NodeHeartbeat"
    sent_at: datetime
    http_address: Optional[str] = None
    sites: int = Field(ge=0)


NodeResult = Annotated[Union[SpaceProvisioned, CommandFailed, NodeHeartbeat], Field(discriminator="type")]

node_command_adapter: TypeAdapter = TypeAdapter(NodeCommand)
node_result_adapter: TypeAdapter = TypeAdapter(NodeResult)
