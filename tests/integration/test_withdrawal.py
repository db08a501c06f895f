"""Consumer withdrawal (R13) with its pre-contract information, first use (R32), credit notes from
the one sequence (R22) and refunds recorded once from Stripe `charge.refunded` (R27)."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from chalicelib.adapters.models import AlertModel, DomainModel, InvoiceModel, NoticeModel, PaymentModel
from chalicelib.contracts.node_messages import SpaceFirstUsed, SpaceProvisioned
from chalicelib.domain.billing import vat_cents
from chalicelib.domain.calendar import PARIS, next_business_day, withdrawal_deadline
from chalicelib.domain.withdrawal import last_withdrawal_day
from devstack.pay import charge_refunded_event, intent_id_of, payment_succeeded_event
from tests.helpers import consumer_order, professional_order
from tests.integration.conftest import NODE_ID, queue_messages, sqs_lambda_event

JSON = {"Content-Type": "application/json"}


def place(client, order: dict) -> dict:
    answer = client.http.post("/orders", body=json.dumps(order), headers=JSON)
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)


def bearer(token) -> dict:
    return {**JSON, "Authorization": f"Bearer {token}"}


def withdraw(client, order: dict, token: str | None = None):
    answer = client.http.post(f"/orders/{order['order_id']}/withdrawal", body=b"",
                              headers=bearer(token or order["order_token"]))
    return answer.status_code, json.loads(answer.body)


def pre_contract(client, order: dict, accept: str = "application/json"):
    answer = client.http.get(f"/orders/{order['order_id']}/pre-contract-information",
                             headers={**bearer(order["order_token"]), "Accept": accept})
    headers = {k.lower(): v for k, v in answer.headers.items()}
    return answer.status_code, headers.get("content-type"), answer.body.decode() if isinstance(answer.body, bytes) \
        else answer.body


def pay(client, order: dict) -> bytes:
    payload = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"],
                                      contract_id=order["contract_id"])
    assert consume(client, payload) == {"batchItemFailures": []}
    return payload


def consume(client, *payloads: bytes) -> dict:
    return client.lambda_.invoke("on_payment_event", sqs_lambda_event([p.decode() for p in payloads])).payload


def provision(client, aws, services, clock, order: dict, domain: str) -> None:
    [command] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    done = SpaceProvisioned(node_id=NODE_ID, command_id=command["command_id"], contract_id=order["contract_id"],
                            domain=domain, completed_at=clock.now())
    client.lambda_.invoke("on_node_result", sqs_lambda_event([done.model_dump_json()]))
    assert services.store.get_contract(order["contract_id"]).status == "active"


def credit_notes() -> list[InvoiceModel]:
    return [i for i in InvoiceModel.scan() if i.kind == "credit_note"]


def notice(contract_id: str, template: str) -> NoticeModel:
    [found] = [n for n in NoticeModel.scan(NoticeModel.contract_id == contract_id) if n.template == template]
    return found


def open_alerts(kind: str) -> list[AlertModel]:
    return [a for a in AlertModel.query("open") if a.kind == kind]


def saturday_before_a_sunday_day_15(after: date) -> date:
    """The first validation day from `after` whose 15th following day is a Sunday and whose
    Monday after is a business day (so the window ends that Monday), from the calendar."""
    day = after
    while not ((day + timedelta(days=15)).weekday() == 6
               and next_business_day(day + timedelta(days=15)) == day + timedelta(days=16)):
        day += timedelta(days=1)
    return day


@pytest.fixture
def consumer(client):
    return place(client, consumer_order())


@pytest.fixture
def active_consumer(client, aws, services, clock, consumer):
    payload = pay(client, consumer)
    provision(client, aws, services, clock, consumer, "dupont.fr")
    return {**consumer, "payment": payload}


# ---- access -----------------------------------------------------------------------------------
def test_R13_an_order_answer_gives_its_secret_token_once_and_its_links(client, services, consumer):
    assert len(consumer["order_token"]) >= 43  # 32 random bytes, URL-safe
    assert consumer["links"] == {
        "pre_contract_information": f"/orders/{consumer['order_id']}/pre-contract-information",
        "withdrawal": f"/orders/{consumer['order_id']}/withdrawal"}
    stored = services.store.get_order(consumer["order_id"])
    assert stored.access_token_hash and consumer["order_token"] not in json.dumps(stored.attribute_values, default=str)
    professional = place(client, professional_order())
    assert set(professional["links"]) == {"pre_contract_information"} and professional["order_token"]


@pytest.mark.parametrize("route", ["pre-contract-information", "withdrawal"])
def test_R13_customer_routes_refuse_a_missing_or_wrong_order_token(client, services, consumer, route):
    other = place(client, consumer_order(domain_name="autre.fr", customer={"email": "autre@dupont.fr"}))
    path = f"/orders/{consumer['order_id']}/{route}"
    call = client.http.get if route != "withdrawal" else (lambda p, headers: client.http.post(p, body=b"",
                                                                                                  headers=headers))
    for headers in (JSON, bearer("wrong"), bearer(other["order_token"]), {**JSON, "Authorization":
                                                                          consumer["order_token"]}):
        answer = call(path, headers=headers)
        assert answer.status_code == 401 and json.loads(answer.body)["error"]["code"] == "invalid_order_token"
    unknown = call("/orders/ord_unknown/" + route, headers=bearer(consumer["order_token"]))
    assert unknown.status_code == 401
    assert services.store.get_contract(consumer["contract_id"]).status == "awaiting_payment"


# ---- pre-contract information -----------------------------------------------------------------
def test_R13_pre_contract_information_gives_seller_price_payment_execution_withdrawal_and_duration(
        client, services, consumer):
    status, content_type, body = pre_contract(client, consumer)
    assert status == 200 and content_type.startswith("application/json")
    doc = json.loads(body)
    accepted_at = datetime.fromisoformat(services.store.get_order(consumer["order_id"]).acceptance.accepted_at)
    deadline = withdrawal_deadline(accepted_at)
    assert doc["seller"]["legal_name"] and doc["seller"]["address"]
    assert doc["plan"]["id"] == "soho-start" and [o["id"] for o in doc["options"]] == ["antivirus"]
    assert (doc["price"]["excl_vat_cents"], doc["price"]["incl_vat_cents"]) == (
        7188, consumer["invoice"]["total_cents"])
    assert doc["price"]["excl_vat_cents"] + doc["price"]["vat_cents"] == doc["price"]["incl_vat_cents"]
    assert doc["payment"] == {"in_advance": True, "method": "card", "invoice_number": consumer["invoice"]["number"],
                              "due_date": "2026-11-27"}
    assert doc["execution"]["starts"] == "on_payment"
    assert doc["duration"] == {"months": 12, "starts_on": "2026-11-27", "ends_on": "2027-11-27",
                               "tacit_renewal": False}
    withdrawal = doc["withdrawal"]
    assert withdrawal["available"] is True and withdrawal["clear_days"] == 14 and withdrawal["lost_at_first_use"]
    assert datetime.fromisoformat(withdrawal["deadline"]) == deadline
    assert withdrawal["last_day"] == last_withdrawal_day(accepted_at).isoformat() == "2026-12-14"
    assert withdrawal["domain_fees_kept_incl_vat_cents"] == 800 + vat_cents(800, Decimal("0.20"))

    status, content_type, text = pre_contract(client, consumer, accept="text/plain")
    assert status == 200 and content_type.startswith("text/plain")
    for expected in ("INFORMATIONS PRÉCONTRACTUELLES", "SOHO Start", "Antivirus", "14 jours francs",
                     "14 décembre 2026 à minuit", "dès réception du paiement", "pas renouvelé tacitement",
                     "commencez à utiliser le service", "frais de nom de domaine", consumer["invoice"]["number"]):
        assert expected in text, expected
    assert "{{" not in text and "None" not in text


def test_R13_a_professional_reads_the_document_without_a_withdrawal_right(client):
    order = place(client, professional_order())
    status, _, body = pre_contract(client, order)
    assert status == 200 and json.loads(body)["withdrawal"]["available"] is False
    assert "réservé aux consommateurs" in pre_contract(client, order, accept="text/plain")[2]


# ---- refusals ---------------------------------------------------------------------------------
def test_R13_a_professional_cannot_withdraw(client, services):
    order = place(client, professional_order())
    status, body = withdraw(client, order)
    assert (status, body["error"]["code"]) == (422, "withdrawal_not_available_to_professionals")
    assert services.store.get_contract(order["contract_id"]).status == "awaiting_payment"


def test_R13_withdrawal_accepted_on_the_monday_when_day_15_is_a_sunday_and_refused_the_day_after(
        client, services, clock):
    validation_day = saturday_before_a_sunday_day_15(clock.now().astimezone(PARIS).date())
    clock.move_to(datetime.combine(validation_day, time(16, 0), tzinfo=PARIS))
    first = place(client, consumer_order())
    second = place(client, consumer_order(domain_name="martin.fr", customer={"email": "paul@martin.fr"}))
    monday = validation_day + timedelta(days=16)
    assert (validation_day + timedelta(days=15)).weekday() == 6 and monday.weekday() == 0

    clock.move_to(datetime.combine(monday, time(23, 59), tzinfo=PARIS))
    status, outcome = withdraw(client, first)
    assert status == 201 and outcome["status"] == "withdrawn"

    clock.move_to(datetime.combine(monday + timedelta(days=1), time(0, 0), tzinfo=PARIS))
    status, body = withdraw(client, second)
    assert (status, body["error"]["code"]) == (422, "withdrawal_period_over")
    assert datetime.combine(monday + timedelta(days=1), time(0), tzinfo=PARIS).isoformat() in body["error"]["message"]
    order = services.store.get_order(second["order_id"])
    assert order.status == "awaiting_payment"
    assert services.store.get_invoice(second["invoice"]["id"]).status == "issued"
    assert [n.credits_invoice_id for n in credit_notes()] == [first["invoice"]["id"]]


def test_R32_R13_withdrawal_refused_after_the_node_reported_the_first_use(client, services, clock, active_consumer):
    used = SpaceFirstUsed(node_id=NODE_ID, contract_id=active_consumer["contract_id"], domain="dupont.fr",
                          usage="ftp_login", used_at=clock.now())
    client.lambda_.invoke("on_node_result", sqs_lambda_event([used.model_dump_json()]))
    assert services.store.get_contract(active_consumer["contract_id"]).first_used_at  # via the R32 first-use path
    clock.advance(timedelta(days=1))
    status, body = withdraw(client, active_consumer)
    assert (status, body["error"]["code"]) == (409, "withdrawal_right_lost_by_first_use")
    assert "ftp_login" in body["error"]["message"] and NODE_ID in body["error"]["message"]
    assert services.store.get_contract(active_consumer["contract_id"]).status == "active"
    assert credit_notes() == []


# ---- accepted ---------------------------------------------------------------------------------
def test_R13_R22_an_unpaid_order_withdrawn_has_its_invoice_cancelled_by_a_credit_note(client, aws, services, consumer):
    status, outcome = withdraw(client, consumer)
    assert status == 201
    invoice = services.store.get_invoice(consumer["invoice"]["id"])
    [note] = credit_notes()
    assert invoice.status == "cancelled" and invoice.credited_by == note.invoice_id
    assert int(note.total_cents) == -int(invoice.total_cents) and note.reason == "withdrawal"
    assert int(note.sequence) == int(invoice.sequence) + 1  # R22: the next number of the one sequence
    contract = services.store.get_contract(consumer["contract_id"])
    assert (contract.status, contract.ended_reason) == ("withdrawn", "withdrawal")
    assert services.store.get_order(consumer["order_id"]).status == "withdrawn"
    assert outcome["refund_due_cents"] == 0 and outcome["paid_cents"] == 0 and outcome["domain_released"]
    assert services.store.get_payment(f"refund_due:{note.invoice_id}") is None and open_alerts("refund_due") == []
    assert DomainModel.count() == 0
    assert queue_messages(aws["node_queue"]) == []  # nothing was provisioned
    assert notice(consumer["contract_id"], "withdrawal_confirmed").context["refund_cents"] == 0


@pytest.mark.parametrize("fees_spent", [False, True])
def test_R13_R22_paid_and_active_contract_withdrawn_deprovisions_credits_and_owes_the_refund(
        client, aws, services, clock, active_consumer, fees_spent):
    if fees_spent:  # the domain-registration path sets it when the registry accepts; set directly here
        DomainModel(domain_name="dupont.fr").update(actions=[DomainModel.fees_spent_at.set(clock.now().isoformat())])
    free_before = int(services.store.get_node("default", NODE_ID).free_mb)
    clock.advance(timedelta(days=5))
    status, outcome = withdraw(client, active_consumer)
    assert status == 201, outcome

    paid = active_consumer["invoice"]["total_cents"]
    kept = (800 + vat_cents(800, Decimal("0.20"))) if fees_spent else 0
    [note] = credit_notes()
    invoice = services.store.get_invoice(active_consumer["invoice"]["id"])
    assert invoice.status == "paid" and invoice.credited_by == note.invoice_id
    assert int(invoice.total_cents) + int(note.total_cents) == kept
    assert sum(line["total_cents"] for line in note.lines) == int(note.subtotal_cents)
    assert int(note.subtotal_cents) + int(note.vat_cents) == int(note.total_cents)
    assert ("domain_fees_kept" in [line["code"] for line in note.lines]) is fees_spent
    assert outcome["refund_due_cents"] == paid - kept and outcome["kept_domain_fees_cents"] == kept

    due = services.store.get_payment(f"refund_due:{note.invoice_id}")
    assert (due.outcome, int(due.amount_cents), due.invoice_id) == ("refund_due", paid - kept, invoice.invoice_id)
    assert due.provider_reference == intent_id_of(active_consumer["payment"])
    [alert] = open_alerts("refund_due")
    assert alert.refs["amount_cents"] == paid - kept and alert.refs["credit_note"] == note.number

    [deprovision] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    assert (deprovision["type"], deprovision["reason"]) == ("DeprovisionSpace", "withdrawal")
    assert int(services.store.get_node("default", NODE_ID).free_mb) == free_before + int(
        services.store.get_contract(active_consumer["contract_id"]).storage_mb)
    assert (DomainModel.count() == 1) is fees_spent and outcome["domain_released"] is not fees_spent

    context = notice(active_consumer["contract_id"], "withdrawal_confirmed").context
    assert (context["refund_cents"], context["kept_domain_fees_cents"]) == (paid - kept, kept)
    customer_id = services.store.get_contract(active_consumer["contract_id"]).customer_id
    actions = [e["action"] for e in services.store.evidence_for(customer_id)]
    for action in ("order.withdrawn", "contract.withdrawn", "invoice.credited", "credit_note.issued",
                   "node_command.issued", "node.space_released", "refund.due",
                   "domain.kept" if fees_spent else "domain.released"):
        assert action in actions, action


def test_R13_a_repeated_withdrawal_answers_the_same_outcome_and_concurrent_ones_make_one_credit_note(
        client, services, active_consumer, monkeypatch):
    from chalicelib.service.withdrawal import withdraw as withdraw_order
    real_apply, concurrent = services.store.apply, {}

    def apply_after_a_concurrent_withdrawal(effect):
        """Two requests read the same state; the other one commits first (a deterministic race)."""
        if not concurrent:
            concurrent["started"] = True
            concurrent["result"] = withdraw_order(active_consumer["order_id"], services)
        return real_apply(effect)

    monkeypatch.setattr(services.store, "apply", apply_after_a_concurrent_withdrawal)
    outcome, created = withdraw_order(active_consumer["order_id"], services)
    monkeypatch.setattr(services.store, "apply", real_apply)
    first, first_created = concurrent["result"]
    assert (first_created, created) == (True, False) and outcome == first
    status, again = withdraw(client, active_consumer)
    assert status == 200 and again == first
    assert len(credit_notes()) == 1 and len(open_alerts("refund_due")) == 1
    assert len(services.store.payments_by_reference(intent_id_of(active_consumer["payment"]))) == 2  # paid, due


# ---- refunds (charge.refunded) ----------------------------------------------------------------
@pytest.fixture
def withdrawn(client, services, active_consumer):
    status, outcome = withdraw(client, active_consumer)
    assert status == 201
    return {**active_consumer, "outcome": outcome, "intent": intent_id_of(active_consumer["payment"])}


def refund_rows(intent: str) -> dict[str, PaymentModel]:
    return {r.payment_event_id: r for r in PaymentModel.scan() if r.event_type == "charge.refunded"
            and r.provider_reference == intent}


def test_R27_R13_partial_refunds_out_of_order_and_duplicated_are_recorded_once_and_close_the_refund_due(
        client, services, withdrawn):
    due_cents = withdrawn["outcome"]["refund_due_cents"]
    partial = charge_refunded_event(withdrawn["intent"], 3000, amount=due_cents, event_id="evt_refund_1")
    full = charge_refunded_event(withdrawn["intent"], due_cents, amount=due_cents, event_id="evt_refund_2")
    assert consume(client, full, partial) == {"batchItemFailures": []}  # the later refund first
    assert consume(client, partial, full, full) == {"batchItemFailures": []}
    rows = refund_rows(withdrawn["intent"])
    assert set(rows) == {"evt_refund_1", "evt_refund_2"}
    assert sum(int(r.amount_cents) for r in rows.values()) == due_cents  # rows add up to the provider's total
    invoice = services.store.get_invoice(withdrawn["invoice"]["id"])
    assert int(invoice.refunded_cents) == due_cents
    note_id = withdrawn["outcome"]["credit_note"]["id"]
    assert services.store.get_payment(f"refund_due:{note_id}").outcome == "refunded"
    assert open_alerts("refund_due") == []
    assert [a.kind for a in AlertModel.query("closed")] == ["refund_due"]
    customer_id = services.store.get_contract(withdrawn["contract_id"]).customer_id
    actions = [e["action"] for e in services.store.evidence_for(customer_id)]
    assert actions.count("payment.refunded") == 2 and actions.count("refund.made") == 1


def test_R27_R13_a_partial_refund_leaves_the_refund_due_open_until_the_total_reaches_it(client, services, withdrawn):
    due_cents = withdrawn["outcome"]["refund_due_cents"]
    consume(client, charge_refunded_event(withdrawn["intent"], 3000, amount=due_cents))
    note_id = withdrawn["outcome"]["credit_note"]["id"]
    assert services.store.get_payment(f"refund_due:{note_id}").outcome == "refund_due"
    assert len(open_alerts("refund_due")) == 1
    assert int(services.store.get_invoice(withdrawn["invoice"]["id"]).refunded_cents) == 3000
    consume(client, charge_refunded_event(withdrawn["intent"], due_cents, amount=due_cents,
                                          refunds=[3000, due_cents - 3000]))
    assert services.store.get_payment(f"refund_due:{note_id}").outcome == "refunded"
    assert open_alerts("refund_due") == []
    assert sorted(int(r.amount_cents) for r in refund_rows(withdrawn["intent"]).values()) == sorted(
        [3000, due_cents - 3000])


def test_R27_a_refund_of_an_unknown_payment_is_recorded_once_and_alerted(client, services, aws):
    event = charge_refunded_event("pi_unknown", 1234, event_id="evt_refund_x")
    assert consume(client, event, event) == {"batchItemFailures": []}
    assert consume(client, event) == {"batchItemFailures": []}
    row = services.store.get_payment("evt_refund_x")
    assert (row.outcome, int(row.amount_cents)) == ("refund_unmatched", 1234)
    assert len(open_alerts("refund_unmatched")) == 1
