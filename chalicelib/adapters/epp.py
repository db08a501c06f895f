"""The EPP adapter of the registrar gateway (R35-R42): RFC 5730-5734 over TLS, on lxml.

`EppGateway(profile)` implements `domain.registrar.RegistrarGateway` for one registry profile
(R36): one TLS session kept open and lazily (re)connected (greeting, then login), RFC 5734 framing
(a 4-byte big-endian length that counts itself, then the XML document), a clTRID on every command.

Errors follow the port: an answer with a result code >= 2000 raises `RegistryCommandError`; a
socket, TLS, timeout or framing failure, or a session the server ended (2500-2502), closes the
session and raises `RegistryTransportError`. Idempotent reads (check, info, transfer query, poll
req) are retried here (3 tries, backoff 0.2 s then 0.4 s); mutating commands are never retried
inside the adapter: the service layer reconciles with `info`.

The XML building (`build_*`) and parsing (`parse_*`) functions are pure, for unit tests. Answers
are parsed with a hardened parser (no entities, no network, no DTD, no huge trees).
"""
from __future__ import annotations

import json
import re
import secrets
import socket
import ssl
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from lxml import etree

from ..domain.registrar import (NO_MESSAGES, PARAMETER_VALUE_POLICY_ERROR, CheckResult,
                                CommandResult, Contact, DomainInfo, PollMessage, RegistryCommandError,
                                RegistryProfile, RegistryTransportError, TransferStatus)

EPP_NS = "urn:ietf:params:xml:ns:epp-1.0"
DOMAIN_NS = "urn:ietf:params:xml:ns:domain-1.0"
CONTACT_NS = "urn:ietf:params:xml:ns:contact-1.0"
FRNIC_NS = "http://www.afnic.fr/xml/epp/frnic-2.0"
NSMAP = {"epp": EPP_NS, "domain": DOMAIN_NS, "contact": CONTACT_NS, "frnic": FRNIC_NS}

MAX_FRAME_BYTES = 4 * 1024 * 1024      # an EPP answer larger than this is a framing error
SESSION_ENDED_CODES = range(2500, 2503)  # 2500 command failed, server closing; 2501 auth, 2502 limit
RETRY_BACKOFF_SECONDS = (0.2, 0.4)     # idempotent reads: 3 tries in all
PROFILES_FILE = Path(__file__).resolve().parent.parent / "data" / "registries.json"
_PROFILE_FIELDS = {f.name for f in fields(RegistryProfile)}
_INFORMATIONAL_KEYS = {"tlds", "comment"}  # documented in registries.json, not profile fields


