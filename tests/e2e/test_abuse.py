"""Abuse complaints on the running stack with time travel: the public intake, the consumer, the
answer-deadline timer, measures executed by the node agent, notices mailed (R48, R49, R23, R54).

The business clock is shared by the whole e2e session and only moves forward: every moment here is
computed from what the stack answers (the case's own deadline, the contract's start date)."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import date, datetime, timedelta

from chalicelib.domain.billing import paris_midnight
from chalicelib.domain.calendar import add_months
from devstack.pay import payment_succeeded_event, post_webhook, sign
from tests.e2e.conftest import mails, set_clock, site, wait_until
from tests.helpers import professional_order

LEAD_DAYS = 10  # R21: a monthly instalment is issued 10 days before its month (the stack's default)
DESCRIPTION = "Je reçois chaque jour des publicités non sollicitées envoyées depuis ce domaine."


def pay(stack, invoice: dict, contract_id: str) -> None:
    payload = payment_succeeded_event(invoice["id"], invoice["total_cents"], contract_id=contract_id)
    assert post_webhook(stack.api_url, payload, sign(payload, stack.webhook_secret))[0] == 200


def active_contract(stack, api, domain: str, email: str, siren: str, billing_period: str = "yearly") -> dict:
    status, order = api.call("POST", "/orders", professional_order(
        domain_name=domain, billing_period=billing_period, customer={"email": email, "siren": siren}))
    assert status == 201, order
    pay(stack, order["invoice"], order["contract_id"])
    contract = api.wait_contract(order["contract_id"], {"active"})
    assert site(stack, domain)[0] == 200
    return contract


def complain(api, target: dict, category: str = "spam", reporter: str | None = None, files=()) -> tuple[int, dict]:
    return api.call("POST", "/abuse-reports", {
        "category": category, "target": target, "description": DESCRIPTION, "evidence_files": list(files),
        "reporter": {"email": reporter or f"plaignant-{uuid.uuid4().hex[:8]}@exemple.org"}})


def cases_of(api, contract_id: str) -> list[dict]:
    status, body = api.call("GET", "/admin/abuse-cases", operator=True)
    assert status == 200, body
    return [c for c in body["cases"] if c["contract_id"] == contract_id]


def notified_case(api, contract_id: str, known: set[str] = frozenset()) -> dict:
    return wait_until(lambda: next((c for c in cases_of(api, contract_id) if c["case_id"] not in known
                                    and c["status"] == "customer_notified"), None), "a case notified to the customer")


def node_space(stack, domain: str) -> dict:
    """R49: the space as the node applies it (its read-only status on the node's own address)."""
    with urllib.request.urlopen(f"{stack.node_url}/_node/spaces/{domain}", timeout=10) as answer:
        return json.loads(answer.read())


def after(deadline_iso: str) -> datetime:
    return datetime.fromisoformat(deadline_iso) + timedelta(minutes=1)


def sent(api, email: str, template: str) -> list[dict]:
    return [m for m in mails(api, email) if m["template"] == template and m["status"] == "sent"]


def without_ids(value):
    if isinstance(value, dict):
        return {k: (type(v).__name__ if k in ("report_id", "url", "key", "policy", "x-amz-signature",
                                             "x-amz-credential", "x-amz-date") else without_ids(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def post_form(url: str, fields: dict, filename: str, content: bytes, content_type: str) -> int:
    """A browser's multipart/form-data POST of a pre-signed upload (the file last, as S3 wants)."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_R48_the_intake_answers_identically_for_a_hosted_and_a_non_hosted_domain(stack, api):
    contract = active_contract(stack, api, "e2e-abuse-intake.fr", f"abuse-intake-{stack.resource_prefix}@acme-e2e.fr",
                               "505000018")
    png = [{"filename": "capture.png", "content_type": "image/png", "size_bytes": 64}]
    complain(api, {"domain": "chauffe-e2e.fr"})  # the first call of the process warms its caches
    hosted = complain(api, {"domain": "e2e-abuse-intake.fr"}, files=png)
    other = complain(api, {"domain": "pas-chez-nous-e2e.fr"}, files=png)
    assert hosted[0] == other[0] == 202, (hosted, other)
    assert without_ids(hosted[1]) == without_ids(other[1])
    assert hosted[1]["status"] == "received" and len(hosted[1]["uploads"]) == 1

    # R48: the evidence file goes straight to S3 with the pre-signed form (its size and type conditions,
    # checked by S3 itself, are in the integration tier: the emulator does not enforce them).
    upload = hosted[1]["uploads"][0]
    assert post_form(upload["url"], upload["fields"], "capture.png", b"\x89PNG" + b"\0" * 60, "image/png") in (200, 204)

    # Matching happens afterwards: the hosted domain gets a case, the other one none.
    case = notified_case(api, contract["contract_id"])
    assert case["domain"] == "e2e-abuse-intake.fr"
    status, view = api.call("GET", f"/admin/abuse-cases/{case['case_id']}", operator=True)
    assert status == 200 and view["reports"][0]["evidence_files"][0]["key"] == upload["fields"]["key"]
    with urllib.request.urlopen(view["reports"][0]["evidence_files"][0]["download_url"], timeout=10) as answer:
        assert answer.read().startswith(b"\x89PNG")
    status, listed = api.call("GET", "/admin/abuse-cases", operator=True)
    assert not [c for c in listed["cases"] if c["domain"] == "pas-chez-nous-e2e.fr"]


def test_R48_R49_spam_unanswered_restricts_outgoing_mail_then_a_second_complaint_suspends(stack, api):
    email = f"abuse-spam-{stack.resource_prefix}@acme-e2e.fr"
    domain = "e2e-abuse-spam.fr"
    contract = active_contract(stack, api, domain, email, "505000026")
    contract_id = contract["contract_id"]

    # R48: a spam complaint: the customer is told what (never who) and until when to answer.
    assert complain(api, {"mailbox": f"newsletter@{domain}"}, reporter="victime-spam@exemple.org")[0] == 202
    first = notified_case(api, contract_id)
    [told] = wait_until(lambda: sent(api, email, "abuse_complaint"), "complaint mailed to the customer")
    assert f"newsletter@{domain}" in told["body"] and "victime-spam" not in told["body"]
    assert node_space(stack, domain)["mail_outgoing"] == "allowed"

    # No answer by the deadline: the matrix's measure (spam, serious, first) blocks outgoing mail.
    set_clock(api, after(first["answer_deadline"]))
    api.wait_contract(contract_id, {"restricted"})
    space = wait_until(lambda: (lambda s: s if s["mail_outgoing"] == "blocked" else None)(node_space(stack, domain)),
                       "outgoing mail blocked on the node")
    assert (space["state"], space["reason"]) == ("restricted", "abuse")
    assert site(stack, domain)[0] == 200  # a restricted site is still served
    [measure] = wait_until(lambda: sent(api, email, "abuse_measure"), "measure mailed")
    assert "envoi d'e-mails" in measure["body"] and "bloqué" in measure["body"]

    # A second complaint within the recurrence window: at its deadline, suspension (site 503).
    assert complain(api, {"url": f"https://www.{domain}/promo"})[0] == 202
    second = notified_case(api, contract_id, known={first["case_id"]})
    set_clock(api, after(second["answer_deadline"]))
    suspended = api.wait_contract(contract_id, {"suspended"})
    assert suspended["holds"] == {"abuse": "suspended"}
    wait_until(lambda: site(stack, domain)[0] == 503, "site suspended")
    assert node_space(stack, domain)["mail_outgoing"] == "blocked"
    status, view = api.call("GET", f"/admin/abuse-cases/{second['case_id']}", operator=True)
    assert [(m["measure"], m["recurrence"]) for m in view["measures"]] == [("suspend", "repeat")]
    wait_until(lambda: len(sent(api, email, "abuse_measure")) == 2, "suspension mailed")


def test_R49_R23_illegal_content_confirmed_is_suspended_at_once_and_paying_an_invoice_does_not_lift_it(stack, api):
    email = f"abuse-illegal-{stack.resource_prefix}@acme-e2e.fr"
    domain = "e2e-abuse-illegal.fr"
    contract = active_contract(stack, api, domain, email, "505000034", billing_period="monthly")
    contract_id, start = contract["contract_id"], date.fromisoformat(contract["starts_on"])

    # R49: an illegal-content report, confirmed manifestly illegal by an operator: suspended at once.
    assert complain(api, {"url": f"https://{domain}/galerie"}, category="illegal_content")[0] == 202
    case = notified_case(api, contract_id)
    status, view = api.call("POST", f"/admin/abuse-cases/{case['case_id']}/severity",
                            {"severity": "manifestly_illegal", "note": "contenu vérifié"}, operator=True)
    assert status == 200 and view["status"] == "measure_applied", view
    assert [(m["measure"], m["immediate"]) for m in view["measures"]] == [("suspend", True)]
    assert api.contract(contract_id)["status"] == "suspended"  # in the operator's request, not later
    wait_until(lambda: site(stack, domain)[0] == 503, "site suspended at once")
    [measure] = wait_until(lambda: sent(api, email, "abuse_measure"), "measure mailed (after it, 17.4)")
    assert "immédiatement et sans préavis" in measure["body"]

    # R23: month 2 is invoiced and paid late: the non-payment hold joins, then is lifted by the payment;
    # the abuse suspension stays (paying an invoice never lifts it).
    from tests.e2e.test_monthly_overdue import instalment
    set_clock(api, paris_midnight(add_months(start, 1) - timedelta(days=LEAD_DAYS)))
    month_2 = wait_until(lambda: instalment(api, contract_id, 2), "month 2 invoiced")
    set_clock(api, paris_midnight(date.fromisoformat(month_2["due_date"])) + timedelta(hours=1))
    wait_until(lambda: api.contract(contract_id)["holds"] == {"abuse": "suspended", "non_payment": "restricted"},
               "non-payment hold next to the abuse one")
    time.sleep(1.5)  # each process reads the shared clock offset at most once a second
    pay(stack, month_2, contract_id)
    wait_until(lambda: instalment(api, contract_id, 2)["status"] == "paid", "month 2 paid")
    held = wait_until(lambda: (lambda c: c if c["holds"] == {"abuse": "suspended"} else None)(
        api.contract(contract_id)), "non-payment hold lifted")
    assert held["status"] == "suspended"
    time.sleep(2)
    assert site(stack, domain)[0] == 503
    receipt = wait_until(lambda: [m for m in sent(api, email, "payment_received") if month_2["number"] in m["subject"]],
                         "receipt mailed")[0]
    assert "fonctionne de nouveau normalement" not in receipt["body"]

    # Lifting the abuse hold (an operator's decision) serves the site again.
    status, view = api.call("POST", f"/admin/abuse-cases/{case['case_id']}/lift", {"note": "contenu retiré"},
                            operator=True)
    assert status == 200 and view["contract"] == {"status": "active", "holds": {}}, view
    wait_until(lambda: site(stack, domain)[0] == 200, "site served again")
    assert node_space(stack, domain)["mail_outgoing"] == "allowed"
