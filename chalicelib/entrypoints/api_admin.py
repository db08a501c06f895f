"""Operator read API (bearer operator key)."""
from __future__ import annotations

from chalice import Blueprint

from ..bootstrap import services
from .http import domain_error_response, error_response, json_response, operator_denied

bp = Blueprint(__name__)


@bp.route("/admin/contracts/{contract_id}", methods=["GET"])
def get_contract(contract_id: str):
    """Contract status, plan, domain, node, invoice and its evidence log (R56)."""
    from ..service.admin_views import contract_view
    svc = services()
    denied = operator_denied(bp.current_request.headers, svc.settings.operator_api_key)
    if denied:
        return denied
    view = contract_view(contract_id, svc)
    if view is None:
        return error_response(404, "contract_not_found", f"no contract {contract_id}")
    return json_response(view)


@bp.route("/admin/contracts/{contract_id}/retry-provisioning", methods=["POST"])
def retry_provisioning(contract_id: str):
    """R30: send a failed provisioning again (contract `provisioning_failed` -> `provisioning`)."""
    from ..domain.errors import DomainError
    from ..observability import logger
    from ..service.provisioning import retry_provisioning as retry
    svc = services()
    denied = operator_denied(bp.current_request.headers, svc.settings.operator_api_key)
    if denied:
        return denied
    try:
        return json_response(retry(contract_id, svc, operator="api-key", correlation_id=logger.get_correlation_id()),
                             202)
    except DomainError as exc:
        return domain_error_response(exc)


@bp.route("/admin/orders/{order_id}", methods=["GET"])
def get_order(order_id: str):
    from ..service.admin_views import order_admin_view
    svc = services()
    denied = operator_denied(bp.current_request.headers, svc.settings.operator_api_key)
    if denied:
        return denied
    view = order_admin_view(order_id, svc)
    if view is None:
        return error_response(404, "order_not_found", f"no order {order_id}")
    return json_response(view)


@bp.route("/admin/alerts", methods=["GET"])
def list_alerts():
    """Open operator alerts, newest first (R30)."""
    svc = services()
    denied = operator_denied(bp.current_request.headers, svc.settings.operator_api_key)
    if denied:
        return denied
    return json_response({"alerts": svc.store.open_alerts()})


@bp.route("/admin/invoices/{invoice_id}", methods=["GET"])
def get_invoice(invoice_id: str):
    """An invoice as issued (R22): number, lines, VAT, due date, penalty rate, payment."""
    from ..service.admin_views import invoice_view
    svc = services()
    denied = operator_denied(bp.current_request.headers, svc.settings.operator_api_key)
    if denied:
        return denied
    view = invoice_view(svc.store.get_invoice(invoice_id))
    if view is None:
        return error_response(404, "invoice_not_found", f"no invoice {invoice_id}")
    return json_response(view)
