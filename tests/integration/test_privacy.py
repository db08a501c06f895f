"""Personal data through the API (R02, R03, R05, R06, R07, R08, R56): profile and contact email,
identity changes with their justification, verification requests and their deadline, reference
consent, export and erasure."""
from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from stdnum.fr import siren as fr_siren

from chalicelib.adapters.dynamo_store import Effect
from chalicelib.adapters.models import AccountModel, CustomerModel, InvoiceModel, NoticeModel, PaymentModel
from chalicelib.domain.calendar import PARIS
from chalicelib.domain.contracts import HoldLevel, HoldReason
from chalicelib.service.lifecycle import set_hold
from tests.helpers import consumer_order, give_password, login_headers
from tests.integration.conftest import queue_messages, sqs_lambda_event
from tests.integration.test_lifecycle import active, move_to, run_timers  # noqa: F401  (fixture)

OPERATOR = {"Authorization": "Bearer op_local_dev_key"}
JSON = {"Content-Type": "application/json"}
UA = "Mozilla/5.0 (X11; Linux x86_64) JeanneBrowser/7.1"
JUSTIFICATION = {"document_type": "passport", "document_ref": "PASSPORT 19AB12345", "note": "seen at the desk"}


def call(client, method: str, path: str, body=None, headers=None, raw: str | None = None):
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    answer = getattr(client.http, method.lower())(path, body=data, headers={**JSON, **(headers or {})})
    return answer.status_code, (json.loads(answer.body) if answer.body else None)


def customer_of(services, order: dict) -> CustomerModel:
    return services.store.get_customer(services.store.get_order(order["order_id"]).customer_id)


def place(client, order: dict) -> dict:
    status, body = call(client, "POST", "/orders", order, {"User-Agent": UA})
    assert status == 201, body
    return body


def evidence(services, customer_id: str, action: str) -> list[dict]:
    return [e for e in services.store.evidence_for(customer_id) if e["action"] == action]


@pytest.fixture
def jeanne(client, services):
    """A consumer who ordered (not paid yet), with her subscriber login."""
    order = place(client, consumer_order(domain_name="jardin-test.fr"))
    customer = customer_of(services, order)
    login = give_password(customer.customer_id)
    return {"order": order, "customer_id": customer.customer_id, "login": login,
            "headers": login_headers(client, login)}


# ---- R02: profile, contact email ------------------------------------------------------------------

def test_R02_the_customer_reads_the_profile_and_changes_the_contact_email_with_evidence(client, services, jeanne):
    status, me = call(client, "GET", "/me", headers=jeanne["headers"])
    assert status == 200
    assert me["kind"] == "consumer" and me["email"] == "jeanne@dupont.fr" and me["login"] == jeanne["login"]
    assert me["identity"]["last_name"] == "Dupont" and me["identity"]["birth_date"] == "1980-05-17"
    assert me["reference_consent"] == {"consent": False, "since": None} and me["verification"] is None

    status, me = call(client, "PATCH", "/me", {"email": "Jeanne.Martin@Example.FR"}, jeanne["headers"])
    assert status == 200 and me["email"] == "jeanne.martin@example.fr"
    assert AccountModel.get(jeanne["login"]).email == "jeanne.martin@example.fr"  # R04: credentials follow
    [entry] = evidence(services, jeanne["customer_id"], "customer.contact_email_changed")
    assert entry["actor"] == f"subscriber:{jeanne['login']}"
    assert entry["before"] == {"email": "jeanne@dupont.fr"} and entry["after"] == {"email": "jeanne.martin@example.fr"}


@pytest.mark.parametrize("extra", [{"status": "erased"}, {"customer_id": "cus_other"}, {"kind": "professional"},
                                   {"siren": "732829320"}, {"last_name": "Martin"}])
