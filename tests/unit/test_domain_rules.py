"""Rules R35-R42 on the pure functions of chalicelib/domain/domains.py.

Complements tests/unit/test_domains.py (which pins example names for R36): here the routing
table is walked entry by entry, the name validation is checked as properties (hypothesis), and
the transfer windows (R38), the retention right (R39), the renewal duty (R41), the dossier (R37),
the domain lifecycle (R37-R42) and the registry-call backoff are tested at their edges.
"""
from __future__ import annotations

import itertools
import string
from datetime import date, timedelta

import idna
import pytest
from hypothesis import assume, given, strategies as st

from chalicelib.domain.contracts import ContractState
from chalicelib.domain.domains import (
    AFNIC,
    AVAILABILITY_DISCLAIMER,
    AVAILABILITY_DISCLAIMER_FR,
    CONTRACT_STATES_IN_FORCE,
    DOMAIN_TRANSITIONS,
    EURID,
    NETWORK_SOLUTIONS,
    PROVIDER_RENEWED,
    REGISTRY_BY_TLD,
    SUBCONTRACTOR,
    TRANSFER_MIN_DAYS_AFTER_CREATION,
    TRANSFER_MIN_DAYS_BEFORE_EXPIRY,
    DomainEvent,
    DomainStatus,
    DomainTransitionError,
    SumOwed,
    check_transfer_out,
    check_transfer_window,
    domain_statuses_accepting,
    dossier_missing,
    next_domain_status,
    normalise_domain,
    registry_for,
    renewal_action,
    renewed_by_provider,
    retry_delay_seconds,
)
from chalicelib.domain.errors import InvalidInputError, RuleViolationError

REGISTRIES = (AFNIC, EURID, NETWORK_SOLUTIONS, SUBCONTRACTOR)
SUPPORTED_TLDS = sorted(REGISTRY_BY_TLD)

# ---- strategies ------------------------------------------------------------------------------------
_ALNUM = string.ascii_lowercase + string.digits
_LDH = _ALNUM + "-"


@st.composite
def ldh_labels(draw, min_size: int = 1, max_size: int = 63) -> str:
    """A valid LDH label: [a-z0-9-], 1-63 chars, no hyphen at either end, no '--' at 3-4."""
    size = draw(st.integers(min_size, max_size))
    if size == 1:
        return draw(st.sampled_from(_ALNUM))
    first = draw(st.sampled_from(_ALNUM))
    last = draw(st.sampled_from(_ALNUM))
    middle = draw(st.text(alphabet=_LDH, min_size=size - 2, max_size=size - 2))
    label = first + middle + last
    assume(label[2:4] != "--")
    return label


supported_tlds = st.sampled_from(SUPPORTED_TLDS)


@st.composite
def valid_ascii_names(draw) -> str:
    """1-3 LDH labels and a supported TLD: at most 3 * 64 + 4 = 196 octets, under the 253 limit."""
    labels = draw(st.lists(ldh_labels(), min_size=1, max_size=3))
    return ".".join(labels + [draw(supported_tlds)])


def _mixed_case(draw, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips))


def _refused(name: str) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        normalise_domain(name)
    error = info.value
    assert error.code == "invalid_domain_name"
    assert "domain.name" in error.fields
    assert not isinstance(error, RuleViolationError)
    return error


# =====================================================================================================
# R35: availability wording
# =====================================================================================================

def test_R35_availability_answer_carries_the_no_guarantee_disclaimer_in_both_languages():
    assert "no guarantee" in AVAILABILITY_DISCLAIMER and "10.1" in AVAILABILITY_DISCLAIMER
    assert "ne constitue pas un gage" in AVAILABILITY_DISCLAIMER_FR and "10.1" in AVAILABILITY_DISCLAIMER_FR


# =====================================================================================================
# R36: routing table
# =====================================================================================================

def test_R36_routing_table_holds_exactly_the_offered_tlds():
    assert REGISTRY_BY_TLD == {
        "fr": "afnic", "re": "afnic",
        "eu": "eurid",
        "com": "network_solutions", "net": "network_solutions", "org": "network_solutions",
        "biz": "network_solutions", "info": "network_solutions",
        "uk": "subcontractor", "es": "subcontractor", "de": "subcontractor",
    }


@pytest.mark.parametrize("tld, registry", sorted(REGISTRY_BY_TLD.items()))
def test_R36_every_tld_of_the_table_routes_to_its_registry(tld, registry):
    assert registry_for(f"example.{tld}") == registry
    # and after normalisation of a user-typed form (case, root dot)
    assert registry_for(normalise_domain(f"Example.{tld.upper()}.")) == registry


