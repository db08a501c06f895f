"""Operator read API (R56 evidence) and GET /health."""
from __future__ import annotations

import json

import pytest

from chalicelib.config import settings


def get(client, path, key=None):
    headers = {} if key is None else {"Authorization": key}
    method, _, path = path.rpartition(" ")
    answer = client.http.request(method or "GET", path, headers=headers)
    return answer.status_code, json.loads(answer.body)


@pytest.mark.parametrize("path", ["/admin/contracts/x", "/admin/orders/x", "/admin/invoices/x", "/admin/alerts",
                                  "POST /admin/contracts/x/retry-provisioning", "/admin/customers/x/evidence",
                                  "POST /admin/contracts/x/renewal"])
@pytest.mark.parametrize("key", [None, "Bearer wrong", "Basic " + "op_local_dev_key", "Bearer", "op_local_dev_key"])
def test_admin_routes_refuse_anything_but_the_operator_bearer_key(client, path, key):
    status, body = get(client, path, key)
    assert (status, body["error"]["code"]) == (401, "unauthorized")


def test_R56_admin_contract_view_shows_status_plan_domain_invoice_and_evidence(client, placed_order):
    status, body = get(client, f"/admin/contracts/{placed_order['contract_id']}",
                       f"Bearer {settings().operator_api_key}")
    assert status == 200
    assert (body["status"], body["plan"], body["domain"], body["node_id"]) == (
        "awaiting_payment", "soho-start", "acme-test.fr", None)
    assert body["invoice"]["number"] == placed_order["invoice"]["number"]
    assert body["invoice"]["vat_cents"] == placed_order["invoice"]["vat_cents"]
    entries = body["evidence"]
    assert [e["action"] for e in entries] == ["order.placed", "contract.concluded", "invoice.issued"]
    for entry in entries:
        assert entry["at"] and entry["actor"] and entry["correlation_id"] is not None
    assert entries[1]["before"] is None and entries[1]["after"]["status"] == "awaiting_payment"


def test_R09_admin_order_view_shows_the_acceptance_evidence(client, placed_order):
    status, body = get(client, f"/admin/orders/{placed_order['order_id']}", f"Bearer {settings().operator_api_key}")
    assert status == 200
    assert body["acceptance"]["terms_version"] == "2026-09"
    assert {"accepted_at", "client_ip", "user_agent"} <= body["acceptance"].keys()
    assert body["registry"] == "afnic" and body["contract_status"] == "awaiting_payment"


def test_admin_unknown_ids_are_404(client, aws):
    key = f"Bearer {settings().operator_api_key}"
    assert get(client, "/admin/contracts/ctr_nope", key)[1]["error"]["code"] == "contract_not_found"
    assert get(client, "/admin/orders/ord_nope", key)[0] == 404
    assert get(client, "/admin/invoices/inv_nope", key)[0] == 404


def test_health_is_503_until_the_runner_and_nodes_report_then_200(client, services):
    status, body = get(client, "/health")
    assert status == 503
    assert body["components"]["dynamodb"] == "up" and body["components"]["sqs"] == "up"
    assert body["components"]["event_runner"] == "waiting" and body["components"]["nodes"] == {"node-it-1": "waiting"}
    services.store.heartbeat("event-runner", services.clock.now())
    services.store.node_seen("default", "node-it-1", services.clock.now(), None)
    status, body = get(client, "/health")
    assert (status, body["status"]) == (200, "ok")
    assert body["components"]["nodes"] == {"node-it-1": "up"}


def test_each_request_logs_one_structured_line_with_its_correlation_id(client, aws):
    import io

    from chalicelib.observability import logger
    sink = io.StringIO()
    previous = logger.logger_handler.setStream(sink)  # the real Powertools handler and formatter
    try:
        answer = client.http.get("/catalog", headers={"X-Correlation-Id": "corr-abc"})
    finally:
        logger.logger_handler.setStream(previous)
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    handled = [line for line in lines if line["message"] == "request handled"]
    assert len(handled) == 1
    assert handled[0]["correlation_id"] == "corr-abc" and handled[0]["service"] == "soho-backoffice"
    assert answer.headers["x-correlation-id"] == "corr-abc"


def test_R56_operator_exports_a_customers_evidence_log_with_a_checksum(client, placed_order, services):
    import hashlib
    customer_id = services.store.get_order(placed_order["order_id"]).customer_id
    status, body = get(client, f"/admin/customers/{customer_id}/evidence", f"Bearer {settings().operator_api_key}")
    assert status == 200
    assert [e["action"] for e in body["entries"]] == ["order.placed", "contract.concluded", "invoice.issued"]
    assert all({"at", "actor", "before", "after", "correlation_id"} <= e.keys() for e in body["entries"])
    document = {k: v for k, v in body.items() if k != "sha256"}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    assert body["sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert get(client, "/admin/customers/cus_nope/evidence", f"Bearer {settings().operator_api_key}")[0] == 404
    assert get(client, f"/admin/customers/{customer_id}/evidence")[0] == 401