def test_R02_a_contact_email_change_refuses_any_other_field(client, services, jeanne, extra):
    """R02 + mass assignment: only the email may be sent; anything else is a 400 and nothing changes."""
    status, body = call(client, "PATCH", "/me", {"email": "new@example.fr", **extra}, jeanne["headers"])
    assert status == 400 and body["error"]["code"] == "validation_error"
    assert next(iter(extra)) in body["error"]["fields"]
    customer = services.store.get_customer(jeanne["customer_id"])
    assert customer.email == "jeanne@dupont.fr" and customer.kind == "consumer" and customer.erased_at is None


def test_R06_R02_a_beneficiary_sees_only_its_own_login_and_changes_nothing(client, services, active):
    customer_id = services.store.get_contract(active["contract_id"]).customer_id
    login = give_password(customer_id, role="beneficiary", contract_ids=(active["contract_id"],))
    headers = login_headers(client, login)
    status, me = call(client, "GET", "/me", headers=headers)
    assert status == 200 and set(me) == {"account"}
    assert me["account"]["login"] == login and me["account"]["role"] == "beneficiary"
    for method, path, body in [("PATCH", "/me", {"email": "x@example.fr"}),
                               ("POST", "/me/identity-changes", {"changes": {"phone": "0102030405"},
                                                                 "justification": JUSTIFICATION}),
                               ("PUT", "/me/reference-consent", {"consent": True}), ("GET", "/me/export", None),
                               ("POST", "/me/erasure", None),
                               ("POST", "/me/verification-documents", {"document_type": "passport", "reference": "x"})]:
        status, answer = call(client, method, path, body, headers)
        assert (status, answer["error"]["code"]) == (403, "beneficiary_cannot_administer"), path


# ---- R02 (R01, R05): identity changes with their justification ----------------------------------

def vat_of(siren: str) -> str:
    return f"FR{int(siren + '12') % 97:02d}{siren}"


def test_R02_R01_an_identity_change_is_verified_and_recorded_with_its_document(client, services, active):
    customer_id = services.store.get_contract(active["contract_id"]).customer_id
    headers = login_headers(client, give_password(customer_id))
    new_siren = "552100554"
    assert fr_siren.is_valid(new_siren)
    change = {"changes": {"siren": new_siren, "vat_number": vat_of(new_siren), "legal_name": "ACME SAS"},
              "justification": {"document_type": "kbis", "document_ref": "KBIS-2026-000123",
                                "note": "transformation en SAS"}}
    # No justification: refused (R02).
    status, body = call(client, "POST", "/me/identity-changes", {"changes": change["changes"]}, headers)
    assert status == 400 and "justification" in body["error"]["fields"]
    # R01: the SIREN key, the VAT key against the SIREN.
    status, body = call(client, "POST", "/me/identity-changes",
                        {**change, "changes": {"siren": "552100555"}}, headers)
    assert (status, body["error"]["code"]) == (422, "invalid_siren") and "changes.siren" in body["error"]["fields"]
    status, body = call(client, "POST", "/me/identity-changes",
                        {**change, "changes": {"siren": new_siren, "vat_number": vat_of("732829320")}}, headers)
    assert (status, body["error"]["code"]) == (422, "invalid_vat_number")
    status, body = call(client, "POST", "/me/identity-changes", {**change, "changes": {"last_name": "X"}}, headers)
    assert (status, body["error"]["code"]) == (422, "field_not_for_kind")
    assert services.store.get_customer(customer_id).siren == "732829320"  # nothing changed so far

    status, body = call(client, "POST", "/me/identity-changes", change, headers)
    assert status == 200, body
    assert body["changed"] == ["legal_name", "siren", "vat_number"]
    stored = services.store.get_customer(customer_id)
    assert (stored.siren, stored.vat_number, stored.legal_name) == (new_siren, vat_of(new_siren), "ACME SAS")
    [entry] = evidence(services, customer_id, "customer.identity_changed")
    assert entry["actor"].startswith("subscriber:") and entry["at"]
    assert entry["before"] == {"changes": {"siren": "732829320", "vat_number": None, "legal_name": "ACME SARL"}}
    assert entry["after"]["changes"] == {"siren": new_siren, "vat_number": vat_of(new_siren), "legal_name": "ACME SAS"}
    assert entry["after"]["justification"] == change["justification"]