@pytest.mark.parametrize("zone, registry", [
    ("asso.fr", AFNIC), ("gouv.fr", AFNIC), ("nom.fr", AFNIC), ("com.fr", AFNIC), ("tm.fr", AFNIC),
    ("co.uk", SUBCONTRACTOR), ("org.uk", SUBCONTRACTOR), ("me.uk", SUBCONTRACTOR),
    ("com.de", SUBCONTRACTOR), ("com.es", SUBCONTRACTOR), ("nom.es", SUBCONTRACTOR),
])
def test_R36_second_level_zones_route_like_their_tld(zone, registry):
    assert registry_for(normalise_domain(f"mon-club.{zone}")) == registry


@given(labels=st.lists(ldh_labels(max_size=20), min_size=1, max_size=4), tld=supported_tlds)
def test_R36_routing_depends_only_on_the_last_label(labels, tld):
    """R36: whatever the labels in front (asso.fr-like zones, sub-domains), the TLD decides."""
    name = normalise_domain(".".join(labels + [tld]))
    assert registry_for(name) == REGISTRY_BY_TLD[tld]


@pytest.mark.parametrize("name, tld", [
    ("startup.io", "io"), ("acme.fr.io", "io"), ("acme.eu.org.ch", "ch"), ("acme.fra", "fra"),
    ("acme.paris", "paris"), ("acme.xn--p1ai", "xn--p1ai"), ("acme.co", "co"), ("acme.us", "us"),
])
def test_R36_unsupported_tld_is_refused_naming_it_and_the_supported_list(name, tld):
    with pytest.raises(RuleViolationError) as info:
        registry_for(normalise_domain(name))
    error = info.value
    assert error.code == "unsupported_tld"
    assert not isinstance(error, InvalidInputError)
    assert f".{tld} " in error.message
    assert error.fields["domain.name"] == f".{tld} not offered"
    for supported in SUPPORTED_TLDS:
        assert f".{supported}" in error.message


@given(labels=st.lists(ldh_labels(max_size=20), min_size=1, max_size=3),
       tld=st.text(alphabet=_ALNUM, min_size=2, max_size=12))
def test_R36_any_tld_outside_the_table_is_refused_with_unsupported_tld(labels, tld):
    assume(tld not in REGISTRY_BY_TLD)
    with pytest.raises(RuleViolationError) as info:
        registry_for(".".join(labels + [tld]))
    assert info.value.code == "unsupported_tld"
    assert "supported TLDs: " + ", ".join("." + t for t in SUPPORTED_TLDS) in info.value.message


# =====================================================================================================
# R36: IDNA / label validation
# =====================================================================================================

@given(name=valid_ascii_names())
def test_R36_valid_ldh_name_with_a_supported_tld_is_accepted_unchanged(name):
    assert normalise_domain(name) == name
    assert registry_for(normalise_domain(name)) == REGISTRY_BY_TLD[name.rsplit(".", 1)[1]]


@given(data=st.data(), name=valid_ascii_names(), trailing_dot=st.booleans())
def test_R36_case_and_a_trailing_dot_do_not_matter(data, name, trailing_dot):
    typed = _mixed_case(data.draw, name) + ("." if trailing_dot else "")
    assert normalise_domain(typed) == name


@given(labels=st.lists(ldh_labels(max_size=30), min_size=0, max_size=2),
       long_label=st.text(alphabet=_ALNUM, min_size=64, max_size=120),
       position=st.integers(0, 2), tld=supported_tlds)
def test_R36_a_label_longer_than_63_characters_is_refused(labels, long_label, position, tld):
    labels.insert(min(position, len(labels)), long_label)
    _refused(".".join(labels + [tld]))


@given(total=st.integers(254, 400), tld=supported_tlds)
def test_R36_a_name_longer_than_253_octets_is_refused(total, tld):
    # valid labels only (each <= 63): only the total length is wrong
    body = total - len(tld) - 1
    labels = []
    while body > 63:
        labels.append("a" * 62)
        body -= 63                      # the label and its dot
    labels.append("a" * body)           # 1..63 characters left
    name = ".".join(labels + [tld])
    assert len(name) == total and all(1 <= len(label) <= 63 for label in labels)
    _refused(name)


@given(labels=st.lists(ldh_labels(max_size=20), min_size=1, max_size=3), tld=supported_tlds,
       position=st.integers(0, 3), where=st.sampled_from(["start", "end", "both"]))
def test_R36_a_label_starting_or_ending_with_a_hyphen_is_refused(labels, tld, position, where):
    all_labels = labels + [tld]
    index = min(position, len(all_labels) - 1)
    label = all_labels[index]
    all_labels[index] = ("-" if where in ("start", "both") else "") + label + ("-" if where in ("end", "both") else "")
    _refused(".".join(all_labels))


