"""The EPP adapter without sockets: registry profiles (R36) and the XML it builds and parses."""
from __future__ import annotations

import json
import struct
from datetime import date, datetime, timezone

import pytest
from lxml import etree

from chalicelib.adapters import epp
from chalicelib.adapters.epp import (CONTACT_NS, DOMAIN_NS, EPP_NS, FRNIC_NS, EppGateway, EppResponse,
                                     build_check, build_contact_create, build_create, build_delete, build_info,
                                     build_login, build_poll, build_renew, build_transfer, command_result, frame,
                                     frame_length, load_profiles, parse_check, parse_datetime, parse_info,
                                     parse_poll, parse_response)
from chalicelib.config import Settings
from chalicelib.domain.domains import REGISTRY_BY_TLD
from chalicelib.domain.registrar import Contact, RegistryCommandError, RegistryProfile, RegistryTransportError

NS = {"epp": EPP_NS, "domain": DOMAIN_NS, "contact": CONTACT_NS, "frnic": FRNIC_NS}
COMPANY = Contact(contact_id="C1", name="Jeanne Martin", email="j@example.fr", phone="+33.612345678",
                  street="1 rue de la Paix", city="Paris", postcode="75002", country="fr",
                  organisation="SOHO Client SARL", siren="732829320")


def xml(document: bytes) -> etree._Element:
    return etree.fromstring(document)


def answer(code: int, body: str = "", msgq: str = "", reason: str = "") -> bytes:
    ext = f"<extValue><value/><reason>{reason}</reason></extValue>" if reason else ""
    res = f"<resData>{body}</resData>" if body else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><epp xmlns="{EPP_NS}" xmlns:domain="{DOMAIN_NS}"><response>'
            f'<result code="{code}"><msg>message {code}</msg>{ext}</result>{msgq}{res}'
            f"<trID><clTRID>cl-1</clTRID><svTRID>sv-1</svTRID></trID></response></epp>").encode()


# ---------------------------------------------------------------- profiles

def test_profiles_from_the_file():
    """R36: the four registries of data/registries.json, port 700, Afnic requiring a company's SIREN."""
    profiles = load_profiles(Settings())
    assert {n: (p.host, p.port, p.client_id) for n, p in profiles.items()} == {
        "afnic": ("epp.nic.fr", 700, "soho-afnic"),
        "eurid": ("epp.registry.eu", 700, "soho-eurid"),
        "network_solutions": ("epp.networksolutions.com", 700, "soho-netsol"),
        "subcontractor": ("epp.registrar-partner.example", 700, "soho-sub"),
    }
    assert profiles["afnic"].requires_siren_for_companies
    assert not any(p.requires_siren_for_companies for n, p in profiles.items() if n != "afnic")
    assert all(p.password == "" and p.ca_file is None for p in profiles.values())
    assert "password" not in repr(profiles["afnic"])


def test_profiles_file_documents_the_routing_of_the_domain_code():
    """R36: the TLDs listed per profile are those domains.registry_for routes to it."""
    raw = json.loads(epp.PROFILES_FILE.read_text())
    listed = {tld: name for name, values in raw.items() if not name.startswith("_") for tld in values["tlds"]}
    assert listed == REGISTRY_BY_TLD


def test_profiles_overlay_endpoint_ca_and_passwords():
    """R36: SOHO_REGISTRY_PROFILES overlays fields, SOHO_REGISTRY_ENDPOINT points every profile at one
    host:port, SOHO_REGISTRY_CA_FILE sets the CA, SOHO_REGISTRY_PASSWORDS sets passwords ("*": all)."""
    settings = Settings(registry_profiles_json=json.dumps({
        "eurid": {"client_id": "soho-eu-2", "timeout_seconds": 3, "server_name": "epp.eu"},
        "afnic": {"requires_siren_for_companies": False}}),
        registry_passwords_json=json.dumps({"*": "all-secret", "eurid": "eu-secret"}))
    profiles = load_profiles(settings)
    assert (profiles["eurid"].client_id, profiles["eurid"].timeout_seconds, profiles["eurid"].server_name) == (
        "soho-eu-2", 3.0, "epp.eu")
    assert profiles["eurid"].host == "epp.registry.eu"
    assert not profiles["afnic"].requires_siren_for_companies
    assert profiles["eurid"].password == "eu-secret"
    assert {profiles[n].password for n in ("afnic", "network_solutions", "subcontractor")} == {"all-secret"}

    local = load_profiles(Settings(registry_endpoint="127.0.0.1:7700", registry_ca_file="/tmp/ca.pem",
                                   registry_passwords_json=json.dumps({"afnic": "only-afnic"})))
    assert {(p.host, p.port, p.ca_file) for p in local.values()} == {("127.0.0.1", 7700, "/tmp/ca.pem")}
    assert local["afnic"].password == "only-afnic" and local["eurid"].password == ""
    assert local["afnic"].client_id == "soho-afnic"  # the endpoint changes where, not who


