"""R58 effective terms, R57 no assignment, R55 changes to the service: the HTTP routes over moto."""
from __future__ import annotations

import json
from datetime import date

import pytest

from chalicelib.adapters.models import ChangeNoticeModel, DomainModel, NoticeModel
from chalicelib.domain.options import pro_rata_cents
from tests.helpers import consumer_order, get, give_password, login_headers, post
from tests.integration.conftest import queue_messages
from tests.integration.test_lifecycle import active, move_to  # noqa: F401  (fixture)

JSON = {"Content-Type": "application/json"}
OPERATOR = {"Authorization": "Bearer op_local_dev_key"}
RENEWAL = {"terms": {"version": "2026-09", "accepted": True}, "channel": "email"}




def customer_of(services, contract_id: str) -> str:
    return services.store.get_contract(contract_id).customer_id


@pytest.fixture
def other(client, services):
    """A second customer (a consumer) with an order placed, not paid: its contract awaits payment."""
    status, order = post(client, "/orders", consumer_order("dupont.fr"))
    assert status == 201
    return {"contract_id": order["contract_id"], "customer_id": customer_of(services, order["contract_id"])}


@pytest.fixture
def subscriber(client, active, services):
    return login_headers(client, give_password(customer_of(services, active["contract_id"])))


def actions(services, customer_id: str, contract_id: str) -> list[str]:
    return [e["action"] for e in services.store.evidence_for(customer_id, contract_id=contract_id)]


# ---- R58 --------------------------------------------------------------------------------------

def test_R58_operator_reads_the_effective_terms_with_the_source_of_each_value(client, active, services):
    status, view = get(client, f"/admin/contracts/{active['contract_id']}/terms", OPERATOR)
    assert status == 200, view
    terms = view["terms"]
    assert view["layers"] == ["general_terms", "subscription_form", "technical_description"]
    assert view["general_terms_version"] == "2026-09"
    # technical description (plan + the antivirus option, which adds no limit)
    assert terms["storage_mb"] == {"value": 10240, "source": "technical_description"}
    assert terms["mailboxes"] == {"value": 5, "source": "technical_description"}
    assert terms["php"] == {"value": True, "source": "technical_description"}
    # subscription form: the order and its invoice
    assert terms["plan"] == {"value": "soho-start", "source": "subscription_form"}
    assert terms["options"] == {"value": ["antivirus"], "source": "subscription_form"}
    assert terms["billing_period"] == {"value": "yearly", "source": "subscription_form"}
    assert terms["terms_version"] == {"value": "2026-09", "source": "subscription_form"}
    assert terms["invoice_total_cents"] == {"value": active["invoice"]["total_cents"], "source": "subscription_form"}
    assert terms["starts_on"]["source"] == terms["ends_on"]["source"] == "subscription_form"
    # general terms: what neither other document states
    assert terms["withdrawal_days"] == {"value": 14, "source": "general_terms"}
    assert terms["availability_percent"] == {"value": "99.8", "source": "general_terms"}
    assert terms["support_response_business_hours"] == {"value": 48, "source": "general_terms"}
    assert "storage_mb" in view["decided_by"]["technical_description"]
    assert get(client, "/admin/contracts/ctr_nope/terms", OPERATOR)[0] == 404
    assert get(client, f"/admin/contracts/{'x' * 3000}/terms", OPERATOR)[0] == 404  # never a key DynamoDB refuses


