"""Abuse complaints and measures through the API, the consumer and the timers (R48, R49, R54, R56).

The world: `active` is a paid, provisioned, active contract for acme-test.fr (2026-11-27). Reports
go through POST /abuse-reports and the `on_abuse_report` consumer; deadlines through the timers;
measures end as node commands on the node's queue."""
from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chalicelib.adapters.dynamo_store import Effect
from chalicelib.adapters.models import AbuseCaseModel, AbuseReportModel, NoticeModel
from chalicelib.domain.calendar import PARIS
from chalicelib.domain.contracts import HoldLevel, HoldReason
from chalicelib.service.lifecycle import set_hold
from tests.helpers import give_password, login_headers, professional_order
from tests.integration.conftest import queue_messages, sqs_lambda_event
from tests.integration.test_lifecycle import active, move_to, run_timers  # noqa: F401  (fixture)

OPERATOR = {"Authorization": "Bearer op_local_dev_key"}
JSON = {"Content-Type": "application/json"}
REPORTER = "victime@exemple-plaignant.org"
DESCRIPTION = "Je reçois chaque jour des publicités pour des montres depuis cette adresse, sans m'être inscrit."


def call(client, method: str, path: str, body=None, headers=None):
    data = json.dumps(body) if body is not None else None
    answer = getattr(client.http, method.lower())(path, body=data, headers={**JSON, **(headers or {})})
    return answer.status_code, (json.loads(answer.body) if answer.body else None), answer.headers


def report_body(target: dict, *, category: str = "spam", email: str = REPORTER, files: list | None = None,
                description: str = DESCRIPTION) -> dict:
    return {"category": category, "target": target, "description": description,
            "reporter": {"email": email, "name": "Paul Plaignant"}, "evidence_files": files or []}


def report(client, target: dict, **kwargs) -> dict:
    status, body, _ = call(client, "POST", "/abuse-reports", report_body(target, **kwargs))
    assert status == 202, body
    return body


def consume(client, aws) -> list[str]:
    """The abuse-reports consumer on everything queued; returns the report ids it got."""
    bodies = [m["Body"] for m in queue_messages(aws["queues"]["abuse-reports"])]
    if bodies:
        assert client.lambda_.invoke("on_abuse_report", sqs_lambda_event(bodies)).payload == {"batchItemFailures": []}
    return [json.loads(b)["report_id"] for b in bodies]


def node_commands(aws) -> list[dict]:
    return [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]


def case_of(report_id: str) -> AbuseCaseModel:
    return AbuseCaseModel.get(AbuseReportModel.get(report_id).case_id)


def templates(contract_id: str) -> list[str]:
    return sorted(n.template for n in NoticeModel.scan(NoticeModel.contract_id == contract_id))


def operator_report(client, contract_id: str, **changes) -> dict:
    body = {"source": "court_order", "category": "illegal_content", "document_reference": "TJ Paris 26/01234",
            "description": "Ordonnance de retrait des contenus illicites publiés sur le site.",
            "contract_id": contract_id, **changes}
    status, answer, _ = call(client, "POST", "/admin/abuse-reports", body, OPERATOR)
    assert status == 201, answer
    return answer


def case_for_matrix(client, world: dict) -> str:
    """The authorization matrix's case: a third party's written claim about A's contract (spam)."""
    status, answer, _ = call(client, "POST", "/admin/abuse-reports", {
        "source": "third_party_claim", "category": "spam", "document_reference": "LR 2026-11-001",
        "description": "Courrier recommandé : envois massifs non sollicités depuis ce domaine.",
        "contract_id": world["contract_id"]}, world["headers"]["op"])
    assert status == 201, answer
    return answer["case"]["case_id"]


def customer_headers(client, services, active) -> dict:
    contract = services.store.get_contract(active["contract_id"])
    return login_headers(client, give_password(contract.customer_id))


