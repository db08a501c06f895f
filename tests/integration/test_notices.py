"""R54 notices end to end in-process: stored once, queued, sent through SES (moto) once, recorded."""
from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters import notice_store
from chalicelib.adapters.dynamo_store import TransactionConflict, new_alert
from chalicelib.adapters.mailer import MailError, SesMailer
from chalicelib.adapters.models import AlertModel, NoticeModel
from chalicelib.config import settings
from chalicelib.domain.calendar import utc_iso
from chalicelib.service.notices import (NoticeBusyError, deliver_notice, new_notice, notice_key, queue_notice,
                                        send_notice, stage_notice)
from tests.integration.conftest import queue_messages, sqs_lambda_event

TO = "jeanne.martin@acme-test.fr"
CONTEXT = {"domain": "acme-test.fr", "deletion_on": "2027-12-27", "customer_name": "Jeanne Martin"}
OPERATOR = {"Authorization": f"Bearer {settings().operator_api_key}"}


def ses_sent() -> list:
    """What moto's SES really received (in-process store)."""
    return list(ses_backends[DEFAULT_ACCOUNT_ID][settings().region].sent_messages)


def warning(services, key: str = notice_key("deletion_warning", "ctr_1"), to: str = TO, context: dict = CONTEXT):
    return new_notice(notice_key=key, customer_id="cus_1", to=to, template="deletion_warning", context=context,
                      now=services.clock.now(), correlation_id="corr-notice-1", contract_id="ctr_1")


def consume(client, *notice_ids: str) -> dict:
    bodies = [json.dumps({"notice_id": notice_id}) for notice_id in notice_ids]
    return client.lambda_.invoke("on_notice", sqs_lambda_event(bodies, queue=settings().queue_name("notices"))).payload


def test_R54_R17_sending_the_same_notice_key_twice_stores_one_row_and_queues_one_message(aws, services):
    assert send_notice(warning(services), services) is True
    assert send_notice(warning(services, context={**CONTEXT, "deletion_on": "2028-01-31"}), services) is False
    row = NoticeModel.get("deletion_warning#ctr_1")
    assert (row.status, row.context["deletion_on"], row.recipient) == ("queued", "2027-12-27", TO)
    [message] = queue_messages(aws["queues"]["notices"])
    assert json.loads(message["Body"]) == {"notice_id": "deletion_warning#ctr_1"}
    assert message["MessageAttributes"]["correlation_id"]["StringValue"] == "corr-notice-1"


def test_R54_on_notice_sends_one_email_through_ses_and_records_it_sent(client, services, clock):
    send_notice(warning(services), services)
    before = len(ses_sent())
    assert consume(client, "deletion_warning#ctr_1") == {"batchItemFailures": []}
    [mail] = ses_sent()[before:]
    assert mail.source == settings().sender_email and mail.destinations["ToAddresses"] == [TO]
    assert mail.subject == "Vos données hébergées pour acme-test.fr seront supprimées le 27 décembre 2027"
    assert mail.body.startswith("Bonjour Jeanne Martin,\n") and "27 décembre 2027" in mail.body
    row = NoticeModel.get("deletion_warning#ctr_1", consistent_read=True)
    assert (row.status, row.sent_at, row.ses_message_id) == ("sent", utc_iso(clock.now()), mail.id)
    assert (row.subject, row.body, row.template_version, row.attempts) == (mail.subject, mail.body, 1, 1)
    assert row.lease_until is None and row.last_error is None


def test_R54_a_redelivered_notice_message_sends_no_second_email(client, services):
    send_notice(warning(services), services)
    before = len(ses_sent())
    assert consume(client, "deletion_warning#ctr_1", "deletion_warning#ctr_1") == {"batchItemFailures": []}
    assert consume(client, "deletion_warning#ctr_1") == {"batchItemFailures": []}
    assert len(ses_sent()) == before + 1
    assert deliver_notice("deletion_warning#ctr_1", services) == "already_sent"