def test_R02_an_operator_records_an_identity_change_with_its_justification(client, services, jeanne):
    new_address = {"line1": "5 quai Saint-Vincent", "postcode": "69001", "city": "Lyon", "country": "FR"}
    status, body = call(client, "POST", f"/admin/customers/{jeanne['customer_id']}/identity-changes",
                        {"changes": {"last_name": "Martin", "address": new_address},
                         "justification": {"document_type": "identity_card", "document_ref": "CNI 123456789012"}},
                        OPERATOR)
    assert status == 200 and body["changed"] == ["address", "last_name"]
    stored = services.store.get_customer(jeanne["customer_id"])
    assert stored.last_name == "Martin" and stored.address == new_address
    [entry] = evidence(services, jeanne["customer_id"], "customer.identity_changed")
    assert entry["actor"] == "operator:root"
    assert entry["before"]["changes"]["last_name"] == "Dupont" and entry["after"]["changes"]["last_name"] == "Martin"
    assert entry["after"]["justification"]["document_ref"] == "CNI 123456789012"
    status, body = call(client, "POST", "/admin/customers/cus_unknown/identity-changes",
                        {"changes": {"phone": "0102030405"}, "justification": JUSTIFICATION}, OPERATOR)
    assert (status, body["error"]["code"]) == (404, "customer_not_found")
    status, _ = call(client, "POST", f"/admin/customers/{jeanne['customer_id']}/identity-changes",
                     {"changes": {"phone": "0102030405"}, "justification": JUSTIFICATION}, jeanne["headers"])
    assert status == 403  # a customer never reaches the operator route


def test_R05_a_minor_consumer_needs_a_parental_authorisation_through_post_orders(client, services, clock):
    """R05: a consumer under 18 without the parental authorisation: the order is refused (422);
    with it, the order is placed and the document reference is on file."""
    minor = consumer_order(domain_name="ado-test.fr", birth_date="2012-03-04")
    status, body = call(client, "POST", "/orders", minor)
    assert (status, body["error"]["code"]) == (422, "minor_without_authorisation")
    assert "customer.parental_authorisation" in body["error"]["fields"]
    authorised = {**minor, "customer": {**minor["customer"], "parental_authorisation": {"document_ref": "AUT-77"}}}
    order = place(client, authorised)
    assert customer_of(services, order).parental_authorisation_ref == "AUT-77"


def test_R05_R02_an_identity_change_cannot_make_an_adult_a_minor_without_authorisation(client, services, jeanne):
    status, body = call(client, "POST", "/me/identity-changes",
                        {"changes": {"birth_date": "2015-01-01"}, "justification": JUSTIFICATION}, jeanne["headers"])
    assert (status, body["error"]["code"]) == (422, "minor_without_authorisation")
    assert services.store.get_customer(jeanne["customer_id"]).birth_date == "1980-05-17"


# ---- R08: reference consent ---------------------------------------------------------------------

def test_R08_reference_consent_is_stored_with_its_time_and_can_be_withdrawn(client, services, jeanne, clock):
    status, body = call(client, "PUT", "/me/reference-consent", {"consent": True}, jeanne["headers"])
    assert status == 200 and body == {"consent": True, "since": "2026-11-27T10:00:00.000+00:00"}
    stored = services.store.get_customer(jeanne["customer_id"])
    assert stored.reference_consent is True and stored.reference_consent_at == "2026-11-27T10:00:00.000+00:00"
    move_to(clock, "2026-12-01T09:00")
    jeanne["headers"] = login_headers(client, jeanne["login"])  # access tokens last 15 minutes
    status, body = call(client, "PUT", "/me/reference-consent", {"consent": False}, jeanne["headers"])
    assert status == 200 and body["consent"] is False
    assert services.store.get_customer(jeanne["customer_id"]).reference_consent is False
    actions = [e["action"] for e in services.store.evidence_for(jeanne["customer_id"])]
    assert "customer.reference_consent_given" in actions and "customer.reference_consent_withdrawn" in actions
    status, body = call(client, "PUT", "/me/reference-consent", {"consent": "yes"}, jeanne["headers"])
    assert status == 400


