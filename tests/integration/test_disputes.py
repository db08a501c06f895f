"""Disputes through the API with real timers: claims with the one-year time bar (R47) and the
liability cap (R46), settlement cases (R51), formal notice then termination one month later (R52),
the customer's wrongful early termination owing the remaining instalments (R53); each move logged
(R56) and notified (R54)."""
from __future__ import annotations

import json
from datetime import datetime

from chalicelib.adapters.models import NoticeModel
from chalicelib.config import settings
from chalicelib.domain.calendar import PARIS
from tests.helpers import consumer_order, give_password, login_headers, professional_order
from tests.integration.test_billing_cycle import instalments, invoices_of, monthly, place_and_activate  # noqa: F401
from tests.integration.test_lifecycle import active, move_to, node_commands, notices, run_timers  # noqa: F401

AUTH = {"Authorization": f"Bearer {settings().operator_api_key}", "Content-Type": "application/json"}
CAP = 8626  # R46: SOHO Start 59,88 € + antivirus 12,00 € HT a year, VAT 20 %: 86,26 € TTC


def call(client, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    answer = client.http.request(method=method, path=path, body=json.dumps(body).encode() if body is not None else b"",
                                 headers={"Content-Type": "application/json", **(headers or AUTH)})
    return answer.status_code, json.loads(answer.body)


def claim(contract_id: str, **fields) -> dict:
    return {"contract_id": contract_id, "event_at": "2026-06-01T10:00:00+02:00",
            "description": "Site indisponible trois jours, commandes perdues.", "amount_claimed_cents": 20_000,
            **fields}


def actions(services, contract_id: str) -> list[str]:
    customer_id = services.store.get_contract(contract_id).customer_id
    return [e["action"] for e in services.store.evidence_for(customer_id, contract_id=contract_id)]


def customer_headers(client, services, contract_id: str) -> dict:
    return login_headers(client, give_password(services.store.get_contract(contract_id).customer_id))


# ---- R47 + R46: claims --------------------------------------------------------------------------------

def test_R47_a_claim_filed_on_the_anniversary_is_within_time_one_day_later_it_is_time_barred(client, active,
                                                                                          services):
    contract_id = active["contract_id"]
    status, error = call(client, "POST", "/admin/claims", claim(contract_id, filed_at="2027-06-01T23:59:00+02:00"))
    assert (status, error["error"]["code"]) == (422, "filed_in_future")  # the clock is at 2026-11-27
    status, within = call(client, "POST", "/admin/claims", claim(contract_id, event_at="2025-06-01T10:00:00+02:00",
                                                                  filed_at="2026-06-01T23:59:00+02:00"))
    assert status == 201, within
    assert (within["status"], within["last_day"], within["decision"]) == ("filed", "2026-06-01", None)
    assert within["liability_cap_cents"] == CAP
    status, barred = call(client, "POST", "/admin/claims", claim(contract_id, event_at="2025-06-01T10:00:00+02:00",
                                                                 filed_at="2026-06-02T00:00:00+02:00"))
    assert status == 201, barred
    assert barred["status"] == "time_barred" and barred["decision"]["outcome"] == "time_barred"
    assert "R47" in barred["decision"]["reason"]
    # the same claim again is the same row
    status, again = call(client, "POST", "/admin/claims", claim(contract_id, event_at="2025-06-01T10:00:00+02:00",
                                                                filed_at="2026-06-02T00:00:00+02:00"))
    assert (status, again["dispute_id"]) == (200, barred["dispute_id"])
    # filed now (default): an event of 2025-11-27 23:00 Paris is claimable until 2026-11-27, today
    status, today = call(client, "POST", "/admin/claims", claim(contract_id, event_at="2025-11-27T23:00:00+01:00"))
    assert (status, today["status"], today["filed_at"]) == (201, "filed", "2026-11-27T10:00:00.000+00:00")
    status, late = call(client, "POST", "/admin/claims", claim(contract_id, event_at="2025-11-26T23:59:00+01:00"))
    assert (status, late["status"]) == (201, "time_barred")
    # R54: the customer is told a claim is time-barred; R56: both filings logged
    notice = NoticeModel.get(f"dispute_claim_decision#{barred['dispute_id']}")
    assert notice.context["outcome"] == "time_barred" and notice.context["last_day"] == "2026-06-01"
    logged = actions(services, contract_id)
    assert logged.count("claim.filed") == 2 and logged.count("claim.time_barred") == 2
    # a time-barred claim cannot be decided
    status, error = call(client, "POST", f"/admin/claims/{barred['dispute_id']}/decision",
                         {"granted_cents": 100, "note": "Geste commercial."})
    assert (status, error["error"]["code"]) == (409, "claim_time_barred")


def test_R47_impossible_or_malformed_claims_are_refused(client, active):
    contract_id = active["contract_id"]
    for body, status, code in [
            (claim(contract_id, filed_at="2026-05-31T10:00:00+02:00"), 422, "filed_before_event"),
            (claim(contract_id, event_at="2026-12-01T10:00:00+01:00"), 422, "event_in_future"),
            (claim(contract_id, event_at="2026-06-01T10:00:00"), 400, "validation_error"),  # no offset
            (claim(contract_id, amount_claimed_cents=-1), 400, "validation_error"),
            (claim(contract_id, surprise=True), 400, "validation_error"),
            (claim("ctr_unknown"), 404, "contract_not_found")]:
        got, answer = call(client, "POST", "/admin/claims", body)
        assert (got, answer["error"]["code"]) == (status, code), (body, answer)


def test_R46_a_grant_at_the_cap_is_kept_one_cent_more_is_reduced_and_gross_fault_is_uncapped(client, active,
                                                                                         services):
    contract_id = active["contract_id"]
    ids = []
    for n, fault in enumerate((False, False, True, False)):
        status, filed = call(client, "POST", "/admin/claims", claim(
            contract_id, description=f"Incident n° {n}", gross_or_wilful_fault=fault))
        assert status == 201 and filed["liability_cap_cents"] == CAP
        ids.append(filed["dispute_id"])
    status, at_cap = call(client, "POST", f"/admin/claims/{ids[0]}/decision",
                          {"granted_cents": CAP, "note": "Au plafond."})
    assert status == 200, at_cap
    assert (at_cap["status"], at_cap["decision"]["awarded_cents"], at_cap["decision"]["capped"]) == ("decided", CAP,
                                                                                                      False)
    status, above = call(client, "POST", f"/admin/claims/{ids[1]}/decision",
                         {"granted_cents": CAP + 1, "note": "Un centime de plus."})
    assert status == 200
    decision = above["decision"]
    assert (decision["granted_cents"], decision["awarded_cents"], decision["capped"], decision["cap_cents"]) == (
        CAP + 1, CAP, True, CAP)
    assert "R46" in decision["reason"]
    status, gross = call(client, "POST", f"/admin/claims/{ids[2]}/decision", {"granted_cents": 20_000,
                                                                              "note": "Faute lourde."})
    assert (gross["decision"]["awarded_cents"], gross["decision"]["capped"], gross["decision"]["cap_cents"]) == (
        20_000, False, None)
    # the fault may be qualified at the decision (a claim filed by the customer carries none)
    status, qualified = call(client, "POST", f"/admin/claims/{ids[3]}/decision",
                             {"granted_cents": 15_000, "note": "Faute lourde établie.", "gross_or_wilful_fault": True})
    assert (status, qualified["decision"]["awarded_cents"]) == (200, 15_000)
    # deciding again: the same decision answers it, another is refused; never more than claimed
    assert call(client, "POST", f"/admin/claims/{ids[0]}/decision", {"granted_cents": CAP, "note": "Au plafond."})[0] \
        == 200
    status, error = call(client, "POST", f"/admin/claims/{ids[0]}/decision", {"granted_cents": 1, "note": "Autre."})
    assert (status, error["error"]["code"]) == (409, "claim_already_decided")
    status, filed = call(client, "POST", "/admin/claims", claim(contract_id, description="Encore un incident."))
    status, error = call(client, "POST", f"/admin/claims/{filed['dispute_id']}/decision",
                         {"granted_cents": 20_001, "note": "Trop."})
    assert (status, error["error"]["code"]) == (422, "grant_exceeds_claim")
    for path in ("/admin/claims/clm_unknown/decision", f"/admin/claims/{'x' * 2000}/decision"):
        status, error = call(client, "POST", path, {"granted_cents": 1, "note": "Rien."})
        assert (status, error["error"]["code"]) == (404, "claim_not_found")
    notice = NoticeModel.get(f"dispute_claim_decision#{ids[1]}")
    assert (notice.context["awarded_cents"], notice.context["capped"], notice.context["cap_cents"]) == (CAP, True, CAP)
    assert actions(services, contract_id).count("claim.decided") == 4


def test_R47_a_customer_files_a_claim_now_and_sees_its_claims(client, active, services):
    contract_id = active["contract_id"]
    headers = customer_headers(client, services, contract_id)
    body = {"contract_id": contract_id, "event_at": "2026-11-20T09:00:00+01:00", "description": "Messagerie en panne.",
            "amount_claimed_cents": 5000}
    status, filed = call(client, "POST", "/me/claims", body, headers)
    assert status == 201, filed
    assert (filed["status"], filed["filed_at"], filed["gross_or_wilful_fault"]) == (
        "filed", "2026-11-27T10:00:00.000+00:00", False)
    assert filed["created_by"].startswith("subscriber:")
    status, error = call(client, "POST", "/me/claims", {**body, "filed_at": "2026-11-21T09:00:00+01:00"}, headers)
    assert status == 400  # a customer cannot choose the filing date
    status, error = call(client, "POST", "/me/claims", {**body, "contract_id": "ctr_someone_else"}, headers)
    assert (status, error["error"]["code"]) == (404, "contract_not_found")
    status, listed = call(client, "GET", "/me/claims", None, headers)
    assert status == 200 and [c["dispute_id"] for c in listed["claims"]] == [filed["dispute_id"]]


# ---- R51: settlement cases -------------------------------------------------------------------------------

def test_R51_a_settlement_case_opens_for_a_breach_neither_illegal_nor_a_payment_default(client, active, services):
    contract_id = active["contract_id"]
    path = f"/admin/contracts/{contract_id}/settlement-cases"
    for body, code in [({"breach": "Factures impayées.", "breach_kind": "payment"},
                        "settlement_excluded_payment_default"),
                       ({"breach": "Contenu illicite.", "breach_kind": "customer_obligation", "illegal": True},
                        "settlement_excluded_illegal")]:
        status, error = call(client, "POST", path, body)
        assert (status, error["error"]["code"]) == (422, code)
    body = {"breach": "Sauvegardes non restaurées dans les délais.", "breach_kind": "service_quality"}
    status, case = call(client, "POST", path, body)
    assert status == 201 and (case["kind"], case["status"], case["breach_kind"]) == ("settlement_case", "open",
                                                                                     "service_quality")
    assert call(client, "POST", path, body)[0] == 200  # the same case
    assert "dispute_settlement_opened" in notices(services, contract_id)
    outcome = f"/admin/settlement-cases/{case['dispute_id']}/outcome"
    status, failed = call(client, "POST", outcome, {"outcome": "failed", "note": "Aucun accord."})
    assert (status, failed["status"], failed["decision"]["note"]) == (200, "failed", "Aucun accord.")
    assert call(client, "POST", outcome, {"outcome": "failed", "note": "Aucun accord."})[0] == 200
    status, error = call(client, "POST", outcome, {"outcome": "settled", "note": "Finalement."})
    assert (status, error["error"]["code"]) == (409, "settlement_case_closed")
    status, error = call(client, "POST", "/admin/settlement-cases/stl_unknown/outcome",
                         {"outcome": "settled", "note": "Rien."})
    assert (status, error["error"]["code"]) == (404, "settlement_case_not_found")
    assert "dispute_settlement_outcome" in notices(services, contract_id)
    assert {"settlement_case.opened", "settlement_case.failed"} <= set(actions(services, contract_id))


# ---- R52: formal notice, then termination one month later ---------------------------------------------

def failed_settlement(client, contract_id: str) -> str:
    status, case = call(client, "POST", f"/admin/contracts/{contract_id}/settlement-cases",
                        {"breach": "Revente de l'hébergement à des tiers.", "breach_kind": "customer_obligation"})
    assert status == 201
    assert call(client, "POST", f"/admin/settlement-cases/{case['dispute_id']}/outcome",
                {"outcome": "failed", "note": "Le client refuse."})[0] == 200
    return case["dispute_id"]


def test_R51_R52_a_formal_notice_needs_a_gross_breach_and_for_a_breach_not_illegal_a_failed_settlement(
        client, active):
    contract_id = active["contract_id"]
    path = f"/admin/contracts/{contract_id}/formal-notices"
    breach = {"breach": "Revente de l'hébergement à des tiers.", "gross_or_wilful": True}
    status, error = call(client, "POST", path, {**breach, "gross_or_wilful": False})
    assert (status, error["error"]["code"]) == (422, "gross_breach_required")
    status, error = call(client, "POST", path, {"breach": "Sans qualification."})
    assert status == 400  # gross_or_wilful is required
    status, error = call(client, "POST", path, breach)
    assert (status, error["error"]["code"]) == (422, "settlement_required")
    status, case = call(client, "POST", f"/admin/contracts/{contract_id}/settlement-cases",
                        {"breach": "Revente.", "breach_kind": "customer_obligation"})
    status, error = call(client, "POST", path, {**breach, "settlement_case_id": case["dispute_id"]})
    assert (status, error["error"]["code"]) == (422, "settlement_required")  # still open
    status, error = call(client, "POST", path, {**breach, "breach_kind": "payment", "illegal": True})
    assert (status, error["error"]["code"]) == (422, "payment_default_follows_r26")
    status, error = call(client, "POST", path, {**breach, "settlement_case_id": "stl_unknown"})
    assert (status, error["error"]["code"]) == (422, "settlement_case_not_found")
    failed = failed_settlement(client, contract_id)
    status, notice = call(client, "POST", path, {**breach, "settlement_case_id": failed})
    assert status == 201 and notice["status"] == "served"


def test_R52_the_contract_is_terminated_one_month_after_a_formal_notice_left_without_effect(client, aws, active,
                                                                                          services, clock):
    contract_id = active["contract_id"]
    status, error = call(client, "POST", f"/admin/contracts/{contract_id}/termination", {})
    assert (status, error["error"]["code"]) == (422, "formal_notice_required")
    status, notice = call(client, "POST", f"/admin/contracts/{contract_id}/formal-notices", {
        "breach": "Revente de l'hébergement à des tiers.", "gross_or_wilful": True,
        "settlement_case_id": failed_settlement(client, contract_id)})
    assert status == 201, notice
    assert (notice["served_on"], notice["last_day"]) == ("2026-11-27", "2026-12-27")
    timer = services.store.get_timer(f"formal_notice_term#{notice['dispute_id']}")
    assert datetime.fromisoformat(timer.due_at) == datetime(2026, 12, 28, 0, 0, tzinfo=PARIS)
    mail = NoticeModel.get(f"dispute_formal_notice#{notice['dispute_id']}")
    assert mail.context["last_day"] == "2026-12-27" and mail.recipient == "contact@acme.fr"
    node_commands(aws)

    move_to(clock, "2026-12-27T23:59")
    assert "formal_notice_term" not in run_timers(client, aws, services)
    status, error = call(client, "POST", f"/admin/contracts/{contract_id}/termination", {})
    assert (status, error["error"]["code"]) == (409, "formal_notice_period_running")
    assert services.store.get_contract(contract_id).status == "active"

    move_to(clock, "2026-12-28T00:00")
    assert "formal_notice_term" in run_timers(client, aws, services)
    contract = services.store.get_contract(contract_id)
    assert (contract.status, contract.ended_reason) == ("terminated", "gross_breach")
    assert node_commands(aws) == ["SuspendSpace"]
    deletion = services.store.get_timer(f"data_deletion#{contract_id}")
    assert datetime.fromisoformat(deletion.due_at) == datetime(2027, 1, 27, 0, 0, tzinfo=PARIS)  # R20: +30 days
    assert services.store.get_timer(f"deletion_warning#{contract_id}") is not None
    assert "dispute_breach_termination" in notices(services, contract_id)
    assert NoticeModel.get(f"dispute_breach_termination#{notice['dispute_id']}").context["deletion_on"] == \
        "2027-01-27"
    logged = actions(services, contract_id)
    assert {"formal_notice.served", "formal_notice.executed", "contract.terminated"} <= set(logged)
    # asked again, the route answers the termination made; nothing runs twice
    status, view = call(client, "POST", f"/admin/contracts/{contract_id}/termination", {})
    assert (status, view["status"], view["ended_reason"], view["formal_notice_id"]) == (
        200, "terminated", "gross_breach", notice["dispute_id"])
    assert "formal_notice_term" not in run_timers(client, aws, services) and node_commands(aws) == []
    assert actions(services, contract_id).count("contract.terminated") == 1
    # a terminated contract takes no new settlement case or notice
    status, error = call(client, "POST", f"/admin/contracts/{contract_id}/settlement-cases",
                         {"breach": "Autre chose.", "breach_kind": "other"})
    assert (status, error["error"]["code"]) == (409, "contract_not_in_force")


def test_R52_an_operator_may_terminate_once_the_month_is_over_before_the_timer_runs(client, aws, active, services,
                                                                                    clock):
    contract_id = active["contract_id"]
    status, notice = call(client, "POST", f"/admin/contracts/{contract_id}/formal-notices", {
        "breach": "Hébergement d'un site de hameçonnage.", "gross_or_wilful": True, "illegal": True})
    assert status == 201  # illegal: no settlement case first (R51)
    move_to(clock, "2026-12-28T09:00")
    status, view = call(client, "POST", f"/admin/contracts/{contract_id}/termination",
                        {"reason": "gross_breach", "formal_notice_id": notice["dispute_id"], "note": "Constaté."})
    assert (status, view["status"], view["terminated_at"]) == (200, "terminated", "2026-12-28T08:00:00.000+00:00")
    assert "formal_notice_term" in run_timers(client, aws, services)  # fires: nothing left to do
    assert actions(services, contract_id).count("contract.terminated") == 1


def test_R52_a_remedied_breach_ends_no_contract(client, aws, active, services, clock):
    contract_id = active["contract_id"]
    status, notice = call(client, "POST", f"/admin/contracts/{contract_id}/formal-notices", {
        "breach": "Hébergement d'un site de hameçonnage.", "gross_or_wilful": True, "illegal": True})
    path = f"/admin/formal-notices/{notice['dispute_id']}/remedied"
    status, remedied = call(client, "POST", path, {"note": "Le site a été retiré."})
    assert (status, remedied["status"]) == (200, "remedied")
    assert call(client, "POST", path, {"note": "Le site a été retiré."})[0] == 200
    assert "dispute_formal_notice_remedied" in notices(services, contract_id)
    move_to(clock, "2026-12-28T00:00")
    assert "formal_notice_term" in run_timers(client, aws, services)
    assert services.store.get_contract(contract_id).status == "active"
    status, error = call(client, "POST", f"/admin/contracts/{contract_id}/termination", {})
    assert (status, error["error"]["code"]) == (409, "formal_notice_remedied")
    status, listed = call(client, "GET", f"/admin/contracts/{contract_id}/disputes")
    assert status == 200 and [(d["kind"], d["status"]) for d in listed["disputes"]] == [("formal_notice", "remedied")]


# ---- R53: the customer's early termination ------------------------------------------------------------

def test_R53_an_early_termination_invoices_exactly_the_monthly_instalments_not_invoiced_yet(client, aws, monthly,
                                                                                          services, clock):
    contract_id = monthly["contract_id"]
    move_to(clock, "2026-12-17T00:00")
    assert "invoice_period" in run_timers(client, aws, services)   # month 2
    move_to(clock, "2027-01-17T00:00")
    assert "invoice_period" in run_timers(client, aws, services)   # month 3
    node_commands(aws)
    move_to(clock, "2027-01-20T15:00")
    headers = customer_headers(client, services, contract_id)
    path = f"/me/contracts/{contract_id}/early-termination"
    status, done = call(client, "POST", path, {"reason": "Nous fermons la boutique."}, headers)
    assert status == 201, done
    assert (done["kind"], done["status"], done["remaining_instalments"]) == ("early_termination", "terminated",
                                                                            [4, 5, 6, 7, 8, 9, 10, 11, 12])
    [closing] = invoices_of(services, contract_id, "termination")
    assert [(l["code"], l["quantity"], l["unit_cents"]) for l in closing.lines] == [
        ("plan:soho-start", 9, 499), ("option:antivirus", 9, 100)]
    # R53: exactly the nine remaining instalments (each 5,99 € HT), due at once; VAT once on the invoice
    assert int(closing.subtotal_cents) == 9 * int(instalments(services, contract_id)[3].subtotal_cents) == 5391
    assert (int(closing.vat_cents), int(closing.total_cents)) == (1078, 6469)
    assert (closing.due_date, closing.period_start, closing.period_end) == ("2027-01-20", "2027-02-27", "2027-11-27")
    assert (done["invoice_number"], done["owed_cents"], done["refund_cents"]) == (closing.number, 6469, 0)
    contract = services.store.get_contract(contract_id)
    assert (contract.status, contract.ended_reason) == ("terminated", "customer_early_termination")
    assert node_commands(aws) == ["SuspendSpace"]
    assert services.store.get_timer(f"data_deletion#{contract_id}") is not None
    assert {"dispute_early_termination", "invoice_issued"} <= set(notices(services, contract_id))
    mail = NoticeModel.get(f"dispute_early_termination#{contract_id}")
    assert (mail.context["owed_cents"], mail.context["remaining_instalments"]) == (6469, 9)
    logged = actions(services, contract_id)
    assert {"contract.terminated", "early_termination.recorded", "invoice.issued"} <= set(logged)
    # asked again: the same outcome, no second invoice
    status, again = call(client, "POST", path, {"reason": "Nous fermons la boutique."}, headers)
    assert (status, again["dispute_id"]) == (200, done["dispute_id"])
    # month 4's timer finds the contract terminated: nothing more is invoiced
    move_to(clock, "2027-02-17T00:00")
    assert "invoice_period" in run_timers(client, aws, services)
    assert sorted(instalments(services, contract_id)) == [2, 3]
    assert len(invoices_of(services, contract_id, "termination")) == 1


def test_R53_a_yearly_contract_ended_early_owes_nothing_more_and_gets_no_refund(client, aws, active, services):
    contract_id = active["contract_id"]
    headers = customer_headers(client, services, contract_id)
    status, done = call(client, "POST", f"/me/contracts/{contract_id}/early-termination",
                        {"reason": "Changement d'hébergeur."}, headers)
    assert status == 201, done
    assert (done["owed_cents"], done["refund_cents"], done["invoice_id"], done["remaining_instalments"]) == (
        0, 0, None, [])
    assert invoices_of(services, contract_id, "termination") == []
    assert services.store.get_contract(contract_id).ended_reason == "customer_early_termination"
    status, error = call(client, "POST", f"/admin/contracts/{contract_id}/formal-notices", {
        "breach": "Trop tard.", "gross_or_wilful": True, "illegal": True})
    assert (status, error["error"]["code"]) == (409, "contract_not_in_force")


def test_R53_R13_a_consumer_who_may_still_withdraw_is_sent_to_the_withdrawal(client, aws, services, clock):
    order = place_and_activate(client, aws, services, clock, consumer_order(billing_period="monthly"))
    contract_id = order["contract_id"]
    headers = customer_headers(client, services, contract_id)
    path = f"/me/contracts/{contract_id}/early-termination"
    status, error = call(client, "POST", path, {"reason": "Je change d'avis."}, headers)
    assert (status, error["error"]["code"]) == (409, "withdrawal_right_open")
    assert order["order_id"] in error["error"]["message"]
    move_to(clock, "2026-12-20T10:00")  # the 14 jours francs are over: the remaining sums are owed
    headers = customer_headers(client, services, contract_id)  # (a new session: the token expired meanwhile)
    status, done = call(client, "POST", path, {"reason": "Je change d'avis."}, headers)
    assert status == 201 and done["remaining_instalments"] == list(range(2, 13)) and done["owed_cents"] > 0


def test_R53_R52_the_providers_breach_after_the_customers_notice_lets_the_customer_leave_owing_nothing(
        client, aws, monthly, services, clock):
    contract_id = monthly["contract_id"]
    status, notice = call(client, "POST", f"/admin/contracts/{contract_id}/formal-notices", {
        "breach": "Site indisponible depuis deux semaines.", "gross_or_wilful": True, "breach_kind": "service_quality",
        "from_party": "customer"})
    assert status == 201 and notice["from_party"] == "customer"
    assert services.store.get_timer(f"formal_notice_term#{notice['dispute_id']}") is None  # we never self-terminate
    headers = customer_headers(client, services, contract_id)
    path = f"/me/contracts/{contract_id}/early-termination"
    body = {"reason": "Manquement de l'hébergeur.", "allowed_case": "provider_breach",
            "reference": notice["dispute_id"]}
    status, error = call(client, "POST", path, body, headers)
    assert (status, error["error"]["code"]) == (422, "allowed_case_not_established")  # the month runs
    status, error = call(client, "POST", path, {**body, "reference": "fnt_unknown"}, headers)
    assert (status, error["error"]["code"]) == (422, "allowed_case_not_established")
    status, error = call(client, "POST", path, {"reason": "x" * 5, "allowed_case": "provider_breach"}, headers)
    assert status == 400  # a case without its reference
    move_to(clock, "2026-12-28T00:00")
    status, done = call(client, "POST", path, body, customer_headers(client, services, contract_id))
    assert status == 201, done
    assert (done["allowed_case"], done["owed_cents"], done["invoice_id"]) == ("provider_breach", 0, None)
    assert services.store.get_contract(contract_id).ended_reason == "provider_breach"
    assert invoices_of(services, contract_id, "termination") == []


def test_R53_R50_an_unknown_force_majeure_event_is_not_an_allowed_case(client, aws, active, services):
    contract_id = active["contract_id"]
    headers = customer_headers(client, services, contract_id)
    status, error = call(client, "POST", f"/me/contracts/{contract_id}/early-termination",
                         {"reason": "Panne géante.", "allowed_case": "force_majeure", "reference": "fm_unknown"},
                         headers)
    assert (status, error["error"]["code"]) == (422, "allowed_case_not_established")
    assert services.store.get_contract(contract_id).status == "active"


def test_R53_another_customers_contract_is_unknown(client, aws, active, services, clock):
    other = place_and_activate(client, aws, services, clock, professional_order(
        "other-shop.fr", customer={"email": "boss@other-shop.fr"}))
    headers = customer_headers(client, services, other["contract_id"])
    status, error = call(client, "POST", f"/me/contracts/{active['contract_id']}/early-termination",
                         {"reason": "Pas à moi."}, headers)
    assert (status, error["error"]["code"]) == (404, "contract_not_found")
    assert services.store.get_contract(active["contract_id"]).status == "active"


# ---- the authorization matrix's objects (tests/integration/test_authorization_matrix.py PARAMS) -------

def _matrix_post(client, world: dict, path: str, body: dict) -> str:
    answer = client.http.post(path, body=json.dumps(body), headers={"Content-Type": "application/json",
                                                                   **world["headers"]["op"]})
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)["dispute_id"]


def matrix_params() -> dict:
    """R46/R51/R52: a claim, a settlement case and a formal notice on A's contract, made by an operator."""
    return {
        "claim_id": lambda client, world: _matrix_post(client, world, "/admin/claims", {
            "contract_id": world["contract_id"], "event_at": "2026-11-20T10:00:00+01:00",
            "description": "Incident de messagerie.", "amount_claimed_cents": 1000}),
        "settlement_id": lambda client, world: _matrix_post(
            client, world, f"/admin/contracts/{world['contract_id']}/settlement-cases",
            {"breach": "Sauvegardes non restaurées.", "breach_kind": "service_quality"}),
        "formal_notice_id": lambda client, world: _matrix_post(
            client, world, f"/admin/contracts/{world['contract_id']}/formal-notices",
            {"breach": "Site de hameçonnage.", "gross_or_wilful": True, "illegal": True}),
    }
