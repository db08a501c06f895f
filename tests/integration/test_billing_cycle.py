"""A monthly contract over time with real timers, payments and node commands: R21 (monthly
instalments), R22 (their numbers), R23 (restricted at the due date, suspended at D+7, lifted at
once by the payment), R24 (penalty invoice), R25 (bad payer rows), R26 (termination after a
persistent default, renewal refused)."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from chalicelib.adapters.dynamo_store import Effect
from chalicelib.adapters.models import MetaModel
from chalicelib.config import settings
from chalicelib.contracts.node_messages import SpaceProvisioned
from chalicelib.domain.calendar import PARIS, late_penalty_cents
from chalicelib.service import timers
from chalicelib.service.lifecycle import set_hold
from devstack.pay import payment_succeeded_event
from tests.helpers import consumer_order, professional_order
from tests.integration.conftest import NODE_ID, queue_messages, sqs_lambda_event
from tests.integration.test_lifecycle import move_to, node_commands, notices, run_timers

AUTH = {"Authorization": f"Bearer {settings().operator_api_key}", "Content-Type": "application/json"}
RATE = settings().late_penalty_rate_percent
MONTH_3_DUE = date(2027, 1, 27)  # the contract starts 2026-11-27: month 3 is [2027-01-27, 2027-02-27)


def place_and_activate(client, aws, services, clock, body: dict) -> dict:
    answer = client.http.post("/orders", body=json.dumps(body), headers={"Content-Type": "application/json"})
    assert answer.status_code == 201, answer.body
    order = json.loads(answer.body)
    pay(client, order["invoice"]["id"], order["invoice"]["total_cents"], order["contract_id"])
    [command] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    done = SpaceProvisioned(node_id=NODE_ID, command_id=command["command_id"], contract_id=order["contract_id"],
                            domain=body["domain"]["name"], completed_at=clock.now())
    client.lambda_.invoke("on_node_result", sqs_lambda_event([done.model_dump_json()]))
    assert services.store.get_contract(order["contract_id"]).status == "active"
    return order


@pytest.fixture
def monthly(client, aws, services, clock):
    """A professional's monthly contract concluded 2026-11-27 (Paris), month 1 paid, space active."""
    return place_and_activate(client, aws, services, clock, professional_order(billing_period="monthly"))


def pay(client, invoice_id: str, amount: int, contract_id: str, times: int = 1) -> bytes:
    payload = payment_succeeded_event(invoice_id, amount, contract_id=contract_id)
    for _ in range(times):
        answer = client.lambda_.invoke("on_payment_event", sqs_lambda_event([payload.decode()]))
        assert answer.payload == {"batchItemFailures": []}
    return payload


def instalments(services, contract_id: str) -> dict[int, object]:
    return {int(i.details["instalment"]): i for i in services.store.invoices_of_contract(contract_id)
            if i.purpose == "period"}


def invoices_of(services, contract_id: str, purpose: str) -> list:
    return [i for i in services.store.invoices_of_contract(contract_id) if i.purpose == purpose]


def to_month_3_unpaid(client, aws, services, clock, contract_id: str):
    """Month 2 issued and paid on time, month 3 issued (2027-01-17) and left unpaid."""
    move_to(clock, "2026-12-17T00:00")
    assert "invoice_period" in run_timers(client, aws, services)
    month_2 = instalments(services, contract_id)[2]
    pay(client, month_2.invoice_id, int(month_2.total_cents), contract_id)
    move_to(clock, "2027-01-17T00:00")
    assert "invoice_period" in run_timers(client, aws, services)
    node_commands(aws)  # drain
    return instalments(services, contract_id)[3]


