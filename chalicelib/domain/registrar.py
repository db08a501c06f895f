"""The registrar gateway port (R35-R42): what the back office asks of a domain registry.

Pure Python. The adapter (`adapters/epp.py`) speaks EPP (RFC 5730-5734) over TLS to one registry
profile (Afnic, EURid, Network Solutions, the subcontractor); tests use the same adapter against
the local EPP registry of devstack, and unit tests use fakes of this protocol.

Errors are typed once here: a `RegistryTransportError` (connection, TLS, timeout, a session the
server closed) means the outcome is unknown and the call may be retried with backoff; a
`RegistryCommandError` carries the EPP result code (>= 2000) of a command the registry answered
and refused, which retrying does not change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional, Protocol

# EPP result codes used by the flows (RFC 5730 section 3)
OK = 1000
ACTION_PENDING = 1001
NO_MESSAGES = 1300
ACK_TO_DEQUEUE = 1301
OBJECT_EXISTS = 2302
OBJECT_DOES_NOT_EXIST = 2303
STATUS_PROHIBITS_OPERATION = 2304
PARAMETER_VALUE_POLICY_ERROR = 2306
AUTHORIZATION_ERROR = 2201
INVALID_AUTHORIZATION_INFORMATION = 2202
OBJECT_PENDING_TRANSFER = 2300
OBJECT_NOT_PENDING_TRANSFER = 2301
PARAMETER_VALUE_RANGE_ERROR = 2004
DATA_MANAGEMENT_POLICY_VIOLATION = 2308


class RegistryTransportError(Exception):
    """The registry could not be reached or the session broke: the outcome is unknown; retry."""


class RegistryCommandError(Exception):
    """The registry answered a command with an error result code (>= 2000)."""

    def __init__(self, code: int, message: str, reason: Optional[str] = None) -> None:
        super().__init__(f"EPP {code}: {message}" + (f" ({reason})" if reason else ""))
        self.code, self.message, self.reason = code, message, reason


@dataclass(frozen=True)
class Contact:
    """A registrant contact (RFC 5733). `siren` is sent in Afnic's extension for companies."""
    contact_id: str
    name: str
    email: str
    phone: str
    street: str
    city: str
    postcode: str
    country: str
    organisation: Optional[str] = None
    siren: Optional[str] = None


@dataclass(frozen=True)
class CheckResult:
    name: str
    available: bool
    reason: Optional[str] = None


@dataclass(frozen=True)
class DomainInfo:
    name: str
    registrar: str                      # the sponsoring client id (clID)
    created_at: datetime
    expires_at: Optional[datetime]
    statuses: tuple[str, ...] = ()
    registrant: Optional[str] = None
    auth_code: Optional[str] = None     # only given to the sponsoring registrar


@dataclass(frozen=True)
class CommandResult:
    code: int                           # 1000 done, 1001 action pending (the answer comes by poll)
    message: str
    server_trid: Optional[str] = None
    client_trid: Optional[str] = None
    created_at: Optional[datetime] = None
    expires_at: Optional[datetime] = None

    @property
    def pending(self) -> bool:
        return self.code == ACTION_PENDING


@dataclass(frozen=True)
class TransferStatus:
    name: str
    status: str                         # pending | clientApproved | clientRejected | serverApproved | ...
    requesting_registrar: str           # reID
    losing_registrar: str               # acID
    requested_at: datetime
    action_deadline: datetime           # acDate
    expires_at: Optional[datetime] = None


@dataclass(frozen=True)
class PollMessage:
    """One message of the registry's queue (poll req). `kind` says what it is about:
    `create` (paResult of a pending create), `transfer` (a transfer's status changed, ours or one
    requested from us), `renew`, `delete`, or `other`."""
    message_id: str
    queued_at: datetime
    text: str
    kind: str
    domain: Optional[str] = None
    result: Optional[bool] = None       # paResult for create; None when not a pending-action result
    transfer: Optional[TransferStatus] = None
    expires_at: Optional[datetime] = None
    client_trid: Optional[str] = None
    server_trid: Optional[str] = None
    count: int = 1                      # messages in the queue including this one


class RegistrarGateway(Protocol):
    """One registry profile. Every method opens (or reuses) an authenticated EPP session."""

    registry: str        # afnic | eurid | network_solutions | subcontractor
    client_id: str       # our registrar id at this registry (clID)

    def check(self, names: list[str]) -> list[CheckResult]: ...

    def info(self, name: str, auth_code: Optional[str] = None) -> DomainInfo: ...

    def create_contact(self, contact: Contact) -> CommandResult: ...

    def create(self, name: str, *, registrant: str, auth_code: str, years: int = 1,
               client_trid: Optional[str] = None) -> CommandResult: ...

    def renew(self, name: str, *, current_expiry: date, years: int = 1,
              client_trid: Optional[str] = None) -> CommandResult: ...

    def transfer_request(self, name: str, *, auth_code: str, years: int = 1,
                         client_trid: Optional[str] = None) -> CommandResult: ...

    def transfer_query(self, name: str) -> TransferStatus: ...

    def transfer_approve(self, name: str, client_trid: Optional[str] = None) -> CommandResult: ...

    def transfer_reject(self, name: str, client_trid: Optional[str] = None) -> CommandResult: ...

    def delete(self, name: str, client_trid: Optional[str] = None) -> CommandResult: ...

    def poll(self) -> Optional[PollMessage]: ...

    def poll_ack(self, message_id: str) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class RegistryProfile:
    """R36: how to reach one registry, and what it needs (Afnic: the holder's SIREN for companies)."""
    registry: str
    host: str
    port: int
    client_id: str
    password: str = field(repr=False)
    ca_file: Optional[str] = None       # the CA that signs the registry's certificate; None: system CAs
    server_name: Optional[str] = None   # TLS server name to verify; None: host
    requires_siren_for_companies: bool = False
    timeout_seconds: float = 10.0
