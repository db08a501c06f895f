"""Domain names: validation before any registry call and registry routing (R36)."""
from __future__ import annotations

import pytest

from chalicelib.domain.domains import normalise_domain, registry_for
from chalicelib.domain.errors import InvalidInputError, RuleViolationError


def _invalid(name: str) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        normalise_domain(name)
    assert info.value.code == "invalid_domain_name"
    assert "domain.name" in info.value.fields
    return info.value


# --- normalise_domain --------------------------------------------------------------------------

@pytest.mark.parametrize("name, ascii_form", [
    ("café.fr", "xn--caf-dma.fr"),
    ("CAFÉ.FR", "xn--caf-dma.fr"),
    ("École.fr", "xn--cole-9oa.fr"),
    ("xn--caf-dma.fr", "xn--caf-dma.fr"),
])
def test_R36_unicode_names_become_their_idna_ascii_form(name, ascii_form):
    assert normalise_domain(name) == ascii_form


def test_R36_uppercase_is_lowered():
    assert normalise_domain("ACME-Test.FR") == "acme-test.fr"


def test_R36_surrounding_spaces_and_the_root_dot_are_dropped():
    assert normalise_domain("  acme.fr.  ") == "acme.fr"


def test_R36_digits_and_inner_hyphens_are_allowed():
    assert normalise_domain("a-1.b2.fr") == "a-1.b2.fr"


@pytest.mark.parametrize("name", ["", "   ", None, "."])
def test_R36_empty_domain_name_is_refused(name):
    _invalid(name)


@pytest.mark.parametrize("name", ["localhost", "fr", "acme"])
def test_R36_a_name_without_tld_is_refused(name):
    _invalid(name)


@pytest.mark.parametrize("name", ["-acme.fr", "acme-.fr", "acme.-fr", "www.-acme.fr"])
def test_R36_label_starting_or_ending_with_a_hyphen_is_refused(name):
    _invalid(name)


@pytest.mark.parametrize("name", ["my_site.fr", "acme!.fr", "ac me.fr", "acme.fr/x", "a..fr", "..fr"])
def test_R36_label_with_forbidden_characters_or_empty_is_refused(name):
    _invalid(name)


def test_R36_label_of_63_characters_is_accepted():
    label = "a" * 63
    assert normalise_domain(f"{label}.fr") == f"{label}.fr"


def test_R36_label_of_64_characters_is_refused():
    _invalid("a" * 64 + ".fr")


def _name_of_length(total: int) -> str:
    # three full labels plus a filler label and the TLD: 3*63 + 3 dots + filler + ".fr"
    filler = total - (3 * 63 + 3 + 3)
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * filler]) + ".fr"
    assert len(name) == total
    return name


def test_R36_name_of_253_octets_is_accepted():
    name = _name_of_length(253)
    assert normalise_domain(name) == name


def test_R36_name_longer_than_253_octets_is_refused():
    _invalid(_name_of_length(254))


def test_R36_invalid_name_error_is_input_error_not_rule_violation():
    error = _invalid("-x.fr")
    assert not isinstance(error, RuleViolationError)


# --- registry_for ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, registry", [
    ("acme.fr", "afnic"),
    ("club.asso.fr", "afnic"),
    ("ville.gouv.fr", "afnic"),
    ("acme.re", "afnic"),
    ("acme.eu", "eurid"),
    ("acme.com", "network_solutions"),
    ("acme.net", "network_solutions"),
    ("acme.org", "network_solutions"),
    ("acme.biz", "network_solutions"),
    ("acme.info", "network_solutions"),
    ("acme.uk", "subcontractor"),
    ("acme.co.uk", "subcontractor"),
    ("acme.es", "subcontractor"),
    ("acme.de", "subcontractor"),
])
def test_R36_registry_follows_the_tld(name, registry):
    assert registry_for(name) == registry


@pytest.mark.parametrize("name", ["acme.io", "acme.be", "acme.fr.io", "acme.com.br", "acme.frr", "fr.acme"])
def test_R36_other_tlds_are_refused_with_unsupported_tld(name):
    with pytest.raises(RuleViolationError) as info:
        registry_for(name)
    assert info.value.code == "unsupported_tld"
    assert "domain.name" in info.value.fields


def test_R36_dot_io_is_refused_with_unsupported_tld_and_a_clear_message():
    with pytest.raises(RuleViolationError) as info:
        registry_for(normalise_domain("startup.io"))
    assert ".io" in info.value.message
    assert ".fr" in info.value.message  # the message lists what is offered
