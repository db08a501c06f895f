"""Operator API (bearer operator key)."""
from __future__ import annotations

import functools
from typing import Any, Callable

from chalice import Blueprint

from ..bootstrap import Services, services
from ..domain.errors import DomainError
from .http import domain_error_response, error_response, json_response

bp = Blueprint(__name__)


def operator_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """An operator view: the middleware already checked the operator key and its scope (the route's
    Access in routes.py); this maps domain errors to 4xx. The view gets the services first, then
    the URI parameters; `operator_name()` names the key for the evidence log (R56)."""
    @functools.wraps(view)
    def guarded(**params: str) -> Any:
        svc = services()
        try:
            return view(svc, **params)
        except DomainError as exc:
            return domain_error_response(exc)
    return guarded


def operator_name() -> str:
    """The acting operator key's name ("root" for OPERATOR_API_KEY), as the evidence log records it."""
    from .auth import current_principal
    return current_principal(bp.current_request).name or "unknown"


def _found(view: Any, code: str, what: str) -> Any:
    return json_response(view) if view is not None else error_response(404, code, f"no {what}")


@bp.route("/admin/contracts/{contract_id}", methods=["GET"])
@operator_only
def get_contract(svc: Services, contract_id: str):
    """Contract status, plan, domain, node, invoice and its evidence log (R56)."""
    from ..service.admin_views import contract_view
    return _found(contract_view(contract_id, svc), "contract_not_found", f"contract {contract_id}")


@bp.route("/admin/contracts/{contract_id}/retry-provisioning", methods=["POST"])
@operator_only
def retry_provisioning(svc: Services, contract_id: str):
    """R30: send a failed provisioning again (contract `provisioning_failed` -> `provisioning`)."""
    from ..observability import logger
    from ..service.provisioning import retry_provisioning as retry
    return json_response(retry(contract_id, svc, operator=operator_name(), correlation_id=logger.get_correlation_id()), 202)


@bp.route("/admin/contracts/{contract_id}/renewal", methods=["POST"], content_types=["application/json"])
@operator_only
def accept_renewal(svc: Services, contract_id: str):
    """R18: record the customer's acceptance of the renewal offer: {"terms": {"version", "accepted": true},
    "channel": "email" | "phone" | "web" | "post"} (RenewalAcceptanceV1). 201 with the renewal order and its
    invoice (200 if it exists)."""
    from pydantic import ValidationError

    from ..contracts.admin_v1 import RenewalAcceptanceV1
    from ..domain.errors import InvalidInputError, RuleViolationError
    from ..observability import logger
    from ..service.renewal import accept_renewal as accept
    from .http import parse_json_body
    request = bp.current_request
    try:
        body = RenewalAcceptanceV1.model_validate(parse_json_body(request.raw_body))
    except ValidationError as error:
        raise InvalidInputError("send {\"terms\": {\"version\": ..., \"accepted\": true}, \"channel\": "
                                "\"email|phone|web|post\"}", code="invalid_renewal",
                                fields={".".join(str(p) for p in e["loc"]) or "body": e["msg"]
                                        for e in error.errors()}) from None
    if body.terms.accepted is not True:
        raise RuleViolationError("the renewal needs the terms accepted", code="terms_not_accepted",
                                 fields={"terms.accepted": "must be true"})
    channel = body.channel
    view, created = accept(contract_id, svc, terms_version=body.terms.version,
                           client_ip=(request.context.get("identity") or {}).get("sourceIp") or "unknown",
                           user_agent=f"operator ({channel})", actor=f"operator:{operator_name()}",
                           correlation_id=logger.get_correlation_id())
    return json_response(view, 201 if created else 200)


@bp.route("/admin/orders/{order_id}", methods=["GET"])
@operator_only
def get_order(svc: Services, order_id: str):
    from ..service.admin_views import order_admin_view
    return _found(order_admin_view(order_id, svc), "order_not_found", f"order {order_id}")


@bp.route("/admin/invoices/{invoice_id}", methods=["GET"])
@operator_only
def get_invoice(svc: Services, invoice_id: str):
    """An invoice as issued (R22): number, lines, VAT, due date, penalty rate, payment."""
    from ..service.admin_views import invoice_view
    return _found(invoice_view(svc.store.get_invoice(invoice_id)), "invoice_not_found", f"invoice {invoice_id}")


