"""A whole contract year replayed with time travel on the running stack: real timers, queues,
SES mail and node agent (R16, R17, R19, R20, R54)."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path

from chalicelib.domain.calendar import PARIS
from devstack.pay import payment_succeeded_event, post_webhook, sign
from tests.e2e.conftest import mails, set_clock, site, templates, wait_until  # noqa: F401
from tests.helpers import professional_order


def test_R17_R19_R20_a_year_without_renewal_notice_suspension_warning_deletion(stack, api):
    email = f"year-{stack.resource_prefix}@acme-e2e.fr"
    status, order = api.call("POST", "/orders", professional_order(
        domain_name="e2e-year.fr", customer={"email": email}))
    assert status == 201, order
    payload = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"],
                                      contract_id=order["contract_id"])
    assert post_webhook(stack.api_url, payload, sign(payload, stack.webhook_secret))[0] == 200
    contract = api.wait_contract(order["contract_id"], {"active"})
    assert site(stack, "e2e-year.fr")[0] == 200
    end = datetime.combine(date.fromisoformat(contract["ends_on"]), datetime.min.time(), tzinfo=PARIS)
    space = Path(stack.workdir) / "node" / stack.node_id / "sites" / "e2e-year.fr"

    # R17: the notice leaves 60 days before the end, once, even if the sweep runs again.
    set_clock(api, end - timedelta(days=60) + timedelta(hours=9))
    wait_until(lambda: "expiry_notice" in templates(api, email), "expiry notice")
    set_clock(api, end - timedelta(days=59))
    time.sleep(2)
    # R04: the customer's credentials come with the conclusion; R17: one expiry notice; R37: the name registered
    assert templates(api, email) == ["credentials_issued", "domain_registered", "expiry_notice", "invoice_issued",
                                     "payment_received", "space_ready"]
    [notice] = [m for m in mails(api, email) if m["template"] == "expiry_notice"]
    assert "e2e-year.fr" in notice["body"] and notice["to"] == email

    # R19: at the end an unrenewed contract is suspended: 503, files kept (R20).
    set_clock(api, end)
    wait_until(lambda: api.contract(order["contract_id"])["status"] == "expired", "contract expired")
    wait_until(lambda: site(stack, "e2e-year.fr")[0] == 503, "site suspended")
    assert (space / "htdocs" / "index.html").exists()
    wait_until(lambda: "contract_suspended" in templates(api, email), "suspension notice")

    # R20: warning 7 days before the deletion, then deletion confirmed by the node: 404, files gone.
    set_clock(api, end + timedelta(days=23))
    wait_until(lambda: "deletion_warning" in templates(api, email), "deletion warning")
    assert space.exists() and api.contract(order["contract_id"])["status"] == "expired"
    set_clock(api, end + timedelta(days=30))
    wait_until(lambda: api.contract(order["contract_id"])["status"] == "data_deleted", "data deleted")
    assert site(stack, "e2e-year.fr")[0] == 404
    assert not space.exists()
    wait_until(lambda: "data_deleted" in templates(api, email), "deletion notice")
    # R41/R40: one reminder that the name is renewed only with the solution (the late timers speak once)
    assert templates(api, email) == ["contract_suspended", "credentials_issued", "data_deleted", "deletion_warning",
                                     "domain_registered", "domain_renewal_reminder", "expiry_notice",
                                     "invoice_issued", "payment_received", "space_ready"]
    assert all(m["status"] == "sent" for m in mails(api, email))


def test_R18_a_renewed_contract_continues_at_the_old_end_date_and_the_site_never_stops(stack, api):
    email = f"renew-{stack.resource_prefix}@acme-e2e.fr"
    status, order = api.call("POST", "/orders", professional_order(
        domain_name="e2e-renew.fr", customer={"email": email}))
    assert status == 201, order
    payload = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"])
    assert post_webhook(stack.api_url, payload, sign(payload, stack.webhook_secret))[0] == 200
    contract = api.wait_contract(order["contract_id"], {"active"})
    end = datetime.combine(date.fromisoformat(contract["ends_on"]), datetime.min.time(), tzinfo=PARIS)
    set_clock(api, end - timedelta(days=60) + timedelta(hours=9))
    wait_until(lambda: "expiry_notice" in templates(api, email), "expiry notice")

    status, renewal = api.call("POST", f"/admin/contracts/{order['contract_id']}/renewal",
                               {"terms": {"version": "2026-09", "accepted": True}, "channel": "web"}, operator=True)
    assert status == 201, renewal
    payload = payment_succeeded_event(renewal["invoice"]["id"], renewal["invoice"]["total_cents"],
                                      contract_id=renewal["contract_id"])
    assert post_webhook(stack.api_url, payload, sign(payload, stack.webhook_secret))[0] == 200
    assert api.wait_contract(renewal["contract_id"], {"scheduled"})["starts_on"] == contract["ends_on"]

    set_clock(api, end)
    assert api.wait_contract(renewal["contract_id"], {"active"})["node_id"] == contract["node_id"]
    assert api.contract(order["contract_id"])["status"] == "renewed"
    for _ in range(5):  # the site keeps answering across the end date
        assert site(stack, "e2e-renew.fr")[0] == 200
        time.sleep(0.3)
    set_clock(api, end + timedelta(days=31))  # past the old contract's retention: nothing is deleted
    time.sleep(2)
    assert site(stack, "e2e-renew.fr")[0] == 200
    assert api.contract(renewal["contract_id"])["status"] == "active"
