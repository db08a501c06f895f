"""Support tickets on the running stack with time travel (R43 deadline in Paris business hours and its
breach timer, R45 incidents, R54 the acknowledgment mail).

The business clock is shared by the whole e2e session and only moves forward, so the moment of the
ticket is computed from the clock as this test finds it: the next Friday followed by a Monday that
is a French public holiday (Easter Monday, Whit Monday, or a fixed holiday falling on a Monday).
"""
from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta

from chalicelib.domain.calendar import PARIS, is_business_day, is_public_holiday
from chalicelib.service.notice_templates import datetime_fr
from devstack.mailbox import sent_mails
from devstack.pay import payment_succeeded_event, post_webhook, sign
from tests.e2e.conftest import mails, set_clock, wait_until
from tests.helpers import professional_order


def credentials(stack, email: str) -> tuple[str, str]:
    """R04: the login and password of the mail sent at conclusion (read as sent, from the emulator)."""
    mail = wait_until(lambda: [m for m in sent_mails(stack.endpoint, email) if "Votre contrat est conclu" in m["body"]],
                      f"credentials mail to {email}")[-1]
    return (re.search(r"identifiant : (\S+)", mail["body"]).group(1),
            re.search(r"mot de passe : (\S+)", mail["body"]).group(1))


def next_friday_before_a_monday_holiday(after: datetime) -> date:
    day = after.astimezone(PARIS).date() + timedelta(days=1)
    while not (day.weekday() == 4 and is_business_day(day) and is_public_holiday(day + timedelta(days=3))):
        day += timedelta(days=1)
    return day


def nth_business_day_after(day: date, n: int) -> date:
    while n:
        day += timedelta(days=1)
        n -= is_business_day(day)
    return day


def test_R43_R45_a_ticket_opened_friday_16h30_before_a_monday_holiday_gets_its_deadline_and_breach(stack, api):
    email = f"tickets-{stack.resource_prefix}@acme-e2e.fr"
    domain = "e2e-tickets.fr"
    status, order = api.call("POST", "/orders", professional_order(
        domain_name=domain, customer={"email": email, "siren": "404000010"}))
    assert status == 201, order
    payment = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"],
                                      contract_id=order["contract_id"])
    assert post_webhook(stack.api_url, payment, sign(payment, stack.webhook_secret))[0] == 200
    api.wait_contract(order["contract_id"], {"active"})
    login, password = credentials(stack, email)

    # Friday 16:30 Paris, the Monday after is a public holiday (e.g. Whit Monday).
    status, clock = api.call("GET", "/dev/clock", operator=True)
    assert status == 200, clock
    friday = next_friday_before_a_monday_holiday(datetime.fromisoformat(clock["now"]))
    opened_at = datetime(friday.year, friday.month, friday.day, 16, 30, tzinfo=PARIS)
    set_clock(api, opened_at)
    time.sleep(1.5)  # each process reads the shared clock offset at most once a second
    status, session = api.call("POST", "/auth/login", {"login": login, "password": password})
    assert status == 200, session
    me = {"Authorization": f"Bearer {session['access_token']}"}
    status, ticket = api.call("POST", "/me/tickets", {
        "kind": "incident", "subject": "Site inaccessible", "message": "Le site répond une erreur 502.",
        "contract_id": order["contract_id"],
        "incident": {"started_at": (opened_at - timedelta(minutes=30)).isoformat(), "url": f"http://{domain}/"}},
        headers=me)
    assert status == 201, ticket
    created = datetime.fromisoformat(ticket["created_at"])
    assert abs(created - opened_at) < timedelta(minutes=1), (created, opened_at)

    # R43: the 30 minutes left on Friday, the holiday Monday skipped, then 47 h 30 of business hours:
    # five full business days from Tuesday and 7 h 30 on the sixth, i.e. the same time of day as the opening.
    deadline = datetime.fromisoformat(ticket["deadline_at"]).astimezone(PARIS)
    expected_day = nth_business_day_after(friday, 6)
    assert expected_day > friday + timedelta(days=10)  # the Monday (and the weekend) did not count
    assert deadline.date() == expected_day, (friday, deadline)
    assert created.astimezone(PARIS).date() == friday and deadline.time() == created.astimezone(PARIS).time()
    ack = wait_until(lambda: [m for m in mails(api, email) if m["template"] == "ticket_received"
                              and m["status"] == "sent"], "acknowledgment mailed")[0]
    assert ticket["ticket_id"] in ack["subject"] and datetime_fr(ticket["deadline_at"]) in ack["body"]

    # Operators see it among the open tickets, soonest deadline first, not breached yet.
    status, listed = api.call("GET", "/admin/tickets?state=open&limit=500", operator=True)
    assert status == 200, listed
    deadlines = [t["deadline_at"] for t in listed["tickets"]]
    assert deadlines == sorted(deadlines)
    [mine] = [t for t in listed["tickets"] if t["ticket_id"] == ticket["ticket_id"]]
    assert mine["breached"] is False

    # Just before the deadline nothing is flagged; past it, the timer flags the breach and alerts operators.
    set_clock(api, deadline - timedelta(minutes=2))
    time.sleep(2)
    assert api.call("GET", f"/admin/tickets/{ticket['ticket_id']}", operator=True)[1]["breach_flagged_at"] is None
    set_clock(api, deadline + timedelta(minutes=1))
    flagged = wait_until(lambda: (lambda view: view if view["breach_flagged_at"] else None)(
        api.call("GET", f"/admin/tickets/{ticket['ticket_id']}", operator=True)[1]), "breach flagged")
    assert flagged["breached"] is True and flagged["state"] == "open"
    status, alerts = api.call("GET", "/admin/alerts", operator=True)
    assert [a for a in alerts["alerts"] if a["kind"] == "ticket_deadline_breached"
            and a["refs"]["ticket_id"] == ticket["ticket_id"]]

    # Taken into account now: recorded as late, and it leaves the open list.
    status, taken = api.call("POST", f"/admin/tickets/{ticket['ticket_id']}/taken-into-account", operator=True)
    assert status == 200, taken
    assert (taken["state"], taken["taken_on_time"]) == ("taken_into_account", False)
    status, listed = api.call("GET", "/admin/tickets?state=open&limit=500", operator=True)
    assert ticket["ticket_id"] not in [t["ticket_id"] for t in listed["tickets"]]
