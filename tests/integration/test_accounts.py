"""Customer accounts (R04, R06): credentials at conclusion, sign-in, revocation, reset, roles."""
from __future__ import annotations

import json
import re


from chalicelib.adapters.models import AccountModel, CustomerModel, NoticeModel
from tests.helpers import TEST_PASSWORD, get, give_password, login_headers, post
from tests.integration.conftest import queue_messages, sqs_lambda_event
from tests.integration.test_lifecycle import active  # noqa: F401  (fixture)

JSON = {"Content-Type": "application/json"}
OPERATOR = {"Authorization": "Bearer op_local_dev_key"}




def deliver_notices(client, aws) -> int:
    """Run the notices consumer on everything queued (R54)."""
    bodies = [m["Body"] for m in queue_messages(aws["queues"]["notices"])]
    if bodies:
        assert client.lambda_.invoke("on_notice", sqs_lambda_event(bodies)).payload == {"batchItemFailures": []}
    return len(bodies)


def sent_mails(services, to: str) -> list[str]:
    """The mails SES (moto) really sent to `to`, as sent: subject and body."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    backend = ses_backends[DEFAULT_ACCOUNT_ID][services.settings.region]
    return [f"{m.subject}\n{m.body}" for m in backend.sent_messages if to in m.destinations.get("ToAddresses", [])]


def credentials_in(mail: str) -> tuple[str, str]:
    login = re.search(r"identifiant : (\S+)", mail).group(1)
    password = re.search(r"mot de passe : (\S+)", mail).group(1)
    return login, password


def test_R04_conclusion_sends_login_and_password_to_the_contact_address_only_and_stores_only_a_hash(
        client, aws, active, services):
    customer = CustomerModel.get(active["contract_id"] and services.store.get_contract(
        active["contract_id"]).customer_id)
    deliver_notices(client, aws)
    [mail] = [m for m in sent_mails(services, customer.email) if "espace client" in m.split("\n")[0]]
    login, password = credentials_in(mail)
    assert login == customer.login and len(password.replace("-", "")) == 20
    account = AccountModel.get(login)
    assert account.status == "active" and account.password_hash.startswith("$argon2id$")
    # The password is nowhere in the database: not in the account, not in the stored notice.
    notice = NoticeModel.get(f"credentials#{login}#initial")
    assert notice.status == "sent" and notice.recipient == customer.email
    assert password not in json.dumps(notice.attribute_values, default=str)
    assert "jamais conservé" in notice.body
    assert password not in account.password_hash
    status, tokens = post(client, "/auth/login", {"login": login, "password": password})
    assert status == 200 and tokens["role"] == "subscriber" and tokens["token_type"] == "Bearer"
    status, mine = get(client, "/me/contracts", {"Authorization": f"Bearer {tokens['access_token']}"})
    assert status == 200 and [c["contract_id"] for c in mine["contracts"]] == [active["contract_id"]]


def test_R04_unknown_login_and_wrong_password_get_the_same_answer_and_failures_are_rate_limited(
        client, active, services):
    login = give_password(services.store.get_contract(active["contract_id"]).customer_id)
    unknown = post(client, "/auth/login", {"login": "sh-zzzz-zzzz-zzzz", "password": "whatever-123456"})
    wrong = post(client, "/auth/login", {"login": login, "password": "not-the-password"})
    assert unknown == wrong == (401, wrong[1]) and wrong[1]["error"]["code"] == "invalid_credentials"
    for _ in range(services.settings.login_attempts_per_login - 1):
        assert post(client, "/auth/login", {"login": login, "password": "still-wrong"})[0] == 401
    status, body = post(client, "/auth/login", {"login": login, "password": TEST_PASSWORD})
    assert status == 429 and body["error"]["code"] == "too_many_requests"  # even the right one, until the window ends
    from datetime import timedelta
    services.clock.advance(timedelta(minutes=services.settings.throttle_window_minutes))
    assert post(client, "/auth/login", {"login": login, "password": TEST_PASSWORD})[0] == 200


def test_R04_failures_are_rate_limited_per_client_address_across_logins(client, active, services):
    for n in range(services.settings.login_attempts_per_address):
        assert post(client, "/auth/login", {"login": f"sh-aaaa-aaaa-{n:04d}", "password": "x" * 12})[0] == 401
    assert post(client, "/auth/login", {"login": "sh-bbbb-bbbb-bbbb", "password": "x" * 12})[0] == 429


def test_R04_logout_revokes_every_session_and_token_of_the_login_at_once(client, active, services):
    login = give_password(services.store.get_contract(active["contract_id"]).customer_id)
    first, second = login_headers(client, login), login_headers(client, login)
    status, tokens = post(client, "/auth/login", {"login": login, "password": TEST_PASSWORD})
    assert get(client, "/me/contracts", second)[0] == 200
    assert post(client, "/auth/logout", headers=first)[0] == 200
    for headers in (first, second, {"Authorization": f"Bearer {tokens['access_token']}"}):
        status, body = get(client, "/me/contracts", headers)
        assert status == 401 and body["error"]["code"] == "invalid_token"
    assert post(client, "/auth/refresh", {"refresh_token": tokens["refresh_token"]})[0] == 401
    assert get(client, "/me/contracts", login_headers(client, login))[0] == 200  # signing in again works


def test_R04_refresh_gives_a_new_access_token_while_the_session_is_valid(client, active, services):
    login = give_password(services.store.get_contract(active["contract_id"]).customer_id)
    status, tokens = post(client, "/auth/login", {"login": login, "password": TEST_PASSWORD})
    status, fresh = post(client, "/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert status == 200 and "refresh_token" not in fresh
    assert get(client, "/me/contracts", {"Authorization": f"Bearer {fresh['access_token']}"})[0] == 200
    forged = tokens["refresh_token"].split(".")[0] + ".forged-secret"
    assert post(client, "/auth/refresh", {"refresh_token": forged})[0] == 401
    for malformed in (".abcdefghijk", "ses_abcdefgh.", "no-dot-at-all"):  # found by schemathesis: was a 500
        assert post(client, "/auth/refresh", {"refresh_token": malformed})[0] == 401


def test_R04_an_expired_access_token_is_refused(client, active, services):
    from datetime import timedelta
    login = give_password(services.store.get_contract(active["contract_id"]).customer_id)
    headers = login_headers(client, login)
    services.clock.advance(timedelta(minutes=services.settings.access_token_minutes, seconds=1))
    # the token's expiry is checked against real time by the JWT library: forge an old one instead
    import jwt
    claims = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})
    claims["exp"] = claims["iat"] - 1
    old = jwt.encode(claims, services.settings.auth_token_secret, algorithm="HS256")
    status, body = get(client, "/me/contracts", {"Authorization": f"Bearer {old}"})
    assert status == 401 and "expired" in body["error"]["message"]


def test_R04_password_change_needs_the_current_one_and_ends_every_session(client, active, services):
    login = give_password(services.store.get_contract(active["contract_id"]).customer_id)
    headers = login_headers(client, login)
    status, body = client.http.put("/me/password", body=json.dumps(
        {"current_password": "wrong-password", "new_password": "a-brand-new-password"}),
        headers={**JSON, **headers}).status_code, None
    assert status == 401
    short = client.http.put("/me/password", body=json.dumps({"current_password": TEST_PASSWORD,
                                                              "new_password": "short"}), headers={**JSON, **headers})
    assert short.status_code == 400
    answer = client.http.put("/me/password", body=json.dumps(
        {"current_password": TEST_PASSWORD, "new_password": "a-brand-new-password"}), headers={**JSON, **headers})
    assert answer.status_code == 200
    assert get(client, "/me/contracts", headers)[0] == 401
    assert post(client, "/auth/login", {"login": login, "password": TEST_PASSWORD})[0] == 401
    assert get(client, "/me/contracts", login_headers(client, login, "a-brand-new-password"))[0] == 200


def test_R04_lost_or_stolen_revokes_every_token_and_the_password_at_once_and_mails_new_credentials(
        client, aws, active, services):
    customer_id = services.store.get_contract(active["contract_id"]).customer_id
    login = give_password(customer_id)
    sessions = [login_headers(client, login) for _ in range(3)]
    queue_messages(aws["queues"]["notices"])  # earlier notices are not this test's
    status, body = post(client, "/me/credentials-lost", headers=sessions[0])
    assert status == 202 and body["sessions_revoked"] is True
    for headers in sessions:  # every previously issued token fails at once
        assert get(client, "/me/contracts", headers)[0] == 401
    assert post(client, "/auth/login", {"login": login, "password": TEST_PASSWORD})[0] == 401
    assert deliver_notices(client, aws) == 1
    email = CustomerModel.get(customer_id).email
    mail = [m for m in sent_mails(services, email) if "perte ou le vol" in m][-1]
    new_login, new_password = credentials_in(mail)
    assert new_login == login
    assert get(client, "/me/contracts", login_headers(client, login, new_password))[0] == 200
    evidence = services.store.evidence_for(customer_id)
    assert any(e["action"] == "account.credentials_lost" for e in evidence)


def test_R04_a_reset_keeps_the_current_password_until_the_new_one_is_used_and_answers_alike_for_unknown_logins(
        client, aws, active, services):
    customer_id = services.store.get_contract(active["contract_id"]).customer_id
    login = give_password(customer_id)
    queue_messages(aws["queues"]["notices"])
    unknown = post(client, "/auth/password-reset", {"login": "sh-nobo-dyho-me00"})
    known = post(client, "/auth/password-reset", {"login": login})
    assert unknown == known and known[0] == 202
    assert deliver_notices(client, aws) == 1  # only the known login gets a mail
    mail = [m for m in sent_mails(services, CustomerModel.get(customer_id).email) if "demande de nouveaux" in m][-1]
    _, new_password = credentials_in(mail)
    assert post(client, "/auth/login", {"login": login, "password": TEST_PASSWORD})[0] == 200  # not locked out
    assert post(client, "/auth/login", {"login": login, "password": new_password})[0] == 200
    assert post(client, "/auth/login", {"login": login, "password": TEST_PASSWORD})[0] == 401  # replaced now
    for _ in range(services.settings.reset_requests_per_login - 1):
        post(client, "/auth/password-reset", {"login": login})
    assert post(client, "/auth/password-reset", {"login": login})[0] == 429


def test_R04_credentials_to_another_address_is_an_operator_action_recorded_with_an_identity_document(
        client, aws, active, services):
    customer_id = services.store.get_contract(active["contract_id"]).customer_id
    login = give_password(customer_id)
    headers = login_headers(client, login)
    queue_messages(aws["queues"]["notices"])
    body = {"email": "new-address@example.fr", "identity_document_ref": "CNI 123456789"}
    assert post(client, f"/admin/customers/{customer_id}/credentials-delivery", body, headers)[0] == 403
    status, answer = post(client, f"/admin/customers/{customer_id}/credentials-delivery", body, OPERATOR)
    assert status == 202 and answer["sent_to"] == "new-address@example.fr"
    assert get(client, "/me/contracts", headers)[0] == 401
    deliver_notices(client, aws)
    assert credentials_in(sent_mails(services, "new-address@example.fr")[-1])[0] == login
    [entry] = [e for e in services.store.evidence_for(customer_id)
                if e["action"] == "account.credentials_sent_elsewhere"]
    assert entry["after"]["identity_document_ref"] == "CNI 123456789" and entry["actor"] == "operator:root"


def test_R06_a_beneficiary_uses_its_contract_but_administers_nothing(client, aws, active, services):
    customer_id = services.store.get_contract(active["contract_id"]).customer_id
    subscriber = login_headers(client, give_password(customer_id))
    queue_messages(aws["queues"]["notices"])
    status, named = post(client, "/me/beneficiaries", {"contract_id": active["contract_id"],
                                                       "email": "webmaster@acme-test.fr", "name": "Webmaster"},
                         subscriber)
    assert status == 201 and named["role"] == "beneficiary" and named["status"] == "pending"
    deliver_notices(client, aws)
    login, password = credentials_in(sent_mails(services, "webmaster@acme-test.fr")[-1])
    beneficiary = login_headers(client, login, password)
    status, mine = get(client, "/me/contracts", beneficiary)
    assert status == 200 and [c["contract_id"] for c in mine["contracts"]] == [active["contract_id"]]
    for method, path, body in (("GET", "/me/invoices", None),
                               ("POST", f"/me/contracts/{active['contract_id']}/options", {"options": ["ssl-pro"]}),
                               ("POST", "/me/beneficiaries", {"contract_id": active["contract_id"],
                                                              "email": "x@example.fr"}),
                               ("POST", "/orders", {})):
        answer = client.http.request(method=method, path=path, body=json.dumps(body) if body is not None else "",
                                     headers={**JSON, **beneficiary})
        assert answer.status_code == 403, (path, answer.body)
        assert json.loads(answer.body)["error"]["code"] == "beneficiary_cannot_administer"
    assert client.http.delete(f"/me/beneficiaries/{login}", headers=subscriber).status_code == 200
    assert get(client, "/me/contracts", beneficiary)[0] == 401  # closed: its sessions ended at once


def test_R04_customer_b_never_reaches_customer_a_objects(client, aws, active, services):
    from tests.helpers import professional_order
    a = services.store.get_contract(active["contract_id"])
    answer = client.http.post("/orders", body=json.dumps(professional_order("other-b.fr", customer={
        "email": "b@other-b.fr"})), headers=JSON)
    b_order = json.loads(answer.body)
    b_customer = services.store.get_order(b_order["order_id"]).customer_id
    b = login_headers(client, give_password(b_customer))
    for path in (f"/me/contracts/{a.contract_id}", f"/me/invoices/{a.invoice_id}"):
        status, body = get(client, path, b)
        assert status == 404, path
    assert get(client, f"/orders/{a.order_id}/pre-contract-information", b)[0] == 404
    assert post(client, f"/orders/{a.order_id}/withdrawal", None, b)[0] == 404
    status, mine = get(client, "/me/contracts", b)
    assert [c["contract_id"] for c in mine["contracts"]] == [b_order["contract_id"]]
    status, invoices = get(client, "/me/invoices", b)
    assert [i["id"] for i in invoices["invoices"]] == [b_order["invoice"]["id"]]


def test_R22_the_customer_prints_its_invoice_as_escaped_html(client, active, services):
    a = services.store.get_contract(active["contract_id"])
    headers = login_headers(client, give_password(a.customer_id))
    answer = client.http.get(f"/me/invoices/{a.invoice_id}", headers={**headers, "Accept": "text/html"})
    assert answer.status_code == 200
    assert {k.lower(): v for k, v in answer.headers.items()}["content-type"].startswith("text/html")
    html = answer.body.decode()
    invoice = services.store.get_invoice(a.invoice_id)
    assert invoice.number in html and "ACME SARL" in html and "Total TTC" in html
    from chalicelib.service.customer_area import invoice_html
    invoice.bill_to = {**invoice.bill_to, "name": "<script>alert(1)</script>"}
    assert "<script>" not in invoice_html(invoice, services) and "&lt;script&gt;" in invoice_html(invoice, services)


def test_R04_scoped_operator_keys_reach_only_their_scopes(client, active, services, monkeypatch):
    import dataclasses
    import hashlib
    keys = {"accountant": {"key_sha256": hashlib.sha256(b"accountant-key-0123456789").hexdigest(),
                           "scopes": ["read", "billing"]}}
    monkeypatch.setattr(services, "settings", dataclasses.replace(services.settings,
                                                                  operator_keys_json=json.dumps(keys)))
    accountant = {"Authorization": "Bearer accountant-key-0123456789"}
    assert get(client, f"/admin/contracts/{active['contract_id']}", accountant)[0] == 200
    status, body = post(client, f"/admin/contracts/{active['contract_id']}/retry-provisioning", None, accountant)
    assert status == 403 and body["error"]["code"] == "missing_scope"
    assert get(client, "/dev/clock", accountant)[0] == 403


def test_node_keys_report_for_their_own_node_only(client, aws, services):
    from chalicelib.entrypoints.auth import node_key
    from tests.integration.conftest import NODE_ID
    mine = {"Authorization": f"Bearer {node_key(services.settings.node_api_secret, NODE_ID)}"}
    assert post(client, f"/nodes/{NODE_ID}/heartbeat", None, mine)[0] == 200
    assert post(client, "/nodes/node-other/heartbeat", None, mine)[0] == 403
    forged = {"Authorization": f"Bearer node.{NODE_ID}.{'0' * 64}"}
    assert post(client, f"/nodes/{NODE_ID}/heartbeat", None, forged)[0] == 401
    assert services.store.get_node(services.settings.node_pool, NODE_ID).last_seen_at
