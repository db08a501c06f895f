"""The authorization matrix (R04, R06; OWASP API1 object level, API5 function level): every route
of the app × {anonymous, customer A, customer B, beneficiary of A, operator, node, payment
provider}, with the status each must get.

The world: customer A (a professional) with an active contract, customer B with an order of its
own, a beneficiary login on A's contract; URI parameters name A's objects. Customer B never
reaches A's objects (404, as an unknown one), a customer never reaches an operator route (403),
a beneficiary never administers (403), nobody without a credential reaches a protected route
(401). A route of the app that is not in MATRIX fails `test_every_route_is_in_the_matrix`.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Optional

import pytest

from tests.helpers import TEST_PASSWORD, give_password, login_headers, professional_order
from tests.integration.conftest import NODE_ID
from tests.integration.test_lifecycle import active  # noqa: F401  (fixture)

IDENTITIES = ("anon", "pay", "node", "op", "b", "ben", "a")  # the order calls are made in: A (the owner) last


def E(**statuses: int) -> dict[str, int]:
    missing = set(IDENTITIES) - set(statuses)
    assert not missing, f"every identity needs its expected status: {missing}"
    return statuses


# Shapes that recur: who reaches what.
def OPERATOR(ok: int) -> dict[str, int]:
    return E(anon=401, pay=401, node=403, op=ok, b=403, ben=403, a=403)


def SUBSCRIBER_OF_A(ok: int, b: int = 404) -> dict[str, int]:
    """A's own object: A gets `ok`, B 404 (never A's object), the beneficiary 403 (R06)."""
    return E(anon=401, pay=401, node=403, op=403, b=b, ben=403, a=ok)


def ANY_CUSTOMER(ok: int, b: Optional[int] = None, ben: Optional[int] = None) -> dict[str, int]:
    return E(anon=401, pay=401, node=403, op=403, b=ok if b is None else b, ben=ok if ben is None else ben, a=ok)


def PUBLIC(ok: int, ben: Optional[int] = None) -> dict[str, int]:
    return E(anon=ok, pay=ok, node=ok, op=ok, b=ok, ben=ok if ben is None else ben, a=ok)


Body = Optional[Callable[[dict, str], Any]]


class Case:
    def __init__(self, expected: dict[str, int], body: Body = None, headers: Optional[Callable] = None,
                 query: str = "") -> None:
        self.expected, self.body, self.headers, self.query = expected, body, headers, query


def unique_order(world: dict, who: str) -> dict:
    return professional_order(f"matrix-{who}-{world['seq']()}.fr", customer={"email": f"{who}@matrix.fr"})


def signed_payment(world: dict, who: str) -> bytes:
    from devstack.pay import payment_succeeded_event
    return payment_succeeded_event(world["b_invoice"], world["b_total"])


MATRIX: dict[tuple[str, str], Case] = {
    ("GET", "/health"): Case(PUBLIC(503)),  # public; 503 "starting": this tier runs no event runner
    ("GET", "/catalog"): Case(PUBLIC(200)),
    ("GET", "/openapi.json"): Case(PUBLIC(200)),
    ("POST", "/orders"): Case(PUBLIC(201, ben=403), unique_order),
    ("PATCH", "/orders/{order_id}"): Case(PUBLIC(409), lambda w, who: {}),
    ("PUT", "/orders/{order_id}"): Case(PUBLIC(409), lambda w, who: {}),
    ("DELETE", "/orders/{order_id}"): Case(PUBLIC(409)),
    # Order token or the subscriber who placed it; A is a professional: no withdrawal right (422).
    ("GET", "/orders/{order_id}/pre-contract-information"): Case(
        E(anon=401, pay=401, node=403, op=403, b=404, ben=403, a=200)),
    ("POST", "/orders/{order_id}/withdrawal"): Case(
        E(anon=401, pay=401, node=403, op=403, b=404, ben=403, a=422), lambda w, who: {}),
    # Signed by the payment provider; anything else fails the signature check.
    ("POST", "/webhooks/payments"): Case(E(anon=400, pay=200, node=400, op=400, b=400, ben=400, a=400),
                                         signed_payment,
                                         headers=lambda w, who, raw: {"Stripe-Signature": w["sign"](raw)}
                                         if who == "pay" else {}),
    # Operators
    ("GET", "/admin/contracts/{contract_id}"): Case(OPERATOR(200)),
    ("POST", "/admin/contracts/{contract_id}/retry-provisioning"): Case(OPERATOR(409)),  # active: nothing to retry
    ("POST", "/admin/contracts/{contract_id}/renewal"): Case(
        OPERATOR(201), lambda w, who: {"terms": {"version": w["terms"], "accepted": True}, "channel": "email"}),
    ("GET", "/admin/orders/{order_id}"): Case(OPERATOR(200)),
    ("GET", "/admin/invoices/{invoice_id}"): Case(OPERATOR(200)),
    ("GET", "/admin/customers/{customer_id}/evidence"): Case(OPERATOR(200)),
    ("GET", "/admin/alerts"): Case(OPERATOR(200)),
    ("POST", "/admin/invoices/{invoice_id}/bank-transfers"): Case(  # A's invoice is paid: the transfer needs a refund
        OPERATOR(202), lambda w, who: {"amount_cents": 100, "reference": f"VIR-{who}", "received_on": "2026-11-27"}),
    ("POST", "/admin/guarantees"): Case(OPERATOR(201), lambda w, who: {
        "customer": {"email": "late@payer.fr"}, "reference": "GAR-1", "amount_cents": 50000}),
    ("POST", "/admin/contracts/{contract_id}/options"): Case(OPERATOR(201), lambda w, who: {"options": ["antispam"]}),
    # A's order is paid: neither irregular nor regularised (the rule answers, past authorization)
    ("POST", "/admin/orders/{order_id}/irregular"): Case(OPERATOR(422), lambda w, who: {"reason": "SIREN faux"}),
    ("POST", "/admin/orders/{order_id}/regularisation"): Case(OPERATOR(422), lambda w, who: {
        "customer": {"legal_name": "ACME SARL"}, "note": "corrected"}),
    ("GET", "/dev/clock"): Case(OPERATOR(200)),
    ("POST", "/dev/clock"): Case(OPERATOR(200), lambda w, who: {"advance": "PT1S"}),
    ("GET", "/dev/mail"): Case(OPERATOR(200), query="to=contact@acme.fr"),
    # Accounts and the customer area (R04, R06)
    ("POST", "/auth/login"): Case(PUBLIC(401), lambda w, who: {"login": f"sh-unknown-{who}", "password": "x" * 12}),
    ("POST", "/auth/refresh"): Case(PUBLIC(401), lambda w, who: {"refresh_token": "ses_unknown.secret-value"}),
    ("POST", "/auth/logout"): Case(ANY_CUSTOMER(200)),
    ("POST", "/auth/password-reset"): Case(PUBLIC(202), lambda w, who: {"login": f"sh-unknown-{who}"}),
    ("PUT", "/me/password"): Case(ANY_CUSTOMER(200), lambda w, who: {"current_password": TEST_PASSWORD,
                                                                     "new_password": "a-new-password-for-" + who}),
    ("POST", "/me/credentials-lost"): Case(ANY_CUSTOMER(202)),
    ("GET", "/me/contracts"): Case(ANY_CUSTOMER(200)),
    ("GET", "/me/contracts/{contract_id}"): Case(ANY_CUSTOMER(200, b=404)),
    ("GET", "/me/invoices"): Case(ANY_CUSTOMER(200, ben=403)),
    ("GET", "/me/invoices/{invoice_id}"): Case(SUBSCRIBER_OF_A(200)),
    ("GET", "/me/domains"): Case(ANY_CUSTOMER(200)),
    ("POST", "/me/contracts/{contract_id}/options"): Case(SUBSCRIBER_OF_A(201), lambda w, who: {"options": ["antispam"]}),
    ("POST", "/me/contracts/{contract_id}/renewal"): Case(
        SUBSCRIBER_OF_A(201), lambda w, who: {"terms": {"version": w["terms"], "accepted": True}}),
    ("GET", "/me/accounts"): Case(ANY_CUSTOMER(200, ben=403)),
    ("POST", "/me/beneficiaries"): Case(SUBSCRIBER_OF_A(201), lambda w, who: {
        "contract_id": w["contract_id"], "email": f"helper-{who}@acme-test.fr"}),
    ("DELETE", "/me/beneficiaries/{login}"): Case(SUBSCRIBER_OF_A(200)),
    ("POST", "/admin/customers/{customer_id}/credentials-delivery"): Case(OPERATOR(202), lambda w, who: {
        "email": "elsewhere@example.fr", "identity_document_ref": "CNI 42"}),
    ("GET", "/admin/customers/{customer_id}/accounts"): Case(OPERATOR(200)),
    ("POST", "/nodes/{node_id}/heartbeat"): Case(E(anon=401, pay=401, node=200, op=403, b=403, ben=403, a=403)),
    # Terms, assignment, changes (R55, R57, R58)
    ("GET", "/admin/contracts/{contract_id}/terms"): Case(OPERATOR(200)),
    ("GET", "/me/contracts/{contract_id}/terms"): Case(ANY_CUSTOMER(200, b=404)),
    ("POST", "/admin/contracts/{contract_id}/assignment"): Case(OPERATOR(200), lambda w, who: {
        "to_customer_id": w["b_customer"], "reason": "company sold", "approval_reference": "APP-1"}),
    ("POST", "/me/contracts/{contract_id}/assignment-requests"): Case(SUBSCRIBER_OF_A(202), lambda w, who: {
        "transferee_name": "Newco", "transferee_email": "newco@example.fr", "reason": "company sold"}),
    ("POST", "/admin/plan-changes"): Case(OPERATOR(201), lambda w, who: {
        "plan": "soho-pro", "description": "Les scripts CGI ne sont plus exécutés.", "effective_on": "2027-01-31",
        "removes_essential_function": True}),
    ("GET", "/me/plan-changes"): Case(ANY_CUSTOMER(200)),
    ("POST", "/me/plan-changes/{change_id}/objection"): Case(SUBSCRIBER_OF_A(201), lambda w, who: {}),
    ("POST", "/admin/contracts/{contract_id}/renewal-refusal"): Case(  # A did not object: nothing to refuse
        OPERATOR(409), lambda w, who: {"reason": "objection to the change"}),
    ("POST", "/me/contracts/{contract_id}/plan-change-requests"): Case(SUBSCRIBER_OF_A(200),
                                                                       lambda w, who: {"plan": "soho-pro"}),
    # Personal data (R02, R03, R07, R08): B acts on its own customer; erasure refused while in force / owed
    ("GET", "/me"): Case(ANY_CUSTOMER(200)),
    ("PATCH", "/me"): Case(ANY_CUSTOMER(200, ben=403), lambda w, who: {"email": f"new-{who}@acme-test.fr"}),
    ("POST", "/me/identity-changes"): Case(ANY_CUSTOMER(200, ben=403), lambda w, who: {
        "changes": {"phone": "+33 1 11 11 11 11"}, "justification": {"document_type": "kbis",
                                                                     "document_ref": "KBIS-2026-1"}}),
    ("POST", "/me/verification-documents"): Case(ANY_CUSTOMER(409, ben=403), lambda w, who: {  # nothing requested
        "document_type": "kbis", "reference": "KBIS-2026-1"}),
    ("PUT", "/me/reference-consent"): Case(ANY_CUSTOMER(200, ben=403), lambda w, who: {"consent": True}),
    ("GET", "/me/export"): Case(ANY_CUSTOMER(200, ben=403)),
    ("POST", "/me/erasure"): Case(ANY_CUSTOMER(409, ben=403)),
    ("POST", "/admin/customers/{customer_id}/identity-changes"): Case(OPERATOR(200), lambda w, who: {
        "changes": {"phone": "+33 1 22 22 22 22"}, "justification": {"document_type": "kbis",
                                                                     "document_ref": "KBIS-2026-2"}}),
    ("POST", "/admin/customers/{customer_id}/verification-requests"): Case(OPERATOR(201), lambda w, who: {
        "reason": "Le SIREN ne correspond pas.", "documents": ["kbis"]}),
    ("POST", "/admin/customers/{customer_id}/verification-requests/{request_id}/decision"): Case(
        OPERATOR(200), lambda w, who: {"accepted": True, "note": "Kbis conforme"}),
    ("GET", "/admin/customers/{customer_id}/export"): Case(OPERATOR(200)),
    ("POST", "/admin/customers/{customer_id}/erasure"): Case(OPERATOR(409)),
    # --- abuse (issue 5) ---
    ("POST", "/abuse-reports"): Case(PUBLIC(202), lambda w, who: {  # R48: anyone, no account needed
        "category": "spam", "target": {"domain": "acme-test.fr"}, "reporter": {"email": f"{who}@plaignant.example"},
        "description": "Des messages publicitaires non sollicités arrivent chaque jour."}),
    ("POST", "/admin/abuse-reports"): Case(OPERATOR(201), lambda w, who: {
        "source": "third_party_claim", "category": "copyright", "document_reference": f"LR-{who}",
        "description": "Courrier d'un ayant droit : photographies reproduites sans autorisation.",
        "contract_id": w["contract_id"]}),
    ("GET", "/me/abuse-cases"): Case(ANY_CUSTOMER(200, ben=403)),
    ("POST", "/me/abuse-cases/{case_id}/answer"): Case(SUBSCRIBER_OF_A(200), lambda w, who: {
        "message": "Les envois sont arrêtés depuis ce matin."}),
    ("GET", "/admin/abuse-cases"): Case(OPERATOR(200)),
    ("GET", "/admin/abuse-cases/{case_id}"): Case(OPERATOR(200)),
    ("POST", "/admin/abuse-cases/{case_id}/severity"): Case(OPERATOR(200), lambda w, who: {"severity": "minor"}),
    ("POST", "/admin/abuse-cases/{case_id}/measure"): Case(OPERATOR(200), lambda w, who: {}),
    ("POST", "/admin/abuse-cases/{case_id}/close"): Case(OPERATOR(200), lambda w, who: {
        "outcome": "dismissed", "note": "aucun envoi constaté"}),
    ("POST", "/admin/abuse-cases/{case_id}/lift"): Case(OPERATOR(409), lambda w, who: {"note": "levée"}),  # no hold
    # --- tickets (issue 5) ---
    # R43/R45: any customer opens a ticket; A's ticket (PARAMS) is A's subscriber's: B and the beneficiary get 404
    ("POST", "/me/tickets"): Case(ANY_CUSTOMER(201), lambda w, who: {
        "kind": "question", "subject": f"Question de {who}", "message": "Comment publier mon site ?"}),
    ("GET", "/me/tickets"): Case(ANY_CUSTOMER(200)),
    ("GET", "/me/tickets/{ticket_id}"): Case(ANY_CUSTOMER(200, b=404, ben=404)),
    ("POST", "/me/tickets/{ticket_id}/messages"): Case(ANY_CUSTOMER(201, b=404, ben=404),
                                                       lambda w, who: {"message": f"Précision de {who}"}),
    ("GET", "/admin/tickets"): Case(OPERATOR(200), query="state=open"),
    ("GET", "/admin/tickets/{ticket_id}"): Case(OPERATOR(200)),
    ("POST", "/admin/tickets/{ticket_id}/taken-into-account"): Case(OPERATOR(200)),
    ("POST", "/admin/tickets/{ticket_id}/messages"): Case(OPERATOR(201), lambda w, who: {"message": "Réponse"}),
    ("POST", "/admin/tickets/{ticket_id}/resolution"): Case(OPERATOR(200), lambda w, who: {
        "cause": "provider", "note": "Service redémarré."}),
    # --- domains (issue 4) ---
    # A's domain waits for its registry (the test registries never answer): transfer-out, cancellation,
    # decisions and retry answer 409 to whoever may ask; B never sees A's contract (404), a beneficiary
    # reads its contract's domain but administers nothing (R06: 403).
    ("GET", "/domains/availability"): Case(PUBLIC(200), query="name=libre-matrix.fr"),
    ("GET", "/me/contracts/{contract_id}/domain"): Case(ANY_CUSTOMER(200, b=404)),
    ("POST", "/me/contracts/{contract_id}/domain/transfer-out"): Case(SUBSCRIBER_OF_A(409), lambda w, who: {}),
    ("POST", "/me/contracts/{contract_id}/domain/cancel-order"): Case(SUBSCRIBER_OF_A(409), lambda w, who: {}),
    ("GET", "/me/contracts/{contract_id}/domain/dns-records"): Case(ANY_CUSTOMER(200, b=404)),
    ("PUT", "/me/contracts/{contract_id}/domain/dns-records"): Case(SUBSCRIBER_OF_A(409), lambda w, who: {
        "records": [{"name": "@", "type": "A", "value": "192.0.2.10"}]}),
    ("GET", "/admin/domains/{domain_name}"): Case(OPERATOR(200)),
    ("POST", "/admin/domains/{domain_name}/decisions"): Case(OPERATOR(409), lambda w, who: {
        "kind": "court", "action": "cancel", "reference": "TJ Paris 26/1", "document_ref": "ged://1"}),
    ("POST", "/admin/domains/{domain_name}/retry"): Case(OPERATOR(409), lambda w, who: {}),
    # --- availability (issue 5) ---
    ("GET", "/admin/contracts/{contract_id}/availability"): Case(OPERATOR(200), query="month=2026-11"),
    ("GET", "/me/contracts/{contract_id}/availability"): Case(ANY_CUSTOMER(200, b=404), query="month=2026-11"),
    ("POST", "/admin/maintenance-windows"): Case(OPERATOR(201), lambda w, who: {
        "start": "2026-12-10T02:00:00+01:00", "end": "2026-12-10T04:00:00+01:00", "node_ids": "all",
        "description": "Mise à jour du noyau"}),
    ("GET", "/admin/maintenance-windows"): Case(OPERATOR(200)),
    ("POST", "/admin/force-majeure"): Case(OPERATOR(201), lambda w, who: {
        "start": "2026-11-20T00:00:00+01:00", "description": "Incendie", "services": [w["node_id"]]}),
    ("GET", "/admin/force-majeure"): Case(OPERATOR(200)),
    ("POST", "/admin/force-majeure/{event_id}/end"): Case(OPERATOR(200), lambda w, who: {
        "end": "2026-12-02T00:00:00+01:00"}),
    # R50: no such event (an event of 30 days and more is in test_availability.py)
    ("POST", "/admin/contracts/{contract_id}/force-majeure-termination"): Case(
        OPERATOR(404), lambda w, who: {"event_id": "fm_unknown"}),
    ("POST", "/me/contracts/{contract_id}/force-majeure-termination"): Case(
        SUBSCRIBER_OF_A(404), lambda w, who: {"event_id": "fm_unknown"}),
    # --- disputes (issue 5) ---
    # R46/R47/R51/R52/R53: operators act on A's contract; A files and ends its own (B: 404, beneficiary: 403)
    ("POST", "/admin/claims"): Case(OPERATOR(201), lambda w, who: {
        "contract_id": w["contract_id"], "event_at": "2026-11-20T10:00:00+01:00", "description": f"Panne ({who})",
        "amount_claimed_cents": 1000}),
    ("POST", "/admin/claims/{claim_id}/decision"): Case(OPERATOR(200), lambda w, who: {
        "granted_cents": 100, "note": "Geste commercial."}),
    ("GET", "/me/claims"): Case(ANY_CUSTOMER(200, ben=403)),
    ("POST", "/me/claims"): Case(SUBSCRIBER_OF_A(201), lambda w, who: {
        "contract_id": w["contract_id"], "event_at": "2026-11-20T10:00:00+01:00", "description": f"Panne ({who})",
        "amount_claimed_cents": 1000}),
    ("POST", "/admin/contracts/{contract_id}/settlement-cases"): Case(OPERATOR(201), lambda w, who: {
        "breach": f"Sauvegardes non restaurées ({who}).", "breach_kind": "service_quality"}),
    ("POST", "/admin/settlement-cases/{settlement_id}/outcome"): Case(OPERATOR(200), lambda w, who: {
        "outcome": "failed", "note": "Aucun accord."}),
    ("POST", "/admin/contracts/{contract_id}/formal-notices"): Case(OPERATOR(201), lambda w, who: {
        "breach": f"Site de hameçonnage ({who}).", "gross_or_wilful": True, "illegal": True}),
    ("POST", "/admin/formal-notices/{formal_notice_id}/remedied"): Case(OPERATOR(200), lambda w, who: {
        "note": "Le site a été retiré."}),
    ("POST", "/admin/contracts/{contract_id}/termination"): Case(OPERATOR(422), lambda w, who: {}),  # no notice
    ("GET", "/admin/contracts/{contract_id}/disputes"): Case(OPERATOR(200)),
    ("POST", "/me/contracts/{contract_id}/early-termination"): Case(SUBSCRIBER_OF_A(201), lambda w, who: {
        "reason": "Nous changeons d'hébergeur."}),
}


def verification_request(client, world: dict) -> str:
    """R03: an operator asked A for documents."""
    answer = client.http.post(f"/admin/customers/{world['customer_id']}/verification-requests", body=json.dumps({
        "reason": "Le SIREN ne correspond pas.", "documents": ["kbis"]}),
        headers={"Content-Type": "application/json", **world["headers"]["op"]})
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)["request_id"]


def announced_change(client, world: dict) -> str:
    """R55: a change of A's plan that removes an essential function, announced by an operator."""
    answer = client.http.post("/admin/plan-changes", body=json.dumps({
        "plan": "soho-start", "description": "Les scripts CGI ne sont plus exécutés.", "effective_on": "2027-01-31",
        "removes_essential_function": True}), headers={"Content-Type": "application/json", **world["headers"]["op"]})
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)["change_id"]


