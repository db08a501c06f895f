"""Issue 4 flows (R35-R42) through the handlers (moto in-process) against the local EPP registry
over real TLS: availability, registration answered by poll, refusal and cancellation, transfer-in
windows and answers, transfer-out and the retention right, renewal and reminders, decisions,
management stop, transport errors with backoff."""
from __future__ import annotations

import json
import urllib.request
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.adapters.models import AlertModel, DomainModel, EvidenceModel, InvoiceModel, NoticeModel
from chalicelib.contracts.node_messages import SpaceProvisioned
from devstack.epp_registry import EppRegistryServer
from devstack.pay import payment_succeeded_event
from tests.helpers import give_password, login_headers, professional_order
from tests.integration.conftest import NODE_ID, queue_messages, sqs_lambda_event

JSON = {"Content-Type": "application/json"}
OPERATOR = {**JSON, "Authorization": "Bearer op_local_dev_key"}


@pytest.fixture
def registry(tmp_path, clock):
    server = EppRegistryServer(tmp_path / "registry", clock=clock, create_delay_seconds=0).start()
    yield server
    server.stop()


@pytest.fixture
def epp(services, registry):
    """The services with every registry profile pointed at the local registry (as devstack does)."""
    from chalicelib.adapters.epp import EppRegistrars
    host, port = registry.epp_address
    s = replace(services.settings, registry_endpoint=f"{host}:{port}", registry_ca_file=registry.ca_file,
                registry_passwords_json=json.dumps({"*": "epp-local-dev"}))
    registrars = EppRegistrars(s)
    services.registrars = registrars
    yield registry
    registrars.close()