def test_R21_R22_a_monthly_order_bills_month_1_then_each_month_on_its_own_invoice(client, aws, monthly, services,
                                                                                  clock):
    contract_id = monthly["contract_id"]
    contract = services.store.get_contract(contract_id)
    assert (contract.billing_period, contract.starts_on, contract.ends_on) == ("monthly", "2026-11-27", "2027-11-27")
    assert services.store.get_order(monthly["order_id"]).billing_period == "monthly"
    first = services.store.get_invoice(monthly["invoice"]["id"])
    assert (first.period_start, first.period_end, int(first.total_cents)) == ("2026-11-27", "2026-12-27", 719)
    timer = services.store.get_timer(f"invoice_period#{contract_id}#2")
    assert datetime.fromisoformat(timer.due_at) == datetime(2026, 12, 17, tzinfo=PARIS)  # 10 days before month 2

    move_to(clock, "2026-12-16T23:59")
    assert "invoice_period" not in run_timers(client, aws, services)
    move_to(clock, "2026-12-17T00:00")
    assert run_timers(client, aws, services) == ["invoice_period"]
    month_2 = instalments(services, contract_id)[2]
    assert (month_2.number, month_2.issue_date, month_2.due_date) == ("F00000002", "2026-12-17", "2026-12-27")
    assert (month_2.period_start, month_2.period_end) == ("2026-12-27", "2027-01-27")
    assert [(l["code"], l["unit_cents"]) for l in month_2.lines] == [("plan:soho-start", 499), ("option:antivirus", 100)]
    assert (int(month_2.subtotal_cents), month_2.vat_rate, int(month_2.vat_cents), int(month_2.total_cents)) == (
        599, "0.20", 120, 719)
    assert Decimal(month_2.late_penalty_rate_percent) == RATE and int(month_2.recovery_indemnity_cents) == 4000
    restrict = services.store.get_timer(f"overdue_restrict#{month_2.invoice_id}")
    suspend = services.store.get_timer(f"overdue_suspend#{month_2.invoice_id}")
    assert datetime.fromisoformat(restrict.due_at) == datetime(2026, 12, 27, tzinfo=PARIS)
    assert datetime.fromisoformat(suspend.due_at) == datetime(2027, 1, 3, tzinfo=PARIS)
    assert run_timers(client, aws, services) == []  # fired once

    pay(client, month_2.invoice_id, 719, contract_id)  # on time: no penalty, nothing changes on the node
    move_to(clock, "2026-12-27T00:00")
    assert run_timers(client, aws, services) == ["overdue_restrict"]  # paid: a no-op
    move_to(clock, "2027-01-17T00:00")
    assert run_timers(client, aws, services) == ["invoice_period", "order_expiry", "overdue_suspend"]  # paid: no-ops
    month_3 = instalments(services, contract_id)[3]
    assert (month_3.number, month_3.due_date, month_3.period_start, month_3.period_end) == (
        "F00000003", "2027-01-27", "2027-01-27", "2027-02-27")
    assert services.store.get_contract(contract_id).status == "active"
    assert node_commands(aws) == []
    assert invoices_of(services, contract_id, "penalty") == []
    assert notices(services, contract_id).count("invoice_issued") == 3
    assert services.store.get_timer(f"invoice_period#{contract_id}#4") is not None


