"""From the order to the customer's own page over FTP on the running stack: the space-ready mail gives
the FTP access (R28), the upload is served by the node, and the node's first-use report reaches the
contract (R32, which ends a consumer's withdrawal right, R13)."""
from __future__ import annotations

import ftplib
import io
import re
import time

from devstack.pay import payment_succeeded_event, post_webhook, sign
from tests.e2e.conftest import site, wait_until
from tests.helpers import consumer_order

PAGE = "<!doctype html><html lang=\"fr\"><body><h1>Atelier Dupont, ouvert le samedi</h1></body></html>"


def space_ready_mail(stack, to: str):
    """The space-ready mail as SES sent it (read from the emulator): the stored copy masks the
    FTP password (R28), only the mail itself carries it."""
    from devstack.mailbox import sent_mails
    found = [m for m in sent_mails(stack.endpoint, to) if "est prêt" in m["subject"]]
    return found[0] if found else None


def test_R28_R32_R13_the_customer_uploads_over_ftp_the_first_use_reaches_the_contract_and_ends_withdrawal(stack, api):
    email = f"ftp-{stack.resource_prefix}@dupont-e2e.fr"
    status, order = api.call("POST", "/orders", consumer_order(domain_name="e2e-ftp.fr", customer={"email": email}))
    assert status == 201, order
    payload = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"])
    assert post_webhook(stack.api_url, payload, sign(payload, stack.webhook_secret))[0] == 200
    contract = api.wait_contract(order["contract_id"], {"active", "provisioning_failed"})
    assert contract["status"] == "active" and contract["first_used_at"] is None
    status, placeholder = site(stack, "e2e-ftp.fr")
    assert status == 200 and "e2e-ftp.fr" in placeholder

    # R28: the mail names the FTP server, the login (the domain) and the password.
    mail = wait_until(lambda: space_ready_mail(stack, email), "space-ready mail")
    body = mail["body"]
    host, port = stack.ftp_address
    assert f"- serveur : {host}:{port}\n- identifiant : e2e-ftp.fr\n" in body
    assert "droit de rétractation prend fin" in body  # a consumer (R13)
    password = re.search(r"- mot de passe : (\S+)\n", body).group(1)

    with ftplib.FTP() as client:
        client.connect(host, port, timeout=15)
        try:
            client.login("e2e-ftp.fr", password + "x")
            raise AssertionError("a wrong password was accepted")
        except ftplib.error_perm as refused:
            assert str(refused).startswith("530")
    with ftplib.FTP() as client:
        client.connect(host, port, timeout=15)
        client.login("e2e-ftp.fr", password)
        assert client.storbinary("STOR index.html", io.BytesIO(PAGE.encode())).startswith("226")

    assert site(stack, "e2e-ftp.fr") == (200, PAGE)

    # R32: the node's report reaches the contract once: the first login, with its evidence (R56).
    # The login's and the upload's reports may arrive in either order: the earliest use (the login) is
    # what stays recorded.
    wait_until(lambda: api.contract(order["contract_id"])["first_used_at"], "first use")
    contract = wait_until(
        lambda: (c := api.contract(order["contract_id"]))["first_use"]["usage"] == "ftp_login" and c,
        "the login recorded as the first use",
        describe=lambda: [(e["action"], e["after"]) for e in api.contract(order["contract_id"])["evidence"]
                          if e["action"].startswith("contract.first_use")])
    assert contract["first_use"]["node_id"] == stack.node_id
    time.sleep(2)  # nothing changes it afterwards
    again = api.contract(order["contract_id"])
    assert (again["first_used_at"], again["first_use"]) == (contract["first_used_at"], contract["first_use"])
    assert [e["action"] for e in again["evidence"]].count("contract.first_use") == 1

    # R13 + R32: the consumer used the space first, so the withdrawal is refused (still in the 14 days).
    token = {"Authorization": f"Bearer {order['order_token']}"}
    status, refusal = api.call("POST", order["links"]["withdrawal"], {}, headers=token)
    assert status == 409, refusal
    assert refusal["error"]["code"] == "withdrawal_right_lost_by_first_use"
    assert api.contract(order["contract_id"])["status"] == "active"
    assert site(stack, "e2e-ftp.fr") == (200, PAGE)