def a_ticket(client, world: dict) -> str:
    """R45: an incident A's subscriber reported on A's contract."""
    answer = client.http.post("/me/tickets", body=json.dumps({
        "kind": "incident", "subject": "Site inaccessible", "message": "Erreur 502.", "contract_id":
        world["contract_id"], "incident": {"started_at": "2026-11-27T09:00:00+00:00"}}),
        headers={"Content-Type": "application/json", **world["headers"]["a"]})
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)["ticket_id"]


from tests.integration.test_disputes import matrix_params as dispute_params  # noqa: E402  (issue 5 disputes)

from tests.integration.test_availability import declared_force_majeure  # noqa: E402  (issue 5 availability)
def abuse_case(client, world: dict) -> str:
    """R48: a third party's written claim about A's contract opened a case (spam)."""
    from tests.integration.test_abuse import case_for_matrix
    return case_for_matrix(client, world)


PARAMS: dict[str, Callable] = {"change_id": announced_change, "request_id": verification_request,
                               "case_id": abuse_case, "domain_name": lambda client, world: "acme-test.fr",
                               "ticket_id": a_ticket, "event_id": declared_force_majeure, **dispute_params()}


def test_every_route_is_in_the_matrix():
    """R04/R06: a route added without its row here fails (and one removed leaves a stale row)."""
    from app import app
    served = {(method, path) for path, methods in app.routes.items() for method in methods}
    assert served - set(MATRIX) == set(), "add these routes to MATRIX with every identity's status"
    assert set(MATRIX) - served == set(), "these MATRIX rows name routes the app no longer serves"