def test_R23_R24_R25_unpaid_month_is_restricted_then_suspended_and_restored_at_once_by_a_late_payment(
        client, aws, monthly, services, clock):
    contract_id = monthly["contract_id"]
    month_3 = to_month_3_unpaid(client, aws, services, clock, contract_id)

    move_to(clock, "2027-01-26T23:59")
    run_timers(client, aws, services)
    assert services.store.get_contract(contract_id).status == "active"
    move_to(clock, "2027-01-27T00:00")  # R23: D+0, 00:00 Paris
    assert run_timers(client, aws, services) == ["overdue_restrict"]
    contract = services.store.get_contract(contract_id)
    assert (contract.status, contract.holds) == ("restricted", {"non_payment": "restricted"})
    [command] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    # R23: uploads and outgoing mail are blocked, as the restriction notice tells the customer
    assert (command["type"], command["block_outgoing_mail"]) == ("RestrictSpace", True)
    assert "contract_restricted" in notices(services, contract_id)
    # R25: the customer is recorded as a bad payer, by email and SIREN.
    assert MetaModel.get("bad_payer#email:contact@acme.fr").text == month_3.number
    assert MetaModel.get("bad_payer#siren:732829320").text == month_3.number

    move_to(clock, "2027-02-02T23:59")
    assert run_timers(client, aws, services) == []
    move_to(clock, "2027-02-03T00:00")  # R23: D+7
    assert run_timers(client, aws, services) == ["overdue_suspend"]
    contract = services.store.get_contract(contract_id)
    assert (contract.status, contract.holds) == ("suspended", {"non_payment": "suspended"})
    assert node_commands(aws) == ["SuspendSpace"]
    assert "contract_suspended" in notices(services, contract_id)
    termination = services.store.get_timer(f"default_termination#{month_3.invoice_id}")
    assert datetime.fromisoformat(termination.due_at) == datetime(2027, 3, 5, tzinfo=PARIS)  # R26: D+7+30

    move_to(clock, "2027-02-05T14:00")  # D+9
    view = json.loads(client.http.get(f"/admin/invoices/{month_3.invoice_id}", headers=AUTH).body)
    assert (view["purpose"], view["period_start"], view["days_late"]) == ("period", "2027-01-27", 9)
    assert view["accrued_penalty_cents"] == late_penalty_cents(719, RATE, MONTH_3_DUE, date(2027, 2, 5), False)

    pay(client, month_3.invoice_id, 719, contract_id, times=2)  # delivered twice (R27)
    contract = services.store.get_contract(contract_id)
    assert (contract.status, contract.holds) == ("active", {})  # R23: lifted at once
    assert node_commands(aws) == ["UnsuspendSpace"]
    [penalty] = invoices_of(services, contract_id, "penalty")  # R24: exactly once
    expected = late_penalty_cents(719, RATE, MONTH_3_DUE, date(2027, 2, 5), False) + 4000
    assert expected == late_penalty_cents(719, RATE, MONTH_3_DUE, date(2027, 2, 5), True)
    assert (int(penalty.total_cents), int(penalty.vat_cents), penalty.vat_rate) == (expected, 0, "0")
    assert (penalty.penalty_of, penalty.due_date, penalty.number) == (month_3.invoice_id, "2027-02-05", "F00000004")
    assert [line["description"] for line in penalty.lines] == [
        "Pénalités de retard : 9 jours au taux annuel 19,95 %", "Indemnité forfaitaire pour frais de recouvrement"]
    from chalicelib.adapters.models import NoticeModel
    receipt = NoticeModel.get(f"payment_received#{month_3.invoice_id}")
    assert receipt.context["service_restored"] is True
    assert NoticeModel.get(f"invoice_issued#{penalty.invoice_id}").recipient == "contact@acme.fr"

    # The deadlines still pending for the paid invoice do nothing.
    assert timers.fire(f"default_termination#{month_3.invoice_id}", services) == "fired"
    assert services.store.get_contract(contract_id).status == "active"
    # R24: a penalty invoice is paid like any other, with no hold logic.
    pay(client, penalty.invoice_id, expected, contract_id)
    assert services.store.get_invoice(penalty.invoice_id).status == "paid"
    assert len(invoices_of(services, contract_id, "penalty")) == 1
    customer = services.store.get_contract(contract_id).customer_id
    actions = [e["action"] for e in services.store.evidence_for(customer, contract_id=contract_id)]
    assert actions.count("contract.hold.set") == 2 and actions.count("contract.hold.lifted") == 1


def test_R23_a_consumer_paying_late_owes_interest_only_and_a_payment_on_the_due_date_owes_nothing(
        client, aws, services, clock):
    order = place_and_activate(client, aws, services, clock, consumer_order(billing_period="monthly"))
    contract_id = order["contract_id"]
    move_to(clock, "2026-12-17T00:00")
    run_timers(client, aws, services)
    month_2 = instalments(services, contract_id)[2]
    move_to(clock, "2026-12-27T15:00")  # on the due date: restricted since 00:00, no penalty yet
    run_timers(client, aws, services)
    assert services.store.get_contract(contract_id).status == "restricted"
    pay(client, month_2.invoice_id, 719, contract_id)
    assert services.store.get_contract(contract_id).status == "active"
    assert invoices_of(services, contract_id, "penalty") == []
    move_to(clock, "2027-01-17T00:00")
    run_timers(client, aws, services)
    month_3 = instalments(services, contract_id)[3]
    move_to(clock, "2027-01-27T00:00")
    run_timers(client, aws, services)
    move_to(clock, "2027-02-20T10:00")  # 24 days late: interest only (a consumer owes no indemnity)
    pay(client, month_3.invoice_id, 719, contract_id)
    [penalty] = invoices_of(services, contract_id, "penalty")
    assert int(penalty.total_cents) == late_penalty_cents(719, RATE, MONTH_3_DUE, date(2027, 2, 20), False) > 0
    assert len(penalty.lines) == 1
    assert MetaModel.get("bad_payer#email:jeanne@dupont.fr").text == month_3.number  # R25: no SIREN for a consumer


