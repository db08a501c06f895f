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
    from ..domain.access import BENEFICIARY
    from .auth import current_principal
    from .http import error_response
    request = bp.current_request
    if current_principal(request).role == BENEFICIARY:
        return error_response(403, "beneficiary_cannot_administer",
                              "R06: a beneficiary uses the service but cannot place orders; ask the subscriber")
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


@bp.route("/orders/{order_id}", methods=["PATCH", "PUT", "DELETE"])
def change_order(order_id: str):
    """R12: an order is verified when it is placed; from then on it can be neither modified nor
    cancelled, except by a consumer's withdrawal (R13). Always 409 `order_frozen` (404 if unknown)."""
    from ..service.order_review import FROZEN_MESSAGE
    from .http import error_response
    if services().store.get_order(order_id) is None:
        return error_response(404, "order_not_found", f"no order {order_id}")
    return error_response(409, "order_frozen", FROZEN_MESSAGE.format(order_id=order_id))


def _customer_order(order_id: str):
    """R13: the order when the request carries its token (`Authorization: Bearer <order_token>`)
    or comes from the subscriber who placed it (R04 access token; R06: not a beneficiary), else
    (None, the 401). An unknown order answers the same 401 as a wrong token or another customer."""
    from ..domain.access import SUBSCRIBER, owns_customer
    from ..service.orders import order_token_matches
    from .auth import current_principal
    from .http import bearer_token, error_response
    order = services().store.get_order(order_id)
    principal = current_principal(bp.current_request)
    if principal.kind == "customer":
        if order is not None and owns_customer(principal, order.customer_id):
            if principal.role == SUBSCRIBER:
                return order, None
            return None, error_response(403, "beneficiary_cannot_administer",
                                        "R06: only the subscriber acts on the order")
        return None, error_response(404, "order_not_found", f"no order {order_id}")
    if order_token_matches(order, bearer_token(bp.current_request.headers)):
        return order, None
    return None, error_response(401, "invalid_order_token", "this route needs 'Authorization: Bearer "
                                "<order_token>', the token given when the order was placed, or the subscriber's "
                                "access token", headers={"WWW-Authenticate": "Bearer"})


@bp.route("/orders/{order_id}/pre-contract-information", methods=["GET"])
def pre_contract_information(order_id: str):
    """R13 (1.14): the pre-contract information of the order (order token); JSON, or French text
    with `Accept: text/plain`."""
    from chalice import Response

    from ..service.pre_contract import pre_contract_information as document, pre_contract_text
    order, denied = _customer_order(order_id)
    if denied:
        return denied
    doc = document(order, services())
    if "text/plain" in (bp.current_request.headers.get("accept") or ""):
        return Response(body=pre_contract_text(doc), status_code=200,
                        headers={"Content-Type": "text/plain; charset=utf-8"})
    return json_response(doc)


@bp.route("/orders/{order_id}/withdrawal", methods=["POST"], content_types=["application/json", "text/plain"])
def withdraw(order_id: str):
    """R13: the consumer withdraws (order token): 201 with the outcome (credit note, refund due,
    domain fees kept), 200 with the same outcome when already withdrawn; 422/409 refusals."""
    from ..service.withdrawal import withdraw as withdraw_order
    order, denied = _customer_order(order_id)
    if denied:
        return denied
    request = bp.current_request
    identity = request.context.get("identity") or {}
    try:
        outcome, created = withdraw_order(
            order.order_id, services(), actor="customer", client_ip=identity.get("sourceIp") or "unknown",
            user_agent=request.headers.get("user-agent") or identity.get("userAgent") or "",
            correlation_id=logger.get_correlation_id())
    except DomainError as exc:
        return domain_error_response(exc)
    return json_response(outcome, 201 if created else 200)