def hardened_parser() -> etree.XMLParser:
    """A parser that resolves no entity, fetches nothing, loads no DTD and caps the tree size."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_blank_text=True)


# ---------------------------------------------------------------- framing (RFC 5734)

def frame(document: bytes) -> bytes:
    """RFC 5734: the total length (4 bytes, big-endian, counting these 4 bytes) then the XML."""
    return struct.pack(">I", len(document) + 4) + document


def frame_length(header: bytes) -> int:
    """The payload length announced by a 4-byte header; a `ValueError` for a nonsensical one."""
    if len(header) != 4:
        raise ValueError("truncated EPP frame header")
    total = struct.unpack(">I", header)[0]
    if total <= 4 or total - 4 > MAX_FRAME_BYTES:
        raise ValueError(f"invalid EPP frame length {total}")
    return total - 4


# ---------------------------------------------------------------- building commands (RFC 5730-5733)

def _e(parent: etree._Element, ns: str, tag: str, text: Optional[str] = None, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _document(root_child: str) -> tuple[etree._Element, etree._Element]:
    epp = etree.Element(f"{{{EPP_NS}}}epp", nsmap={None: EPP_NS})
    return epp, _e(epp, EPP_NS, root_child)


def _serialise(epp: etree._Element) -> bytes:
    return etree.tostring(epp, xml_declaration=True, encoding="UTF-8", standalone=False)


def _command(verb: str, cltrid: str, build: Callable[[etree._Element], None],
             extension: Optional[Callable[[etree._Element], None]] = None, **attrib: str) -> bytes:
    epp, command = _document("command")
    action = _e(command, EPP_NS, verb, **attrib)
    build(action)
    if extension is not None:
        extension(_e(command, EPP_NS, "extension"))
    _e(command, EPP_NS, "clTRID", cltrid)
    return _serialise(epp)


def _domain_object(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{DOMAIN_NS}}}{tag}", nsmap={"domain": DOMAIN_NS})


def build_hello() -> bytes:
    """RFC 5730 2.3: the server answers with its greeting (also a keep-alive)."""
    epp, _ = _document("hello")
    return _serialise(epp)


def build_login(client_id: str, password: str, cltrid: str, *, extensions: tuple[str, ...] = ()) -> bytes:
    """RFC 5730 2.9.1.1: login with the domain and contact objects and the given extensions."""
    def body(login: etree._Element) -> None:
        _e(login, EPP_NS, "clID", client_id)
        _e(login, EPP_NS, "pw", password)
        options = _e(login, EPP_NS, "options")
        _e(options, EPP_NS, "version", "1.0")
        _e(options, EPP_NS, "lang", "en")
        svcs = _e(login, EPP_NS, "svcs")
        _e(svcs, EPP_NS, "objURI", DOMAIN_NS)
        _e(svcs, EPP_NS, "objURI", CONTACT_NS)
        if extensions:
            svc_extension = _e(svcs, EPP_NS, "svcExtension")
            for uri in extensions:
                _e(svc_extension, EPP_NS, "extURI", uri)
    return _command("login", cltrid, body)


def build_logout(cltrid: str) -> bytes:
    return _command("logout", cltrid, lambda _: None)


def build_check(names: list[str], cltrid: str) -> bytes:
    """R35: domain:check of one or more names."""
    def body(check: etree._Element) -> None:
        obj = _domain_object(check, "check")
        for name in names:
            _e(obj, DOMAIN_NS, "name", name)
    return _command("check", cltrid, body)


def build_info(name: str, cltrid: str, auth_code: Optional[str] = None) -> bytes:
    """domain:info, with the domain's authInfo when we are not (yet) its sponsor (R38)."""
    def body(info: etree._Element) -> None:
        obj = _domain_object(info, "info")
        _e(obj, DOMAIN_NS, "name", name, hosts="all")
        if auth_code:
            _e(_e(obj, DOMAIN_NS, "authInfo"), DOMAIN_NS, "pw", auth_code)
    return _command("info", cltrid, body)


def build_contact_create(contact: Contact, cltrid: str, auth_code: str, *, afnic: bool = False) -> bytes:
    """contact:create (RFC 5733); with `afnic`, a company's SIREN in the frnic-2.0 extension (R36)."""
    def body(create: etree._Element) -> None:
        obj = etree.SubElement(create, f"{{{CONTACT_NS}}}create", nsmap={"contact": CONTACT_NS})
        _e(obj, CONTACT_NS, "id", contact.contact_id)
        postal = _e(obj, CONTACT_NS, "postalInfo", type="loc")
        _e(postal, CONTACT_NS, "name", contact.name)
        if contact.organisation:
            _e(postal, CONTACT_NS, "org", contact.organisation)
        addr = _e(postal, CONTACT_NS, "addr")
        _e(addr, CONTACT_NS, "street", contact.street)
        _e(addr, CONTACT_NS, "city", contact.city)
        _e(addr, CONTACT_NS, "pc", contact.postcode)
        _e(addr, CONTACT_NS, "cc", contact.country.upper())
        _e(obj, CONTACT_NS, "voice", contact.phone)
        _e(obj, CONTACT_NS, "email", contact.email)
        _e(_e(obj, CONTACT_NS, "authInfo"), CONTACT_NS, "pw", auth_code)

    def afnic_extension(extension: etree._Element) -> None:
        ext = etree.SubElement(extension, f"{{{FRNIC_NS}}}ext", nsmap={"frnic": FRNIC_NS})
        legal = _e(_e(_e(ext, FRNIC_NS, "create"), FRNIC_NS, "contact"), FRNIC_NS, "legalEntity")
        _e(legal, FRNIC_NS, "type", "company")
        _e(legal, FRNIC_NS, "siren", contact.siren or "")

    with_extension = afnic and bool(contact.organisation)
    return _command("create", cltrid, body, afnic_extension if with_extension else None)


