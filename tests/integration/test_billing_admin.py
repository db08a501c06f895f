"""Operator-recorded facts around billing: bank transfers (R21/R27), options added mid-term (R33),
bad payers (R25), irregular orders and their regularisation (R11), frozen orders (R12)."""
from __future__ import annotations

import json
from datetime import date

import pytest

from chalicelib.adapters.models import MetaModel, NodeModel
from chalicelib.config import settings
from devstack.pay import payment_succeeded_event
from tests.helpers import consumer_order, professional_order
from tests.integration.conftest import NODE_ID, queue_messages, sqs_lambda_event
from tests.integration.test_lifecycle import active, move_to, node_commands  # noqa: F401  (fixture)

AUTH = {"Authorization": f"Bearer {settings().operator_api_key}", "Content-Type": "application/json"}
JSON = {"Content-Type": "application/json"}


def post(client, path, body, headers=AUTH):
    """(status, body); an error answer's body is its `error` object (code, message, fields)."""
    answer = client.http.post(path, body=json.dumps(body), headers=headers)
    data = json.loads(answer.body or b"{}")
    return answer.status_code, data.get("error", data) if answer.status_code >= 400 else data


def place(client, order):
    return post(client, "/orders", order, JSON)


def transfer(client, invoice_id, amount, reference="VIR-2026-0001", received_on="2026-11-27"):
    return post(client, f"/admin/invoices/{invoice_id}/bank-transfers",
                {"amount_cents": amount, "reference": reference, "received_on": received_on})


# ---- bank transfers -------------------------------------------------------------------------------

def test_R21_R27_a_bank_transfer_recorded_by_an_operator_pays_the_invoice_once(client, aws, services):
    status, order = place(client, professional_order(payment_method="bank_transfer"))
    assert status == 201
    invoice = order["invoice"]
    status, view = transfer(client, invoice["id"], invoice["total_cents"])
    assert (status, view["outcome"], view["invoice"]["status"]) == (201, "applied", "paid")
    assert services.store.get_contract(order["contract_id"]).status == "provisioning"
    [first] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    assert first["type"] == "ProvisionSpace"
    # The same statement line recorded again pays nothing more and issues no new command (a pending
    # command may be sent again: the node applies it once by its id).
    status, view = transfer(client, invoice["id"], invoice["total_cents"])
    assert (status, view["outcome"]) == (200, "duplicate")
    assert {json.loads(m["Body"])["command_id"] for m in queue_messages(aws["node_queue"])} <= {first["command_id"]}
    payment = services.store.get_payment("transfer:VIR-2026-0001")
    assert (payment.provider, int(payment.amount_cents), payment.invoice_id) == (
        "bank_transfer", invoice["total_cents"], invoice["id"])
    evidence = services.store.evidence_for(services.store.get_order(order["order_id"]).customer_id)
    assert any(e["actor"] == "operator:root" and e["entity_type"] == "invoice" for e in evidence)


def test_R27_a_transfer_of_the_wrong_amount_is_recorded_and_alerted_but_pays_nothing(client, aws, services):
    _, order = place(client, professional_order(payment_method="bank_transfer"))
    status, view = transfer(client, order["invoice"]["id"], 100)
    assert (status, view["outcome"], view["invoice"]["status"]) == (202, "amount_mismatch", "issued")
    assert any(a["kind"] == "payment_amount_mismatch" for a in services.store.open_alerts())
    assert services.store.get_contract(order["contract_id"]).status == "awaiting_payment"


@pytest.mark.parametrize("body, field", [
    ({"amount_cents": 0, "reference": "VIR-1", "received_on": "2026-11-27"}, "amount_cents"),
    ({"amount_cents": 100, "reference": "", "received_on": "2026-11-27"}, "reference"),
    ({"amount_cents": 100, "reference": "VIR-1"}, "received_on"),
    ({"amount_cents": 100, "reference": "VIR-1", "received_on": "2026-11-27", "extra": 1}, "extra"),
])
def test_R21_a_malformed_transfer_is_refused_and_changes_nothing(client, aws, services, body, field):
    _, order = place(client, professional_order(payment_method="bank_transfer"))
    status, error = post(client, f"/admin/invoices/{order['invoice']['id']}/bank-transfers", body)
    assert (status, error["code"]) == (400, "validation_error")
    assert field in error["fields"]
    assert services.store.get_invoice(order["invoice"]["id"]).status == "issued"


