"""Abuse intake (R48): anyone files a complaint (POST /abuse-reports); operators enter court or
authority orders and third parties' written claims (POST /admin/abuse-reports).

The public intake reveals nothing about the customer: it validates the input, counts the request
against the rate limits (per reporter address and per client address), stores the report, queues
it and answers 202 with pre-signed S3 upload forms for the evidence files. It never looks the
target up: matching it to a hosted contract happens later in the `on_abuse_report` consumer
(abuse_cases.process_report), so neither the answer nor its timing depends on whether the domain
is hosted here. Operators' reports are matched at once (they may know).
"""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import lru_cache
from typing import Any, Optional

from ..adapters.dynamo_store import new_id
from ..adapters.models import AbuseReportModel
from ..bootstrap import Services
from ..domain.abuse import PUBLIC_SOURCE, evidence_key
from ..domain.calendar import utc_iso
from ..domain.contracts import IN_FORCE
from ..domain.errors import ConflictError, NotFoundError
from .throttle import take

QUEUE = "abuse-reports"
BUCKET = "abuse-evidence"  # infra/resources.json `buckets`
RECEIVED = "received"


def evidence_bucket(services: Services) -> str:
    return f"{services.settings.resource_prefix}-{BUCKET}"


@lru_cache(maxsize=4)
def _s3(region: str, path_style: bool) -> Any:
    import boto3  # imported where used: the API's cold start stays light
    from botocore.config import Config
    return boto3.client("s3", region_name=region, config=Config(
        signature_version="s3v4", s3={"addressing_style": "path" if path_style else "virtual"}))


def s3_client(services: Services) -> Any:
    # Local emulators are reached by address (path-style URLs); AWS by the bucket's own host name.
    return _s3(services.settings.region, services.settings.local_mode)


def upload_form(file: dict[str, Any], services: Services) -> dict[str, Any]:
    """R48: a pre-signed POST for one evidence file: its key under `reports/<report_id>/`, its type,
    and a size of at most what was announced (content-length-range). Signed locally: no AWS call."""
    post = s3_client(services).generate_presigned_post(
        Bucket=evidence_bucket(services), Key=file["key"], Fields={"Content-Type": file["content_type"]},
        Conditions=[{"Content-Type": file["content_type"]}, ["content-length-range", 1, int(file["size_bytes"])]],
        ExpiresIn=services.settings.abuse_upload_url_seconds)
    return {"filename": file["filename"], "url": post["url"], "fields": post["fields"]}


def download_url(key: str, services: Services) -> str:
    """An operator's link to an evidence file (pre-signed GET, signed locally)."""
    return s3_client(services).generate_presigned_url(
        "get_object", Params={"Bucket": evidence_bucket(services), "Key": key},
        ExpiresIn=services.settings.abuse_upload_url_seconds)


def _queue(report_id: str, services: Services, correlation_id: Optional[str]) -> None:
    services.queues.send(queue_name=services.settings.queue_name(QUEUE), body=json.dumps({"report_id": report_id}),
                         correlation_id=correlation_id)


def _files(report_id: str, files: list[Any]) -> list[dict[str, Any]]:
    return [{"filename": f.filename, "content_type": f.content_type, "size_bytes": f.size_bytes,
             "key": evidence_key(report_id, i + 1, f.filename)} for i, f in enumerate(files)]


