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