def build_create(name: str, cltrid: str, *, registrant: str, auth_code: str, years: int = 1) -> bytes:
    """R37: domain:create for `years` years, the holder's contact as registrant."""
    def body(create: etree._Element) -> None:
        obj = _domain_object(create, "create")
        _e(obj, DOMAIN_NS, "name", name)
        _e(obj, DOMAIN_NS, "period", str(years), unit="y")
        _e(obj, DOMAIN_NS, "registrant", registrant)
        _e(_e(obj, DOMAIN_NS, "authInfo"), DOMAIN_NS, "pw", auth_code)
    return _command("create", cltrid, body)


def build_renew(name: str, cltrid: str, *, current_expiry: date, years: int = 1) -> bytes:
    """R41: domain:renew; curExpDate guards against renewing twice."""
    def body(renew: etree._Element) -> None:
        obj = _domain_object(renew, "renew")
        _e(obj, DOMAIN_NS, "name", name)
        _e(obj, DOMAIN_NS, "curExpDate", current_expiry.isoformat())
        _e(obj, DOMAIN_NS, "period", str(years), unit="y")
    return _command("renew", cltrid, body)


def build_transfer(op: str, name: str, cltrid: str, *, auth_code: Optional[str] = None,
                   years: Optional[int] = None) -> bytes:
    """R38/R39: domain:transfer with op request | query | approve | reject | cancel."""
    if op not in {"request", "query", "approve", "reject", "cancel"}:
        raise ValueError(f"unknown transfer op {op!r}")

    def body(transfer: etree._Element) -> None:
        obj = _domain_object(transfer, "transfer")
        _e(obj, DOMAIN_NS, "name", name)
        if years is not None:
            _e(obj, DOMAIN_NS, "period", str(years), unit="y")
        if auth_code:
            _e(_e(obj, DOMAIN_NS, "authInfo"), DOMAIN_NS, "pw", auth_code)
    return _command("transfer", cltrid, body, op=op)


def build_delete(name: str, cltrid: str) -> bytes:
    """R42: domain:delete."""
    def body(delete: etree._Element) -> None:
        _e(_domain_object(delete, "delete"), DOMAIN_NS, "name", name)
    return _command("delete", cltrid, body)


def build_poll(cltrid: str, ack_id: Optional[str] = None) -> bytes:
    """poll op=req, or op=ack of one message id."""
    if ack_id is None:
        return _command("poll", cltrid, lambda _: None, op="req")
    return _command("poll", cltrid, lambda _: None, op="ack", msgID=ack_id)


# ---------------------------------------------------------------- parsing answers

@dataclass(frozen=True)
class MessageQueue:
    count: int
    message_id: Optional[str] = None
    queued_at: Optional[datetime] = None
    text: Optional[str] = None


@dataclass(frozen=True)
class EppResponse:
    """One parsed `<response>`: the first result, resData, msgQ and trID."""
    code: int
    message: str
    reason: Optional[str] = None
    res_data: Optional[etree._Element] = field(default=None, repr=False)
    queue: Optional[MessageQueue] = None
    client_trid: Optional[str] = None
    server_trid: Optional[str] = None

    def find(self, path: str) -> Optional[etree._Element]:
        return None if self.res_data is None else self.res_data.find(path, NSMAP)