# ---- R03: verification requests -----------------------------------------------------------------

def request_documents(client, customer_id: str) -> dict:
    status, body = call(client, "POST", f"/admin/customers/{customer_id}/verification-requests",
                        {"reason": "L'adresse déclarée n'existe pas.", "documents": ["identity_card",
                                                                                     "proof_of_address"]}, OPERATOR)
    assert status == 201, body
    return body


def decide(client, customer_id: str, request_id: str, accepted: bool):
    return call(client, "POST", f"/admin/customers/{customer_id}/verification-requests/{request_id}/decision",
                {"accepted": accepted, "note": "checked by the back office"}, OPERATOR)


def node_command_types(aws) -> list[str]:
    return [json.loads(m["Body"])["type"] for m in queue_messages(aws["node_queue"])]


def test_R03_no_document_accepted_by_the_deadline_suspends_the_service_until_one_is(client, aws, services, clock,
                                                                                    active):
    contract_id = active["contract_id"]
    customer_id = services.store.get_contract(contract_id).customer_id
    headers = login_headers(client, give_password(customer_id))
    node_command_types(aws)
    request = request_documents(client, customer_id)
    assert request["status"] == "open" and request["documents"] == ["identity_card", "proof_of_address"]
    assert request["deadline_on"] == "2026-12-12"  # 15 days, config
    timer = services.store.get_timer(f"verification_deadline#{request['request_id']}")
    assert datetime.fromisoformat(timer.due_at) == datetime(2026, 12, 13, tzinfo=PARIS)  # the end of that day
    [notice] = [n for n in NoticeModel.by_customer.query(customer_id) if n.template == "verification_requested"]
    assert notice.recipient == "contact@acme.fr" and notice.context["deadline_on"] == "2026-12-12"
    status, me = call(client, "GET", "/me", headers=headers)
    assert me["verification"]["request_id"] == request["request_id"]
    # One open request at a time.
    status, body = call(client, "POST", f"/admin/customers/{customer_id}/verification-requests",
                        {"reason": "encore", "documents": ["kbis"]}, OPERATOR)
    assert (status, body["error"]["code"]) == (409, "verification_request_open")

    status, sent = call(client, "POST", "/me/verification-documents",
                        {"document_type": "kbis", "reference": "upload-42"}, headers)
    assert status == 201 and sent["status"] == "submitted"
    status, body = decide(client, customer_id, request["request_id"], False)
    assert status == 200 and body["status"] == "open"  # refused: still open

    move_to(clock, "2026-12-12T23:59")
    assert "verification_deadline" not in run_timers(client, aws, services)
    move_to(clock, "2026-12-13T00:00")
    assert "verification_deadline" in run_timers(client, aws, services)
    contract = services.store.get_contract(contract_id)
    assert contract.status == "suspended" and contract.holds == {"unverified_identity": "suspended"}
    assert node_command_types(aws) == ["SuspendSpace"]
    templates = [n.template for n in NoticeModel.by_customer.query(customer_id)]
    assert templates.count("verification_suspended") == 1
    assert run_timers(client, aws, services) == []  # fires once

    status, body = decide(client, customer_id, request["request_id"], True)
    assert status == 200 and body["status"] == "closed" and body["holds_lifted"] == [contract_id]
    contract = services.store.get_contract(contract_id)
    assert contract.status == "active" and contract.holds == {}
    assert node_command_types(aws) == ["UnsuspendSpace"]
    actions = [e["action"] for e in services.store.evidence_for(customer_id)]
    for action in ("verification.requested", "verification.document_submitted", "verification.refused",
                   "verification.deadline_missed", "verification.accepted"):
        assert action in actions
    status, body = decide(client, customer_id, request["request_id"], True)
    assert (status, body["error"]["code"]) == (409, "verification_request_closed")


