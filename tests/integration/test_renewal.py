"""R18 renewal: a new order for the same space, starting at the old end date with no gap."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from chalicelib.adapters.models import DomainModel
from chalicelib.config import settings
from chalicelib.domain.calendar import PARIS
from devstack.pay import payment_succeeded_event
from tests.integration.conftest import queue_messages, sqs_lambda_event
from tests.integration.test_lifecycle import active, move_to, run_timers  # noqa: F401  (fixture)

AUTH = {"Authorization": f"Bearer {settings().operator_api_key}", "Content-Type": "application/json"}
ACCEPT = {"terms": {"version": "2026-09", "accepted": True}, "channel": "email"}


def renew(client, contract_id, body=ACCEPT, headers=AUTH):
    answer = client.http.post(f"/admin/contracts/{contract_id}/renewal", body=json.dumps(body), headers=headers)
    return answer.status_code, json.loads(answer.body)


def pay(client, order):
    payload = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"],
                                      contract_id=order["contract_id"])
    for _ in range(2):  # delivered twice: applied once (R27)
        client.lambda_.invoke("on_payment_event", sqs_lambda_event([payload.decode()]))


def test_R18_renewal_order_starts_at_the_old_end_date_and_is_accepted_once(client, aws, active, services):
    status, renewal = renew(client, active["contract_id"])
    assert status == 201 and renewal["status"] == "awaiting_payment"
    assert renewal["invoice"]["number"] == "F00000002" and renewal["invoice"]["total_cents"] == 8626
    contract = services.store.get_contract(renewal["contract_id"])
    assert (contract.starts_on, contract.ends_on) == ("2027-11-27", "2028-11-27")
    assert contract.renews_contract_id == active["contract_id"] and contract.node_id == "node-it-1"
    again_status, again = renew(client, active["contract_id"])
    assert (again_status, again) == (200, renewal)


def test_R18_paid_renewal_takes_over_at_the_end_without_suspension_or_reprovisioning(client, aws, active, services,
                                                                                    clock):
    _, renewal = renew(client, active["contract_id"])
    pay(client, renewal)
    assert services.store.get_contract(renewal["contract_id"]).status == "scheduled"
    assert queue_messages(aws["node_queue"]) == []  # no provisioning for a renewal
    move_to(clock, "2027-11-27T00:00")
    assert "contract_end" in run_timers(client, aws, services)
    assert services.store.get_contract(active["contract_id"]).status == "renewed"
    assert services.store.get_contract(renewal["contract_id"]).status == "active"
    assert queue_messages(aws["node_queue"]) == []  # no SuspendSpace: the site never stops
    assert DomainModel.get("acme-test.fr").contract_id == renewal["contract_id"]
    end = services.store.get_timer(f"contract_end#{renewal['contract_id']}")
    assert datetime.fromisoformat(end.due_at) == datetime(2028, 11, 27, tzinfo=PARIS)
    customer = services.store.get_contract(renewal["contract_id"]).customer_id
    actions = [e["action"] for e in services.store.evidence_for(customer)]
    assert actions.count("contract.renewed") == 1 and actions.count("contract.active") == 2
    assert "contract.expired" not in actions


def test_R18_R19_an_unpaid_renewal_leaves_the_contract_to_expire(client, aws, active, services, clock):
    renew(client, active["contract_id"])
    move_to(clock, "2027-11-27T00:00")
    run_timers(client, aws, services)
    assert services.store.get_contract(active["contract_id"]).status == "expired"
    assert [json.loads(m["Body"])["type"] for m in queue_messages(aws["node_queue"])] == ["SuspendSpace"]


def test_R18_a_renewal_paid_after_expiry_restores_the_space_and_cancels_the_deletion(client, aws, active, services,
                                                                                    clock):
    _, renewal = renew(client, active["contract_id"])
    move_to(clock, "2027-11-27T00:00")
    run_timers(client, aws, services)
    queue_messages(aws["node_queue"])
    move_to(clock, "2027-12-02T10:00")
    pay(client, renewal)
    assert services.store.get_contract(renewal["contract_id"]).status == "active"
    assert services.store.get_contract(active["contract_id"]).status == "renewed"
    [command] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    # The node knows the space by the contract that created it.
    assert (command["type"], command["contract_id"]) == ("UnsuspendSpace", active["contract_id"])
    assert services.store.get_timer(f"data_deletion#{active['contract_id']}").state == "cancelled"
    move_to(clock, "2027-12-28T00:00")
    assert "data_deletion" not in run_timers(client, aws, services)


@pytest.mark.parametrize("body, status, code", [
    ({"terms": {"version": "2026-09", "accepted": False}, "channel": "email"}, 422, "terms_not_accepted"),
    ({"terms": {"version": "2019-01", "accepted": True}, "channel": "email"}, 422, "terms_version_mismatch"),
    ({"channel": "email"}, 400, "invalid_renewal"),
    ({"terms": {"version": "2026-09", "accepted": True}, "channel": "pigeon"}, 400, "invalid_renewal"),
])
def test_R18_bad_renewal_requests_are_refused_and_store_nothing(client, aws, active, services, body, status, code):
    got = renew(client, active["contract_id"], body)
    assert (got[0], got[1]["error"]["code"]) == (status, code)
    assert services.store.get_contract(active["contract_id"]).renewal_contract_id is None


def test_R18_only_an_active_contract_is_renewed(client, aws, placed_order):
    assert renew(client, placed_order["contract_id"])[1]["error"]["code"] == "not_renewable"
    assert renew(client, "ctr_nope")[0] == 404
    assert renew(client, placed_order["contract_id"], headers={"Content-Type": "application/json"})[0] == 401
