"""The node's newer commands and accounts: DeprovisionSpace (R13), ChangeSpace (R33), the FTP account
of a space (R28) and its first-use reports (R32), applied idempotently per command id (R30)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.contracts.node_messages import (ChangeSpace, DeleteSpaceData, DeprovisionSpace, ProvisionSpace,
                                                RestrictSpace, SuspendSpace)
from nodeagent import spaces
from nodeagent.spaces import CommandError, SpaceStore

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"  # the node stores it as given


def provision(command_id: str = "cmd-1", *, contract_id: str = "ctr-1", quota_mb: int = 10240,
              password_hash: str | None = HASH, at: datetime = T0) -> ProvisionSpace:
    return ProvisionSpace(node_id="node-1", command_id=command_id, contract_id=contract_id, domain="acme-test.fr",
                          quota_mb=quota_mb, mailboxes=5, mysql_databases=1, php=True, issued_at=at,
                          ftp_password_hash=password_hash)


def change(command_id: str, *, at: datetime = T0 + timedelta(days=1), quota_mb: int = 20480, mailboxes: int = 10,
           mysql_databases: int = 3, contract_id: str = "ctr-1") -> ChangeSpace:
    return ChangeSpace(node_id="node-1", command_id=command_id, contract_id=contract_id, domain="acme-test.fr",
                       issued_at=at, quota_mb=quota_mb, mailboxes=mailboxes, mysql_databases=mysql_databases)


def deprovision(command_id: str, *, contract_id: str = "ctr-1", at: datetime = T0 + timedelta(days=2)):
    return DeprovisionSpace(node_id="node-1", command_id=command_id, contract_id=contract_id,
                            domain="acme-test.fr", issued_at=at, reason="withdrawal")


def space_json(store: SpaceStore) -> dict:
    return json.loads((store.sites / "acme-test.fr" / "space.json").read_text(encoding="utf-8"))


@pytest.fixture
def hosted(tmp_path) -> SpaceStore:
    store = SpaceStore(tmp_path / "node")
    store.provision(provision())
    space = store.sites / "acme-test.fr"
    (space / "htdocs" / "index.html").write_text("<h1>customer site</h1>", encoding="utf-8")
    (space / "mail" / "contact").mkdir()
    (space / "mail" / "contact" / "1.eml").write_text("Subject: hello", encoding="utf-8")
    (space / "databases" / "shop.sql").write_text("CREATE TABLE t (id int);", encoding="utf-8")
    return store


# --- ChangeSpace (R33) ---------------------------------------------------------------------------

def test_R33_change_space_records_the_new_limits_and_keeps_files_state_and_account(hosted):
    hosted.apply(RestrictSpace(node_id="node-1", command_id="r-1", contract_id="ctr-1", domain="acme-test.fr",
                               issued_at=T0, reason="overdue"))
    outcome = hosted.apply(change("chg-1"))
    assert (outcome.kind, outcome.domain, outcome.contract_id, outcome.replayed, outcome.note) == (
        "CommandApplied", "acme-test.fr", "ctr-1", False, "")
    space = space_json(hosted)
    assert (space["quota_mb"], space["mailboxes"], space["mysql_databases"]) == (20480, 10, 3)
    assert (space["state"], space["reason"], space["ftp_password_hash"]) == ("restricted", "overdue", HASH)
    assert (hosted.site_root("acme-test.fr") / "index.html").read_text(encoding="utf-8") == "<h1>customer site</h1>"


def test_R30_R33_change_space_delivered_twice_is_a_replay(hosted):
    assert hosted.apply(change("chg-1")).replayed is False
    assert hosted.apply(change("chg-1", quota_mb=99999)).replayed is True
    assert space_json(hosted)["quota_mb"] == 20480


def test_R30_R33_an_older_change_delivered_after_a_newer_one_is_answered_but_ignored(hosted):
    hosted.apply(change("chg-2", at=T0 + timedelta(days=2), quota_mb=30720))
    late = hosted.apply(change("chg-1", at=T0 + timedelta(days=1), quota_mb=20480))
    assert (late.kind, late.replayed) == ("CommandApplied", False) and "stale" in late.note
    assert space_json(hosted)["quota_mb"] == 30720


def test_R33_a_new_provision_older_than_the_last_change_keeps_the_changed_limits(hosted):
    hosted.apply(change("chg-1", at=T0 + timedelta(days=1), quota_mb=30720))
    hosted.provision(provision("cmd-retry", at=T0 + timedelta(hours=1), quota_mb=10240))
    assert space_json(hosted)["quota_mb"] == 30720


def test_R33_change_space_of_a_deleted_space_is_a_no_op(hosted):
    hosted.apply(deprovision("dep-1"))
    outcome = hosted.apply(change("chg-1", at=T0 + timedelta(days=3)))
    assert (outcome.kind, outcome.note) == ("CommandApplied", "already deleted")
    assert not (hosted.sites / "acme-test.fr").exists()


def test_R33_change_space_for_another_contract_fails(hosted):
    with pytest.raises(CommandError, match="another contract"):
        hosted.apply(change("chg-1", contract_id="ctr-2"))
    assert space_json(hosted)["quota_mb"] == 10240


# --- DeprovisionSpace (R13) ----------------------------------------------------------------------

def test_R13_deprovisioning_removes_the_whole_space_and_its_ftp_account(hosted):
    assert hosted.ftp_account("acme-test.fr") is not None
    outcome = hosted.apply(deprovision("dep-1"))
    assert (outcome.kind, outcome.domain, outcome.contract_id, outcome.replayed, outcome.note) == (
        "CommandApplied", "acme-test.fr", "ctr-1", False, "")
    assert not (hosted.sites / "acme-test.fr").exists()
    assert list(hosted.trash.iterdir()) == []
    assert hosted.site("acme-test.fr") is None
    assert hosted.ftp_account("acme-test.fr") is None
    assert hosted.count() == 0


def test_R13_R30_a_redelivered_deprovision_is_answered_again_even_after_a_restart(hosted):
    hosted.apply(deprovision("dep-1"))
    again = SpaceStore(hosted.root).apply(deprovision("dep-1"))
    assert (again.kind, again.replayed) == ("CommandApplied", True)
    other = hosted.apply(deprovision("dep-2"))
    assert (other.replayed, other.note) == (False, "already deleted")


def test_R13_R20_the_later_data_deletion_of_a_withdrawn_contract_is_a_no_op(hosted):
    hosted.apply(deprovision("dep-1"))
    outcome = hosted.apply(DeleteSpaceData(node_id="node-1", command_id="del-1", contract_id="ctr-1",
                                           domain="acme-test.fr", issued_at=T0 + timedelta(days=40)))
    assert (outcome.kind, outcome.note) == ("CommandApplied", "already deleted")


def test_R13_a_withdrawn_contract_cannot_be_provisioned_again(hosted):
    hosted.apply(deprovision("dep-1"))
    with pytest.raises(CommandError, match="was deleted"):
        hosted.provision(provision("cmd-late"))
    assert not (hosted.sites / "acme-test.fr").exists()


def test_R13_a_deprovision_interrupted_after_the_rename_is_finished_on_redelivery(hosted, monkeypatch):
    real_rmtree = spaces.shutil.rmtree

    def crash(path):
        raise OSError("power cut")

    monkeypatch.setattr(spaces.shutil, "rmtree", crash)
    with pytest.raises(OSError):
        hosted.apply(deprovision("dep-1"))
    assert hosted.site("acme-test.fr") is None and hosted.ftp_account("acme-test.fr") is None
    monkeypatch.setattr(spaces.shutil, "rmtree", real_rmtree)
    assert hosted.apply(deprovision("dep-1")).replayed is False
    assert list(hosted.trash.iterdir()) == []


def test_R13_deprovisioning_a_space_of_another_contract_fails_and_changes_nothing(hosted):
    with pytest.raises(CommandError, match="another contract"):
        hosted.apply(deprovision("dep-1", contract_id="ctr-2"))
    assert hosted.site("acme-test.fr") is not None


# --- FTP account (R28) ---------------------------------------------------------------------------

def test_R28_the_ftp_account_is_the_domain_with_the_htdocs_home_and_the_hash_only(hosted):
    account = hosted.ftp_account(" ACME-TEST.FR ")
    assert (account.domain, account.htdocs, account.password_hash, account.state) == (
        "acme-test.fr", hosted.sites / "acme-test.fr" / "htdocs", HASH, "active")
    assert hosted.ftp_account("other.fr") is None
    assert hosted.ftp_account("../acme-test.fr") is None


def test_R23_the_ftp_account_follows_the_space_state(hosted):
    hosted.apply(SuspendSpace(node_id="node-1", command_id="s-1", contract_id="ctr-1", domain="acme-test.fr",
                              issued_at=T0, reason="unpaid"))
    assert hosted.ftp_account("acme-test.fr").state == "suspended"


def test_R28_a_new_provision_without_a_hash_keeps_the_password(hosted):
    hosted.provision(provision("cmd-2", password_hash=None))
    assert hosted.ftp_account("acme-test.fr").password_hash == HASH


# --- first use (R32) -----------------------------------------------------------------------------

def test_R32_each_kind_of_first_use_is_reported_once_through_the_outbox(hosted):
    first = hosted.record_first_use("acme-test.fr", "ftp_login", T0)
    assert first == {"contract_id": "ctr-1", "domain": "acme-test.fr", "usage": "ftp_login",
                     "used_at": T0.isoformat()}
    assert hosted.reports_ready.is_set()
    assert hosted.record_first_use("acme-test.fr", "ftp_login", T0 + timedelta(hours=1)) is None
    assert hosted.record_first_use("acme-test.fr", "ftp_upload", T0 + timedelta(hours=2))["usage"] == "ftp_upload"
    assert [report["usage"] for _, report in hosted.pending_reports()] == ["ftp_login", "ftp_upload"]
    space = space_json(hosted)
    assert space["first_used_at"] == T0.isoformat()
    assert set(space["first_uses"]) == {"ftp_login", "ftp_upload"}


def test_R32_a_sent_report_leaves_the_outbox_and_a_restart_resends_the_others(hosted):
    hosted.record_first_use("acme-test.fr", "ftp_login", T0)
    hosted.record_first_use("acme-test.fr", "ftp_upload", T0)
    [(name, _), _] = hosted.pending_reports()
    hosted.report_sent(name)
    assert [r["usage"] for _, r in SpaceStore(hosted.root).pending_reports()] == ["ftp_upload"]


def test_R32_first_uses_survive_a_new_provision_and_the_report_survives_the_deletion(hosted):
    hosted.record_first_use("acme-test.fr", "ftp_login", T0)
    hosted.provision(provision("cmd-2"))
    assert hosted.record_first_use("acme-test.fr", "ftp_login", T0 + timedelta(days=1)) is None
    hosted.apply(deprovision("dep-1"))
    assert [r["usage"] for _, r in hosted.pending_reports()] == ["ftp_login"]
    assert hosted.record_first_use("acme-test.fr", "ftp_upload", T0) is None  # no space, no report


def test_R32_an_unknown_usage_is_refused(hosted):
    with pytest.raises(ValueError):
        hosted.record_first_use("acme-test.fr", "ssh_login", T0)
