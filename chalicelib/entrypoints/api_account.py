"""Customer sign-in and account area (R04, R06): /auth/*, /me/* (contracts, invoices, domains,
options, renewal, beneficiaries), the operator's credential delivery, and the nodes' heartbeat.

Who may call each route is in routes.py (checked by the middleware before the view runs); each
view here checks that the object it loaded belongs to the caller (OWASP API1): another
customer's object answers 404, as an unknown one does."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..bootstrap import Services
from ..domain.access import Principal, owns_customer
from ..domain.errors import NotFoundError
from .http import json_response
from .views import (client_ip, correlation_id as _cid, json_body, my_contract as _my_contract, principal_view,
                    user_agent)

bp = Blueprint(__name__)
customer_view = principal_view(bp)


def _body(model: Any, **options: Any) -> Any:
    return json_body(bp, model, **options)


def _client_ip() -> str:
    return client_ip(bp)


def _user_agent() -> str:
    return user_agent(bp)


# ---- sign-in (R04) --------------------------------------------------------------------------------

@bp.route("/auth/login", methods=["POST"], content_types=["application/json"])
@customer_view
def sign_in(svc: Services, principal: Principal):
    """R04: {"login", "password"} -> access token (short-lived), refresh token, role."""
    from ..contracts.account_v1 import LoginV1
    from ..service.accounts import login
    body = _body(LoginV1)
    return json_response(login(body.login, body.password, svc, client_ip=_client_ip()))


@bp.route("/auth/refresh", methods=["POST"], content_types=["application/json"])
@customer_view
def refresh_session(svc: Services, principal: Principal):
    """R04: {"refresh_token"} -> a new access token while the session is valid."""
    from ..contracts.account_v1 import RefreshV1
    from ..service.accounts import refresh
    return json_response(refresh(_body(RefreshV1).refresh_token, svc))


@bp.route("/auth/logout", methods=["POST"])
@customer_view
def sign_out(svc: Services, principal: Principal):
    """R04: end every session of this login at once."""
    from ..service.accounts import logout
    return json_response(logout(principal, svc, _cid()))


@bp.route("/auth/password-reset", methods=["POST"], content_types=["application/json"])
@customer_view
def password_reset(svc: Services, principal: Principal):
    """R04: new credentials to the contact address on file; the same 202 for any login."""
    from ..contracts.account_v1 import ResetRequestV1
    from ..service.accounts import request_reset
    return json_response(request_reset(_body(ResetRequestV1).login, svc, client_ip=_client_ip(),
                                       correlation_id=_cid()), 202)


@bp.route("/me/password", methods=["PUT"], content_types=["application/json"])
@customer_view
def change_my_password(svc: Services, principal: Principal):
    """R04: {"current_password", "new_password"}; every session ends."""
    from ..contracts.account_v1 import PasswordChangeV1
    from ..service.accounts import change_password
    body = _body(PasswordChangeV1)
    return json_response(change_password(principal, body.current_password, body.new_password, svc, _cid()))


@bp.route("/me/credentials-lost", methods=["POST"])
@customer_view
def credentials_lost(svc: Services, principal: Principal):
    """R04: credentials lost or stolen: every session and the password revoked at once, new
    credentials sent to the contact address."""
    from ..service.accounts import report_lost
    return json_response(report_lost(principal, svc, _cid()), 202)


# ---- the customer's objects (R06: a beneficiary sees the contracts it was named on) ------------

@bp.route("/me/contracts", methods=["GET"])
@customer_view
def my_contracts(svc: Services, principal: Principal):
    """Your contracts (a beneficiary: those it was named on)."""
    from ..service.customer_area import contracts_of
    return json_response({"contracts": contracts_of(principal, svc)})


@bp.route("/me/contracts/{contract_id}", methods=["GET"])
@customer_view
def my_contract(svc: Services, principal: Principal, contract_id: str):
    from ..service.customer_area import contract_summary, contract_domain
    contract = _my_contract(svc, principal, contract_id)
    # issue 4: the domain's status and the registry operation in progress (never an unknown state)
    return json_response({**contract_summary(contract, svc), "domain_state": contract_domain(contract)})


@bp.route("/me/invoices", methods=["GET"])
@customer_view
def my_invoices(svc: Services, principal: Principal):
    """Your invoices and credit notes (subscriber only, R06)."""
    from ..service.customer_area import invoices_of
    return json_response({"invoices": invoices_of(principal.customer_id, svc)})


@bp.route("/me/invoices/{invoice_id}", methods=["GET"])
@customer_view
def my_invoice(svc: Services, principal: Principal, invoice_id: str):
    """One invoice: JSON, or the printable HTML invoice with `Accept: text/html`."""
    from chalice import Response

    from ..service.admin_views import invoice_view
    from ..service.customer_area import invoice_html
    invoice = svc.store.get_invoice(invoice_id)
    if invoice is None or not owns_customer(principal, invoice.customer_id):
        raise NotFoundError(f"no invoice {invoice_id}", code="invoice_not_found")
    if "text/html" in (bp.current_request.headers.get("accept") or ""):
        return Response(body=invoice_html(invoice, svc), status_code=200,
                        headers={"Content-Type": "text/html; charset=utf-8"})
    return json_response(invoice_view(invoice))


@bp.route("/me/domains", methods=["GET"])
@customer_view
def my_domains(svc: Services, principal: Principal):
    from ..service.customer_area import domains_of
    return json_response({"domains": domains_of(principal, svc)})


@bp.route("/me/contracts/{contract_id}/options", methods=["POST"], content_types=["application/json"])
@customer_view
def order_my_options(svc: Services, principal: Principal, contract_id: str):
    """R33: order options for the rest of the term (subscriber); 201 with the pro rata invoice."""
    from ..contracts.admin_v1 import OptionsOrderV1
    from ..service.options import order_options
    contract = _my_contract(svc, principal, contract_id)
    view, created = order_options(contract.contract_id, _body(OptionsOrderV1).options, svc, actor=principal.actor,
                                  correlation_id=_cid())
    return json_response(view, 201 if created else 200)


@bp.route("/me/contracts/{contract_id}/renewal", methods=["POST"], content_types=["application/json"])
@customer_view
def accept_my_renewal(svc: Services, principal: Principal, contract_id: str):
    """R18: accept the renewal offer (terms accepted); 201 with the renewal order and invoice."""
    from ..contracts.account_v1 import RenewalV1
    from ..service.renewal import accept_renewal
    contract = _my_contract(svc, principal, contract_id)
    body = _body(RenewalV1)
    view, created = accept_renewal(contract.contract_id, svc, terms_version=body.terms.version,
                                   client_ip=_client_ip(), user_agent=_user_agent(), actor=principal.actor,
                                   correlation_id=_cid())
    return json_response(view, 201 if created else 200)


# ---- beneficiaries (R06) --------------------------------------------------------------------------

@bp.route("/me/accounts", methods=["GET"])
@customer_view
def my_accounts(svc: Services, principal: Principal):
    """The logins of your account: yours and your beneficiaries' (subscriber only)."""
    from ..service.accounts import customer_accounts_view
    return json_response({"accounts": customer_accounts_view(principal.customer_id)})


