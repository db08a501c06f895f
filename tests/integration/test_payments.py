"""Payment webhook and consumer (R27, R10, R30, R31): authenticated, enqueued, applied exactly once."""
from __future__ import annotations

import json
import time

import boto3
import pytest

from chalicelib.config import settings
from devstack.pay import payment_succeeded_event, sign
from devstack.runner import scheduled_event
from tests.integration.conftest import queue_messages, sqs_lambda_event


def webhook(client, payload: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    answer = client.http.post("/webhooks/payments", body=payload, headers=headers)
    return answer.status_code, json.loads(answer.body)


def consume_payments(client, payloads: list[bytes]) -> dict:
    event = sqs_lambda_event([p.decode() for p in payloads], "payment-events")
    return client.lambda_.invoke("on_payment_event", event).payload


def table_count(key: str) -> int:
    dynamodb = boto3.client("dynamodb", region_name=settings().region)
    return dynamodb.scan(TableName=settings().table_name(key), Select="COUNT")["Count"]


@pytest.mark.parametrize("signature", [
    None, "garbage", "t=1,v1=deadbeef",
    "wrong-secret",
    "stale",
])
def test_R27_webhook_with_bad_or_stale_signature_is_refused_and_nothing_is_enqueued(client, aws, placed_order,
                                                                                 signature):
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    secret = settings().payment_webhook_secret
    header = {"wrong-secret": sign(payload, "whsec_other"),
              "stale": sign(payload, secret, timestamp=int(time.time()) - 301)}.get(signature, signature)
    status, body = webhook(client, payload, header)
    assert (status, body["error"]["code"]) == (400, "invalid_signature")
    assert queue_messages(aws["queues"]["payment-events"]) == []


def test_R27_webhook_with_valid_signature_only_enqueues(client, aws, placed_order, services):
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    status, body = webhook(client, payload, sign(payload, settings().payment_webhook_secret))
    assert status == 200 and body["received"] is True
    messages = queue_messages(aws["queues"]["payment-events"])
    assert [m["Body"] for m in messages] == [payload.decode()]
    assert messages[0]["MessageAttributes"]["correlation_id"]["StringValue"] == body["event_id"]
    assert services.store.get_invoice(placed_order["invoice"]["id"]).status == "issued"  # applied later, by the consumer


def test_R27_signed_body_that_is_not_a_stripe_event_is_refused(client, aws):
    payload = b'{"hello": "world"}'
    status, body = webhook(client, payload, sign(payload, settings().payment_webhook_secret))
    assert (status, body["error"]["code"]) == (400, "invalid_event")
    assert queue_messages(aws["queues"]["payment-events"]) == []


def test_R27_R31_R30_payment_applied_once_marks_paid_reserves_node_and_sends_one_command(client, aws, placed_order,
                                                                                        services):
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    # The same event delivered three times: in one batch twice, then again later.
    assert consume_payments(client, [payload, payload]) == {"batchItemFailures": []}
    assert consume_payments(client, [payload]) == {"batchItemFailures": []}
    invoice = services.store.get_invoice(placed_order["invoice"]["id"])
    contract = services.store.get_contract(placed_order["contract_id"])
    assert invoice.status == "paid" and invoice.payment_event_id == json.loads(payload)["id"]
    assert contract.status == "provisioning" and contract.node_id == "node-it-1"
    assert services.store.get_order(placed_order["order_id"]).status == "paid"
    node = services.store.get_node("default", "node-it-1")
    assert int(node.free_mb) == 200_000 - int(contract.storage_mb)
    assert table_count("payments") == 1 and table_count("node_commands") == 1
    commands = queue_messages(aws["node_queue"])
    # Copies of an applied event re-send a still-pending command (resume after a crash); the node
    # applies a command id once, so what matters is one command id.
    assert {json.loads(m["Body"])["command_id"] for m in commands} == {contract.command_id}
    body = json.loads(commands[0]["Body"])
    assert (body["type"], body["domain"], body["quota_mb"]) == ("ProvisionSpace", "acme-test.fr",
                                                                 int(contract.storage_mb))
    actions = [e["action"] for e in services.store.evidence_for(contract.customer_id, contract_id=contract.contract_id)]
    assert actions.count("invoice.paid") == 1 and actions.count("contract.provisioning") == 1
    assert actions.count("node_command.issued") == 1
    from chalicelib.service.notices import notices_for_customer
    receipts = [n for n in notices_for_customer(contract.customer_id) if n["template"] == "payment_received"]
    assert len(receipts) == 1 and receipts[0]["to"] == "contact@acme.fr"  # R54: one receipt, to the billing email


def test_R27_amount_mismatch_is_recorded_flagged_and_activates_nothing(client, aws, placed_order, services):
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"] - 1)
    assert consume_payments(client, [payload, payload]) == {"batchItemFailures": []}
    assert services.store.get_invoice(placed_order["invoice"]["id"]).status == "issued"
    assert services.store.get_contract(placed_order["contract_id"]).status == "awaiting_payment"
    payment = services.store.get_payment(json.loads(payload)["id"])
    assert payment.outcome == "amount_mismatch" and int(payment.amount_cents) == placed_order["invoice"]["total_cents"] - 1
    alerts = services.store.open_alerts()
    assert [a["kind"] for a in alerts] == ["payment_amount_mismatch"]
    assert queue_messages(aws["node_queue"]) == []


def test_R27_unknown_invoice_is_recorded_and_alerted(client, aws, services):
    payload = payment_succeeded_event("inv_does_not_exist", 1000)
    assert consume_payments(client, [payload]) == {"batchItemFailures": []}
    assert services.store.get_payment(json.loads(payload)["id"]).outcome == "unknown_invoice"
    assert [a["kind"] for a in services.store.open_alerts()] == ["payment_unknown_invoice"]


def test_R27_a_second_distinct_payment_for_a_paid_invoice_is_flagged_for_refund(client, aws, placed_order, services):
    first = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    second = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    consume_payments(client, [first])
    consume_payments(client, [second])
    assert services.store.get_payment(json.loads(second)["id"]).outcome == "duplicate_payment"
    assert [a["kind"] for a in services.store.open_alerts()] == ["payment_duplicate_payment"]
    assert table_count("node_commands") == 1


def test_R27_other_event_types_change_nothing(client, aws, placed_order, services):
    payload = json.loads(payment_succeeded_event(placed_order["invoice"]["id"], 1))
    payload["type"] = "payment_intent.created"
    assert consume_payments(client, [json.dumps(payload).encode()]) == {"batchItemFailures": []}
    assert table_count("payments") == 0


def test_R27_crash_between_payment_write_and_send_resumes_on_redelivery(client, aws, placed_order, services):
    """The queue send fails after the transaction committed: the record is reported failed, the
    redelivered copy finds the event applied and sends the still-pending command."""
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    real_send = services.queues.send
    services.queues.send = lambda **kwargs: (_ for _ in ()).throw(ConnectionError("SQS unreachable"))
    event = sqs_lambda_event([payload.decode()], "payment-events")
    failures = client.lambda_.invoke("on_payment_event", event).payload["batchItemFailures"]
    assert failures == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    assert queue_messages(aws["node_queue"]) == []
    services.queues.send = real_send
    assert consume_payments(client, [payload]) == {"batchItemFailures": []}
    contract = services.store.get_contract(placed_order["contract_id"])
    assert [json.loads(m["Body"])["command_id"] for m in queue_messages(aws["node_queue"])] == [contract.command_id]
    assert table_count("payments") == 1


def test_R30_pending_commands_are_redispatched_by_the_schedule(client, aws, placed_order, services, clock):
    from datetime import timedelta
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    consume_payments(client, [payload])
    assert len(queue_messages(aws["node_queue"])) == 1
    tick = scheduled_event("redispatch_pending_commands", clock.now(), "eu-west-3")
    assert client.lambda_.invoke("redispatch_pending_commands", tick).payload == {"redispatched": 0}
    clock.advance(timedelta(seconds=services.settings.command_redispatch_after_seconds + 1))
    assert client.lambda_.invoke("redispatch_pending_commands", tick).payload == {"redispatched": 1}
    assert len(queue_messages(aws["node_queue"])) == 1


def test_R15_R31_no_node_with_capacity_cancels_the_order_with_a_credit_note(client, aws, placed_order, services):
    from chalicelib.adapters.models import DomainModel, NodeModel
    from chalicelib.service.notices import notices_for_customer
    NodeModel(pool="default", node_id="node-it-1").update(actions=[NodeModel.free_mb.set(10)])
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    assert consume_payments(client, [payload, payload]) == {"batchItemFailures": []}
    invoice = services.store.get_invoice(placed_order["invoice"]["id"])
    note = services.store.get_invoice(invoice.credited_by)
    assert invoice.status == "paid" and (note.kind, note.number, note.reason) == (
        "credit_note", "F00000002", "initial_unavailability")
    assert int(note.total_cents) == -placed_order["invoice"]["total_cents"]  # the sum paid becomes a credit
    assert services.store.get_contract(placed_order["contract_id"]).status == "cancelled"
    assert services.store.get_order(placed_order["order_id"]).status == "cancelled"
    assert services.store.get_payment(json.loads(payload)["id"]).outcome == "credited"
    assert queue_messages(aws["node_queue"]) == [] and table_count("node_commands") == 0
    assert [a["kind"] for a in services.store.open_alerts()] == ["initial_unavailability"]
    assert [n["template"] for n in notices_for_customer(invoice.customer_id)] == ["invoice_issued", "order_cancelled"]
    with pytest.raises(DomainModel.DoesNotExist):
        DomainModel.get("acme-test.fr")  # the domain can be ordered again


def test_R31_drained_node_gets_no_placement(client, aws, placed_order, services):
    from chalicelib.adapters.models import NodeModel
    from devstack.resources import register_node
    NodeModel(pool="default", node_id="node-it-1").update(actions=[NodeModel.drained.set(True)])
    register_node(settings(), "node-it-2", capacity_mb=50_000, http_address="http://127.0.0.1:2")
    consume_payments(client, [payment_succeeded_event(placed_order["invoice"]["id"],
                                                      placed_order["invoice"]["total_cents"])])
    assert services.store.get_contract(placed_order["contract_id"]).node_id == "node-it-2"


def test_R31_a_stale_node_cache_never_places_on_a_node_that_was_drained_meanwhile(client, aws, placed_order,
                                                                                  services):
    from chalicelib.adapters.models import NodeModel
    from devstack.resources import register_node
    assert [n.node_id for n in services.store.nodes_for_placement("default")] == ["node-it-1"]  # cache warm
    NodeModel(pool="default", node_id="node-it-1").update(actions=[NodeModel.drained.set(True)])
    register_node(settings(), "node-it-2", capacity_mb=50_000, http_address="http://127.0.0.1:2")
    consume_payments(client, [payment_succeeded_event(placed_order["invoice"]["id"],
                                                      placed_order["invoice"]["total_cents"])])
    contract = services.store.get_contract(placed_order["contract_id"])
    assert (contract.status, contract.node_id) == ("provisioning", "node-it-2")
    assert int(services.store.get_node("default", "node-it-1").free_mb) == 200_000


def test_R27_metadata_naming_the_contract_reads_both_in_one_call_and_must_match(client, aws, placed_order,
                                                                               services):
    invoice = placed_order["invoice"]
    wrong = payment_succeeded_event(invoice["id"], invoice["total_cents"], contract_id="ctr_someone_else")
    consume_payments(client, [wrong])
    assert services.store.get_payment(json.loads(wrong)["id"]).outcome == "unknown_invoice"
    assert services.store.get_invoice(invoice["id"]).status == "issued"
    right = payment_succeeded_event(invoice["id"], invoice["total_cents"], contract_id=placed_order["contract_id"])
    consume_payments(client, [right, right])
    assert services.store.get_contract(placed_order["contract_id"]).status == "provisioning"
    assert services.store.get_payment(json.loads(right)["id"]).outcome == "applied"
