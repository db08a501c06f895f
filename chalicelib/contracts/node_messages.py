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
    # R28: the space's FTP account (login = the domain). An argon2 hash of the password the back
    # office derives; the node stores and verifies the hash, never the password.
    ftp_password_hash: Optional[str] = None


class _SpaceCommand(_Message):
    command_id: str
    contract_id: str
    domain: str
    issued_at: datetime


class RestrictSpace(_SpaceCommand):
    """R23/R49: the site keeps answering but the space is limited (no uploads, no outgoing mail)."""
    type: Literal["RestrictSpace"] = "RestrictSpace"
    reason: str
    # R49 (11.3, spam): also record the space's outgoing mail as blocked; it stays blocked until an
    # UnsuspendSpace (a SuspendSpace blocks it too; a RestrictSpace without the flag leaves it as is).
    block_outgoing_mail: bool = False


class SuspendSpace(_SpaceCommand):
    """R19/R23/R49: the site answers 503 with a suspension page; files and mail are kept (R20)."""
    type: Literal["SuspendSpace"] = "SuspendSpace"
    reason: str


class UnsuspendSpace(_SpaceCommand):
    """Lift a restriction or suspension: the site is served again as it was."""
    type: Literal["UnsuspendSpace"] = "UnsuspendSpace"


class DeleteSpaceData(_SpaceCommand):
    """R20: delete every hosted file, database, mailbox and log of the space; the site answers 404."""
    type: Literal["DeleteSpaceData"] = "DeleteSpaceData"


class DeprovisionSpace(_SpaceCommand):
    """R13: remove the space entirely (files, mailboxes, databases, FTP account) and free its quota;
    the site answers 404."""
    type: Literal["DeprovisionSpace"] = "DeprovisionSpace"
    reason: str


class ChangeSpace(_SpaceCommand):
    """R33: the space's new limits after options were added (absolute values, so a replay is harmless)."""
    type: Literal["ChangeSpace"] = "ChangeSpace"
    quota_mb: int = Field(gt=0)
    mailboxes: int = Field(ge=0)
    mysql_databases: int = Field(ge=0)


class DnsRecordV1(BaseModel):
    """R40: one record of a managed zone (chalicelib.domain.dns_zones.DnsRecord on the wire). `name`
    is relative to the zone ("@", "www"); `value` an address, an absolute host name or TXT text."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=253)
    type: Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS"]
    value: str = Field(min_length=1, max_length=255)
    ttl: int = Field(default=3600, ge=60, le=86400)
    priority: Optional[int] = Field(default=None, ge=0, le=65535)  # MX only


class SetDnsZone(_SpaceCommand):
    """R40: the domain's whole DNS zone as the provider manages it (absolute content, so a replay is
    harmless); the node keeps the zone of the highest serial and serves it. No space is needed."""
    type: Literal["SetDnsZone"] = "SetDnsZone"
    records: list[DnsRecordV1] = Field(max_length=50)
    serial: int = Field(ge=1, le=2**32 - 1)


class RemoveDnsZone(_SpaceCommand):
    """R40/R19: the provider stops managing the domain's DNS: the node stops serving its zone."""
    type: Literal["RemoveDnsZone"] = "RemoveDnsZone"
    reason: str


NodeCommand = Annotated[Union[ProvisionSpace, RestrictSpace, SuspendSpace, UnsuspendSpace, DeleteSpaceData,
                              DeprovisionSpace, ChangeSpace, SetDnsZone, RemoveDnsZone],
                        Field(discriminator="type")]


class SpaceProvisioned(_Message):
    type: Literal["SpaceProvisioned"] = "SpaceProvisioned"
    command_id: str
    contract_id: str
    domain: str
    completed_at: datetime


class CommandApplied(_Message):
    """Any command other than ProvisionSpace was applied (the node's confirmation, R20 for deletions)."""
    type: Literal["CommandApplied"] = "CommandApplied"
    command_id: str
    command_type: Literal["RestrictSpace", "SuspendSpace", "UnsuspendSpace", "DeleteSpaceData",
                          "DeprovisionSpace", "ChangeSpace", "SetDnsZone", "RemoveDnsZone"]
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


class SpaceFirstUsed(_Message):
    """R32: the first use of a space (FTP login or upload, mailbox use), reported once per space.
    It ends the consumer's withdrawal right (R13)."""
    type: Literal["SpaceFirstUsed"] = "SpaceFirstUsed"
    contract_id: str
    domain: str
    usage: Literal["ftp_login", "ftp_upload", "mailbox"]
    used_at: datetime


class NodeHeartbeat(_Message):
    type: Literal["NodeHeartbeat"] = "NodeHeartbeat"
    sent_at: datetime
    http_address: Optional[str] = None
    sites: int = Field(ge=0)


class ProbeResult(BaseModel):
    """R44: one site probed: a real HTTP GET of its home page to the node's own server (Host header)."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    contract_id: str = Field(min_length=1, max_length=200)
    domain: str = Field(min_length=1, max_length=253)
    up: bool  # the server answered below 500 (a 503 suspension page is down, and excluded by R44)
    status: Optional[int] = None  # the HTTP status; None: no answer (refused, timed out)
    latency_ms: int = Field(ge=0)
    error: Optional[str] = Field(default=None, max_length=200)


class SiteProbes(_Message):
    """R44: one probe round of the sites a node serves (a large round comes in several messages,
    each with its own round id)."""
    type: Literal["SiteProbes"] = "SiteProbes"
    round_id: str = Field(min_length=1, max_length=100)
    probed_at: datetime
    results: list[ProbeResult] = Field(max_length=500)


NodeResult = Annotated[Union[SpaceProvisioned, CommandApplied, CommandFailed, NodeHeartbeat, SpaceFirstUsed,
                             SiteProbes],
                      Field(discriminator="type")]

node_command_adapter: TypeAdapter = TypeAdapter(NodeCommand)
node_result_adapter: TypeAdapter = TypeAdapter(NodeResult)