def test_R21_a_transfer_dated_in_the_future_or_for_an_unknown_invoice_is_refused(client, aws, services):
    _, order = place(client, professional_order(payment_method="bank_transfer"))
    status, error = transfer(client, order["invoice"]["id"], order["invoice"]["total_cents"], received_on="2026-12-01")
    assert (status, error["code"]) == (400, "invalid_received_on")
    assert transfer(client, "inv_nope", 100)[0] == 404
    assert post(client, f"/admin/invoices/{order['invoice']['id']}/bank-transfers",
                {"amount_cents": 1, "reference": "VIR-1", "received_on": "2026-11-27"}, JSON)[0] == 401


# ---- R25 bad payers -------------------------------------------------------------------------------

def _mark_bad_payer(key: str) -> None:
    MetaModel(name=f"bad_payer#{key}", text="F00000042", updated_at="2026-10-01T00:00:00Z").save()


def test_R25_a_customer_in_default_is_refused_unless_paying_upfront_by_transfer(client, aws, services):
    _mark_bad_payer("email:contact@acme.fr")
    order = professional_order()
    status, error = place(client, order)
    assert (status, error["code"]) == (422, "customer_in_default")
    assert "F00000042" in error["message"]
    assert place(client, professional_order(billing_period="monthly", payment_method="bank_transfer"))[0] == 422
    status, accepted = place(client, professional_order(payment_method="bank_transfer"))
    assert status == 201, accepted


def test_R25_a_retry_of_an_order_stored_before_the_default_returns_that_order(client, aws, services):
    headers = {**JSON, "Idempotency-Key": "cart-r25-1"}
    status, first = post(client, "/orders", professional_order(), headers)
    assert status == 201
    _mark_bad_payer("email:contact@acme.fr")
    status, again = post(client, "/orders", professional_order(), headers)
    assert (status, again["order_id"], again["invoice"]["number"]) == (200, first["order_id"], first["invoice"]["number"])
    status, refused = post(client, "/orders", professional_order(domain_name="autre-r25.fr"),
                           {**JSON, "Idempotency-Key": "cart-r25-2"})
    assert (status, refused["code"]) == (422, "customer_in_default")


def test_R25_the_siren_identifies_a_professional_in_default_under_another_email(client, aws, services):
    order = professional_order()
    _mark_bad_payer(f"siren:{order['customer']['siren'].replace(' ', '')}")
    order["customer"]["email"] = "autre@acme.fr"
    assert place(client, order)[1]["code"] == "customer_in_default"


def test_R25_a_guarantee_recorded_by_an_operator_lets_the_customer_order_again(client, aws, services):
    _mark_bad_payer("email:contact@acme.fr")
    status, body = post(client, "/admin/guarantees", {"customer": {"email": "Contact@ACME.fr"},
                                                      "reference": "CAUTION-BNP-7", "amount_cents": 20000})
    assert (status, body["keys"]) == (201, ["email:contact@acme.fr"])
    assert place(client, professional_order())[0] == 201
    assert post(client, "/admin/guarantees", {"customer": {}, "reference": "x", "amount_cents": 1})[0] == 400


# ---- R33 options ----------------------------------------------------------------------------------

def test_R33_options_added_mid_term_are_invoiced_pro_rata_and_provisioned_once_paid(client, aws, active, services,
                                                                                     clock):
    contract_id = active["contract_id"]
    node_commands(aws)
    move_to(clock, "2027-05-28T10:00")  # 183 of the 365 days of the term are left
    status, view = post(client, f"/admin/contracts/{contract_id}/options", {"options": ["extra-storage-10g"]})
    assert status == 201, view
    line, = view["invoice"]["lines"]
    assert line["total_cents"] == 1203  # 2400 x 183 / 365 = 1203.28 -> 1203
    assert view["invoice"]["total_cents"] == 1203 + 241  # VAT 20 % shown apart
    assert (view["invoice"]["period_start"], view["invoice"]["period_end"]) == ("2027-05-28", "2027-11-27")
    # Ordering the same options again returns the unpaid invoice, not a second one.
    again_status, again = post(client, f"/admin/contracts/{contract_id}/options", {"options": ["extra-storage-10g"]})
    assert (again_status, again["invoice"]["number"]) == (200, view["invoice"]["number"])
    assert services.store.get_contract(contract_id).storage_mb == 10240  # not before payment
    free_before = NodeModel.get("default", NODE_ID).free_mb
    event = payment_succeeded_event(view["invoice"]["id"], view["invoice"]["total_cents"])
    for _ in range(2):  # delivered twice: provisioned once
        client.lambda_.invoke("on_payment_event", sqs_lambda_event([event.decode()]))
    contract = services.store.get_contract(contract_id)
    assert (contract.options[-1], contract.storage_mb) == ("extra-storage-10g", 20480)
    commands = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    assert [(c["type"], c["quota_mb"]) for c in commands] == [("ChangeSpace", 20480)]
    assert NodeModel.get("default", NODE_ID).free_mb == free_before - 10240
    assert post(client, f"/admin/contracts/{contract_id}/options",
                {"options": ["extra-storage-10g"]})[1]["code"] == "option_already_active"


