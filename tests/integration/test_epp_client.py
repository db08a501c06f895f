"""The EPP adapter (chalicelib/adapters/epp.py) against the local EPP test registry over real TLS.

One registry (devstack/epp_registry.py) runs in-process on free ports for the module; every test
uses its own domain names, and reads its poll messages by domain name.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import pytest

from chalicelib.adapters.epp import (EppGateway, EppRegistrars, build_check, build_hello, build_login, frame,
                                     frame_length, load_profiles, parse_response)
from chalicelib.config import Settings
from chalicelib.domain.registrar import (Contact, PollMessage, RegistryCommandError, RegistryProfile,
                                         RegistryTransportError)
from devstack.epp_registry import DEFAULT_PASSWORD, EppRegistryServer, ensure_certificates

ROOT = Path(__file__).resolve().parents[2]
OTHER = "other-registrar"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    registry = EppRegistryServer(tmp_path_factory.mktemp("epp-registry"), create_delay_seconds=0.05).start()
    yield registry
    registry.stop()


def make_profile(server: EppRegistryServer, registry: str = "afnic", client_id: str = "soho-afnic",
                 **overrides: Any) -> RegistryProfile:
    host, port = server.epp_address
    values: dict[str, Any] = dict(registry=registry, host=host, port=port, client_id=client_id,
                                  password=DEFAULT_PASSWORD, ca_file=server.ca_file,
                                  requires_siren_for_companies=registry == "afnic", timeout_seconds=5.0)
    values.update(overrides)
    return RegistryProfile(**values)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def open_gateway(server):
    opened: list[EppGateway] = []

    def make(registry: str = "afnic", client_id: str = "soho-afnic", sleep: Optional[Sleeps] = None,
             **overrides: Any) -> EppGateway:
        gateway = EppGateway(make_profile(server, registry, client_id, **overrides),
                             sleep=sleep if sleep is not None else Sleeps())
        opened.append(gateway)
        return gateway

    yield make
    for gateway in opened:
        gateway.close()


@pytest.fixture
def afnic(open_gateway) -> EppGateway:
    return open_gateway()


@pytest.fixture
def other(open_gateway) -> EppGateway:
    """Another registrar at the same registry (the gaining or losing side of transfers)."""
    return open_gateway("eurid", OTHER)


def control(server: EppRegistryServer, method: str, path: str, body: Optional[dict] = None) -> tuple[int, Any]:
    request = urllib.request.Request(f"{server.control_url}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def unique(prefix: str, tld: str = "fr") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}.{tld}"


def new_contact(gateway: EppGateway, **overrides: Any) -> str:
    contact = Contact(contact_id=f"C{uuid.uuid4().hex[:12]}", name="Jeanne Martin", email="jeanne@example.fr",
                      phone="+33.612345678", street="1 rue de la Paix", city="Paris", postcode="75002",
                      country="FR")
    contact = replace(contact, **overrides)
    assert gateway.create_contact(contact).code == 1000
    return contact.contact_id


def message_for(gateway: EppGateway, domain: str, timeout: float = 5.0, ack: bool = True) -> PollMessage:
    """The next poll message about `domain` (others are acknowledged and dropped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = gateway.poll()
        if message is None:
            time.sleep(0.05)
            continue
        if message.domain == domain:
            if ack:
                gateway.poll_ack(message.message_id)
            return message
        gateway.poll_ack(message.message_id)
    raise AssertionError(f"no poll message about {domain} for {gateway.client_id}")


def registered(gateway: EppGateway, prefix: str = "ours", tld: str = "fr") -> str:
    """A domain created by `gateway` and confirmed by the registry's poll message."""
    name = unique(prefix, tld)
    registrant = new_contact(gateway)
    assert gateway.create(name, registrant=registrant, auth_code="ours-Auth-1").pending
    assert message_for(gateway, name).result is True
    return name


def seed(server: EppRegistryServer, name: str, registrar: str = OTHER, auth_code: str = "their-Auth-9",
         created_days_ago: int = 400, expires_in_days: int = 200) -> dict:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    status, body = control(server, "POST", "/control/domains", {
        "name": name, "registrar": registrar, "auth_code": auth_code, "registrant": "THEIRS-1",
        "created_at": (now - timedelta(days=created_days_ago)).isoformat(),
        "expires_at": (now + timedelta(days=expires_in_days)).isoformat()})
    assert status == 201, body
    return body


def test_profiles_route_every_registry_to_the_local_registry(server):
    """R36: the profiles of data/registries.json, pointed at the local registry by the devstack
    settings (endpoint, CA, the "*" password), each log in with its own client id."""
    host, port = server.epp_address
    settings = Settings(registry_endpoint=f"{host}:{port}", registry_ca_file=server.ca_file,
                        registry_passwords_json=json.dumps({"*": DEFAULT_PASSWORD}))
    registrars = EppRegistrars(settings)
    try:
        for registry, client_id in [("afnic", "soho-afnic"), ("eurid", "soho-eurid"),
                                    ("network_solutions", "soho-netsol"), ("subcontractor", "soho-sub")]:
            gateway = registrars.gateway(registry)
            assert gateway is registrars.gateway(registry)  # one cached session per registry
            assert (gateway.registry, gateway.client_id) == (registry, client_id)
            assert gateway.check([unique("route", "com")])[0].available
            assert gateway.connected
        assert load_profiles(settings)["afnic"].requires_siren_for_companies
        with pytest.raises(KeyError):
            registrars.gateway("verisign")
    finally:
        registrars.close()
    assert not registrars.gateway("afnic").connected


def test_hello_and_greeting(afnic):
    """R36: the server greets with the domain and contact objects and Afnic's frnic extension."""
    greeting = afnic.hello()
    assert "urn:ietf:params:xml:ns:domain-1.0" in greeting.object_uris
    assert "http://www.afnic.fr/xml/epp/frnic-2.0" in greeting.extension_uris


def test_check_says_which_names_are_free(server, afnic):
    """R35: check answers for several names: a registered one is unavailable, with a reason."""
    taken, free = unique("taken"), unique("free")
    seed(server, taken)
    results = {r.name: r for r in afnic.check([taken, free])}
    assert results[free].available and results[free].reason is None
    assert not results[taken].available and results[taken].reason


def test_info_gives_the_auth_code_only_to_the_sponsor_or_with_it(server, afnic, other):
    """R38: info from a non-sponsor shows the domain without its auth code, unless the right code
    is given; the sponsor always sees it; an unknown domain is 2303."""
    name = unique("info")
    seed(server, name, auth_code="their-Auth-9")
    basic = afnic.info(name)
    assert (basic.name, basic.registrar, basic.auth_code, basic.registrant) == (name, OTHER, None, "THEIRS-1")
    assert basic.expires_at > datetime.now(timezone.utc) and basic.created_at < datetime.now(timezone.utc)
    assert afnic.info(name, auth_code="wrong").auth_code is None
    assert afnic.info(name, auth_code="their-Auth-9").auth_code == "their-Auth-9"
    assert other.info(name).auth_code == "their-Auth-9"
    with pytest.raises(RegistryCommandError) as error:
        afnic.info(unique("unknown"))
    assert error.value.code == 2303


def test_contact_create_and_afnic_siren(server, afnic, open_gateway):
    """R36/R37: contacts are created; Afnic needs a company's SIREN: refused locally (2306, no
    call) by an Afnic profile, and by the registry itself (2306 with a reason) when it is missing."""
    new_contact(afnic)
    new_contact(afnic, organisation="SOHO Client SARL", siren="732829320")
    existing = new_contact(afnic)
    with pytest.raises(RegistryCommandError) as error:
        new_contact(afnic, contact_id=existing)
    assert error.value.code == 2302

    fresh = open_gateway()
    with pytest.raises(RegistryCommandError) as error:
        new_contact(fresh, organisation="SOHO Client SARL")
    assert error.value.code == 2306 and "SIREN" in error.value.reason
    assert not fresh.connected  # refused before any call

    no_flag = open_gateway(requires_siren_for_companies=False)  # soho-afnic, the extension not sent
    with pytest.raises(RegistryCommandError) as error:
        new_contact(no_flag, organisation="SOHO Client SARL", siren="732829320")
    assert error.value.code == 2306 and "SIREN" in error.value.reason
    eurid = open_gateway("eurid", "soho-eurid")
    new_contact(eurid, organisation="SOHO Client SARL")  # other registries take companies without SIREN


def test_create_is_asynchronous_and_confirmed_by_poll(server, afnic):
    """R37: create answers 1001 (pending), the name is no longer available, the result comes as a
    poll message (panData paResult 1, our clTRID), acknowledged; then info shows the domain ours."""
    name = unique("create")
    registrant = new_contact(afnic)
    result = afnic.create(name, registrant=registrant, auth_code="Auth-1234", years=2, client_trid="order-42")
    assert result.pending and result.code == 1001 and result.client_trid == "order-42" and result.server_trid
    assert result.created_at is not None
    assert not afnic.check([name])[0].available
    message = message_for(afnic, name, ack=False)
    assert (message.kind, message.result, message.client_trid) == ("create", True, "order-42")
    assert message.server_trid == result.server_trid and message.count >= 1
    assert afnic.poll_ack(message.message_id) == message.count - 1
    info = afnic.info(name)
    assert (info.registrar, info.statuses, info.registrant, info.auth_code) == ("soho-afnic", ("ok",), registrant,
                                                                              "Auth-1234")
    assert info.expires_at.year == info.created_at.year + 2
    with pytest.raises(RegistryCommandError) as error:
        afnic.poll_ack(message.message_id)
    assert error.value.code == 2303


def test_refused_create_releases_the_name(server, afnic):
    """R37: a registration the registry refuses comes back as paResult 0 with the reason, and the
    name is available again."""
    name = unique("refused")
    assert control(server, "POST", "/control/refuse", {"domain": name, "reason": "name reserved by Afnic"})[0] == 200
    registrant = new_contact(afnic)
    assert afnic.create(name, registrant=registrant, auth_code="Auth-1234").pending
    message = message_for(afnic, name)
    assert (message.kind, message.result) == ("create", False)
    assert "name reserved by Afnic" in message.text
    assert afnic.check([name])[0].available
    assert control(server, "GET", f"/control/domains/{name}")[0] == 404


def test_create_errors(server, afnic):
    """R37: an existing name is 2302, an unknown registrant 2303, a period outside 1-10 years 2004."""
    taken = unique("exists")
    seed(server, taken)
    registrant = new_contact(afnic)
    for name, kwargs, code in [(taken, {}, 2302), (unique("noreg"), {"registrant": "NOPE-1"}, 2303),
                               (unique("years"), {"years": 11}, 2004)]:
        with pytest.raises(RegistryCommandError) as error:
            afnic.create(name, **{"registrant": registrant, "auth_code": "Auth-1", **kwargs})
        assert error.value.code == code, name


def test_renew(server, afnic):
    """R41: renew with the current expiry date adds the years; a wrong curExpDate is 2306 (no double
    renewal); a domain of another registrar is 2201."""
    name = registered(afnic, "renew")
    before = afnic.info(name).expires_at
    result = afnic.renew(name, current_expiry=before.date(), years=1, client_trid="renew-1")
    assert result.code == 1000 and result.client_trid == "renew-1"
    assert result.expires_at.date() == before.date().replace(year=before.year + 1)
    with pytest.raises(RegistryCommandError) as error:
        afnic.renew(name, current_expiry=before.date(), years=1)
    assert error.value.code == 2306
    assert afnic.info(name).expires_at == result.expires_at
    theirs = unique("renew-theirs")
    expiry = datetime.fromisoformat(seed(server, theirs)["expires_at"]).date()
    with pytest.raises(RegistryCommandError) as error:
        afnic.renew(theirs, current_expiry=expiry)
    assert error.value.code == 2201


def test_transfer_in_approved(server, afnic):
    """R38: a transfer-in needs the holder's code (2202 otherwise), answers 1001 pending, cannot be
    requested twice (2300), is queried, and completes when the losing registrar approves: a poll
    message clientApproved, then we sponsor the domain, one more year."""
    name = unique("tin")
    seeded = seed(server, name, auth_code="their-Auth-9")
    with pytest.raises(RegistryCommandError) as error:
        afnic.transfer_request(name, auth_code="wrong")
    assert error.value.code == 2202
    result = afnic.transfer_request(name, auth_code="their-Auth-9", client_trid="tin-1")
    assert result.pending and result.client_trid == "tin-1"
    with pytest.raises(RegistryCommandError) as error:
        afnic.transfer_request(name, auth_code="their-Auth-9")
    assert error.value.code == 2300
    status = afnic.transfer_query(name)
    assert (status.name, status.status, status.requesting_registrar, status.losing_registrar) == (
        name, "pending", "soho-afnic", OTHER)
    assert status.action_deadline > status.requested_at
    assert "pendingTransfer" in afnic.info(name).statuses

    code, body = control(server, "POST", f"/control/transfers/{name}/approve")
    assert code == 200 and body["registrar"] == "soho-afnic"
    message = message_for(afnic, name)
    assert message.kind == "transfer" and message.transfer.status == "clientApproved"
    assert message.transfer.requesting_registrar == "soho-afnic"
    info = afnic.info(name)
    assert info.registrar == "soho-afnic" and info.auth_code and info.auth_code != "their-Auth-9"
    old_expiry = datetime.fromisoformat(seeded["expires_at"])
    assert info.expires_at.date() == old_expiry.date().replace(year=old_expiry.year + 1)
    assert afnic.transfer_query(name).status == "clientApproved"
    with pytest.raises(RegistryCommandError) as error:  # we already sponsor it
        afnic.transfer_request(name, auth_code=info.auth_code)
    assert error.value.code == 2002


def test_transfer_in_rejected(server, afnic):
    """R38: a transfer the losing registrar rejects comes back as clientRejected; the domain stays
    with it. A query with no transfer is 2301."""
    name = unique("tin-rej")
    seed(server, name, auth_code="their-Auth-9")
    with pytest.raises(RegistryCommandError) as error:
        afnic.transfer_query(name)
    assert error.value.code == 2301
    assert afnic.transfer_request(name, auth_code="their-Auth-9").pending
    assert control(server, "POST", f"/control/transfers/{name}/reject")[0] == 200
    message = message_for(afnic, name)
    assert message.kind == "transfer" and message.transfer.status == "clientRejected"
    assert afnic.info(name).registrar == OTHER
    assert control(server, "POST", f"/control/transfers/{name}/reject")[0] == 409  # none pending


def test_transfer_out_rejected_then_approved(server, afnic, other):
    """R39: another registrar asks for our domain: our poll shows trnData pending; while pending the
    domain cannot be deleted (2304); we reject it (clientRejected to the requester), then approve
    a second request: the domain leaves us."""
    name = registered(afnic, "tout")
    with pytest.raises(RegistryCommandError) as error:
        afnic.transfer_approve(name)
    assert error.value.code == 2301
    code, body = control(server, "POST", "/control/transfer-request", {"domain": name})
    assert code == 200 and body["pending_transfer"]["requester"] == OTHER
    message = message_for(afnic, name)
    assert message.kind == "transfer" and message.transfer.status == "pending"
    assert (message.transfer.requesting_registrar, message.transfer.losing_registrar) == (OTHER, "soho-afnic")
    with pytest.raises(RegistryCommandError) as error:
        afnic.delete(name)
    assert error.value.code == 2304
    with pytest.raises(RegistryCommandError) as error:  # only the losing registrar decides
        other.transfer_approve(name)
    assert error.value.code == 2201
    assert afnic.transfer_reject(name, client_trid="tout-rej").code == 1000
    assert message_for(other, name).transfer.status == "clientRejected"
    assert afnic.info(name).registrar == "soho-afnic"

    assert control(server, "POST", "/control/transfer-request", {"domain": name, "registrar": OTHER})[0] == 200
    assert message_for(afnic, name).transfer.status == "pending"
    assert afnic.transfer_approve(name).code == 1000
    assert message_for(other, name).transfer.status == "clientApproved"
    assert afnic.info(name).registrar == OTHER


def test_transfer_auto_approved_by_the_registry(server, afnic, other):
    """R38/R39: with auto-approve set, a pending transfer is server-approved: both sides are told."""
    name = unique("auto")
    seed(server, name, auth_code="their-Auth-9")
    assert control(server, "POST", "/control/auto-approve", {"seconds": 0})[0] == 200
    try:
        assert afnic.transfer_request(name, auth_code="their-Auth-9").pending
        assert message_for(afnic, name).transfer.status == "serverApproved"
        assert message_for(other, name).transfer.status == "pending"  # the losing side was asked first
        assert message_for(other, name).transfer.status == "serverApproved"
    finally:
        assert control(server, "POST", "/control/auto-approve", {"seconds": None})[0] == 200
    assert afnic.info(name).registrar == "soho-afnic"


def test_delete(server, afnic):
    """R42: we delete our domain (the name is free again); another registrar's is 2201; an unknown
    one 2303."""
    name = registered(afnic, "del")
    assert afnic.delete(name, client_trid="del-1").code == 1000
    assert afnic.check([name])[0].available
    theirs = unique("del-theirs")
    seed(server, theirs)
    for domain, code in [(theirs, 2201), (unique("del-unknown"), 2303)]:
        with pytest.raises(RegistryCommandError) as error:
            afnic.delete(domain)
        assert error.value.code == code


def test_poll_on_an_empty_queue(open_gateway):
    """R37: an empty message queue (1300) is None."""
    assert open_gateway("subcontractor", "soho-sub").poll() is None


def test_wrong_password_is_an_authentication_error(open_gateway):
    """R36: a login refused by the registry is a command error 2200, not retried."""
    sleeps = Sleeps()
    gateway = open_gateway(password="not-the-password", sleep=sleeps)
    with pytest.raises(RegistryCommandError) as error:
        gateway.check([unique("pw")])
    assert error.value.code == 2200 and not gateway.connected and sleeps == []


def test_certificate_of_another_ca_is_refused(open_gateway, tmp_path):
    """R36: the registry's certificate is verified against the profile's CA: a server certificate
    it did not sign is a transport error."""
    foreign_ca = ensure_certificates(tmp_path / "foreign").ca_file
    gateway = open_gateway(ca_file=str(foreign_ca))
    with pytest.raises(RegistryTransportError, match="TLS"):
        gateway.check([unique("tls")])
    wrong_name = open_gateway(server_name="epp.nic.fr")
    with pytest.raises(RegistryTransportError, match="TLS"):
        wrong_name.check([unique("tls")])


def test_dropped_read_is_retried_transparently(server, open_gateway):
    """R35: an idempotent read (info) whose answer never comes is retried on a new session."""
    sleeps = Sleeps()
    gateway = open_gateway(sleep=sleeps)
    name = unique("drop-info")
    seed(server, name)
    gateway.check([name])  # the session is open
    assert control(server, "POST", "/control/faults", {"drop_next": 1}) == (200, {"drop_next": 1})
    assert gateway.info(name).registrar == OTHER
    assert sleeps == [0.2]


def test_dropped_renew_is_not_retried(server, afnic):
    """R41: a mutating command (renew) whose answer never comes raises a transport error; it is not
    retried by the adapter (the registry did not execute it here: info shows the old expiry)."""
    name = registered(afnic, "drop-renew")
    expiry = afnic.info(name).expires_at
    assert control(server, "POST", "/control/faults", {"drop_next": 1})[0] == 200
    with pytest.raises(RegistryTransportError):
        afnic.renew(name, current_expiry=expiry.date())
    assert not afnic.connected
    assert afnic.info(name).expires_at == expiry  # a new session, the renew never happened
    assert afnic.renew(name, current_expiry=expiry.date()).code == 1000


def test_stopped_registry_is_a_transport_error(tmp_path):
    """R35: when the registry is gone, reads are retried with backoff then raise a transport error."""
    own = EppRegistryServer(tmp_path / "short-lived").start()
    sleeps = Sleeps()
    gateway = EppGateway(make_profile(own), sleep=sleeps)
    try:
        assert gateway.check([unique("stop")])[0].available
        own.stop()
        with pytest.raises(RegistryTransportError):
            gateway.check([unique("stop")])
        assert sleeps == [0.2, 0.4]
        with pytest.raises(RegistryTransportError):
            gateway.create(unique("stop"), registrant="X", auth_code="Auth-1")
        assert sleeps == [0.2, 0.4]  # mutating: one try only
    finally:
        gateway.close()
        own.stop()


def _raw_session(server: EppRegistryServer) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=server.ca_file)
    sock = context.wrap_socket(socket.create_connection(server.epp_address, timeout=5), server_hostname="127.0.0.1")
    return sock


