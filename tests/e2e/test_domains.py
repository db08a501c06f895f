"""Domain names on the running stack (issue 4: R35, R37-R41): the local TLS EPP registry
(devstack/epp_registry.py, driven through its control API as the registries and the other
registrars), the registry poll every 2 s, the node's authoritative DNS server, real mail.

Every test makes its own names (a uuid fragment) and its own customer (its own e-mail), so the
tests are independent. The business clock is shared by the whole e2e session and only moves
forward: every moment here is computed from the clock (`GET /dev/clock`) or from what the
stack answered (a contract's start, a domain's expiry). Two tests travel in time (R39: one
month; R41: to a month before the domains' expiry).
"""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from datetime import date, datetime, timedelta

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from chalicelib.domain.billing import paris_midnight
from chalicelib.domain.calendar import PARIS, add_months
from devstack.mailbox import sent_mails
from devstack.pay import payment_succeeded_event, post_webhook, sign
from tests.e2e.conftest import mails, set_clock, wait_until
from tests.helpers import consumer_order

OTHER_REGISTRAR = "other-registrar"
MONTHLY_LEAD_DAYS = 10  # month n+1 is invoiced this many days before it starts (default settings)


# ---- helpers ------------------------------------------------------------------------------------------
def unique(prefix: str, tld: str) -> str:
    return f"e2e-{prefix}-{uuid.uuid4().hex[:10]}.{tld}"


def email_for(stack, name: str) -> str:
    return f"{name.split('.')[0]}-{stack.resource_prefix}@dupont-e2e.fr"


def http(method: str, url: str, body=None, headers=None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"{}")
    except ValueError:
        return status, raw.decode(errors="replace")


def registry(stack, method: str, path: str, body=None) -> tuple[int, object]:
    """The local EPP registry's control API (the registries' and the other registrars' side)."""
    return http(method, stack.registry_control_url + path, body)


def at_registry(stack, name: str) -> dict | None:
    status, body = registry(stack, "GET", f"/control/domains/{name}")
    assert status in (200, 404), (status, body)
    return body if status == 200 else None


def seed_foreign_domain(stack, name: str, now: datetime, *, created_days_ago: int, expires_in_days: int,
                        auth_code: str) -> dict:
    status, body = registry(stack, "POST", "/control/domains", {
        "name": name, "registrar": OTHER_REGISTRAR, "auth_code": auth_code,
        "created_at": (now - timedelta(days=created_days_ago)).isoformat(),
        "expires_at": (now + timedelta(days=expires_in_days)).isoformat()})
    assert status == 201, body
    return body


def clock_now(api) -> datetime:
    status, body = api.call("GET", "/dev/clock", operator=True)
    assert status == 200, body
    return datetime.fromisoformat(body["now"])


def travel_to(api, moment: datetime) -> None:
    """Time travel forward only (the shared clock never goes back); each process reads the clock
    offset at most once a second."""
    if moment > clock_now(api):
        set_clock(api, moment)
        time.sleep(1.5)


def pay(stack, invoice: dict, contract_id: str) -> None:
    payload = payment_succeeded_event(invoice["id"], invoice["total_cents"], contract_id=contract_id)
    status, body = post_webhook(stack.api_url, payload, sign(payload, stack.webhook_secret))
    assert status == 200, body


def place(api, name: str, email: str, **changes) -> dict:
    status, order = api.call("POST", "/orders", consumer_order(domain_name=name, customer={"email": email}, **changes))
    assert status == 201, order
    return order


def domain_state(api, contract_id: str) -> dict | None:
    return api.contract(contract_id).get("domain_state")


def admin_domain(api, name: str) -> dict:
    status, body = api.call("GET", f"/admin/domains/{name}", operator=True)
    assert status == 200, body
    return body


def wait_domain(api, stack, name: str, statuses: set[str], timeout: float = 60) -> dict:
    """The domain (GET /admin/domains) once its status is one of `statuses`; else fails showing
    the domain, the registry's view and the stack's log lines that name it."""
    def check():
        status, body = api.call("GET", f"/admin/domains/{name}", operator=True)
        return body if status == 200 and body.get("status") in statuses else None

    def describe():
        return {"domain": api.call("GET", f"/admin/domains/{name}", operator=True),
                "registry": at_registry(stack, name), "logs": log_lines(stack, name)}
    return wait_until(check, f"{name} {sorted(statuses)}", timeout, describe=describe)


