"""R40 (domain management): the zone of a managed domain (default records, validation, serial,
master-file text) and the SetDnsZone / RemoveDnsZone wire models sent to the node."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from dnslib import QTYPE, RR
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.contracts.node_messages import (CommandApplied, DnsRecordV1, RemoveDnsZone, SetDnsZone,
                                                node_command_adapter, node_result_adapter)
from chalicelib.domain.dns_zones import (DnsRecord, default_zone, render_zone, validate_records, valid_hostname,
                                         zone_serial)
from chalicelib.domain.errors import InvalidInputError

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
IP = "192.0.2.10"


# --- default_zone ------------------------------------------------------------------------------

def test_R40_default_zone_puts_site_and_mail_on_the_node():
    zone = default_zone("shop.fr", IP)
    assert zone == (
        DnsRecord("@", "A", IP),
        DnsRecord("www", "CNAME", "shop.fr."),
        DnsRecord("mail", "A", IP),
        DnsRecord("@", "MX", "mail.shop.fr.", priority=10),
        DnsRecord("@", "TXT", "v=spf1 a mx -all"),
    )
    assert all(r.ttl == 3600 for r in zone)
    validate_records("shop.fr", zone)


def test_R40_default_zone_names_another_mail_host_and_normalises_the_domain():
    zone = default_zone("Shop.FR.", IP, mail_host="mx.provider.example")
    assert DnsRecord("@", "MX", "mx.provider.example.", priority=10) in zone
    assert DnsRecord("www", "CNAME", "shop.fr.") in zone
    validate_records("shop.fr", zone)


# --- validate_records ----------------------------------------------------------------------------

def test_R40_a_full_zone_of_every_type_is_valid():
    validate_records("shop.fr", [
        DnsRecord("@", "A", IP, ttl=60), DnsRecord("@", "AAAA", "2001:db8::1", ttl=86400),
        DnsRecord("blog", "CNAME", "shop.fr"), DnsRecord("@", "MX", "mx1.example.net.", priority=0),
        DnsRecord("@", "MX", "mx2.example.net.", priority=20), DnsRecord("@", "TXT", "x" * 255),
        DnsRecord("_dmarc", "TXT", "v=DMARC1; p=none"), DnsRecord("sel._domainkey", "TXT", "k=rsa; p=AB"),
        DnsRecord("sub", "NS", "ns.other.example."), DnsRecord("a.b.c", "A", "198.51.100.1"),
    ])


@pytest.mark.parametrize("record, field, code", [
    (DnsRecord("WWW", "A", IP), "name", "invalid_dns_record"),
    (DnsRecord("www.", "A", IP), "name", "invalid_dns_record"),
    (DnsRecord("*", "A", IP), "name", "invalid_dns_record"),
    (DnsRecord("-www", "A", IP), "name", "invalid_dns_record"),
    (DnsRecord("", "A", IP), "name", "invalid_dns_record"),
    (DnsRecord("a" * 64, "A", IP), "name", "invalid_dns_record"),
    (DnsRecord("@", "SRV", "x"), "type", "invalid_dns_record"),
    (DnsRecord("@", "a", IP), "type", "invalid_dns_record"),
    (DnsRecord("@", "A", "256.1.1.1"), "value", "invalid_dns_record"),
    (DnsRecord("@", "A", "2001:db8::1"), "value", "invalid_dns_record"),
    (DnsRecord("@", "A", "010.1.1.1"), "value", "invalid_dns_record"),
    (DnsRecord("@", "AAAA", IP), "value", "invalid_dns_record"),
    (DnsRecord("@", "AAAA", "2001:db8::g"), "value", "invalid_dns_record"),
    (DnsRecord("www", "CNAME", "not a host"), "value", "invalid_dns_record"),
    (DnsRecord("www", "CNAME", "localhost"), "value", "invalid_dns_record"),
    (DnsRecord("@", "MX", "mail..shop.fr", priority=10), "value", "invalid_dns_record"),
    (DnsRecord("@", "NS", "192.0.2.1"), "value", "invalid_dns_record"),
    (DnsRecord("@", "MX", "mail.shop.fr."), "priority", "invalid_dns_record"),
    (DnsRecord("@", "MX", "mail.shop.fr.", priority=65536), "priority", "invalid_dns_record"),
    (DnsRecord("@", "A", IP, priority=10), "priority", "invalid_dns_record"),
    (DnsRecord("@", "TXT", "x" * 256), "value", "invalid_dns_record"),
    (DnsRecord("@", "TXT", "line\nbreak"), "value", "invalid_dns_record"),
    (DnsRecord("@", "TXT", "caf\u00e9"), "value", "invalid_dns_record"),
    (DnsRecord("@", "TXT", ""), "value", "invalid_dns_record"),
    (DnsRecord("@", "A", IP, ttl=59), "ttl", "invalid_dns_record"),
    (DnsRecord("@", "A", IP, ttl=86401), "ttl", "invalid_dns_record"),
    (DnsRecord("@", "CNAME", "other.fr."), "name", "dns_cname_conflict"),
])
def test_R40_a_bad_record_is_refused_naming_the_field(record, field, code):
    with pytest.raises(InvalidInputError) as refused:
        validate_records("shop.fr", [DnsRecord("@", "A", IP), record])
    assert refused.value.code == code
    assert list(refused.value.fields) == [f"records[1].{field}"]


@pytest.mark.parametrize("first, second", [
    (DnsRecord("www", "CNAME", "shop.fr."), DnsRecord("www", "A", IP)),
    (DnsRecord("www", "TXT", "hello"), DnsRecord("www", "CNAME", "shop.fr.")),
    (DnsRecord("www", "CNAME", "shop.fr."), DnsRecord("www", "CNAME", "other.fr.")),
])
def test_R40_a_cname_does_not_coexist_with_other_records_of_its_name(first, second):
    with pytest.raises(InvalidInputError) as refused:
        validate_records("shop.fr", [first, second])
    assert refused.value.code == "dns_cname_conflict"
    assert "records[1].type" in refused.value.fields


def test_R40_the_same_record_twice_is_refused():
    with pytest.raises(InvalidInputError) as refused:
        validate_records("shop.fr", [DnsRecord("@", "MX", "mail.shop.fr", priority=10),
                                     DnsRecord("@", "MX", "mail.shop.fr.", priority=10)])
    assert refused.value.code == "duplicate_dns_record"


def test_R40_a_zone_holds_at_most_50_records():
    records = [DnsRecord(f"h{i}", "A", IP) for i in range(50)]
    validate_records("shop.fr", records)
    with pytest.raises(InvalidInputError) as refused:
        validate_records("shop.fr", records + [DnsRecord("h50", "A", IP)])
    assert refused.value.code == "too_many_dns_records"


@pytest.mark.parametrize("domain", ["", "shop", "Shop.fr", "shop..fr", "-shop.fr"])
def test_R40_the_zone_domain_must_be_a_lower_case_hostname(domain):
    with pytest.raises(InvalidInputError) as refused:
        validate_records(domain, [])
    assert refused.value.code == "invalid_dns_domain"


def test_R40_a_name_too_long_once_joined_to_the_domain_is_refused():
    validate_records("shop.fr", [DnsRecord(".".join(["a" * 49] * 4), "A", IP)])
    long_name = ".".join(["a" * 49] * 5)  # 249 characters, 257 with ".shop.fr": 253 is the limit
    with pytest.raises(InvalidInputError):
        validate_records("shop.fr", [DnsRecord(long_name, "A", IP)])


def test_R40_valid_hostname_takes_a_trailing_dot():
    assert valid_hostname("mail.shop.fr.") and valid_hostname("mail.shop.fr")
    assert not valid_hostname("mail") and not valid_hostname("mail.shop.fr..")
    assert not valid_hostname("192.0.2.1") and valid_hostname("1.example.fr")


# --- zone_serial ---------------------------------------------------------------------------------

def test_R40_zone_serial_is_the_date_and_hundredths_of_the_day():
    assert zone_serial(datetime(2026, 11, 27, 0, 0, tzinfo=timezone.utc)) == 2026112700
    assert zone_serial(datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)) == 2026112750
    assert zone_serial(datetime(2026, 11, 27, 23, 59, 59, tzinfo=timezone.utc)) == 2026112799
    # a local time is read in UTC; a naive one is taken as UTC
    assert zone_serial(datetime(2026, 11, 27, 13, 0, tzinfo=timezone(timedelta(hours=1)))) == 2026112750
    assert zone_serial(datetime(2026, 11, 27, 12, 0)) == 2026112750


def test_R40_zone_serial_after_the_one_in_force_is_always_greater():
    current = zone_serial(T0)
    assert zone_serial(T0, after=current) == current + 1
    assert zone_serial(T0 + timedelta(days=1), after=current) == 2026112841


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2999, 12, 31)),
       st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4000)))
def test_R40_zone_serial_never_decreases_with_time(moment, later):
    if moment + later > datetime(2999, 12, 31):
        return
    first = zone_serial(moment)
    assert zone_serial(moment + later) >= first
    assert zone_serial(moment + later, after=first) > first
    assert str(first)[:8] == moment.strftime("%Y%m%d")


# --- render_zone ---------------------------------------------------------------------------------

def test_R40_render_zone_writes_an_rfc1035_master_file():
    records = default_zone("shop.fr", IP) + (DnsRecord("t", "TXT", 'say "hi" \\ bye', ttl=300),
                                             DnsRecord("@", "NS", "ns1.node.example"),
                                             DnsRecord("@", "AAAA", "2001:db8::1"))
    text = render_zone("shop.fr", records, 2026112741, "ns1.node.example")
    lines = text.splitlines()
    assert "$ORIGIN shop.fr." in lines and "$TTL 3600" in lines
    assert "@\tIN\tSOA\tns1.node.example. hostmaster.shop.fr. ( 2026112741 3600 900 1209600 300 )" in lines
    assert text.count("IN\tNS\tns1.node.example.") == 1  # the primary NS is not repeated
    assert "www\t3600\tIN\tCNAME\tshop.fr." in lines
    assert "@\t3600\tIN\tMX\t10 mail.shop.fr." in lines
    assert '@\t3600\tIN\tTXT\t"v=spf1 a mx -all"' in lines
    # a DNS library reads it back as the same records
    parsed = {(str(rr.rname), QTYPE[rr.rtype], rr.ttl, str(rr.rdata)) for rr in RR.fromZone(text)}
    assert ("shop.fr.", "A", 3600, IP) in parsed
    assert ("mail.shop.fr.", "A", 3600, IP) in parsed
    assert ("www.shop.fr.", "CNAME", 3600, "shop.fr.") in parsed
    assert ("shop.fr.", "MX", 3600, "10 mail.shop.fr.") in parsed
    assert ("shop.fr.", "AAAA", 3600, "2001:db8::1") in parsed
    assert ("shop.fr.", "SOA", 3600, "ns1.node.example. hostmaster.shop.fr. 2026112741 3600 900 1209600 300") in parsed
    [txt] = [rr for rr in RR.fromZone(text) if str(rr.rname) == "t.shop.fr."]
    assert txt.ttl == 300 and [bytes(s) for s in txt.rdata.data] == [b'say "hi" \\ bye']


def test_R40_render_zone_names_another_hostmaster():
    text = render_zone("shop.fr", (), 1, "ns1.node.example.", hostmaster="dns.provider.example")
    assert "ns1.node.example. dns.provider.example. ( 1 " in text


# --- wire models ---------------------------------------------------------------------------------

def _set_zone(**extra) -> SetDnsZone:
    return SetDnsZone(node_id="node-1", command_id="z-1", contract_id="ctr-1", domain="shop.fr", issued_at=T0,
                      serial=2026112741, correlation_id="corr-z",
                      records=[DnsRecordV1(**vars(r)) for r in default_zone("shop.fr", IP)], **extra)


def test_R40_set_dns_zone_round_trips_through_the_command_adapter():
    command = _set_zone()
    parsed = node_command_adapter.validate_json(command.model_dump_json())
    assert isinstance(parsed, SetDnsZone) and parsed == command
    assert parsed.type == "SetDnsZone"
    assert parsed.records[3] == DnsRecordV1(name="@", type="MX", value="mail.shop.fr.", ttl=3600, priority=10)
    assert [DnsRecord(**r.model_dump()) for r in parsed.records] == list(default_zone("shop.fr", IP))


def test_R40_remove_dns_zone_round_trips_and_both_are_confirmed_by_command_applied():
    command = RemoveDnsZone(node_id="node-1", command_id="z-2", contract_id="ctr-1", domain="shop.fr",
                            issued_at=T0, reason="contract ended")
    assert node_command_adapter.validate_python(command.model_dump(mode="json")) == command
    for kind in ("SetDnsZone", "RemoveDnsZone"):
        applied = CommandApplied(node_id="node-1", command_id="z", command_type=kind, contract_id="ctr-1",
                                 domain="shop.fr", completed_at=T0)
        assert node_result_adapter.validate_json(applied.model_dump_json()) == applied


def test_R40_the_zone_wire_models_reject_extra_fields_and_bad_shapes():
    good = _set_zone().model_dump(mode="json")
    with pytest.raises(ValidationError):
        node_command_adapter.validate_python({**good, "primary_ns": "ns.evil.example."})
    with pytest.raises(ValidationError):
        node_command_adapter.validate_python({**good, "records": [{**good["records"][0], "weight": 1}]})
    with pytest.raises(ValidationError):
        node_command_adapter.validate_python({**good, "records": [{**good["records"][0], "type": "SRV"}]})
    with pytest.raises(ValidationError):
        node_command_adapter.validate_python({**good, "records": [{**good["records"][0], "ttl": 30}]})
    with pytest.raises(ValidationError):
        node_command_adapter.validate_python({**good, "records": [good["records"][0]] * 51})
    with pytest.raises(ValidationError):
        node_command_adapter.validate_python({**good, "serial": 0})
    with pytest.raises(ValidationError):
        RemoveDnsZone(node_id="node-1", command_id="z-2", contract_id="ctr-1", domain="shop.fr", issued_at=T0)
    with pytest.raises(ValidationError):  # frozen
        record = DnsRecordV1(name="@", type="A", value=IP)
        record.value = "198.51.100.1"
