"""The node agent against SQS (moto) and over real HTTP (R28, R30)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timezone

import boto3
import pytest

from chalicelib.config import settings
from chalicelib.contracts.node_messages import ProvisionSpace, node_result_adapter
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


def send_command(aws, domain: str, command_id: str = "cmd-1") -> ProvisionSpace:
    command = ProvisionSpace(node_id=NODE_ID, command_id=command_id, contract_id="ctr-1", domain=domain,
                             quota_mb=1024, mailboxes=5, mysql_databases=1, php=True, issued_at=NOW,
                             correlation_id="corr-1")
    boto3.client("sqs", region_name=settings().region).send_message(QueueUrl=aws["node_queue"],
                                                                     MessageBody=command.model_dump_json())
    return command


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


def test_R28_sites_are_served_by_host_header_and_unknown_hosts_get_404(agent, aws):
    send_command(aws, "shop.fr")
    agent.poll_once()
    server = make_server(agent.store, "127.0.0.1", 0)
    serve_in_background(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        def fetch(host: str, path: str = "/"):
            request = urllib.request.Request(base + path, headers={"Host": host})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return answer.status, answer.read().decode()
            except urllib.error.HTTPError as error:
                return error.code, ""
        status, page = fetch("shop.fr:8080")
        assert status == 200 and "shop.fr" in page
        assert fetch("SHOP.FR")[0] == 200
        assert fetch("other.fr")[0] == 404
        assert fetch("shop.fr", "/../space.json")[0] == 404
        assert fetch("shop.fr", "/%2e%2e/space.json")[0] == 404
        assert fetch("shop.fr", "/missing.html")[0] == 404
    finally:
        server.shutdown()