def without_ids(value):
    """The answer with what differs by nature (ids, signed URLs and fields) replaced by its type."""
    if isinstance(value, dict):
        return {k: (type(v).__name__ if k in ("report_id", "url", "key", "policy", "x-amz-signature",
                                             "x-amz-credential", "x-amz-date") else without_ids(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


# ---- R48: the public intake ---------------------------------------------------------------------------

def test_R48_the_intake_answers_identically_for_a_hosted_and_a_non_hosted_domain(client, aws, active, iam_audit):
    png = [{"filename": "capture.png", "content_type": "image/png", "size_bytes": 2048}]
    report(client, {"domain": "chauffe.fr"}, email="warm@exemple-plaignant.org")  # the queue URL cached once
    before = len(iam_audit)
    hosted = call(client, "POST", "/abuse-reports", report_body({"domain": "acme-test.fr"}, files=png))
    calls_hosted = [(c.service, c.operation, json.dumps(c.params, default=str)) for c in iam_audit[before:]]
    middle = len(iam_audit)
    other = call(client, "POST", "/abuse-reports", report_body({"domain": "pas-chez-nous.fr"}, files=png,
                                                               email="autre@exemple-plaignant.org"))
    calls_other = [(c.service, c.operation) for c in iam_audit[middle:]]
    assert hosted[0] == other[0] == 202
    assert without_ids(hosted[1]) == without_ids(other[1])
    assert set(hosted[1]) == {"report_id", "status", "uploads"} and hosted[1]["status"] == "received"
    assert set(hosted[2]) == set(other[2]) and hosted[2]["Content-Type"] == other[2]["Content-Type"]
    # Nothing about the target is read when answering: the same AWS calls, none on domains or contracts.
    assert [(s, o) for s, o, _ in calls_hosted] == calls_other
    assert not [c for c in calls_hosted if "domains" in c[2] or "contracts" in c[2]]
    # The matching happens afterwards, in the consumer.
    consume(client, aws)
    assert AbuseReportModel.get(hosted[1]["report_id"]).status == "matched"
    unmatched = AbuseReportModel.get(other[1]["report_id"])
    assert unmatched.status == "unmatched" and unmatched.case_id is None and unmatched.purge_epoch > 0


def test_R48_evidence_files_get_a_presigned_post_under_the_report_with_type_and_size_conditions(client, aws):
    files = [{"filename": "capture.png", "content_type": "image/png", "size_bytes": 4096},
             {"filename": "message.eml", "content_type": "message/rfc822", "size_bytes": 12000}]
    answer = report(client, {"url": "https://www.pas-chez-nous.fr/promo"}, files=files)
    assert [u["filename"] for u in answer["uploads"]] == ["capture.png", "message.eml"]
    for upload, file in zip(answer["uploads"], files):
        fields = upload["fields"]
        assert fields["key"].startswith(f"reports/{answer['report_id']}/")
        assert upload["url"].rstrip("/").endswith("soho-it-abuse-evidence")
        assert fields["Content-Type"] == file["content_type"]
        policy = json.loads(base64.b64decode(fields["policy"]))
        assert ["content-length-range", 1, file["size_bytes"]] in policy["conditions"]
        assert {"Content-Type": file["content_type"]} in policy["conditions"]
        assert {"bucket": "soho-it-abuse-evidence"} in policy["conditions"]
    stored = AbuseReportModel.get(answer["report_id"])
    assert [f["key"] for f in stored.evidence_files] == [u["fields"]["key"] for u in answer["uploads"]]
    assert stored.reporter == {"email": REPORTER, "name": "Paul Plaignant"}


def test_R48_the_intake_is_rate_limited_per_reporter_and_per_client_address(client, aws):
    for _ in range(5):
        report(client, {"domain": "pas-chez-nous.fr"})
    status, body, headers = call(client, "POST", "/abuse-reports", report_body({"domain": "pas-chez-nous.fr"},
                                                                               email=REPORTER.upper()))
    assert status == 429 and body["error"]["code"] == "too_many_requests"
    assert 0 < int(headers["Retry-After"]) <= 3600
    for n in range(14):  # other reporters, same address: 20 an hour from one address
        report(client, {"domain": "pas-chez-nous.fr"}, email=f"r{n}@exemple-plaignant.org")
    status, body, _ = call(client, "POST", "/abuse-reports", report_body({"domain": "pas-chez-nous.fr"},
                                                                         email="new@exemple-plaignant.org"))
    assert status == 429 and "this address" in body["error"]["message"]


@pytest.mark.parametrize("change, field", [
    ({"target": {"domain": "acme-test.fr", "url": "https://acme-test.fr/"}}, "target"),
    ({"target": {"domain": "192.168.0.1"}}, "target"),
    ({"target": {"url": "ftp://acme-test.fr/x"}}, "target"),
    ({"target": {"mailbox": "pas-une-adresse"}}, "target"),
    ({"category": "gambling"}, "category"),
    ({"description": "trop court"}, "description"),
    ({"reporter": {"email": "not-an-email"}}, "reporter.email"),
    ({"evidence_files": [{"filename": "x.exe", "content_type": "application/x-msdownload", "size_bytes": 10}]},
     "evidence_files.0.content_type"),
    ({"evidence_files": [{"filename": "x.png", "content_type": "image/png", "size_bytes": 11 * 1024 * 1024}]},
     "evidence_files.0.size_bytes"),
    ({"evidence_files": [{"filename": f"{n}.png", "content_type": "image/png", "size_bytes": 1} for n in range(6)]},
     "evidence_files"),
    ({"customer_id": "cus_x"}, "customer_id"),
])
def test_R48_bad_input_gets_a_400_naming_the_field(client, aws, change, field):
    status, body, _ = call(client, "POST", "/abuse-reports", {**report_body({"domain": "acme-test.fr"}), **change})
    assert status == 400, body
    assert any(name == field or name.startswith(field + ".") for name in body["error"]["fields"]), body
    assert not queue_messages(aws["queues"]["abuse-reports"])


# ---- R48: matching and the case ------------------------------------------------------------------------------

def test_R48_the_consumer_opens_one_case_notifies_the_customer_and_sets_the_answer_deadline(
        client, aws, active, services):
    first = report(client, {"url": "http://www.acme-test.fr/montres"})
    second = report(client, {"mailbox": "promo@acme-test.fr"}, email="autre@exemple-plaignant.org")
    other = report(client, {"domain": "acme-test.fr"}, category="copyright", email="ayant-droit@exemple.org")
    bodies = [m["Body"] for m in queue_messages(aws["queues"]["abuse-reports"])]
    for _ in range(2):  # a redelivered batch changes nothing twice
        client.lambda_.invoke("on_abuse_report", sqs_lambda_event(bodies))
    spam, copyright_case = case_of(first["report_id"]), case_of(other["report_id"])
    assert case_of(second["report_id"]).case_id == spam.case_id != copyright_case.case_id
    assert (spam.status, spam.report_count, spam.category, spam.severity) == ("customer_notified", 2, "spam",
                                                                             "serious")
    assert spam.contract_id == active["contract_id"] and spam.domain_name == "acme-test.fr"
    assert (spam.answer_deadline_on, datetime.fromisoformat(spam.answer_deadline)) == (
        "2026-12-04", datetime(2026, 12, 5, tzinfo=PARIS))
    timer = services.store.get_timer(f"abuse_answer_deadline#{spam.case_id}")
    assert timer.state == "pending" and datetime.fromisoformat(timer.due_at) == datetime(2026, 12, 5, tzinfo=PARIS)
    assert templates(active["contract_id"]).count("abuse_complaint") == 2  # one per case, not per report
    notice = NoticeModel.get(f"abuse_complaint#{spam.case_id}")
    assert "www.acme-test.fr/montres" in notice.context["target"] and "montres" in notice.context["excerpt"]
    assert REPORTER not in json.dumps(notice.context) and "Plaignant" not in json.dumps(notice.context)
    # R56: the case is in the customer's evidence log, never the reporter
    log = services.store.evidence_for(spam.customer_id)
    actions = [e["action"] for e in log if e["entity_id"] == spam.case_id]
    assert sorted(actions) == ["abuse_case.customer_notified", "abuse_case.opened", "abuse_case.report_joined"]
    assert REPORTER not in json.dumps(log) and "Plaignant" not in json.dumps(log)


def test_R48_R49_no_answer_by_the_deadline_restricts_outgoing_mail_for_spam(client, aws, active, services, clock):
    answer = report(client, {"domain": "acme-test.fr"})
    consume(client, aws)
    case = case_of(answer["report_id"])
    node_commands(aws)
    move_to(clock, "2026-12-04T23:59")
    assert "abuse_answer_deadline" not in run_timers(client, aws, services)
    move_to(clock, "2026-12-05T00:00")
    assert run_timers(client, aws, services) == ["abuse_answer_deadline"]
    case = AbuseCaseModel.get(case.case_id)
    assert case.status == "measure_applied"
    assert [(m["measure"], m["level"], m["recurrence"], m["immediate"]) for m in case.measures] == [
        ("restrict_mail", "restricted", "first", False)]
    contract = services.store.get_contract(active["contract_id"])
    assert (contract.status, contract.holds) == ("restricted", {"abuse": "restricted"})
    commands = node_commands(aws)
    assert [(c["type"], c.get("reason"), c.get("block_outgoing_mail")) for c in commands] == [
        ("RestrictSpace", "abuse", False), ("RestrictSpace", "abuse", True)]
    assert "abuse_measure" in templates(active["contract_id"])
    actions = [e["action"] for e in services.store.evidence_for(contract.customer_id, contract_id=contract.contract_id)]
    assert actions.count("abuse_case.deadline_passed") == 1 and actions.count("abuse_case.measure_applied") == 1
    assert "contract.hold.set" in actions
    assert run_timers(client, aws, services) == [] and node_commands(aws) == []  # once only


def test_R48_an_answer_before_the_deadline_stops_the_automatic_measure(client, aws, active, services, clock):
    answer = report(client, {"domain": "acme-test.fr"})
    consume(client, aws)
    case = case_of(answer["report_id"])
    headers = customer_headers(client, services, active)
    status, view, _ = call(client, "POST", f"/me/abuse-cases/{case.case_id}/answer",
                           {"message": "La campagne a été arrêtée et la liste d'envoi purgée."}, headers)
    assert status == 200 and view["status"] == "answered"
    node_commands(aws)
    move_to(clock, "2026-12-05T00:00")
    assert run_timers(client, aws, services) == ["abuse_answer_deadline"]
    assert AbuseCaseModel.get(case.case_id).status == "answered"
    assert services.store.get_contract(active["contract_id"]).status == "active" and node_commands(aws) == []
    # the operator decides: here, close it
    status, view, _ = call(client, "POST", f"/admin/abuse-cases/{case.case_id}/close",
                           {"outcome": "resolved", "note": "campagne arrêtée"}, OPERATOR)
    assert status == 200 and (view["status"], view["outcome"]) == ("closed", "resolved")
    status, body, _ = call(client, "POST", f"/me/abuse-cases/{case.case_id}/answer", {"message": "Encore un mot."},
                           customer_headers(client, services, active))  # a new session: the clock moved
    assert status == 409 and body["error"]["code"] == "illegal_transition"


def test_R48_an_answer_after_the_deadline_before_the_measure_is_refused(client, aws, active, services, clock):
    answer = report(client, {"domain": "acme-test.fr"})
    consume(client, aws)
    case = case_of(answer["report_id"])
    move_to(clock, "2026-12-05T00:00")  # the deadline passed; the sweep has not run yet
    status, body, _ = call(client, "POST", f"/me/abuse-cases/{case.case_id}/answer",
                           {"message": "Désolé pour le retard de réponse."},
                           customer_headers(client, services, active))
    assert status == 409 and body["error"]["code"] == "answer_deadline_passed"


def test_R49_a_second_complaint_within_the_recurrence_window_suspends(client, aws, active, services, clock):
    report(client, {"domain": "acme-test.fr"})
    consume(client, aws)
    move_to(clock, "2026-12-05T00:00")
    run_timers(client, aws, services)  # first case: mail blocked
    node_commands(aws)
    move_to(clock, "2027-03-01T10:00")
    second = report(client, {"mailbox": "news@acme-test.fr"}, email="deuxieme@exemple-plaignant.org")
    consume(client, aws)
    case = case_of(second["report_id"])
    assert case.status == "customer_notified" and case.answer_deadline_on == "2027-03-08"
    move_to(clock, "2027-03-09T00:00")
    assert "abuse_answer_deadline" in run_timers(client, aws, services)
    case = AbuseCaseModel.get(case.case_id)
    assert [(m["measure"], m["recurrence"]) for m in case.measures] == [("suspend", "repeat")]
    contract = services.store.get_contract(active["contract_id"])
    assert (contract.status, contract.holds) == ("suspended", {"abuse": "suspended"})
    assert [c["type"] for c in node_commands(aws)] == ["SuspendSpace"]


def test_R49_a_warning_counts_for_recurrence_within_the_window(client, aws, active, services, clock):
    status, view, _ = call(client, "POST", f"/admin/abuse-cases/{case_for_matrix(client, world_of(active))}/severity",
                           {"severity": "minor"}, OPERATOR)
    assert status == 200 and view["severity_history"][0]["from"] == "serious"
    status, view, _ = call(client, "POST", f"/admin/abuse-cases/{view['case_id']}/measure", {}, OPERATOR)
    assert status == 200 and [m["measure"] for m in view["measures"]] == ["warning"]  # first minor: a warning
    assert services.store.get_contract(active["contract_id"]).status == "active"
    move_to(clock, "2027-11-26T10:00")  # 364 days later: still within the window
    status, view, _ = call(client, "POST", f"/admin/abuse-cases/{case_for_matrix(client, world_of(active))}/measure",
                           {"measure": "warning", "reason": "geste commercial"}, OPERATOR)
    assert status == 200 and view["measures"][0]["recurrence"] == "repeat"
    assert view["measures"][0]["matrix_measure"] == "suspend"


def world_of(active) -> dict:
    return {"contract_id": active["contract_id"], "headers": {"op": OPERATOR}}


def test_R49_a_court_order_about_manifestly_illegal_content_suspends_at_once_without_notice(
        client, aws, active, services):
    node_commands(aws)
    answer = operator_report(client, active["contract_id"], severity="manifestly_illegal")
    case = answer["case"]
    assert answer["status"] == "matched" and case["status"] == "measure_applied"
    assert [(m["measure"], m["immediate"]) for m in case["measures"]] == [("suspend", True)]
    assert case["notified_at"] is None and case["answer_deadline"] is None  # no notice before, no deadline
    assert services.store.get_timer(f"abuse_answer_deadline#{case['case_id']}") is None
    contract = services.store.get_contract(active["contract_id"])
    assert (contract.status, contract.holds) == ("suspended", {"abuse": "suspended"})
    assert [(c["type"], c["reason"]) for c in node_commands(aws)] == [("SuspendSpace", "abuse")]
    mails = templates(active["contract_id"])
    assert "abuse_measure" in mails and "abuse_complaint" not in mails  # told of the measure, after it (17.4)
    notice = NoticeModel.get(f"abuse_measure#{case['case_id']}#1")
    assert notice.context["immediate"] is True and notice.context["measure"] == "suspend"
    assert case["reports"][0]["document_reference"] == "TJ Paris 26/01234"


def test_R49_an_illegal_content_report_confirmed_by_an_operator_is_suspended_at_once(client, aws, active, services):
    answer = report(client, {"url": "https://acme-test.fr/galerie"}, category="illegal_content",
                    description="Des images manifestement illicites sont publiées sur cette page.")
    consume(client, aws)
    case = case_of(answer["report_id"])
    assert case.status == "customer_notified"
    node_commands(aws)
    status, view, _ = call(client, "POST", f"/admin/abuse-cases/{case.case_id}/severity",
                           {"severity": "manifestly_illegal", "note": "contenu vérifié"}, OPERATOR)
    assert status == 200 and view["status"] == "measure_applied" and view["severity"] == "manifestly_illegal"
    assert services.store.get_contract(active["contract_id"]).status == "suspended"
    assert [c["type"] for c in node_commands(aws)] == ["SuspendSpace"]
    # the deadline's timer then finds nothing left to do
    assert AbuseCaseModel.get(case.case_id).measures[0]["immediate"] is True


def test_R49_lifting_the_abuse_hold_never_lifts_a_non_payment_hold_nor_the_reverse(client, aws, active, services):
    case_id = operator_report(client, active["contract_id"], severity="manifestly_illegal")["case"]["case_id"]
    contract = services.store.get_contract(active["contract_id"])
    effect = Effect()  # R23: an overdue invoice restricts the same contract (as billing does)
    set_hold(effect, "contract", contract, HoldReason.NON_PAYMENT, HoldLevel.RESTRICTED, services,
             services.clock.now())
    services.store.apply(effect)
    # paying the invoice lifts non_payment only: the abuse suspension stays
    contract = services.store.get_contract(active["contract_id"])
    effect = Effect()
    set_hold(effect, "contract", contract, HoldReason.NON_PAYMENT, None, services, services.clock.now())
    services.store.apply(effect)
    contract = services.store.get_contract(active["contract_id"])
    assert (contract.status, contract.holds) == ("suspended", {"abuse": "suspended"})
    # restricted again for non-payment, then the abuse hold lifted: the restriction stays
    effect = Effect()
    set_hold(effect, "contract", contract, HoldReason.NON_PAYMENT, HoldLevel.RESTRICTED, services,
             services.clock.now())
    services.store.apply(effect)
    node_commands(aws)
    status, view, _ = call(client, "POST", f"/admin/abuse-cases/{case_id}/lift", {"note": "contenu retiré"}, OPERATOR)
    assert status == 200 and view["lifted_at"] and view["contract"] == {
        "status": "restricted", "holds": {"non_payment": "restricted"}}
    assert [(c["type"], c["reason"]) for c in node_commands(aws)] == [("RestrictSpace", "non_payment")]
    notice = NoticeModel.scan(NoticeModel.template == "abuse_lifted").next()
    assert notice.context["still_held"] is True
    status, body, _ = call(client, "POST", f"/admin/abuse-cases/{case_id}/lift", {"note": "encore"}, OPERATOR)
    assert status == 409 and body["error"]["code"] == "no_abuse_hold"


def test_R49_an_operator_applies_the_matrix_s_measure_or_another_with_a_reason(client, aws, active, services):
    case_id = case_for_matrix(client, world_of(active))
    status, body, _ = call(client, "POST", f"/admin/abuse-cases/{case_id}/measure", {"measure": "suspend"}, OPERATOR)
    assert status == 422 and body["error"]["code"] == "reason_required" and "restrict_mail" in body["error"]["message"]
    status, view, _ = call(client, "POST", f"/admin/abuse-cases/{case_id}/measure",
                           {"measure": "limit", "reason": "FTP compromis"}, OPERATOR)
    assert status == 200 and [(m["measure"], m["reason"]) for m in view["measures"]] == [("limit", "FTP compromis")]
    status, body, _ = call(client, "POST", f"/admin/abuse-cases/{case_id}/close",
                           {"outcome": "dismissed", "note": "erreur"}, OPERATOR)
    assert status == 409  # a measured case is not dismissed: lift it, then close it as resolved
    status, view, _ = call(client, "POST", f"/admin/abuse-cases/{case_id}/close",
                           {"outcome": "resolved", "note": "réglé"}, OPERATOR)
    assert status == 200 and view["status"] == "closed"
    assert call(client, "POST", f"/admin/abuse-cases/{case_id}/measure", {}, OPERATOR)[0] == 409


# ---- views -------------------------------------------------------------------------------------------------

def test_R48_the_customer_sees_what_is_complained_about_never_who(client, aws, active, services):
    report(client, {"url": "https://acme-test.fr/montres"})
    consume(client, aws)
    status, body, _ = call(client, "GET", "/me/abuse-cases", headers=customer_headers(client, services, active))
    assert status == 200 and len(body["cases"]) == 1
    [case] = body["cases"]
    assert case["complaints"][0]["target"] == "https://acme-test.fr/montres"
    assert case["complaints"][0]["excerpt"].startswith("Je reçois chaque jour")
    assert REPORTER not in json.dumps(body) and "Plaignant" not in json.dumps(body)
    # another customer: none of A's cases, and A's case answers 404
    other = client.http.post("/orders", body=json.dumps(professional_order("autre-test.fr", customer={
        "email": "b@autre-test.fr"})), headers=JSON)
    b_customer = services.store.get_order(json.loads(other.body)["order_id"]).customer_id
    b_headers = login_headers(client, give_password(b_customer))
    assert call(client, "GET", "/me/abuse-cases", headers=b_headers)[1] == {"cases": []}
    status, body, _ = call(client, "POST", f"/me/abuse-cases/{case['case_id']}/answer",
                           {"message": "Ce n'est pas moi."}, b_headers)
    assert status == 404 and body["error"]["code"] == "abuse_case_not_found"


def test_R48_operators_list_open_cases_first_and_see_reports_with_reporter_and_evidence_links(
        client, aws, active, services):
    first = report(client, {"domain": "acme-test.fr"}, files=[
        {"filename": "capture.png", "content_type": "image/png", "size_bytes": 100}])
    consume(client, aws)
    dismissed_id = operator_report(client, active["contract_id"], category="defamation")["case"]["case_id"]
    call(client, "POST", f"/admin/abuse-cases/{dismissed_id}/close", {"outcome": "dismissed", "note": "infondé"},
         OPERATOR)
    status, body, _ = call(client, "GET", "/admin/abuse-cases", headers=OPERATOR)
    assert status == 200 and [c["status"] for c in body["cases"]] == ["customer_notified", "dismissed"]
    status, body, _ = call(client, "GET", "/admin/abuse-cases?status=dismissed", headers=OPERATOR)
    assert [c["case_id"] for c in body["cases"]] == [dismissed_id]
    status, body, _ = call(client, "GET", "/admin/abuse-cases?status=bogus", headers=OPERATOR)
    assert status == 400 and body["error"]["fields"] == {"status": "unknown status"}
    case_id = case_of(first["report_id"]).case_id
    status, view, _ = call(client, "GET", f"/admin/abuse-cases/{case_id}", headers=OPERATOR)
    assert status == 200 and view["reports"][0]["reporter"] == {"email": REPORTER, "name": "Paul Plaignant"}
    [file] = view["reports"][0]["evidence_files"]
    assert file["key"].startswith(f"reports/{first['report_id']}/") and "X-Amz-Signature" in file["download_url"]
    assert view["contract"] == {"status": "active", "holds": {}}
    for unknown in ("abc_unknown", "x" * 1100):
        status, body, _ = call(client, "GET", f"/admin/abuse-cases/{unknown}", headers=OPERATOR)
        assert status == 404 and body["error"]["code"] == "abuse_case_not_found"


def test_R48_an_operator_report_about_an_unknown_or_ended_contract_is_refused_or_unmatched(client, aws, active):
    status, body, _ = call(client, "POST", "/admin/abuse-reports", {
        "source": "authority_order", "category": "phishing_malware", "document_reference": "PHAROS-1",
        "description": "Page d'hameçonnage imitant une banque signalée par PHAROS.", "contract_id": "ctr_nope"},
        OPERATOR)
    assert status == 404 and body["error"]["code"] == "contract_not_found"
    status, body, _ = call(client, "POST", "/admin/abuse-reports", {
        "source": "authority_order", "category": "phishing_malware", "document_reference": "PHAROS-2",
        "description": "Page d'hameçonnage imitant une banque signalée par PHAROS.",
        "target": {"url": "https://banque.pas-chez-nous.fr/login"}}, OPERATOR)
    assert status == 201 and (body["status"], body["case"]) == ("unmatched", None)
    status, body, _ = call(client, "POST", "/admin/abuse-reports", {
        "source": "authority_order", "category": "phishing_malware", "document_reference": "PHAROS-3",
        "description": "Page d'hameçonnage imitant une banque signalée par PHAROS."}, OPERATOR)
    assert status == 400


# ---- R49 on the node: the read-only status endpoint ---------------------------------------------------------

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


def test_R49_the_node_shows_a_space_s_state_and_outgoing_mail_read_only_on_its_own_address(tmp_path):
    from chalicelib.contracts.node_messages import ProvisionSpace, RestrictSpace
    from nodeagent.http_server import make_server
    from nodeagent.spaces import SpaceStore
    store = SpaceStore(tmp_path / "node")
    store.apply(ProvisionSpace(node_id="n", command_id="p-1", contract_id="ctr-1", domain="acme-test.fr",
                               quota_mb=1024, mailboxes=5, mysql_databases=1, php=True, issued_at=T0))
    store.apply(RestrictSpace(node_id="n", command_id="r-1", contract_id="ctr-1", domain="acme-test.fr",
                              issued_at=T0 + timedelta(minutes=1), reason="abuse", block_outgoing_mail=True))
    server = make_server(store, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def get(path: str, host: str | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(base + path, headers={"Host": host} if host else {})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    try:
        status, body = get("/_node/spaces/acme-test.fr")
        assert status == 200
        assert {k: json.loads(body)[k] for k in ("state", "reason", "mail_outgoing")} == {
            "state": "restricted", "reason": "abuse", "mail_outgoing": "blocked"}
        assert get("/_node/spaces/unknown.fr")[0] == 404
        # on a site's Host it is the site's own path, never the node's status
        assert get("/_node/spaces/acme-test.fr", host="acme-test.fr")[0] == 404
        status, page = get("/", host="acme-test.fr")
        assert status == 200 and b"acme-test.fr" in page  # a restricted site is still served
    finally:
        server.shutdown()
        server.server_close()


# ---- no input makes a 5xx ---------------------------------------------------------------------------------

JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner,
                                                                                         max_size=4), max_leaves=8)
FIELDS = {"category": st.sampled_from(["spam", "other", "", "SPAM"]) | st.text(max_size=20),
          "target": st.fixed_dictionaries({}, optional={"domain": st.text(max_size=80), "url": st.text(max_size=80),
                                                        "mailbox": st.text(max_size=80)}) | JSON_VALUES,
          "description": st.text(min_size=0, max_size=60) | JSON_VALUES,
          "reporter": st.fixed_dictionaries({"email": st.emails() | st.text(max_size=30)}) | JSON_VALUES,
          "evidence_files": st.lists(st.fixed_dictionaries({
              "filename": st.text(max_size=30), "content_type": st.sampled_from(["image/png", "text/plain", "x/y"]),
              "size_bytes": st.integers(min_value=-5, max_value=11 * 1024 * 1024)}), max_size=6) | JSON_VALUES}


@hypothesis_settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.fixed_dictionaries({}, optional=FIELDS) | JSON_VALUES, case_id=st.text(max_size=40))
def test_R48_R49_any_input_is_answered_in_the_error_shape_never_a_5xx(client, aws, body, case_id):
    for method, path, headers in (("POST", "/abuse-reports", {}), ("POST", "/admin/abuse-reports", OPERATOR),
                                  ("POST", "/admin/abuse-cases/{}/severity", OPERATOR),
                                  ("POST", "/admin/abuse-cases/{}/measure", OPERATOR),
                                  ("GET", "/admin/abuse-cases/{}", OPERATOR)):
        path = path.format(urllib.parse.quote(case_id, safe="") or "x")
        answer = client.http.request(method=method, path=path, body=json.dumps(body).encode(),
                                     headers={**JSON, **headers})
        assert answer.status_code < 500, (method, path, body, answer.body)
        if answer.status_code >= 400:
            error = json.loads(answer.body)["error"]
            assert error["code"] and error["message"]