@dataclass(frozen=True)
class Greeting:
    server_id: str
    server_date: Optional[datetime]
    object_uris: tuple[str, ...]
    extension_uris: tuple[str, ...]


def parse_datetime(text: Optional[str]) -> Optional[datetime]:
    """An EPP dateTime (e.g. 2026-11-27T10:00:00.0Z) as an aware UTC datetime."""
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    if "T" not in value:
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    head, _, rest = value.partition(".")
    if rest:  # normalise the fraction to 6 digits (fromisoformat of 3.11 is picky)
        digits = re.match(r"\d*", rest).group(0)
        zone = rest[len(digits):]
        value = f"{head}.{(digits + '000000')[:6]}{zone}"
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def format_datetime(moment: datetime) -> str:
    """An aware datetime as an EPP dateTime in UTC."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 100000}Z"


def _xml(data: bytes) -> etree._Element:
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise RegistryTransportError(f"unparseable EPP answer: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise RegistryTransportError("EPP answer with a DOCTYPE: refused")
    if root.tag != f"{{{EPP_NS}}}epp":
        raise RegistryTransportError(f"not an EPP document: {root.tag}")
    return root


def _text(element: Optional[etree._Element], path: str) -> Optional[str]:
    found = None if element is None else element.find(path, NSMAP)
    return None if found is None or found.text is None else found.text.strip()


def parse_greeting(data: bytes) -> Greeting:
    greeting = _xml(data).find("epp:greeting", NSMAP)
    if greeting is None:
        raise RegistryTransportError("the server did not greet")
    return Greeting(server_id=_text(greeting, "epp:svID") or "",
                    server_date=parse_datetime(_text(greeting, "epp:svDate")),
                    object_uris=tuple(e.text for e in greeting.iterfind("epp:svcMenu/epp:objURI", NSMAP)),
                    extension_uris=tuple(e.text for e in greeting.iterfind(
                        "epp:svcMenu/epp:svcExtension/epp:extURI", NSMAP)))


def parse_response(data: bytes) -> EppResponse:
    """The result code, message and reason (extValue), resData, msgQ and trID of an answer."""
    response = _xml(data).find("epp:response", NSMAP)
    if response is None:
        raise RegistryTransportError("EPP answer without <response>")
    result = response.find("epp:result", NSMAP)
    if result is None or not (result.get("code") or "").isdigit():
        raise RegistryTransportError("EPP answer without a result code")
    queue = None
    msgq = response.find("epp:msgQ", NSMAP)
    if msgq is not None:
        msg = msgq.find("epp:msg", NSMAP)
        queue = MessageQueue(count=int(msgq.get("count") or 0), message_id=msgq.get("id"),
                             queued_at=parse_datetime(_text(msgq, "epp:qDate")),
                             text=None if msg is None else "".join(msg.itertext()).strip())
    res_data = response.find("epp:resData", NSMAP)
    return EppResponse(code=int(result.get("code")), message=_text(result, "epp:msg") or "",
                       reason=_text(result, "epp:extValue/epp:reason"), res_data=res_data, queue=queue,
                       client_trid=_text(response, "epp:trID/epp:clTRID"),
                       server_trid=_text(response, "epp:trID/epp:svTRID"))


def parse_check(response: EppResponse) -> list[CheckResult]:
    """R35: one CheckResult per domain:cd (avail 1/0, reason)."""
    results = []
    for cd in response.res_data.iterfind("domain:chkData/domain:cd", NSMAP) if response.res_data is not None else ():
        name = cd.find("domain:name", NSMAP)
        results.append(CheckResult(name=(name.text or "").strip(),
                                   available=(name.get("avail") or "").strip() in {"1", "true"},
                                   reason=_text(cd, "domain:reason")))
    return results


def parse_info(response: EppResponse) -> DomainInfo:
    data = response.find("domain:infData")
    if data is None:
        raise RegistryTransportError("domain:info answer without infData")
    return DomainInfo(name=_text(data, "domain:name") or "", registrar=_text(data, "domain:clID") or "",
                      created_at=parse_datetime(_text(data, "domain:crDate")),
                      expires_at=parse_datetime(_text(data, "domain:exDate")),
                      statuses=tuple(s.get("s") for s in data.iterfind("domain:status", NSMAP)),
                      registrant=_text(data, "domain:registrant"),
                      auth_code=_text(data, "domain:authInfo/domain:pw"))


def parse_transfer(data: etree._Element) -> TransferStatus:
    """A domain:trnData element (transfer answers and poll messages)."""
    return TransferStatus(name=_text(data, "domain:name") or "", status=_text(data, "domain:trStatus") or "",
                          requesting_registrar=_text(data, "domain:reID") or "",
                          losing_registrar=_text(data, "domain:acID") or "",
                          requested_at=parse_datetime(_text(data, "domain:reDate")),
                          action_deadline=parse_datetime(_text(data, "domain:acDate")),
                          expires_at=parse_datetime(_text(data, "domain:exDate")))


def command_result(response: EppResponse) -> CommandResult:
    """A CommandResult with crDate/exDate from creData, renData or trnData when present."""
    created = expires = None
    for path in ("domain:creData", "domain:renData", "domain:trnData"):
        data = response.find(path)
        if data is not None:
            created = parse_datetime(_text(data, "domain:crDate"))
            expires = parse_datetime(_text(data, "domain:exDate"))
            break
    return CommandResult(code=response.code, message=response.message, server_trid=response.server_trid,
                         client_trid=response.client_trid, created_at=created, expires_at=expires)


def parse_poll(response: EppResponse) -> Optional[PollMessage]:
    """None for 1300 (no message); else the message, its kind from resData (panData: create,
    trnData: transfer) or by best effort from its text (renew, delete, other)."""
    if response.code == NO_MESSAGES or response.queue is None:
        return None
    queue = response.queue
    text = queue.text or response.message
    kind, domain_name, result, transfer, expires, cltrid, svtrid = "other", None, None, None, None, None, None
    pan = response.find("domain:panData")
    trn = response.find("domain:trnData")
    if pan is not None:
        kind = "create"
        name = pan.find("domain:name", NSMAP)
        domain_name = (name.text or "").strip() if name is not None else None
        result = name is not None and (name.get("paResult") or "").strip() in {"1", "true"}
        cltrid = _text(pan, "domain:paTRID/epp:clTRID")
        svtrid = _text(pan, "domain:paTRID/epp:svTRID")
    elif trn is not None:
        kind = "transfer"
        transfer = parse_transfer(trn)
        domain_name, expires = transfer.name, transfer.expires_at
    else:
        lowered = text.lower()
        kind = "renew" if "renew" in lowered else "delete" if "delet" in lowered else "other"
        if response.res_data is not None:
            for element in response.res_data.iter(f"{{{DOMAIN_NS}}}name"):
                domain_name = (element.text or "").strip()
                break
            for element in response.res_data.iter(f"{{{DOMAIN_NS}}}exDate"):
                expires = parse_datetime(element.text)
                break
    return PollMessage(message_id=queue.message_id or "", queued_at=queue.queued_at or datetime.now(timezone.utc),
                       text=text, kind=kind, domain=domain_name, result=result, transfer=transfer,
                       expires_at=expires, client_trid=cltrid, server_trid=svtrid, count=queue.count)


def new_client_trid() -> str:
    return f"soho-{uuid.uuid4().hex}"


# ---------------------------------------------------------------- the gateway

class EppGateway:
    """R35-R42: one registry profile (R36) over one EPP session, lazily connected and logged in.

    Thread-safe (one command at a time on the session). `sleep` is injectable for tests.
    """

    def __init__(self, profile: RegistryProfile, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.profile = profile
        self.registry = profile.registry
        self.client_id = profile.client_id
        self._sleep = sleep
        self._sock: Optional[ssl.SSLSocket] = None
        self._lock = threading.RLock()
        self.greeting: Optional[Greeting] = None

    # -- session

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def _extensions(self) -> tuple[str, ...]:
        return (FRNIC_NS,) if self.profile.requires_siren_for_companies else ()

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.profile.ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def _connect(self) -> None:
        """Connect, read the greeting and log in (R36: the profile's client id and extensions)."""
        profile = self.profile
        try:
            raw = socket.create_connection((profile.host, profile.port), timeout=profile.timeout_seconds)
        except OSError as exc:
            raise RegistryTransportError(f"{self.registry}: cannot connect to {profile.host}:{profile.port}: "
                                         f"{exc}") from None
        try:
            self._sock = self._tls_context().wrap_socket(raw, server_hostname=profile.server_name or profile.host)
            self._sock.settimeout(profile.timeout_seconds)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raw.close()
            self._sock = None
            raise RegistryTransportError(f"{self.registry}: TLS failed: {exc}") from None
        try:
            self.greeting = parse_greeting(self._receive())
            response = self._exchange(build_login(profile.client_id, profile.password, new_client_trid(),
                                                  extensions=self._extensions()))
            self._check(response)
        except BaseException:
            self._drop()
            raise

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _send(self, document: bytes) -> None:
        assert self._sock is not None
        try:
            self._sock.sendall(frame(document))
        except (OSError, ssl.SSLError) as exc:
            self._drop()
            raise RegistryTransportError(f"{self.registry}: send failed: {exc}") from None

    def _read_exactly(self, size: int) -> bytes:
        assert self._sock is not None
        chunks, remaining = [], size
        while remaining:
            chunk = self._sock.recv(min(remaining, 65536))
            if not chunk:
                raise ConnectionError("the registry closed the connection")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _receive(self) -> bytes:
        try:
            return self._read_exactly(frame_length(self._read_exactly(4)))
        except (OSError, ssl.SSLError, ValueError) as exc:  # timeouts are OSError
            self._drop()
            raise RegistryTransportError(f"{self.registry}: receive failed: {exc}") from None

    def _exchange(self, document: bytes) -> EppResponse:
        self._send(document)
        try:
            return parse_response(self._receive())
        except RegistryTransportError:
            self._drop()
            raise

    def _check(self, response: EppResponse) -> EppResponse:
        if response.code in SESSION_ENDED_CODES:
            self._drop()
            raise RegistryTransportError(f"{self.registry}: session ended by the registry: EPP {response.code} "
                                         f"{response.message}")
        if response.code >= 2000:
            raise RegistryCommandError(response.code, response.message, response.reason)
        return response

    def _run(self, build: Callable[[str], bytes], *, idempotent: bool,
             client_trid: Optional[str] = None) -> EppResponse:
        """One command on the session: retried on transport errors only when idempotent."""
        cltrid = client_trid or new_client_trid()
        tries = 1 + (len(RETRY_BACKOFF_SECONDS) if idempotent else 0)
        with self._lock:
            for attempt in range(tries):
                try:
                    if self._sock is None:
                        self._connect()
                    return self._check(self._exchange(build(cltrid)))
                except RegistryTransportError:
                    self._drop()
                    if attempt + 1 >= tries:
                        raise
                    self._sleep(RETRY_BACKOFF_SECONDS[attempt])
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Log out (if connected) and close the session; never raises."""
        with self._lock:
            if self._sock is None:
                return
            try:
                self._exchange(build_logout(new_client_trid()))
            except RegistryTransportError:
                pass
            finally:
                self._drop()

    # -- commands

    def hello(self) -> Greeting:
        """RFC 5730 hello: the server's greeting (a keep-alive on an open session)."""
        with self._lock:
            for attempt in range(1 + len(RETRY_BACKOFF_SECONDS)):
                try:
                    if self._sock is None:
                        self._connect()
                    self._send(build_hello())
                    self.greeting = parse_greeting(self._receive())
                    return self.greeting
                except RegistryTransportError:
                    self._drop()
                    if attempt >= len(RETRY_BACKOFF_SECONDS):
                        raise
                    self._sleep(RETRY_BACKOFF_SECONDS[attempt])
        raise AssertionError("unreachable")

    def check(self, names: list[str]) -> list[CheckResult]:
        """R35: availability of each name (no guarantee: another registrar may be faster)."""
        return parse_check(self._run(lambda t: build_check(names, t), idempotent=True))

    def info(self, name: str, auth_code: Optional[str] = None) -> DomainInfo:
        """The domain as the registry knows it; its auth code only to the sponsor or with authInfo."""
        return parse_info(self._run(lambda t: build_info(name, t, auth_code), idempotent=True))

    def create_contact(self, contact: Contact) -> CommandResult:
        """The holder's contact (R37). Afnic (R36): a company needs its SIREN, refused here as 2306."""
        afnic = self.profile.requires_siren_for_companies
        if afnic and contact.organisation and not (contact.siren or "").strip():
            raise RegistryCommandError(PARAMETER_VALUE_POLICY_ERROR, "Parameter value policy error",
                                       f"{self.registry}: a company holder needs its SIREN")
        auth = secrets.token_urlsafe(12)
        return command_result(self._run(lambda t: build_contact_create(contact, t, auth, afnic=afnic),
                                        idempotent=False))

    def create(self, name: str, *, registrant: str, auth_code: str, years: int = 1,
               client_trid: Optional[str] = None) -> CommandResult:
        """R37: registration; 1001 (action pending) when the answer comes later by poll."""
        return command_result(self._run(
            lambda t: build_create(name, t, registrant=registrant, auth_code=auth_code, years=years),
            idempotent=False, client_trid=client_trid))

    def renew(self, name: str, *, current_expiry: date, years: int = 1,
              client_trid: Optional[str] = None) -> CommandResult:
        """R41: renewal for `years` from `current_expiry` (the registry refuses another date: 2306)."""
        return command_result(self._run(
            lambda t: build_renew(name, t, current_expiry=current_expiry, years=years),
            idempotent=False, client_trid=client_trid))

    def transfer_request(self, name: str, *, auth_code: str, years: int = 1,
                         client_trid: Optional[str] = None) -> CommandResult:
        """R38: transfer-in with the holder's auth code; 1001, the losing registrar decides."""
        return command_result(self._run(
            lambda t: build_transfer("request", name, t, auth_code=auth_code, years=years),
            idempotent=False, client_trid=client_trid))

    def transfer_query(self, name: str) -> TransferStatus:
        """R38/R39: the state of the domain's last transfer (2301 when none is pending)."""
        response = self._run(lambda t: build_transfer("query", name, t), idempotent=True)
        data = response.find("domain:trnData")
        if data is None:
            raise RegistryTransportError("transfer query answer without trnData")
        return parse_transfer(data)

    def transfer_approve(self, name: str, client_trid: Optional[str] = None) -> CommandResult:
        """R39: as losing registrar, let the domain go."""
        return command_result(self._run(lambda t: build_transfer("approve", name, t), idempotent=False,
                                        client_trid=client_trid))

    def transfer_reject(self, name: str, client_trid: Optional[str] = None) -> CommandResult:
        """R39: as losing registrar, refuse a transfer-out (e.g. the customer owes a sum)."""
        return command_result(self._run(lambda t: build_transfer("reject", name, t), idempotent=False,
                                        client_trid=client_trid))

    def delete(self, name: str, client_trid: Optional[str] = None) -> CommandResult:
        """R42: delete the domain (a decision or the holder's request)."""
        return command_result(self._run(lambda t: build_delete(name, t), idempotent=False,
                                        client_trid=client_trid))

    def poll(self) -> Optional[PollMessage]:
        """The oldest message of our queue (R37 create results, R38/R39 transfers); None if empty."""
        return parse_poll(self._run(lambda t: build_poll(t), idempotent=True))

    def poll_ack(self, message_id: str) -> int:
        """Dequeue a message; the number of messages left."""
        response = self._run(lambda t: build_poll(t, ack_id=message_id), idempotent=False)
        return response.queue.count if response.queue is not None else 0


# ---------------------------------------------------------------- profiles (R36)

def _profile_from(registry: str, values: dict[str, Any]) -> RegistryProfile:
    unknown = set(values) - _PROFILE_FIELDS - _INFORMATIONAL_KEYS
    if unknown:
        raise ValueError(f"registry profile {registry}: unknown fields {sorted(unknown)}")
    known = {k: v for k, v in values.items() if k in _PROFILE_FIELDS and k != "registry"}
    known.setdefault("password", "")
    known["port"] = int(known.get("port", 700))
    if "timeout_seconds" in known:
        known["timeout_seconds"] = float(known["timeout_seconds"])
    known["requires_siren_for_companies"] = bool(known.get("requires_siren_for_companies", False))
    missing = {"host", "client_id"} - set(known)
    if missing:
        raise ValueError(f"registry profile {registry}: missing {sorted(missing)}")
    return RegistryProfile(registry=registry, **known)


def load_profiles(settings: Any, path: Path = PROFILES_FILE) -> dict[str, RegistryProfile]:
    """R36: the registry profiles: data/registries.json, overlaid by settings.registry_profiles_json
    ({registry: {field: value}}), then registry_endpoint ("host:port" for every profile),
    registry_ca_file, and the passwords of registry_passwords_json ({registry: password}, "*": all)."""
    raw: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    raw = {name: dict(values) for name, values in raw.items() if not name.startswith("_")}
    overlay = json.loads(settings.registry_profiles_json) if settings.registry_profiles_json else {}
    for name, values in overlay.items():
        if not isinstance(values, dict):
            raise ValueError(f"SOHO_REGISTRY_PROFILES: {name} must map to an object")
        raw.setdefault(name, {}).update(values)
    profiles = {name: _profile_from(name, values) for name, values in raw.items()}
    if settings.registry_endpoint:
        host, sep, port = settings.registry_endpoint.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"SOHO_REGISTRY_ENDPOINT must be host:port, not {settings.registry_endpoint!r}")
        profiles = {n: replace(p, host=host.strip("[]"), port=int(port)) for n, p in profiles.items()}
    if settings.registry_ca_file:
        profiles = {n: replace(p, ca_file=settings.registry_ca_file) for n, p in profiles.items()}
    passwords = json.loads(settings.registry_passwords_json) if settings.registry_passwords_json else {}
    if not isinstance(passwords, dict):
        raise ValueError("SOHO_REGISTRY_PASSWORDS must be a JSON object {registry: password}")
    for name, profile in list(profiles.items()):
        password = passwords.get(name, passwords.get("*"))
        if password is not None:
            profiles[name] = replace(profile, password=str(password))
    return profiles


class EppRegistrars:
    """The gateways of every profile (R36), one cached EPP session per registry."""

    def __init__(self, settings: Any, *, profiles: Optional[dict[str, RegistryProfile]] = None) -> None:
        self.profiles = profiles if profiles is not None else load_profiles(settings)
        self._gateways: dict[str, EppGateway] = {}
        self._lock = threading.Lock()

    def gateway(self, registry: str) -> EppGateway:
        with self._lock:
            gateway = self._gateways.get(registry)
            if gateway is None:
                profile = self.profiles.get(registry)
                if profile is None:
                    raise KeyError(f"no registry profile named {registry!r}")
                gateway = self._gateways[registry] = EppGateway(profile)
            return gateway

    def close(self) -> None:
        with self._lock:
            gateways, self._gateways = list(self._gateways.values()), {}
        for gateway in gateways:
            gateway.close()