def test_R58_a_customer_reads_its_own_contract_terms_only(client, active, services, other, subscriber):
    status, view = get(client, f"/me/contracts/{active['contract_id']}/terms", subscriber)
    assert status == 200 and view["terms"]["storage_mb"]["source"] == "technical_description"
    status, error = get(client, f"/me/contracts/{other['contract_id']}/terms", subscriber)
    assert status == 404 and error["error"]["code"] == "contract_not_found"
    named = login_headers(client, give_password(customer_of(services, active["contract_id"]), role="beneficiary",
                                                contract_ids=(active["contract_id"],)))
    assert get(client, f"/me/contracts/{active['contract_id']}/terms", named)[0] == 200
    unnamed = login_headers(client, give_password(customer_of(services, active["contract_id"]), role="beneficiary",
                                                  contract_ids=(), email="other@example.fr"))
    assert get(client, f"/me/contracts/{active['contract_id']}/terms", unnamed)[0] == 404
    assert get(client, f"/me/contracts/{active['contract_id']}/terms")[0] == 401
    assert get(client, f"/admin/contracts/{active['contract_id']}/terms", subscriber)[0] == 403


# ---- R57 --------------------------------------------------------------------------------------

def test_R57_an_operator_assigns_a_contract_with_its_domain_and_the_approval_in_both_logs(
        client, active, services, other, subscriber):
    contract_id, old = active["contract_id"], customer_of(services, active["contract_id"])
    status, view = post(client, f"/admin/contracts/{contract_id}/assignment",
                        {"to_customer_id": other["customer_id"], "reason": "cession du fonds de commerce",
                         "approval_reference": "ACC-2026-117"}, OPERATOR)
    assert status == 200, view
    assert view["from_customer_id"] == old and view["to_customer_id"] == other["customer_id"]
    assert view["domain_moved"] is True
    contract = services.store.get_contract(contract_id)
    assert contract.customer_id == other["customer_id"] and contract.status == "active"
    assert DomainModel.get("acme-test.fr").customer_id == other["customer_id"]
    for customer_id in (old, other["customer_id"]):
        [entry] = [e for e in services.store.evidence_for(customer_id, contract_id=contract_id)
                   if e["action"] == "contract.assigned"]
        assert entry["before"]["customer_id"] == old and entry["after"]["customer_id"] == other["customer_id"]
        assert entry["after"]["approval_reference"] == "ACC-2026-117" and entry["actor"] == "operator:root"
    # The assignor no longer reaches the contract; the assignee's subscriber does.
    assert get(client, f"/me/contracts/{contract_id}/terms", subscriber)[0] == 404
    assignee = login_headers(client, give_password(other["customer_id"]))
    assert get(client, f"/me/contracts/{contract_id}/terms", assignee)[0] == 200
    # Doing it again: the contract already is the target's.
    status, error = post(client, f"/admin/contracts/{contract_id}/assignment",
                         {"to_customer_id": other["customer_id"], "reason": "again",
                          "approval_reference": "ACC-2026-117"}, OPERATOR)
    assert status == 409 and error["error"]["code"] == "same_customer"


def test_R57_assignment_refusals_unknown_contract_or_customer_not_in_force_bad_body(client, active, services, other):
    body = {"to_customer_id": other["customer_id"], "reason": "cession", "approval_reference": "ACC-1"}
    status, error = post(client, "/admin/contracts/ctr_nope/assignment", body, OPERATOR)
    assert status == 404 and error["error"]["code"] == "contract_not_found"
    status, error = post(client, f"/admin/contracts/{active['contract_id']}/assignment",
                         {**body, "to_customer_id": "cus_nope"}, OPERATOR)
    assert status == 404 and error["error"]["code"] == "customer_not_found"
    # The other customer's contract awaits payment: not in force.
    status, error = post(client, f"/admin/contracts/{other['contract_id']}/assignment",
                         {**body, "to_customer_id": customer_of(services, active["contract_id"])}, OPERATOR)
    assert status == 409 and error["error"]["code"] == "contract_not_in_force"
    status, error = post(client, f"/admin/contracts/{active['contract_id']}/assignment",
                         {"to_customer_id": other["customer_id"], "reason": "cession"}, OPERATOR)
    assert status == 400 and "approval_reference" in error["error"]["fields"]
    assert customer_of(services, active["contract_id"]) != other["customer_id"]  # nothing moved


