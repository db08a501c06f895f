"""Abuse complaints and measures (R48, R49): the public intake, the operators' entry of orders and
written claims, the customer's cases and answers, the operators' case handling, and the consumer
that matches queued reports to hosted contracts.

Who may call each route is in routes.py (checked by the middleware before the view runs); a
customer's case of another customer answers 404, as an unknown one does. Bodies are strict v1
models (contracts/abuse_v1.py): an unknown field is a 400, never applied.
"""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from ..bootstrap import Services, services
from ..config import settings
from ..domain.access import Principal
from ..domain.errors import InvalidInputError
from .consumers import _batch
from .http import json_response
from .views import client_ip, correlation_id as _cid, json_body, principal_view

bp = Blueprint(__name__)
abuse_view = principal_view(bp)


def _body(model: Any, **options: Any) -> Any:
    return json_body(bp, model, **options)


def _client_ip() -> str:
    return client_ip(bp)


def _operator(principal: Principal) -> str:
    return principal.name or "unknown"


# ---- the public intake (R48) -----------------------------------------------------------------------

@bp.route("/abuse-reports", methods=["POST"], content_types=["application/json"])
@abuse_view
def file_abuse_report(svc: Services, principal: Principal):
    """R48: {"category", "target": {"domain"|"url"|"mailbox"}, "description", "reporter": {"email",
    "name"}, "evidence_files": [...]} -> 202 {"report_id", "status": "received", "uploads": [...]},
    the same whatever the target (the answer says nothing about the customer)."""
    from ..contracts.abuse_v1 import AbuseReportV1
    from ..service.abuse_intake import receive_report
    body = _body(AbuseReportV1)
    return json_response(receive_report(body, svc, client_ip=_client_ip(), correlation_id=_cid()), 202)


# ---- the customer (R48) ------------------------------------------------------------------------------

@bp.route("/me/abuse-cases", methods=["GET"])
@abuse_view
def my_abuse_cases(svc: Services, principal: Principal):
    """R48: the complaints about your services: what is complained about, never who complained."""
    from ..service.abuse_cases import cases_of_customer
    return json_response({"cases": cases_of_customer(principal.customer_id or "")})


@bp.route("/me/abuse-cases/{case_id}/answer", methods=["POST"], content_types=["application/json"])
@abuse_view
def answer_my_abuse_case(svc: Services, principal: Principal, case_id: str):
    """R48: {"message"}: your answer; before the deadline it stops the automatic measure."""
    from ..contracts.abuse_v1 import AbuseAnswerV1
    from ..service.abuse_cases import answer
    body = _body(AbuseAnswerV1)
    return json_response(answer(case_id, principal, body.message, svc, correlation_id=_cid()))


# ---- operators (R48, R49) ----------------------------------------------------------------------------

@bp.route("/admin/abuse-reports", methods=["POST"], content_types=["application/json"])
@abuse_view
def enter_abuse_report(svc: Services, principal: Principal):
    """R48 (1.20): a court or authority order, a third party's written claim or a breach found by
    the provider, matched at once; 201 with the case it opened or joined (none: unmatched)."""
    from ..contracts.abuse_v1 import AdminAbuseReportV1
    from ..service.abuse_intake import enter_report
    body = _body(AdminAbuseReportV1)
    return json_response(enter_report(body, svc, operator=_operator(principal), correlation_id=_cid()), 201)


@bp.route("/admin/abuse-cases", methods=["GET"])
@abuse_view
def list_abuse_cases(svc: Services, principal: Principal):
    """?status=<status>: the cases of one status; without it all, the open ones first."""
    from ..domain.abuse import CaseStatus
    from ..service.abuse_cases import cases_for_operators
    status = ((bp.current_request.query_params or {}).get("status") or "").strip() or None
    if status is not None and status not in [s.value for s in CaseStatus]:
        raise InvalidInputError(f"unknown status {status[:40]!r}; one of {', '.join(s.value for s in CaseStatus)}",
                                code="invalid_status", fields={"status": "unknown status"})
    return json_response({"cases": cases_for_operators(status)})


@bp.route("/admin/abuse-cases/{case_id}", methods=["GET"])
@abuse_view
def get_abuse_case(svc: Services, principal: Principal, case_id: str):
    """A case with its reports (reporter contact, evidence links), measures and the contract's holds."""
    from ..service.abuse_cases import get_case, operator_view
    return json_response(operator_view(get_case(case_id, svc), svc))


@bp.route("/admin/abuse-cases/{case_id}/severity", methods=["POST"], content_types=["application/json"])
@abuse_view
def qualify_abuse_case(svc: Services, principal: Principal, case_id: str):
    """R49: {"severity", "note"}: manifestly_illegal suspends at once, without notice before."""
    from ..contracts.abuse_v1 import AbuseSeverityV1
    from ..service.abuse_cases import set_severity
    body = _body(AbuseSeverityV1)
    return json_response(set_severity(case_id, body.severity, body.note, svc, actor=principal.actor,
                                      correlation_id=_cid()))


@bp.route("/admin/abuse-cases/{case_id}/measure", methods=["POST"], content_types=["application/json"])
@abuse_view
def apply_abuse_measure(svc: Services, principal: Principal, case_id: str):
    """R49: {} applies the matrix's measure now; {"measure", "reason"} another one."""
    from ..contracts.abuse_v1 import AbuseMeasureV1
    from ..service.abuse_cases import measure_now
    body = _body(AbuseMeasureV1)
    return json_response(measure_now(case_id, body.measure, body.reason, svc, actor=principal.actor,
                                     correlation_id=_cid()))


@bp.route("/admin/abuse-cases/{case_id}/close", methods=["POST"], content_types=["application/json"])
@abuse_view
def close_abuse_case(svc: Services, principal: Principal, case_id: str):
    """{"outcome": "resolved"|"dismissed", "note"}; closing lifts no hold."""
    from ..contracts.abuse_v1 import AbuseCloseV1
    from ..service.abuse_cases import close
    body = _body(AbuseCloseV1)
    return json_response(close(case_id, body.outcome, body.note, svc, actor=principal.actor, correlation_id=_cid()))


@bp.route("/admin/abuse-cases/{case_id}/lift", methods=["POST"], content_types=["application/json"])
@abuse_view
def lift_abuse_hold(svc: Services, principal: Principal, case_id: str):
    """R49: {"note"}: lift the contract's abuse hold; a non-payment or identity hold stays."""
    from ..contracts.abuse_v1 import AbuseLiftV1
    from ..service.abuse_cases import lift
    body = _body(AbuseLiftV1)
    return json_response(lift(case_id, body.note, svc, actor=principal.actor, correlation_id=_cid()))


# ---- the consumer (R48) -------------------------------------------------------------------------------

def _abuse_report_record(record: Any) -> str:
    from ..service.abuse_cases import process_report
    from .consumers import _correlation_id
    report_id = json.loads(record.body)["report_id"]
    return process_report(report_id, services(), "system", _correlation_id(record))["status"]


@bp.on_sqs_message(queue=settings().queue_name("abuse-reports"), batch_size=10)
def on_abuse_report(event):
    """R48: match each queued report to a hosted contract and open or join its case, once."""
    return _batch(event, _abuse_report_record)
