"""A consumer withdraws on the running stack (R13, R22, R27): ordered on a Saturday whose 15th
following day is a Sunday, paid, site up, withdrawn on the Monday: the node removes the space,
the credit note is issued, the confirmation mail sent and the refund, once made at the provider,
closes the operator's refund_due alert."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from chalicelib.domain.calendar import PARIS, next_business_day
from devstack.pay import charge_refunded_event, intent_id_of, payment_succeeded_event, post_webhook, sign
from tests.e2e.conftest import mails, set_clock, site, wait_until
from tests.helpers import consumer_order


def first_saturday_with_a_sunday_day_15(after: date) -> date:
    """The first validation day after `after` whose 15th following day is a Sunday with a
    business Monday after it, from the calendar (the shared e2e clock only moves forward)."""
    day = after + timedelta(days=1)
    while not ((day + timedelta(days=15)).weekday() == 6
               and next_business_day(day + timedelta(days=15)) == day + timedelta(days=16)):
        day += timedelta(days=1)
    return day


def refund_alerts(api, order_id: str) -> list[dict]:
    status, body = api.call("GET", "/admin/alerts", operator=True)
    assert status == 200, body
    return [a for a in body["alerts"] if a["kind"] == "refund_due" and a["refs"].get("order_id") == order_id]


def test_R13_a_consumer_withdraws_on_the_monday_after_a_sunday_day_15_space_removed_credit_note_refund(stack, api):
    email = f"withdraw-{stack.resource_prefix}@dupont-e2e.fr"
    domain = "e2e-withdraw.fr"
    status, clock = api.call("GET", "/dev/clock", operator=True)
    assert status == 200, clock
    validation_day = first_saturday_with_a_sunday_day_15(datetime.fromisoformat(clock["now"]).astimezone(PARIS).date())
    set_clock(api, datetime.combine(validation_day, time(10, 0), tzinfo=PARIS))

    status, order = api.call("POST", "/orders", consumer_order(domain_name=domain, customer={"email": email}))
    assert status == 201, order
    token = {"Authorization": f"Bearer {order['order_token']}"}
    status, info = api.call("GET", order["links"]["pre_contract_information"], headers=token)
    assert status == 200 and info["withdrawal"]["last_day"] == (validation_day + timedelta(days=16)).isoformat()

    payment = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"],
                                      contract_id=order["contract_id"])
    assert post_webhook(stack.api_url, payment, sign(payment, stack.webhook_secret))[0] == 200
    api.wait_contract(order["contract_id"], {"active"})
    assert site(stack, domain)[0] == 200

    set_clock(api, datetime.combine(validation_day + timedelta(days=16), time(18, 0), tzinfo=PARIS))  # the Monday
    status, outcome = api.call("POST", order["links"]["withdrawal"], {}, headers=token)
    assert status in (200, 201), outcome
    assert api.call("POST", order["links"]["withdrawal"], {}, headers=token) == (200, outcome)
    contract = api.contract(order["contract_id"])
    assert contract["status"] == "withdrawn"
    wait_until(lambda: site(stack, domain)[0] == 404, "space removed by the node")
    wait_until(lambda: [m for m in mails(api, email) if m["template"] == "withdrawal_confirmed" and m["status"] == "sent"],
               "withdrawal mail sent")
    [mail] = [m for m in mails(api, email) if m["template"] == "withdrawal_confirmed"]
    assert domain in mail["body"] and "rembours" in mail["body"]

    status, note = api.call("GET", f"/admin/invoices/{outcome['credit_note']['id']}", operator=True)
    assert status == 200, note
    assert note["kind"] == "credit_note" and note["credits_invoice_id"] == order["invoice"]["id"]
    assert note["total_cents"] == -order["invoice"]["total_cents"]  # no domain fees spent yet: all refunded
    assert outcome["refund_due_cents"] == order["invoice"]["total_cents"]

    # R27: the operator refunds at the provider; its charge.refunded closes the refund due.
    assert len(refund_alerts(api, order["order_id"])) == 1
    refund = charge_refunded_event(intent_id_of(payment), outcome["refund_due_cents"])
    for _ in range(2):
        assert post_webhook(stack.api_url, refund, sign(refund, stack.webhook_secret))[0] == 200
    wait_until(lambda: not refund_alerts(api, order["order_id"]), "refund_due alert closed",
               describe=lambda: (refund_alerts(api, order["order_id"]), [
                   (e["action"], e["after"]) for e in api.contract(order["contract_id"])["evidence"]
                   if "refund" in e["action"] or "payment" in e["action"]]))
    status, invoice = api.call("GET", f"/admin/invoices/{order['invoice']['id']}", operator=True)
    assert invoice["refunded_cents"] == outcome["refund_due_cents"]
