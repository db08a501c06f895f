"""HTTP helpers shared by the blueprints: JSON answers, error mapping, operator auth."""
from __future__ import annotations

import json
from typing import Any, Optional

from chalice import Response

from ..domain.errors import (AuthenticationError, ConflictError, DomainError, ForbiddenError, IllegalTransitionError,
                             InvalidInputError, NotFoundError, RuleViolationError, TooManyRequestsError)

STATUS_BY_ERROR = ((InvalidInputError, 400), (RuleViolationError, 422), (ConflictError, 409), (NotFoundError, 404),
                   (IllegalTransitionError, 409), (AuthenticationError, 401), (TooManyRequestsError, 429),
                   (ForbiddenError, 403))


def json_response(body: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Response:
    return Response(body=json.dumps(body, default=str), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def error_response(status: int, code: str, message: str, fields: Optional[dict[str, str]] = None,
                   headers: Optional[dict[str, str]] = None) -> Response:
    return json_response({"error": {"code": code, "message": message, "fields": fields or {}}}, status, headers)


def domain_error_response(error: DomainError) -> Response:
    status = next((code for kind, code in STATUS_BY_ERROR if isinstance(error, kind)), 503)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, TooManyRequestsError) else None
    if isinstance(error, AuthenticationError):
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(status, error.code, error.message, error.fields, headers)


def pydantic_error_response(error: Any) -> Response:
    """400 with one entry per faulty field, e.g. {"customer.siren": "String should have ..."}."""
    fields = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in error.errors()}
    return error_response(400, "validation_error", "the request body does not match the contract; see fields",
                          fields)


def parse_json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("the body must be a JSON document", code="malformed_json") from None


def bearer_token(headers: Any) -> Optional[str]:
    """The token of `Authorization: Bearer <token>`, or None."""
    scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
