"""The node agent against SQS (moto) and over real HTTP (R19, R20, R23, R28, R30, R49)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from chalicelib.config import settings
from chalicelib.contracts.node_messages import (DeleteSpaceData, ProvisionSpace, RestrictSpace, SuspendSpace,
                                                UnsuspendSpace, node_result_adapter)
from nodeagent.agent import NodeAgent
from nodeagent.http_server import make_server, serve_in_background
from nodeagent.spaces import SpaceStore
from tests.integration.conftest import NODE_ID, queue_messages

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def agent(aws, tmp_path):
    sqs = boto3.client("sqs", region_name=settings().region)
    store = SpaceStore(tmp_path / "node", fail_domains=["broken-*"])
    return NodeAgent(node_id=NODE_ID, sqs=sqs, commands_url=aws["node_queue"],
                     results_url=aws["queues"]["node-results"], store=store, http_address="http://127.0.0.1:0",
                     retry_base_seconds=7, wait_seconds=0, clock=lambda: NOW)


def send(aws, command):
    boto3.client("sqs", region_name=settings().region).send_message(QueueUrl=aws["node_queue"],
                                                                     MessageBody=command.model_dump_json())
    return command


def send_command(aws, domain: str, command_id: str = "cmd-1") -> ProvisionSpace:
    return send(aws, ProvisionSpace(node_id=NODE_ID, command_id=command_id, contract_id="ctr-1", domain=domain,
                                    quota_mb=1024, mailboxes=5, mysql_databases=1, php=True, issued_at=NOW,
                                    correlation_id="corr-1"))


def send_space_command(aws, kind, command_id: str, domain: str = "shop.fr", at: datetime = NOW, **extra):
    return send(aws, kind(node_id=NODE_ID, command_id=command_id, contract_id="ctr-1", domain=domain,
                          issued_at=at, correlation_id=f"corr-{command_id}", **extra))


def replies(aws) -> list:
    return [node_result_adapter.validate_json(m["Body"]) for m in queue_messages(aws["queues"]["node-results"])]


def test_R30_agent_applies_a_command_replies_and_deletes_it(agent, aws):
    send_command(aws, "shop.fr")
    assert agent.poll_once() == 1
    [reply] = replies(aws)
    assert (reply.type, reply.command_id, reply.domain, reply.correlation_id) == (
        "SpaceProvisioned", "cmd-1", "shop.fr", "corr-1")
    assert agent.poll_once() == 0  # deleted: not delivered again
    space = json.loads((agent.store.sites / "shop.fr" / "space.json").read_text())
    assert (space["quota_mb"], space["mailboxes"]) == (1024, 5)


def test_R30_a_redelivered_command_is_applied_once_and_answered_again(agent, aws):
    send_command(aws, "shop.fr")
    agent.poll_once()
    index = agent.store.sites / "shop.fr" / "htdocs" / "index.html"
    index.write_text("customer content")
    send_command(aws, "shop.fr")  # same command id, delivered again
    agent.poll_once()
    assert [r.type for r in replies(aws)] == ["SpaceProvisioned", "SpaceProvisioned"]
    assert index.read_text() == "customer content"


def test_R30_a_failing_command_is_reported_and_pushed_back_with_backoff(agent, aws, monkeypatch):
    send_command(aws, "broken-shop.fr")
    visibility = []
    real_change = agent.sqs.change_message_visibility
    monkeypatch.setattr(agent.sqs, "change_message_visibility",
                        lambda **kw: visibility.append(kw["VisibilityTimeout"]) or real_change(**kw))
    agent.poll_once()
    [reply] = replies(aws)
    assert (reply.type, reply.attempt) == ("CommandFailed", 1)
    assert "fault injected" in reply.error
    assert visibility == [7]  # retry_base_seconds * 2 ** (attempt - 1)
    assert agent.poll_once() == 0  # invisible until the backoff passes, not deleted


@pytest.fixture
def fetch(agent):
    """fetch(host, path, method) -> (status, headers, body) from the node's real HTTP server."""
    server = make_server(agent.store, "127.0.0.1", 0)
    serve_in_background(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def fetch(host: str, path: str = "/", method: str = "GET"):
        request = urllib.request.Request(base + path, headers={"Host": host}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, answer.headers, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()
    yield fetch
    server.shutdown()
    server.server_close()


def test_R28_sites_are_served_by_host_header_and_unknown_hosts_get_404(agent, aws, fetch):
    send_command(aws, "shop.fr")
    agent.poll_once()
    status, _, page = fetch("shop.fr:8080")
    assert status == 200 and "shop.fr" in page
    assert fetch("SHOP.FR")[0] == 200
    assert fetch("other.fr")[0] == 404
    assert fetch("shop.fr", "/../space.json")[0] == 404
    assert fetch("shop.fr", "/%2e%2e/space.json")[0] == 404
    assert fetch("shop.fr", "/missing.html")[0] == 404


# --- restrict, suspend, unsuspend, delete ------------------------------------------------------

@pytest.fixture
def shop(agent, aws):
    """shop.fr provisioned through the queue, with the customer's own pages and a mailbox."""
    send_command(aws, "shop.fr")
    agent.poll_once()
    space = agent.store.sites / "shop.fr"
    (space / "htdocs" / "index.html").write_text("<h1>Boutique Dupont</h1>")
    (space / "htdocs" / "tarifs.html").write_text("<p>Nos tarifs</p>")
    (space / "mail" / "contact.mbox").write_text("From: client@example.fr")
    queue_messages(aws["queues"]["node-results"])  # drain the SpaceProvisioned reply
    return space


def test_R23_R49_a_restricted_site_is_still_served_and_the_command_is_confirmed(agent, aws, shop, fetch):
    send_space_command(aws, RestrictSpace, "r-1", reason="overdue")
    assert agent.poll_once() == 1
    [reply] = replies(aws)
    assert (reply.type, reply.command_type, reply.command_id, reply.contract_id, reply.domain,
            reply.correlation_id, reply.completed_at) == (
        "CommandApplied", "RestrictSpace", "r-1", "ctr-1", "shop.fr", "corr-r-1", NOW)
    status, _, page = fetch("shop.fr")
    assert (status, page) == (200, "<h1>Boutique Dupont</h1>")
    assert agent.poll_once() == 0  # deleted after the reply


def test_R19_R20_a_suspended_site_answers_503_with_a_french_page_and_keeps_its_files(agent, aws, shop, fetch):
    send_space_command(aws, SuspendSpace, "s-1", reason="contract ended")
    agent.poll_once()
    [reply] = replies(aws)
    assert (reply.type, reply.command_type, reply.command_id, reply.correlation_id) == (
        "CommandApplied", "SuspendSpace", "s-1", "corr-s-1")
    for path in ("/", "/tarifs.html", "/missing.html"):
        status, headers, page = fetch("shop.fr", path)
        assert status == 503
        assert "site suspendu" in page and "shop.fr" in page and 'lang="fr"' in page
        assert "Boutique Dupont" not in page and "contract ended" not in page
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Retry-After"] == "3600" and headers["Cache-Control"] == "no-store"
    status, headers, body = fetch("shop.fr", "/", method="HEAD")
    assert (status, body) == (503, "") and int(headers["Content-Length"]) > 0
    assert (shop / "htdocs" / "index.html").read_text() == "<h1>Boutique Dupont</h1>"
    assert (shop / "htdocs" / "tarifs.html").read_text() == "<p>Nos tarifs</p>"
    assert (shop / "mail" / "contact.mbox").read_text() == "From: client@example.fr"
    assert fetch("other.fr")[0] == 404  # other hosts are unaffected


def test_R23_an_unsuspended_site_is_served_again_with_the_same_content(agent, aws, shop, fetch):
    send_space_command(aws, SuspendSpace, "s-1", reason="overdue")
    agent.poll_once()
    assert fetch("shop.fr", "/tarifs.html")[0] == 503
    send_space_command(aws, UnsuspendSpace, "u-1", at=NOW + timedelta(minutes=5))
    agent.poll_once()
    assert [(r.type, r.command_type) for r in replies(aws)] == [
        ("CommandApplied", "SuspendSpace"), ("CommandApplied", "UnsuspendSpace")]
    status, _, page = fetch("shop.fr")
    assert (status, page) == (200, "<h1>Boutique Dupont</h1>")
    status, _, page = fetch("shop.fr", "/tarifs.html")
    assert (status, page) == (200, "<p>Nos tarifs</p>")
    assert fetch("shop.fr", "/", method="HEAD")[0] == 200


def test_R30_a_suspension_redelivered_after_the_unsuspension_does_not_suspend_again(agent, aws, shop, fetch):
    send_space_command(aws, SuspendSpace, "s-1", reason="overdue")
    send_space_command(aws, UnsuspendSpace, "u-1", at=NOW + timedelta(minutes=5))
    agent.poll_once()
    send_space_command(aws, SuspendSpace, "s-1", reason="overdue")  # the same suspension, delivered again
    send_space_command(aws, SuspendSpace, "s-0", at=NOW - timedelta(days=1), reason="overdue")  # an older one
    agent.poll_once()
    assert sorted(r.command_id for r in replies(aws)) == ["s-0", "s-1", "s-1", "u-1"]
    assert fetch("shop.fr")[0] == 200


def test_R20_deleted_data_is_gone_the_site_answers_404_and_a_redelivery_is_confirmed(agent, aws, shop, fetch):
    send_space_command(aws, SuspendSpace, "s-1", reason="contract ended")
    send_space_command(aws, DeleteSpaceData, "d-1", at=NOW + timedelta(days=30))
    agent.poll_once()
    assert not shop.exists()
    assert fetch("shop.fr")[0] == 404
    assert fetch("shop.fr", "/tarifs.html", method="HEAD")[0] == 404
    send_space_command(aws, DeleteSpaceData, "d-1", at=NOW + timedelta(days=30))  # redelivered
    agent.poll_once()
    deletions = [r for r in replies(aws) if r.command_id == "d-1"]
    assert [(r.type, r.command_type, r.domain, r.contract_id) for r in deletions] == [
        ("CommandApplied", "DeleteSpaceData", "shop.fr", "ctr-1")] * 2
    assert agent.poll_once() == 0
    assert agent.store.count() == 0


def test_R30_a_command_for_a_space_never_provisioned_fails_and_is_retried(agent, aws):
    send_space_command(aws, SuspendSpace, "s-1", domain="nowhere.fr", reason="overdue")
    agent.poll_once()
    [reply] = replies(aws)
    assert (reply.type, reply.command_id, reply.contract_id, reply.attempt) == ("CommandFailed", "s-1", "ctr-1", 1)
    assert reply.error == "no space for nowhere.fr"
    assert agent.poll_once() == 0  # pushed back with backoff, not deleted
