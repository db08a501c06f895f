"""The space-ready notice with the FTP access (R28, R54) and the first use reported by the node,
recorded once on the contract with its evidence (R32, R56, R13)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.adapters import notice_store
from chalicelib.contracts.node_messages import SpaceFirstUsed, SpaceProvisioned
from chalicelib.domain.credentials import ftp_password
from chalicelib.service.notices import render_notice
from devstack.pay import payment_succeeded_event
from tests.integration.conftest import NODE_ID, queue_messages, sqs_lambda_event

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def active(client, aws, placed_order, services):
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    client.lambda_.invoke("on_payment_event", sqs_lambda_event([payload.decode()]))
    [command] = [json.loads(m["Body"]) for m in queue_messages(aws["node_queue"])]
    done = SpaceProvisioned(node_id=NODE_ID, command_id=command["command_id"], contract_id=placed_order["contract_id"],
                            domain="acme-test.fr", completed_at=NOW)
    assert results(client, done) == {"batchItemFailures": []}
    assert services.store.get_contract(placed_order["contract_id"]).status == "active"
    return {**placed_order, "command": command}


def results(client, *messages) -> dict:
    return client.lambda_.invoke("on_node_result", sqs_lambda_event([m.model_dump_json() for m in messages])).payload


def first_used(contract_id: str, usage: str = "ftp_login", used_at: datetime = NOW - timedelta(minutes=5),
               node_id: str = NODE_ID) -> SpaceFirstUsed:
    return SpaceFirstUsed(node_id=node_id, contract_id=contract_id, domain="acme-test.fr", usage=usage,
                          used_at=used_at, correlation_id="corr-first-use")


def first_use_evidence(services, contract_id: str) -> list[dict]:
    contract = services.store.get_contract(contract_id)
    return [e for e in services.store.evidence_for(contract.customer_id, contract_id=contract_id)
            if e["action"] == "contract.first_use"]


# --- the space-ready notice (R28) ----------------------------------------------------------------

def test_R28_the_node_gets_only_an_argon2_hash_of_the_derived_ftp_password(active, services):
    from argon2 import PasswordHasher
    password = ftp_password(services.settings.ftp_password_secret, active["contract_id"])
    hashed = active["command"]["ftp_password_hash"]
    assert hashed.startswith("$argon2id$") and PasswordHasher().verify(hashed, password)
    assert password not in json.dumps(active["command"])


def test_R28_R54_space_ready_notice_is_decided_with_the_activation_and_gives_the_ftp_access(active, aws, services):
    notice = notice_store.get(f"space_ready#{active['contract_id']}")
    assert (notice.recipient, notice.template, notice.status) == ("contact@acme.fr", "space_ready", "queued")
    password = ftp_password(services.settings.ftp_password_secret, active["contract_id"])
    assert notice.context == {"domain": "acme-test.fr", "site_url": "http://acme-test.fr/",
                              "ftp_host": "ftp.acme-test.fr", "ftp_login": "acme-test.fr", "consumer": False}
    assert password not in json.dumps(notice.attribute_values, default=str)  # never stored in clear
    from chalicelib.service.notice_secrets import reveal_secrets
    body = render_notice(notice, reveal_secrets(notice, services)).body  # what SES gets
    assert f"- identifiant : acme-test.fr\n- mot de passe : {password}\n" in body
    assert password not in render_notice(notice).body  # the stored copy: masked
    assert "rétractation" not in body  # a professional has no withdrawal right (R13)
    queued = [json.loads(m["Body"])["notice_id"] for m in queue_messages(aws["queues"]["notices"])]
    assert notice.notice_id in queued


def test_R28_a_redelivered_space_provisioned_decides_no_second_notice(client, active, services):
    again = SpaceProvisioned(node_id=NODE_ID, command_id=active["command"]["command_id"],
                             contract_id=active["contract_id"], domain="acme-test.fr", completed_at=NOW)
    assert results(client, again) == {"batchItemFailures": []}
    from chalicelib.service.notices import notices_for_customer
    contract = services.store.get_contract(active["contract_id"])
    assert [n["template"] for n in notices_for_customer(contract.customer_id)].count("space_ready") == 1


# --- first use (R32) -----------------------------------------------------------------------------

def test_R32_the_first_use_is_recorded_once_with_its_evidence(client, active, services):
    assert results(client, first_used(active["contract_id"])) == {"batchItemFailures": []}
    contract = services.store.get_contract(active["contract_id"])
    assert contract.first_used_at == "2026-11-27T09:55:00.000+00:00"
    assert contract.first_use == {"usage": "ftp_login", "node_id": NODE_ID, "domain": "acme-test.fr",
                                  "node_used_at": "2026-11-27T09:55:00.000+00:00",
                                  "reported_at": "2026-11-27T10:00:00.000+00:00"}
    [entry] = first_use_evidence(services, active["contract_id"])
    assert (entry["actor"], entry["entity_type"], entry["entity_id"], entry["correlation_id"]) == (
        f"node:{NODE_ID}", "contract", active["contract_id"], "corr-first-use")
    assert entry["before"] == {"status": "active"}
    assert entry["after"]["usage"] == "ftp_login" and entry["after"]["first_used_at"] == contract.first_used_at


def test_R32_a_duplicate_or_a_later_report_changes_nothing(client, active, services, clock):
    first = first_used(active["contract_id"])
    assert results(client, first, first) == {"batchItemFailures": []}
    clock.advance(timedelta(hours=1))
    later = first_used(active["contract_id"], "ftp_upload", NOW + timedelta(minutes=30))
    assert results(client, later, first) == {"batchItemFailures": []}
    contract = services.store.get_contract(active["contract_id"])
    assert (contract.first_used_at, contract.first_use["usage"]) == ("2026-11-27T09:55:00.000+00:00", "ftp_login")
    assert len(first_use_evidence(services, active["contract_id"])) == 1


def test_R32_reports_arriving_out_of_order_converge_on_the_earliest_use(client, active, services):
    upload = first_used(active["contract_id"], "ftp_upload", NOW - timedelta(minutes=4))
    login = first_used(active["contract_id"], "ftp_login", NOW - timedelta(minutes=5))
    assert results(client, upload) == {"batchItemFailures": []}
    assert results(client, login, upload) == {"batchItemFailures": []}
    contract = services.store.get_contract(active["contract_id"])
    assert (contract.first_used_at, contract.first_use["usage"]) == ("2026-11-27T09:55:00.000+00:00", "ftp_login")
    evidence = services.store.evidence_for(contract.customer_id, contract_id=active["contract_id"])
    assert sorted(e["action"] for e in evidence if e["action"].startswith("contract.first_use")) == [
        "contract.first_use", "contract.first_use_corrected"]


def test_R32_R56_a_report_decided_on_a_stale_read_is_decided_again_so_the_evidence_stays_true(
        client, active, services, monkeypatch):
    """Two reports handled at once: the login's handler read the contract before the upload's was
    recorded. Its write fails and it decides again: one first use, then one correction."""
    from chalicelib.service.first_use import on_space_first_used
    stale = services.store.get_contract(active["contract_id"])  # no first use yet
    assert results(client, first_used(active["contract_id"], "ftp_upload", NOW - timedelta(minutes=4))) == {
        "batchItemFailures": []}
    real_get = services.store.get_contract
    reads = iter([stale])
    monkeypatch.setattr(services.store, "get_contract", lambda cid: next(reads, None) or real_get(cid))
    assert on_space_first_used(first_used(active["contract_id"], "ftp_login"), services) == "applied"
    contract = real_get(active["contract_id"])
    assert contract.first_use["usage"] == "ftp_login"
    evidence = services.store.evidence_for(contract.customer_id, contract_id=active["contract_id"])
    assert sorted(e["action"] for e in evidence if e["action"].startswith("contract.first_use")) == [
        "contract.first_use", "contract.first_use_corrected"]


def test_R32_a_use_reported_with_a_node_clock_ahead_is_recorded_at_the_report(client, active, services):
    results(client, first_used(active["contract_id"], used_at=NOW + timedelta(minutes=3)))
    assert services.store.get_contract(active["contract_id"]).first_used_at == "2026-11-27T10:00:00.000+00:00"


def test_R32_a_report_for_an_unknown_contract_is_ignored(client, active, services):
    from chalicelib.service.first_use import on_space_first_used
    assert on_space_first_used(first_used("ctr_unknown"), services) == "ignored"
    assert results(client, first_used("ctr_unknown")) == {"batchItemFailures": []}


def test_R32_R56_the_admin_contract_view_shows_the_first_use(client, active, services):
    from chalicelib.config import settings
    results(client, first_used(active["contract_id"], usage="ftp_upload"))
    answer = client.http.get(f"/admin/contracts/{active['contract_id']}",
                             headers={"Authorization": f"Bearer {settings().operator_api_key}"})
    view = json.loads(answer.body)
    assert view["first_used_at"] == "2026-11-27T09:55:00.000+00:00"
    assert view["first_use"]["usage"] == "ftp_upload"
    assert "contract.first_use" in [e["action"] for e in view["evidence"]]
