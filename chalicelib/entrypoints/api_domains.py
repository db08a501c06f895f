"""Domain names (issue 4): the public availability lookup (R35), the customer's transfer-out
(R39) and cancellation after a failed registration or transfer (R37/R38), and the operators'
view, decisions (R42) and retry of a stalled registry operation."""
from __future__ import annotations

from datetime import timedelta

from chalice import Blueprint

from ..bootstrap import Services
from ..domain.access import Principal
from .http import json_response
from .views import client_ip, correlation_id as _cid, json_body, my_contract, principal_view

bp = Blueprint(__name__)
domains_view = principal_view(bp)
CHECKS_PER_ADDRESS = 120  # R35 lookups per client address and 15 minutes (each one asks a registry)


@bp.route("/domains/availability", methods=["GET"])
@domains_view
def domain_availability(svc: Services, principal: Principal):
    """R35/R36: ?name=<domain>: validated and routed first, then asked of its registry; the answer
    says it is no guarantee of availability."""
    from ..contracts.domains_v1 import AvailabilityQueryV1
    from ..service import throttle
    from ..service.domains import check_availability
    query = AvailabilityQueryV1.model_validate(dict(bp.current_request.query_params or {}))
    throttle.take("domain_check", client_ip(bp), CHECKS_PER_ADDRESS, now=svc.clock.wall(),
                  window=timedelta(minutes=15), message="too many availability lookups from this address")
    return json_response(check_availability(query.name, svc))


@bp.route("/me/contracts/{contract_id}/domain", methods=["GET"])
@domains_view
def my_contract_domain(svc: Services, principal: Principal, contract_id: str):
    """The contract's domain: status, expiry, the registry operation in progress."""
    from ..domain.errors import NotFoundError
    from ..service.customer_area import contract_domain
    view = contract_domain(my_contract(svc, principal, contract_id))
    if view is None:
        raise NotFoundError(f"contract {contract_id} manages no domain any more", code="domain_not_found")
    return json_response(view)


@bp.route("/me/contracts/{contract_id}/domain/transfer-out", methods=["POST"],
          content_types=["application/json", "text/plain"])
@domains_view
def transfer_my_domain_out(svc: Services, principal: Principal, contract_id: str):
    """R39: move the domain to another provider before the contract's end: 202 with its auth code,
    or 422 `retention_right` naming the sums owed."""
    from ..service.domains import request_transfer_out
    contract = my_contract(svc, principal, contract_id)
    return json_response(request_transfer_out(contract.contract_id, svc, actor=principal.actor,
                                              correlation_id=_cid()), 202)


@bp.route("/me/contracts/{contract_id}/domain/cancel-order", methods=["POST"],
          content_types=["application/json", "text/plain"])
@domains_view
def cancel_my_order_after_domain_failure(svc: Services, principal: Principal, contract_id: str):
    """R37/R38: after a refused registration or a failed transfer, cancel the order: the solution's
    price is credited and refunded, the space removed; the dossier fees stay due."""
    from ..service.domains import cancel_after_domain_failure
    contract = my_contract(svc, principal, contract_id)
    outcome, created = cancel_after_domain_failure(contract.contract_id, svc, actor=principal.actor,
                                                   correlation_id=_cid())
    return json_response(outcome, 201 if created else 200)


@bp.route("/me/contracts/{contract_id}/domain/dns-records", methods=["GET"])
@domains_view
def my_dns_records(svc: Services, principal: Principal, contract_id: str):
    """R40: the zone in force (yours, or the default one pointing at your hosting)."""
    from ..domain.errors import NotFoundError
    from ..service.domains import _get_domain, dns_view
    contract = my_contract(svc, principal, contract_id)
    domain = _get_domain(contract.domain_name)
    if domain is None or domain.contract_id != contract.contract_id:
        raise NotFoundError(f"contract {contract_id} manages no domain any more", code="domain_not_found")
    return json_response(dns_view(domain, contract, svc))


@bp.route("/me/contracts/{contract_id}/domain/dns-records", methods=["PUT"], content_types=["application/json"])
@domains_view
def set_my_dns_records(svc: Services, principal: Principal, contract_id: str):
    """R40: replace the zone (validated, then set on the node)."""
    from ..contracts.domains_v1 import DnsZoneV1
    from ..service.domains import set_dns_records
    body = json_body(bp, DnsZoneV1)
    contract = my_contract(svc, principal, contract_id)
    return json_response(set_dns_records(contract.contract_id, [r.model_dump(exclude_none=True)
                                                                for r in body.records], svc,
                                         actor=principal.actor, correlation_id=_cid()))


@bp.route("/admin/domains/{domain_name}", methods=["GET"])
@domains_view
def admin_domain(svc: Services, principal: Principal, domain_name: str):
    """A domain with its status, pending registry operation, transfer-out and decision."""
    from ..service.domains import admin_domain as view
    return json_response(view(domain_name))


@bp.route("/admin/domains/{domain_name}/decisions", methods=["POST"], content_types=["application/json"])
@domains_view
def record_domain_decision(svc: Services, principal: Principal, domain_name: str):
    """R42: record a decision or the holder's request (cancel or transfer): executed at the
    registry, the customer informed."""
    from ..contracts.domains_v1 import DomainDecisionV1
    from ..service.domains import record_decision
    body = json_body(bp, DomainDecisionV1)
    return json_response(record_decision(domain_name, body.model_dump(), svc, principal.name, _cid()), 202)


@bp.route("/admin/domains/{domain_name}/retry", methods=["POST"], content_types=["application/json", "text/plain"])
@domains_view
def retry_domain_operation(svc: Services, principal: Principal, domain_name: str):
    """Retry a registry operation stalled after its tries (transport errors)."""
    from ..service.domains import retry_operation
    return json_response(retry_operation(domain_name, svc, principal.name), 202)
