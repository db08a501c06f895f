"""Mass assignment (OWASP API3; R04, R06, R09): fields a caller must not set — `status`,
`customer_id`, `price`, `role`, `total_cents`... — are refused with a 400 naming the field, and
nothing is stored or changed."""
from __future__ import annotations

import json

import pytest

from chalicelib.adapters.models import AccountModel, OrderModel
from tests.helpers import give_password, login_headers, professional_order
from tests.integration.test_lifecycle import active  # noqa: F401  (fixture)

JSON = {"Content-Type": "application/json"}


def send(client, method: str, path: str, body, headers=None):
    answer = client.http.request(method=method, path=path, body=json.dumps(body), headers={**JSON, **(headers or {})})
    return answer.status_code, json.loads(answer.body or b"null")


@pytest.mark.parametrize("extra", [{"status": "active"}, {"customer_id": "cus_someone_else"}, {"price": 1},
                                   {"total_cents": 1}, {"contract_id": "ctr_x"}, {"invoice": {"total_cents": 1}}])
def test_R09_an_order_with_a_field_the_buyer_may_not_set_is_refused_and_nothing_is_stored(client, extra):
    before = OrderModel.count()
    status, body = send(client, "POST", "/orders", {**professional_order("mass-assign.fr"), **extra})
    assert status == 400 and body["error"]["code"] == "validation_error"
    assert set(body["error"]["fields"]) == set(extra)
    assert OrderModel.count() == before


@pytest.mark.parametrize("field", ["status", "customer_id", "price_cents"])
def test_R09_nested_customer_or_plan_fields_are_refused_too(client, field):
    order = professional_order("mass-assign.fr")
    order["customer"][field] = "x"
    status, body = send(client, "POST", "/orders", order)
    assert status == 400 and f"customer.{field}" in body["error"]["fields"]


@pytest.mark.parametrize("method,path,body", [
    ("PUT", "/me/password", {"current_password": "correct-horse-battery-42", "new_password": "another-password-1",
                             "role": "subscriber"}),
    ("POST", "/me/beneficiaries", {"contract_id": "{contract_id}", "email": "x@example.fr",
                                   "role": "subscriber"}),
    ("POST", "/me/beneficiaries", {"contract_id": "{contract_id}", "email": "x@example.fr",
                                   "customer_id": "cus_other"}),
    ("POST", "/me/contracts/{contract_id}/options", {"options": ["ssl-pro"], "price_cents": 0}),
    ("POST", "/me/contracts/{contract_id}/renewal", {"terms": {"version": "2026-09", "accepted": True},
                                                     "price_cents": 0}),
    ("POST", "/auth/login", {"login": "sh-aaaa-bbbb-cccc", "password": "x" * 12, "role": "subscriber"}),
])
def test_R04_R06_customer_area_bodies_refuse_fields_the_caller_may_not_set(client, active, services, method, path,
                                                                           body):
    customer_id = services.store.get_contract(active["contract_id"]).customer_id
    login = give_password(customer_id)
    headers = login_headers(client, login)
    account_before = AccountModel.get(login).attribute_values
    fill = lambda value: value.replace("{contract_id}", active["contract_id"]) if isinstance(value, str) else value
    status, answer = send(client, method, fill(path), {k: fill(v) for k, v in body.items()}, headers)
    assert status == 400 and answer["error"]["code"] == "validation_error", answer
    forbidden = set(body) - {"current_password", "new_password", "contract_id", "email", "options", "terms", "login",
                             "password"}
    assert forbidden <= set(answer["error"]["fields"])
    assert AccountModel.get(login).attribute_values == account_before
    assert [a.role for a in AccountModel.by_customer.query(customer_id)] == ["subscriber"]
    assert services.store.get_contract(active["contract_id"]).options == ["antivirus"]


def test_R23_an_operator_cannot_mark_an_invoice_paid_by_a_status_field(client, active, services):
    status, answer = send(client, "POST", f"/admin/invoices/{active['invoice']['id']}/bank-transfers",
                          {"amount_cents": 100, "reference": "VIR-1", "received_on": "2026-11-27", "status": "paid"},
                          {"Authorization": "Bearer op_local_dev_key"})
    assert status == 400 and "status" in answer["error"]["fields"]
