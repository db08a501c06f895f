"""Chalice middleware: Powertools structured logging with correlation ids.

Chalice calls handlers with one argument, so Powertools decorators expecting
(event, context) are applied here instead (see design notes)."""
from __future__ import annotations

import uuid

from ..observability import logger

CORRELATION_HEADER = "x-correlation-id"


def http_logging(event, get_response):
    correlation_id = (event.headers.get(CORRELATION_HEADER)
                      or (event.context or {}).get("requestId") or uuid.uuid4().hex)
    logger.set_correlation_id(correlation_id)
    logger.append_keys(path=event.path, method=event.method)
    response = get_response(event)
    response.headers[CORRELATION_HEADER] = correlation_id
    logger.info("request handled", status=response.status_code)
    logger.remove_keys(["path", "method"])
    return response


def event_logging(event, get_response):
    context = getattr(event, "context", None)
    logger.append_keys(function_name=getattr(context, "function_name", None))
    try:
        return get_response(event)
    finally:
        logger.remove_keys(["function_name"])


def authorize(event, get_response):
    """Function-level authorization (R04, R06; OWASP API5): authenticate the request, look its
    route up in the route catalogue and refuse what the route's access rule does not allow,
    before any view runs. The principal is kept on the request (auth.current_principal).
    Development routes answer 404 outside local mode, key or not."""
    from ..bootstrap import services
    from ..domain.access import deny_reason
    from .auth import PRINCIPAL_KEY, authenticate
    from .http import error_response
    from .routes import route_spec
    spec = route_spec(event.method, (event.context or {}).get("resourcePath") or "")
    if spec is None:  # an unknown method on a known path: Chalice answers 405 itself
        return get_response(event)
    svc = services()
    if spec.access.kind == "dev" and not svc.settings.local_mode:
        return error_response(404, "not_found", "no such route on this stage")
    principal = authenticate(event.headers, svc)
    event.context[PRINCIPAL_KEY] = principal
    denial = deny_reason(spec.access, principal)
    if denial is not None:
        headers = {"WWW-Authenticate": "Bearer"} if denial.status == 401 else None
        logger.info("request refused", status=denial.status, code=denial.code, principal=principal.kind)
        return error_response(denial.status, denial.code, denial.message, headers=headers)
    if principal.kind != "anonymous":
        logger.append_keys(principal=principal.actor)
    try:
        return get_response(event)
    finally:
        logger.remove_keys(["principal"])