def test_profiles_refuse_bad_configuration():
    """R36: a typo in a profile, an endpoint without port or a non-object password map is an error."""
    with pytest.raises(ValueError, match="unknown fields"):
        load_profiles(Settings(registry_profiles_json=json.dumps({"afnic": {"hostname": "x"}})))
    with pytest.raises(ValueError, match="missing"):
        load_profiles(Settings(registry_profiles_json=json.dumps({"verisign": {"port": 700}})))
    with pytest.raises(ValueError, match="host:port"):
        load_profiles(Settings(registry_endpoint="127.0.0.1"))
    with pytest.raises(ValueError, match="SOHO_REGISTRY_PASSWORDS"):
        load_profiles(Settings(registry_passwords_json='["x"]'))


# ---------------------------------------------------------------- framing and building

def test_framing_counts_its_own_header():
    """R36 (RFC 5734): 4-byte big-endian total length, header included."""
    framed = frame(b"<epp/>")
    assert framed[:4] == struct.pack(">I", 10) and framed[4:] == b"<epp/>"
    assert frame_length(framed[:4]) == 6
    for bad in (struct.pack(">I", 4), struct.pack(">I", 3), struct.pack(">I", 1 << 31), b"\x00\x01"):
        with pytest.raises(ValueError):
            frame_length(bad)


def test_login_declares_objects_and_the_afnic_extension():
    """R36: login with domain-1.0 and contact-1.0; svcExtension frnic-2.0 only when asked."""
    plain = xml(build_login("soho-eurid", "pw", "cl-1"))
    assert [e.text for e in plain.iterfind(".//epp:objURI", NS)] == [DOMAIN_NS, CONTACT_NS]
    assert plain.find(".//epp:svcExtension", NS) is None
    assert plain.findtext(".//epp:clID", namespaces=NS) == "soho-eurid"
    assert plain.findtext(".//epp:clTRID", namespaces=NS) == "cl-1"
    afnic = xml(build_login("soho-afnic", "pw", "cl-1", extensions=(FRNIC_NS,)))
    assert afnic.findtext(".//epp:svcExtension/epp:extURI", namespaces=NS) == FRNIC_NS


def test_domain_commands():
    """R35/R37/R38/R41/R42: check, info, create, renew, transfer, delete, poll as RFC 5731 says."""
    check = xml(build_check(["a.fr", "b.fr"], "t"))
    assert [e.text for e in check.iterfind(".//domain:check/domain:name", NS)] == ["a.fr", "b.fr"]
    info = xml(build_info("a.fr", "t", auth_code="code"))
    assert info.findtext(".//domain:info/domain:authInfo/domain:pw", namespaces=NS) == "code"
    assert xml(build_info("a.fr", "t")).find(".//domain:authInfo", NS) is None
    create = xml(build_create("a.fr", "t", registrant="C1", auth_code="code", years=2))
    period = create.find(".//domain:create/domain:period", NS)
    assert (period.text, period.get("unit")) == ("2", "y")
    assert create.findtext(".//domain:registrant", namespaces=NS) == "C1"
    renew = xml(build_renew("a.fr", "t", current_expiry=date(2027, 3, 1), years=1))
    assert renew.findtext(".//domain:curExpDate", namespaces=NS) == "2027-03-01"
    request = xml(build_transfer("request", "a.fr", "t", auth_code="code", years=1))
    assert request.find("epp:command/epp:transfer", NS).get("op") == "request"
    assert request.findtext(".//domain:authInfo/domain:pw", namespaces=NS) == "code"
    assert xml(build_transfer("approve", "a.fr", "t")).find(".//domain:authInfo", NS) is None
    with pytest.raises(ValueError):
        build_transfer("steal", "a.fr", "t")
    assert xml(build_delete("a.fr", "t")).findtext(".//domain:delete/domain:name", namespaces=NS) == "a.fr"
    assert xml(build_poll("t")).find("epp:command/epp:poll", NS).get("op") == "req"
    ack = xml(build_poll("t", ack_id="12")).find("epp:command/epp:poll", NS)
    assert (ack.get("op"), ack.get("msgID")) == ("ack", "12")


