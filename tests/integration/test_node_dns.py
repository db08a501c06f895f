"""R40 (domain management): the node agent stores the DNS zone of a managed domain sent on its queue
(SetDnsZone, applied once per command id, the highest serial winning, R30) and serves it over real
DNS, UDP and TCP, as an authoritative server; RemoveDnsZone stops it. Queried with dnspython."""
from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from chalicelib.config import settings
from chalicelib.contracts.node_messages import (DnsRecordV1, ProvisionSpace, RemoveDnsZone, SetDnsZone,
                                                node_result_adapter)
from chalicelib.domain.dns_zones import DnsRecord, default_zone, zone_serial
from nodeagent.agent import NodeAgent
from nodeagent.dns_server import DnsService
from nodeagent.http_server import make_server, serve_in_background
from nodeagent.spaces import SpaceStore
from tests.integration.conftest import NODE_ID, queue_messages

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
DOMAIN = "shop-dns.fr"
IP, NEW_IP = "192.0.2.10", "198.51.100.7"
SERIAL = zone_serial(NOW)


def wire(records) -> list[DnsRecordV1]:
    return [DnsRecordV1(**vars(r)) for r in records]


ZONE = wire(default_zone(DOMAIN, IP) + (DnsRecord("blog", "CNAME", "www.shop-dns.fr."),
                                        DnsRecord("_dmarc", "TXT", "v=DMARC1; p=none"),
                                        DnsRecord("sel._domainkey", "TXT", "v=DKIM1; k=rsa; p=AB"),
                                        DnsRecord("@", "AAAA", "2001:db8::10"),
                                        DnsRecord("shop", "CNAME", "boutique.example.net.")))


@pytest.fixture
def node(aws, tmp_path):
    """A node agent on the moto queues, its DNS server (UDP+TCP) and HTTP server on free loopback
    ports; every server stopped at the end."""
    sqs = boto3.client("sqs", region_name=settings().region)
    store = SpaceStore(tmp_path / "node", fail_domains=["broken-*"], primary_ns="ns1.node-it.example.")
    agent = NodeAgent(node_id=NODE_ID, sqs=sqs, commands_url=aws["node_queue"],
                      results_url=aws["queues"]["node-results"], store=store, http_address="http://127.0.0.1:0",
                      retry_base_seconds=1, wait_seconds=0, clock=lambda: NOW)
    dns_service = DnsService(store.zones, "127.0.0.1", 0).start()
    http = make_server(store, "127.0.0.1", 0)
    serve_in_background(http)
    agent.dns_port, agent.http_port = dns_service.port, http.server_address[1]
    yield agent
    http.shutdown()
    http.server_close()
    dns_service.stop()


def send(aws, command):
    boto3.client("sqs", region_name=settings().region).send_message(QueueUrl=aws["node_queue"],
                                                                     MessageBody=command.model_dump_json())
    return command


def set_zone(command_id: str, *, serial: int = SERIAL, records=None, at: datetime = NOW,
             domain: str = DOMAIN) -> SetDnsZone:
    return SetDnsZone(node_id=NODE_ID, command_id=command_id, contract_id="ctr-1", domain=domain, issued_at=at,
                      records=ZONE if records is None else records, serial=serial, correlation_id=f"corr-{command_id}")


def remove_zone(command_id: str, *, at: datetime = NOW + timedelta(days=1)) -> RemoveDnsZone:
    return RemoveDnsZone(node_id=NODE_ID, command_id=command_id, contract_id="ctr-1", domain=DOMAIN, issued_at=at,
                         reason="contract ended (R19)")


def apply(agent, aws, *commands) -> list:
    for command in commands:
        send(aws, command)
        agent.poll_once()
    return [node_result_adapter.validate_json(m["Body"]) for m in queue_messages(aws["queues"]["node-results"])]


def ask(agent, name: str, rdtype: str = "A", over: str = "udp") -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    transport = dns.query.udp if over == "udp" else dns.query.tcp
    return transport(query, "127.0.0.1", port=agent.dns_port, timeout=3)


def answers(message: dns.message.Message) -> list[tuple[str, str, str]]:
    return sorted((rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rdata.to_text())
                  for rrset in message.answer for rdata in rrset)