def test_R03_R23_accepting_documents_lifts_only_the_unverified_identity_hold(client, aws, services, clock, active):
    """R03 + R23: a non-payment hold outlives the acceptance of the identity documents."""
    contract_id = active["contract_id"]
    customer_id = services.store.get_contract(contract_id).customer_id
    request = request_documents(client, customer_id)
    move_to(clock, "2026-12-13T00:00")
    run_timers(client, aws, services)
    effect = Effect()
    set_hold(effect, "contract", services.store.get_contract(contract_id), HoldReason.NON_PAYMENT,
             HoldLevel.RESTRICTED, services, clock.now())
    services.store.apply(effect)
    assert services.store.get_contract(contract_id).holds == {"unverified_identity": "suspended",
                                                              "non_payment": "restricted"}
    node_command_types(aws)
    status, _ = decide(client, customer_id, request["request_id"], True)
    assert status == 200
    contract = services.store.get_contract(contract_id)
    assert contract.status == "restricted" and contract.holds == {"non_payment": "restricted"}
    assert node_command_types(aws) == ["RestrictSpace"]


def test_R03_documents_accepted_before_the_deadline_suspend_nothing(client, aws, services, clock, active):
    customer_id = services.store.get_contract(active["contract_id"]).customer_id
    request = request_documents(client, customer_id)
    assert decide(client, customer_id, request["request_id"], True)[0] == 200
    move_to(clock, "2026-12-13T00:00")
    assert "verification_deadline" in run_timers(client, aws, services)  # fires, finds the request closed
    assert services.store.get_contract(active["contract_id"]).status == "active"
    status, body = call(client, "POST", "/me/verification-documents", {"document_type": "passport", "reference": "x"},
                        login_headers(client, give_password(customer_id)))
    assert (status, body["error"]["code"]) == (409, "no_open_verification_request")
    status, body = decide(client, customer_id, "vrq_unknown", True)
    assert (status, body["error"]["code"]) == (404, "verification_request_not_found")


# ---- R07: export ----------------------------------------------------------------------------------

def test_R07_the_export_holds_everything_about_the_customer_and_no_secret(client, services, active):
    customer_id = services.store.get_contract(active["contract_id"]).customer_id
    headers = login_headers(client, give_password(customer_id))
    status, export = call(client, "GET", "/me/export", headers=headers)
    assert status == 200
    assert export["customer"]["customer_id"] == customer_id and export["customer"]["legal_name"] == "ACME SARL"
    assert [a["role"] for a in export["accounts"]] == ["subscriber"]
    assert [o["order_id"] for o in export["orders"]] == [active["order_id"]]
    assert [c["contract_id"] for c in export["contracts"]] == [active["contract_id"]]
    assert export["invoices"][0]["id"] == active["invoice"]["id"] and export["invoices"][0]["bill_to"]["email"]
    assert [d["domain_name"] for d in export["domains"]] == ["acme-test.fr"]
    assert [p["invoice_id"] for p in export["payments"]] == [active["invoice"]["id"]]
    assert {"invoice_issued", "payment_received", "space_ready"} <= {n["template"] for n in export["notices"]}
    assert all({"to", "template", "subject", "body", "status", "created_at", "sent_at"} <= set(n)
               for n in export["notices"])
    assert "order.placed" in [e["action"] for e in export["evidence"]]
    assert [e["action"] for e in export["privacy_requests"]] == ["privacy.export"]  # the request is logged
    assert export["sha256"]
    text = json.dumps(export)
    for secret in ("password_hash", "pending_password_hash", "access_token_hash", "request_fingerprint", "$argon2"):
        assert secret not in text
    status, export = call(client, "GET", f"/admin/customers/{customer_id}/export", headers=OPERATOR)
    assert status == 200
    assert sorted(e["actor"] for e in export["privacy_requests"]) == ["operator:root",
                                                                      f"subscriber:{export['customer']['login']}"]
    assert call(client, "GET", "/admin/customers/cus_unknown/export", headers=OPERATOR)[0] == 404


