"""The local EPP test registry (R35-R42): a real EPP server over TLS on 127.0.0.1, for devstack and tests.

It speaks RFC 5730-5734 (framing, greeting, login/logout, domain check/info/create/renew/transfer/
delete, contact create, poll req/ack) like a registry would, with a CA and a server certificate
it generates once in its state directory (`ca.pem` is what clients trust). Registrations are
asynchronous (R37): a create answers 1001 and the result comes later as a poll message. Transfers
(R38/R39) wait for the losing registrar; the control API plays the other registrars.

Control API (JSON over HTTP on 127.0.0.1):
  GET  /control/health
  POST /control/refuse               {"domain", "reason"}   the next create of that name is refused
  POST /control/domains              {"name", "registrar", "created_at", "expires_at", "auth_code",
                                      "registrant"?}        seed an existing domain
  GET  /control/domains              GET /control/domains/<name>
  POST /control/transfers/<name>/approve | /reject          as the losing registrar
  POST /control/transfer-request     {"domain", "registrar"?}  another registrar asks for a domain
  POST /control/auto-approve         {"seconds": N | null}   pending transfers server-approved after N s
  POST /control/faults               {"drop_next": N}        the next N EPP commands get no answer

CLI: python -m devstack.epp_registry --state-dir DIR [--port P] [--control-port C]
prints one JSON line {"epp", "control", "ca_file"} when ready, then runs until SIGTERM/SIGINT.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import ipaddress
import itertools
import json
import secrets
import signal
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

from lxml import etree

from chalicelib.adapters.epp import (CONTACT_NS, DOMAIN_NS, EPP_NS, FRNIC_NS, format_datetime, frame,
                                     frame_length, hardened_parser, parse_datetime)

HOST = "127.0.0.1"
DEFAULT_PASSWORD = "epp-local-dev"
DEFAULT_CLIENTS = {client: DEFAULT_PASSWORD
                   for client in ("soho-afnic", "soho-eurid", "soho-netsol", "soho-sub", "other-registrar")}
AFNIC_CLIENT = "soho-afnic"
OTHER_REGISTRAR = "other-registrar"
TRANSFER_ACTION_DAYS = 5
MAX_COMMAND_BYTES = 1024 * 1024

MESSAGES = {
    1000: "Command completed successfully",
    1001: "Command completed successfully; action pending",
    1300: "Command completed successfully; no messages",
    1301: "Command completed successfully; ack to dequeue",
    1500: "Command completed successfully; ending session",
    2001: "Command syntax error",
    2002: "Command use error",
    2004: "Parameter value range error",
    2005: "Parameter value syntax error",
    2101: "Unimplemented command",
    2200: "Authentication error",
    2201: "Authorization error",
    2202: "Invalid authorization information",
    2300: "Object pending transfer",
    2301: "Object not pending transfer",
    2302: "Object exists",
    2303: "Object does not exist",
    2304: "Object status prohibits operation",
    2306: "Parameter value policy error",
}
Node = etree._Element
NS = {"epp": EPP_NS, "domain": DOMAIN_NS, "contact": CONTACT_NS, "frnic": FRNIC_NS}


# ---------------------------------------------------------------- certificates

@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path


def ensure_certificates(state_dir: Path) -> Certificates:
    """A CA and a server certificate for 127.0.0.1 / localhost, generated once into `state_dir`."""
    state_dir = Path(state_dir)
    certs = Certificates(state_dir / "ca.pem", state_dir / "server.pem", state_dir / "server.key")
    if certs.ca_file.exists() and certs.cert_file.exists() and certs.key_file.exists():
        return certs
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    state_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"soho local EPP registry CA {secrets.token_hex(4)}")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    certs.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    certs.key_file.chmod(0o600)
    certs.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certs.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return certs


# ---------------------------------------------------------------- state

class _SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


class BackOfficeClock:
    """The back office's clock in local mode (real time plus the time-travel offset every process
    shares through the meta table, chalicelib.adapters.clock.OffsetClock), so the dates the
    registry gives (creation, expiry) agree with the back office's after a time travel. It reads
    DynamoDB, never the API (a busy API must not slow the registry down); while the table does not
    exist yet (the registry starts first) or cannot be read, it keeps the last offset known."""

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._offset = dt.timedelta(0)
        self._read_at = float("-inf")
        self._store: Any = None

    def now(self) -> dt.datetime:
        import time
        if time.monotonic() - self._read_at > self.ttl:
            self._read_at = time.monotonic()
            try:
                if self._store is None:
                    from chalicelib.adapters.dynamo_store import DynamoStore
                    from chalicelib.config import Settings
                    self._store = DynamoStore(region=Settings.from_env().region)
                self._offset = dt.timedelta(seconds=self._store.clock_offset_seconds())
            except Exception:  # not bootstrapped yet, or the emulator restarting: keep the last offset
                pass
        return dt.datetime.now(dt.timezone.utc) + self._offset


def add_years(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


@dataclass
class Transfer:
    requester: str
    losing: str
    requested_at: dt.datetime
    deadline: dt.datetime
    years: int
    status: str = "pending"
    requested_monotonic: float = field(default_factory=time.monotonic)


@dataclass
class Domain:
    name: str
    registrar: str
    created_at: dt.datetime
    expires_at: dt.datetime
    auth_code: str
    registrant: Optional[str] = None
    statuses: set[str] = field(default_factory=lambda: {"ok"})
    transfer: Optional[Transfer] = None     # the last transfer (pending or done)
    roid: str = field(default_factory=lambda: f"D{secrets.token_hex(5).upper()}-LOCAL")

    @property
    def pending_transfer(self) -> Optional[Transfer]:
        return self.transfer if self.transfer is not None and self.transfer.status == "pending" else None

    def as_json(self) -> dict[str, Any]:
        pending = self.pending_transfer
        return {"name": self.name, "registrar": self.registrar, "created_at": self.created_at.isoformat(),
                "expires_at": self.expires_at.isoformat(), "auth_code": self.auth_code,
                "registrant": self.registrant, "statuses": sorted(self.statuses),
                "pending_transfer": None if pending is None else {
                    "requester": pending.requester, "losing": pending.losing,
                    "requested_at": pending.requested_at.isoformat(), "deadline": pending.deadline.isoformat()}}


@dataclass
class PendingCreate:
    client: str
    client_trid: str
    server_trid: str
    refusal: Optional[str]
    due_monotonic: float


@dataclass
class Message:
    message_id: str
    queued_at: dt.datetime
    text: str
    res_data: Optional[etree._Element]


class EppError(Exception):
    def __init__(self, code: int, reason: Optional[str] = None) -> None:
        super().__init__(f"{code} {reason or ''}")
        self.code, self.reason = code, reason


class ControlError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


def _d(parent: etree._Element, tag: str, text: Optional[str] = None, ns: str = DOMAIN_NS,
       **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _data(tag: str) -> etree._Element:
    return etree.Element(f"{{{DOMAIN_NS}}}{tag}", nsmap={"domain": DOMAIN_NS})


class Registry:
    """The registry's objects and rules, thread-safe; one poll queue per client id."""

    def __init__(self, clients: dict[str, str], clock: Any, create_delay_seconds: float) -> None:
        self.clients = clients
        self.clock = clock
        self.create_delay_seconds = create_delay_seconds
        self.lock = threading.RLock()
        self.domains: dict[str, Domain] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, list[Message]] = {client: [] for client in clients}
        self.refusals: dict[str, str] = {}
        self.pending_creates: dict[str, PendingCreate] = {}
        self.auto_approve_seconds: Optional[float] = None
        self.drop_next = 0
        self._message_ids = itertools.count(1)
        self._sv_ids = itertools.count(1)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def server_trid(self) -> str:
        return f"LOCAL-{next(self._sv_ids):08d}"

    def queue(self, client: str, text: str, res_data: Optional[etree._Element]) -> None:
        with self.lock:
            self.queues.setdefault(client, []).append(
                Message(str(next(self._message_ids)), self.now(), text, res_data))

    @staticmethod
    def trn_data(domain: Domain, transfer: Transfer) -> etree._Element:
        data = _data("trnData")
        _d(data, "name", domain.name)
        _d(data, "trStatus", transfer.status)
        _d(data, "reID", transfer.requester)
        _d(data, "reDate", format_datetime(transfer.requested_at))
        _d(data, "acID", transfer.losing)
        _d(data, "acDate", format_datetime(transfer.deadline))
        _d(data, "exDate", format_datetime(domain.expires_at))
        return data

    def domain(self, name: str) -> Domain:
        found = self.domains.get(name.lower())
        if found is None:
            raise EppError(2303, f"{name} is not registered")
        return found

    # -- transfers shared by EPP and the control API

    def request_transfer(self, domain: Domain, requester: str, years: int = 1) -> Transfer:
        now = self.now()
        transfer = Transfer(requester=requester, losing=domain.registrar, requested_at=now,
                            deadline=now + dt.timedelta(days=TRANSFER_ACTION_DAYS), years=years)
        domain.transfer = transfer
        domain.statuses.add("pendingTransfer")
        self.queue(domain.registrar, f"Transfer of {domain.name} requested by {requester}",
                   self.trn_data(domain, transfer))
        return transfer

    def finish_transfer(self, domain: Domain, status: str) -> Transfer:
        """clientApproved | clientRejected (a message to the requester) | serverApproved (to both)."""
        transfer = domain.pending_transfer
        assert transfer is not None
        transfer.status = status
        domain.statuses.discard("pendingTransfer")
        if status in {"clientApproved", "serverApproved"}:
            domain.registrar = transfer.requester
            domain.expires_at = add_years(domain.expires_at, transfer.years)
            domain.auth_code = secrets.token_urlsafe(10)
        verb = "rejected" if status == "clientRejected" else "approved"
        self.queue(transfer.requester, f"Transfer of {domain.name} {verb} ({status})",
                   self.trn_data(domain, transfer))
        if status == "serverApproved":
            self.queue(transfer.losing, f"Transfer of {domain.name} approved by the registry ({status})",
                       self.trn_data(domain, transfer))
        return transfer

    def tick(self) -> None:
        """Resolve due pending creates (R37) and auto-approve due transfers."""
        with self.lock:
            now_mono = time.monotonic()
            for name, pending in list(self.pending_creates.items()):
                if pending.due_monotonic > now_mono:
                    continue
                del self.pending_creates[name]
                domain = self.domains.get(name)
                if domain is None:
                    continue
                pan = _data("panData")
                _d(pan, "name", name, paResult="0" if pending.refusal else "1")
                trid = _d(pan, "paTRID")
                _d(trid, "clTRID", pending.client_trid, ns=EPP_NS)
                _d(trid, "svTRID", pending.server_trid, ns=EPP_NS)
                _d(pan, "paDate", format_datetime(self.now()))
                if pending.refusal:
                    del self.domains[name]
                    text = f"Registration of {name} refused: {pending.refusal}"
                else:
                    domain.statuses = {"ok"}
                    text = f"Registration of {name} completed"
                self.queue(pending.client, text, pan)
            if self.auto_approve_seconds is not None:
                for domain in self.domains.values():
                    transfer = domain.pending_transfer
                    if transfer is not None and now_mono - transfer.requested_monotonic >= self.auto_approve_seconds:
                        self.finish_transfer(domain, "serverApproved")