def control(registry, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(registry.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def call(client, method: str, path: str, body=None, headers=None):
    data = json.dumps(body) if body is not None else None
    answer = getattr(client.http, method.lower())(path, body=data, headers=headers or JSON) if data is not None \
        else getattr(client.http, method.lower())(path, headers=headers or JSON)
    return answer.status_code, json.loads(answer.body or b"{}")


def place(client, name: str, **domain) -> dict:
    status, body = call(client, "POST", "/orders",
                        professional_order(domain_name=name, domain={"name": name, "action": "register", **domain}))
    assert status == 201, body
    return body


def pay(client, order: dict) -> None:
    payload = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"],
                                      contract_id=order["contract_id"])
    result = client.lambda_.invoke("on_payment_event", sqs_lambda_event([payload.decode()])).payload
    assert result == {"batchItemFailures": []}


def provision(client, aws, clock, order: dict, name: str) -> None:
    commands = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    [command] = [c for c in commands if c["type"] == "ProvisionSpace"]
    done = SpaceProvisioned(node_id=NODE_ID, command_id=command["command_id"], contract_id=order["contract_id"],
                            domain=name, completed_at=clock.now())
    client.lambda_.invoke("on_node_result", sqs_lambda_event([done.model_dump_json()]))


def pump(client, aws, services, rounds: int = 6, poll: bool = True) -> list[str]:
    """Run what the event runner would: the timers queue (with a sweep), then the registry poll and
    the registry-events queue, until nothing moves. Returns the timer kinds and event outcomes.
    poll=False: the timers only (a registry that drops every command makes each poll wait)."""
    from chalicelib.service import timers
    clock = services.clock
    seen: list[str] = []
    quiet = False
    for _ in range(rounds):
        timers.sweep(services)
        bodies = [m["Body"] for m in queue_messages(aws["queues"]["timers"])]
        if bodies:
            assert client.lambda_.invoke("on_timer", sqs_lambda_event(bodies)).payload == {"batchItemFailures": []}
            seen += [json.loads(b)["timer_id"].split("#")[0] for b in bodies]
        from devstack.runner import scheduled_event
        if poll:
            client.lambda_.invoke("poll_registries", scheduled_event("poll_registries", clock.now(), "eu-west-3"))
        events = [m["Body"] for m in queue_messages(aws["queues"]["registry-events"])]
        if events:
            result = client.lambda_.invoke("on_registry_event", sqs_lambda_event(events)).payload
            assert result == {"batchItemFailures": []}
            seen += [f"event:{json.loads(e)['kind']}" for e in events]
        if not bodies and not events:
            if quiet:
                break
            quiet = True  # the registry settles a create in a thread of its own: look once more
            import time
            time.sleep(0.1)
        else:
            quiet = False
    return seen


def customer_of(order: dict) -> str:
    from chalicelib.adapters.models import ContractModel
    return ContractModel.get(order["contract_id"]).customer_id


def domain(name: str) -> DomainModel:
    return DomainModel.get(name, consistent_read=True)


def templates(contract_id: str) -> list[str]:
    return sorted(n.template for n in NoticeModel.scan(NoticeModel.contract_id == contract_id))


def node_commands(aws) -> list[dict]:
    return [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]


def registry_actions(customer_id: str) -> list[str]:
    return [e.action for e in EvidenceModel.query(customer_id) if e.action.startswith("registry.")]


def registered(client, aws, services, clock, name: str) -> dict:
    order = place(client, name)
    pay(client, order)
    provision(client, aws, clock, order, name)
    pump(client, aws, services)
    assert domain(name).status == "active"
    return order


# ---- R35 / R36 ----------------------------------------------------------------------------------
def test_R35_availability_answers_with_its_no_guarantee_wording(client, epp):
    status, body = call(client, "GET", "/domains/availability?name=Libre-Nom.fr")
    assert status == 200, body
    assert (body["domain"], body["registry"], body["available"], body["guarantee"]) == ("libre-nom.fr", "afnic",
                                                                                        True, False)
    assert "no guarantee" in body["notice"] and "gage de disponibilité" in body["notice_fr"]
    control(epp, "POST", "/control/domains", {"name": "pris.com", "registrar": "other-registrar",
                                              "created_at": "2020-01-01T00:00:00Z",
                                              "expires_at": "2030-01-01T00:00:00Z", "auth_code": "x"})
    status, body = call(client, "GET", "/domains/availability?name=pris.com")
    assert (status, body["available"], body["registry"]) == (200, False, "network_solutions")


def test_R36_names_are_validated_and_routed_before_any_registry_call(client, epp):
    control(epp, "POST", "/control/faults", {"drop_next": 10})  # any registry call would now fail
    status, body = call(client, "GET", "/domains/availability?name=-bad-.fr")
    assert (status, body["error"]["code"]) == (400, "invalid_domain_name")
    status, body = call(client, "GET", "/domains/availability?name=acme.io")
    assert (status, body["error"]["code"]) == (422, "unsupported_tld")
    assert ".fr" in body["error"]["message"]
    status, body = call(client, "GET", "/domains/availability")
    assert (status, body["error"]["code"]) == (400, "validation_error")
    status, body = call(client, "GET", "/domains/availability?name=libre.fr")
    assert (status, body["error"]["code"]) == (503, "registry_unavailable")


# ---- R37 ---------------------------------------------------------------------------------------
def test_R37_registration_after_payment_is_answered_by_poll_and_the_zone_goes_to_the_node(
        client, aws, services, clock, epp):
    name = "nouveau-site.fr"
    order = place(client, name)
    assert domain(name).status == "ordered"
    pay(client, order)
    op = domain(name).pending_operation
    assert (op["kind"], op["state"]) == ("acquire", "queued"), "the payment wrote the operation (shown)"
    provision(client, aws, clock, order, name)
    from chalicelib.service import timers
    timers.sweep(services)
    bodies = [m["Body"] for m in queue_messages(aws["queues"]["timers"])]
    client.lambda_.invoke("on_timer", sqs_lambda_event(bodies))
    row = domain(name)
    assert row.status == "registration_pending"
    assert (row.pending_operation["kind"], row.pending_operation["state"]) == ("register", "awaiting_registry")
    status, view = call(client, "GET", f"/admin/contracts/{order['contract_id']}", headers=OPERATOR)
    assert view["domain_state"]["pending_operation"]["state"] == "awaiting_registry"
    seen = pump(client, aws, services)
    assert "event:create" in seen
    row = domain(name)
    assert row.status == "active" and row.fees_spent_at and row.pending_operation is None
    assert row.last_operation["outcome"] == "registered"
    expires = datetime.fromisoformat(row.expires_at)
    assert timedelta(days=364) < expires - clock.now() < timedelta(days=367)
    _, at_registry = control(epp, "GET", f"/control/domains/{name}")
    assert at_registry["registrar"] == "soho-afnic"
    [zone] = [c for c in node_commands(aws) if c["type"] == "SetDnsZone"]
    assert {(r["name"], r["type"], r["value"]) for r in zone["records"]} >= {("@", "A", "127.0.0.1")}
    assert "domain_registered" in templates(order["contract_id"])
    actions = registry_actions(customer_of(order))
    assert {"registry.contact_create", "registry.create", "registry.poll_message"} <= set(actions)
    # R13: the fees are spent: a duplicate of the poll message changes nothing
    assert pump(client, aws, services) == []


def test_R37_a_refused_registration_invoices_the_dossier_fees_and_cancels_on_request(
        client, aws, services, clock, epp):
    name = "refuse-moi.de"
    control(epp, "POST", "/control/refuse", {"domain": name, "reason": "name reserved by DENIC"})
    order = place(client, name)
    pay(client, order)
    provision(client, aws, clock, order, name)
    pump(client, aws, services)
    row = domain(name)
    assert row.status == "registration_refused"
    assert "reserved" in row.last_operation["reason"]
    fees = InvoiceModel.get(row.dossier_invoice_id)
    assert (fees.purpose, fees.status, int(fees.subtotal_cents)) == ("dossier_fees", "issued", 1500)
    assert "domain_refused" in templates(order["contract_id"])
    assert services.store.get_contract(order["contract_id"]).status == "active", "cancelled only on request"
    login = give_password(customer_of(order))
    headers = {**JSON, **login_headers(client, login)}
    status, body = call(client, "POST", f"/me/contracts/{order['contract_id']}/domain/cancel-order", {}, headers)
    assert status == 201, body
    assert body["status"] == "cancelled" and body["credit_note"]["total_cents"] < 0
    assert body["refund_due_cents"] == order["invoice"]["total_cents"]
    assert InvoiceModel.get(row.dossier_invoice_id).status == "issued", "the dossier fees stay due"
    assert any(c["type"] == "DeprovisionSpace" for c in node_commands(aws))
    status, again = call(client, "POST", f"/me/contracts/{order['contract_id']}/domain/cancel-order", {}, headers)
    assert status == 200 and again["credit_note"]["number"] == body["credit_note"]["number"]


def test_R37_cancel_order_is_refused_while_the_domain_did_not_fail(client, aws, services, clock, epp):
    order = registered(client, aws, services, clock, "tout-va-bien.fr")
    login = give_password(customer_of(order))
    headers = {**JSON, **login_headers(client, login)}
    status, body = call(client, "POST", f"/me/contracts/{order['contract_id']}/domain/cancel-order", {}, headers)
    assert (status, body["error"]["code"]) == (409, "domain_not_failed")


# ---- R38 ---------------------------------------------------------------------------------------
def seed(epp, clock, name: str, created_days_ago: int, expires_in_days: int, code: str = "Code-123") -> None:
    now = clock.now()
    status, _ = control(epp, "POST", "/control/domains", {
        "name": name, "registrar": "other-registrar", "auth_code": code,
        "created_at": (now - timedelta(days=created_days_ago)).isoformat(),
        "expires_at": (now + timedelta(days=expires_in_days)).isoformat()})
    assert status == 201


def transfer_order(client, name: str, code: str = "Code-123"):
    return call(client, "POST", "/orders", professional_order(
        domain_name=name, domain={"name": name, "action": "transfer", "auth_code": code}))


@pytest.mark.parametrize("created, expires, ok", [(60, 200, True), (59, 200, False), (200, 45, True),
                                                  (200, 44, False)])
def test_R38_transfer_windows_are_checked_at_order_time_from_the_registry(client, clock, epp, created, expires, ok):
    name = f"edge-{created}-{expires}.com"
    seed(epp, clock, name, created, expires)
    status, body = transfer_order(client, name)
    if ok:
        assert status == 201, body
    else:
        assert (status, body["error"]["code"]) == (422, "transfer_window_closed")


def test_R38_transfer_order_errors_wrong_code_unknown_name_missing_code(client, clock, epp):
    seed(epp, clock, "bon-code.com", 200, 200)
    status, body = transfer_order(client, "bon-code.com", code="wrong")
    assert (status, body["error"]["code"]) == (422, "invalid_auth_code")
    status, body = transfer_order(client, "inconnu-ici.com")
    assert (status, body["error"]["code"]) == (422, "domain_not_registered")
    status, body = call(client, "POST", "/orders", professional_order(
        domain_name="bon-code.com", domain={"name": "bon-code.com", "action": "transfer"}))
    assert (status, body["error"]["code"]) == (400, "missing_auth_code")


def transfer_pending(client, aws, services, clock, epp, name: str) -> dict:
    """R38: a domain held elsewhere, ordered as a transfer-in and paid: the request waits for the
    losing side's answer."""
    seed(epp, clock, name, 200, 200)
    status, order = transfer_order(client, name)
    assert status == 201, order
    pay(client, order)
    provision(client, aws, clock, order, name)
    pump(client, aws, services)
    assert domain(name).status == "transfer_pending"
    return order


def test_R38_transfer_in_completes_only_when_the_losing_side_approves(client, aws, services, clock, epp):
    name = "demenage.com"
    order = transfer_pending(client, aws, services, clock, epp, name)
    assert domain(name).auth_code == "Code-123"
    # the transfer code is a credential: never in the customer's views or export (R07)
    headers = {**JSON, **login_headers(client, give_password(customer_of(order)))}
    for path in (f"/me/contracts/{order['contract_id']}/domain", "/me/export", "/me/domains"):
        status, body = call(client, "GET", path, headers=headers)
        assert status == 200 and "Code-123" not in json.dumps(body), path
    status, _ = control(epp, "POST", f"/control/transfers/{name}/approve")
    assert status == 200
    seen = pump(client, aws, services)
    assert "event:transfer" in seen
    row = domain(name)
    assert row.status == "active" and row.auth_code is None and row.last_operation["outcome"] == "transferred_in"
    _, at_registry = control(epp, "GET", f"/control/domains/{name}")
    assert at_registry["registrar"] == "soho-netsol"


def test_R38_a_rejected_transfer_fails_with_dossier_fees(client, aws, services, clock, epp):
    name = "reste-la.net"
    order = transfer_pending(client, aws, services, clock, epp, name)
    control(epp, "POST", f"/control/transfers/{name}/reject")
    pump(client, aws, services)
    row = domain(name)
    assert row.status == "transfer_failed"
    assert InvoiceModel.get(row.dossier_invoice_id).purpose == "dossier_fees"
    assert "domain_refused" in templates(order["contract_id"])


def test_R38_a_transfer_not_approved_in_time_fails(client, aws, services, clock, epp):
    name = "silence.org"
    transfer_pending(client, aws, services, clock, epp, name)
    clock.advance(timedelta(days=7, minutes=1))
    seen = pump(client, aws, services)
    assert "domain_transfer_timeout" in seen
    assert domain(name).status == "transfer_failed"
    assert "did not approve" in domain(name).last_operation["reason"]
    # the losing side approves after all: nothing moves here, an operator decides
    control(epp, "POST", f"/control/transfers/{name}/approve")
    pump(client, aws, services)
    assert domain(name).status == "transfer_failed"
    assert [a for a in AlertModel.query("open") if a.kind == "late_transfer_approval"]


# ---- R39 ---------------------------------------------------------------------------------------
def unpaid_invoice(order: dict, clock) -> InvoiceModel:
    invoice = InvoiceModel(invoice_id="inv_overdue_test", number="F-TEST-1", sequence=999999,
                           customer_id=customer_of(order), order_id=order["order_id"],
                           contract_id=order["contract_id"], status="issued", lines=[], subtotal_cents=1000,
                           vat_rate="0.20", vat_cents=200, total_cents=1200, currency="EUR",
                           issue_date="2026-11-01", due_date="2026-11-15", late_penalty_rate_percent="19.95",
                           recovery_indemnity_cents=4000, created_at="2026-11-01T10:00:00Z", bill_to={})
    invoice.save()
    return invoice


def test_R39_transfer_out_is_refused_while_a_sum_is_owed_then_approved_at_the_registry(
        client, aws, services, clock, epp):
    name = "je-pars.fr"
    order = registered(client, aws, services, clock, name)
    login = give_password(customer_of(order))
    headers = {**JSON, **login_headers(client, login)}
    invoice = unpaid_invoice(order, clock)
    status, body = call(client, "POST", f"/me/contracts/{order['contract_id']}/domain/transfer-out", {}, headers)
    assert (status, body["error"]["code"]) == (422, "retention_right")
    assert "1200" in body["error"]["message"] and "F-TEST-1" in body["error"]["message"]
    assert domain(name).transfer_out["state"] == "refused"
    invoice.update(actions=[InvoiceModel.status.set("paid")])
    status, body = call(client, "POST", f"/me/contracts/{order['contract_id']}/domain/transfer-out", {}, headers)
    assert status == 202, body
    assert body["auth_code"] == control(epp, "GET", f"/control/domains/{name}")[1]["auth_code"]
    node_commands(aws)
    control(epp, "POST", "/control/transfer-request", {"domain": name, "registrar": "other-registrar"})
    seen = pump(client, aws, services)
    assert "event:transfer" in seen and "domain_operation" in seen
    row = domain(name)
    assert row.status == "transferred_out" and row.transfer_out["state"] == "completed"
    _, at_registry = control(epp, "GET", f"/control/domains/{name}")
    assert at_registry["registrar"] == "other-registrar"
    assert [c["type"] for c in node_commands(aws)] == ["RemoveDnsZone"]
    assert "domain_transferred_out" in templates(order["contract_id"])


def test_R39_a_registry_request_while_the_customer_owes_is_rejected_with_the_reason(
        client, aws, services, clock, epp):
    name = "retenu.fr"
    order = registered(client, aws, services, clock, name)
    login = give_password(customer_of(order))
    headers = {**JSON, **login_headers(client, login)}
    control(epp, "POST", "/control/transfer-request", {"domain": name, "registrar": "other-registrar"})
    pump(client, aws, services)
    assert domain(name).transfer_out["state"] == "registry_request"
    assert "domain_transfer_out_requested" in templates(order["contract_id"])
    unpaid_invoice(order, clock)
    status, body = call(client, "POST", f"/me/contracts/{order['contract_id']}/domain/transfer-out", {}, headers)
    assert (status, body["error"]["code"]) == (422, "retention_right")
    pump(client, aws, services)
    row = domain(name)
    assert row.last_operation["kind"] == "transfer_out_reject" and row.status == "active"
    _, at_registry = control(epp, "GET", f"/control/domains/{name}")
    assert at_registry["registrar"] == "soho-afnic" and not at_registry["pending_transfer"]
    assert "domain_transfer_out_refused" in templates(order["contract_id"])


# ---- R41 ---------------------------------------------------------------------------------------
def renew_solution(client, order: dict) -> None:
    """R18: the solution renewed (accepted, then paid) for the next year."""
    answer = client.http.post(f"/admin/contracts/{order['contract_id']}/renewal", headers=OPERATOR,
                              body=json.dumps({"terms": {"version": "2026-09", "accepted": True}, "channel": "email"}))
    assert answer.status_code == 201, answer.body
    pay(client, json.loads(answer.body))


def test_R41_an_afnic_domain_is_renewed_by_us_at_the_lead_time(client, aws, services, clock, epp):
    name = "renouvelle.fr"
    order = registered(client, aws, services, clock, name)
    renew_solution(client, order)
    expires = datetime.fromisoformat(domain(name).expires_at)
    clock.move_to(expires - timedelta(days=61))
    pump(client, aws, services)
    assert domain(name).expires_at == expires.isoformat().replace("+00:00", "Z") or \
        datetime.fromisoformat(domain(name).expires_at) == expires, "not yet: 60 days is before the lead time"
    clock.move_to(expires - timedelta(days=30))
    seen = pump(client, aws, services)
    assert "domain_expiry" in seen and "domain_operation" in seen
    renewed = datetime.fromisoformat(domain(name).expires_at)
    assert renewed.year == expires.year + 1
    _, at_registry = control(epp, "GET", f"/control/domains/{name}")
    assert datetime.fromisoformat(at_registry["expires_at"]) == renewed
    assert "domain_renewed" in templates(order["contract_id"])
    assert "domain_renewal_reminder" not in templates(order["contract_id"])


def test_R41_a_subcontractor_domain_is_left_to_the_customer_with_reminders(client, aws, services, clock, epp):
    name = "rappel.de"
    order = registered(client, aws, services, clock, name)
    expires = datetime.fromisoformat(domain(name).expires_at)
    clock.move_to(expires - timedelta(days=59))
    pump(client, aws, services)
    assert templates(order["contract_id"]).count("domain_renewal_reminder") == 1
    clock.move_to(expires - timedelta(days=6))
    pump(client, aws, services)
    # the 30- and 7-day timers are both due: the later one speaks, once
    assert templates(order["contract_id"]).count("domain_renewal_reminder") == 2
    _, at_registry = control(epp, "GET", f"/control/domains/{name}")
    assert datetime.fromisoformat(at_registry["expires_at"]) == expires, "never renewed by us"


def test_R41_R40_no_renewal_once_management_stopped(client, aws, services, clock, epp):
    name = "abandon.fr"
    order = registered(client, aws, services, clock, name)
    expires = datetime.fromisoformat(domain(name).expires_at)
    clock.move_to(expires - timedelta(days=30))
    pump(client, aws, services)
    reasons = {n.context["reason"] for n in NoticeModel.scan(NoticeModel.contract_id == order["contract_id"])
               if n.template == "domain_renewal_reminder"}
    assert reasons == {"solution_not_renewed"}, "D10.8: managed (and renewed) for the solution's duration only"
    contract = services.store.get_contract(order["contract_id"])
    clock.move_to(datetime.fromisoformat(contract.ends_on + "T00:00:00+01:00") + timedelta(minutes=1))
    pump(client, aws, services)
    assert services.store.get_contract(order["contract_id"]).status == "expired"
    row = domain(name)
    assert row.status == "unmanaged" and row.management_stopped_at
    assert "RemoveDnsZone" in [c["type"] for c in node_commands(aws)]
    _, at_registry = control(epp, "GET", f"/control/domains/{name}")
    assert datetime.fromisoformat(at_registry["expires_at"]) == expires


# ---- R42 ---------------------------------------------------------------------------------------
def test_R42_a_court_decision_cancels_the_domain_at_the_registry_and_informs_the_customer(
        client, aws, services, clock, epp):
    name = "contrefait.fr"
    order = registered(client, aws, services, clock, name)
    status, body = call(client, "POST", f"/admin/domains/{name}/decisions",
                        {"kind": "court", "action": "cancel", "reference": "TJ Paris 26/01234",
                         "document_ref": "ged://decisions/26-01234"}, OPERATOR)
    assert status == 202, body
    assert body["pending_operation"]["kind"] == "delete"
    pump(client, aws, services)
    assert domain(name).status == "cancelled"
    assert control(epp, "GET", f"/control/domains/{name}")[0] == 404
    assert "domain_decision" in templates(order["contract_id"])


def test_R42_a_holders_transfer_request_is_executed_without_the_retention_right(client, aws, services, clock, epp):
    name = "titulaire.fr"
    order = registered(client, aws, services, clock, name)
    unpaid_invoice(order, clock)
    status, body = call(client, "POST", f"/admin/domains/{name}/decisions",
                        {"kind": "holder_request", "action": "transfer", "reference": "letter 2026-11-20",
                         "document_ref": "ged://holder/1"}, OPERATOR)
    assert status == 202 and body["decision"]["state"] == "awaiting_transfer_request"
    control(epp, "POST", "/control/transfer-request", {"domain": name, "registrar": "other-registrar"})
    pump(client, aws, services)
    assert domain(name).status == "transferred_out"
    status, body = call(client, "POST", f"/admin/domains/{name}/decisions",
                        {"kind": "weird", "action": "cancel", "reference": "x", "document_ref": "y"}, OPERATOR)
    assert (status, body["error"]["code"]) == (400, "validation_error")


# ---- backoff, never an unknown state -------------------------------------------------------------
def test_R37_transport_errors_are_retried_with_backoff_then_stalled_and_retried_by_an_operator(
        client, aws, services, clock, epp):
    """R37 (and every registry call, issue 4 point 4): an unknown outcome is retried with backoff,
    shown on the domain, then stalled with an operator alert; the operator's retry completes it."""
    name = "coupure.fr"
    order = place(client, name)
    control(epp, "POST", "/control/faults", {"drop_next": 1000})
    pay(client, order)
    pump(client, aws, services, poll=False)
    op = domain(name).pending_operation
    assert (op["state"], op["attempts"]) == ("retrying", 1) and op["last_error"]
    for _ in range(10):
        clock.advance(timedelta(hours=1))
        pump(client, aws, services, poll=False)
    op = domain(name).pending_operation
    assert (op["state"], op["attempts"]) == ("stalled", services.settings.registry_retry_attempts)
    assert [a for a in AlertModel.query("open") if a.kind == "registry_operation_stalled"]
    status, view = call(client, "GET", f"/admin/domains/{name}", headers=OPERATOR)
    assert view["pending_operation"]["state"] == "stalled"
    control(epp, "POST", "/control/faults", {"drop_next": 1})  # the retry's first try fails once more
    status, body = call(client, "POST", f"/admin/domains/{name}/retry", {}, OPERATOR)
    assert status == 202, body
    pump(client, aws, services, poll=False)
    op = domain(name).pending_operation
    assert (op["state"], op["attempts"], op["round"]) == ("retrying", 1, 1), "a new round of tries, not stalled again"
    clock.advance(timedelta(minutes=2))
    pump(client, aws, services)
    assert domain(name).status == "active"


def test_R37_a_registry_answer_before_its_request_is_recorded_is_retried_not_dropped(
        client, aws, services, clock, epp):
    """R37: the poll can bring the registry's answer before the try that sent the create committed
    (1001 recorded); that message goes back to its queue and is applied on a later delivery."""
    from chalicelib.contracts.registry_events import RegistryEventV1
    name = "trop-tot.fr"
    order = place(client, name)
    pay(client, order)
    early = RegistryEventV1(registry="afnic", client_id="soho-afnic", message_id="early-1", queued_at=clock.now(),
                            kind="create", domain=name, result=True, text="Domain created")
    result = client.lambda_.invoke("on_registry_event", sqs_lambda_event([early.model_dump_json()])).payload
    assert len(result["batchItemFailures"]) == 1
    assert domain(name).status == "ordered" and domain(name).pending_operation["state"] == "queued"
    pump(client, aws, services)
    result = client.lambda_.invoke("on_registry_event", sqs_lambda_event([early.model_dump_json()])).payload
    assert result == {"batchItemFailures": []}
    assert domain(name).status == "active"


# ---- R40: the customer's zone --------------------------------------------------------------------
def test_R40_the_customer_changes_its_zone_through_a_node_command_with_a_newer_serial(
        client, aws, services, clock, epp):
    name = "ma-zone.fr"
    order = registered(client, aws, services, clock, name)
    [first] = [c for c in node_commands(aws) if c["type"] == "SetDnsZone"]
    headers = {**JSON, **login_headers(client, give_password(customer_of(order)))}
    path = f"/me/contracts/{order['contract_id']}/domain/dns-records"
    status, zone = call(client, "GET", path, headers=headers)
    assert (status, zone["source"], zone["serial"]) == (200, "default", first["serial"])
    records = [{"name": "@", "type": "A", "value": "192.0.2.10"}, {"name": "www", "type": "CNAME",
                                                                   "value": "ma-zone.fr."},
               {"name": "@", "type": "MX", "value": "mx.provider.example.", "priority": 5},
               {"name": "_dmarc", "type": "TXT", "value": "v=DMARC1; p=none"}]
    status, zone = call(client, "PUT", path, {"records": records}, headers)
    assert status == 200, zone
    assert zone["source"] == "customer" and zone["serial"] > first["serial"]
    [sent] = [c for c in node_commands(aws) if c["type"] == "SetDnsZone"]
    assert sent["serial"] == zone["serial"] and {r["value"] for r in sent["records"]} >= {"192.0.2.10"}
    status, body = call(client, "PUT", path, {"records": [{"name": "www", "type": "A", "value": "not-an-ip"}]},
                        headers)
    assert (status, body["error"]["code"]) == (400, "invalid_dns_record")
    status, body = call(client, "PUT", path, {"records": [{"name": "x", "type": "SPF", "value": "v"}]}, headers)
    assert (status, body["error"]["code"]) == (400, "validation_error")
    assert node_commands(aws) == [], "a refused zone sends nothing"
    # R40/R19: once management stopped, the zone is no longer ours to change
    contract = services.store.get_contract(order["contract_id"])
    clock.move_to(datetime.fromisoformat(contract.ends_on + "T00:00:00+01:00") + timedelta(minutes=1))
    pump(client, aws, services)
    headers = {**JSON, **login_headers(client, give_password(customer_of(order)))}  # a year later: a new session
    status, body = call(client, "PUT", path, {"records": records}, headers)
    assert (status, body["error"]["code"]) == (409, "domain_not_managed")


def test_R37_R13_a_registration_answered_after_the_order_ended_alerts_an_operator(client, aws, services, clock, epp):
    """R37 with R13: a consumer withdrew while the registration was in flight (the claim released);
    the registry's later acceptance finds no domain here: an operator is alerted, nothing else moves."""
    name = "retractation.fr"
    order = place(client, name)
    pay(client, order)
    from chalicelib.service import timers
    timers.sweep(services)
    client.lambda_.invoke("on_timer", sqs_lambda_event([m["Body"] for m in queue_messages(aws["queues"]["timers"])]))
    assert domain(name).status == "registration_pending"
    domain(name).delete()  # what the withdrawal's transaction does to an unspent claim
    assert "event:create" in pump(client, aws, services)
    [alert] = [a for a in AlertModel.query("open") if a.kind == "registered_without_contract"]
    assert name in alert.message