def erase_now(client, aws, path: str, headers: dict, customer_id: str) -> tuple[int, dict]:
    """R07: ask for the erasure (202, queued for the erasure worker), run the worker on what was
    queued, then ask again as an operator (the customer's logins are closed by then): the answer
    of an erased customer (200, its erasure time)."""
    status, body = call(client, "POST", path, headers=headers)
    assert status == 202 and body["status"] == "erasure_in_progress", body
    bodies = [m["Body"] for m in queue_messages(aws["queues"]["privacy-erasures"])]
    assert len(bodies) == 1
    assert client.lambda_.invoke("on_erasure_request", sqs_lambda_event(bodies)).payload == {"batchItemFailures": []}
    return call(client, "POST", f"/admin/customers/{customer_id}/erasure", headers=OPERATOR)



# ---- R07: erasure ---------------------------------------------------------------------------------

def test_R07_erasure_is_refused_while_a_contract_runs(client, services, active, placed_order):
    customer_id = services.store.get_contract(active["contract_id"]).customer_id
    headers = login_headers(client, give_password(customer_id))
    status, body = call(client, "POST", "/me/erasure", headers=headers)
    assert (status, body["error"]["code"]) == (409, "erasure_refused_contract_active")
    other = place(client, consumer_order(domain_name="attente-test.fr"))  # awaiting payment
    status, body = call(client, "POST", f"/admin/customers/{customer_of(services, other).customer_id}/erasure",
                        headers=OPERATOR)
    assert (status, body["error"]["code"]) == (409, "erasure_refused_contract_active")
    assert services.store.get_customer(customer_id).erased_at is None


def expire(client, aws, services, clock, customer: dict | None = None) -> None:
    """R14: the unpaid order expires (contract cancelled, invoice credited): nothing runs, nothing is
    owed. The customer signs in again (access tokens last 15 minutes)."""
    move_to(clock, "2026-12-28T00:00")
    assert "order_expiry" in run_timers(client, aws, services)
    if customer is not None:
        customer["headers"] = login_headers(client, customer["login"])


def test_R07_erasure_is_refused_while_a_sum_is_owed_either_way(client, aws, services, clock, jeanne):
    expire(client, aws, services, clock, jeanne)
    customer_id = jeanne["customer_id"]
    unpaid = InvoiceModel.get(services.store.get_order(jeanne["order"]["order_id"]).invoice_id)
    penalty = InvoiceModel(**{**{k: getattr(unpaid, k) for k in unpaid.get_attributes()},
                              "invoice_id": "inv_penalty_test", "number": "F-999999", "status": "issued",
                              "purpose": "penalty", "credited_by": None})
    penalty.save()
    status, body = call(client, "POST", "/me/erasure", headers=jeanne["headers"])
    assert (status, body["error"]["code"]) == (409, "erasure_refused_sums_owed")
    assert "F-999999" in body["error"]["message"]
    penalty.delete()
    note = next(i for i in InvoiceModel.by_customer.query(customer_id) if i.kind == "credit_note")
    PaymentModel(payment_event_id=f"refund_due:{note.invoice_id}", provider="stripe", event_type="refund_due",
                 outcome="refund_due", invoice_id=unpaid.invoice_id, amount_cents=100, currency="EUR",
                 received_at="2026-12-28T00:00:00.000+00:00").save()
    status, body = call(client, "POST", "/me/erasure", headers=jeanne["headers"])
    assert (status, body["error"]["code"]) == (409, "erasure_refused_sums_owed")
    assert services.store.get_customer(customer_id).erased_at is None


def deliver_notices(client, aws) -> None:
    """R54: the notices consumer sends what is queued (the stored bodies then name the customer)."""
    bodies = [m["Body"] for m in queue_messages(aws["queues"]["notices"])]
    if bodies:
        assert client.lambda_.invoke("on_notice", sqs_lambda_event(bodies)).payload == {"batchItemFailures": []}


def invoice_sums(export: dict) -> list[tuple]:
    return [(i["number"], i["subtotal_cents"], i["vat_cents"], i["total_cents"], json.dumps(i["lines"]))
            for i in export["invoices"]]


