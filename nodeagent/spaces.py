"""Hosting spaces on this node's disk, applied idempotently on the command id (R30)."""
from __future__ import annotations

import fnmatch
import html
import json
import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

from .dns_zones import DEFAULT_PRIMARY_NS, ZoneError, ZoneStore

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")

PLACEHOLDER = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{domain}</title></head>
<body><h1>{domain}</h1><p>Votre espace d'h&eacute;bergement {domain} est pr&ecirc;t.</p></body></html>
"""

# The state each state command puts a space in (R19, R23, R49). A restricted site is served as usual
# and its FTP account logs in read-only; a suspended one answers 503 and refuses FTP logins.
STATES = {"RestrictSpace": "restricted", "SuspendSpace": "suspended", "UnsuspendSpace": "active"}
STATE_KEYS = ("state", "reason", "state_issued_at", "state_command_id", "mail_outgoing")  # in space.json
# R49 (11.3): the space's outgoing mail. This node runs no mail server: the state is recorded for the
# mail relay and shown read-only (GET /_node/spaces/<domain>). A RestrictSpace with
# block_outgoing_mail and any SuspendSpace block it; only an UnsuspendSpace (no hold left) allows it
# again; a RestrictSpace without the flag leaves it as it is (R49 `limit`: FTP read-only only).
MAIL_BLOCKED, MAIL_ALLOWED = "blocked", "allowed"
LIMIT_KEYS = ("quota_mb", "mailboxes", "mysql_databases")  # R28/R29, changed by ChangeSpace (R33)
# What a new ProvisionSpace for the same contract keeps: measures, newer limits, first use (R32).
KEPT_KEYS = STATE_KEYS + ("limits_issued_at", "limits_command_id", "first_uses", "first_used_at")
# R32: the kinds of first use the node reports, once each per space.
FIRST_USES = ("ftp_login", "ftp_upload", "mailbox")


class CommandError(Exception):
    """The command cannot be applied on this node (the queue will retry it)."""


def valid_hostname(name: str) -> bool:
    return bool(_HOSTNAME.match(name))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@dataclass
class Outcome:
    kind: str  # "SpaceProvisioned" or "CommandApplied"
    domain: str
    contract_id: str
    replayed: bool
    note: str = ""  # why nothing changed, when nothing did ("already deleted", "stale")


@dataclass
class Site:
    domain: str
    htdocs: Path
    state: str  # "active", "restricted" or "suspended"


@dataclass
class FtpAccount:
    """R28: a space's FTP account. The login is the domain; the home is the space's htdocs."""
    domain: str
    htdocs: Path
    password_hash: Optional[str]  # argon2; None when the command carried none (no login possible)
    state: str


class SpaceStore:
    def __init__(self, root: Path, fail_domains: Sequence[str] = (), primary_ns: str = DEFAULT_PRIMARY_NS) -> None:
        self.root = Path(root)
        self.sites = self.root / "sites"
        self.journal = self.root / "journal"  # one entry per applied command id; never deleted
        self.deleted = self.root / "deleted"  # per domain, the contracts whose data was deleted (R20)
        self.trash = self.root / "trash"  # spaces renamed here atomically, then removed
        # R32: first-use reports written before they are sent, removed once the results queue took
        # them; outside the spaces, so a report survives the space's deletion and a crash.
        self.outbox = self.root / "outbox"
        for directory in (self.sites, self.journal, self.deleted, self.trash, self.outbox):
            directory.mkdir(parents=True, exist_ok=True)
        # R40: the DNS zones of the managed domains (<root>/zones/<domain>.zone), served by dns_server.
        self.zones = ZoneStore(self.root, primary_ns=primary_ns)
        # Fault injection for tests and drills: commands for these domains (glob patterns) fail.
        self.fail_domains = tuple(p for p in fail_domains if p)
        self._lock = threading.Lock()
        self.reports_ready = threading.Event()  # set when a report joins the outbox

    # --- reading -------------------------------------------------------------------------------

    def site(self, host: str) -> Optional[Site]:
        """The site served for a Host header, or None (unknown, deleted or not a hostname)."""
        host = host.strip().lower().rstrip(".")
        if not valid_hostname(host):
            return None
        htdocs = self.sites / host / "htdocs"
        if not htdocs.is_dir():
            return None
        return Site(host, htdocs, (self._read_space(host) or {}).get("state", "active"))

    def site_root(self, host: str) -> Optional[Path]:
        site = self.site(host)
        return site.htdocs if site else None

    def status(self, host: str) -> Optional[dict]:
        """A space's state as this node applies it (read-only): state, reason, outgoing mail, limits;
        None for an unknown, deleted or invalid name."""
        domain = (host or "").strip().lower().rstrip(".")
        meta = self._read_space(domain) if valid_hostname(domain) else None
        if meta is None:
            return None
        return {"domain": domain, "contract_id": meta.get("contract_id"), "state": meta.get("state", "active"),
                "reason": meta.get("reason"), "mail_outgoing": meta.get("mail_outgoing", MAIL_ALLOWED),
                "state_issued_at": meta.get("state_issued_at"), **{k: meta.get(k) for k in LIMIT_KEYS}}

    def zone_text(self, host: str) -> Optional[str]:
        """R40: the zone file served for a domain, or None (not managed here, or not a hostname)."""
        domain = (host or "").strip().lower().rstrip(".")
        return self.zones.text(domain) if valid_hostname(domain) else None

    def count(self) -> int:
        return sum(1 for p in self.sites.iterdir() if (p / "space.json").exists())

    def ftp_account(self, login: str) -> Optional[FtpAccount]:
        """R28: the FTP account whose login is `login` (a hosted domain), or None: unknown, deleted
        or deprovisioned spaces have no account."""
        domain = (login or "").strip().lower().rstrip(".")
        if not valid_hostname(domain):
            return None
        meta = self._read_space(domain)
        htdocs = self.sites / domain / "htdocs"
        if meta is None or not htdocs.is_dir():
            return None
        return FtpAccount(domain, htdocs, meta.get("ftp_password_hash"), meta.get("state", "active"))

    # --- first use (R32) -------------------------------------------------------------------------

    def record_first_use(self, domain: str, usage: str, at: datetime) -> Optional[dict]:
        """R32: the first `usage` of a space ("ftp_login", "ftp_upload", "mailbox") is written to the
        outbox (then space.json), once per space and kind; returns the report, or None when that kind
        was already seen (or the space is gone). The report is sent by the agent (`pending_reports`)."""
        if usage not in FIRST_USES:
            raise ValueError(f"unknown first use {usage!r}")
        with self._lock:
            meta = self._read_space(domain)
            if meta is None:
                return None
            uses = dict(meta.get("first_uses") or {})
            if usage in uses:
                return None
            used_at = _utc(at).isoformat()
            report = {"contract_id": meta["contract_id"], "domain": domain, "usage": usage, "used_at": used_at}
            # Outbox first: a crash before space.json is written reports it again, never not at all.
            _write_atomically(self.outbox / f"{meta['contract_id']}~{usage}.json", json.dumps(report))
            self._write_space(domain, {**meta, "first_uses": {**uses, usage: used_at},
                                       "first_used_at": meta.get("first_used_at") or used_at})
        self.reports_ready.set()
        return report

    def pending_reports(self) -> list[tuple[str, dict]]:
        """The first-use reports not yet sent, oldest first, as (name, report)."""
        found = []
        for path in self.outbox.glob("*.json"):
            try:
                found.append((path.stat().st_mtime_ns, path.name, json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError):  # removed meanwhile (sent by another round)
                continue
        return [(name, report) for _, name, report in sorted(found, key=lambda entry: entry[:2])]

    def report_sent(self, name: str) -> None:
        (self.outbox / name).unlink(missing_ok=True)

    # --- commands ------------------------------------------------------------------------------

    def apply(self, command: Any) -> Outcome:
        if command.type == "ProvisionSpace":
            return self.provision(command)
        if command.type in STATES:
            return self.change_state(command)
        if command.type in ("DeleteSpaceData", "DeprovisionSpace"):
            return self.delete(command)
        if command.type == "ChangeSpace":
            return self.change(command)
        if command.type in ("SetDnsZone", "RemoveDnsZone"):
            return self.change_zone(command)
        raise CommandError(f"unsupported command {command.type}")

    def provision(self, command: Any) -> Outcome:
        """ProvisionSpace: directory, placeholder page naming the domain, quota and mailboxes
        recorded. Applied once per command id: a replay returns the journalled outcome."""
        with self._lock:
            if done := self._replay(command):
                return done
            domain = self._checked_domain(command)
            meta = self._read_space(domain)
            if meta is not None and meta["contract_id"] != command.contract_id:
                raise CommandError(f"{domain} is already hosted here for another contract")
            if command.contract_id in self._deleted_contracts(domain):
                raise CommandError(f"the data of contract {command.contract_id} on {domain} was deleted")
            space = self.sites / domain
            (space / "htdocs").mkdir(parents=True, exist_ok=True)
            for sub in ("logs", "mail", "databases"):
                (space / sub).mkdir(exist_ok=True)
            index = space / "htdocs" / "index.html"
            if not index.exists():  # never overwrite what the customer uploaded
                _write_atomically(index, PLACEHOLDER.format(domain=html.escape(domain)))
            # A new ProvisionSpace keeps the state (it never lifts a measure), the first uses (R32),
            # the FTP password when it carries none, and limits set by a newer ChangeSpace (R33).
            kept = {k: v for k, v in (meta or {}).items() if k in KEPT_KEYS}
            issued_at = _utc(command.issued_at)
            limits = {"quota_mb": command.quota_mb, "mailboxes": command.mailboxes,
                      "mysql_databases": command.mysql_databases}
            if "limits_issued_at" in kept and datetime.fromisoformat(kept["limits_issued_at"]) > issued_at:
                limits = {k: meta[k] for k in LIMIT_KEYS}
            else:
                kept.update(limits_issued_at=issued_at.isoformat(), limits_command_id=command.command_id)
            self._write_space(domain, {
                "contract_id": command.contract_id, "domain": domain, **limits, "php": command.php,
                "ftp_password_hash": command.ftp_password_hash or (meta or {}).get("ftp_password_hash"),
                "command_id": command.command_id, "state": "active", **kept})
            return self._record(command, Outcome("SpaceProvisioned", domain, command.contract_id, replayed=False))

    def change_state(self, command: Any) -> Outcome:
        """RestrictSpace, SuspendSpace, UnsuspendSpace (R19, R23, R49): record the space's state and
        reason; files are never touched (R20). The newest command by issued_at wins: an older one
        delivered late (say a suspension after its lifting) is answered but changes nothing."""
        values = {"state": STATES[command.type], "reason": getattr(command, "reason", None)}
        if command.type == "SuspendSpace" or getattr(command, "block_outgoing_mail", False):
            values["mail_outgoing"] = MAIL_BLOCKED  # R49: outgoing mail blocked (spam, 11.3)
        elif command.type == "UnsuspendSpace":
            values["mail_outgoing"] = MAIL_ALLOWED
        return self._apply_newest(command, "state", values)

    def change(self, command: Any) -> Outcome:
        """ChangeSpace (R33): the space's new quota, mailboxes and databases (absolute values); the
        state, files and FTP account are kept. The newest command by issued_at wins, as for states."""
        return self._apply_newest(command, "limits", {"quota_mb": command.quota_mb, "mailboxes": command.mailboxes,
                                                      "mysql_databases": command.mysql_databases})

    def _apply_newest(self, command: Any, aspect: str, values: dict) -> Outcome:
        """Set one aspect of a space (its state, its limits) from a command, once per command id;
        an older command for that aspect than the one applied last changes nothing (the space
        records `<aspect>_issued_at` and `<aspect>_command_id`)."""
        with self._lock:
            if done := self._replay(command):
                return done
            domain = self._checked_domain(command)
            meta = self._space_of(command, domain)
            issued_at = _utc(command.issued_at)
            stamp = f"{aspect}_issued_at"
            if meta is None:
                note = "already deleted"
            elif stamp in meta and datetime.fromisoformat(meta[stamp]) > issued_at:
                note = f"stale: older than the {aspect} set at {meta[stamp]}"
            else:
                self._write_space(domain, {**meta, **values, stamp: issued_at.isoformat(),
                                           f"{aspect}_command_id": command.command_id})
                note = ""
            return self._record(command, Outcome("CommandApplied", domain, command.contract_id, False, note))

    def change_zone(self, command: Any) -> Outcome:
        """SetDnsZone and RemoveDnsZone (R40): write or delete the domain's zone file, once per
        command id; no space is needed (a domain may be managed before its space exists). A zone of a
        lower serial than the one in force, or an older removal, is answered but changes nothing."""
        with self._lock:
            if done := self._replay(command):
                return done
            domain = self._checked_domain(command)
            try:
                note = (self.zones.set if command.type == "SetDnsZone" else self.zones.remove)(domain, command)
            except ZoneError as exc:
                raise CommandError(str(exc)) from None
            return self._record(command, Outcome("CommandApplied", domain, command.contract_id, False, note))

    def delete(self, command: Any) -> Outcome:
        """DeleteSpaceData (R20) and DeprovisionSpace (R13, a withdrawal): remove the whole space
        (site, databases, mail, logs, space.json and with it the FTP account). The deletion is
        recorded first, then the space is renamed into the trash in one atomic step (the site
        answers 404 and FTP refuses the login from then on) and removed; a redelivery after a crash
        finishes it. A later ProvisionSpace for the same contract is refused."""
        with self._lock:
            if done := self._replay(command):
                return done
            domain = self._checked_domain(command)
            meta = self._space_of(command, domain)
            if meta is not None:
                self._add_deleted_contract(domain, command.contract_id)
                os.rename(self.sites / domain, self.trash / f"{domain}~{uuid.uuid4().hex}")
            for leftover in self.trash.iterdir():
                shutil.rmtree(leftover)
            note = "" if meta is not None else "already deleted"
            return self._record(command, Outcome("CommandApplied", domain, command.contract_id, False, note))

    # --- helpers -------------------------------------------------------------------------------

    def _checked_domain(self, command: Any) -> str:
        domain = command.domain.lower()
        if not valid_hostname(domain):
            raise CommandError(f"invalid domain {command.domain!r}")
        if any(fnmatch.fnmatch(domain, pattern) for pattern in self.fail_domains):
            raise CommandError(f"fault injected for {domain}")
        return domain

    def _space_of(self, command: Any, domain: str) -> Optional[dict]:
        """The space.json of the command's contract, or None when that contract's data was deleted."""
        meta = self._read_space(domain)
        if meta is not None and meta["contract_id"] == command.contract_id:
            return meta
        if command.contract_id in self._deleted_contracts(domain):
            return None
        if meta is None:
            raise CommandError(f"no space for {domain}")
        raise CommandError(f"{domain} is hosted here for another contract, not {command.contract_id}")

    def _read_space(self, domain: str) -> Optional[dict]:
        try:
            return json.loads((self.sites / domain / "space.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def _write_space(self, domain: str, meta: dict) -> None:
        _write_atomically(self.sites / domain / "space.json", json.dumps(meta, indent=2))

    def _deleted_contracts(self, domain: str) -> list:
        tombstone = self.deleted / f"{domain}.json"
        return json.loads(tombstone.read_text(encoding="utf-8")) if tombstone.exists() else []

    def _add_deleted_contract(self, domain: str, contract_id: str) -> None:
        contracts = self._deleted_contracts(domain)
        if contract_id not in contracts:
            _write_atomically(self.deleted / f"{domain}.json", json.dumps(contracts + [contract_id]))

    def _replay(self, command: Any) -> Optional[Outcome]:
        entry = self.journal / f"{command.command_id}.json"
        if not entry.exists():
            return None
        done = json.loads(entry.read_text(encoding="utf-8"))
        return Outcome(done["kind"], done["domain"], done["contract_id"], replayed=True, note=done.get("note", ""))

    def _record(self, command: Any, outcome: Outcome) -> Outcome:
        _write_atomically(self.journal / f"{command.command_id}.json", json.dumps({
            "kind": outcome.kind, "type": command.type, "domain": outcome.domain,
            "contract_id": outcome.contract_id, "note": outcome.note}))
        return outcome
