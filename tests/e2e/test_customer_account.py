"""A customer's account on the running stack (R04, R06): credentials mailed at conclusion (read
from the emulator's SES, as sent), sign-in, the customer area, "lost or stolen" revoking every
token at once, new credentials by mail."""
from __future__ import annotations

import re
import urllib.request

from devstack.mailbox import sent_mails
from devstack.pay import payment_succeeded_event, post_webhook, sign
from tests.e2e.conftest import mails, wait_until
from tests.helpers import consumer_order


def credentials(stack, email: str, marker: str) -> tuple[str, str]:
    mail = wait_until(lambda: [m for m in sent_mails(stack.endpoint, email) if marker in m["body"]],
                      f"credentials mail ({marker}) to {email}")[-1]
    return (re.search(r"identifiant : (\S+)", mail["body"]).group(1),
            re.search(r"mot de passe : (\S+)", mail["body"]).group(1))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_R04_R06_credentials_at_conclusion_customer_area_and_lost_credentials_revoked_at_once(stack, api):
    email = f"account-{stack.resource_prefix}@dupont-e2e.fr"
    status, order = api.call("POST", "/orders", consumer_order(domain_name="e2e-account.fr", customer={"email": email}))
    assert status == 201, order
    payment = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"],
                                      contract_id=order["contract_id"])
    assert post_webhook(stack.api_url, payment, sign(payment, stack.webhook_secret))[0] == 200
    api.wait_contract(order["contract_id"], {"active"})

    login, password = credentials(stack, email, "Votre contrat est conclu")
    # R04: the stored copy of the mail never holds the password
    stored = wait_until(lambda: [m for m in mails(api, email) if m["template"] == "credentials_issued"
                                 and m["status"] == "sent"], "credentials notice recorded as sent")
    assert all(password not in m["body"] and "jamais conservé" in m["body"] for m in stored)
    status, session = api.call("POST", "/auth/login", {"login": login, "password": password})
    assert status == 200, session
    status, mine = api.call("GET", "/me/contracts", headers=bearer(session["access_token"]))
    assert status == 200 and [c["contract_id"] for c in mine["contracts"]] == [order["contract_id"]]
    request = urllib.request.Request(f"{stack.api_url}/me/invoices/{order['invoice']['id']}",
                                     headers={**bearer(session["access_token"]), "Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200 and order["invoice"]["number"] in answer.read().decode()

    second = api.call("POST", "/auth/login", {"login": login, "password": password})[1]
    status, lost = api.call("POST", "/me/credentials-lost", headers=bearer(session["access_token"]))
    assert status == 202, lost
    for token in (session["access_token"], second["access_token"]):  # every token fails at once
        status, body = api.call("GET", "/me/contracts", headers=bearer(token))
        assert status == 401 and body["error"]["code"] == "invalid_token"
    assert api.call("POST", "/auth/refresh", {"refresh_token": session["refresh_token"]})[0] == 401
    assert api.call("POST", "/auth/login", {"login": login, "password": password})[0] == 401
    same_login, new_password = credentials(stack, email, "perte ou le vol")
    assert same_login == login and new_password != password
    status, again = api.call("POST", "/auth/login", {"login": login, "password": new_password})
    assert status == 200 and api.call("GET", "/me/contracts", headers=bearer(again["access_token"]))[0] == 200