def test_R57_a_customer_cannot_assign_its_request_waits_for_an_operator(client, active, services, other,
                                                                        subscriber):
    contract_id, owner = active["contract_id"], customer_of(services, active["contract_id"])
    status, answer = post(client, f"/me/contracts/{contract_id}/assignment-requests",
                          {"transferee_name": "Jeanne Dupont", "transferee_email": "jeanne@dupont.fr",
                           "reason": "je vends mon activité"}, subscriber)
    assert status == 202 and answer["status"] == "awaiting_operator_approval"
    assert customer_of(services, contract_id) == owner  # the contract did not move
    status, alerts = get(client, "/admin/alerts", OPERATOR)
    [alert] = [a for a in alerts["alerts"] if a["kind"] == "assignment_request"]
    assert alert["refs"]["contract_id"] == contract_id and alert["alert_id"] == answer["request_id"]
    assert "contract.assignment_requested" in actions(services, owner, contract_id)
    # Only the subscriber may ask (R06), and a customer never reaches the operator's route.
    named = login_headers(client, give_password(owner, role="beneficiary", contract_ids=(contract_id,)))
    assert post(client, f"/me/contracts/{contract_id}/assignment-requests",
                {"transferee_name": "X", "transferee_email": "x@example.fr", "reason": "why not"}, named)[0] == 403
    assert post(client, f"/admin/contracts/{contract_id}/assignment",
                {"to_customer_id": other["customer_id"], "reason": "moi", "approval_reference": "self"},
                subscriber)[0] == 403
    # Another customer's contract is not found.
    assert post(client, f"/me/contracts/{other['contract_id']}/assignment-requests",
                {"transferee_name": "X", "transferee_email": "x@example.fr", "reason": "why not"},
                subscriber)[0] == 404


# ---- R55 --------------------------------------------------------------------------------------

CHANGE = {"plan": "soho-start", "description": "Les scripts CGI/Perl ne sont plus exécutés.",
          "effective_on": "2027-01-31", "removes_essential_function": True}


def test_R55_a_change_removing_an_essential_function_tells_each_affected_customer_once(
        client, aws, active, services, other, subscriber):
    contract_id = active["contract_id"]
    queue_messages(aws["queues"]["notices"])
    status, change = post(client, "/admin/plan-changes", CHANGE, OPERATOR)
    assert status == 201, change
    # The other customer's contract on the same plan awaits payment: not in force, not told.
    assert change["affected_contracts"] == 1 and change["customers_told"] == 1
    row = ChangeNoticeModel.get(change["change_id"], contract_id)
    assert row.objection_deadline == "2027-02-28"  # 31 January 2027 (later than told) + one month
    assert row.notified_at.startswith("2026-11-27")
    notice = NoticeModel.get(f"plan_change#{change['change_id']}#{contract_id}")
    assert notice.recipient == "contact@acme.fr" and notice.template == "plan_change"
    assert [json.loads(m["Body"])["notice_id"] for m in queue_messages(aws["queues"]["notices"])] == \
        [notice.notice_id]
    from chalicelib.service.notices import render_notice
    body = render_notice(notice).body
    assert "28 février 2027 inclus" in body and "31 janvier 2027" in body and "CGI/Perl" in body
    assert "contract.change_notified" in actions(services, customer_of(services, contract_id), contract_id)
    # Announcing the same change again tells nobody twice.
    status, again = post(client, "/admin/plan-changes", CHANGE, OPERATOR)
    assert status == 200 and again["change_id"] == change["change_id"] and again["customers_told"] == 0
    status, mine = get(client, "/me/plan-changes", subscriber)
    assert status == 200
    assert [(c["change_id"], c["contract_id"], c["status"], c["objection_deadline"]) for c in mine["plan_changes"]] \
        == [(change["change_id"], contract_id, "open", "2027-02-28")]
    other_login = login_headers(client, give_password(other["customer_id"]))
    assert get(client, "/me/plan-changes", other_login) == (200, {"plan_changes": []})