def log_lines(stack, needle: str, limit: int = 6) -> list[str]:
    """The last error-ish lines of the stack's logs that mention `needle` (for failure messages)."""
    found = []
    for log in sorted((stack.workdir / "logs").glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if needle in line and any(w in line for w in ("ERROR", "WARNING", "Traceback", "failed")):
                found.append(f"{log.name}: {line[:1500]}")
    return found[-limit:]


def templates_sent(api, email: str) -> list[str]:
    return [m["template"] for m in mails(api, email) if m["status"] == "sent"]


def wait_mail(api, stack, email: str, template: str, timeout: float = 60) -> dict:
    return wait_until(lambda: next((m for m in mails(api, email) if m["template"] == template
                                    and m["status"] == "sent"), None),
                      f"{template} mail sent to {email}", timeout,
                      describe=lambda: ([(m["template"], m["status"], m.get("last_error")) for m in mails(api, email)],
                                        log_lines(stack, template)))


def dns_answer(stack, name: str, rdtype: str, tcp: bool = False):
    host, port = stack.dns_address
    query = dns.message.make_query(name, rdtype)
    return (dns.query.tcp if tcp else dns.query.udp)(query, host, port=port, timeout=2)


def dns_values(stack, name: str, rdtype: str, tcp: bool = False) -> list[str]:
    answer = dns_answer(stack, name, rdtype, tcp)
    if answer.rcode() != dns.rcode.NOERROR:
        return []
    return sorted(rdata.to_text() for rrset in answer.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype)
                  for rdata in rrset)


def node_zone(stack, name: str) -> tuple[int, str]:
    status, body = http("GET", f"{stack.node_url}/_node/zones/{name}")
    return status, body if isinstance(body, str) else json.dumps(body)


def customer_session(stack, api, email: str) -> dict[str, str]:
    """Sign in as the customer with the credentials mailed at conclusion (read as sent, from the
    emulator's SES); the Authorization header of the session."""
    mail = wait_until(lambda: [m for m in sent_mails(stack.endpoint, email) if "Votre contrat est conclu" in m["body"]],
                      f"credentials mail to {email}")[-1]
    login = re.search(r"identifiant : (\S+)", mail["body"]).group(1)
    password = re.search(r"mot de passe : (\S+)", mail["body"]).group(1)
    status, session = api.call("POST", "/auth/login", {"login": login, "password": password})
    assert status == 200, session
    return {"Authorization": f"Bearer {session['access_token']}"}


def invoices(api, contract_id: str) -> list[dict]:
    return api.contract(contract_id)["invoices"]


def dossier_fees_invoice(api, contract_id: str) -> dict | None:
    return next((i for i in invoices(api, contract_id) if i.get("purpose") == "dossier_fees"), None)


def day(instant: str) -> date:
    return datetime.fromisoformat(instant).astimezone(PARIS).date()


def one_year_after(moment: date) -> date:
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:
        return moment.replace(year=moment.year + 1, day=28)


def register_and_activate(stack, api, name: str, email: str) -> tuple[dict, dict]:
    """Order `name` (register), pay: the registration goes to the registry; (order, domain) once
    the domain is active."""
    order = place(api, name, email)
    pay(stack, order["invoice"], order["contract_id"])
    api.wait_contract(order["contract_id"], {"active"})
    return order, wait_domain(api, stack, name, {"active", "registration_refused"})


# ---- R35 ------------------------------------------------------------------------------------------------
def test_R35_availability_is_asked_to_the_registry_validated_first_and_never_guaranteed(stack, api):
    free, taken = unique("free", "fr"), unique("taken", "com")
    seed_foreign_domain(stack, taken, clock_now(api), created_days_ago=400, expires_in_days=300, auth_code="Taken-1")

    status, body = api.call("GET", f"/domains/availability?name={free}")
    assert status == 200, body
    assert (body["domain"], body["registry"], body["available"], body["guarantee"]) == (free, "afnic", True, False)
    assert "no guarantee" in body["notice"]

    status, body = api.call("GET", f"/domains/availability?name={taken}")
    assert status == 200, body
    assert (body["domain"], body["registry"], body["available"], body["guarantee"]) == (
        taken, "network_solutions", False, False)
    assert body["notice"]

    status, body = api.call("GET", "/domains/availability?name=bad_name!.fr")
    assert (status, body["error"]["code"]) == (400, "invalid_domain_name"), body
    status, body = api.call("GET", f"/domains/availability?name={unique('io', 'io')}")
    assert (status, body["error"]["code"]) == (422, "unsupported_tld"), body


