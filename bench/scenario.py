"""One customer's life through the handlers, in-process, each step measured on its own.

Used by P2 (moto mock_aws) and P3 (DynamoDB Local + moto server for SQS). The caller sets the
environment and endpoints before importing this module. Every step goes through the app's
entry points (chalice.test.Client: HTTP routes and Lambda handlers), as API Gateway or an
event source mapping would call them; set-up reads (e.g. the command id the node will answer
to) happen outside the measured window.

"Cold container" means a fresh composition root (`bootstrap._real_services` rebuilt: new store,
new SQS adapter with an empty queue-URL cache) before the step, as a newly started Lambda
execution environment has. Modules and PynamoDB's per-model connections stay imported, so the
cold flow's call counts are a cold container's, not its durations (P1 covers import cost).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from .common import ROOT, CallRecorder, summarise

NODE_ID = "node-bench-1"
NODE_CAPACITY_MB = 100_000_000

# (key, label, kind): kind says which targets apply (P2) and how P4 counts it.
OPERATIONS = [
    ("post_order", "POST /orders", "api"),
    ("webhook", "POST /webhooks/payments", "webhook"),
    ("payment_first", "payment event, first delivery", "payment_event"),
    ("payment_duplicate", "payment event, duplicate delivery", "payment_event"),
    ("space_provisioned", "node result SpaceProvisioned", "consumer"),
    ("space_provisioned_duplicate", "node result SpaceProvisioned, repeated", "consumer"),
    ("admin_contract", "GET /admin/contracts/{id}", "api"),
    ("health", "GET /health", "api"),
    ("heartbeat", "node heartbeat (per node, not per customer)", "per_node"),
    ("schedule_tick", "schedule tick redispatch_pending_commands (fixed)", "fixed"),
]
LABELS = {key: label for key, label, _ in OPERATIONS}
KINDS = {key: kind for key, _, kind in OPERATIONS}
# Which Lambda function serves each step (P4 uses this for init/cold-start figures).
FUNCTION_GROUP = {"post_order": "api", "webhook": "api", "admin_contract": "api", "health": "api",
                  "payment_first": "on_payment_event", "payment_duplicate": "on_payment_event",
                  "space_provisioned": "on_node_result", "space_provisioned_duplicate": "on_node_result",
                  "heartbeat": "on_node_result",
                  "schedule_tick": "redispatch_pending_commands"}


@dataclass
class Step:
    key: str
    calls: dict[str, Any]
    seconds: float
    status: Any = None
    log_bytes: int = 0


@dataclass
class FlowResult:
    steps: dict[str, Step] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    customer_id: Optional[str] = None


class Scenario:
    """Holds the app, its test client and the recorder; `flow()` plays one customer."""

    def __init__(self, recorder: CallRecorder, log_sink: Any = None) -> None:
        os.chdir(ROOT)  # chalice.test.Client reads .chalice/config.json from the project directory
        from chalice.test import Client

        from app import app
        from chalicelib import bootstrap
        from chalicelib.config import settings
        self.app, self.bootstrap, self.settings = app, bootstrap, settings()
        self.client = Client(app)
        self.recorder = recorder
        self.log_sink = log_sink
        bootstrap.override(None)

    # ---- set-up (not measured) ------------------------------------------------------------
    def create_resources(self) -> dict[str, str]:
        from devstack.resources import ensure_all, register_node
        queues = ensure_all(self.settings)
        queues["node"] = register_node(self.settings, NODE_ID, capacity_mb=NODE_CAPACITY_MB,
                                       http_address="http://127.0.0.1:9")
        return queues

    def new_container(self) -> None:
        """A fresh composition root, as in a newly started execution environment."""
        cache_clear = getattr(getattr(self.bootstrap, "_real_services", None), "cache_clear", None)
        if cache_clear is not None:
            cache_clear()

    # ---- the flow -------------------------------------------------------------------------
    def flow(self, domain: str, cold: bool) -> FlowResult:
        from chalicelib.contracts.node_messages import NodeHeartbeat, SpaceProvisioned
        from devstack.pay import payment_succeeded_event, sign
        from devstack.runner import scheduled_event, sqs_event
        from tests.helpers import professional_order

        result = FlowResult()
        s = self.settings
        http, lam = self.client.http, self.client.lambda_

        def step(key: str, action: Callable[[], Any]) -> Any:
            if cold:
                self.new_container()
            logged = getattr(self.log_sink, "bytes", 0)
            with self.recorder.recording() as calls:
                started = time.perf_counter()
                try:
                    answer = action()
                finally:
                    seconds = time.perf_counter() - started
            status = getattr(answer, "status_code", None)
            if status is None and hasattr(answer, "payload"):
                status = answer.payload
            result.steps[key] = Step(key, summarise(calls), seconds, status,
                                     getattr(self.log_sink, "bytes", 0) - logged)
            return answer

        def expect(condition: bool, message: str) -> None:
            if not condition:
                result.problems.append(message)

        def sqs_records(bodies: list[str], queue: str, correlation_id: Optional[str] = None) -> dict:
            attributes = ({"correlation_id": {"DataType": "String", "StringValue": correlation_id}}
                          if correlation_id else {})
            return sqs_event([{"MessageId": str(uuid.uuid4()), "ReceiptHandle": f"rh-{i}", "Body": body,
                               "Attributes": {"ApproximateReceiveCount": "1"}, "MessageAttributes": attributes}
                              for i, body in enumerate(bodies)],
                             f"arn:aws:sqs:{s.region}:123456789012:{s.queue_name(queue)}", s.region)

        json_headers = {"Content-Type": "application/json", "User-Agent": "bench/1.0"}
        answer = step("post_order", lambda: http.post("/orders", body=json.dumps(professional_order(domain_name=domain)),
                                                      headers=json_headers))
        expect(answer.status_code == 201, f"POST /orders answered {answer.status_code}: {answer.body[:300]!r}")
        if answer.status_code != 201:
            return result
        placed = json.loads(answer.body)
        invoice_id, total = placed["invoice"]["id"], placed["invoice"]["total_cents"]
        contract_id = placed["contract_id"]

        payload = payment_succeeded_event(invoice_id, total, contract_id=contract_id)  # as our storefront sets it
        event_id = json.loads(payload)["id"]
        signature = sign(payload, s.payment_webhook_secret)
        answer = step("webhook", lambda: http.post("/webhooks/payments", body=payload,
                                                   headers={**json_headers, "Stripe-Signature": signature}))
        expect(answer.status_code == 200, f"webhook answered {answer.status_code}: {answer.body[:300]!r}")

        event = sqs_records([payload.decode()], "payment-events", correlation_id=event_id)
        answer = step("payment_first", lambda: lam.invoke("on_payment_event", event))
        expect(answer.payload == {"batchItemFailures": []}, f"payment event: {answer.payload}")
        answer = step("payment_duplicate", lambda: lam.invoke("on_payment_event", event))
        expect(answer.payload == {"batchItemFailures": []}, f"duplicate payment event: {answer.payload}")

        store = self.bootstrap.services().store
        contract = store.get_contract(contract_id)
        result.customer_id = contract.customer_id if contract else None
        expect(contract is not None and contract.status == "provisioning" and bool(contract.command_id),
               f"after payment the contract is {getattr(contract, 'status', None)}")
        if contract is None or not contract.command_id:
            return result
        now = datetime.now(timezone.utc)
        done = SpaceProvisioned(node_id=contract.node_id or NODE_ID, command_id=contract.command_id,
                                contract_id=contract_id, domain=domain, completed_at=now)
        answer = step("space_provisioned", lambda: lam.invoke(
            "on_node_result", sqs_records([done.model_dump_json()], "node-results")))
        expect(answer.payload == {"batchItemFailures": []}, f"SpaceProvisioned: {answer.payload}")
        expect(store.get_contract(contract_id).status == "active", "the contract did not become active")
        # The duplicate payment delivery re-sent the command; the node answers it once more.
        answer = step("space_provisioned_duplicate", lambda: lam.invoke(
            "on_node_result", sqs_records([done.model_dump_json()], "node-results")))
        expect(answer.payload == {"batchItemFailures": []}, f"repeated SpaceProvisioned: {answer.payload}")

        operator = {"Authorization": f"Bearer {s.operator_api_key}"}
        answer = step("admin_contract", lambda: http.get(f"/admin/contracts/{contract_id}", headers=operator))
        expect(answer.status_code == 200, f"GET /admin/contracts answered {answer.status_code}")

        answer = step("health", lambda: http.get("/health"))
        expect(answer.status_code in (200, 503), f"GET /health answered {answer.status_code}")

        beat = NodeHeartbeat(node_id=NODE_ID, sent_at=now, http_address="http://127.0.0.1:9", sites=1)
        answer = step("heartbeat", lambda: lam.invoke(
            "on_node_result", sqs_records([beat.model_dump_json()], "node-results")))
        expect(answer.payload == {"batchItemFailures": []}, f"heartbeat: {answer.payload}")

        tick = scheduled_event("redispatch_pending_commands", now, s.region)
        step("schedule_tick", lambda: lam.invoke("redispatch_pending_commands", tick))
        return result


def domain_for(run: str, index: int) -> str:
    return f"bench-{run}-{index}.fr"
