"""Disputes (R46, R47, R51, R52, R53): claims and their decisions, settlement cases, formal
notices and termination for gross breach, the customer's early termination.

Who may call each route is in routes.py (checked by the middleware before the view runs); the
customer views check that the contract they name is the caller's (OWASP API1): another
customer's contract answers 404, as an unknown one does. Each use case is in service/disputes.py."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..bootstrap import Services
from ..domain.access import Principal
from .http import json_response
from .views import correlation_id as _cid, json_body, known_id as _known_id, my_contract as _my_contract, principal_view

bp = Blueprint(__name__)
dispute_view = principal_view(bp)


def _body(model: Any, **options: Any) -> Any:
    return json_body(bp, model, **options)




def _created(pair: tuple[dict, bool]) -> Any:
    view, created = pair
    return json_response(view, 201 if created else 200)


# ---- R46 + R47: claims ------------------------------------------------------------------------------

@bp.route("/admin/claims", methods=["POST"], content_types=["application/json"])
@dispute_view
def file_claim(svc: Services, principal: Principal):
    """R47: {contract_id, event_at, filed_at?, description, amount_claimed_cents, gross_or_wilful_fault?}:
    201 with the claim, `filed` or `time_barred` (filed after the same date one year after the event)."""
    from ..contracts.disputes_v1 import ClaimV1
    from ..service.disputes import file_claim as file
    body = _body(ClaimV1)
    _known_id(body.contract_id, "contract_not_found", "contract")
    return _created(file(body.contract_id, event_at=body.event_at, filed_at=body.filed_at,
                         description=body.description, amount_claimed_cents=body.amount_claimed_cents,
                         gross_or_wilful_fault=body.gross_or_wilful_fault, services=svc, actor=principal.actor,
                         correlation_id=_cid()))


@bp.route("/admin/claims/{claim_id}/decision", methods=["POST"], content_types=["application/json"])
@dispute_view
def decide_claim(svc: Services, principal: Principal, claim_id: str):
    """R46: {granted_cents, note, gross_or_wilful_fault?}: the compensation, capped at the solution's
    yearly price (incl. VAT) unless the fault is wilful or gross; the answer says when it was capped."""
    from ..contracts.disputes_v1 import ClaimDecisionV1
    from ..service.disputes import decide_claim as decide
    claim_id = _known_id(claim_id, "claim_not_found", "claim")
    body = _body(ClaimDecisionV1)
    return json_response(decide(claim_id, granted_cents=body.granted_cents, note=body.note,
                                gross_or_wilful_fault=body.gross_or_wilful_fault, services=svc,
                                actor=principal.actor, correlation_id=_cid()))


@bp.route("/me/claims", methods=["GET"])
@dispute_view
def my_claims(svc: Services, principal: Principal):
    """Your claims and their decisions (R46, R47)."""
    from ..service.disputes import claims_of_customer
    return json_response({"claims": claims_of_customer(principal.customer_id, svc)})


@bp.route("/me/claims", methods=["POST"], content_types=["application/json"])
@dispute_view
def file_my_claim(svc: Services, principal: Principal):
    """R47: {contract_id, event_at, description, amount_claimed_cents}: a claim filed now about one of
    your contracts; 201 `filed` (an operator decides, R46) or `time_barred`."""
    from ..contracts.disputes_v1 import CustomerClaimV1
    from ..service.disputes import file_claim as file
    body = _body(CustomerClaimV1)
    contract = _my_contract(svc, principal, body.contract_id)
    return _created(file(contract.contract_id, event_at=body.event_at, filed_at=None, description=body.description,
                         amount_claimed_cents=body.amount_claimed_cents, gross_or_wilful_fault=False, services=svc,
                         actor=principal.actor, correlation_id=_cid()))


# ---- R51: settlement cases --------------------------------------------------------------------------

@bp.route("/admin/contracts/{contract_id}/settlement-cases", methods=["POST"], content_types=["application/json"])
@dispute_view
def open_settlement_case(svc: Services, principal: Principal, contract_id: str):
    """R51: {breach, breach_kind, illegal?}: a settlement case (422 for an illegal breach or a payment default)."""
    from ..contracts.disputes_v1 import SettlementCaseV1
    from ..service.disputes import open_settlement_case as open_case
    contract_id = _known_id(contract_id, "contract_not_found", "contract")
    body = _body(SettlementCaseV1)
    return _created(open_case(contract_id, breach=body.breach, breach_kind=body.breach_kind, illegal=body.illegal,
                              services=svc, actor=principal.actor, correlation_id=_cid()))


@bp.route("/admin/settlement-cases/{settlement_id}/outcome", methods=["POST"], content_types=["application/json"])
@dispute_view
def settlement_outcome(svc: Services, principal: Principal, settlement_id: str):
    """R51: {outcome: settled|failed, note}."""
    from ..contracts.disputes_v1 import SettlementOutcomeV1
    from ..service.disputes import record_settlement_outcome
    settlement_id = _known_id(settlement_id, "settlement_case_not_found", "settlement case")
    body = _body(SettlementOutcomeV1)
    return json_response(record_settlement_outcome(settlement_id, outcome=body.outcome, note=body.note, services=svc,
                                                   actor=principal.actor, correlation_id=_cid()))


# ---- R52: formal notices and termination for gross breach ---------------------------------------------

@bp.route("/admin/contracts/{contract_id}/formal-notices", methods=["POST"], content_types=["application/json"])
@dispute_view
def serve_formal_notice(svc: Services, principal: Principal, contract_id: str):
    """R52: {breach, gross_or_wilful: true, breach_kind?, illegal?, settlement_case_id?, from_party?}:
    the mise en demeure mailed; termination one month later unless remedied."""
    from ..contracts.disputes_v1 import FormalNoticeV1
    from ..service.disputes import serve_formal_notice as serve
    contract_id = _known_id(contract_id, "contract_not_found", "contract")
    body = _body(FormalNoticeV1)
    return _created(serve(contract_id, breach=body.breach, gross_or_wilful=body.gross_or_wilful,
                          breach_kind=body.breach_kind, illegal=body.illegal,
                          settlement_case_id=body.settlement_case_id, from_party=body.from_party, services=svc,
                          actor=principal.actor, correlation_id=_cid()))


@bp.route("/admin/formal-notices/{formal_notice_id}/remedied", methods=["POST"], content_types=["application/json"])
@dispute_view
def formal_notice_remedied(svc: Services, principal: Principal, formal_notice_id: str):
    """R52: {note}: the breach was cured; no termination on this notice."""
    from ..contracts.disputes_v1 import RemedyV1
    from ..service.disputes import remedy_formal_notice
    formal_notice_id = _known_id(formal_notice_id, "formal_notice_not_found", "formal notice")
    body = _body(RemedyV1)
    return json_response(remedy_formal_notice(formal_notice_id, note=body.note, services=svc, actor=principal.actor,
                                              correlation_id=_cid()))


@bp.route("/admin/contracts/{contract_id}/termination", methods=["POST"], content_types=["application/json"])
@dispute_view
def terminate_for_breach(svc: Services, principal: Principal, contract_id: str):
    """R52: {reason: gross_breach, formal_notice_id?, note?}: terminate once the formal notice's
    month is over without effect (409 `formal_notice_period_running` before)."""
    from ..contracts.disputes_v1 import BreachTerminationV1
    from ..service.disputes import terminate_for_breach as terminate
    contract_id = _known_id(contract_id, "contract_not_found", "contract")
    body = _body(BreachTerminationV1)
    return json_response(terminate(contract_id, formal_notice_id=body.formal_notice_id, note=body.note, services=svc,
                                   actor=principal.actor, correlation_id=_cid()))


@bp.route("/admin/contracts/{contract_id}/disputes", methods=["GET"])
@dispute_view
def contract_disputes(svc: Services, principal: Principal, contract_id: str):
    """A contract's claims, settlement cases, formal notices and early termination, oldest first."""
    from ..service.disputes import disputes_of_contract
    contract_id = _known_id(contract_id, "contract_not_found", "contract")
    return json_response({"contract_id": contract_id, "disputes": disputes_of_contract(contract_id, svc)})


# ---- R53: the customer's early termination ------------------------------------------------------------

@bp.route("/me/contracts/{contract_id}/early-termination", methods=["POST"], content_types=["application/json"])
@dispute_view
def my_early_termination(svc: Services, principal: Principal, contract_id: str):
    """R53: {reason, allowed_case?, reference?}: end your contract now; outside the allowed cases the
    remaining monthly instalments are invoiced at once (a yearly contract: nothing more, no refund)."""
    from ..contracts.disputes_v1 import EarlyTerminationV1
    from ..service.disputes import terminate_early
    contract = _my_contract(svc, principal, contract_id)
    body = _body(EarlyTerminationV1)
    return _created(terminate_early(contract.contract_id, reason=body.reason, allowed_case=body.allowed_case,
                                    reference=body.reference, services=svc, actor=principal.actor,
                                    correlation_id=_cid()))