@given(label=ldh_labels(max_size=30), tld=supported_tlds, at=st.integers(0, 30),
       bad=st.sampled_from(list("_ !@#$%&*()+=,;:/\\?'\"<>[]{}|~`^") + ["\t", "\x00", "\x7f"]))
def test_R36_characters_outside_letters_digits_hyphen_are_refused(label, tld, at, bad):
    at = min(at, len(label))
    if bad.isspace():
        at = max(at, 1)  # surrounding whitespace is trimmed on purpose: only inner whitespace is refused
    _refused(f"{label[:at]}{bad}{label[at:]}.{tld}")


@pytest.mark.parametrize("name", ["ab--cd.fr", "xn--.fr", "xn--a.fr", "xn--ab--c.fr", "a\u200db.fr"])
def test_R36_hyphens_in_positions_3_4_or_a_broken_a_label_are_refused(name):
    _refused(name)


@given(st.text(max_size=80))
def test_R36_any_input_is_either_refused_as_input_or_a_valid_ldh_name(text):
    """R36: whatever is typed, normalise_domain answers a valid A-label name or InvalidInputError
    `invalid_domain_name` (never another exception that would surface as a 500)."""
    try:
        result = normalise_domain(text)
    except InvalidInputError as error:
        assert error.code == "invalid_domain_name"
        return
    labels = result.split(".")
    assert len(labels) >= 2 and len(result) <= 253
    assert all(1 <= len(lab) <= 63 and set(lab) <= set(_LDH) and lab[0] != "-" and lab[-1] != "-" for lab in labels)
    assert normalise_domain(result) == result


