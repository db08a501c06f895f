"""The node's real FTP server (pyftpdlib) over its spaces: login = the domain with the argon2-checked
password (R28), uploads served by the node's HTTP server, read-only when restricted and closed when
suspended (R19, R23, R49), gone with the space (R13, R20), and the first login and first upload
reported once each on the results queue (R32)."""
from __future__ import annotations

import ftplib
import io
import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from chalicelib.config import settings
from chalicelib.contracts.node_messages import (ChangeSpace, DeprovisionSpace, ProvisionSpace, RestrictSpace,
                                                SuspendSpace, UnsuspendSpace, node_result_adapter)
from chalicelib.domain.credentials import ftp_password, ftp_password_hash
from nodeagent.agent import NodeAgent
from nodeagent.ftp_server import FtpService, make_ftp_server
from nodeagent.http_server import make_server, serve_in_background
from nodeagent.spaces import SpaceStore
from tests.integration.conftest import NODE_ID, queue_messages

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
DOMAIN = "shop-ftp.fr"
PASSWORD = ftp_password("it-secret", "ctr-1")
PAGE = b"<!doctype html><h1>Boutique en ligne</h1>"


@pytest.fixture
def node(aws, tmp_path):
    """A node agent (SQS on moto), its HTTP server and its FTP server on free loopback ports, and
    the space of ctr-1 provisioned through the queue with the hash of its FTP password."""
    sqs = boto3.client("sqs", region_name=settings().region)
    store = SpaceStore(tmp_path / "node")
    agent = NodeAgent(node_id=NODE_ID, sqs=sqs, commands_url=aws["node_queue"],
                      results_url=aws["queues"]["node-results"], store=store, http_address="http://127.0.0.1:0",
                      wait_seconds=0, clock=lambda: NOW)
    http = make_server(store, "127.0.0.1", 0)
    serve_in_background(http)
    ftp = FtpService(make_ftp_server(store, "127.0.0.1", 0, clock=lambda: NOW, auth_failed_delay=0.05)).start()
    command(aws, agent, ProvisionSpace(node_id=NODE_ID, command_id="cmd-1", contract_id="ctr-1", domain=DOMAIN,
                                       quota_mb=1024, mailboxes=5, mysql_databases=1, php=True, issued_at=NOW,
                                       ftp_password_hash=ftp_password_hash(PASSWORD)))
    queue_messages(aws["queues"]["node-results"])  # the SpaceProvisioned reply
    yield {"agent": agent, "store": store, "ftp": ftp.address, "http": http.server_address[1]}
    ftp.stop()
    http.shutdown()
    http.server_close()


def command(aws, agent, message) -> None:
    boto3.client("sqs", region_name=settings().region).send_message(QueueUrl=aws["node_queue"],
                                                                     MessageBody=message.model_dump_json())
    assert agent.poll_once() == 1


def space_command(kind, command_id: str, hours: int, **extra):
    return kind(node_id=NODE_ID, command_id=command_id, contract_id="ctr-1", domain=DOMAIN,
                issued_at=NOW + timedelta(hours=hours), **extra)


def login(node, user: str = DOMAIN, password: str = PASSWORD) -> ftplib.FTP:
    client = ftplib.FTP()
    client.connect(*node["ftp"], timeout=10)
    client.login(user, password)
    return client


def upload(client: ftplib.FTP, name: str = "index.html", data: bytes = PAGE) -> str:
    return client.storbinary(f"STOR {name}", io.BytesIO(data))


def site(node, path: str = "/") -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{node['http']}{path}", headers={"Host": DOMAIN})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def first_use_reports(aws, node) -> list:
    node["agent"].send_first_use_reports()
    results = [node_result_adapter.validate_json(m["Body"]) for m in queue_messages(aws["queues"]["node-results"])]
    return [r for r in results if r.type == "SpaceFirstUsed"]


def test_R28_the_customer_logs_in_with_the_domain_and_the_page_uploaded_is_served(aws, node):
    with login(node) as client:
        assert client.pwd() == "/"
        assert "index.html" in client.nlst()  # the placeholder page, in the space's htdocs
        assert upload(client).startswith("226")
        client.mkd("images")
        upload(client, "images/logo.txt", b"logo")
    assert site(node) == (200, PAGE)
    assert site(node, "/images/logo.txt") == (200, b"logo")


@pytest.mark.parametrize("user, password", [(DOMAIN, "wrong-password-000000"), (DOMAIN, ""),
                                            ("other-shop.fr", PASSWORD), ("anonymous", ""),
                                            (DOMAIN, ftp_password("it-secret", "ctr-2"))])
def test_R28_a_wrong_password_or_an_unknown_login_is_refused(aws, node, user, password):
    with pytest.raises(ftplib.error_perm, match="530"):
        login(node, user, password)
    assert first_use_reports(aws, node) == []


