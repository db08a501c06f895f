"""Node results and dead letters (R30): the contract shows pending, active or failed, never a silent success."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from chalicelib.contracts.node_messages import CommandFailed, NodeHeartbeat, SpaceProvisioned
from devstack.pay import payment_succeeded_event
from tests.integration.conftest import NODE_ID, queue_messages, sqs_lambda_event

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def paid(client, aws, placed_order, services):
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    client.lambda_.invoke("on_payment_event", sqs_lambda_event([payload.decode()]))
    command = json.loads(queue_messages(aws["node_queue"])[0]["Body"])
    return {**placed_order, "command": command}


def results(client, *messages) -> dict:
    return client.lambda_.invoke("on_node_result", sqs_lambda_event([m.model_dump_json() for m in messages])).payload


def provisioned(paid) -> SpaceProvisioned:
    return SpaceProvisioned(node_id=NODE_ID, command_id=paid["command"]["command_id"],
                            contract_id=paid["contract_id"], domain="acme-test.fr", completed_at=NOW)


def failed(paid, attempt: int) -> CommandFailed:
    return CommandFailed(node_id=NODE_ID, command_id=paid["command"]["command_id"], contract_id=paid["contract_id"],
                         error="disk full", attempt=attempt, failed_at=NOW)


def dead_letter(client, paid) -> dict:
    return client.lambda_.invoke("on_node_command_dead_letter",
                                 sqs_lambda_event([json.dumps(paid["command"])])).payload


def evidence_actions(services, contract_id):
    contract = services.store.get_contract(contract_id)
    return [e["action"] for e in services.store.evidence_for(contract.customer_id, contract_id=contract_id)]


def test_R30_space_provisioned_makes_the_contract_active_once(client, paid, services):
    assert results(client, provisioned(paid), provisioned(paid)) == {"batchItemFailures": []}
    assert results(client, provisioned(paid)) == {"batchItemFailures": []}
    contract = services.store.get_contract(paid["contract_id"])
    assert contract.status == "active"
    assert services.store.get_command(paid["command"]["command_id"]).status == "succeeded"
    assert evidence_actions(services, paid["contract_id"]).count("contract.active") == 1


def test_R30_a_failed_try_is_recorded_and_the_contract_stays_provisioning(client, paid, services):
    results(client, failed(paid, 1), failed(paid, 1), failed(paid, 2))
    command = services.store.get_command(paid["command"]["command_id"])
    assert (command.status, int(command.attempts), command.last_error) == ("pending", 2, "disk full")
    assert services.store.get_contract(paid["contract_id"]).status == "provisioning"
    assert evidence_actions(services, paid["contract_id"]).count("node_command.attempt_failed") == 2


def test_R30_dead_lettered_command_fails_the_contract_and_alerts_operators_once(client, paid, services):
    results(client, failed(paid, 3))
    assert dead_letter(client, paid) == {"batchItemFailures": []}
    assert dead_letter(client, paid) == {"batchItemFailures": []}
    contract = services.store.get_contract(paid["contract_id"])
    assert (contract.status, contract.last_error) == ("provisioning_failed", "disk full")
    alerts = services.store.open_alerts()
    assert [a["kind"] for a in alerts] == ["provisioning_failed"]
    assert alerts[0]["refs"]["contract_id"] == paid["contract_id"]
    assert evidence_actions(services, paid["contract_id"]).count("contract.provisioning_failed") == 1


def test_R30_out_of_order_dead_letter_after_success_changes_nothing(client, paid, services):
    results(client, provisioned(paid))
    dead_letter(client, paid)
    assert services.store.get_contract(paid["contract_id"]).status == "active"
    assert services.store.open_alerts() == []


def test_R30_late_success_after_dead_letter_activates_the_contract(client, paid, services):
    dead_letter(client, paid)
    results(client, provisioned(paid))
    assert services.store.get_contract(paid["contract_id"]).status == "active"


def test_R30_results_for_unknown_commands_are_ignored(client, paid, services):
    stranger = SpaceProvisioned(node_id=NODE_ID, command_id="cmd_unknown", contract_id=paid["contract_id"],
                                domain="acme-test.fr", completed_at=NOW)
    assert results(client, stranger) == {"batchItemFailures": []}
    assert services.store.get_contract(paid["contract_id"]).status == "provisioning"


def test_R30_unreadable_result_is_reported_as_a_batch_failure_so_it_reaches_the_dlq(client, paid):
    event = sqs_lambda_event(['{"type": "Nonsense"}', provisioned(paid).model_dump_json()])
    payload = client.lambda_.invoke("on_node_result", event).payload
    assert payload == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_node_heartbeat_updates_last_seen(client, aws, services):
    results(client, NodeHeartbeat(node_id=NODE_ID, sent_at=NOW, http_address="http://127.0.0.1:9", sites=0))
    node = services.store.get_node("default", NODE_ID)
    assert node.last_seen_at.startswith("2026-11-27T10:00") and node.http_address == "http://127.0.0.1:9"


def test_heartbeat_of_an_unregistered_node_is_ignored(client, aws, services):
    assert results(client, NodeHeartbeat(node_id="ghost", sent_at=NOW, sites=0)) == {"batchItemFailures": []}
    assert services.store.get_node("default", "ghost") is None


def test_R30_an_unreadable_dead_letter_becomes_an_operator_alert_instead_of_looping(client, aws, services):
    event = sqs_lambda_event(['{"type": "ProvisionSpace", "garbled": true}'])
    payload = client.lambda_.invoke("on_node_command_dead_letter", event).payload
    assert payload == {"batchItemFailures": []}
    [alert] = services.store.open_alerts()
    assert alert["kind"] == "unreadable_dead_letter" and "garbled" in alert["refs"]["body"]


def retry(client, contract_id, key=None):
    from chalicelib.config import settings
    answer = client.http.post(f"/admin/contracts/{contract_id}/retry-provisioning",
                              headers={"Authorization": key or f"Bearer {settings().operator_api_key}"})
    return answer.status_code, json.loads(answer.body)


def test_R30_operator_retry_sends_a_new_command_for_a_failed_contract_only(client, aws, paid, services):
    status, body = retry(client, paid["contract_id"])
    assert (status, body["error"]["code"]) == (409, "illegal_transition")  # still provisioning: nothing to retry
    dead_letter(client, paid)
    assert retry(client, paid["contract_id"], key="Bearer nope")[0] == 401
    status, body = retry(client, paid["contract_id"])
    assert status == 202 and body["status"] == "provisioning"
    assert body["command_id"] != paid["command"]["command_id"]
    [sent] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    assert (sent["command_id"], sent["domain"], sent["node_id"]) == (body["command_id"], "acme-test.fr", NODE_ID)
    contract = services.store.get_contract(paid["contract_id"])
    assert (contract.status, contract.command_id, contract.last_error) == ("provisioning", body["command_id"], None)
    results(client, SpaceProvisioned(node_id=NODE_ID, command_id=body["command_id"], contract_id=paid["contract_id"],
                                     domain="acme-test.fr", completed_at=NOW))
    assert services.store.get_contract(paid["contract_id"]).status == "active"
    assert "contract.provisioning_retried" in evidence_actions(services, paid["contract_id"])


def test_R30_retrying_an_unknown_contract_is_404(client, aws):
    status, body = retry(client, "ctr_nope")
    assert (status, body["error"]["code"]) == (404, "contract_not_found")