# ---- R37 + R40 ----------------------------------------------------------------------------------------
def test_R37_R40_a_new_fr_domain_is_registered_after_payment_and_its_zone_served_by_the_node(stack, api):
    name = unique("reg", "fr")
    email = email_for(stack, name)
    order = place(api, name, email)
    contract_id = order["contract_id"]
    assert domain_state(api, contract_id)["status"] == "ordered"
    assert at_registry(stack, name) is None  # nothing is asked before the payment
    paid_on = clock_now(api).astimezone(PARIS).date()
    pay(stack, order["invoice"], contract_id)

    # R37: the timer sends the create; the registry answers 1001, later by poll.
    wait_until(lambda: (domain_state(api, contract_id) or {}).get("status") in ("registration_pending", "active"),
               "registration sent", describe=lambda: domain_state(api, contract_id))
    domain = wait_domain(api, stack, name, {"active"})
    assert domain["registry"] == "afnic" and domain["pending_operation"] is None
    assert domain["last_operation"]["kind"] == "register"
    held = at_registry(stack, name)
    assert held is not None and held["registrar"] == "soho-afnic"
    assert domain["expires_at"], domain
    assert day(domain["expires_at"]) == day(held["expires_at"])
    assert day(domain["expires_at"]) in {one_year_after(paid_on), one_year_after(paid_on) + timedelta(days=1)}
    # R56: the passage through registration_pending (1001, answered by poll) is in the evidence
    actions = [e["action"] for e in api.contract(contract_id)["evidence"]]
    assert "registry.create" in actions and "registry.poll_message" in actions, actions
    assert actions.index("domain.registration_pending") < actions.index("domain.active"), actions

    # the customer sees it too
    headers = customer_session(stack, api, email)
    status, mine = api.call("GET", f"/me/contracts/{contract_id}/domain", headers=headers)
    assert status == 200, mine
    assert (mine["name"], mine["status"], mine["expires_at"]) == (name, "active", domain["expires_at"])
    assert "auth_code" not in mine

    # R40: the node serves the zone over real DNS (UDP and TCP) and shows it as text.
    wait_until(lambda: dns_values(stack, name, "A") == ["127.0.0.1"], f"A {name} served",
               describe=lambda: (dns_answer(stack, name, "A").to_text(), node_zone(stack, name)))
    answer = dns_answer(stack, name, "A")
    assert answer.rcode() == dns.rcode.NOERROR and answer.flags & dns.flags.AA
    assert dns_values(stack, name, "A", tcp=True) == ["127.0.0.1"]
    assert dns_values(stack, name, "MX") == [f"10 mail.{name}."]
    status, zone = node_zone(stack, name)
    assert status == 200 and f"mail.{name}." in zone

    mail = wait_mail(api, stack, email, "domain_registered")
    assert name in mail["body"]


# ---- R37: refused ------------------------------------------------------------------------------------
def test_R37_a_refused_de_registration_costs_dossier_fees_and_the_customer_may_cancel_the_order(stack, api):
    name = unique("refused", "de")
    email = email_for(stack, name)
    status, body = registry(stack, "POST", "/control/refuse", {"domain": name, "reason": "name reserved (e2e)"})
    assert status == 200, body
    order = place(api, name, email)
    contract_id = order["contract_id"]
    pay(stack, order["invoice"], contract_id)
    api.wait_contract(contract_id, {"active"})

    domain = wait_domain(api, stack, name, {"registration_refused"})
    assert domain["registry"] == "subcontractor" and domain["pending_operation"] is None
    assert "name reserved (e2e)" in domain["last_operation"]["reason"]
    assert at_registry(stack, name) is None
    fees = wait_until(lambda: dossier_fees_invoice(api, contract_id), "dossier fees invoice")
    assert fees["status"] == "issued" and fees["total_cents"] > 0
    assert domain["dossier_invoice_id"] == fees["id"]
    mail = wait_mail(api, stack, email, "domain_refused")
    assert name in mail["body"]

    headers = customer_session(stack, api, email)
    status, mine = api.call("GET", f"/me/contracts/{contract_id}/domain", headers=headers)
    assert (status, mine["status"]) == (200, "registration_refused"), mine
    status, outcome = api.call("POST", f"/me/contracts/{contract_id}/domain/cancel-order", {}, headers=headers)
    assert status == 201, outcome
    assert outcome["status"] == "cancelled"
    contract = api.contract(contract_id)
    assert contract["status"] == "cancelled"
    notes = [i for i in contract["invoices"] if i.get("kind") == "credit_note"]
    assert len(notes) == 1 and notes[0]["total_cents"] == -order["invoice"]["total_cents"]
    assert dossier_fees_invoice(api, contract_id)["status"] == "issued"  # the dossier fees stay due