def receive_report(body: Any, services: Services, *, client_ip: str,
                   correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R48: the public intake. `body` is an AbuseReportV1 (validated). Rate limited per client
    address and per reporter address (429 with Retry-After); the same 202 answer, made the same
    way, whatever the target: nothing here reads a contract or a domain."""
    s, now = services.settings, services.clock.now()
    window = timedelta(minutes=s.abuse_report_window_minutes)
    take("abuse_report#address", client_ip or "unknown", s.abuse_reports_per_address, now=now, window=window,
         message="too many abuse reports from this address; try again later")
    reporter_email = str(body.reporter.email).strip().lower()
    reporter_key = hashlib.sha256(reporter_email.encode()).hexdigest()[:32]  # no address in the counter's key
    take("abuse_report#reporter", reporter_key, s.abuse_reports_per_reporter, now=now, window=window,
         message="too many abuse reports from this reporter address; try again later")
    target = body.target.to_domain()
    report_id = new_id("abr")
    files = _files(report_id, body.evidence_files)
    AbuseReportModel(
        report_id=report_id, source=PUBLIC_SOURCE, category=body.category, target_kind=target.kind,
        target=target.value, target_domain=target.domain, description=body.description,
        reporter={"email": reporter_email, "name": body.reporter.name}, evidence_files=files, status=RECEIVED,
        created_at=utc_iso(now),
        # Until matched to a case, a report is purged after the retention (a lost queue message too).
        purge_epoch=int(now.timestamp()) + s.abuse_unmatched_retention_days * 86400,
    ).save(condition=AbuseReportModel.report_id.does_not_exist())
    _queue(report_id, services, correlation_id)
    return {"report_id": report_id, "status": RECEIVED, "uploads": [upload_form(f, services) for f in files]}


def enter_report(body: Any, services: Services, *, operator: str,
                 correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R48 (1.20): an operator enters an order or a written claim (`body` is an AdminAbuseReportV1);
    it is matched at once: the named contract (it must be in force) or the target's. A severity
    given is set on the case (a manifestly illegal one suspends at once, R49)."""
    from .abuse_cases import get_case, operator_view, process_report, set_severity, usable_key
    now, actor = services.clock.now(), f"operator:{operator}"
    if body.contract_id is not None:
        contract = services.store.get_contract(body.contract_id) if usable_key(body.contract_id) else None
        if contract is None:
            raise NotFoundError(f"no contract {body.contract_id}", code="contract_not_found")
        if contract.status not in [st.value for st in IN_FORCE]:
            raise ConflictError(f"contract {body.contract_id} is {contract.status}: not in force, no abuse case can be "
                                "opened on it", code="contract_not_in_force")
    target = body.target.to_domain() if body.target is not None else None
    report_id = new_id("abr")
    AbuseReportModel(
        report_id=report_id, source=body.source, category=body.category,
        target_kind=target.kind if target else None, target=target.value if target else None,
        target_domain=target.domain if target else None, description=body.description,
        reporter=body.reporter.model_dump(mode="json") if body.reporter else None, evidence_files=[],
        document_reference=body.document_reference, entered_by=actor, requested_contract_id=body.contract_id,
        requested_severity=body.severity, status=RECEIVED, created_at=utc_iso(now),
        purge_epoch=int(now.timestamp()) + services.settings.abuse_unmatched_retention_days * 86400,
    ).save(condition=AbuseReportModel.report_id.does_not_exist())
    outcome = process_report(report_id, services, actor, correlation_id)
    case = None
    if outcome.get("case_id"):
        case = get_case(outcome["case_id"], services)
        if body.severity and case.severity != body.severity:
            return {**outcome, "case": set_severity(case.case_id, body.severity,
                                                    f"{body.source} {body.document_reference}", services,
                                                    actor=actor, correlation_id=correlation_id)}
    return {**outcome, "case": operator_view(case, services) if case else None}


def report_view(report: AbuseReportModel, services: Services) -> dict[str, Any]:
    """A report as operators see it: with the reporter's contact and links to its evidence files."""
    files = [{**{k: f.get(k) for k in ("filename", "content_type", "size_bytes", "key")},
              "download_url": download_url(f["key"], services)} for f in report.evidence_files or []]
    return {"report_id": report.report_id, "source": report.source, "category": report.category,
            "target_kind": report.target_kind, "target": report.target, "description": report.description,
            "reporter": report.reporter, "document_reference": report.document_reference,
            "entered_by": report.entered_by, "received_at": report.created_at, "status": report.status,
            "evidence_files": files}