def test_R54_a_mail_failure_marks_the_notice_failed_and_returns_the_record_to_the_queue(client, services,
                                                                                        monkeypatch):
    send_notice(warning(services), services)
    before = len(ses_sent())

    def refuse(self, **_):
        raise MailError("Throttling", "Maximum sending rate exceeded.")

    with monkeypatch.context() as patched:
        patched.setattr(SesMailer, "send", refuse)
        event = sqs_lambda_event([json.dumps({"notice_id": "deletion_warning#ctr_1"})])
        answer = client.lambda_.invoke("on_notice", event).payload
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    row = NoticeModel.get("deletion_warning#ctr_1", consistent_read=True)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 1, None)
    assert "Throttling" in row.last_error and row.failed_at and row.lease_until is None
    assert len(ses_sent()) == before
    # The queue tries again: this time SES takes it.
    assert consume(client, "deletion_warning#ctr_1") == {"batchItemFailures": []}
    row = NoticeModel.get("deletion_warning#ctr_1", consistent_read=True)
    assert (row.status, row.attempts, row.last_error, row.failed_at) == ("sent", 2, None, None)
    assert len(ses_sent()) == before + 1


def test_R54_ses_refusing_an_unverified_sender_is_a_recorded_failure_not_a_crash(services):
    services.mailer = SesMailer(region=services.settings.region, sender="nobody@unverified.example")
    send_notice(warning(services), services)
    with pytest.raises(MailError) as info:
        deliver_notice("deletion_warning#ctr_1", services)
    assert info.value.code == "MessageRejected"
    assert notice_store.get("deletion_warning#ctr_1").status == "failed"


def test_R54_a_mail_failure_never_rolls_back_the_business_change_that_queued_it(services, monkeypatch):
    """The notice joins the business transaction; the mail is sent after the commit, through the queue."""
    now = services.clock.now()
    alert = new_alert("test", "a business change", now, alert_key="business-change-1")
    tx = services.store._tx()
    tx.save("alert", alert)
    stage_notice(tx, warning(services))
    tx.commit()
    queue_notice(warning(services), services)
    monkeypatch.setattr(SesMailer, "send", lambda self, **_: (_ for _ in ()).throw(MailError("Boom", "down")))
    with pytest.raises(MailError):
        deliver_notice("deletion_warning#ctr_1", services)
    assert AlertModel.get("open", "business-change-1").message == "a business change"
    assert notice_store.get("deletion_warning#ctr_1").status == "failed"


def test_R17_a_second_transaction_with_the_same_notice_key_is_cancelled_naming_the_notice(services):
    for attempt in range(2):
        tx = services.store._tx()
        tx.save("alert", new_alert("test", f"try {attempt}", services.clock.now(), alert_key=f"try-{attempt}"))
        stage_notice(tx, warning(services))
        if attempt == 0:
            tx.commit()
        else:
            with pytest.raises(TransactionConflict) as info:
                tx.commit()
            assert info.value.failed == {"notice"}
    assert [a.alert_id for a in AlertModel.query("open")] == ["try-0"]


def test_R54_a_notice_held_by_another_delivery_is_retried_later_not_sent_twice(services, clock):
    send_notice(warning(services), services)
    before = len(ses_sent())
    assert notice_store.claim("deletion_warning#ctr_1", clock.now(), clock.now() + timedelta(seconds=60))
    with pytest.raises(NoticeBusyError):
        deliver_notice("deletion_warning#ctr_1", services)
    assert len(ses_sent()) == before
    clock.advance(timedelta(seconds=61))  # the holder died: its lease ran out
    assert deliver_notice("deletion_warning#ctr_1", services) == "sent"
    assert len(ses_sent()) == before + 1


def test_R54_an_unknown_notice_id_fails_its_record(client, services):
    assert len(consume(client, "no-such-notice")["batchItemFailures"]) == 1


