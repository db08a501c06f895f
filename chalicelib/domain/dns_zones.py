"""R40 (domain management): during the contract the provider manages the domain's DNS zone.

Pure Python: the records of a zone, the zone a new contract starts with, their validation, the
zone's serial and its RFC 1035 master-file text. The back office validates and sends the records
(`SetDnsZone`); the node agent validates them again, renders the file and serves it over DNS.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Optional, Sequence

from .errors import InvalidInputError

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS")
MAX_RECORDS = 50
MIN_TTL, MAX_TTL, DEFAULT_TTL = 60, 86400, 3600
MAX_TXT_LENGTH = 255  # one <character-string> (RFC 1035 3.3); a record holds one string here
DEFAULT_SPF = "v=spf1 a mx -all"
# SOA timers of every zone (seconds): refresh, retry, expire, negative-answer TTL (RFC 2308).
SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, SOA_MINIMUM = 3600, 900, 1209600, 300
MAX_SERIAL = 2**32 - 1

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")
# A name inside the zone: "@" (the apex) or dotted labels; service labels may start with "_"
# ("_dmarc", "sel._domainkey"). No wildcards.
_OWNER_LABEL = re.compile(r"^(?=.{1,63}$)_?[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$")


@dataclass(frozen=True)
class DnsRecord:
    """One record of a zone. `name` is relative to the zone ("@", "www", "mail"); `value` is an
    address (A, AAAA), an absolute host name, trailing dot optional (CNAME, MX, NS) or the text
    itself, unquoted (TXT); `priority` is for MX only."""
    name: str
    type: str
    value: str
    ttl: int = DEFAULT_TTL
    priority: Optional[int] = None


def _fqdn(name: str) -> str:
    return name.rstrip(".").lower() + "."


def default_zone(domain: str, web_ipv4: str, mail_host: Optional[str] = None) -> tuple[DnsRecord, ...]:
    """R40: the zone a managed domain starts with: the site and mail on the hosting node
    (`web_ipv4`), `www` pointing at the domain, the domain's mail exchanger (`mail.<domain>` unless
    `mail_host` names another host) and an SPF record allowing the domain's own A and MX hosts."""
    domain = domain.rstrip(".").lower()
    return (
        DnsRecord("@", "A", web_ipv4),
        DnsRecord("www", "CNAME", _fqdn(domain)),
        DnsRecord("mail", "A", web_ipv4),
        DnsRecord("@", "MX", _fqdn(mail_host or f"mail.{domain}"), priority=10),
        DnsRecord("@", "TXT", DEFAULT_SPF),
    )


def valid_hostname(name: str) -> bool:
    """An absolute host name of two labels or more, not all digits at the end (no IPv4 address);
    a trailing dot is allowed."""
    name = name[:-1] if name.endswith(".") else name
    return bool(_HOSTNAME.match(name)) and not name.rsplit(".", 1)[-1].isdigit()


def _valid_owner(name: str) -> bool:
    return name == "@" or all(_OWNER_LABEL.match(label) for label in name.split("."))


def _owner(domain: str, name: str) -> str:
    return domain if name == "@" else f"{name}.{domain}"


def _bad(index: int, field: str, message: str, code: str = "invalid_dns_record") -> InvalidInputError:
    return InvalidInputError(f"record {index}: {message}", code=code, fields={f"records[{index}].{field}": message})