def test_contact_create_with_the_afnic_siren():
    """R36: a company contact for Afnic carries frnic:legalEntity type company and its SIREN."""
    document = xml(build_contact_create(COMPANY, "t", "contact-pw", afnic=True))
    assert document.find(".//contact:postalInfo", NS).get("type") == "loc"
    assert document.findtext(".//contact:org", namespaces=NS) == "SOHO Client SARL"
    assert document.findtext(".//contact:cc", namespaces=NS) == "FR"
    assert document.findtext(".//contact:authInfo/contact:pw", namespaces=NS) == "contact-pw"
    legal = document.find("epp:command/epp:extension/frnic:ext/frnic:create/frnic:contact/frnic:legalEntity", NS)
    assert (legal.findtext("frnic:type", namespaces=NS), legal.findtext("frnic:siren", namespaces=NS)) == (
        "company", "732829320")
    assert xml(build_contact_create(COMPANY, "t", "pw")).find(".//epp:extension", NS) is None
    person = Contact(**{**COMPANY.__dict__, "organisation": None, "siren": None})
    assert xml(build_contact_create(person, "t", "pw", afnic=True)).find(".//epp:extension", NS) is None


# ---------------------------------------------------------------- parsing

def test_parse_result_reason_and_trid():
    """R36: result code, message, extValue reason and trID of an answer."""
    response = parse_response(answer(2306, reason="SIREN required"))
    assert (response.code, response.message, response.reason) == (2306, "message 2306", "SIREN required")
    assert (response.client_trid, response.server_trid) == ("cl-1", "sv-1")
    for broken in (b"<epp", b"<other/>", f'<epp xmlns="{EPP_NS}"><response/></epp>'.encode()):
        with pytest.raises(RegistryTransportError):
            parse_response(broken)


def test_parser_is_hardened_against_entities():
    """R36: no external entity is resolved, no entity expanded (XXE, billion laughs)."""
    xxe = (f'<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           f'<epp xmlns="{EPP_NS}"><response><result code="1000"><msg>&x;</msg></result></response></epp>').encode()
    with pytest.raises(RegistryTransportError, match="DOCTYPE"):
        parse_response(xxe)
    laughs = ('<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">' for i in range(6))
              + f']><epp xmlns="{EPP_NS}"><response><result code="1000"><msg>&g;</msg></result></response></epp>')
    with pytest.raises(RegistryTransportError):
        parse_response(laughs.encode())
    # the parser itself neither resolves external entities nor loads DTDs
    parsed = etree.fromstring(xxe, epp.hardened_parser())
    assert "root:" not in "".join(parsed.itertext())