@pytest.fixture
def world(client, aws, active, services):
    """A with an active contract, a beneficiary on it, B with an order; one session per identity."""
    from chalicelib.entrypoints.auth import node_key
    from devstack.pay import sign
    a_contract = services.store.get_contract(active["contract_id"])
    answer = client.http.post("/orders", body=json.dumps(professional_order("matrix-b.fr", customer={
        "email": "b@matrix-b.fr"})), headers={"Content-Type": "application/json"})
    b_order = json.loads(answer.body)
    b_customer = services.store.get_order(b_order["order_id"]).customer_id
    ben_login = give_password(a_contract.customer_id, role="beneficiary", contract_ids=(a_contract.contract_id,))
    counter = iter(range(10_000))
    headers = {
        "anon": {}, "pay": {},
        "node": {"Authorization": f"Bearer {node_key(services.settings.node_api_secret, NODE_ID)}"},
        "op": {"Authorization": "Bearer op_local_dev_key"},
        "a": login_headers(client, give_password(a_contract.customer_id)),
        "b": login_headers(client, give_password(b_customer)),
        "ben": login_headers(client, ben_login),
    }
    return {"headers": headers, "contract_id": a_contract.contract_id, "order_id": a_contract.order_id,
            "invoice_id": a_contract.invoice_id, "customer_id": a_contract.customer_id, "login": ben_login,
            "node_id": NODE_ID, "terms": services.catalog.terms_version, "seq": lambda: next(counter),
            "b_invoice": b_order["invoice"]["id"], "b_total": b_order["invoice"]["total_cents"],
            "b_customer": b_customer,
            "sign": lambda raw: sign(raw, services.settings.payment_webhook_secret)}