def test_R07_erasure_pseudonymises_every_personal_value_and_keeps_the_legal_records(client, aws, services, clock,
                                                                                    jeanne):
    customer_id, headers = jeanne["customer_id"], jeanne["headers"]
    # History that holds personal data: an email change, a verification with a document, consent.
    assert call(client, "PATCH", "/me", {"email": "jeanne.dupont@example.org"}, headers)[0] == 200
    request = request_documents(client, customer_id)
    assert call(client, "POST", "/me/verification-documents",
                {"document_type": "identity_card", "reference": "CNI 880312345678"}, headers)[0] == 201
    assert decide(client, customer_id, request["request_id"], True)[0] == 200
    assert call(client, "PUT", "/me/reference-consent", {"consent": True}, headers)[0] == 200
    deliver_notices(client, aws)
    expire(client, aws, services, clock, jeanne)
    headers = jeanne["headers"]

    status, before = call(client, "GET", "/me/export", headers=headers)
    assert status == 200
    personal = ["jeanne@dupont.fr", "jeanne.dupont@example.org", "Jeanne", "Dupont", "Jeanne Dupont", "0601020304",
                "2 rue Haute", "69001", "Lyon", "1980-05-17", "127.0.0.1", UA, "CNI 880312345678", jeanne["login"]]
    text = json.dumps(before, ensure_ascii=False)
    assert all(value in text for value in personal)  # the export held them all
    assert any("Bonjour Jeanne Dupont," in (n["body"] or "") for n in before["notices"])  # as sent

    status, body = erase_now(client, aws, "/me/erasure", headers, customer_id)
    assert status == 200 and body["status"] == "erased"
    # The logins are closed at once: the session no longer works, the password neither.
    assert call(client, "GET", "/me", headers=headers)[0] == 401
    answer = client.http.post("/auth/login", body=json.dumps({"login": jeanne["login"], "password": "x" * 12}),
                              headers=JSON)
    assert answer.status_code == 401

    status, after = call(client, "GET", f"/admin/customers/{customer_id}/export", headers=OPERATOR)
    assert status == 200
    text = json.dumps(after, ensure_ascii=False)
    for value in personal:
        assert not re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", text), value
    # Legal records are kept, pseudonymised, and still add up (R22): same numbers, lines and totals.
    assert invoice_sums(after) == invoice_sums(before)
    for invoice in after["invoices"]:
        assert invoice["subtotal_cents"] + invoice["vat_cents"] == invoice["total_cents"]
        assert sum(line["total_cents"] for line in invoice["lines"]) == invoice["subtotal_cents"]
        assert invoice["bill_to"]["name"].startswith("erased-")
        assert invoice["bill_to"]["email"].endswith("@erased.invalid")
    assert [c["status"] for c in after["contracts"]] == ["cancelled"]
    customer = after["customer"]
    assert customer["kind"] == "consumer" and customer["erased_at"] and customer["reference_consent"] is False
    assert customer["email"].endswith("@erased.invalid") and customer["last_name"].startswith("erased-")
    assert [a["status"] for a in after["accounts"]] == ["closed"]
    assert after["accounts"][0]["login"].startswith("erased-")
    # The evidence log stays (one more entry per request), keyed by the customer.
    before_ids = {e["entry_id"] for e in before["evidence"]}
    assert before_ids <= {e["entry_id"] for e in after["evidence"]}
    assert {"privacy.erasure", "privacy.export"} <= {e["action"] for e in after["privacy_requests"]}
    [erasure] = [e for e in after["evidence"] if e["action"] == "privacy.erasure"]
    assert erasure["actor"].startswith("subscriber:erased-")
    assert all(n["status"] in ("sent", "cancelled") for n in after["notices"])  # nothing left to send to a pseudonym
    assert any(re.match(r"Bonjour erased-[0-9a-f]{12},", n["body"] or "") for n in after["notices"])
    # Asking again changes nothing.
    status, again = call(client, "POST", f"/admin/customers/{customer_id}/erasure", headers=OPERATOR)
    assert status == 200 and again["erased_at"] == body["erased_at"]
    status, answer = call(client, "POST", f"/admin/customers/{customer_id}/identity-changes",
                          {"changes": {"phone": "0102030405"}, "justification": JUSTIFICATION}, OPERATOR)
    assert (status, answer["error"]["code"]) == (409, "customer_erased")