def test_R28_the_login_is_case_insensitive_and_the_home_is_jailed_in_htdocs(aws, node):
    with login(node, DOMAIN.upper()) as client:
        client.cwd("..")
        assert client.pwd() == "/"
        assert "space.json" not in client.nlst()
        with pytest.raises(ftplib.error_perm):
            client.retrbinary("RETR ../space.json", lambda _: None)


def test_R32_the_first_login_and_the_first_upload_are_reported_once_each(aws, node):
    with login(node) as client:
        pass
    [report] = first_use_reports(aws, node)
    assert (report.type, report.node_id, report.contract_id, report.domain, report.usage, report.used_at) == (
        "SpaceFirstUsed", NODE_ID, "ctr-1", DOMAIN, "ftp_login", NOW)
    with login(node) as client:
        upload(client)
        upload(client, "other.html")
    with login(node) as client:
        upload(client)
    assert [r.usage for r in first_use_reports(aws, node)] == ["ftp_upload"]
    assert first_use_reports(aws, node) == []
    space = json.loads((node["store"].sites / DOMAIN / "space.json").read_text())
    assert space["first_used_at"] == NOW.isoformat()


def test_R32_a_report_not_sent_before_a_crash_is_sent_by_the_next_agent(aws, node, monkeypatch):
    with login(node):
        pass
    agent = node["agent"]
    monkeypatch.setattr(agent, "reply", lambda message: (_ for _ in ()).throw(ConnectionError("queue down")))
    with pytest.raises(ConnectionError):
        agent.send_first_use_reports()
    monkeypatch.undo()
    restarted = NodeAgent(node_id=NODE_ID, sqs=agent.sqs, commands_url=agent.commands_url,
                          results_url=agent.results_url, store=SpaceStore(node["store"].root),
                          http_address="http://127.0.0.1:0", wait_seconds=0)
    restarted.send_first_use_reports()
    results = [node_result_adapter.validate_json(m["Body"]) for m in queue_messages(aws["queues"]["node-results"])]
    assert [(r.type, r.usage) for r in results] == [("SpaceFirstUsed", "ftp_login")]


def test_R19_R23_a_suspended_space_refuses_the_login_and_unsuspended_accepts_it_again(aws, node):
    command(aws, node["agent"], space_command(SuspendSpace, "s-1", 1, reason="unpaid"))
    with pytest.raises(ftplib.error_perm, match="530.*suspended"):
        login(node)
    assert first_use_reports(aws, node) == []  # a refused login is no use
    command(aws, node["agent"], space_command(UnsuspendSpace, "u-1", 2))
    with login(node) as client:
        assert upload(client).startswith("226")


def test_R23_R49_a_restricted_space_logs_in_read_only(aws, node):
    with login(node) as client:
        upload(client, "old.html", b"old")
    command(aws, node["agent"], space_command(RestrictSpace, "r-1", 1, reason="overdue"))
    with login(node) as client:
        assert "old.html" in client.nlst()
        got = []
        client.retrbinary("RETR old.html", got.append)
        assert b"".join(got) == b"old"
        for attempt in (lambda: upload(client), lambda: client.storbinary("APPE old.html", io.BytesIO(b"x")),
                        lambda: client.mkd("new"), lambda: client.delete("old.html"),
                        lambda: client.rename("old.html", "new.html")):
            with pytest.raises(ftplib.error_perm, match="550"):
                attempt()
    assert site(node, "/old.html") == (200, b"old")
    assert site(node)[1] != PAGE


def test_R19_a_session_open_when_the_space_is_suspended_can_do_nothing_more(aws, node):
    with login(node) as client:
        command(aws, node["agent"], space_command(SuspendSpace, "s-1", 1, reason="abuse"))
        with pytest.raises(ftplib.error_perm, match="550"):
            upload(client)
        with pytest.raises(ftplib.error_perm, match="550"):
            client.nlst()


def test_R13_a_deprovisioned_space_has_no_ftp_account(aws, node):
    command(aws, node["agent"], space_command(DeprovisionSpace, "dep-1", 1, reason="withdrawal"))
    with pytest.raises(ftplib.error_perm, match="530"):
        login(node)
    assert site(node)[0] == 404


def test_R13_R30_R33_the_agent_answers_change_and_deprovision_with_command_applied(aws, node):
    command(aws, node["agent"], space_command(ChangeSpace, "chg-1", 1, quota_mb=2048, mailboxes=10,
                                              mysql_databases=2))
    command(aws, node["agent"], space_command(DeprovisionSpace, "dep-1", 2, reason="withdrawal"))
    results = [node_result_adapter.validate_json(m["Body"]) for m in queue_messages(aws["queues"]["node-results"])]
    assert [(r.type, r.command_type, r.command_id, r.contract_id, r.domain) for r in results] == [
        ("CommandApplied", "ChangeSpace", "chg-1", "ctr-1", DOMAIN),
        ("CommandApplied", "DeprovisionSpace", "dep-1", "ctr-1", DOMAIN)]