# ---- R38: transfer-in ----------------------------------------------------------------------------------
def test_R38_transfer_in_checks_the_auth_code_and_windows_then_completes_when_the_losing_registrar_approves(
        stack, api):
    now = clock_now(api)
    name, wrong, young = unique("xin", "com"), unique("xwrong", "com"), unique("xyoung", "com")
    seed_foreign_domain(stack, name, now, created_days_ago=200, expires_in_days=200, auth_code="Right-Code-1")
    seed_foreign_domain(stack, wrong, now, created_days_ago=200, expires_in_days=200, auth_code="Right-Code-2")
    seed_foreign_domain(stack, young, now, created_days_ago=30, expires_in_days=335, auth_code="Right-Code-3")
    email = email_for(stack, name)

    def transfer_order(domain_name: str, code: str):
        return api.call("POST", "/orders", consumer_order(
            domain_name=domain_name, customer={"email": email_for(stack, domain_name)},
            domain={"action": "transfer", "auth_code": code}))

    status, body = transfer_order(young, "Right-Code-3")
    assert (status, body["error"]["code"]) == (422, "transfer_window_closed"), body
    status, body = transfer_order(wrong, "not-the-code")
    assert status == 422 and body.get("error", {}).get("code") == "invalid_auth_code", (status, body)

    status, order = transfer_order(name, "Right-Code-1")
    assert status == 201, order
    contract_id = order["contract_id"]
    pay(stack, order["invoice"], contract_id)
    domain = wait_domain(api, stack, name, {"transfer_pending"})
    assert domain["registry"] == "network_solutions"
    assert domain["pending_operation"]["kind"] == "transfer_in"
    held = at_registry(stack, name)
    assert held["registrar"] == OTHER_REGISTRAR and held["pending_transfer"]["requester"] == "soho-netsol"

    status, body = registry(stack, "POST", f"/control/transfers/{name}/approve")
    assert status == 200, body
    domain = wait_domain(api, stack, name, {"active"})
    held = at_registry(stack, name)
    assert held["registrar"] == "soho-netsol"
    assert day(domain["expires_at"]) == day(held["expires_at"])
    assert domain_state(api, contract_id)["status"] == "active"
    wait_until(lambda: dns_values(stack, name, "A") == ["127.0.0.1"], f"A {name} served")
    assert dossier_fees_invoice(api, contract_id) is None
    mail = wait_mail(api, stack, email, "domain_registered")
    assert name in mail["body"]


def test_R38_a_transfer_the_losing_registrar_rejects_fails_with_dossier_fees(stack, api):
    name = unique("xrej", "net")
    seed_foreign_domain(stack, name, clock_now(api), created_days_ago=200, expires_in_days=200, auth_code="Rej-Code-1")
    email = email_for(stack, name)
    order = place(api, name, email, domain={"action": "transfer", "auth_code": "Rej-Code-1"})
    contract_id = order["contract_id"]
    pay(stack, order["invoice"], contract_id)
    wait_domain(api, stack, name, {"transfer_pending"})
    wait_until(lambda: (at_registry(stack, name) or {}).get("pending_transfer"), "transfer pending at the registry")

    status, body = registry(stack, "POST", f"/control/transfers/{name}/reject")
    assert status == 200, body
    domain = wait_domain(api, stack, name, {"transfer_failed"})
    assert domain["pending_operation"] is None and domain["last_operation"]["kind"] == "transfer_in"
    assert at_registry(stack, name)["registrar"] == OTHER_REGISTRAR
    fees = wait_until(lambda: dossier_fees_invoice(api, contract_id), "dossier fees invoice")
    assert fees["status"] == "issued" and domain["dossier_invoice_id"] == fees["id"]
    wait_mail(api, stack, email, "domain_refused")
    assert node_zone(stack, name)[0] == 404