@pytest.mark.parametrize("name, ascii_form", [
    # IDNA 2008 / UTS 46 non-transitional: the sharp s is kept (not mapped to 'ss')
    ("straße.de", "xn--strae-oqa.de"),
    ("Straße.DE", "xn--strae-oqa.de"),
    ("ß.de", "xn--zca.de"),
    ("éxample.com", "xn--xample-9ua.com"),
    ("ÉXAMPLE.COM.", "xn--xample-9ua.com"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("hôtel.fr", "xn--htel-vqa.fr"),
    ("club-français.asso.fr", "xn--club-franais-sdb.asso.fr"),
    ("acme\u3002fr", "acme.fr"),            # ideographic full stop is a dot under UTS 46
    ("ＡＣＭＥ.fr", "acme.fr"),               # full-width letters are mapped
])
def test_R36_unicode_names_normalise_to_their_a_label(name, ascii_form):
    assert normalise_domain(name) == ascii_form
    assert normalise_domain(ascii_form) == ascii_form


def test_R36_straße_is_not_the_same_name_as_strasse():
    assert normalise_domain("straße.de") != normalise_domain("strasse.de") == "strasse.de"


_UNICODE_ALPHABET = "abcdeéèàçôüß"


@given(labels=st.lists(st.text(alphabet=_UNICODE_ALPHABET, min_size=1, max_size=12), min_size=1, max_size=3),
       tld=supported_tlds)
def test_R36_unicode_names_become_a_labels_and_normalising_again_is_idempotent(labels, tld):
    name = ".".join(labels + [tld])
    result = normalise_domain(name)
    assert result.isascii()
    assert normalise_domain(result) == result
    for label, a_label in zip(labels, result.split(".")):
        if label.isascii():
            assert a_label == label
        else:
            assert a_label.startswith("xn--")
    # the A-label decodes back to the typed U-label form
    assert idna.decode(result) == name
    assert registry_for(result) == REGISTRY_BY_TLD[tld]


@given(labels=st.lists(st.text(alphabet=_UNICODE_ALPHABET.replace("ß", ""), min_size=1, max_size=12),
                       min_size=1, max_size=3),
       tld=supported_tlds, trailing_dot=st.booleans(), data=st.data())
def test_R36_case_and_trailing_dot_do_not_matter_for_unicode_names(labels, tld, trailing_dot, data):
    name = ".".join(labels + [tld])
    typed = _mixed_case(data.draw, name) + ("." if trailing_dot else "")
    assert normalise_domain(typed) == normalise_domain(name)


# =====================================================================================================
# R38: transfer-in window
# =====================================================================================================

CREATED = date(2023, 3, 10)
FAR_EXPIRY = date(2030, 1, 1)


def test_R38_limits_are_60_days_after_creation_and_45_before_expiry():
    assert TRANSFER_MIN_DAYS_AFTER_CREATION == 60
    assert TRANSFER_MIN_DAYS_BEFORE_EXPIRY == 45


def test_R38_transfer_60_days_after_creation_passes():
    assert check_transfer_window(CREATED, FAR_EXPIRY, CREATED + timedelta(days=60)) is None


@pytest.mark.parametrize("days", [0, 1, 30, 59])
def test_R38_transfer_59_days_or_less_after_creation_fails(days):
    today = CREATED + timedelta(days=days)
    with pytest.raises(RuleViolationError) as info:
        check_transfer_window(CREATED, FAR_EXPIRY, today)
    error = info.value
    assert error.code == "transfer_window_closed"
    assert CREATED.isoformat() in error.message
    opens = (CREATED + timedelta(days=60)).isoformat()
    assert opens in error.message
    assert error.fields["opens_on"] == opens
    assert error.fields["domain.name"] == f"created {days} days ago; 60 needed"


@pytest.mark.parametrize("created, opens", [
    (date(2024, 1, 1), date(2024, 3, 1)),    # leap year: 31 + 29
    (date(2023, 1, 1), date(2023, 3, 2)),    # common year: 31 + 28 + 1
    (date(2023, 11, 15), date(2024, 1, 14)),  # across a year end
])
def test_R38_opening_date_is_60_calendar_days_after_creation(created, opens):
    with pytest.raises(RuleViolationError) as info:
        check_transfer_window(created, FAR_EXPIRY, opens - timedelta(days=1))
    assert info.value.fields["opens_on"] == opens.isoformat()
    check_transfer_window(created, FAR_EXPIRY, opens)


def test_R38_transfer_45_days_before_expiry_passes():
    expires = date(2025, 6, 30)
    assert check_transfer_window(CREATED, expires, expires - timedelta(days=45)) is None


@pytest.mark.parametrize("days_left", [44, 30, 1, 0, -5])
def test_R38_transfer_44_days_or_less_before_expiry_fails(days_left):
    expires = date(2025, 6, 30)
    with pytest.raises(RuleViolationError) as info:
        check_transfer_window(CREATED, expires, expires - timedelta(days=days_left))
    error = info.value
    assert error.code == "transfer_window_closed"
    assert expires.isoformat() in error.message
    assert "45 days" in error.message
    assert error.fields["domain.name"] == f"expires in {days_left} days; 45 needed"


def test_R38_when_both_limits_fail_the_creation_limit_is_reported():
    created = date(2025, 1, 1)
    with pytest.raises(RuleViolationError) as info:
        check_transfer_window(created, created + timedelta(days=40), created + timedelta(days=10))
    assert info.value.code == "transfer_window_closed"
    assert created.isoformat() in info.value.message and "opens_on" in info.value.fields


@given(created=st.dates(date(2015, 1, 1), date(2030, 12, 31)),
       since=st.integers(-10, 400), length=st.integers(1, 3700))
def test_R38_window_passes_iff_60_days_after_creation_and_45_before_expiry(created, since, length):
    today = created + timedelta(days=since)
    expires = created + timedelta(days=length)
    should_pass = (today - created).days >= 60 and (expires - today).days >= 45
    if should_pass:
        check_transfer_window(created, expires, today)
    else:
        with pytest.raises(RuleViolationError) as info:
            check_transfer_window(created, expires, today)
        assert info.value.code == "transfer_window_closed"


# =====================================================================================================
# R39: transfer-out and the retention right
# =====================================================================================================

TODAY = date(2025, 5, 20)
ENDS = date(2026, 1, 31)


def test_R39_in_force_states_are_real_contract_states():
    assert CONTRACT_STATES_IN_FORCE <= {s.value for s in ContractState}


@pytest.mark.parametrize("status", sorted(CONTRACT_STATES_IN_FORCE))
def test_R39_nothing_owed_and_contract_in_force_lets_the_transfer_out_pass(status):
    assert check_transfer_out(status, ENDS, TODAY, []) is None
    assert check_transfer_out(status, ENDS, TODAY, ()) is None


def test_R39_the_day_before_the_contract_end_still_passes():
    assert check_transfer_out("active", ENDS, ENDS - timedelta(days=1), []) is None


@pytest.mark.parametrize("today", [ENDS, ENDS + timedelta(days=1), ENDS + timedelta(days=400)])
def test_R39_on_or_after_the_contract_end_is_contract_not_in_force(today):
    with pytest.raises(RuleViolationError) as info:
        check_transfer_out("active", ENDS, today, [])
    assert info.value.code == "contract_not_in_force"
    assert ENDS.isoformat() in info.value.message


@pytest.mark.parametrize("status", sorted({s.value for s in ContractState} - CONTRACT_STATES_IN_FORCE))
def test_R39_contract_not_in_force_is_refused(status):
    with pytest.raises(RuleViolationError) as info:
        check_transfer_out(status, ENDS, TODAY, [])
    error = info.value
    assert error.code == "contract_not_in_force"
    assert status in error.message and ENDS.isoformat() in error.message
    assert error.fields == {"contract": status}


@pytest.mark.parametrize("status", ["expired", "cancelled", "withdrawn", "terminated", "renewed",
                                    "data_deleted", "void", "awaiting_payment"])
def test_R39_ended_or_never_started_contracts_are_not_in_force(status):
    assert status not in CONTRACT_STATES_IN_FORCE


@pytest.mark.parametrize("due", [TODAY - timedelta(days=30), TODAY, TODAY + timedelta(days=15)],
                         ids=["overdue", "due_today", "not_yet_due"])
def test_R39_any_sum_owed_overdue_or_not_yet_due_triggers_the_retention_right(due):
    owed = [SumOwed("F2025-0042", 11988, due)]
    with pytest.raises(RuleViolationError) as info:
        check_transfer_out("active", ENDS, TODAY, owed)
    error = info.value
    assert error.code == "retention_right"
    assert "F2025-0042" in error.message and "11988" in error.message
    assert due.isoformat() in error.message
    assert error.fields == {"owed_cents": "11988", "invoices": "F2025-0042"}


def test_R39_retention_message_lists_every_invoice_and_the_total():
    owed = [SumOwed("F-1", 1000, TODAY - timedelta(days=3)), SumOwed("F-2", 2550, TODAY + timedelta(days=20)),
            SumOwed("F-3", 1, TODAY)]
    with pytest.raises(RuleViolationError) as info:
        check_transfer_out("suspended", ENDS, TODAY, owed)
    error = info.value
    assert error.code == "retention_right"
    assert "3551 cents are owed" in error.message
    for number in ("F-1", "F-2", "F-3"):
        assert number in error.message
    assert error.fields == {"owed_cents": "3551", "invoices": "F-1, F-2, F-3"}


@given(status=st.sampled_from(sorted(CONTRACT_STATES_IN_FORCE)),
       owed=st.lists(st.builds(SumOwed,
                               number=st.from_regex(r"F[0-9]{4}-[0-9]{4}", fullmatch=True),
                               total_cents=st.integers(1, 10_000_000),
                               due_date=st.dates(date(2024, 1, 1), date(2026, 12, 31))),
                     min_size=1, max_size=6))
def test_R39_property_any_nonempty_sum_owed_refuses_with_total_and_numbers(status, owed):
    with pytest.raises(RuleViolationError) as info:
        check_transfer_out(status, ENDS, TODAY, owed)
    error = info.value
    assert error.code == "retention_right"
    total = sum(s.total_cents for s in owed)
    assert f"{total} cents are owed" in error.message
    assert error.fields["owed_cents"] == str(total)
    for s in owed:
        assert s.number in error.message and s.number in error.fields["invoices"]


# =====================================================================================================
# R41: renewal duty
# =====================================================================================================

@pytest.mark.parametrize("registry, ours", [
    (AFNIC, True), (NETWORK_SOLUTIONS, True), (EURID, False), (SUBCONTRACTOR, False),
    ("", False), ("gandi", False),
])
def test_R41_provider_renews_only_afnic_and_network_solutions_domains(registry, ours):
    assert renewed_by_provider(registry) is ours


def test_R41_provider_renewed_set_is_afnic_and_network_solutions():
    assert PROVIDER_RENEWED == {"afnic", "network_solutions"}


@pytest.mark.parametrize("registry, up_to_date, managed, days_left, lead, expected", [
    # management stopped: nothing, whatever else
    (AFNIC, True, False, 5, 30, "none"),
    (EURID, True, False, 5, 30, "none"),
    (NETWORK_SOLUTIONS, False, False, 0, 30, "none"),
    # the customer renews: remind, whatever the payments and the date
    (EURID, True, True, 5, 30, "remind"),
    (EURID, False, True, 100, 30, "remind"),
    (SUBCONTRACTOR, True, True, 0, 30, "remind"),
    (SUBCONTRACTOR, False, True, 90, 30, "remind"),
    # ours but a sum is overdue
    (AFNIC, False, True, 5, 30, "remind_payment"),
    (NETWORK_SOLUTIONS, False, True, 100, 30, "remind_payment"),
    # ours and up to date: renew inside the lead time (edge included), wait before
    (AFNIC, True, True, 30, 30, "renew"),
    (AFNIC, True, True, 31, 30, "wait"),
    (NETWORK_SOLUTIONS, True, True, 0, 30, "renew"),
    (NETWORK_SOLUTIONS, True, True, -2, 30, "renew"),
    (NETWORK_SOLUTIONS, True, True, 365, 30, "wait"),
])
def test_R41_renewal_action_truth_table(registry, up_to_date, managed, days_left, lead, expected):
    assert renewal_action(registry, up_to_date=up_to_date, managed=managed, days_left=days_left,
                          lead_days=lead) == expected


@given(registry=st.sampled_from(REGISTRIES), up_to_date=st.booleans(), managed=st.booleans(),
       days_left=st.integers(-30, 400), lead=st.integers(0, 90))
def test_R41_renewal_action_property(registry, up_to_date, managed, days_left, lead):
    action = renewal_action(registry, up_to_date=up_to_date, managed=managed, days_left=days_left, lead_days=lead)
    if not managed:
        expected = "none"
    elif registry in (EURID, SUBCONTRACTOR):
        expected = "remind"
    elif not up_to_date:
        expected = "remind_payment"
    else:
        expected = "renew" if days_left <= lead else "wait"
    assert action == expected
    # the provider never renews a domain that is not its own to renew
    if action == "renew":
        assert renewed_by_provider(registry) and managed and up_to_date


# =====================================================================================================
# R37: the dossier
# =====================================================================================================

ADDRESS = {"line1": "1 rue de la Paix", "city": "Paris", "postcode": "75002", "country": "FR"}
COMPLETE = dict(siren="123456789", email="jane@example.org", phone="+33.612345678", address=ADDRESS)


@pytest.mark.parametrize("registry", REGISTRIES)
@pytest.mark.parametrize("kind", ["consumer", "professional"])
def test_R37_complete_dossier_lacks_nothing(registry, kind):
    assert dossier_missing(registry, kind=kind, **COMPLETE) == []


@pytest.mark.parametrize("siren", [None, ""])
def test_R37_afnic_professional_without_siren_lacks_the_siren(siren):
    assert dossier_missing(AFNIC, kind="professional", **{**COMPLETE, "siren": siren}) == ["siren"]


def test_R37_afnic_consumer_needs_no_siren():
    assert dossier_missing(AFNIC, kind="consumer", **{**COMPLETE, "siren": None}) == []


@pytest.mark.parametrize("registry", [EURID, NETWORK_SOLUTIONS, SUBCONTRACTOR])
def test_R37_only_afnic_needs_a_professional_siren(registry):
    assert dossier_missing(registry, kind="professional", **{**COMPLETE, "siren": None}) == []


@pytest.mark.parametrize("field", ["email", "phone"])
@pytest.mark.parametrize("value", [None, ""])
def test_R37_missing_contact_field_is_listed(field, value):
    assert dossier_missing(EURID, kind="consumer", **{**COMPLETE, field: value}) == [field]


@pytest.mark.parametrize("address", [
    None, {},
    {k: v for k, v in ADDRESS.items() if k != "line1"},
    {k: v for k, v in ADDRESS.items() if k != "city"},
    {k: v for k, v in ADDRESS.items() if k != "postcode"},
    {k: v for k, v in ADDRESS.items() if k != "country"},
    {**ADDRESS, "postcode": ""},
    {**ADDRESS, "city": None},
], ids=["none", "empty", "no_line1", "no_city", "no_postcode", "no_country", "blank_postcode", "null_city"])
def test_R37_incomplete_address_is_listed(address):
    assert dossier_missing(NETWORK_SOLUTIONS, kind="consumer", **{**COMPLETE, "address": address}) == ["address"]


def test_R37_address_with_extra_lines_is_complete():
    assert dossier_missing(AFNIC, kind="consumer", **{**COMPLETE, "address": {**ADDRESS, "line2": ""}}) == []


def test_R37_an_empty_afnic_professional_dossier_lists_everything():
    assert dossier_missing(AFNIC, kind="professional", siren=None, email=None, phone=None,
                           address=None) == ["email", "phone", "address", "siren"]


@given(registry=st.sampled_from(REGISTRIES), kind=st.sampled_from(["consumer", "professional"]),
       drop=st.sets(st.sampled_from(["siren", "email", "phone", "address"])))
def test_R37_dossier_missing_property(registry, kind, drop):
    fields = {k: (None if k in drop else v) for k, v in COMPLETE.items()}
    expected = {"email", "phone", "address"} & drop
    if registry == AFNIC and kind == "professional" and "siren" in drop:
        expected.add("siren")
    missing = dossier_missing(registry, kind=kind, **fields)
    assert set(missing) == expected and len(missing) == len(expected)


# =====================================================================================================
# R37-R42: the domain lifecycle
# =====================================================================================================

S, E = DomainStatus, DomainEvent

EXPECTED_TRANSITIONS = {
    (S.ORDERED, E.REGISTRATION_SENT): S.REGISTRATION_PENDING,     # R37
    (S.ORDERED, E.TRANSFER_SENT): S.TRANSFER_PENDING,             # R38
    (S.ORDERED, E.REGISTERED): S.ACTIVE,                          # R37, synchronous 1000
    (S.ORDERED, E.REFUSED): S.REGISTRATION_REFUSED,               # R37
    (S.ORDERED, E.TRANSFER_REJECTED): S.TRANSFER_FAILED,          # R38
    (S.REGISTRATION_PENDING, E.REGISTERED): S.ACTIVE,             # R37
    (S.REGISTRATION_PENDING, E.REFUSED): S.REGISTRATION_REFUSED,  # R37
    (S.TRANSFER_PENDING, E.TRANSFERRED_IN): S.ACTIVE,             # R38
    (S.TRANSFER_PENDING, E.TRANSFER_REJECTED): S.TRANSFER_FAILED, # R38
    (S.REGISTRATION_REFUSED, E.RETRIED): S.ORDERED,               # R37
    (S.TRANSFER_FAILED, E.RETRIED): S.ORDERED,                    # R38
    (S.ACTIVE, E.TRANSFERRED_OUT): S.TRANSFERRED_OUT,             # R39/R42
    (S.ACTIVE, E.DELETED): S.CANCELLED,                           # R42
    (S.ACTIVE, E.MANAGEMENT_STOPPED): S.UNMANAGED,                # R40/R19
    (S.UNMANAGED, E.MANAGEMENT_RESUMED): S.ACTIVE,                # R40
    (S.UNMANAGED, E.TRANSFERRED_OUT): S.TRANSFERRED_OUT,          # R39/R42
    (S.UNMANAGED, E.DELETED): S.CANCELLED,                        # R42
}

ILLEGAL_PAIRS = [(s, e) for s, e in itertools.product(DomainStatus, DomainEvent) if (s, e) not in DOMAIN_TRANSITIONS]


def test_R37_R42_lifecycle_table_is_the_specified_one():
    assert DOMAIN_TRANSITIONS == EXPECTED_TRANSITIONS


@pytest.mark.parametrize("status, event", sorted(DOMAIN_TRANSITIONS, key=lambda k: (k[0].value, k[1].value)),
                         ids=lambda v: v.value)
def test_R37_R42_every_listed_move_works_with_enums_and_strings(status, event):
    target = DOMAIN_TRANSITIONS[(status, event)]
    assert next_domain_status(status, event) is target
    assert next_domain_status(status.value, event.value) is target
    assert isinstance(target, DomainStatus)


@pytest.mark.parametrize("event, target", [
    (E.REGISTRATION_SENT, S.REGISTRATION_PENDING), (E.TRANSFER_SENT, S.TRANSFER_PENDING),
    (E.REGISTERED, S.ACTIVE), (E.REFUSED, S.REGISTRATION_REFUSED), (E.TRANSFER_REJECTED, S.TRANSFER_FAILED),
], ids=lambda v: v.value)
def test_R37_R42_a_row_without_status_is_ordered(event, target):
    assert next_domain_status(None, event) is target
    assert next_domain_status(None, event.value) is target


def test_R37_R42_a_row_without_status_refuses_what_ordered_refuses():
    with pytest.raises(DomainTransitionError) as info:
        next_domain_status(None, "transferred_in")
    assert info.value.current == "ordered" and info.value.event == "transferred_in"


@pytest.mark.parametrize("status, event", ILLEGAL_PAIRS, ids=lambda v: v.value)
def test_R37_R42_every_move_not_in_the_table_raises_domain_state_conflict(status, event):
    for current, ev in ((status, event), (status.value, event.value)):
        with pytest.raises(DomainTransitionError) as info:
            next_domain_status(current, ev)
        error = info.value
        assert isinstance(error, RuleViolationError)
        assert error.code == "domain_state_conflict"
        assert error.current == status.value and error.event == event.value
        assert status.value in error.message and f"'{event.value}'" in error.message
        assert error.fields == {"domain.status": status.value}


def test_R37_R42_the_table_and_the_illegal_pairs_cover_every_pair():
    assert len(DOMAIN_TRANSITIONS) + len(ILLEGAL_PAIRS) == len(DomainStatus) * len(DomainEvent)


@pytest.mark.parametrize("event, statuses", [
    (E.REGISTRATION_SENT, ["ordered"]),
    (E.TRANSFER_SENT, ["ordered"]),
    (E.REGISTERED, ["ordered", "registration_pending"]),
    (E.REFUSED, ["ordered", "registration_pending"]),
    (E.TRANSFERRED_IN, ["transfer_pending"]),
    (E.TRANSFER_REJECTED, ["ordered", "transfer_pending"]),
    (E.RETRIED, ["registration_refused", "transfer_failed"]),
    (E.TRANSFERRED_OUT, ["active", "unmanaged"]),
    (E.DELETED, ["active", "unmanaged"]),
    (E.MANAGEMENT_STOPPED, ["active"]),
    (E.MANAGEMENT_RESUMED, ["unmanaged"]),
], ids=lambda v: getattr(v, "value", "-"))
def test_R37_R42_domain_statuses_accepting(event, statuses):
    assert domain_statuses_accepting(event) == statuses
    assert domain_statuses_accepting(event.value) == statuses


@pytest.mark.parametrize("event", list(DomainEvent), ids=lambda v: v.value)
def test_R37_R42_statuses_accepting_agrees_with_next_domain_status(event):
    accepting = domain_statuses_accepting(event)
    assert accepting == sorted(accepting)
    for status in DomainStatus:
        try:
            next_domain_status(status, event)
            moves = True
        except DomainTransitionError:
            moves = False
        assert moves is (status.value in accepting)


@pytest.mark.parametrize("start", [S.REGISTRATION_REFUSED, S.TRANSFER_FAILED], ids=lambda v: v.value)
def test_R37_R38_refused_or_failed_only_moves_by_a_retry(start):
    assert domain_statuses_accepting(E.RETRIED).count(start.value) == 1
    assert [e for (s, e) in DOMAIN_TRANSITIONS if s == start] == [E.RETRIED]
    assert next_domain_status(start, E.RETRIED) is S.ORDERED


@pytest.mark.parametrize("start", [S.REGISTRATION_REFUSED, S.TRANSFER_FAILED], ids=lambda v: v.value)
def test_R37_R38_refused_or_failed_never_reaches_active_without_a_retry(start):
    """Graph search over every move except `retried`: active is unreachable."""
    seen, frontier = {start}, [start]
    while frontier:
        current = frontier.pop()
        for (s, e), target in DOMAIN_TRANSITIONS.items():
            if s == current and e != E.RETRIED and target not in seen:
                seen.add(target)
                frontier.append(target)
    assert S.ACTIVE not in seen


@given(start=st.sampled_from([S.REGISTRATION_REFUSED, S.TRANSFER_FAILED]),
       events=st.lists(st.sampled_from(list(DomainEvent)), max_size=25))
def test_R37_R38_property_refused_or_failed_reaches_active_only_after_a_retry(start, events):
    status, retried = start, False
    for event in events:
        try:
            status = next_domain_status(status, event)
        except DomainTransitionError:
            continue
        retried = retried or event is E.RETRIED
        if status is S.ACTIVE:
            assert retried


@pytest.mark.parametrize("final", [S.TRANSFERRED_OUT, S.CANCELLED], ids=lambda v: v.value)
def test_R39_R42_transferred_out_and_cancelled_are_final(final):
    assert not [key for key in DOMAIN_TRANSITIONS if key[0] == final]
    for event in DomainEvent:
        with pytest.raises(DomainTransitionError):
            next_domain_status(final, event)


def test_R37_R42_every_status_is_reachable_from_ordered():
    seen, frontier = {S.ORDERED}, [S.ORDERED]
    while frontier:
        current = frontier.pop()
        for (s, _), target in DOMAIN_TRANSITIONS.items():
            if s == current and target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(DomainStatus)


# =====================================================================================================
# Registry-call backoff
# =====================================================================================================

@pytest.mark.parametrize("attempt, expected", [(1, 60), (2, 120), (3, 240), (4, 480), (5, 960), (6, 1920),
                                               (7, 3600), (8, 3600), (100, 3600)])
def test_R37_R38_retry_delay_doubles_from_the_base_and_is_capped(attempt, expected):
    assert retry_delay_seconds(attempt) == expected


@pytest.mark.parametrize("attempt", [0, -1, -50])
def test_R37_R38_retry_delay_before_the_first_attempt_is_the_base(attempt):
    assert retry_delay_seconds(attempt) == 60


@given(attempt=st.integers(1, 200), base=st.integers(1, 600), cap=st.integers(1, 86_400))
def test_R37_R38_retry_delay_property(attempt, base, cap):
    delay = retry_delay_seconds(attempt, base_seconds=base, cap_seconds=cap)
    assert delay == min(cap, base * 2 ** (attempt - 1))
    assert delay <= cap
    nxt = retry_delay_seconds(attempt + 1, base_seconds=base, cap_seconds=cap)
    assert nxt == min(cap, 2 * delay)
    assert nxt >= delay
