"""R40: the node's authoritative DNS server (dnslib) for the zones of the managed domains.

It serves UDP and TCP on one port from `<root>/zones/*.zone` (master files written by the
SpaceStore), each parsed once and parsed again when the file changes (inode, size, mtime). Answers
carry the AA flag; a name outside every zone is REFUSED (this is no resolver); a name inside a zone
that does not exist is NXDOMAIN, and a name without the asked type an empty NOERROR, both with the
zone's SOA in the authority section (RFC 2308). A CNAME answers every type for its name.
"""
from __future__ import annotations

import errno
import logging
import threading
from dataclasses import dataclass, field
from typing import Optional

from dnslib import CLASS, EDNS0, OPCODE, QTYPE, RCODE, RR, DNSHeader, DNSRecord
from dnslib.server import DNSHandler, DNSLogger, DNSServer

from .dns_zones import ZONE_SUFFIX, ZoneStore
from .spaces import valid_hostname

log = logging.getLogger("nodeagent.dns")
MAX_CNAME_CHAIN = 8
QCLASS_ANY = 255  # dnslib names it "*"
UDP_PAYLOAD, EDNS_PAYLOAD = 512, 1232  # a UDP answer larger than the client takes is truncated (TC: retry in TCP)


@dataclass
class Zone:
    origin: str  # "shop.fr" (lower case, no trailing dot)
    soa: Optional[RR]
    names: dict[str, list[RR]] = field(default_factory=dict)  # owner (lower case, no dot) -> records

    def has_descendant(self, name: str) -> bool:
        """An empty non-terminal: `name` owns nothing but a longer name under it does (NOERROR)."""
        return any(owner.endswith("." + name) for owner in self.names)


def _key(label) -> str:
    return str(label).rstrip(".").lower()


def parse_zone(origin: str, text: str) -> Zone:
    zone = Zone(origin, None)
    for rr in RR.fromZone(text):
        if rr.rtype == QTYPE.SOA and zone.soa is None:
            zone.soa = rr
        zone.names.setdefault(_key(rr.rname), []).append(rr)
    return zone