def test_R55_a_change_that_removes_no_essential_function_tells_nobody(client, active, services):
    status, change = post(client, "/admin/plan-changes", {**CHANGE, "removes_essential_function": False}, OPERATOR)
    assert status == 201 and change["affected_contracts"] == 1 and change["customers_told"] == 0
    assert list(ChangeNoticeModel.query(change["change_id"])) == []
    status, error = post(client, "/admin/plan-changes", {**CHANGE, "plan": "soho-ultra"}, OPERATOR)
    assert status == 422 and error["error"]["code"] == "unknown_plan"
    status, error = post(client, "/admin/plan-changes", {**CHANGE, "removes_essential_function": "yes"}, OPERATOR)
    assert status == 400 and "removes_essential_function" in error["error"]["fields"]
    status, error = post(client, "/admin/plan-changes", {**CHANGE, "effective_on": "9999-12-31"}, OPERATOR)
    assert status == 400 and "effective_on" in error["error"]["fields"]


def test_R55_an_objection_on_the_deadline_day_is_in_time_and_is_recorded_once(client, active, services, clock):
    # Effective before the customer is told: the month runs from the telling (27 November 2026).
    status, change = post(client, "/admin/plan-changes", {**CHANGE, "effective_on": "2026-11-01"}, OPERATOR)
    row = ChangeNoticeModel.get(change["change_id"], active["contract_id"])
    assert row.objection_deadline == "2026-12-27"
    move_to(clock, "2026-12-27T23:30")  # Paris: still the deadline day
    subscriber = login_headers(client, give_password(customer_of(services, active["contract_id"])))
    status, answer = post(client, f"/me/plan-changes/{change['change_id']}/objection",
                          {"reason": "J'ai besoin de CGI/Perl."}, subscriber)
    assert status == 201, answer
    assert [c["status"] for c in answer["contracts"]] == ["objected"]
    assert ChangeNoticeModel.get(change["change_id"], active["contract_id"]).objected_at
    assert post(client, f"/me/plan-changes/{change['change_id']}/objection", None, subscriber)[0] == 200
    owner = customer_of(services, active["contract_id"])
    assert actions(services, owner, active["contract_id"]).count("contract.change_objected") == 1
    named = login_headers(client, give_password(owner, role="beneficiary", contract_ids=(active["contract_id"],)))
    assert post(client, f"/me/plan-changes/{change['change_id']}/objection", {}, named)[0] == 403
    status, error = post(client, "/me/plan-changes/chg_nope/objection", {}, subscriber)
    assert status == 404 and error["error"]["code"] == "plan_change_not_found"


def test_R55_after_the_deadline_silence_is_acceptance_and_an_objection_is_refused(client, active, services, clock):
    status, change = post(client, "/admin/plan-changes", {**CHANGE, "effective_on": "2026-11-01"}, OPERATOR)
    move_to(clock, "2026-12-28T00:00")  # Paris: the day after the deadline
    subscriber = login_headers(client, give_password(customer_of(services, active["contract_id"])))
    status, error = post(client, f"/me/plan-changes/{change['change_id']}/objection", {}, subscriber)
    assert status == 409 and error["error"]["code"] == "objection_window_closed"
    status, mine = get(client, "/me/plan-changes", subscriber)
    assert [c["status"] for c in mine["plan_changes"]] == ["accepted_by_silence"]
    assert ChangeNoticeModel.get(change["change_id"], active["contract_id"]).objected_at is None