def validate_records(domain: str, records: Sequence[DnsRecord]) -> None:
    """R40: refuse a zone that the node could not serve as given: InvalidInputError naming the
    record at fault (`records[i].field`). Names are lower case and relative to the zone."""
    domain = (domain or "").rstrip(".")
    if not valid_hostname(domain) or domain != domain.lower():
        raise InvalidInputError(f"invalid domain {domain!r}", code="invalid_dns_domain",
                                fields={"domain": "not a lower-case host name"})
    if len(records) > MAX_RECORDS:
        raise InvalidInputError(f"a zone holds at most {MAX_RECORDS} records, not {len(records)}",
                                code="too_many_dns_records", fields={"records": f"at most {MAX_RECORDS}"})
    types_by_name: dict[str, list[str]] = {}
    seen: set[tuple] = set()
    for index, record in enumerate(records):
        name, kind, value = record.name, record.type, record.value
        if not isinstance(name, str) or not _valid_owner(name) or len(_owner(domain, name)) > 253:
            raise _bad(index, "name", f"invalid name {name!r}: '@' or lower-case labels relative to the zone")
        if kind not in RECORD_TYPES:
            raise _bad(index, "type", f"unsupported type {kind!r} (one of {', '.join(RECORD_TYPES)})")
        if isinstance(record.ttl, bool) or not isinstance(record.ttl, int) or not MIN_TTL <= record.ttl <= MAX_TTL:
            raise _bad(index, "ttl", f"ttl must be between {MIN_TTL} and {MAX_TTL} seconds")
        if kind == "MX":
            if isinstance(record.priority, bool) or not isinstance(record.priority, int) \
                    or not 0 <= record.priority <= 65535:
                raise _bad(index, "priority", "an MX record needs a priority between 0 and 65535")
        elif record.priority is not None:
            raise _bad(index, "priority", "only an MX record has a priority")
        if not isinstance(value, str) or not value:
            raise _bad(index, "value", "a value is required")
        if kind == "A":
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise _bad(index, "value", f"{value!r} is not an IPv4 address") from None
        elif kind == "AAAA":
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                raise _bad(index, "value", f"{value!r} is not an IPv6 address") from None
        elif kind in ("CNAME", "MX", "NS"):
            if not valid_hostname(value):
                raise _bad(index, "value", f"{value!r} is not a host name")
        elif kind == "TXT":
            if len(value) > MAX_TXT_LENGTH:
                raise _bad(index, "value", f"a TXT string holds at most {MAX_TXT_LENGTH} characters")
            if any(not 32 <= ord(c) <= 126 for c in value):
                raise _bad(index, "value", "a TXT value is printable ASCII text")
        if kind == "CNAME" and name == "@":
            raise _bad(index, "name", "a CNAME cannot be at the zone apex (it holds the SOA and NS)",
                       code="dns_cname_conflict")
        key = (name, kind, _fqdn(value) if kind in ("CNAME", "MX", "NS") else value, record.priority)
        if key in seen:
            raise _bad(index, "value", "the same record is given twice", code="duplicate_dns_record")
        seen.add(key)
        others = types_by_name.setdefault(name, [])
        if others and ("CNAME" in others or kind == "CNAME"):
            raise _bad(index, "type", f"a CNAME cannot coexist with other records of {name!r}",
                       code="dns_cname_conflict")
        others.append(kind)


def zone_serial(moment: datetime, after: Optional[int] = None) -> int:
    """The zone serial for a change made at `moment` (UTC), YYYYMMDDnn: nn counts hundredths of
    the day (14.4 minutes each), so serials grow with time. With `after` (the serial in force), the
    result is always greater, even for two changes in the same hundredth of a day."""
    utc = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    nn = (utc.hour * 3600 + utc.minute * 60 + utc.second) * 100 // 86400
    serial = int(utc.strftime("%Y%m%d")) * 100 + nn
    if after is not None and serial <= after:
        serial = after + 1
    if serial > MAX_SERIAL:
        raise ValueError(f"serial {serial} exceeds 32 bits")
    return serial


def _txt(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rdata(record: DnsRecord) -> str:
    if record.type in ("CNAME", "NS"):
        return _fqdn(record.value)
    if record.type == "MX":
        return f"{record.priority} {_fqdn(record.value)}"
    if record.type == "TXT":
        return _txt(record.value)
    return record.value


def render_zone(domain: str, records: Iterable[DnsRecord], serial: int, primary_ns: str,
                hostmaster: Optional[str] = None) -> str:
    """The zone as an RFC 1035 master file: $ORIGIN, $TTL, the SOA (primary name server,
    `hostmaster` mailbox, by default hostmaster.<domain>), the primary NS, then the records."""
    origin = _fqdn(domain)
    ns = _fqdn(primary_ns)
    rname = _fqdn(hostmaster or f"hostmaster.{origin}")
    lines = [
        f"; zone {origin} managed by the provider (R40); serial {serial}",
        f"$ORIGIN {origin}",
        f"$TTL {DEFAULT_TTL}",
        f"@\tIN\tSOA\t{ns} {rname} ( {serial} {SOA_REFRESH} {SOA_RETRY} {SOA_EXPIRE} {SOA_MINIMUM} )",
        f"@\tIN\tNS\t{ns}",
    ]
    for record in records:
        if record.name == "@" and record.type == "NS" and _fqdn(record.value) == ns:
            continue  # already there
        lines.append(f"{record.name}\t{record.ttl}\tIN\t{record.type}\t{_rdata(record)}")
    return "\n".join(lines) + "\n"