def test_R54_dev_mail_lists_the_mail_sent_to_an_address(client, services):
    send_notice(warning(services), services)
    send_notice(warning(services, key="deletion_warning#ctr_2", to="someone-else@acme-test.fr"), services)
    consume(client, "deletion_warning#ctr_1", "deletion_warning#ctr_2")
    answer = client.http.get(f"/dev/mail?to={TO}", headers=OPERATOR)
    assert answer.status_code == 200
    body = json.loads(answer.body)
    [mail] = body["messages"]
    assert body["to"] == TO
    assert (mail["to"], mail["template"], mail["template_version"], mail["status"]) == (
        TO, "deletion_warning", 1, "sent")
    assert mail["subject"].startswith("Vos données hébergées pour acme-test.fr")
    assert mail["sent_at"] == utc_iso(services.clock.now()) and "27 décembre 2027" in mail["body"]
    [ses_mail] = [m for m in ses_sent() if m.id == mail["ses_message_id"]]
    assert ses_mail.destinations["ToAddresses"] == [TO] and ses_mail.body == mail["body"]
    assert json.loads(client.http.get("/dev/mail?to=nobody@acme-test.fr", headers=OPERATOR).body)["messages"] == []


def test_R54_dev_mail_shows_queued_and_failed_notices_with_their_status(client, services):
    send_notice(warning(services), services)
    [mail] = json.loads(client.http.get(f"/dev/mail?to={TO}", headers=OPERATOR).body)["messages"]
    assert (mail["status"], mail["sent_at"], mail["body"]) == ("queued", None, None)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_R54_dev_mail_needs_the_operator_key(client, headers):
    answer = client.http.get(f"/dev/mail?to={TO}", headers=headers)
    assert (answer.status_code, json.loads(answer.body)["error"]["code"]) == (401, "unauthorized")


def test_R54_dev_mail_needs_a_recipient(client):
    assert client.http.get("/dev/mail", headers=OPERATOR).status_code == 400


@pytest.mark.parametrize("headers", [{}, OPERATOR])
def test_R54_dev_mail_does_not_exist_outside_local_mode(client, services, headers):
    services.settings = dataclasses.replace(services.settings, local_mode=False)
    answer = client.http.get(f"/dev/mail?to={TO}", headers=headers)
    assert answer.status_code == 404


def test_R54_on_notice_sends_as_the_sender_identity_its_policy_names(client, services, iam_audit):
    import copy

    from tests.integration.iam_audit import _policies, denied
    send_notice(warning(services), services)
    consume(client, "deletion_warning#ctr_1")
    made = {(c.function, c.service, c.operation) for c in iam_audit}
    assert {("on_notice", "dynamodb", "GetItem"), ("on_notice", "dynamodb", "UpdateItem"),
            ("on_notice", "ses", "SendEmail")} <= made
    assert denied(iam_audit) == []
    narrower = copy.deepcopy(_policies())
    narrower["on_notice"]["Statement"] = [s for s in narrower["on_notice"]["Statement"]
                                          if s["Sid"] != "SesSenderIdentity"]
    assert denied(iam_audit, narrower) == [
        f"on_notice: ses:SendEmail on arn:aws:ses:eu-west-3:123456789012:identity/{settings().sender_email}"]


def test_R54_a_notice_whose_queue_send_was_lost_is_queued_again_by_the_sweep_and_sent_once(client, aws, services,
                                                                                          clock):
    import json as _json
    from datetime import timedelta as _td

    from chalicelib.adapters.models import NoticeModel
    from chalicelib.service.notices import deliver_notice, new_notice
    from devstack.runner import scheduled_event
    from tests.integration.conftest import queue_messages as _drain
    row = new_notice(notice_key="lost#1", customer_id="cus_1", to="lost@acme-test.fr", template="deletion_warning",
                     context={"domain": "acme-test.fr", "deletion_on": "2027-12-27"}, now=clock.now(),
                     contract_id="ctr_1")
    row.save()  # stored by a committed transaction; the process died before queue_notice
    tick = scheduled_event("resend_unsent_notices", clock.now(), "eu-west-3")
    assert client.lambda_.invoke("resend_unsent_notices", tick).payload == {"queued": 0}  # too recent
    clock.advance(_td(minutes=6))
    assert client.lambda_.invoke("resend_unsent_notices", tick).payload == {"queued": 1}
    [message] = _drain(aws["queues"]["notices"])
    assert deliver_notice(_json.loads(message["Body"])["notice_id"], services) == "sent"
    assert NoticeModel.get("lost#1").unsent is None  # left the index: the sweep never sends it again
    clock.advance(_td(minutes=6))
    assert client.lambda_.invoke("resend_unsent_notices", tick).payload == {"queued": 0}
