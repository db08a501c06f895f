"""Terms, assignment and changes to the service (R58, R57, R55).

Who may call each route is in routes.py (checked by the middleware before the view runs); the
customer views here check that the contract they loaded is the caller's (OWASP API1): another
customer's contract answers 404, as an unknown one does.
"""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..bootstrap import Services
from ..domain.access import Principal
from .http import json_response
from .views import (any_contract as _contract, correlation_id as _cid, json_body, known_id as _known_id,
                    my_contract as _my_contract, principal_view)

bp = Blueprint(__name__)
terms_view = principal_view(bp)


def _body(model: Any, **options: Any) -> Any:
    return json_body(bp, model, **options)




# ---- R58: the effective terms of a contract ----------------------------------------------------

@bp.route("/admin/contracts/{contract_id}/terms", methods=["GET"])
@terms_view
def contract_terms(svc: Services, principal: Principal, contract_id: str):
    """R58: the contract's effective terms, each value with the document it came from."""
    from ..service.terms import contract_terms as resolve
    return json_response(resolve(_contract(svc, contract_id), svc))


@bp.route("/me/contracts/{contract_id}/terms", methods=["GET"])
@terms_view
def my_contract_terms(svc: Services, principal: Principal, contract_id: str):
    """R58: the effective terms of one of your contracts (a beneficiary: one it was named on)."""
    from ..service.terms import contract_terms as resolve
    return json_response(resolve(_my_contract(svc, principal, contract_id), svc))


# ---- R57: no assignment without the operator's approval -----------------------------------------

@bp.route("/admin/contracts/{contract_id}/assignment", methods=["POST"], content_types=["application/json"])
@terms_view
def assign(svc: Services, principal: Principal, contract_id: str):
    """R57: {"to_customer_id", "reason", "approval_reference"}: the contract (and its domain name)
    moves to the other customer, the approval recorded in both customers' evidence logs."""
    from ..contracts.terms_v1 import AssignmentV1
    from ..service.assignment import assign_contract
    contract_id = _known_id(contract_id, "contract_not_found", "contract")
    body = _body(AssignmentV1)
    return json_response(assign_contract(contract_id, body.to_customer_id, reason=body.reason,
                                         approval_reference=body.approval_reference, services=svc,
                                         actor=principal.actor, correlation_id=_cid()))


@bp.route("/me/contracts/{contract_id}/assignment-requests", methods=["POST"], content_types=["application/json"])
@terms_view
def request_my_assignment(svc: Services, principal: Principal, contract_id: str):
    """R57: a customer cannot assign its contract: the request is recorded and an operator alerted;
    202 {"status": "awaiting_operator_approval"}, the contract does not move."""
    from ..contracts.terms_v1 import AssignmentRequestV1
    from ..service.assignment import request_assignment
    contract = _my_contract(svc, principal, contract_id)
    body = _body(AssignmentRequestV1)
    return json_response(request_assignment(contract, transferee_name=body.transferee_name,
                                            transferee_email=str(body.transferee_email),
                                            transferee_customer_id=body.transferee_customer_id, reason=body.reason,
                                            services=svc, actor=principal.actor, correlation_id=_cid()), 202)


# ---- R55: changes to the service ----------------------------------------------------------------

@bp.route("/admin/plan-changes", methods=["POST"], content_types=["application/json"])
@terms_view
def announce_plan_change(svc: Services, principal: Principal):
    """R55: {"plan", "description", "effective_on", "removes_essential_function"}; 201 with the
    change and the customers told (200 when the same change was announced before: resumed)."""
    from ..contracts.terms_v1 import PlanChangeV1
    from ..service.plan_changes import announce_change
    body = _body(PlanChangeV1)
    view, created = announce_change(plan=body.plan, description=body.description, effective_on=body.effective_on,
                                    removes_essential_function=body.removes_essential_function, services=svc,
                                    actor=principal.actor, correlation_id=_cid())
    return json_response(view, 201 if created else 200)


@bp.route("/me/plan-changes", methods=["GET"])
@terms_view
def my_plan_changes(svc: Services, principal: Principal):
    """R55: the changes you were told about, with their objection deadline and status
    (open, objected, accepted_by_silence)."""
    from ..service.plan_changes import changes_of
    return json_response({"plan_changes": changes_of(principal, svc)})


@bp.route("/me/plan-changes/{change_id}/objection", methods=["POST"],
          content_types=["application/json", "text/plain"])
@terms_view
def object_to_my_plan_change(svc: Services, principal: Principal, change_id: str):
    """R55: object to a change before its deadline: {"contract_id"?, "reason"?} (empty body: every
    contract of yours it was told for). 201; 200 when already objected; 409 after the deadline."""
    from ..contracts.terms_v1 import ObjectionV1
    from ..service.plan_changes import object_to_change
    change_id = _known_id(change_id, "plan_change_not_found", "change")
    body = _body(ObjectionV1, empty_allowed=True)
    view, created = object_to_change(change_id, principal, svc, contract_id=body.contract_id, reason=body.reason,
                                     correlation_id=_cid())
    return json_response(view, 201 if created else 200)


@bp.route("/admin/contracts/{contract_id}/renewal-refusal", methods=["POST"], content_types=["application/json"])
@terms_view
def refuse_contract_renewal(svc: Services, principal: Principal, contract_id: str):
    """R55: {"reason", "change_id"?}: refuse the next renewal of a contract whose customer objected
    to a change (409 otherwise); its renewal is then answered 422 renewal_refused_after_objection."""
    from ..contracts.terms_v1 import RenewalRefusalV1
    from ..service.plan_changes import refuse_renewal
    contract_id = _known_id(contract_id, "contract_not_found", "contract")
    body = _body(RenewalRefusalV1)
    view, _created = refuse_renewal(contract_id, svc, reason=body.reason, change_id=body.change_id,
                                    actor=principal.actor, correlation_id=_cid())
    return json_response(view)


@bp.route("/me/contracts/{contract_id}/plan-change-requests", methods=["POST"], content_types=["application/json"])
@terms_view
def request_my_plan_change(svc: Services, principal: Principal, contract_id: str):
    """R55 (21.3): {"plan"}: an offer for that plan (pro rata price difference to the end of what
    is paid for), or {"outcome": "unchanged"}."""
    from ..contracts.terms_v1 import PlanChangeRequestV1
    from ..service.plan_changes import request_plan_change
    contract = _my_contract(svc, principal, contract_id)
    body = _body(PlanChangeRequestV1)
    return json_response(request_plan_change(contract, body.plan, svc, actor=principal.actor, correlation_id=_cid()))