class ZoneResolver:
    """dnslib resolver over a ZoneStore's directory, caching each parsed zone by file identity."""

    def __init__(self, zones: ZoneStore) -> None:
        self.directory = zones.directory
        self._cache: dict[str, tuple[tuple, Zone]] = {}
        self._lock = threading.Lock()

    def _zone(self, origin: str) -> Optional[Zone]:
        if not valid_hostname(origin):  # never a path outside the zones (a label may hold any byte)
            return None
        path = self.directory / f"{origin}{ZONE_SUFFIX}"
        try:
            stat = path.stat()
            identity = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            with self._lock:
                cached = self._cache.get(origin)
            if cached is not None and cached[0] == identity:
                return cached[1]
            zone = parse_zone(origin, path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            with self._lock:
                self._cache.pop(origin, None)
            return None
        except Exception as exc:  # a damaged file: not served (never crash the server)
            log.error("zone %s unreadable: %s", origin, exc)
            return None
        with self._lock:
            self._cache[origin] = (identity, zone)
        return zone

    def find_zone(self, name: str) -> Optional[Zone]:
        """The closest enclosing zone served here (the longest matching origin)."""
        labels = name.split(".")
        for start in range(len(labels) - 1):
            zone = self._zone(".".join(labels[start:]))
            if zone is not None:
                return zone
        return None

    def resolve(self, request: DNSRecord, handler) -> DNSRecord:
        reply = request.reply()
        reply.header.ra = 0
        if request.header.opcode != OPCODE.QUERY or not request.questions:
            reply.header.rcode = RCODE.NOTIMP if request.questions else RCODE.FORMERR
            return reply
        question = request.q
        name = _key(question.qname)
        zone = self.find_zone(name) if question.qclass in (CLASS.IN, QCLASS_ANY) and name else None
        if zone is None:
            reply.header.aa = 0
            reply.header.rcode = RCODE.REFUSED
            return reply
        reply.header.aa = 1
        qtype = question.qtype
        for _ in range(MAX_CNAME_CHAIN):
            records = zone.names.get(name)
            if records is None:
                if not reply.rr and not zone.has_descendant(name):
                    reply.header.rcode = RCODE.NXDOMAIN
                break
            cnames = [rr for rr in records if rr.rtype == QTYPE.CNAME]
            if cnames and qtype not in (QTYPE.CNAME, QTYPE.ANY):
                reply.add_answer(*cnames)
                name = _key(cnames[0].rdata.label)  # follow it while it stays in this zone
                if name != zone.origin and not name.endswith("." + zone.origin):
                    return reply
                continue
            answers = [rr for rr in records if qtype == QTYPE.ANY or rr.rtype == qtype]
            reply.add_answer(*answers)
            if qtype == QTYPE.MX:  # the in-zone addresses of the exchangers, to spare a query
                for mx in answers:
                    for rr in zone.names.get(_key(mx.rdata.label), []):
                        if rr.rtype in (QTYPE.A, QTYPE.AAAA):
                            reply.add_ar(rr)
            break
        if not any(rr.rtype == qtype or qtype == QTYPE.ANY for rr in reply.rr) and zone.soa is not None:
            # Negative answer (NXDOMAIN or no data): the SOA, with its minimum as TTL (RFC 2308).
            soa = zone.soa
            reply.add_auth(RR(soa.rname, QTYPE.SOA, CLASS.IN, min(soa.ttl, soa.rdata.times[-1]), soa.rdata))
        return reply


class _Handler(DNSHandler):
    """dnslib's handler, with UDP answers cut to what the client takes (512 bytes, or its EDNS size
    up to 1232) and the EDNS OPT record answered when the query had one."""

    def get_reply(self, data: bytes) -> bytes:
        request = DNSRecord.parse(data)
        reply = self.server.resolver.resolve(request, self)
        options = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
        limit = UDP_PAYLOAD
        if options:
            limit = max(UDP_PAYLOAD, min(options[0].rclass, EDNS_PAYLOAD))
            reply.add_ar(EDNS0(udp_len=EDNS_PAYLOAD))
        packed = reply.pack()
        if self.protocol == "udp" and len(packed) > limit:
            # The header (TC set) and the question, no records: the client asks again over TCP.
            truncated = DNSRecord(DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap), q=request.q)
            truncated.header.tc = 1
            packed = truncated.pack()
        return packed


class DnsService:
    """UDP and TCP DNS servers on the same port (0: a free port), each in a background thread."""

    def __init__(self, zones: ZoneStore, host: str = "127.0.0.1", port: int = 0) -> None:
        self.resolver = ZoneResolver(zones)
        quiet = DNSLogger(log="-request,-reply,-truncated", logf=log.debug)
        for attempt in range(20):
            udp = DNSServer(self.resolver, address=host, port=port, logger=quiet, handler=_Handler)
            chosen = udp.server.server_address[1]
            try:
                tcp = DNSServer(self.resolver, address=host, port=chosen, tcp=True, logger=quiet, handler=_Handler)
            except OSError as exc:
                udp.server.server_close()
                if port or exc.errno != errno.EADDRINUSE or attempt == 19:
                    raise
                continue  # the free UDP port is taken in TCP: try another
            break
        self.udp, self.tcp = udp, tcp
        self.host, self.port = host, chosen

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> "DnsService":
        self._threads = []
        for name, server in (("node-dns-udp", self.udp), ("node-dns-tcp", self.tcp)):
            thread = threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server, thread in zip((self.udp, self.tcp), getattr(self, "_threads", ())):
            if thread.is_alive():
                server.server.shutdown()
                thread.join(5)
        for server in (self.udp, self.tcp):
            server.server.server_close()