# ---- R39: transfer-out ---------------------------------------------------------------------------------
def test_R39_transfer_out_is_refused_while_an_invoice_is_overdue_then_approved_and_the_zone_removed(stack, api):
    """R39 (retention right, D10.11) on a monthly contract whose month-2 instalment is left
    unpaid past its due date (time travel of about a month from the contract's start)."""
    name = unique("xout", "org")
    seed_foreign_domain(stack, name, clock_now(api), created_days_ago=300, expires_in_days=200, auth_code="Out-Code-1")
    email = email_for(stack, name)
    order = place(api, name, email, billing_period="monthly",
                  domain={"action": "transfer", "auth_code": "Out-Code-1"})
    contract_id = order["contract_id"]
    pay(stack, order["invoice"], contract_id)
    contract = api.wait_contract(contract_id, {"active"})
    wait_domain(api, stack, name, {"transfer_pending"})
    assert registry(stack, "POST", f"/control/transfers/{name}/approve")[0] == 200
    wait_domain(api, stack, name, {"active"})
    wait_until(lambda: dns_values(stack, name, "A") == ["127.0.0.1"], f"A {name} served")

    # month 2 is invoiced, then left unpaid past its due date
    start = date.fromisoformat(contract["starts_on"])
    travel_to(api, paris_midnight(add_months(start, 1) - timedelta(days=MONTHLY_LEAD_DAYS)))

    def month_2():
        return next((i for i in invoices(api, contract_id) if i.get("purpose") == "period"
                     and (i.get("details") or {}).get("instalment") == 2), None)
    instalment = wait_until(month_2, "month 2 invoiced")
    due = date.fromisoformat(instalment["due_date"])
    travel_to(api, paris_midnight(due + timedelta(days=1)) + timedelta(hours=10))
    api.wait_contract(contract_id, {"restricted"})

    headers = customer_session(stack, api, email)
    status, body = api.call("POST", f"/me/contracts/{contract_id}/domain/transfer-out", {}, headers=headers)
    assert (status, body["error"]["code"]) == (422, "retention_right"), body
    assert body["error"]["fields"]["owed_cents"] == str(instalment["total_cents"])
    assert str(instalment["total_cents"]) in body["error"]["message"]
    assert instalment["number"] in body["error"]["message"]
    assert admin_domain(api, name)["transfer_out"]["state"] == "refused"
    assert at_registry(stack, name)["registrar"] == "soho-netsol"

    pay(stack, instalment, contract_id)
    wait_until(lambda: month_2()["status"] == "paid", "month 2 paid")
    status, body = api.call("POST", f"/me/contracts/{contract_id}/domain/transfer-out", {}, headers=headers)
    assert status == 202, body
    held = at_registry(stack, name)
    assert body["auth_code"] and body["auth_code"] == held["auth_code"]

    status, body = registry(stack, "POST", "/control/transfer-request", {"domain": name, "registrar": OTHER_REGISTRAR})
    assert status == 200, body
    wait_until(lambda: (at_registry(stack, name) or {}).get("registrar") == OTHER_REGISTRAR,
               "the other registrar holds the name", describe=lambda: (at_registry(stack, name),
                                                                        admin_domain(api, name)))
    domain = wait_domain(api, stack, name, {"transferred_out"})
    assert domain["transfer_out"]["state"] == "completed" and domain["transfer_out"]["to"] == OTHER_REGISTRAR
    wait_until(lambda: node_zone(stack, name)[0] == 404, "zone removed from the node")
    assert dns_answer(stack, name, "A").rcode() == dns.rcode.REFUSED
    wait_mail(api, stack, email, "domain_transferred_out")


# ---- R41: renewal ---------------------------------------------------------------------------------------
def renew_solution(stack, api, contract_id: str) -> dict:
    """R18: the contract renewed (operator, as the customer accepted it) and its invoice paid: the
    renewal is scheduled to start at the old end date."""
    status, renewal = api.call("POST", f"/admin/contracts/{contract_id}/renewal",
                               {"terms": {"version": "2026-09", "accepted": True}, "channel": "web"}, operator=True)
    assert status == 201, renewal
    pay(stack, renewal["invoice"], renewal["contract_id"])
    return api.wait_contract(renewal["contract_id"], {"scheduled"})


