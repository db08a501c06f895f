"""Storefront API: health, catalog, orders."""
from __future__ import annotations

from chalice import Blueprint

from ..bootstrap import services
from ..domain.errors import DomainError
from ..observability import logger
from .http import domain_error_response, json_response, parse_json_body, pydantic_error_response

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
def health():
    from ..service.health import component_states
    states, ready = component_states(services())
    return json_response({"status": "ok" if ready else "starting", "components": states}, 200 if ready else 503)


@bp.route("/catalog", methods=["GET"])
def catalog():
    return json_response(services().catalog.to_document())


@bp.route("/orders", methods=["POST"], content_types=["application/json"])
def place_order():
    """R09: verify and store an order; 201 with the order, its contract and its invoice."""
    from pydantic import ValidationError

    from ..contracts.storefront_v1 import OrderRequestV1
    from ..service.orders import place_order as place
    request = bp.current_request
    try:
        body = OrderRequestV1.model_validate(parse_json_body(request.raw_body))
        identity = request.context.get("identity") or {}
        order = body.to_domain(client_ip=identity.get("sourceIp") or "unknown",
                               user_agent=request.headers.get("user-agent") or identity.get("userAgent") or "")
        view, created = place(order, services(), correlation_id=logger.get_correlation_id() or "",
                              idempotency_key=request.headers.get("idempotency-key"))
    except ValidationError as exc:
        return pydantic_error_response(exc)
    except DomainError as exc:
        return domain_error_response(exc)
    return json_response(view, 201 if created else 200)