@bp.route("/me/beneficiaries", methods=["POST"], content_types=["application/json"])
@customer_view
def add_my_beneficiary(svc: Services, principal: Principal):
    """R06: {"contract_id", "email", "name"}: a beneficiary login for one of your contracts."""
    from ..contracts.account_v1 import BeneficiaryV1
    from ..service.accounts import add_beneficiary
    body = _body(BeneficiaryV1)
    return json_response(add_beneficiary(principal, body.contract_id, body.email, body.name, svc, _cid()), 201)


@bp.route("/me/beneficiaries/{login}", methods=["DELETE"])
@customer_view
def remove_my_beneficiary(svc: Services, principal: Principal, login: str):
    """R06: close a beneficiary's login; its sessions end at once."""
    from ..service.accounts import remove_beneficiary
    return json_response(remove_beneficiary(principal, login, svc, _cid()))


# ---- operators and nodes ----------------------------------------------------------------------------

@bp.route("/admin/customers/{customer_id}/credentials-delivery", methods=["POST"],
          content_types=["application/json"])
@customer_view
def deliver_credentials(svc: Services, principal: Principal, customer_id: str):
    """R04: send new credentials to another address than the one on file, with the reference of
    the identity document checked; every session of the login ends."""
    from ..contracts.account_v1 import CredentialsDeliveryV1
    from ..service.accounts import deliver_elsewhere
    body = _body(CredentialsDeliveryV1)
    return json_response(deliver_elsewhere(customer_id, body.email, body.identity_document_ref, principal.name or "",
                                           svc, login_id=body.login, correlation_id=_cid()), 202)


@bp.route("/admin/customers/{customer_id}/accounts", methods=["GET"])
@customer_view
def customer_accounts(svc: Services, principal: Principal, customer_id: str):
    """The logins of a customer (no hash, no secret)."""
    from ..service.accounts import customer_accounts_view
    if svc.store.get_customer(customer_id) is None:
        raise NotFoundError(f"no customer {customer_id}", code="customer_not_found")
    return json_response({"accounts": customer_accounts_view(customer_id)})


@bp.route("/nodes/{node_id}/heartbeat", methods=["POST"])
@customer_view
def node_heartbeat(svc: Services, principal: Principal, node_id: str):
    """A hosting node says it is alive (its own node id only); refreshes its `last_seen_at`."""
    from ..domain.errors import ForbiddenError
    if principal.name != node_id:
        raise ForbiddenError("a node reports for itself only", code="forbidden")
    node = svc.store.get_node(svc.settings.node_pool, node_id)
    if node is None:
        raise NotFoundError(f"no node {node_id}", code="node_not_found")
    now = svc.clock.wall()
    svc.store.node_seen(svc.settings.node_pool, node_id, now, None)
    return json_response({"node_id": node_id, "seen_at": now.isoformat()})
