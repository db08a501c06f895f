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

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")

PLACEHOLDER = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{domain}</title></head>
<body><h1>{domain}</h1><p>Votre espace d'h&eacute;bergement {domain} est pr&ecirc;t.</p></body></html>
"""

# The state each state command puts a space in (R19, R23, R49). "restricted" is only recorded for now:
# the site is served as usual; FTP uploads and outgoing mail will read it once those daemons exist.
STATES = {"RestrictSpace": "restricted", "SuspendSpace": "suspended", "UnsuspendSpace": "active"}
STATE_KEYS = ("state", "reason", "state_issued_at", "state_command_id")  # in space.json


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


class SpaceStore:
    def __init__(self, root: Path, fail_domains: Sequence[str] = ()) -> None:
        self.root = Path(root)
        self.sites = self.root / "sites"
        self.journal = self.root / "journal"  # one entry per applied command id; never deleted
        self.deleted = self.root / "deleted"  # per domain, the contracts whose data was deleted (R20)
        self.trash = self.root / "trash"  # spaces renamed here atomically, then removed
        for directory in (self.sites, self.journal, self.deleted, self.trash):
            directory.mkdir(parents=True, exist_ok=True)
        # Fault injection for tests and drills: commands for these domains (glob patterns) fail.
        self.fail_domains = tuple(p for p in fail_domains if p)
        self._lock = threading.Lock()

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

    def count(self) -> int:
        return sum(1 for p in self.sites.iterdir() if (p / "space.json").exists())

    # --- commands ------------------------------------------------------------------------------

    def apply(self, command: Any) -> Outcome:
        if command.type == "ProvisionSpace":
            return self.provision(command)
        if command.type in STATES:
            return self.change_state(command)
        if command.type == "DeleteSpaceData":
            return self.delete(command)
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
            # A new ProvisionSpace (quota or options change) keeps the state: it never lifts a measure.
            kept = {k: v for k, v in (meta or {}).items() if k in STATE_KEYS}
            self._write_space(domain, {
                "contract_id": command.contract_id, "domain": domain, "quota_mb": command.quota_mb,
                "mailboxes": command.mailboxes, "mysql_databases": command.mysql_databases, "php": command.php,
                "command_id": command.command_id, "state": "active", **kept})
            return self._record(command, Outcome("SpaceProvisioned", domain, command.contract_id, replayed=False))

    def change_state(self, command: Any) -> Outcome:
        """RestrictSpace, SuspendSpace, UnsuspendSpace (R19, R23, R49): record the space's state and
        reason; files are never touched (R20). The newest command by issued_at wins: an older one
        delivered late (say a suspension after its lifting) is answered but changes nothing."""
        with self._lock:
            if done := self._replay(command):
                return done
            domain = self._checked_domain(command)
            meta = self._space_of(command, domain)
            issued_at = _utc(command.issued_at)
            if meta is None:
                note = "already deleted"
            elif "state_issued_at" in meta and datetime.fromisoformat(meta["state_issued_at"]) > issued_at:
                note = f"stale: older than the state set at {meta['state_issued_at']}"
            else:
                self._write_space(domain, {**meta, "state": STATES[command.type],
                                           "reason": getattr(command, "reason", None),
                                           "state_issued_at": issued_at.isoformat(),
                                           "state_command_id": command.command_id})
                note = ""
            return self._record(command, Outcome("CommandApplied", domain, command.contract_id, False, note))

    def delete(self, command: Any) -> Outcome:
        """DeleteSpaceData (R20): remove the whole space (site, databases, mail, logs, space.json).
        The deletion is recorded first, then the space is renamed into the trash in one atomic step
        (the site answers 404 from then on) and removed; a redelivery after a crash finishes it."""
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