def test_R55_the_renewal_is_refused_only_when_the_operator_refuses_it_after_an_objection(client, active, services,
                                                                                        subscriber):
    contract_id = active["contract_id"]
    refusal = {"reason": "le client refuse l'évolution de la formule"}
    status, error = post(client, f"/admin/contracts/{contract_id}/renewal-refusal", refusal, OPERATOR)
    assert status == 409 and error["error"]["code"] == "no_objection"
    status, change = post(client, "/admin/plan-changes", CHANGE, OPERATOR)
    assert post(client, f"/me/plan-changes/{change['change_id']}/objection", {}, subscriber)[0] == 201
    assert post(client, "/admin/contracts/ctr_nope/renewal-refusal", refusal, OPERATOR)[0] == 404
    status, view = post(client, f"/admin/contracts/{contract_id}/renewal-refusal", refusal, OPERATOR)
    assert status == 200 and view["renewal_refused"] is True and view["change_id"] == change["change_id"]
    assert services.store.get_contract(contract_id).renewal_refused == change["change_id"]
    assert post(client, f"/admin/contracts/{contract_id}/renewal-refusal", refusal, OPERATOR)[0] == 200  # once
    status, error = post(client, f"/admin/contracts/{contract_id}/renewal", RENEWAL, OPERATOR)
    assert status == 422 and error["error"]["code"] == "renewal_refused_after_objection"
    assert "contract.renewal_refused" in actions(services, customer_of(services, contract_id), contract_id)


def test_R55_an_objection_alone_does_not_refuse_the_renewal(client, active, services, subscriber):
    status, change = post(client, "/admin/plan-changes", CHANGE, OPERATOR)
    assert post(client, f"/me/plan-changes/{change['change_id']}/objection", {}, subscriber)[0] == 201
    status, order = post(client, f"/admin/contracts/{active['contract_id']}/renewal", RENEWAL, OPERATOR)
    assert status == 201, order
    # Renewed already: too late to refuse it.
    status, error = post(client, f"/admin/contracts/{active['contract_id']}/renewal-refusal",
                         {"reason": "trop tard"}, OPERATOR)
    assert status == 409 and error["error"]["code"] == "renewal_already_accepted"


def test_R55_a_customer_asking_for_another_plan_gets_an_offer_or_no_change(client, active, services, clock):
    contract_id = active["contract_id"]
    move_to(clock, "2027-05-27T12:00")
    subscriber = login_headers(client, give_password(customer_of(services, contract_id)))
    status, offer = post(client, f"/me/contracts/{contract_id}/plan-change-requests", {"plan": "soho-pro"},
                         subscriber)
    assert status == 200, offer
    assert offer["outcome"] == "offer" and offer["kind"] == "upgrade" and offer["proposed_plan"] == "soho-pro"
    span = dict(from_day=date(2027, 5, 27), period_start=date(2026, 11, 27), period_end=date(2027, 11, 27))
    expected = pro_rata_cents(11988, **span) - pro_rata_cents(5988, **span)
    assert offer["price_difference"]["subtotal_cents"] == expected
    assert offer["price_difference"]["total_cents"] == expected + offer["price_difference"]["vat_cents"]
    assert offer["price_difference"]["vat_rate"] == "0.20" and offer["options_kept"] == ["antivirus"]
    assert post(client, f"/me/contracts/{contract_id}/plan-change-requests", {"plan": "soho-start"},
                subscriber) == (200, {"contract_id": contract_id, "requested_plan": "soho-start",
                                      "outcome": "unchanged", "reason": "same_plan"})
    status, answer = post(client, f"/me/contracts/{contract_id}/plan-change-requests", {"plan": "soho-ultra"},
                          subscriber)
    assert status == 200 and answer["outcome"] == "unchanged" and answer["reason"] == "plan_not_available"
    assert services.store.get_contract(contract_id).plan == "soho-start"  # nothing changed by asking
    owner = customer_of(services, contract_id)
    assert actions(services, owner, contract_id).count("contract.plan_change_requested") == 3
    named = login_headers(client, give_password(owner, role="beneficiary", contract_ids=(contract_id,)))
    assert post(client, f"/me/contracts/{contract_id}/plan-change-requests", {"plan": "soho-pro"},
                named)[0] == 403