def test_R41_an_afnic_domain_is_renewed_by_us_a_subcontractor_domain_only_reminded(stack, api):
    """R41: time travel to 59 days before the domains' expiry (reminder for the .de, nothing for
    the .fr), then to 29 days before (the .fr renewed for a year at the registry and here, the
    .de still not renewed). The name is managed for the solution's duration (R40, D10.8): the .fr's
    contract is renewed first (R18); a second .fr whose solution is not renewed is only reminded.
    Moments from the domains' own expiry (the clock only moves forward)."""
    fr, de, lapsing = unique("renew", "fr"), unique("remind", "de"), unique("lapse", "fr")
    fr_email, de_email, lapsing_email = email_for(stack, fr), email_for(stack, de), email_for(stack, lapsing)
    fr_order, fr_domain = register_and_activate(stack, api, fr, fr_email)
    _, de_domain = register_and_activate(stack, api, de, de_email)
    _, lapsing_domain = register_and_activate(stack, api, lapsing, lapsing_email)
    assert fr_domain["status"] == de_domain["status"] == lapsing_domain["status"] == "active"
    assert (fr_domain["renewed_by"], de_domain["renewed_by"]) == ("provider", "customer")
    renewal = renew_solution(stack, api, fr_order["contract_id"])
    assert renewal["ends_on"] > day(fr_domain["expires_at"]).isoformat()
    fr_expiry, de_expiry = (datetime.fromisoformat(d["expires_at"]) for d in (fr_domain, de_domain))
    before = {name: at_registry(stack, name)["expires_at"] for name in (fr, de, lapsing)}

    travel_to(api, max(de_expiry, datetime.fromisoformat(lapsing_domain["expires_at"])) - timedelta(days=59))
    reminder = wait_mail(api, stack, de_email, "domain_renewal_reminder")
    assert de in reminder["body"]
    time.sleep(2)  # the .fr's own 60-day timers are due too: nothing but a check
    assert {name: at_registry(stack, name)["expires_at"] for name in (fr, de, lapsing)} == before
    assert "domain_renewed" not in templates_sent(api, fr_email)

    # Just before the 30-day timers first, so that the event runner, which may fire a timer with
    # the clock it read up to a second before the travel, sees at worst 30 days left (reported).
    travel_to(api, fr_expiry - timedelta(days=30, minutes=5))
    travel_to(api, fr_expiry - timedelta(days=29))
    wait_until(lambda: day(at_registry(stack, fr)["expires_at"]) == one_year_after(day(before[fr])),
               f"{fr} renewed at the registry", describe=lambda: (
                   at_registry(stack, fr), admin_domain(api, fr), log_lines(stack, fr),
                   [(e["at"], e["after"]) for e in api.contract(fr_order["contract_id"])["evidence"]
                    if e["action"] in ("domain.expiry_check", "domain.operation_requested")]))
    wait_until(lambda: day(admin_domain(api, fr)["expires_at"]) == one_year_after(day(fr_domain["expires_at"])),
               f"{fr} renewal recorded", describe=lambda: admin_domain(api, fr))
    renewed = admin_domain(api, fr)
    assert renewed["status"] == "active" and renewed["last_operation"]["kind"] == "renew"
    mail = wait_mail(api, stack, fr_email, "domain_renewed")
    assert fr in mail["body"]

    # the customer renews the .de itself: reminded again at 30 days, never renewed by us
    wait_until(lambda: templates_sent(api, de_email).count("domain_renewal_reminder") >= 2, "30-day reminder",
               describe=lambda: [(m["template"], m["status"]) for m in mails(api, de_email)])
    assert at_registry(stack, de)["expires_at"] == before[de]
    assert admin_domain(api, de)["expires_at"] == de_domain["expires_at"]
    assert "domain_renewed" not in templates_sent(api, de_email)
    # D10.8: the solution of the other .fr ends with its name's expiry: reminded, not renewed
    wait_mail(api, stack, lapsing_email, "domain_renewal_reminder")
    assert at_registry(stack, lapsing)["expires_at"] == before[lapsing]
    assert "domain_renewed" not in templates_sent(api, lapsing_email)
