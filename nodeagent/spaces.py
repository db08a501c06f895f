"""Hosting spaces on this node's disk, applied idempotently on the command id (R30)."""
from __future__ import annotations

import fnmatch
import html
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")

PLACEHOLDER = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{domain}</title></head>
<body><h1>{domain}</h1><p>Votre espace d'h&eacute;bergement {domain} est pr&ecirc;t.</p></body></html>
"""


class CommandError(Exception):
    """The command cannot be applied on this node (the queue will retry it)."""


def valid_hostname(name: str) -> bool:
    return bool(_HOSTNAME.match(name))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Outcome:
    kind: str  # "SpaceProvisioned"
    domain: str
    contract_id: str
    replayed: bool


class SpaceStore:
    def __init__(self, root: Path, fail_domains: Sequence[str] = ()) -> None:
        self.root = Path(root)
        self.sites = self.root / "sites"
        self.journal = self.root / "journal"
        self.sites.mkdir(parents=True, exist_ok=True)
        self.journal.mkdir(parents=True, exist_ok=True)
        # Fault injection for tests and drills: commands for these domains (glob patterns) fail.
        self.fail_domains = tuple(p for p in fail_domains if p)
        self._lock = threading.Lock()

    def site_root(self, host: str) -> Optional[Path]:
        host = host.strip().lower().rstrip(".")
        if not valid_hostname(host):
            return None
        htdocs = self.sites / host / "htdocs"
        return htdocs if htdocs.is_dir() else None

    def count(self) -> int:
        return sum(1 for p in self.sites.iterdir() if (p / "space.json").exists())

    def provision(self, command: Any) -> Outcome:
        """ProvisionSpace: directory, placeholder page naming the domain, quota and mailboxes
        recorded. Applied once per command id: a replay returns the journalled outcome."""
        with self._lock:
            entry = self.journal / f"{command.command_id}.json"
            if entry.exists():
                done = json.loads(entry.read_text(encoding="utf-8"))
                return Outcome(done["kind"], done["domain"], done["contract_id"], replayed=True)
            domain = command.domain.lower()
            if not valid_hostname(domain):
                raise CommandError(f"invalid domain {command.domain!r}")
            if any(fnmatch.fnmatch(domain, pattern) for pattern in self.fail_domains):
                raise CommandError(f"fault injected for {domain}")
            space = self.sites / domain
            existing = space / "space.json"
            if existing.exists() and json.loads(existing.read_text())["contract_id"] != command.contract_id:
                raise CommandError(f"{domain} is already hosted here for another contract")
            (space / "htdocs").mkdir(parents=True, exist_ok=True)
            for sub in ("logs", "mail", "databases"):
                (space / sub).mkdir(exist_ok=True)
            index = space / "htdocs" / "index.html"
            if not index.exists():  # never overwrite what the customer uploaded
                _write_atomically(index, PLACEHOLDER.format(domain=html.escape(domain)))
            _write_atomically(existing, json.dumps({
                "contract_id": command.contract_id, "domain": domain, "quota_mb": command.quota_mb,
                "mailboxes": command.mailboxes, "mysql_databases": command.mysql_databases, "php": command.php,
                "command_id": command.command_id}, indent=2))
            _write_atomically(entry, json.dumps({"kind": "SpaceProvisioned", "domain": domain,
                                                 "contract_id": command.contract_id}))
            return Outcome("SpaceProvisioned", domain, command.contract_id, replayed=False)
