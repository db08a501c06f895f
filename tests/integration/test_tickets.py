"""R43 support tickets and R45 incidents over moto: the customer and operator routes, the deadline
and its breach timer, the sparse `open` index operators read, notices, evidence, object-level
checks, and the reported outages that feed R44."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.adapters.models import AlertModel, NoticeModel, TicketModel
from chalicelib.domain.calendar import PARIS
from chalicelib.service.notices import render_notice
from chalicelib.service.tickets import reported_outages
from tests.helpers import consumer_order, get, give_password, login_headers, post
from tests.integration.test_lifecycle import active, run_timers  # noqa: F401  (fixture)

JSON = {"Content-Type": "application/json"}
OPERATOR = {"Authorization": "Bearer op_local_dev_key"}
UTC = timezone.utc




@pytest.fixture
def a(client, active, services):
    """Customer A: an active contract on acme-test.fr, its subscriber signed in."""
    contract = services.store.get_contract(active["contract_id"])
    login = give_password(contract.customer_id)
    return {"contract_id": contract.contract_id, "customer_id": contract.customer_id, "login": login,
            "headers": login_headers(client, login)}


def signed_in(client, who: dict) -> dict:
    """A fresh session (access tokens last minutes of business time: the tests move the clock)."""
    return login_headers(client, who["login"])


@pytest.fixture
def b(client, services):
    """Customer B: another customer (an order placed, not paid), its subscriber signed in."""
    status, order = post(client, "/orders", consumer_order("dupont.fr"))
    assert status == 201
    customer_id = services.store.get_contract(order["contract_id"]).customer_id
    return {"contract_id": order["contract_id"], "customer_id": customer_id,
            "headers": login_headers(client, give_password(customer_id))}


def question(subject: str = "Configurer mes e-mails", **extra) -> dict:
    return {"kind": "question", "subject": subject, "message": "Comment configurer mon logiciel de messagerie ?",
            **extra}


def incident(contract_id: str, started_at: datetime, **extra) -> dict:
    return {"kind": "incident", "subject": "Site inaccessible", "message": "Le site répond une erreur 502.",
            "contract_id": contract_id, "incident": {"started_at": started_at.isoformat(),
                                                     "url": "http://acme-test.fr/"}, **extra}


def open_ticket(client, headers, body) -> dict:
    status, view = post(client, "/me/tickets", body, headers)
    assert status == 201, view
    return view


def admin_open(client) -> list[dict]:
    status, listed = get(client, "/admin/tickets?state=open", OPERATOR)
    assert status == 200, listed
    return listed["tickets"]


def customer_notices(customer_id: str, template: str) -> list[NoticeModel]:
    return [n for n in NoticeModel.by_customer.query(customer_id) if n.template == template]


def ticket_actions(services, customer_id: str, ticket_id: str) -> list[str]:
    return [e["action"] for e in services.store.evidence_for(customer_id) if e["entity_id"] == ticket_id]


def breach_alerts(ticket_id: str) -> list[AlertModel]:
    return [al for al in AlertModel.query("open") if al.kind == "ticket_deadline_breached"
            and al.refs.get("ticket_id") == ticket_id]


# ---- R43: opening, deadline, acknowledgment ------------------------------------------------------

def test_R43_a_ticket_gets_its_48_business_hour_deadline_a_timer_a_mail_and_evidence(client, services, a):
    # Friday 27 November 2026, 11:00 Paris: 6 hours that day, then Mon-Fri, then 2 hours on Monday 7 December.
    view = open_ticket(client, a["headers"], question())
    assert (view["state"], view["kind"]) == ("open", "question")
    assert datetime.fromisoformat(view["deadline_at"]) == datetime(2026, 12, 7, 11, tzinfo=PARIS)
    assert [m["body"] for m in view["messages"]] == ["Comment configurer mon logiciel de messagerie ?"]
    ticket_id = view["ticket_id"]
    timer = services.store.get_timer(f"ticket_deadline#{ticket_id}")
    assert timer.state == "pending" and datetime.fromisoformat(timer.due_at) == datetime(2026, 12, 7, 11,
                                                                                             tzinfo=PARIS)
    [ack] = customer_notices(a["customer_id"], "ticket_received")
    rendered = render_notice(ack)
    assert ticket_id in rendered.subject and "7 décembre 2026 à 11 h 00" in rendered.body
    assert ack.recipient == "contact@acme.fr"
    assert ticket_actions(services, a["customer_id"], ticket_id) == ["ticket.opened"]
    status, mine = get(client, "/me/tickets", a["headers"])
    assert status == 200 and [t["ticket_id"] for t in mine["tickets"]] == [ticket_id]
    status, one = get(client, f"/me/tickets/{ticket_id}", a["headers"])
    assert status == 200 and one["deadline_at"] == view["deadline_at"] and len(one["messages"]) == 1


def test_R43_operators_list_open_tickets_by_deadline_from_the_sparse_index_with_breach_flags(client, services,
                                                                                             clock, a):
    first = open_ticket(client, a["headers"], question("Première question"))
    clock.advance(timedelta(days=1))   # Saturday: counts from Monday 09:00
    second = open_ticket(client, signed_in(client, a), question("Deuxième question"))
    clock.advance(timedelta(days=2, hours=1))   # Monday 12:00 Paris
    third = open_ticket(client, signed_in(client, a), question("Troisième question"))
    listed = admin_open(client)
    assert [t["ticket_id"] for t in listed] == [first["ticket_id"], second["ticket_id"], third["ticket_id"]]
    assert [t["deadline_at"] for t in listed] == sorted(t["deadline_at"] for t in listed)
    assert not any(t["breached"] for t in listed)
    # Only the tickets not yet taken into account carry the sparse index key.
    assert post(client, f"/admin/tickets/{second['ticket_id']}/taken-into-account", headers=OPERATOR)[0] == 200
    assert TicketModel.get(second["ticket_id"]).open_pool is None
    assert [t["ticket_id"] for t in admin_open(client)] == [first["ticket_id"], third["ticket_id"]]
    # Past the first deadline, the list says so (before the timer even ran).
    clock.move_to(datetime.fromisoformat(first["deadline_at"]) + timedelta(seconds=1))
    flags = {t["ticket_id"]: t["breached"] for t in admin_open(client)}
    assert flags == {first["ticket_id"]: True, third["ticket_id"]: False}
    status, limited = get(client, "/admin/tickets?limit=1", OPERATOR)
    assert status == 200 and limited["truncated"] and [t["ticket_id"] for t in limited["tickets"]] == [
        first["ticket_id"]]
    for query, code in (("state=resolved", "unsupported_state"), ("limit=0", "invalid_limit"),
                        ("limit=abc", "invalid_limit")):
        status, refused = get(client, f"/admin/tickets?{query}", OPERATOR)
        assert status == 400 and refused["error"]["code"] == code


def test_R43_taken_into_account_on_time_records_who_and_when_once(client, services, clock, a):
    view = open_ticket(client, a["headers"], question())
    clock.advance(timedelta(hours=3))
    status, taken = post(client, f"/admin/tickets/{view['ticket_id']}/taken-into-account", headers=OPERATOR)
    assert status == 200, taken
    assert (taken["state"], taken["taken_on_time"], taken["breached"]) == ("taken_into_account", True, False)
    assert taken["taken_by"] == "operator:root" and taken["taken_into_account_at"]
    status, again = post(client, f"/admin/tickets/{view['ticket_id']}/taken-into-account", headers=OPERATOR)
    assert status == 409 and again["error"]["code"] == "already_taken_into_account"
    assert ticket_actions(services, a["customer_id"], view["ticket_id"]) == ["ticket.opened",
                                                                          "ticket.taken_into_account"]
    status, mine = get(client, f"/me/tickets/{view['ticket_id']}", signed_in(client, a))
    assert status == 200 and mine["state"] == "taken_into_account" and "taken_by" not in mine


def test_R43_the_breach_timer_fires_once_and_flags_only_the_ticket_not_taken_into_account(client, aws, services,
                                                                                          clock, a):
    late = open_ticket(client, a["headers"], question("Sans réponse"))
    handled = open_ticket(client, a["headers"], question("Prise en compte"))
    assert post(client, f"/admin/tickets/{handled['ticket_id']}/taken-into-account", headers=OPERATOR)[0] == 200
    deadline = datetime.fromisoformat(late["deadline_at"])
    clock.move_to(deadline - timedelta(minutes=1))
    assert "ticket_deadline" not in run_timers(client, aws, services)
    clock.move_to(deadline + timedelta(minutes=1))
    assert run_timers(client, aws, services).count("ticket_deadline") == 2  # both timers are due...
    assert run_timers(client, aws, services) == []                          # ...and fire once
    flagged, untouched = TicketModel.get(late["ticket_id"]), TicketModel.get(handled["ticket_id"])
    assert flagged.breached and flagged.breached_at and flagged.state == "open"
    assert not untouched.breached and untouched.taken_on_time
    assert len(breach_alerts(late["ticket_id"])) == 1 and breach_alerts(handled["ticket_id"]) == []
    assert ticket_actions(services, a["customer_id"], late["ticket_id"]).count("ticket.deadline_breached") == 1
    assert "ticket.deadline_breached" not in ticket_actions(services, a["customer_id"], handled["ticket_id"])
    # Taken into account late: recorded as late; the timer is done, nothing fires again.
    status, taken = post(client, f"/admin/tickets/{late['ticket_id']}/taken-into-account", headers=OPERATOR)
    assert status == 200 and (taken["taken_on_time"], taken["breached"]) == (False, True)
    assert admin_open(client) == []
    status, alerts = get(client, "/admin/alerts", OPERATOR)
    assert [al["refs"]["ticket_id"] for al in alerts["alerts"] if al["kind"] == "ticket_deadline_breached"] == [
        late["ticket_id"]]


def test_R43_a_ticket_taken_into_account_late_before_the_timer_ran_is_recorded_late_and_not_alerted(
        client, aws, services, clock, a):
    view = open_ticket(client, a["headers"], question())
    clock.move_to(datetime.fromisoformat(view["deadline_at"]) + timedelta(seconds=30))
    status, taken = post(client, f"/admin/tickets/{view['ticket_id']}/taken-into-account", headers=OPERATOR)
    assert status == 200 and (taken["taken_on_time"], taken["breached"]) == (False, True)
    assert run_timers(client, aws, services).count("ticket_deadline") == 1
    assert breach_alerts(view["ticket_id"]) == []


# ---- answers and messages ------------------------------------------------------------------------

def test_R43_an_operator_answer_takes_the_ticket_into_account_and_is_mailed(client, services, clock, a):
    view = open_ticket(client, a["headers"], question())
    clock.advance(timedelta(hours=1))
    status, answered = post(client, f"/admin/tickets/{view['ticket_id']}/messages",
                            {"message": "Utilisez le serveur mail.acme-test.fr en IMAP."}, OPERATOR)
    assert status == 201, answered
    assert (answered["state"], answered["taken_on_time"]) == ("taken_into_account", True)
    assert [m["author"] for m in answered["messages"]] == ["customer", "operator"]
    [reply] = customer_notices(a["customer_id"], "ticket_reply")
    assert "mail.acme-test.fr en IMAP" in render_notice(reply).body
    clock.advance(timedelta(minutes=5))
    status, written = post(client, f"/me/tickets/{view['ticket_id']}/messages", {"message": "Merci !"},
                           signed_in(client, a))
    assert status == 201 and [m["author"] for m in written["messages"]] == ["customer", "operator", "customer"]
    assert "by" not in written["messages"][1]  # the customer does not see which operator key answered
    actions = ticket_actions(services, a["customer_id"], view["ticket_id"])
    assert actions == ["ticket.opened", "ticket.taken_into_account", "ticket.message_added",
                       "ticket.message_added"]


# ---- R45: incidents ------------------------------------------------------------------------------

def test_R45_an_incident_outside_the_provider_is_resolved_and_the_customer_told_so(client, services, clock, a):
    started = clock.now() - timedelta(hours=2)
    view = open_ticket(client, a["headers"], incident(a["contract_id"], started))
    assert view["incident"]["started_at"].startswith("2026-11-27T08:00") and view["domain"] == "acme-test.fr"
    clock.advance(timedelta(hours=4))
    status, refused = post(client, f"/admin/tickets/{view['ticket_id']}/resolution", {"note": "Vu."}, OPERATOR)
    assert status == 422 and refused["error"]["code"] == "cause_required"
    status, resolved = post(client, f"/admin/tickets/{view['ticket_id']}/resolution", {
        "cause": "outside_provider", "note": "La coupure venait du réseau de votre fournisseur d'accès.",
        "ended_at": (clock.now() - timedelta(hours=1)).isoformat()}, OPERATOR)
    assert status == 200, resolved
    assert resolved["state"] == "resolved" and resolved["resolution"]["cause"] == "outside_provider"
    assert resolved["taken_on_time"] is True  # resolving an open ticket takes it into account
    [notice] = customer_notices(a["customer_id"], "ticket_resolved")
    body = render_notice(notice).body
    assert "n'est pas imputable à SOHO" in body and "15.3" in body and "acme-test.fr" in body
    assert notice.contract_id == a["contract_id"]
    status, again = post(client, f"/admin/tickets/{view['ticket_id']}/resolution",
                         {"cause": "provider", "note": "x"}, OPERATOR)
    assert status == 409 and again["error"]["code"] == "ticket_already_resolved"
    status, closed = post(client, f"/me/tickets/{view['ticket_id']}/messages", {"message": "Encore ?"},
                          signed_in(client, a))
    assert status == 409 and closed["error"]["code"] == "ticket_resolved"
    assert ticket_actions(services, a["customer_id"], view["ticket_id"]) == [
        "ticket.opened", "ticket.taken_into_account", "ticket.resolved"]


def test_R45_R44_reported_outages_of_a_contract_come_from_its_incidents(client, services, clock, a):
    day = datetime(2026, 11, 27, tzinfo=UTC)
    provider = open_ticket(client, a["headers"], incident(a["contract_id"], day + timedelta(hours=6)))
    outside = open_ticket(client, a["headers"], incident(a["contract_id"], day + timedelta(hours=7)))
    clock.advance(timedelta(hours=2))   # 12:00 UTC
    headers = signed_in(client, a)
    unresolved = open_ticket(client, headers, incident(a["contract_id"], day + timedelta(hours=11)))
    open_ticket(client, headers, question(contract_id=a["contract_id"]))  # not an incident
    assert post(client, f"/admin/tickets/{provider['ticket_id']}/resolution", {
        "cause": "provider", "note": "Service redémarré.",
        "ended_at": (day + timedelta(hours=9)).isoformat()}, OPERATOR)[0] == 200
    assert post(client, f"/admin/tickets/{outside['ticket_id']}/resolution", {
        "cause": "outside_provider", "note": "Réseau du client."}, OPERATOR)[0] == 200
    window = (day, day + timedelta(days=1))
    assert reported_outages(a["contract_id"], *window, services) == [
        (day + timedelta(hours=6), day + timedelta(hours=9)),    # provider: start to its end
        (day + timedelta(hours=11), window[1])]                   # unresolved: to the end of the window
    assert unresolved["kind"] == "incident"
    assert reported_outages(a["contract_id"], day + timedelta(hours=8), day + timedelta(hours=12), services) == [
        (day + timedelta(hours=8), day + timedelta(hours=9)), (day + timedelta(hours=11), day + timedelta(hours=12))]
    assert reported_outages("ctr_unknown", *window, services) == []
    assert reported_outages("", *window, services) == []


def test_R45_incident_input_is_checked(client, services, clock, a, b):
    now = clock.now()
    cases = [
        ({"kind": "incident", "subject": "Panne", "message": "x", "incident": {"started_at": now.isoformat()}},
         422, "incident_needs_contract"),
        (incident(a["contract_id"], now + timedelta(hours=1)), 422, "incident_in_future"),
        (incident(a["contract_id"], now - timedelta(days=31)), 422, "incident_reported_too_late"),
        (incident(b["contract_id"], now), 404, "contract_not_found"),        # another customer's contract
        (incident("ctr_" + "x" * 60, now), 404, "contract_not_found"),
        ({"kind": "incident", "subject": "Panne", "message": "x", "contract_id": a["contract_id"]},
         400, "validation_error"),
        ({**question(), "incident": {"started_at": now.isoformat()}}, 400, "validation_error"),
        ({**question(), "priority": "urgent"}, 400, "validation_error"),      # unknown field (mass assignment)
        ({**question(), "kind": "abuse_answer"}, 400, "validation_error"),
        (incident(a["contract_id"], now.replace(tzinfo=None)), 400, "validation_error"),
    ]
    for body, expected, code in cases:
        status, answer = post(client, "/me/tickets", body, a["headers"])
        assert (status, answer["error"]["code"]) == (expected, code), (body, answer)
    assert list(TicketModel.by_customer.query(a["customer_id"])) == []


# ---- object level (OWASP API1) and R06 -----------------------------------------------------------

def test_R43_R06_another_customer_never_reaches_a_ticket_and_a_beneficiary_reports_on_its_contract(
        client, services, clock, a, b):
    mine = open_ticket(client, a["headers"], question())
    for path in (f"/me/tickets/{mine['ticket_id']}", "/me/tickets/tkt_unknown", "/me/tickets/" + "t" * 1100):
        status, answer = get(client, path, b["headers"])
        assert status == 404 and answer["error"]["code"] == "ticket_not_found", path
    status, answer = post(client, f"/me/tickets/{mine['ticket_id']}/messages", {"message": "hop"}, b["headers"])
    assert status == 404 and answer["error"]["code"] == "ticket_not_found"
    assert get(client, "/me/tickets", b["headers"])[1]["tickets"] == []
    # R06: a beneficiary reports an incident on its contract; it sees its own tickets only, no billing.
    ben = login_headers(client, give_password(a["customer_id"], role="beneficiary",
                                              contract_ids=(a["contract_id"],), email="helper@acme-test.fr"))
    reported = open_ticket(client, ben, incident(a["contract_id"], clock.now()))
    assert [t["ticket_id"] for t in get(client, "/me/tickets", ben)[1]["tickets"]] == [reported["ticket_id"]]
    assert get(client, f"/me/tickets/{mine['ticket_id']}", ben)[0] == 404
    status, refused = post(client, "/me/tickets", {**question(), "kind": "billing"}, ben)
    assert status == 403 and refused["error"]["code"] == "beneficiary_cannot_administer"
    [ack] = [n for n in customer_notices(a["customer_id"], "ticket_received")
             if n.notice_id == f"ticket_received#{reported['ticket_id']}"]
    assert ack.recipient == "helper@acme-test.fr"
    # The subscriber sees every ticket of its customer.
    listed = {t["ticket_id"] for t in get(client, "/me/tickets", a["headers"])[1]["tickets"]}
    assert listed == {mine["ticket_id"], reported["ticket_id"]}
    for path in ("/admin/tickets/tkt_unknown", "/admin/tickets/" + "t" * 1100):
        assert get(client, path, OPERATOR)[0] == 404
    assert post(client, "/admin/tickets/tkt_unknown/taken-into-account", headers=OPERATOR)[0] == 404


def test_R43_an_idempotency_key_retry_opens_one_ticket(client, services, a):
    headers = {**a["headers"], "Idempotency-Key": "form-submit-42"}
    first = open_ticket(client, headers, question())
    status, retry = post(client, "/me/tickets", question(), headers)
    assert status == 200 and retry["ticket_id"] == first["ticket_id"]
    status, other = post(client, "/me/tickets", question("Une autre question"), headers)
    assert status == 409 and other["error"]["code"] == "idempotency_key_reused"
    assert len(list(TicketModel.by_customer.query(a["customer_id"]))) == 1
    assert len(customer_notices(a["customer_id"], "ticket_received")) == 1
