"""A yearly contract over time with real timers (R16, R17, R19, R20, R54, R56)."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from chalicelib.contracts.node_messages import CommandApplied, SpaceProvisioned
from chalicelib.domain.calendar import PARIS
from chalicelib.service import timers
from devstack.pay import payment_succeeded_event
from tests.integration.conftest import NODE_ID, queue_messages, sqs_lambda_event


@pytest.fixture
def active(client, aws, placed_order, services, clock):
    """A contract concluded 2026-11-27, paid and provisioned: it ends 2027-11-27 00:00 Paris."""
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    client.lambda_.invoke("on_payment_event", sqs_lambda_event([payload.decode()]))
    [command] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    done = SpaceProvisioned(node_id=NODE_ID, command_id=command["command_id"], contract_id=placed_order["contract_id"],
                            domain="acme-test.fr", completed_at=clock.now())
    client.lambda_.invoke("on_node_result", sqs_lambda_event([done.model_dump_json()]))
    assert services.store.get_contract(placed_order["contract_id"]).status == "active"
    return placed_order


def run_timers(client, aws, services) -> list[str]:
    """One sweep, then the timers consumer on what it sent; returns the kinds that fired, except
    the domain's registry operations (issue 4, tested in test_domain_flows.py): the first payment
    starts the name's registration, a timer these contract tests do not look at."""
    timers.sweep(services)
    bodies = [m["Body"] for m in queue_messages(aws["queues"]["timers"])]
    if bodies:
        assert client.lambda_.invoke("on_timer", sqs_lambda_event(bodies)).payload == {"batchItemFailures": []}
    return sorted(kind for kind in (json.loads(b)["timer_id"].split("#")[0] for b in bodies)
                  if not kind.startswith("domain_"))


def move_to(clock, paris_text: str) -> None:
    clock.move_to(datetime.fromisoformat(paris_text).replace(tzinfo=PARIS))


def notices(services, contract_id: str) -> list[str]:
    from chalicelib.adapters.models import NoticeModel
    return sorted(n.template for n in NoticeModel.scan(NoticeModel.contract_id == contract_id))


def node_commands(aws) -> list[str]:
    return [json.loads(m["Body"])["type"] for m in queue_messages(aws["node_queue"])]


def test_R17_expiry_notice_is_due_60_days_before_the_end_and_sent_once(client, aws, active, services, clock):
    contract_end = services.store.get_timer(f"contract_end#{active['contract_id']}")
    notice = services.store.get_timer(f"expiry_notice#{active['contract_id']}")
    assert datetime.fromisoformat(contract_end.due_at) == datetime(2027, 11, 27, tzinfo=PARIS)
    assert datetime.fromisoformat(notice.due_at) == datetime(2027, 9, 28, 9, 0, tzinfo=PARIS)
    assert (datetime(2027, 11, 27, tzinfo=PARIS) - datetime.fromisoformat(notice.due_at)).days > 45
    move_to(clock, "2027-09-28T08:59")
    assert run_timers(client, aws, services) == []
    move_to(clock, "2027-09-28T09:00")
    assert run_timers(client, aws, services) == ["expiry_notice"]
    assert run_timers(client, aws, services) == []  # the daily job running twice sends nothing more
    assert notices(services, active["contract_id"]) == ["expiry_notice", "invoice_issued", "payment_received",
                                                        "space_ready"]


def test_R19_R20_unrenewed_contract_is_suspended_at_the_end_then_warned_then_deleted(client, aws, active, services,
                                                                                  clock):
    contract_id = active["contract_id"]
    move_to(clock, "2027-11-26T23:59")
    assert "contract_end" not in run_timers(client, aws, services)
    node_commands(aws)
    move_to(clock, "2027-11-27T00:00")
    assert run_timers(client, aws, services) == ["contract_end"]
    assert services.store.get_contract(contract_id).status == "expired"
    assert node_commands(aws) == ["SuspendSpace"]  # suspension alone never deletes (R20)
    warning = services.store.get_timer(f"deletion_warning#{contract_id}")
    deletion = services.store.get_timer(f"data_deletion#{contract_id}")
    assert datetime.fromisoformat(deletion.due_at) == datetime(2027, 12, 27, tzinfo=PARIS)
    assert datetime.fromisoformat(warning.due_at) == datetime(2027, 12, 20, tzinfo=PARIS)
    move_to(clock, "2027-12-20T00:00")
    assert run_timers(client, aws, services) == ["deletion_warning"]
    assert node_commands(aws) == []
    move_to(clock, "2027-12-27T00:00")
    assert run_timers(client, aws, services) == ["data_deletion"]
    [delete] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    assert delete["type"] == "DeleteSpaceData"
    assert services.store.get_contract(contract_id).status == "expired"  # not deleted until the node confirms
    confirmed = CommandApplied(node_id=NODE_ID, command_id=delete["command_id"], command_type="DeleteSpaceData",
                               contract_id=contract_id, domain="acme-test.fr", completed_at=clock.now())
    for _ in range(2):
        client.lambda_.invoke("on_node_result", sqs_lambda_event([confirmed.model_dump_json()]))
    assert services.store.get_contract(contract_id).status == "data_deleted"
    assert notices(services, contract_id) == ["contract_suspended", "data_deleted", "deletion_warning",
                                              "invoice_issued", "payment_received", "space_ready"]
    contract = services.store.get_contract(contract_id)
    actions = [e["action"] for e in services.store.evidence_for(contract.customer_id, contract_id=contract_id)]
    assert actions.count("contract.expired") == 1 and actions.count("contract.data_deleted") == 1


def test_R19_a_sweep_that_was_down_catches_up_every_missed_deadline_in_order(client, aws, active, services, clock):
    timers.sweep(services)
    move_to(clock, "2027-12-28T12:00")  # nothing ran for more than a year
    assert run_timers(client, aws, services) == ["contract_end", "expiry_notice", "order_expiry"]
    assert services.store.get_contract(active["contract_id"]).status == "expired"
    # The end scheduled retention timers already past: they fire on the next sweep.
    assert run_timers(client, aws, services) == ["data_deletion", "deletion_warning"]


def test_R30_suspend_command_confirmation_is_recorded(client, aws, active, services, clock):
    move_to(clock, "2027-11-27T00:00")
    run_timers(client, aws, services)
    [suspend] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"]) if "SuspendSpace" in m["Body"]]
    applied = CommandApplied(node_id=NODE_ID, command_id=suspend["command_id"], command_type="SuspendSpace",
                             contract_id=active["contract_id"], domain="acme-test.fr", completed_at=clock.now())
    client.lambda_.invoke("on_node_result", sqs_lambda_event([applied.model_dump_json()]))
    assert services.store.get_command(suspend["command_id"]).status == "succeeded"
    assert services.store.get_contract(active["contract_id"]).status == "expired"
