"""Availability (R44), maintenance windows and force majeure (R50): the monthly report per hosting
space, the operator routes that announce maintenance and declare force majeure, and the R50
termination by either party.

Who may call each route is in routes.py (checked by the middleware before the view runs); the
customer views here check that the contract they loaded is the caller's (OWASP API1): another
customer's contract answers 404, as an unknown one does.
"""
from __future__ import annotations

from typing import Any, Optional

from chalice import Blueprint

from ..bootstrap import Services
from ..domain.access import Principal
from .http import json_response
from .views import (any_contract as _contract, correlation_id as _cid, json_body, known_id as _known_id,
                    my_contract as _my_contract, principal_view)

bp = Blueprint(__name__)


availability_view = principal_view(bp)


def _body(model: Any, **options: Any) -> Any:
    return json_body(bp, model, **options)


def _month() -> Optional[str]:
    """?month=YYYY-MM (validated by the report: 400 invalid_month); absent: the current month."""
    value = (bp.current_request.query_params or {}).get("month")
    return None if value is None else value.strip()


# ---- R44: the monthly availability report ---------------------------------------------------------

@bp.route("/admin/contracts/{contract_id}/availability", methods=["GET"])
@availability_view
def contract_availability(svc: Services, principal: Principal, contract_id: str):
    """R44: ?month=YYYY-MM (Paris; default the current month, up to now): the availability of the
    contract's hosting space against the 99.8 % commitment, each excluded period with its reason."""
    from ..service.availability import contract_availability as report
    return json_response(report(_contract(svc, contract_id), _month(), svc))


@bp.route("/me/contracts/{contract_id}/availability", methods=["GET"])
@availability_view
def my_contract_availability(svc: Services, principal: Principal, contract_id: str):
    """R44: the availability report of one of your contracts (?month=YYYY-MM, Paris)."""
    from ..service.availability import contract_availability as report
    return json_response(report(_my_contract(svc, principal, contract_id), _month(), svc))


# ---- R44: maintenance windows ---------------------------------------------------------------------

@bp.route("/admin/maintenance-windows", methods=["POST"], content_types=["application/json"])
@availability_view
def announce_maintenance(svc: Services, principal: Principal):
    """R44 (15.2): {"start", "end", "node_ids": [...] | "all", "description", "emergency"?}: 201
    (200 when the same window was announced before); 422 once started unless an emergency."""
    from ..contracts.availability_v1 import MaintenanceWindowV1
    from ..service.availability import announce_maintenance as announce
    view, created = announce(_body(MaintenanceWindowV1), svc, principal.actor)
    return json_response(view, 201 if created else 200)


@bp.route("/admin/maintenance-windows", methods=["GET"])
@availability_view
def maintenance_windows(svc: Services, principal: Principal):
    """R44: the announced maintenance windows by start (?month=YYYY-MM: those overlapping it)."""
    from ..service.availability import MAINTENANCE, list_events
    return json_response({"maintenance_windows": list_events(MAINTENANCE, svc, _month())})


# ---- R50: force majeure ---------------------------------------------------------------------------

@bp.route("/admin/force-majeure", methods=["POST"], content_types=["application/json"])
@availability_view
def declare_force_majeure(svc: Services, principal: Principal):
    """R50: {"start", "end"?, "description", "services": [...] | "all"}: 201 (200 when declared before)."""
    from ..contracts.availability_v1 import ForceMajeureV1
    from ..service.availability import declare_force_majeure as declare
    view, created = declare(_body(ForceMajeureV1), svc, principal.actor)
    return json_response(view, 201 if created else 200)


@bp.route("/admin/force-majeure", methods=["GET"])
@availability_view
def force_majeure_events(svc: Services, principal: Principal):
    """R50: the force majeure events by start (?month=YYYY-MM: those overlapping it), each saying
    whether it lasted long enough for either party to terminate."""
    from ..service.availability import FORCE_MAJEURE, list_events
    return json_response({"force_majeure": list_events(FORCE_MAJEURE, svc, _month())})


@bp.route("/admin/force-majeure/{event_id}/end", methods=["POST"], content_types=["application/json"])
@availability_view
def end_force_majeure(svc: Services, principal: Principal, event_id: str):
    """R50: {"end"}: the event ended then (409 when it already ended at another time)."""
    from ..contracts.availability_v1 import ForceMajeureEndV1
    from ..service.availability import end_force_majeure as end
    event_id = _known_id(event_id, "force_majeure_not_found", "force majeure event")
    return json_response(end(event_id, _body(ForceMajeureEndV1).end, svc, principal.actor))


@bp.route("/admin/contracts/{contract_id}/force-majeure-termination", methods=["POST"],
          content_types=["application/json"])
@availability_view
def terminate_for_force_majeure(svc: Services, principal: Principal, contract_id: str):
    """R50 (18.3): {"event_id"}: the provider terminates the contract after more than 30 days of
    force majeure (422 force_majeure_not_long_enough before)."""
    from ..contracts.availability_v1 import ForceMajeureTerminationV1
    from ..service.availability import terminate_for_force_majeure as terminate
    contract = _contract(svc, contract_id)
    body = _body(ForceMajeureTerminationV1)
    return json_response(terminate(contract, body.event_id, svc, actor=principal.actor, requested_by="provider",
                                   correlation_id=_cid()))


@bp.route("/me/contracts/{contract_id}/force-majeure-termination", methods=["POST"],
          content_types=["application/json"])
@availability_view
def terminate_my_contract_for_force_majeure(svc: Services, principal: Principal, contract_id: str):
    """R50 (18.3): {"event_id"}: you terminate your contract after more than 30 days of force
    majeure (422 force_majeure_not_long_enough before)."""
    from ..contracts.availability_v1 import ForceMajeureTerminationV1
    from ..service.availability import terminate_for_force_majeure as terminate
    contract = _my_contract(svc, principal, contract_id)
    body = _body(ForceMajeureTerminationV1)
    return json_response(terminate(contract, body.event_id, svc, actor=principal.actor, requested_by="customer",
                                   correlation_id=_cid()))