def test_R23_R49_paying_the_overdue_invoice_never_lifts_a_hold_of_another_reason(client, aws, monthly, services,
                                                                                 clock):
    contract_id = monthly["contract_id"]
    month_3 = to_month_3_unpaid(client, aws, services, clock, contract_id)
    move_to(clock, "2027-01-27T00:00")
    run_timers(client, aws, services)
    node_commands(aws)
    contract = services.store.get_contract(contract_id)
    effect = Effect()
    set_hold(effect, "contract", contract, "abuse", "suspended", services, clock.now(), "operator:alice")
    services.store.apply(effect)
    for follow_up in effect.after_commit:
        follow_up()
    assert node_commands(aws) == ["SuspendSpace"]

    move_to(clock, "2027-01-29T10:00")
    pay(client, month_3.invoice_id, 719, contract_id)
    contract = services.store.get_contract(contract_id)
    assert (contract.status, contract.holds) == ("suspended", {"abuse": "suspended"})
    assert node_commands(aws) == []  # no UnsuspendSpace: the abuse suspension stays
    from chalicelib.adapters.models import NoticeModel
    assert NoticeModel.get(f"payment_received#{month_3.invoice_id}").context.get("service_restored") is not True
    assert len(invoices_of(services, contract_id, "penalty")) == 1  # 2 days late


def test_R23_paying_one_overdue_month_keeps_the_hold_while_another_is_still_overdue(client, aws, monthly, services,
                                                                                   clock):
    contract_id = monthly["contract_id"]
    move_to(clock, "2026-12-17T00:00")
    run_timers(client, aws, services)
    month_2 = instalments(services, contract_id)[2]
    for moment in ("2026-12-27T00:00", "2027-01-03T00:00", "2027-01-17T00:00", "2027-01-27T00:00"):
        move_to(clock, moment)
        run_timers(client, aws, services)
    month_3 = instalments(services, contract_id)[3]
    assert services.store.get_contract(contract_id).holds == {"non_payment": "suspended"}
    node_commands(aws)
    move_to(clock, "2027-01-28T09:00")
    pay(client, month_2.invoice_id, 719, contract_id)  # month 3 is still overdue since yesterday
    contract = services.store.get_contract(contract_id)
    assert (contract.status, contract.holds) == ("restricted", {"non_payment": "restricted"})
    assert node_commands(aws) == ["RestrictSpace"]  # from suspended down to what month 3 warrants
    pay(client, month_3.invoice_id, 719, contract_id)
    assert services.store.get_contract(contract_id).status == "active"
    assert node_commands(aws) == ["UnsuspendSpace"]


