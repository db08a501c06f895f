"""Terms, assignment and changes to the service (R58, R57, R55).

Who may call each route is in routes.py (checked by the middleware before the view runs); the
customer views here check that the contract they loaded is the caller's (OWASP API1): another
customer's contract answers 404, as an unknown one does.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

from chalice import Blueprint

from ..bootstrap import Services, services
from ..domain.access import Principal, may_use_contract
from ..domain.errors import DomainError, NotFoundError
from ..observability import logger
from .auth import current_principal
from .http import domain_error_response, json_response, parse_json_body, pydantic_error_response

bp = Blueprint(__name__)


def terms_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view of this module: gets (services, principal, **URI params); domain errors become 4xx
    and a body that does not match its model a 400 naming the fields."""
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


def _body(model: Any, *, empty_allowed: bool = False) -> Any:
    raw = bp.current_request.raw_body
    if empty_allowed and not (raw or b"").strip():
        return model.model_validate({})
    return model.model_validate(parse_json_body(raw))


def _cid() -> str:
    return logger.get_correlation_id() or ""


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _known_id(value: str, code: str, what: str) -> str:
    """A path id that cannot name a stored item (too long for a key, odd characters) is unknown."""
    if not _ID.fullmatch(value or ""):
        raise NotFoundError(f"no {what} {value[:64]!r}", code=code)
    return value


def _contract(svc: Services, contract_id: str) -> Any:
    contract = svc.store.get_contract(_known_id(contract_id, "contract_not_found", "contract"))
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    return contract


def _my_contract(svc: Services, principal: Principal, contract_id: str) -> Any:
    contract = svc.store.get_contract(_known_id(contract_id, "contract_not_found", "contract"))
    if contract is None or not may_use_contract(principal, contract.customer_id, contract_id):
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    return contract


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