def _exchange(sock: ssl.SSLSocket, document: Optional[bytes] = None) -> bytes:
    if document is not None:
        sock.sendall(frame(document))
    size = frame_length(_recv(sock, 4))
    return _recv(sock, size)


def _recv(sock: ssl.SSLSocket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "connection closed"
        data += chunk
    return data


def test_protocol_errors_of_the_registry(server):
    """R36: the registry greets first; a command before login is 2002; malformed XML 2001; an
    unknown command 2101; every answer carries our clTRID and a svTRID; logout is 1500."""
    with _raw_session(server) as sock:
        assert b"<greeting>" in _exchange(sock)
        answer = parse_response(_exchange(sock, build_check(["a.fr"], "raw-1")))
        assert (answer.code, answer.client_trid) == (2002, "raw-1") and answer.server_trid
        assert parse_response(_exchange(sock, b"<epp><command>")).code == 2001
        assert b"<greeting>" in _exchange(sock, build_hello())
        login = parse_response(_exchange(sock, build_login("soho-eurid", DEFAULT_PASSWORD, "raw-2")))
        assert login.code == 1000
        unknown = (b'<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>'
                   b"<frobnicate/><clTRID>raw-3</clTRID></command></epp>")
        assert parse_response(_exchange(sock, unknown)).code == 2101
        logout = (b'<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>'
                  b"<logout/><clTRID>raw-4</clTRID></command></epp>")
        assert parse_response(_exchange(sock, logout)).code == 1500


def test_control_api(server):
    """R38/R39: the control API answers health, lists domains, and refuses bad input (400)."""
    assert control(server, "GET", "/control/health") == (200, {"status": "ok"})
    name = unique("ctl")
    seed(server, name)
    assert name in {d["name"] for d in control(server, "GET", "/control/domains")[1]["domains"]}
    assert control(server, "GET", f"/control/domains/{name}")[1]["registrar"] == OTHER
    for path, body in [("/control/refuse", {}), ("/control/domains", {"name": "x.fr"}),
                       ("/control/faults", {"drop_next": -1}), ("/control/auto-approve", {"seconds": "soon"}),
                       ("/control/transfer-request", {})]:
        status, answer = control(server, "POST", path, body)
        assert status == 400 and answer["error"], path
    assert control(server, "POST", "/control/transfer-request", {"domain": unique("nope")})[0] == 404


def test_cli_prints_its_addresses_and_serves(tmp_path):
    """R36: `python -m devstack.epp_registry` prints one JSON line, serves EPP, stops on SIGTERM."""
    proc = subprocess.Popen([sys.executable, "-m", "devstack.epp_registry", "--state-dir", str(tmp_path / "cli")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    try:
        ready = json.loads(proc.stdout.readline())
        host, port = ready["epp"].rsplit(":", 1)
        assert host == "127.0.0.1" and ready["control"].startswith("http://127.0.0.1:")
        assert Path(ready["ca_file"]).is_file()
        gateway = EppGateway(RegistryProfile("afnic", host, int(port), "soho-afnic", DEFAULT_PASSWORD,
                                             ca_file=ready["ca_file"], timeout_seconds=5))
        try:
            assert gateway.check([unique("cli")])[0].available
        finally:
            gateway.close()
        with urllib.request.urlopen(f"{ready['control']}/control/health", timeout=5) as answer:
            assert json.loads(answer.read()) == {"status": "ok"}
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
