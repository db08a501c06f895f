"""What every HTTP view of the blueprints shares: the caller, the JSON body, the error mapping.

    bp = Blueprint(__name__)
    view = principal_view(bp)

    @bp.route("/me/things/{thing_id}", methods=["POST"], content_types=["application/json"])
    @view
    def do_thing(svc, principal, thing_id):
        body = json_body(bp, ThingV1)
        ...

The route's access rule (routes.py) was enforced by the middleware before the view runs; the view
checks that the object it loads is the caller's.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

from ..bootstrap import services
from ..domain.access import Principal, may_use_contract
from ..domain.errors import DomainError, NotFoundError
from ..observability import logger
from .auth import current_principal
from .http import domain_error_response, parse_json_body, pydantic_error_response


def principal_view(bp: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator for the views of `bp`: each gets (services, principal, **URI params); domain
    errors become their 4xx and a body that does not match its model a 400 naming the fields."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(**params: str) -> Any:
            from pydantic import ValidationError
            try:
                return view(services(), current_principal(bp.current_request), **params)
            except ValidationError as exc:
                return pydantic_error_response(exc)
            except DomainError as exc:
                return domain_error_response(exc)
        return wrapped
    return decorate


def json_body(bp: Any, model: Any, *, empty_allowed: bool = False) -> Any:
    """The request body validated by `model` (pydantic; strict models refuse unknown fields).
    With `empty_allowed`, an empty body is the model's defaults."""
    raw = bp.current_request.raw_body
    if empty_allowed and not (raw or b"").strip():
        return model.model_validate({})
    return model.model_validate(parse_json_body(raw))


def client_ip(bp: Any) -> str:
    return (bp.current_request.context.get("identity") or {}).get("sourceIp") or "unknown"


def user_agent(bp: Any) -> str:
    request = bp.current_request
    return request.headers.get("user-agent") or (request.context.get("identity") or {}).get("userAgent") or ""


def correlation_id() -> str:
    return logger.get_correlation_id() or ""


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def known_id(value: str, code: str, what: str) -> str:
    """A path id that cannot name a stored item (too long for a key, odd characters) is unknown:
    404 with `code`, without asking DynamoDB."""
    if not _ID.fullmatch(value or ""):
        raise NotFoundError(f"no {what} {(value or '')[:64]!r}", code=code)
    return value


def any_contract(svc: Any, contract_id: str) -> Any:
    """An operator's view of a contract, or 404 `contract_not_found`."""
    contract = svc.store.get_contract(known_id(contract_id, "contract_not_found", "contract"))
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    return contract


def my_contract(svc: Any, principal: Principal, contract_id: str) -> Any:
    """The caller's own contract (R06: a beneficiary's named ones), or 404 as for an unknown one
    (OWASP API1: another customer's contract is not even confirmed to exist)."""
    contract = svc.store.get_contract(known_id(contract_id, "contract_not_found", "contract"))
    if contract is None or not may_use_contract(principal, contract.customer_id, contract_id):
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    return contract