def get(agent, path: str, host: str = "127.0.0.1") -> tuple[int, str, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{agent.http_port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


# --- serving -------------------------------------------------------------------------------------

@pytest.mark.parametrize("over", ["udp", "tcp"])
def test_R40_the_zone_sent_on_the_queue_is_served_authoritatively(node, aws, over):
    [reply] = apply(node, aws, set_zone("z-1"))
    assert (reply.type, reply.command_type, reply.command_id, reply.domain, reply.correlation_id) == (
        "CommandApplied", "SetDnsZone", "z-1", DOMAIN, "corr-z-1")
    assert not (node.store.sites / DOMAIN).exists()  # no space needed to manage a domain

    a = ask(node, DOMAIN, "A", over)
    assert a.rcode() == dns.rcode.NOERROR and a.flags & dns.flags.AA
    assert answers(a) == [(f"{DOMAIN}.", "A", IP)]
    assert answers(ask(node, DOMAIN, "AAAA", over)) == [(f"{DOMAIN}.", "AAAA", "2001:db8::10")]
    assert answers(ask(node, f"mail.{DOMAIN}", "A", over)) == [(f"mail.{DOMAIN}.", "A", IP)]
    mx = ask(node, DOMAIN.upper(), "MX", over)  # names are case-insensitive
    assert mx.flags & dns.flags.AA and answers(mx) == [(f"{DOMAIN}.", "MX", f"10 mail.{DOMAIN}.")]
    assert [rrset.to_text() for rrset in mx.additional] == [f"mail.{DOMAIN}. 3600 IN A {IP}"]
    assert answers(ask(node, DOMAIN, "TXT", over)) == [(f"{DOMAIN}.", "TXT", '"v=spf1 a mx -all"')]
    assert answers(ask(node, f"_dmarc.{DOMAIN}", "TXT", over)) == [(f"_dmarc.{DOMAIN}.", "TXT",
                                                                   '"v=DMARC1; p=none"')]
    soa = ask(node, DOMAIN, "SOA", over)
    assert answers(soa) == [(f"{DOMAIN}.", "SOA",
                             f"ns1.node-it.example. hostmaster.{DOMAIN}. {SERIAL} 3600 900 1209600 300")]
    assert answers(ask(node, DOMAIN, "NS", over)) == [(f"{DOMAIN}.", "NS", "ns1.node-it.example.")]


@pytest.mark.parametrize("over", ["udp", "tcp"])
def test_R40_a_cname_answers_every_type_and_is_followed_inside_the_zone(node, aws, over):
    apply(node, aws, set_zone("z-1"))
    www = ask(node, f"www.{DOMAIN}", "A", over)
    assert www.flags & dns.flags.AA
    assert answers(www) == [(f"{DOMAIN}.", "A", IP), (f"www.{DOMAIN}.", "CNAME", f"{DOMAIN}.")]
    assert answers(ask(node, f"www.{DOMAIN}", "CNAME", over)) == [(f"www.{DOMAIN}.", "CNAME", f"{DOMAIN}.")]
    assert answers(ask(node, f"www.{DOMAIN}", "TXT", over)) == [
        (f"{DOMAIN}.", "TXT", '"v=spf1 a mx -all"'), (f"www.{DOMAIN}.", "CNAME", f"{DOMAIN}.")]
    assert answers(ask(node, f"blog.{DOMAIN}", "A", over)) == [  # a chain of two
        (f"blog.{DOMAIN}.", "CNAME", f"www.{DOMAIN}."), (f"{DOMAIN}.", "A", IP),
        (f"www.{DOMAIN}.", "CNAME", f"{DOMAIN}.")]
    # a target outside the zone: the CNAME only (the resolver follows it elsewhere)
    assert answers(ask(node, f"shop.{DOMAIN}", "A", over)) == [
        (f"shop.{DOMAIN}.", "CNAME", "boutique.example.net.")]


@pytest.mark.parametrize("over", ["udp", "tcp"])
def test_R40_unknown_names_are_nxdomain_missing_types_empty_and_other_zones_refused(node, aws, over):
    apply(node, aws, set_zone("z-1"))
    missing = ask(node, f"nope.{DOMAIN}", "A", over)
    assert missing.rcode() == dns.rcode.NXDOMAIN and missing.flags & dns.flags.AA and not missing.answer
    [soa] = missing.authority
    assert (soa.name.to_text(), dns.rdatatype.to_text(soa.rdtype), soa.ttl) == (f"{DOMAIN}.", "SOA", 300)

    no_type = ask(node, f"mail.{DOMAIN}", "MX", over)
    assert no_type.rcode() == dns.rcode.NOERROR and no_type.flags & dns.flags.AA and not no_type.answer
    assert [dns.rdatatype.to_text(r.rdtype) for r in no_type.authority] == ["SOA"]
    empty_non_terminal = ask(node, f"_domainkey.{DOMAIN}", "TXT", over)  # nothing there, a name under it
    assert empty_non_terminal.rcode() == dns.rcode.NOERROR and not empty_non_terminal.answer
    assert answers(ask(node, f"sel._domainkey.{DOMAIN}", "TXT", over)) == [
        (f"sel._domainkey.{DOMAIN}.", "TXT", '"v=DKIM1; k=rsa; p=AB"')]

    sneaky = dns.name.Name([b"x", b"../zones/shop-dns", b"fr", b""])  # a label is any bytes: never a path
    for outside in ("example.com", "fr", f"{DOMAIN}.evil.example", f"x{DOMAIN}", sneaky):
        refused = ask(node, outside, "A", over)
        assert refused.rcode() == dns.rcode.REFUSED and not refused.flags & dns.flags.AA and not refused.answer


def test_R40_a_large_zone_is_truncated_over_udp_and_whole_over_tcp(node, aws):
    records = wire([DnsRecord("@", "TXT", f"{i:02d}" + "x" * 200) for i in range(10)])
    apply(node, aws, set_zone("z-big", records=records))
    udp = ask(node, DOMAIN, "TXT", "udp")
    assert udp.flags & dns.flags.TC
    tcp = ask(node, DOMAIN, "TXT", "tcp")
    assert not tcp.flags & dns.flags.TC and len(answers(tcp)) == 10


# --- applied once, newest serial wins ------------------------------------------------------------

def test_R40_a_replayed_command_changes_nothing_and_is_answered_again(node, aws):
    apply(node, aws, set_zone("z-1"))
    zone_file = node.store.zones.path(DOMAIN)
    text, stamp = zone_file.read_text(), zone_file.stat().st_mtime_ns
    newer = set_zone("z-2", serial=SERIAL + 1, records=wire([DnsRecord("@", "A", NEW_IP)]),
                     at=NOW + timedelta(hours=1))
    replies = apply(node, aws, set_zone("z-1"))  # redelivered: same id
    assert [(r.type, r.command_id) for r in replies] == [("CommandApplied", "z-1")]
    assert (zone_file.read_text(), zone_file.stat().st_mtime_ns) == (text, stamp)

    apply(node, aws, newer, set_zone("z-1"))  # the old id again, after a newer zone: still nothing
    assert answers(ask(node, DOMAIN)) == [(f"{DOMAIN}.", "A", NEW_IP)]
    assert answers(ask(node, f"www.{DOMAIN}")) == []  # the new zone is absolute: www is gone


def test_R40_a_zone_of_an_older_serial_is_ignored_and_a_newer_one_served(node, aws):
    apply(node, aws, set_zone("z-1"))
    text = node.store.zone_text(DOMAIN)
    older = set_zone("z-0", serial=SERIAL - 1, records=wire([DnsRecord("@", "A", NEW_IP)]),
                     at=NOW + timedelta(hours=1))  # issued later, but an older serial
    [reply] = apply(node, aws, older)
    assert (reply.type, reply.command_type) == ("CommandApplied", "SetDnsZone")  # answered, not applied
    assert node.store.zone_text(DOMAIN) == text
    assert answers(ask(node, DOMAIN)) == [(f"{DOMAIN}.", "A", IP)]

    apply(node, aws, set_zone("z-3", serial=SERIAL + 2, records=wire([DnsRecord("@", "A", NEW_IP)])))
    assert answers(ask(node, DOMAIN, over="tcp")) == [(f"{DOMAIN}.", "A", NEW_IP)]  # re-read on change
    assert f"{SERIAL + 2} 3600 900" in node.store.zone_text(DOMAIN)


# --- removal -------------------------------------------------------------------------------------

def test_R40_remove_dns_zone_stops_serving_and_a_late_older_zone_does_not_come_back(node, aws):
    apply(node, aws, set_zone("z-1"))
    assert ask(node, DOMAIN).rcode() == dns.rcode.NOERROR
    [reply] = apply(node, aws, remove_zone("rm-1"))
    assert (reply.type, reply.command_type, reply.command_id) == ("CommandApplied", "RemoveDnsZone", "rm-1")
    assert not node.store.zones.path(DOMAIN).exists()
    for over in ("udp", "tcp"):
        assert ask(node, DOMAIN, "A", over).rcode() == dns.rcode.REFUSED
    assert get(node, f"/_node/zones/{DOMAIN}")[0] == 404

    # a SetDnsZone issued before the removal, delivered late: answered, changes nothing
    [late] = apply(node, aws, set_zone("z-late", serial=SERIAL + 5, at=NOW + timedelta(hours=2)))
    assert late.type == "CommandApplied"
    assert ask(node, DOMAIN).rcode() == dns.rcode.REFUSED
    assert [r.type for r in apply(node, aws, remove_zone("rm-1"))] == ["CommandApplied"]  # replay
    # management starts again later: a zone issued after the removal is served
    apply(node, aws, set_zone("z-again", serial=SERIAL + 6, at=NOW + timedelta(days=2)))
    assert answers(ask(node, DOMAIN)) == [(f"{DOMAIN}.", "A", IP)]


# --- refused commands ----------------------------------------------------------------------------

def test_R40_an_invalid_zone_or_domain_fails_and_is_retried(node, aws):
    bad_records = wire([DnsRecord("www", "CNAME", f"{DOMAIN}."), DnsRecord("www", "A", IP)])
    replies = apply(node, aws, set_zone("z-bad", records=bad_records),
                    set_zone("z-dom", domain="not_a_host"), set_zone("z-inj", domain="broken-dns.fr"))
    assert [(r.type, r.command_id) for r in replies] == [
        ("CommandFailed", "z-bad"), ("CommandFailed", "z-dom"), ("CommandFailed", "z-inj")]
    assert "CNAME" in replies[0].error and "invalid domain" in replies[1].error
    assert node.store.zones.domains() == []


# --- HTTP view -----------------------------------------------------------------------------------

def test_R40_the_node_shows_the_zone_file_over_http(node, aws):
    apply(node, aws, set_zone("z-1"))
    status, kind, text = get(node, f"/_node/zones/{DOMAIN}")
    assert (status, kind) == (200, "text/plain; charset=utf-8")
    assert text == node.store.zones.path(DOMAIN).read_text()
    assert f"$ORIGIN {DOMAIN}." in text and f"@\t3600\tIN\tA\t{IP}" in text
    assert get(node, f"/_node/zones/{DOMAIN.upper()}.")[0] == 200
    assert get(node, "/_node/zones/other.fr")[0] == 404
    assert get(node, "/_node/zones/..%2Fjournal%2Fz-1")[0] == 404
    # on a site's own Host the path is the site's (here a space of that domain): never the zone
    apply(node, aws, ProvisionSpace(node_id=NODE_ID, command_id="p-1", contract_id="ctr-1", domain=DOMAIN,
                                    quota_mb=100, mailboxes=1, mysql_databases=0, php=False, issued_at=NOW))
    assert get(node, f"/_node/zones/{DOMAIN}", host=DOMAIN)[0] == 404


# --- the node agent's command line ---------------------------------------------------------------

def _read_line(proc: subprocess.Popen, pattern: str, timeout: float = 20) -> re.Match:
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=0.2):
            line = proc.stdout.readline()
            if not line:
                break
            if match := re.search(pattern, line):
                return match
        elif proc.poll() is not None:
            break
    raise AssertionError(f"no line matching {pattern!r} from the node agent")


def test_R40_the_node_agent_serves_dns_on_the_port_it_prints(tmp_path):
    """`--dns-port 0` takes a free port and prints it ('nodeagent dns HOST:PORT'); the zones on
    disk are served from the start."""
    root = tmp_path / "node"
    (root / "zones").mkdir(parents=True)
    store = SpaceStore(root)
    store.apply(set_zone("z-disk"))
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nodeagent", "--node-id", "node-cli", "--root", str(root),
         "--commands-queue-url", "http://127.0.0.1:9/q/commands", "--results-queue-url", "http://127.0.0.1:9/q/r",
         "--http-port", "0", "--ftp-port", "0", "--dns-port", "0", "--probe-seconds", "0", "--wait-seconds", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        match = _read_line(proc, r"^nodeagent dns 127\.0\.0\.1:(\d+)$")
        port = int(match.group(1))
        assert port > 0
        for transport in (dns.query.udp, dns.query.tcp):
            reply = transport(dns.message.make_query(DOMAIN, "A"), "127.0.0.1", port=port, timeout=5)
            assert reply.flags & dns.flags.AA and answers(reply) == [(f"{DOMAIN}.", "A", IP)]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        proc.stdout.close()
