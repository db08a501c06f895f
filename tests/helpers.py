"""Builders shared by the test tiers."""
from __future__ import annotations

import copy
import json
from typing import Any

VALID_SIREN = "732829320"


def professional_order(domain_name: str = "acme-test.fr", **changes: Any) -> dict:
    order = {
        "customer": {"kind": "professional", "legal_name": "ACME SARL", "siren": VALID_SIREN,
                     "email": "contact@acme.fr", "phone": "+33 1 23 45 67 89",
                     "address": {"line1": "1 rue de Rivoli", "postcode": "75001", "city": "Paris", "country": "FR"}},
        "plan": "soho-start", "options": ["antivirus"], "billing_period": "yearly", "payment_method": "card",
        "domain": {"name": domain_name, "action": "register"}, "terms": {"version": "2026-09", "accepted": True},
    }
    return merge(order, changes)


def consumer_order(domain_name: str = "dupont.fr", birth_date: str = "1980-05-17", **changes: Any) -> dict:
    order = professional_order(domain_name)
    order["customer"] = {"kind": "consumer", "first_name": "Jeanne", "last_name": "Dupont",
                         "birth_date": birth_date, "email": "jeanne@dupont.fr", "phone": "0601020304",
                         "address": {"line1": "2 rue Haute", "postcode": "69001", "city": "Lyon", "country": "FR"}}
    return merge(order, changes)


def merge(base: dict, changes: dict) -> dict:
    """Deep-merge `changes` into a copy of `base`; a value of None deletes the key."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def as_json(document: Any) -> str:
    return json.dumps(document)


TEST_PASSWORD = "correct-horse-battery-42"


def give_password(customer_id: str, *, role: str = "subscriber", contract_ids: tuple[str, ...] = (),
                  email: str = "beneficiary@example.fr", password: str = TEST_PASSWORD) -> str:
    """Integration tier (moto): give a customer's login a known password without going through the
    credentials mail, and return the login. role="subscriber" uses the login made with the order;
    role="beneficiary" creates a beneficiary login on `contract_ids` (R06)."""
    from argon2 import PasswordHasher

    from chalicelib.adapters.models import AccountModel, CustomerModel
    from chalicelib.domain.accounts import new_login
    from chalicelib.domain.credentials import ARGON2_PARAMETERS
    hashed = PasswordHasher(**ARGON2_PARAMETERS).hash(password)
    if role == "subscriber":
        login = CustomerModel.get(customer_id).login
        AccountModel(login=login).update(actions=[AccountModel.password_hash.set(hashed),
                                                  AccountModel.status.set("active")])
        return login
    login = new_login()
    AccountModel(login=login, account_id=f"acc_{login}", customer_id=customer_id, role=role, email=email,
                 contract_ids=list(contract_ids), password_hash=hashed, status="active", epoch=0,
                 created_at="2026-11-27T10:00:00Z").save()
    return login


def login_headers(client: Any, login: str, password: str = TEST_PASSWORD) -> dict[str, str]:
    """POST /auth/login through a chalice test client; the Authorization header of the session."""
    answer = client.http.post("/auth/login", body=json.dumps({"login": login, "password": password}),
                              headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.body
    return {"Authorization": f"Bearer {json.loads(answer.body)['access_token']}"}


def call(client: Any, method: str, path: str, body: Any = None, headers: dict | None = None) -> tuple[int, Any]:
    """Integration tier: one request through the chalice test client, JSON in; (status, the
    decoded JSON answer, or its text when it is not JSON, or None when empty)."""
    answer = client.http.request(method=method, path=path, body=json.dumps(body) if body is not None else "",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    content_type = {k.lower(): v for k, v in answer.headers.items()}.get("content-type", "")
    if not answer.body:
        return answer.status_code, None
    return answer.status_code, (json.loads(answer.body) if content_type.startswith("application/json")
                                else answer.body.decode())


def post(client: Any, path: str, body: Any = None, headers: dict | None = None) -> tuple[int, Any]:
    return call(client, "POST", path, body, headers)


def get(client: Any, path: str, headers: dict | None = None) -> tuple[int, Any]:
    return call(client, "GET", path, None, headers)