def test_parse_check_info_and_dates():
    """R35: chkData availability and reason; infData; EPP dates in UTC."""
    checked = parse_check(parse_response(answer(1000, '<domain:chkData><domain:cd><domain:name avail="1">a.fr'
                                                      '</domain:name></domain:cd><domain:cd><domain:name avail="0">'
                                                      'b.fr</domain:name><domain:reason>In use</domain:reason>'
                                                      '</domain:cd></domain:chkData>')))
    assert [(c.name, c.available, c.reason) for c in checked] == [("a.fr", True, None), ("b.fr", False, "In use")]
    info = parse_info(parse_response(answer(1000, (
        '<domain:infData><domain:name>a.fr</domain:name><domain:status s="ok"/><domain:registrant>C1'
        '</domain:registrant><domain:clID>soho-afnic</domain:clID><domain:crDate>2026-01-02T03:04:05.0Z'
        '</domain:crDate><domain:exDate>2027-01-02T03:04:05.0Z</domain:exDate><domain:authInfo><domain:pw>'
        'code</domain:pw></domain:authInfo></domain:infData>'))))
    assert (info.registrar, info.statuses, info.registrant, info.auth_code) == ("soho-afnic", ("ok",), "C1", "code")
    assert info.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_datetime("2027-01-02T04:04:05.123456789+01:00") == datetime(2027, 1, 2, 3, 4, 5, 123456,
                                                                              tzinfo=timezone.utc)
    renewed = command_result(parse_response(answer(1000, "<domain:renData><domain:name>a.fr</domain:name>"
                                                         "<domain:exDate>2028-01-02T00:00:00Z</domain:exDate>"
                                                         "</domain:renData>")))
    assert renewed.expires_at == datetime(2028, 1, 2, tzinfo=timezone.utc) and renewed.client_trid == "cl-1"


def _queue(count: int, text: str) -> str:
    return f'<msgQ count="{count}" id="7"><qDate>2026-05-01T10:00:00.0Z</qDate><msg>{text}</msg></msgQ>'


def test_parse_poll_messages():
    """R37/R38/R39: panData is a create result, trnData a transfer; others by their text; 1300 is None."""
    assert parse_poll(parse_response(answer(1300))) is None
    created = parse_poll(parse_response(answer(1301, (
        '<domain:panData><domain:name paResult="0">a.fr</domain:name><domain:paTRID><clTRID>order-1</clTRID>'
        '<svTRID>sv-9</svTRID></domain:paTRID><domain:paDate>2026-05-01T10:00:00.0Z</domain:paDate>'
        '</domain:panData>').replace("<clTRID>", f'<clTRID xmlns="{EPP_NS}">').replace(
        "<svTRID>", f'<svTRID xmlns="{EPP_NS}">'), _queue(3, "refused: reserved"))))
    assert (created.kind, created.domain, created.result, created.count) == ("create", "a.fr", False, 3)
    assert (created.message_id, created.text, created.client_trid, created.server_trid) == (
        "7", "refused: reserved", "order-1", "sv-9")
    transfer = parse_poll(parse_response(answer(1301, (
        "<domain:trnData><domain:name>b.fr</domain:name><domain:trStatus>clientApproved</domain:trStatus>"
        "<domain:reID>soho-afnic</domain:reID><domain:reDate>2026-05-01T10:00:00Z</domain:reDate>"
        "<domain:acID>other</domain:acID><domain:acDate>2026-05-06T10:00:00Z</domain:acDate>"
        "<domain:exDate>2028-05-01T10:00:00Z</domain:exDate></domain:trnData>"), _queue(1, "approved"))))
    assert (transfer.kind, transfer.domain, transfer.transfer.status, transfer.transfer.losing_registrar) == (
        "transfer", "b.fr", "clientApproved", "other")
    assert transfer.expires_at == datetime(2028, 5, 1, 10, tzinfo=timezone.utc)
    renewal = parse_poll(parse_response(answer(1301, "", _queue(1, "Domain c.fr auto-renewed"))))
    assert (renewal.kind, renewal.result, renewal.domain) == ("renew", None, None)
    assert parse_poll(parse_response(answer(1301, "", _queue(1, "c.fr deleted")))).kind == "delete"
    assert parse_poll(parse_response(answer(1301, "", _queue(1, "hello")))).kind == "other"


# ---------------------------------------------------------------- retry policy without sockets

class ScriptedGateway(EppGateway):
    """A gateway whose session is a script of answers or transport failures (no socket)."""

    def __init__(self, script: list, **profile_fields) -> None:
        self.sleeps: list[float] = []
        profile = RegistryProfile(registry="afnic", host="epp.invalid", port=700, client_id="soho-afnic",
                                  password="pw", requires_siren_for_companies=True, **profile_fields)
        super().__init__(profile, sleep=self.sleeps.append)
        self.script, self.sent, self.connects = list(script), [], 0

    def _connect(self) -> None:
        self.connects += 1
        self._sock = object()  # type: ignore[assignment]

    def _drop(self) -> None:
        self._sock = None

    def _exchange(self, document: bytes) -> EppResponse:
        self.sent.append(document)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            self._drop()
            raise step
        return parse_response(step)


