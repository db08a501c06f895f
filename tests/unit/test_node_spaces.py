"""Hosting spaces on a node's disk (R28, R29), applied idempotently per command id (R30)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from chalicelib.contracts.node_messages import ProvisionSpace
from nodeagent.spaces import CommandError, SpaceStore


def command(domain: str = "acme-test.fr", *, command_id: str = "cmd-1", contract_id: str = "ctr-1",
            quota_mb: int = 10240, mailboxes: int = 5, mysql_databases: int = 1) -> ProvisionSpace:
    return ProvisionSpace(node_id="node-1", command_id=command_id, contract_id=contract_id, domain=domain,
                          quota_mb=quota_mb, mailboxes=mailboxes, mysql_databases=mysql_databases, php=True,
                          issued_at=datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc))


@pytest.fixture
def store(tmp_path) -> SpaceStore:
    return SpaceStore(tmp_path / "node")


def test_R28_provisioning_creates_a_placeholder_page_naming_the_domain(store):
    outcome = store.provision(command("acme-test.fr"))
    assert outcome.kind == "SpaceProvisioned"
    assert outcome.domain == "acme-test.fr"
    assert outcome.contract_id == "ctr-1"
    assert outcome.replayed is False
    index = store.sites / "acme-test.fr" / "htdocs" / "index.html"
    assert "acme-test.fr" in index.read_text(encoding="utf-8")


def test_R28_R29_space_records_its_quota_mailboxes_and_databases(store):
    store.provision(command(quota_mb=51200, mailboxes=25, mysql_databases=5))
    space = json.loads((store.sites / "acme-test.fr" / "space.json").read_text(encoding="utf-8"))
    assert space["quota_mb"] == 51200
    assert space["mailboxes"] == 25
    assert space["mysql_databases"] == 5
    assert space["contract_id"] == "ctr-1"
    assert space["php"] is True


def test_R28_space_has_log_mail_and_database_directories(store):
    store.provision(command())
    for sub in ("htdocs", "logs", "mail", "databases"):
        assert (store.sites / "acme-test.fr" / sub).is_dir()


def test_R28_uppercase_domain_is_stored_lowercase(store):
    outcome = store.provision(command("ACME-Test.FR"))
    assert outcome.domain == "acme-test.fr"
    assert store.site_root("acme-test.fr") is not None


def test_R30_the_same_command_twice_is_a_replay(store):
    first = store.provision(command())
    second = store.provision(command())
    assert first.replayed is False
    assert second.replayed is True
    assert (second.kind, second.domain, second.contract_id) == (first.kind, first.domain, first.contract_id)
    assert store.count() == 1


def test_R30_a_replay_does_not_overwrite_the_page_the_customer_uploaded(store):
    store.provision(command())
    index = store.sites / "acme-test.fr" / "htdocs" / "index.html"
    index.write_text("<h1>my own site</h1>", encoding="utf-8")
    assert store.provision(command()).replayed is True
    assert index.read_text(encoding="utf-8") == "<h1>my own site</h1>"


def test_R30_a_new_command_for_the_same_contract_keeps_the_customer_page(store):
    store.provision(command(command_id="cmd-1"))
    index = store.sites / "acme-test.fr" / "htdocs" / "index.html"
    index.write_text("customer content", encoding="utf-8")
    outcome = store.provision(command(command_id="cmd-2", quota_mb=20480))
    assert outcome.replayed is False
    assert index.read_text(encoding="utf-8") == "customer content"
    space = json.loads((store.sites / "acme-test.fr" / "space.json").read_text(encoding="utf-8"))
    assert space["quota_mb"] == 20480


def test_R30_replays_survive_a_node_restart(tmp_path):
    SpaceStore(tmp_path).provision(command())
    assert SpaceStore(tmp_path).provision(command()).replayed is True


def test_R34_a_second_contract_for_the_same_domain_fails(store):
    store.provision(command(contract_id="ctr-1", command_id="cmd-1"))
    with pytest.raises(CommandError):
        store.provision(command(contract_id="ctr-2", command_id="cmd-2"))
    space = json.loads((store.sites / "acme-test.fr" / "space.json").read_text(encoding="utf-8"))
    assert space["contract_id"] == "ctr-1"


@pytest.mark.parametrize("domain", ["bad_domain.fr", "-acme.fr", "acme", "../etc", "a/../b.fr", "acme.fr/x",
                                    "a" * 64 + ".fr", ""])
def test_R30_invalid_domain_names_fail_and_create_nothing(store, domain):
    with pytest.raises(CommandError):
        store.provision(command(domain))
    assert store.count() == 0
    assert list(store.journal.iterdir()) == []


@pytest.mark.parametrize("pattern, domain", [
    ("*.fail.test", "shop.fail.test"),
    ("broken-*.fr", "broken-shop.fr"),
    ("exact.fr", "exact.fr"),
])
def test_R30_fault_injected_domains_fail(tmp_path, pattern, domain):
    store = SpaceStore(tmp_path, fail_domains=["", pattern])
    with pytest.raises(CommandError):
        store.provision(command(domain))
    assert store.count() == 0


def test_R30_fault_injection_spares_other_domains(tmp_path):
    store = SpaceStore(tmp_path, fail_domains=["*.fail.test"])
    assert store.provision(command("fail.test.fr")).replayed is False


def test_R30_a_failed_command_is_applied_when_retried_once_the_fault_is_gone(tmp_path):
    with pytest.raises(CommandError):
        SpaceStore(tmp_path, fail_domains=["*.fr"]).provision(command())
    outcome = SpaceStore(tmp_path).provision(command())
    assert outcome.replayed is False
    assert SpaceStore(tmp_path).site_root("acme-test.fr") is not None


def test_R28_count_counts_provisioned_spaces(store):
    assert store.count() == 0
    store.provision(command("a.fr", command_id="c1", contract_id="k1"))
    store.provision(command("b.fr", command_id="c2", contract_id="k2"))
    assert store.count() == 2


# --- site_root ---------------------------------------------------------------------------------

def test_R28_site_root_of_a_provisioned_host_is_its_htdocs(store):
    store.provision(command())
    root = store.site_root("acme-test.fr")
    assert root == store.sites / "acme-test.fr" / "htdocs"
    assert (root / "index.html").is_file()


def test_R28_site_root_normalises_case_and_trailing_dot(store):
    store.provision(command())
    assert store.site_root(" ACME-TEST.FR. ") == store.sites / "acme-test.fr" / "htdocs"


def test_R28_site_root_of_an_unknown_host_is_none(store):
    store.provision(command())
    assert store.site_root("other.fr") is None


@pytest.mark.parametrize("host", ["..", ".", "../sites", "../../etc/passwd", "acme-test.fr/../acme-test.fr",
                                  "%2e%2e", "acme-test.fr/htdocs", "acme-test.fr\\..", "", "/etc"])
def test_R28_site_root_refuses_path_traversal_like_hosts(store, host):
    store.provision(command())
    assert store.site_root(host) is None