def test_R33_options_are_refused_for_a_contract_not_in_force_or_not_fitting(client, aws, placed_order, services):
    contract_id = placed_order["contract_id"]
    status, error = post(client, f"/admin/contracts/{contract_id}/options", {"options": ["antispam"]})
    assert (status, error["code"]) == (422, "contract_not_active")
    assert post(client, "/admin/contracts/ctr_nope/options", {"options": ["antispam"]})[0] == 404
    assert post(client, f"/admin/contracts/{contract_id}/options", {"options": []})[0] == 400


# ---- R11 / R12 ------------------------------------------------------------------------------------

def test_R11_an_irregular_order_is_void_and_cannot_be_paid(client, aws, placed_order, services):
    order_id, contract_id = placed_order["order_id"], placed_order["contract_id"]
    status, body = post(client, f"/admin/orders/{order_id}/irregular",
                        {"reason": "Le SIREN ne correspond pas à la raison sociale déclarée."})
    assert (status, body["status"], body["contract_status"]) == (200, "void", "void")
    event = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    client.lambda_.invoke("on_payment_event", sqs_lambda_event([event.decode()]))
    assert services.store.get_contract(contract_id).status == "void"
    assert node_commands(aws) == []
    assert any(a["kind"] == "payment_contract_not_payable" for a in services.store.open_alerts())


def test_R11_regularisation_reruns_verification_and_changes_nothing_when_it_still_fails(client, aws, placed_order,
                                                                                       services):
    order_id = placed_order["order_id"]
    post(client, f"/admin/orders/{order_id}/irregular", {"reason": "Raison sociale erronée."})
    status, error = post(client, f"/admin/orders/{order_id}/regularisation",
                         {"customer": {"siren": "123456789"}, "note": "appel du 27/11"})
    assert (status, error["code"]) == (422, "invalid_siren")
    assert services.store.get_order(order_id).status == "void"
    status, body = post(client, f"/admin/orders/{order_id}/regularisation",
                        {"customer": {"legal_name": "ACME Hébergement SAS"}, "note": "appel du 27/11"})
    assert (status, body["status"], body["contract_status"], body["rectified"]) == (
        200, "awaiting_payment", "awaiting_payment", ["legal_name"])
    customer = services.store.get_customer(services.store.get_order(order_id).customer_id)
    assert customer.legal_name == "ACME Hébergement SAS"
    event = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    client.lambda_.invoke("on_payment_event", sqs_lambda_event([event.decode()]))
    assert services.store.get_contract(placed_order["contract_id"]).status == "provisioning"


def test_R11_only_an_unpaid_order_is_declared_irregular_and_only_a_void_one_regularised(client, aws, active):
    assert post(client, f"/admin/orders/{active['order_id']}/irregular",
                {"reason": "trop tard"})[1]["code"] == "order_not_reviewable"
    assert post(client, f"/admin/orders/{active['order_id']}/regularisation",
                {"customer": {}, "note": "rien"})[1]["code"] == "order_not_void"


@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE"])
def test_R12_a_verified_order_can_be_neither_modified_nor_cancelled(client, aws, placed_order, method):
    answer = getattr(client.http, method.lower())(f"/orders/{placed_order['order_id']}", body=b"{}", headers=JSON)
    body = json.loads(answer.body)["error"]
    assert (answer.status_code, body["code"]) == (409, "order_frozen")
    assert "withdrawal" in body["message"]
    assert getattr(client.http, method.lower())("/orders/ord_nope", body=b"{}", headers=JSON).status_code == 404