def fill(path: str, world: dict) -> str:
    for name in ("order_id", "contract_id", "invoice_id", "customer_id", "login", "node_id"):
        path = path.replace("{" + name + "}", world[name])
    for name, value in world.get("extra_params", {}).items():
        path = path.replace("{" + name + "}", value)
    return path


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_R04_R06_every_identity_gets_its_status_on_every_route(client, world, route):
    method, template = route
    case = MATRIX[route]
    world["extra_params"] = {name: make(client, world) for name, make in PARAMS.items() if "{" + name + "}" in template}
    got = {}
    # Refused identities first: an allowed call may change the world (a revocation, an order).
    for who in sorted(IDENTITIES, key=lambda who: case.expected[who] < 400):
        body = case.body(world, who) if case.body else None
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        headers = {"Content-Type": "application/json", **world["headers"][who]}
        if case.headers:
            headers.update(case.headers(world, who, raw))
        path = fill(template, world) + (f"?{case.query}" if case.query else "")
        answer = client.http.request(method=method, path=path, body=raw, headers=headers)
        got[who] = answer.status_code
        if 400 <= answer.status_code < 500:  # every refusal says why, in the one error shape
            error = json.loads(answer.body)["error"]
            assert error["code"] and error["message"], (who, answer.body)
    assert got == case.expected, {who: (got[who], case.expected[who]) for who in got if got[who] != case.expected[who]}
