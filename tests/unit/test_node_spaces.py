"""Hosting spaces on a node's disk (R28, R29), restricted, suspended and deleted (R19, R20, R23, R49),
applied idempotently per command id (R30)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.contracts.node_messages import (DeleteSpaceData, ProvisionSpace, RestrictSpace, SuspendSpace,
                                                UnsuspendSpace)
from nodeagent import spaces
from nodeagent.spaces import CommandError, SpaceStore

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


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


# --- restrict, suspend, unsuspend, delete (R19, R20, R23, R49) ------------------------------------

def state_command(kind, command_id: str, *, at: datetime = T0, domain: str = "acme-test.fr",
                  contract_id: str = "ctr-1", reason: str = "unpaid invoice F-2026-0042"):
    extra = {"reason": reason} if kind in (RestrictSpace, SuspendSpace) else {}
    return kind(node_id="node-1", command_id=command_id, contract_id=contract_id, domain=domain, issued_at=at,
                **extra)


def space_json(store: SpaceStore, domain: str = "acme-test.fr") -> dict:
    return json.loads((store.sites / domain / "space.json").read_text(encoding="utf-8"))


@pytest.fixture
def hosted(store) -> SpaceStore:
    """A provisioned space whose customer uploaded a page, has a mailbox and a database."""
    store.provision(command())
    space = store.sites / "acme-test.fr"
    (space / "htdocs" / "index.html").write_text("<h1>customer site</h1>", encoding="utf-8")
    (space / "mail" / "contact").mkdir()
    (space / "mail" / "contact" / "1.eml").write_text("Subject: hello", encoding="utf-8")
    (space / "databases" / "shop.sql").write_text("CREATE TABLE t (id int);", encoding="utf-8")
    return store


def files_of(store: SpaceStore, domain: str = "acme-test.fr") -> dict:
    space = store.sites / domain
    return {str(p.relative_to(space)): p.read_text(encoding="utf-8")
            for p in sorted(space.rglob("*")) if p.is_file() and p.name != "space.json"}


def test_R23_R49_restricting_records_the_state_and_reason_and_the_site_is_still_served(hosted):
    outcome = hosted.apply(state_command(RestrictSpace, "r-1", reason="overdue"))
    assert (outcome.kind, outcome.domain, outcome.contract_id, outcome.replayed) == (
        "CommandApplied", "acme-test.fr", "ctr-1", False)
    space = space_json(hosted)
    assert (space["state"], space["reason"], space["state_issued_at"]) == ("restricted", "overdue", T0.isoformat())
    site = hosted.site("acme-test.fr")
    assert site.state == "restricted"
    assert (site.htdocs / "index.html").read_text(encoding="utf-8") == "<h1>customer site</h1>"


def test_R19_R20_suspending_records_the_state_and_keeps_every_file(hosted):
    before = files_of(hosted)
    outcome = hosted.apply(state_command(SuspendSpace, "s-1", reason="contract ended"))
    assert outcome.kind == "CommandApplied" and outcome.note == ""
    assert (space_json(hosted)["state"], space_json(hosted)["reason"]) == ("suspended", "contract ended")
    assert hosted.site("acme-test.fr").state == "suspended"
    assert files_of(hosted) == before
    assert len(before) == 3  # page, mail, database
    assert hosted.count() == 1


def test_R23_unsuspending_makes_the_space_active_again_with_the_same_files(hosted):
    before = files_of(hosted)
    hosted.apply(state_command(SuspendSpace, "s-1", at=T0))
    hosted.apply(state_command(UnsuspendSpace, "u-1", at=T0 + timedelta(hours=1)))
    space = space_json(hosted)
    assert (space["state"], space["reason"]) == ("active", None)
    assert hosted.site("acme-test.fr").state == "active"
    assert files_of(hosted) == before


def test_R23_unsuspending_also_lifts_a_restriction(hosted):
    hosted.apply(state_command(RestrictSpace, "r-1", at=T0))
    hosted.apply(state_command(UnsuspendSpace, "u-1", at=T0 + timedelta(days=1)))
    assert hosted.site("acme-test.fr").state == "active"


def test_R23_restriction_then_suspension_escalates(hosted):
    hosted.apply(state_command(RestrictSpace, "r-1", at=T0))
    hosted.apply(state_command(SuspendSpace, "s-1", at=T0 + timedelta(days=7)))
    assert hosted.site("acme-test.fr").state == "suspended"


@pytest.mark.parametrize("kind", [RestrictSpace, SuspendSpace, UnsuspendSpace])
def test_R30_a_state_command_delivered_twice_is_a_replay(hosted, kind):
    first = hosted.apply(state_command(kind, "c-1"))
    second = hosted.apply(state_command(kind, "c-1"))
    assert (first.replayed, second.replayed) == (False, True)
    assert (second.kind, second.domain, second.contract_id) == ("CommandApplied", "acme-test.fr", "ctr-1")


def test_R30_a_suspension_redelivered_after_its_lifting_does_not_suspend_again(hosted):
    hosted.apply(state_command(SuspendSpace, "s-1", at=T0))
    hosted.apply(state_command(UnsuspendSpace, "u-1", at=T0 + timedelta(hours=1)))
    assert hosted.apply(state_command(SuspendSpace, "s-1", at=T0)).replayed is True
    assert hosted.site("acme-test.fr").state == "active"


def test_R30_an_older_suspension_arriving_after_a_newer_unsuspension_is_answered_but_ignored(hosted):
    hosted.apply(state_command(UnsuspendSpace, "u-1", at=T0 + timedelta(hours=1)))
    late = hosted.apply(state_command(SuspendSpace, "s-1", at=T0))  # issued first, delivered last
    assert (late.kind, late.replayed) == ("CommandApplied", False)
    assert "stale" in late.note
    space = space_json(hosted)
    assert (space["state"], space["state_issued_at"], space["state_command_id"]) == (
        "active", (T0 + timedelta(hours=1)).isoformat(), "u-1")
    assert hosted.apply(state_command(SuspendSpace, "s-1", at=T0)).replayed is True  # journalled too


def test_R30_issue_times_in_other_time_zones_are_compared_as_instants(hosted):
    paris = timezone(timedelta(hours=1))
    hosted.apply(state_command(SuspendSpace, "s-1", at=datetime(2026, 11, 27, 12, 0, tzinfo=paris)))  # 11:00Z
    hosted.apply(state_command(UnsuspendSpace, "u-1", at=datetime(2026, 11, 27, 10, 30, tzinfo=timezone.utc)))
    assert hosted.site("acme-test.fr").state == "suspended"


def test_R30_a_new_provision_command_for_the_space_keeps_its_suspension(hosted):
    hosted.apply(state_command(SuspendSpace, "s-1", reason="abuse"))
    hosted.provision(command(command_id="cmd-2", quota_mb=20480))
    space = space_json(hosted)
    assert (space["quota_mb"], space["state"], space["reason"]) == (20480, "suspended", "abuse")


@pytest.mark.parametrize("kind", [RestrictSpace, SuspendSpace, UnsuspendSpace, DeleteSpaceData])
def test_R30_a_command_for_a_space_never_provisioned_fails(store, kind):
    with pytest.raises(CommandError, match="no space for acme-test.fr"):
        store.apply(state_command(kind, "c-1"))
    assert list(store.journal.iterdir()) == []  # not journalled: a retry is applied once it exists


@pytest.mark.parametrize("kind", [RestrictSpace, SuspendSpace, UnsuspendSpace, DeleteSpaceData])
def test_R30_a_command_for_another_contract_fails_and_changes_nothing(hosted, kind):
    before = (files_of(hosted), space_json(hosted))
    with pytest.raises(CommandError, match="another contract"):
        hosted.apply(state_command(kind, "c-1", contract_id="ctr-2"))
    assert (files_of(hosted), space_json(hosted)) == before
    assert hosted.site("acme-test.fr").state == "active"


def test_R30_state_commands_go_through_fault_injection(tmp_path):
    SpaceStore(tmp_path).provision(command("shop.fail.test"))
    with pytest.raises(CommandError, match="fault injected"):
        SpaceStore(tmp_path, fail_domains=["*.fail.test"]).apply(state_command(SuspendSpace, "s-1",
                                                                               domain="shop.fail.test"))
    assert SpaceStore(tmp_path).site("shop.fail.test").state == "active"


def test_R20_deleting_removes_site_databases_mail_logs_and_space_json(hosted):
    hosted.apply(state_command(SuspendSpace, "s-1"))
    outcome = hosted.apply(state_command(DeleteSpaceData, "d-1"))
    assert (outcome.kind, outcome.domain, outcome.contract_id, outcome.replayed) == (
        "CommandApplied", "acme-test.fr", "ctr-1", False)
    assert not (hosted.sites / "acme-test.fr").exists()
    assert list(hosted.trash.iterdir()) == []
    assert hosted.site("acme-test.fr") is None
    assert hosted.count() == 0


def test_R20_R30_a_redelivered_deletion_is_answered_again_without_error(hosted):
    hosted.apply(state_command(DeleteSpaceData, "d-1"))
    again = SpaceStore(hosted.root).apply(state_command(DeleteSpaceData, "d-1"))  # after a restart too
    assert (again.kind, again.domain, again.contract_id, again.replayed) == (
        "CommandApplied", "acme-test.fr", "ctr-1", True)


def test_R20_a_second_deletion_of_the_same_contract_is_applied_as_a_no_op(hosted):
    hosted.apply(state_command(DeleteSpaceData, "d-1"))
    again = hosted.apply(state_command(DeleteSpaceData, "d-2"))
    assert (again.kind, again.replayed, again.note) == ("CommandApplied", False, "already deleted")


@pytest.mark.parametrize("kind", [RestrictSpace, SuspendSpace, UnsuspendSpace])
def test_R20_state_commands_after_the_deletion_are_no_ops_and_recreate_nothing(hosted, kind):
    hosted.apply(state_command(DeleteSpaceData, "d-1", at=T0))
    outcome = hosted.apply(state_command(kind, "c-1", at=T0 + timedelta(days=1)))
    assert (outcome.kind, outcome.note) == ("CommandApplied", "already deleted")
    assert not (hosted.sites / "acme-test.fr").exists()


def test_R20_provisioning_a_contract_whose_data_was_deleted_fails(hosted):
    hosted.apply(state_command(DeleteSpaceData, "d-1"))
    with pytest.raises(CommandError, match="was deleted"):
        hosted.provision(command(command_id="cmd-late"))
    assert not (hosted.sites / "acme-test.fr").exists()
    assert hosted.provision(command()).replayed is True  # the original command is still answered


def test_R20_a_late_command_of_a_deleted_contract_leaves_the_domain_new_contract_alone(hosted):
    hosted.apply(state_command(DeleteSpaceData, "d-1"))
    hosted.provision(command(command_id="cmd-new", contract_id="ctr-2"))
    outcome = hosted.apply(state_command(SuspendSpace, "s-old", contract_id="ctr-1", at=T0 + timedelta(days=1)))
    assert outcome.note == "already deleted"
    assert hosted.site("acme-test.fr").state == "active"
    assert space_json(hosted)["contract_id"] == "ctr-2"


class Crash(OSError):
    pass


def test_R20_a_deletion_interrupted_while_removing_files_is_finished_on_redelivery(hosted, monkeypatch):
    real_rmtree = spaces.shutil.rmtree

    def crash_halfway(path):
        (next(path.rglob("*.eml"))).unlink()  # some files are gone, then the node dies
        raise Crash("power cut")

    monkeypatch.setattr(spaces.shutil, "rmtree", crash_halfway)
    with pytest.raises(Crash):
        hosted.apply(state_command(DeleteSpaceData, "d-1"))
    assert hosted.site("acme-test.fr") is None  # already out of service: the rename was atomic
    assert len(list(hosted.trash.iterdir())) == 1
    assert list(hosted.journal.glob("d-1.json")) == []

    monkeypatch.setattr(spaces.shutil, "rmtree", real_rmtree)
    outcome = SpaceStore(hosted.root).apply(state_command(DeleteSpaceData, "d-1"))
    assert (outcome.kind, outcome.replayed) == ("CommandApplied", False)
    assert list(hosted.trash.iterdir()) == []
    assert not (hosted.sites / "acme-test.fr").exists()
    assert (hosted.journal / "d-1.json").exists()


def test_R20_a_deletion_interrupted_before_the_rename_is_finished_on_redelivery(hosted, monkeypatch):
    def crash(*_):
        raise Crash("power cut")

    monkeypatch.setattr(spaces.os, "rename", crash)
    with pytest.raises(Crash):
        hosted.apply(state_command(DeleteSpaceData, "d-1"))
    assert hosted.site("acme-test.fr") is not None
    monkeypatch.undo()
    assert hosted.apply(state_command(DeleteSpaceData, "d-1")).replayed is False
    assert not (hosted.sites / "acme-test.fr").exists()
    assert list(hosted.trash.iterdir()) == []


def test_R30_the_journal_of_a_deleted_space_survives_its_deletion(hosted):
    hosted.apply(state_command(SuspendSpace, "s-1"))
    hosted.apply(state_command(DeleteSpaceData, "d-1", at=T0 + timedelta(days=30)))
    assert {p.stem for p in hosted.journal.iterdir()} == {"cmd-1", "s-1", "d-1"}
    assert hosted.apply(state_command(SuspendSpace, "s-1")).replayed is True
