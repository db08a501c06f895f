"""R40: the DNS zones this node serves for the domains the provider manages.

`<root>/zones/<domain>.zone` is the zone as an RFC 1035 master file (what the DNS server reads);
`<root>/zone-state/<domain>.json` records what set or removed it last (serial, issued_at, command
id), so a late older command changes nothing: the highest serial wins between two SetDnsZone (the
later issued_at on a tie), and the later issued_at wins between a SetDnsZone and a RemoveDnsZone.
The SpaceStore journals each command id (applied once, R30) and calls this under its lock.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from chalicelib.domain.dns_zones import DnsRecord, render_zone, validate_records
from chalicelib.domain.errors import InvalidInputError

ZONE_SUFFIX = ".zone"
# The node's own name server, named in each zone's SOA and NS (the node answers for it).
DEFAULT_PRIMARY_NS = "ns1.soho-node.invalid."


class ZoneError(Exception):
    """The zone cannot be applied (the SpaceStore turns it into a CommandError)."""


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class ZoneStore:
    def __init__(self, root: Path, primary_ns: str = DEFAULT_PRIMARY_NS) -> None:
        self.directory = Path(root) / "zones"
        self.state_directory = Path(root) / "zone-state"
        for directory in (self.directory, self.state_directory):
            directory.mkdir(parents=True, exist_ok=True)
        self.primary_ns = primary_ns

    # --- reading -------------------------------------------------------------------------------

    def path(self, domain: str) -> Path:
        return self.directory / f"{domain}{ZONE_SUFFIX}"

    def text(self, domain: str) -> Optional[str]:
        """The zone file of `domain` (an already checked host name), or None when none is served."""
        try:
            return self.path(domain).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def domains(self) -> list[str]:
        return sorted(p.name[:-len(ZONE_SUFFIX)] for p in self.directory.glob(f"*{ZONE_SUFFIX}")
                      if not p.name.startswith("."))

    def state(self, domain: str) -> Optional[dict]:
        try:
            return json.loads((self.state_directory / f"{domain}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    # --- changes (called under the SpaceStore's lock, once per command id) -----------------------

    def set(self, domain: str, command: Any) -> str:
        """SetDnsZone: validate the records, then write the zone unless a newer one is in force.
        Returns a note on why nothing changed ("" when the zone was written)."""
        records = tuple(DnsRecord(r.name, r.type, r.value, r.ttl, r.priority) for r in command.records)
        try:
            validate_records(domain, records)
        except InvalidInputError as exc:
            raise ZoneError(f"invalid zone for {domain}: {exc.message}") from None
        issued_at = _utc(command.issued_at)
        state = self.state(domain)
        if state is not None:
            stored_at = datetime.fromisoformat(state["issued_at"])
            if state.get("removed"):
                if stored_at > issued_at:
                    return f"stale: older than the removal at {state['issued_at']}"
            elif state["serial"] > command.serial or (state["serial"] == command.serial and stored_at > issued_at):
                return f"stale: serial {command.serial} is older than {state['serial']}"
        text = render_zone(domain, records, command.serial, self.primary_ns)
        # The state first: a crash before the zone is written is finished by the redelivery (same
        # serial and issued_at pass the check again).
        self._write_state(domain, {"serial": command.serial, "issued_at": issued_at.isoformat(),
                                   "command_id": command.command_id, "contract_id": command.contract_id,
                                   "removed": False})
        _write_atomically(self.path(domain), text)
        return ""

    def remove(self, domain: str, command: Any) -> str:
        """RemoveDnsZone: stop serving the zone, unless a later SetDnsZone is in force."""
        issued_at = _utc(command.issued_at)
        state = self.state(domain)
        if state is not None and datetime.fromisoformat(state["issued_at"]) > issued_at:
            return f"stale: older than the zone set at {state['issued_at']}"
        self._write_state(domain, {"serial": (state or {}).get("serial", 0), "issued_at": issued_at.isoformat(),
                                   "command_id": command.command_id, "contract_id": command.contract_id,
                                   "removed": True, "reason": command.reason})
        existed = self.path(domain).exists()
        self.path(domain).unlink(missing_ok=True)
        return "" if existed else "already removed"

    def _write_state(self, domain: str, state: dict) -> None:
        _write_atomically(self.state_directory / f"{domain}.json", json.dumps(state, indent=2))