class Session:
    """One EPP connection: the commands of RFC 5730-5733 on the shared Registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.client: Optional[str] = None

    # -- responses

    def response(self, code: int, cltrid: Optional[str], *, reason: Optional[str] = None,
                 res_data: Optional[etree._Element] = None, message: Optional[Message] = None,
                 queue_count: Optional[int] = None, queue_id: Optional[str] = None,
                 server_trid: Optional[str] = None) -> bytes:
        epp = etree.Element(f"{{{EPP_NS}}}epp", nsmap={None: EPP_NS})
        response = _d(epp, "response", ns=EPP_NS)
        result = _d(response, "result", ns=EPP_NS, code=str(code))
        _d(result, "msg", MESSAGES.get(code, "Command failed"), ns=EPP_NS)
        if reason:
            ext = _d(result, "extValue", ns=EPP_NS)
            _d(ext, "value", ns=EPP_NS)
            _d(ext, "reason", reason, ns=EPP_NS)
        if message is not None:
            msgq = _d(response, "msgQ", ns=EPP_NS, count=str(queue_count), id=message.message_id)
            _d(msgq, "qDate", format_datetime(message.queued_at), ns=EPP_NS)
            _d(msgq, "msg", message.text, ns=EPP_NS)
        elif queue_count:
            _d(response, "msgQ", ns=EPP_NS, count=str(queue_count), id=queue_id or "")
        if res_data is not None:
            _d(response, "resData", ns=EPP_NS).append(copy.deepcopy(res_data))
        trid = _d(response, "trID", ns=EPP_NS)
        if cltrid:
            _d(trid, "clTRID", cltrid, ns=EPP_NS)
        _d(trid, "svTRID", server_trid or self.registry.server_trid(), ns=EPP_NS)
        return etree.tostring(epp, xml_declaration=True, encoding="UTF-8", standalone=False)

    def greeting(self) -> bytes:
        epp = etree.Element(f"{{{EPP_NS}}}epp", nsmap={None: EPP_NS})
        greeting = _d(epp, "greeting", ns=EPP_NS)
        _d(greeting, "svID", "soho local EPP registry", ns=EPP_NS)
        _d(greeting, "svDate", format_datetime(self.registry.now()), ns=EPP_NS)
        menu = _d(greeting, "svcMenu", ns=EPP_NS)
        _d(menu, "version", "1.0", ns=EPP_NS)
        _d(menu, "lang", "en", ns=EPP_NS)
        _d(menu, "objURI", DOMAIN_NS, ns=EPP_NS)
        _d(menu, "objURI", CONTACT_NS, ns=EPP_NS)
        _d(_d(menu, "svcExtension", ns=EPP_NS), "extURI", FRNIC_NS, ns=EPP_NS)
        dcp = _d(greeting, "dcp", ns=EPP_NS)
        _d(_d(dcp, "access", ns=EPP_NS), "all", ns=EPP_NS)
        stmt = _d(dcp, "statement", ns=EPP_NS)
        _d(_d(stmt, "purpose", ns=EPP_NS), "prov", ns=EPP_NS)
        _d(_d(stmt, "recipient", ns=EPP_NS), "ours", ns=EPP_NS)
        _d(_d(stmt, "retention", ns=EPP_NS), "stated", ns=EPP_NS)
        return etree.tostring(epp, xml_declaration=True, encoding="UTF-8", standalone=False)

    # -- dispatch

    def handle(self, data: bytes) -> tuple[Optional[bytes], bool]:
        """The answer to one frame (None: drop the connection) and whether to close afterwards."""
        try:
            root = etree.fromstring(data, hardened_parser())
        except etree.XMLSyntaxError as exc:
            return self.response(2001, None, reason=f"malformed XML: {exc}"), False
        if root.tag != f"{{{EPP_NS}}}epp" or len(root) != 1:
            return self.response(2001, None, reason="not an EPP document"), False
        element = root[0]
        if element.tag == f"{{{EPP_NS}}}hello":
            return self.greeting(), False
        if element.tag != f"{{{EPP_NS}}}command":
            return self.response(2001, None, reason=f"unexpected element {etree.QName(element).localname}"), False
        cltrid_element = element.find("epp:clTRID", NS)
        cltrid = cltrid_element.text.strip() if cltrid_element is not None and cltrid_element.text else None
        with self.registry.lock:
            if self.registry.drop_next > 0:
                self.registry.drop_next -= 1
                return None, True
        verbs = [child for child in element if child.tag not in {f"{{{EPP_NS}}}extension", f"{{{EPP_NS}}}clTRID"}]
        if len(verbs) != 1 or etree.QName(verbs[0]).namespace != EPP_NS:
            return self.response(2001, cltrid, reason="a command holds exactly one EPP verb"), False
        verb = verbs[0]
        extension = element.find("epp:extension", NS)
        name = etree.QName(verb).localname
        try:
            if name == "login":
                return self.login(verb, cltrid), False
            if self.client is None:
                raise EppError(2002, "log in first")
            if name == "logout":
                return self.response(1500, cltrid), True
            handler = getattr(self, f"cmd_{name}", None)
            if handler is None:
                raise EppError(2101, f"{name} is not implemented")
            with self.registry.lock:
                return handler(verb, extension, cltrid), False
        except EppError as error:
            return self.response(error.code, cltrid, reason=error.reason), False

    def login(self, verb: etree._Element, cltrid: Optional[str]) -> bytes:
        if self.client is not None:
            raise EppError(2002, "already logged in")
        client_id = (verb.findtext("epp:clID", namespaces=NS) or "").strip()
        password = verb.findtext("epp:pw", namespaces=NS) or ""
        expected = self.registry.clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected.encode(), password.encode()):
            raise EppError(2200, "unknown client or wrong password")
        self.client = client_id
        return self.response(1000, cltrid)

    @staticmethod
    def _object(verb: etree._Element, ns: str) -> etree._Element:
        obj = verb.find(f"{{{ns}}}{etree.QName(verb).localname}")
        if obj is None:
            if len(verb) and etree.QName(verb[0]).namespace not in {DOMAIN_NS, CONTACT_NS}:
                raise EppError(2101, f"object {etree.QName(verb[0]).namespace} is not implemented")
            if len(verb) and etree.QName(verb[0]).namespace != ns:
                raise EppError(2101, f"{etree.QName(verb).localname} of this object is not implemented")
            raise EppError(2001, "missing object element")
        return obj

    @staticmethod
    def _name(obj: etree._Element) -> str:
        name = (obj.findtext("domain:name", namespaces=NS) or "").strip().lower()
        if not name:
            raise EppError(2001, "missing domain:name")
        return name

    @staticmethod
    def _years(obj: etree._Element, default: int = 1) -> int:
        period = obj.find("domain:period", NS)
        if period is None:
            return default
        try:
            years = int((period.text or "").strip())
        except ValueError:
            raise EppError(2005, "period must be an integer") from None
        if period.get("unit", "y") == "m":
            years, remainder = divmod(years, 12)
            if remainder:
                raise EppError(2004, "periods are whole years")
        if not 1 <= years <= 10:
            raise EppError(2004, "period must be 1 to 10 years")
        return years

    def _sponsor(self, domain: Domain) -> None:
        if domain.registrar != self.client:
            raise EppError(2201, f"{domain.name} is sponsored by another registrar")

    # -- commands

    def cmd_check(self, verb: Node, extension: Optional[Node], cltrid: Optional[str]) -> bytes:
        obj = self._object(verb, DOMAIN_NS)
        data = _data("chkData")
        for element in obj.iterfind("domain:name", NS):
            name = (element.text or "").strip().lower()
            cd = _d(data, "cd")
            taken = name in self.registry.domains
            _d(cd, "name", name, avail="0" if taken else "1")
            if taken:
                _d(cd, "reason", "In use")
        return self.response(1000, cltrid, res_data=data)

    def cmd_info(self, verb: Node, extension: Optional[Node], cltrid: Optional[str]) -> bytes:
        obj = self._object(verb, DOMAIN_NS)
        domain = self.registry.domain(self._name(obj))
        given = obj.findtext("domain:authInfo/domain:pw", namespaces=NS)
        data = _data("infData")
        _d(data, "name", domain.name)
        _d(data, "roid", domain.roid)
        for status in sorted(domain.statuses):
            _d(data, "status", s=status)
        if domain.registrant:
            _d(data, "registrant", domain.registrant)
        _d(data, "clID", domain.registrar)
        _d(data, "crID", domain.registrar)
        _d(data, "crDate", format_datetime(domain.created_at))
        _d(data, "exDate", format_datetime(domain.expires_at))
        if domain.registrar == self.client or (given and secrets.compare_digest(given, domain.auth_code)):
            _d(_d(data, "authInfo"), "pw", domain.auth_code)
        return self.response(1000, cltrid, res_data=data)

    def cmd_create(self, verb: Node, extension: Optional[Node], cltrid: Optional[str]) -> bytes:
        if verb.find(f"{{{CONTACT_NS}}}create") is not None:
            return self.contact_create(verb.find(f"{{{CONTACT_NS}}}create"), extension, cltrid)
        obj = self._object(verb, DOMAIN_NS)
        name = self._name(obj)
        registry = self.registry
        if name in registry.domains:
            raise EppError(2302, f"{name} is already registered")
        years = self._years(obj)
        registrant = (obj.findtext("domain:registrant", namespaces=NS) or "").strip()
        if not registrant or registrant not in registry.contacts:
            raise EppError(2303, f"registrant contact {registrant or '(none)'} does not exist")
        auth_code = (obj.findtext("domain:authInfo/domain:pw", namespaces=NS) or "").strip()
        if not auth_code:
            raise EppError(2001, "missing domain:authInfo")
        now = registry.now()
        domain = Domain(name=name, registrar=self.client, created_at=now, expires_at=add_years(now, years),
                        auth_code=auth_code, registrant=registrant, statuses={"pendingCreate"})
        registry.domains[name] = domain
        server_trid = registry.server_trid()
        registry.pending_creates[name] = PendingCreate(
            client=self.client, client_trid=cltrid or "", server_trid=server_trid,
            refusal=registry.refusals.pop(name, None),
            due_monotonic=time.monotonic() + registry.create_delay_seconds)
        return self.response(1001, cltrid, res_data=self._cre_data(domain), server_trid=server_trid)

    @staticmethod
    def _cre_data(domain: Domain) -> etree._Element:
        data = _data("creData")
        _d(data, "name", domain.name)
        _d(data, "crDate", format_datetime(domain.created_at))
        _d(data, "exDate", format_datetime(domain.expires_at))
        return data

    def contact_create(self, obj: etree._Element, extension: Optional[etree._Element],
                       cltrid: Optional[str]) -> bytes:
        contact_id = (obj.findtext("contact:id", namespaces=NS) or "").strip()
        if not contact_id:
            raise EppError(2001, "missing contact:id")
        if contact_id in self.registry.contacts:
            raise EppError(2302, f"contact {contact_id} exists")
        org = (obj.findtext("contact:postalInfo/contact:org", namespaces=NS) or "").strip()
        siren = ""
        if extension is not None:
            siren = (extension.findtext(".//frnic:siren", namespaces=NS) or "").strip()
        if self.client == AFNIC_CLIENT and org and not siren:
            raise EppError(2306, "a company holder (org) needs its SIREN in the frnic extension")
        if siren and not (siren.isdigit() and len(siren) == 9):
            raise EppError(2306, "a SIREN has 9 digits")
        self.registry.contacts[contact_id] = {
            "id": contact_id, "sponsor": self.client, "org": org or None, "siren": siren or None,
            "name": obj.findtext("contact:postalInfo/contact:name", namespaces=NS),
            "email": obj.findtext("contact:email", namespaces=NS)}
        data = etree.Element(f"{{{CONTACT_NS}}}creData", nsmap={"contact": CONTACT_NS})
        _d(data, "id", contact_id, ns=CONTACT_NS)
        _d(data, "crDate", format_datetime(self.registry.now()), ns=CONTACT_NS)
        return self.response(1000, cltrid, res_data=data)

    def cmd_renew(self, verb: Node, extension: Optional[Node], cltrid: Optional[str]) -> bytes:
        obj = self._object(verb, DOMAIN_NS)
        domain = self.registry.domain(self._name(obj))
        self._sponsor(domain)
        years = self._years(obj)
        if "pendingCreate" in domain.statuses:
            raise EppError(2304, "the registration is pending")
        current = (obj.findtext("domain:curExpDate", namespaces=NS) or "").strip()
        if current != domain.expires_at.date().isoformat():
            raise EppError(2306, f"curExpDate {current or '(none)'} is not the expiry date "
                                 f"{domain.expires_at.date().isoformat()}")
        domain.expires_at = add_years(domain.expires_at, years)
        data = _data("renData")
        _d(data, "name", domain.name)
        _d(data, "exDate", format_datetime(domain.expires_at))
        return self.response(1000, cltrid, res_data=data)

    def cmd_transfer(self, verb: Node, extension: Optional[Node], cltrid: Optional[str]) -> bytes:
        op = verb.get("op")
        obj = self._object(verb, DOMAIN_NS)
        domain = self.registry.domain(self._name(obj))
        if op == "request":
            if "pendingCreate" in domain.statuses:
                raise EppError(2304, "the registration is pending")
            if domain.registrar == self.client:
                raise EppError(2002, f"{self.client} already sponsors {domain.name}")
            given = obj.findtext("domain:authInfo/domain:pw", namespaces=NS) or ""
            if not given or not secrets.compare_digest(given, domain.auth_code):
                raise EppError(2202, "wrong authInfo")
            if domain.pending_transfer is not None:
                raise EppError(2300, f"a transfer of {domain.name} is pending")
            transfer = self.registry.request_transfer(domain, self.client, self._years(obj))
            return self.response(1001, cltrid, res_data=self.registry.trn_data(domain, transfer))
        if op == "query":
            transfer = domain.transfer
            if transfer is None:
                raise EppError(2301, f"no transfer of {domain.name}")
            if self.client not in {transfer.requester, transfer.losing, domain.registrar}:
                raise EppError(2201, "not a party to this transfer")
            return self.response(1000, cltrid, res_data=self.registry.trn_data(domain, transfer))
        if op in {"approve", "reject"}:
            self._sponsor(domain)
            if domain.pending_transfer is None:
                raise EppError(2301, f"no pending transfer of {domain.name}")
            transfer = self.registry.finish_transfer(domain, "clientApproved" if op == "approve"
                                                     else "clientRejected")
            return self.response(1000, cltrid, res_data=self.registry.trn_data(domain, transfer))
        if op == "cancel":
            transfer = domain.pending_transfer
            if transfer is None:
                raise EppError(2301, f"no pending transfer of {domain.name}")
            if transfer.requester != self.client:
                raise EppError(2201, "only the requester cancels a transfer")
            transfer.status = "clientCancelled"
            domain.statuses.discard("pendingTransfer")
            self.registry.queue(transfer.losing, f"Transfer of {domain.name} cancelled",
                                self.registry.trn_data(domain, transfer))
            return self.response(1000, cltrid, res_data=self.registry.trn_data(domain, transfer))
        raise EppError(2005, f"unknown transfer op {op!r}")

    def cmd_delete(self, verb: Node, extension: Optional[Node], cltrid: Optional[str]) -> bytes:
        obj = self._object(verb, DOMAIN_NS)
        domain = self.registry.domain(self._name(obj))
        self._sponsor(domain)
        if domain.pending_transfer is not None:
            raise EppError(2304, f"a transfer of {domain.name} is pending")
        del self.registry.domains[domain.name]
        self.registry.pending_creates.pop(domain.name, None)
        return self.response(1000, cltrid)

    def cmd_poll(self, verb: Node, extension: Optional[Node], cltrid: Optional[str]) -> bytes:
        queue = self.registry.queues.setdefault(self.client, [])
        op = verb.get("op")
        if op == "req":
            if not queue:
                return self.response(1300, cltrid)
            message = queue[0]
            return self.response(1301, cltrid, message=message, queue_count=len(queue), res_data=message.res_data)
        if op == "ack":
            message_id = verb.get("msgID")
            index = next((i for i, m in enumerate(queue) if m.message_id == message_id), None)
            if index is None:
                raise EppError(2303, f"no message {message_id}")
            del queue[index]
            return self.response(1000, cltrid, queue_count=len(queue),
                                 queue_id=queue[0].message_id if queue else None)
        raise EppError(2005, f"unknown poll op {op!r}")


# ---------------------------------------------------------------- control API

class _ControlHandler(BaseHTTPRequestHandler):
    server_version = "soho-epp-registry-control"
    registry: Registry  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return

    def _send(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1_000_000:
            raise ControlError(400, "body too large")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise ControlError(400, "body is not JSON") from None
        if not isinstance(body, dict):
            raise ControlError(400, "body must be a JSON object")
        return body

    def _route(self, method: str) -> None:
        try:
            status, body = control(self.registry, method, self.path.split("?", 1)[0].rstrip("/"),
                                   self._body() if method == "POST" else {})
        except ControlError as error:
            status, body = error.status, {"error": error.error}
        except Exception as error:  # noqa: BLE001 - a control bug must not kill the server
            status, body = 500, {"error": f"{type(error).__name__}: {error}"}
        self._send(status, body)

    def do_GET(self) -> None:  # noqa: N802
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")


def _string(body: dict[str, Any], key: str, required: bool = True) -> Optional[str]:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ControlError(400, f"{key} must be a non-empty string")
    return value.strip()


def _moment(body: dict[str, Any], key: str) -> dt.datetime:
    text = _string(body, key)
    try:
        return parse_datetime(text)
    except ValueError:
        raise ControlError(400, f"{key} must be an ISO 8601 date or date-time") from None


def control(registry: Registry, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """The control API's routes (see the module docstring)."""
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] != "control":
        raise ControlError(404, f"no route {method} {path}")
    route = parts[1:]
    with registry.lock:
        if method == "GET" and route == ["health"]:
            return 200, {"status": "ok"}
        if method == "GET" and route == ["domains"]:
            return 200, {"domains": [d.as_json() for d in sorted(registry.domains.values(), key=lambda d: d.name)]}
        if method == "GET" and len(route) == 2 and route[0] == "domains":
            domain = registry.domains.get(route[1].lower())
            if domain is None:
                raise ControlError(404, f"{route[1]} is not registered")
            return 200, domain.as_json()
        if method != "POST":
            raise ControlError(404, f"no route {method} {path}")
        if route == ["refuse"]:
            name = _string(body, "domain").lower()
            registry.refusals[name] = _string(body, "reason", required=False) or "refused by the registry"
            return 200, {"domain": name, "reason": registry.refusals[name]}
        if route == ["domains"]:
            name = _string(body, "name").lower()
            created, expires = _moment(body, "created_at"), _moment(body, "expires_at")
            if expires <= created:
                raise ControlError(400, "expires_at must follow created_at")
            domain = Domain(name=name, registrar=_string(body, "registrar"), created_at=created, expires_at=expires,
                            auth_code=_string(body, "auth_code"),
                            registrant=_string(body, "registrant", required=False))
            registry.domains[name] = domain
            registry.pending_creates.pop(name, None)
            return 201, domain.as_json()
        if len(route) == 3 and route[0] == "transfers" and route[2] in {"approve", "reject"}:
            domain = registry.domains.get(route[1].lower())
            if domain is None:
                raise ControlError(404, f"{route[1]} is not registered")
            if domain.pending_transfer is None:
                raise ControlError(409, f"no pending transfer of {domain.name}")
            registry.finish_transfer(domain, "clientApproved" if route[2] == "approve" else "clientRejected")
            return 200, domain.as_json()
        if route == ["transfer-request"]:
            name = _string(body, "domain").lower()
            requester = _string(body, "registrar", required=False) or OTHER_REGISTRAR
            domain = registry.domains.get(name)
            if domain is None:
                raise ControlError(404, f"{name} is not registered")
            if domain.registrar == requester:
                raise ControlError(409, f"{requester} already sponsors {name}")
            if domain.pending_transfer is not None or "pendingCreate" in domain.statuses:
                raise ControlError(409, f"{name} has a pending operation")
            registry.request_transfer(domain, requester)
            return 200, domain.as_json()
        if route == ["auto-approve"]:
            seconds = body.get("seconds")
            if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                        or seconds < 0):
                raise ControlError(400, "seconds must be a non-negative number or null")
            registry.auto_approve_seconds = None if seconds is None else float(seconds)
            return 200, {"seconds": registry.auto_approve_seconds}
        if route == ["faults"]:
            drop = body.get("drop_next")
            if isinstance(drop, bool) or not isinstance(drop, int) or drop < 0:
                raise ControlError(400, "drop_next must be a non-negative integer")
            registry.drop_next = drop
            return 200, {"drop_next": drop}
    raise ControlError(404, f"no route {method} {path}")