def test_R07_erasure_of_a_professional_keeps_its_legal_identity_and_pseudonymises_its_contacts(
        client, aws, services, clock, placed_order):
    customer_id = customer_of(services, placed_order).customer_id
    expire(client, aws, services, clock)
    status, body = erase_now(client, aws, f"/admin/customers/{customer_id}/erasure", OPERATOR, customer_id)
    assert status == 200 and body["status"] == "erased", body
    customer = services.store.get_customer(customer_id)
    assert (customer.kind, customer.legal_name, customer.siren) == ("professional", "ACME SARL", "732829320")
    assert customer.email.endswith("@erased.invalid") and customer.phone.startswith("erased-")
    assert customer.address["line1"].startswith("erased-") and customer.address["country"] == "FR"
    for invoice in InvoiceModel.by_customer.query(customer_id):
        assert invoice.bill_to["name"] == "ACME SARL" and invoice.bill_to["siren"] == "732829320"
        assert invoice.bill_to["email"].endswith("@erased.invalid")
    [erasure] = evidence(services, customer_id, "privacy.erasure")
    assert erasure["actor"] == "operator:root" and "siren" in erasure["after"]["kept"]


def test_R07_an_erased_customer_order_history_keeps_dates_and_amounts(client, aws, services, clock, jeanne):
    """R07: pseudonymisation touches personal values only: order ids, plans, dates, statuses stay."""
    expire(client, aws, services, clock, jeanne)
    order_before = services.store.get_order(jeanne["order"]["order_id"])
    status, body = call(client, "POST", "/me/erasure", headers=jeanne["headers"])
    assert status == 202
    bodies = [m["Body"] for m in queue_messages(aws["queues"]["privacy-erasures"])]
    assert client.lambda_.invoke("on_erasure_request", sqs_lambda_event(bodies)).payload == {"batchItemFailures": []}
    order = services.store.get_order(jeanne["order"]["order_id"])
    assert (order.status, order.plan, order.created_at, order.acceptance.terms_version) == (
        order_before.status, order_before.plan, order_before.created_at, order_before.acceptance.terms_version)
    assert order.acceptance.client_ip.startswith("erased-") and order.acceptance.user_agent.startswith("erased-")
    assert date.fromisoformat(services.store.get_customer(jeanne["customer_id"]).erased_at[:10]) == date(2026, 12, 27)


def test_R07_R43_tickets_are_exported_and_their_text_pseudonymised_at_erasure(client, aws, services, clock, jeanne):
    """R07: what the customer wrote in a support ticket (R43) is part of the export, and its
    personal values are pseudonymised with the rest; the ticket itself stays."""
    status, ticket = call(client, "POST", "/me/tickets", {
        "kind": "question", "subject": "Facture de Jeanne Dupont",
        "message": "Rappelez-moi au 0601020304 ou écrivez à jeanne@dupont.fr"}, jeanne["headers"])
    assert status == 201, ticket
    status, before = call(client, "GET", "/me/export", headers=jeanne["headers"])
    assert [t["ticket_id"] for t in before["tickets"]] == [ticket["ticket_id"]]
    assert any("0601020304" in m["body"] for m in before["ticket_messages"])
    expire(client, aws, services, clock, jeanne)
    status, body = erase_now(client, aws, "/me/erasure", jeanne["headers"], jeanne["customer_id"])
    assert status == 200 and body["status"] == "erased"
    status, after = call(client, "GET", f"/admin/customers/{jeanne['customer_id']}/export", headers=OPERATOR)
    text = json.dumps({"tickets": after["tickets"], "messages": after["ticket_messages"]}, ensure_ascii=False)
    assert [t["ticket_id"] for t in after["tickets"]] == [ticket["ticket_id"]]
    for value in ("0601020304", "jeanne@dupont.fr", "Jeanne Dupont"):
        assert value not in text, value