@bp.route("/admin/customers/{customer_id}/evidence", methods=["GET"])
@operator_only
def export_evidence(svc: Services, customer_id: str):
    """R56: export a customer's evidence log (who, when, what, before/after, correlation id)."""
    from ..service.admin_views import evidence_export
    return _found(evidence_export(customer_id, svc, svc.clock.now()), "customer_not_found", f"customer {customer_id}")


@bp.route("/admin/alerts", methods=["GET"])
@operator_only
def list_alerts(svc: Services):
    """Open operator alerts, newest first (R30)."""
    return json_response({"alerts": svc.store.open_alerts()})


def _body(model: Any) -> Any:
    """The request body parsed with a v1 wire model; 400 with the fields at fault otherwise."""
    from pydantic import ValidationError

    from ..domain.errors import InvalidInputError
    from .http import parse_json_body
    try:
        return model.model_validate(parse_json_body(bp.current_request.raw_body))
    except ValidationError as error:
        problems = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in error.errors()}
        raise InvalidInputError("the request body does not match the contract; see fields",
                                code="validation_error", fields=problems) from None


@bp.route("/admin/invoices/{invoice_id}/bank-transfers", methods=["POST"], content_types=["application/json"])
@operator_only
def record_bank_transfer(svc: Services, invoice_id: str):
    """R21 + R27: record a bank transfer seen on the statement: {"amount_cents", "reference", "received_on"}.
    201 when it paid the invoice, 200 for the same reference again, 202 when it was recorded but
    could not pay the invoice (amount mismatch, already paid...: see the alert)."""
    from ..contracts.admin_v1 import BankTransferV1
    from ..observability import logger
    from ..service.bank_transfers import record_bank_transfer as record
    view = record(invoice_id, _body(BankTransferV1), svc, operator=operator_name(),
                  correlation_id=logger.get_correlation_id())
    status = {"applied": 201, "credited": 201, "duplicate": 200}.get(view["outcome"], 202)
    return json_response(view, status)


@bp.route("/admin/guarantees", methods=["POST"], content_types=["application/json"])
@operator_only
def record_guarantee(svc: Services):
    """R25: a guarantee accepted from a customer in default: {"customer": {"email"|"siren"}, "reference",
    "amount_cents"}; their next orders are accepted."""
    from ..contracts.admin_v1 import GuaranteeV1
    from ..service.payers import record_guarantee as record
    return json_response(record(_body(GuaranteeV1), svc, operator=operator_name()), 201)


@bp.route("/admin/contracts/{contract_id}/options", methods=["POST"], content_types=["application/json"])
@operator_only
def order_options(svc: Services, contract_id: str):
    """R33: add options to a contract in force: {"options": [...]}; 201 with the pro rata invoice (200 if
    the same options were already ordered and are unpaid). They are provisioned once it is paid."""
    from ..contracts.admin_v1 import OptionsOrderV1
    from ..observability import logger
    from ..service.options import order_options as order
    body = _body(OptionsOrderV1)
    view, created = order(contract_id, body.options, svc, actor=f"operator:{operator_name()}",
                          correlation_id=logger.get_correlation_id())
    return json_response(view, 201 if created else 200)


@bp.route("/admin/orders/{order_id}/irregular", methods=["POST"], content_types=["application/json"])
@operator_only
def mark_irregular(svc: Services, order_id: str):
    """R11: declare an unpaid order irregular ({"reason"}): it is void until regularised."""
    from ..contracts.admin_v1 import IrregularOrderV1
    from ..observability import logger
    from ..service.order_review import mark_irregular as mark
    body = _body(IrregularOrderV1)
    return json_response(mark(order_id, body.reason, svc, operator=operator_name(),
                              correlation_id=logger.get_correlation_id()))


@bp.route("/admin/orders/{order_id}/regularisation", methods=["POST"], content_types=["application/json"])
@operator_only
def regularise(svc: Services, order_id: str):
    """R11: regularise a void order with the corrected customer data ({"customer": {...}, "note"}); the
    verification runs again and must pass."""
    from ..contracts.admin_v1 import RegularisationV1
    from ..observability import logger
    from ..service.order_review import regularise as run
    return json_response(run(order_id, _body(RegularisationV1), svc, operator=operator_name(),
                             correlation_id=logger.get_correlation_id()))