def test_R26_a_default_persisting_30_days_after_suspension_terminates_with_fees_and_remaining_months(
        client, aws, monthly, services, clock):
    contract_id = monthly["contract_id"]
    month_3 = to_month_3_unpaid(client, aws, services, clock, contract_id)
    for moment in ("2027-01-27T00:00", "2027-02-03T00:00"):
        move_to(clock, moment)
        run_timers(client, aws, services)
    assert services.store.get_contract(contract_id).status == "suspended"

    # R26: the provider refuses a renewal from a customer in default.
    answer = client.http.post(f"/admin/contracts/{contract_id}/renewal", headers=AUTH,
                              body=json.dumps({"terms": {"version": "2026-09", "accepted": True}, "channel": "web"}))
    assert answer.status_code == 422 and json.loads(answer.body)["error"]["code"] == "customer_in_default"

    move_to(clock, "2027-02-17T00:00")
    assert run_timers(client, aws, services) == ["invoice_period"]  # month 4 is still invoiced while suspended
    move_to(clock, "2027-02-27T00:00")
    assert run_timers(client, aws, services) == ["overdue_restrict"]  # month 4: already suspended, no change
    assert services.store.get_contract(contract_id).holds == {"non_payment": "suspended"}
    month_4 = instalments(services, contract_id)[4]
    assert MetaModel.get("bad_payer#email:contact@acme.fr").text == month_4.number
    node_commands(aws)

    move_to(clock, "2027-03-04T23:59")
    assert run_timers(client, aws, services) == []
    move_to(clock, "2027-03-05T00:00")
    assert run_timers(client, aws, services) == ["default_termination"]
    contract = services.store.get_contract(contract_id)
    assert (contract.status, contract.ended_reason) == ("terminated", "default")
    assert node_commands(aws) == []  # the space stays suspended, data kept
    [closing] = invoices_of(services, contract_id, "termination")
    assert [(l["code"], l["quantity"], l["unit_cents"]) for l in closing.lines] == [
        ("termination_fee", 1, 5000), ("plan:soho-start", 8, 499), ("option:antivirus", 8, 100)]  # months 5..12
    assert (int(closing.subtotal_cents), int(closing.vat_cents), int(closing.total_cents)) == (9792, 1958, 11750)
    assert (closing.due_date, closing.details["instalments"]) == ("2027-03-05", [5, 6, 7, 8, 9, 10, 11, 12])
    assert "contract_terminated" in notices(services, contract_id)
    from chalicelib.adapters.models import NoticeModel
    notice = NoticeModel.get(f"contract_terminated#{contract_id}")
    assert (notice.context["termination_invoice_number"], notice.context["deletion_on"]) == (closing.number,
                                                                                             "2027-04-04")
    warning = services.store.get_timer(f"deletion_warning#{contract_id}")
    deletion = services.store.get_timer(f"data_deletion#{contract_id}")
    assert datetime.fromisoformat(warning.due_at) == datetime(2027, 3, 28, tzinfo=PARIS)
    assert datetime.fromisoformat(deletion.due_at) == datetime(2027, 4, 4, tzinfo=PARIS)

    move_to(clock, "2027-03-06T00:00")  # month 4's suspension: the contract ended, nothing happens
    assert run_timers(client, aws, services) == ["overdue_suspend"]
    move_to(clock, "2027-03-17T00:00")  # month 5 is on the termination invoice: no instalment any more
    assert run_timers(client, aws, services) == ["invoice_period"]
    assert sorted(instalments(services, contract_id)) == [2, 3, 4]
    move_to(clock, "2027-03-28T00:00")
    assert run_timers(client, aws, services) == ["deletion_warning"]
    move_to(clock, "2027-04-04T00:00")
    assert run_timers(client, aws, services) == ["data_deletion"]
    assert node_commands(aws) == ["DeleteSpaceData"]

    # Paid after the termination: recorded with its penalties; the contract stays terminated.
    pay(client, month_3.invoice_id, 719, contract_id)
    assert services.store.get_contract(contract_id).status == "terminated"
    assert len(invoices_of(services, contract_id, "penalty")) == 1
    pay(client, closing.invoice_id, 11750, contract_id)
    assert services.store.get_invoice(closing.invoice_id).status == "paid"


def test_R21_the_admin_contract_view_lists_the_contract_invoices(client, aws, monthly, services, clock):
    contract_id = monthly["contract_id"]
    move_to(clock, "2026-12-17T00:00")
    run_timers(client, aws, services)
    view = json.loads(client.http.get(f"/admin/contracts/{contract_id}", headers=AUTH).body)
    assert view["billing_period"] == "monthly" and view["holds"] == {}
    assert [(i["number"], i["purpose"], i["period_start"], i["status"]) for i in view["invoices"]] == [
        ("F00000001", None, "2026-11-27", "paid"), ("F00000002", "period", "2026-12-27", "issued")]
    assert view["invoices"][1]["days_late"] == 0 and view["invoices"][1]["accrued_penalty_cents"] == 0
