"""The foundation path over real HTTP, real queues and a real node agent (R09, R27, R30, R31, R56)."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from devstack.pay import payment_succeeded_event, post_webhook, sign
from tests.e2e.conftest import site
from tests.helpers import consumer_order, professional_order


def pay(stack, order: dict, payload: bytes | None = None) -> bytes:
    payload = payload or payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"])
    status, body = post_webhook(stack.api_url, payload, sign(payload, stack.webhook_secret))
    assert status == 200, body
    return payload


def node_journal(stack, contract_id: str) -> list[dict]:
    journal = Path(stack.workdir) / "node" / stack.node_id / "journal"
    entries = [json.loads(p.read_text()) for p in journal.glob("*.json")]
    return [e for e in entries if e["contract_id"] == contract_id]


def test_health_reports_every_component_up(api):
    status, body = api.call("GET", "/health")
    assert status == 200, body
    components = body["components"]
    assert components["dynamodb"] == components["sqs"] == components["event_runner"] == "up"
    assert set(components["nodes"].values()) == {"up"}


def test_R09_R27_R30_order_payment_provisioning_and_the_site_answers(stack, api):
    status, order = api.call("POST", "/orders", professional_order(domain_name="e2e-shop.fr"))
    assert status == 201 and order["status"] == "awaiting_payment"
    assert site(stack, "e2e-shop.fr")[0] == 404
    pay(stack, order)
    contract = api.wait_contract(order["contract_id"], {"active", "provisioning_failed"})
    assert contract["status"] == "active" and contract["node_id"] == stack.node_id
    assert contract["invoice"]["status"] == "paid"
    status, page = site(stack, "e2e-shop.fr")
    assert status == 200 and "e2e-shop.fr" in page
    actions = [e["action"] for e in contract["evidence"]]
    assert actions[:3] == ["order.placed", "contract.concluded", "invoice.issued"]
    assert {"invoice.paid", "order.paid", "contract.provisioning", "node_command.issued",
            "node_command.succeeded", "contract.active"} <= set(actions)


def test_R27_one_payment_one_command_one_space_for_five_deliveries_two_of_them_concurrent(stack, api):
    status, order = api.call("POST", "/orders", consumer_order(domain_name="e2e-twice.fr"))
    assert status == 201
    payload = pay(stack, order)
    pay(stack, order, payload)
    pay(stack, order, payload)
    threads = [threading.Thread(target=pay, args=(stack, order, payload)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert api.wait_contract(order["contract_id"], {"active", "provisioning_failed"})["status"] == "active"
    time.sleep(3)  # later copies may still be queued when the contract turns active: let them land
    contract = api.contract(order["contract_id"])
    actions = [e["action"] for e in contract["evidence"]]
    assert actions.count("invoice.paid") == 1
    provisioning = [e for e in contract["evidence"] if e["action"] == "node_command.issued"
                    and e["after"].get("type") == "ProvisionSpace"]
    assert len(provisioning) == 1
    assert actions.count("contract.active") == 1
    assert [e["type"] for e in node_journal(stack, order["contract_id"])].count("ProvisionSpace") == 1
    assert site(stack, "e2e-twice.fr")[0] == 200


def test_R30_a_command_the_node_keeps_failing_reaches_the_dlq_fails_the_contract_and_alerts(stack, api):
    status, order = api.call("POST", "/orders", professional_order(domain_name="fail-e2e.fr"))
    assert status == 201
    pay(stack, order)
    contract = api.wait_contract(order["contract_id"], {"provisioning_failed", "active"}, timeout=90)
    assert contract["status"] == "provisioning_failed"
    assert "fault injected" in contract["last_error"]
    assert contract["provisioning"]["status"] == "failed" and contract["provisioning"]["attempts"] >= 2
    actions = [e["action"] for e in contract["evidence"]]
    assert actions.count("node_command.attempt_failed") >= 2 and "contract.provisioning_failed" in actions
    status, alerts = api.call("GET", "/admin/alerts", operator=True)
    mine = [a for a in alerts["alerts"] if a["refs"].get("contract_id") == order["contract_id"]]
    # the drill fails every command of the domain: the zone (R40, once the name is registered) fails too
    assert "provisioning_failed" in [a["kind"] for a in mine]
    assert {a["kind"] for a in mine} <= {"provisioning_failed", "node_command_failed"}
    assert site(stack, "fail-e2e.fr")[0] == 404


def test_bad_signature_is_refused_over_http(stack, api):
    status, order = api.call("POST", "/orders", professional_order(domain_name="e2e-unsigned.fr"))
    payload = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"])
    status, body = post_webhook(stack.api_url, payload, sign(payload, "whsec_not_ours"))
    assert (status, body["error"]["code"]) == (400, "invalid_signature")
    assert api.contract(order["contract_id"])["status"] == "awaiting_payment"
