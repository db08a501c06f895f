"""Typed domain errors. Each carries a stable `code` the API returns as is."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base: a request the rules refuse. `fields` names the input at fault."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None,
                 fields: dict[str, str] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}
        self.details = details


class InvalidInputError(DomainError):
    """The input is malformed (shape, types, formats)."""
    code = "invalid_request"


class RuleViolationError(DomainError):
    """The input is well-formed but a rule of the terms refuses it."""
    code = "rule_violation"


class ConflictError(DomainError):
    """The request conflicts with what is already stored."""
    code = "conflict"


class NotFoundError(DomainError):
    code = "not_found"


class IllegalTransitionError(DomainError):
    """A lifecycle move that is not in the transition table."""
    code = "illegal_transition"

    def __init__(self, entity: str, state: str, event: str) -> None:
        super().__init__(f"{entity} in state '{state}' cannot take '{event}'",
                         entity=entity, state=state, event=event)
        self.entity, self.state, self.event = entity, state, event


class NoCapacityError(DomainError):
    """R31: no hosting node can take the space."""
    code = "no_node_capacity"


class AuthenticationError(DomainError):
    """R04: the credentials given do not open a session (same answer whatever was wrong)."""
    code = "invalid_credentials"


class TooManyRequestsError(DomainError):
    """A rate limit (login, credential reissue, public intake) is reached; `retry_after` seconds."""
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, retry_after=retry_after)
        self.retry_after = retry_after


class ForbiddenError(DomainError):
    """An authenticated caller asks for something its role does not allow (R06)."""
    code = "forbidden"


class RegistryUnavailableError(DomainError):
    """Issue 4: a domain registry could not be reached in time (answered 503: retry later)."""
    code = "registry_unavailable"
