"""A monthly contract on the running stack with time travel: real timers, queues, node agent and
mail (R21 monthly instalments, R23 restriction then suspension of an unpaid month lifted at once
by its payment, R24 penalty invoice, R54 notices).

The business clock is shared by the whole e2e session and only moves forward, so every moment
here is computed from the contract's own start date (the clock's day when the order is placed).
"""
from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from chalicelib.domain.billing import paris_midnight
from chalicelib.domain.calendar import add_months, late_penalty_cents
from devstack.pay import payment_succeeded_event, post_webhook, sign
from tests.e2e.conftest import mails, set_clock, site, wait_until
from tests.helpers import professional_order

LEAD_DAYS, SUSPEND_DAYS = 10, 7  # the stack runs with the default settings


def pay(stack, invoice: dict) -> None:
    payload = payment_succeeded_event(invoice["id"], invoice["total_cents"], contract_id=invoice["contract_id"])
    assert post_webhook(stack.api_url, payload, sign(payload, stack.webhook_secret))[0] == 200


def invoices(api, contract_id: str) -> list[dict]:
    return api.contract(contract_id)["invoices"]


def instalment(api, contract_id: str, n: int) -> dict | None:
    return next((i for i in invoices(api, contract_id)
                 if i["purpose"] == "period" and (i["details"] or {}).get("instalment") == n), None)


def test_R21_R23_R24_unpaid_month_is_restricted_then_suspended_and_restored_at_once_with_penalties(stack, api):
    email = f"monthly-{stack.resource_prefix}@acme-e2e.fr"
    domain = "e2e-monthly.fr"
    # Its own SIREN: the missed due date makes this customer a bad payer (R25) for the session's
    # other professional orders otherwise.
    status, order = api.call("POST", "/orders", professional_order(
        domain_name=domain, billing_period="monthly", customer={"email": email, "siren": "404000002"}))
    assert status == 201, order
    assert order["invoice"]["total_cents"] == 719  # R21: month 1 in advance, (4,99 + 1,00) HT + 20 % VAT
    pay(stack, {**order["invoice"], "contract_id": order["contract_id"]})
    contract = api.wait_contract(order["contract_id"], {"active"})
    assert contract["billing_period"] == "monthly"
    assert site(stack, domain)[0] == 200
    contract_id, start = order["contract_id"], date.fromisoformat(contract["starts_on"])
    space = Path(stack.workdir) / "node" / stack.node_id / "sites" / domain

    # R21: month 2 is invoiced 10 days before it starts, on its own invoice; paid on time.
    set_clock(api, paris_midnight(add_months(start, 1) - timedelta(days=LEAD_DAYS)))
    month_2 = wait_until(lambda: instalment(api, contract_id, 2), "month 2 invoiced")
    assert (month_2["due_date"], month_2["total_cents"]) == (add_months(start, 1).isoformat(), 719)
    pay(stack, month_2)
    wait_until(lambda: instalment(api, contract_id, 2)["status"] == "paid", "month 2 paid")

    # Month 3 is invoiced and left unpaid.
    set_clock(api, paris_midnight(add_months(start, 2) - timedelta(days=LEAD_DAYS)))
    month_3 = wait_until(lambda: instalment(api, contract_id, 3), "month 3 invoiced")
    due = date.fromisoformat(month_3["due_date"])
    assert due == add_months(start, 2) and month_3["number"] != month_2["number"]

    # R23: restricted at 00:00 Paris on the due date: the site still answers.
    set_clock(api, paris_midnight(due))
    api.wait_contract(contract_id, {"restricted"})
    assert site(stack, domain)[0] == 200

    # R23: suspended at D+7: 503, files kept.
    set_clock(api, paris_midnight(due + timedelta(days=SUSPEND_DAYS)))
    api.wait_contract(contract_id, {"suspended"})
    wait_until(lambda: site(stack, domain)[0] == 503, "site suspended")
    assert (space / "htdocs" / "index.html").exists()

    # Paid at D+9: active and served again at once; R24: a penalty invoice for 9 days + EUR 40.
    paid_on = due + timedelta(days=9)
    set_clock(api, paris_midnight(paid_on) + timedelta(hours=10))
    view = api.call("GET", f"/admin/invoices/{month_3['id']}", operator=True)[1]
    rate = Decimal(view["late_penalty_rate_percent"])
    assert view["days_late"] == 9
    assert view["accrued_penalty_cents"] == late_penalty_cents(719, rate, due, paid_on, False)
    time.sleep(1.5)  # each process reads the shared clock offset at most once a second
    pay(stack, month_3)
    api.wait_contract(contract_id, {"active"})
    wait_until(lambda: site(stack, domain)[0] == 200, "site served again")
    penalty = wait_until(lambda: next((i for i in invoices(api, contract_id) if i["purpose"] == "penalty"), None),
                         "penalty invoice")
    status, penalty = api.call("GET", f"/admin/invoices/{penalty['id']}", operator=True)
    assert status == 200
    assert penalty["total_cents"] == late_penalty_cents(719, rate, due, paid_on, True)
    assert penalty["total_cents"] == late_penalty_cents(719, rate, due, paid_on, False) + 4000
    assert (penalty["penalty_of"], penalty["vat_cents"], penalty["status"]) == (month_3["id"], 0, "issued")

    # R54: every notice of the billing cycle was mailed (others, e.g. at activation, may join them).
    expected = {"invoice_issued": 4, "payment_received": 3, "contract_restricted": 1, "contract_suspended": 1}

    def all_mailed() -> bool:
        sent = [m["template"] for m in mails(api, email) if m["status"] == "sent"]
        return {template: sent.count(template) for template in expected} == expected

    try:
        wait_until(all_mailed, "every notice mailed")
    except AssertionError:
        raise AssertionError([(m["template"], m["status"]) for m in mails(api, email)]) from None
    [restored] = [m for m in mails(api, email)
                  if m["template"] == "payment_received" and month_3["number"] in m["subject"]]
    assert "fonctionne de nouveau normalement" in restored["body"]