CHECK_OK = answer(1000, '<domain:chkData><domain:cd><domain:name avail="1">a.fr</domain:name></domain:cd>'
                        "</domain:chkData>")


def test_reads_are_retried_with_backoff_writes_are_not():
    """R35/R41: transport errors: idempotent reads retried (3 tries, 0.2 s then 0.4 s), mutating
    commands raised at once; the clTRID is generated as soho-<hex> or the one given."""
    gateway = ScriptedGateway([RegistryTransportError("reset"), RegistryTransportError("reset"), CHECK_OK])
    assert gateway.check(["a.fr"])[0].available
    assert gateway.sleeps == [0.2, 0.4] and gateway.connects == 3
    cltrid = xml(gateway.sent[-1]).findtext(".//epp:clTRID", namespaces=NS)
    assert cltrid.startswith("soho-") and len(cltrid) == 37

    failing = ScriptedGateway([RegistryTransportError("reset")] * 3)
    with pytest.raises(RegistryTransportError):
        failing.poll()
    assert failing.sleeps == [0.2, 0.4]

    write = ScriptedGateway([RegistryTransportError("reset"), answer(1000)])
    with pytest.raises(RegistryTransportError):
        write.renew("a.fr", current_expiry=date(2027, 1, 1), client_trid="renew-1")
    assert write.sleeps == [] and len(write.sent) == 1
    assert xml(write.sent[0]).findtext(".//epp:clTRID", namespaces=NS) == "renew-1"


def test_command_errors_and_ended_sessions():
    """R36: codes >= 2000 are command errors (with reason); 2500-2502 end the session: transport."""
    gateway = ScriptedGateway([answer(2302, reason="exists")])
    with pytest.raises(RegistryCommandError) as error:
        gateway.create("a.fr", registrant="C1", auth_code="x")
    assert (error.value.code, error.value.reason) == (2302, "exists") and gateway.connected
    ended = ScriptedGateway([answer(2502), answer(2502), answer(2502)])
    with pytest.raises(RegistryTransportError):
        ended.check(["a.fr"])
    assert not ended.connected and len(ended.sent) == 3


def test_afnic_company_without_siren_is_refused_locally():
    """R36: an Afnic profile refuses a company contact without SIREN (2306) without calling."""
    gateway = ScriptedGateway([])
    company = Contact(**{**COMPANY.__dict__, "siren": None})
    with pytest.raises(RegistryCommandError) as error:
        gateway.create_contact(company)
    assert error.value.code == 2306 and gateway.sent == [] and gateway.connects == 0


def test_poll_ack_returns_what_is_left():
    """R37: poll ack answers the remaining count (0 without msgQ)."""
    gateway = ScriptedGateway([answer(1000, "", '<msgQ count="2" id="8"/>'), answer(1000)])
    assert gateway.poll_ack("7") == 2
    assert gateway.poll_ack("8") == 0


def test_R36_a_real_stage_refuses_to_start_without_its_registry_passwords():
    """R36: outside local mode the EPP passwords are a required secret (a NoEcho stack parameter)."""
    import pytest as _pytest

    from chalicelib.config import Settings
    from infra.template import SECRET_PARAMETERS
    env = {"SOHO_LOCAL_MODE": "0", "PAYMENT_WEBHOOK_SECRET": "w", "OPERATOR_API_KEY": "o" * 16,
           "SOHO_FTP_PASSWORD_SECRET": "f" * 32, "SOHO_AUTH_TOKEN_SECRET": "a" * 32, "SOHO_NODE_API_SECRET": "n" * 32}
    with _pytest.raises(RuntimeError, match="SOHO_REGISTRY_PASSWORDS"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "SOHO_REGISTRY_PASSWORDS": '{"afnic": "x"}'}).registry_passwords_json
    assert SECRET_PARAMETERS["SOHO_REGISTRY_PASSWORDS"] == "RegistryPasswords"