# ---------------------------------------------------------------- the server

class EppRegistryServer:
    """The EPP server (TLS, a thread per connection) and its control API, on 127.0.0.1."""

    def __init__(self, state_dir: Path | str, port: int = 0, control_port: int = 0,
                 clients: Optional[dict[str, str]] = None, clock: Any = None,
                 create_delay_seconds: float = 0.2) -> None:
        self.state_dir = Path(state_dir)
        self.certificates = ensure_certificates(self.state_dir)
        self.registry = Registry(dict(clients or DEFAULT_CLIENTS), clock or _SystemClock(), create_delay_seconds)
        self._port, self._control_port = port, control_port
        self._listener: Optional[socket.socket] = None
        self._control: Optional[ThreadingHTTPServer] = None
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def ca_file(self) -> str:
        return str(self.certificates.ca_file)

    @property
    def epp_address(self) -> tuple[str, int]:
        assert self._listener is not None, "not started"
        return HOST, self._listener.getsockname()[1]

    @property
    def control_url(self) -> str:
        assert self._control is not None, "not started"
        return f"http://{HOST}:{self._control.server_address[1]}"

    def start(self) -> "EppRegistryServer":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificates.cert_file, self.certificates.key_file)
        self._tls = context
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self._port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        handler = type("ControlHandler", (_ControlHandler,), {"registry": self.registry})
        self._control = ThreadingHTTPServer((HOST, self._control_port), handler)
        self._control.daemon_threads = True
        for target in (self._accept_loop, self._control.serve_forever, self._tick_loop):
            thread = threading.Thread(target=target, daemon=True, name=f"epp-registry-{target.__name__}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._control is not None:
            self._control.shutdown()
            self._control.server_close()
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def _tick_loop(self) -> None:
        while not self._stopping.wait(0.05):
            self.registry.tick()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._connections_lock:
                self._connections.add(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True,
                             name="epp-registry-connection").start()

    def _serve(self, connection: socket.socket) -> None:
        tls: Optional[ssl.SSLSocket] = None
        try:
            connection.settimeout(10)
            tls = self._tls.wrap_socket(connection, server_side=True)
            with self._connections_lock:
                self._connections.discard(connection)
                self._connections.add(tls)
            tls.settimeout(600)
            session = Session(self.registry)
            tls.sendall(frame(session.greeting()))
            while not self._stopping.is_set():
                header = _read(tls, 4)
                if header is None:
                    return
                try:
                    size = frame_length(header)
                except ValueError:
                    return
                if size > MAX_COMMAND_BYTES:
                    return
                data = _read(tls, size)
                if data is None:
                    return
                answer, close = session.handle(data)
                if answer is not None:
                    tls.sendall(frame(answer))
                if close:
                    return
        except (OSError, ssl.SSLError):
            return
        finally:
            with self._connections_lock:
                self._connections.discard(connection)
                if tls is not None:
                    self._connections.discard(tls)
            for sock in (tls, connection):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass


def _read(sock: ssl.SSLSocket, size: int) -> Optional[bytes]:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 65536))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="devstack.epp_registry", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--state-dir", required=True, help="where the CA and server certificate are kept")
    parser.add_argument("--port", type=int, default=0, help="EPP port (0: a free port)")
    parser.add_argument("--control-port", type=int, default=0, help="control API port (0: a free port)")
    parser.add_argument("--back-office-clock", action="store_true",
                        help="follow the back office's local clock (time travel), read from its meta table")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    clock = BackOfficeClock() if args.back_office_clock else None
    server = EppRegistryServer(args.state_dir, port=args.port, control_port=args.control_port, clock=clock).start()
    host, port = server.epp_address
    print(json.dumps({"epp": f"{host}:{port}", "control": server.control_url, "ca_file": server.ca_file}),
          flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
