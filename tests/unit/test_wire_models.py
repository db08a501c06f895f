"""Storefront wire contract v1 (POST /orders body): the mass-assignment guard and field formats
behind R01/R09 (customer data complete and valid)."""
from __future__ import annotations

import copy
from datetime import date

import pytest
from pydantic import ValidationError

from chalicelib.contracts.storefront_v1 import OrderRequestV1


def body(**top) -> dict:
    document = {
        "customer": {"kind": "consumer", "first_name": "Jeanne", "last_name": "Dupont",
                     "birth_date": "2010-05-17", "email": "Jeanne.Dupont@Example.FR", "phone": "+33 6 01 02 03 04",
                     "address": {"line1": "2 rue Haute", "postcode": "69001", "city": "Lyon", "country": "FR"},
                     "parental_authorisation": {"document_ref": "upload-42"}},
        "plan": "soho-start", "options": ["antivirus", "antispam"], "billing_period": "yearly",
        "payment_method": "card", "domain": {"name": "dupont.fr", "action": "register"},
        "terms": {"version": "2026-09", "accepted": True},
    }
    document.update(top)
    return document


def with_customer(**changes) -> dict:
    document = body()
    document["customer"] = {**document["customer"], **changes}
    return document


def with_address(**changes) -> dict:
    document = body()
    document["customer"] = copy.deepcopy(document["customer"])
    document["customer"]["address"].update(changes)
    return document


def rejected(document: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        OrderRequestV1.model_validate(document)
    locations = [".".join(str(p) for p in error["loc"]) for error in info.value.errors()]
    assert any(field in loc for loc in locations), locations


def test_R09_a_complete_order_body_is_accepted():
    request = OrderRequestV1.model_validate(body())
    assert request.plan == "soho-start"
    assert request.customer.birth_date == date(2010, 5, 17)


@pytest.mark.parametrize("field, value", [("status", "paid"), ("price_cents", 0), ("customer_id", "c-1")])
def test_R09_unknown_top_level_fields_are_rejected_mass_assignment_guard(field, value):
    rejected(body(**{field: value}), field)


def test_R09_unknown_customer_field_is_rejected_mass_assignment_guard():
    rejected(with_customer(is_operator=True), "customer.is_operator")


def test_R09_unknown_nested_fields_are_rejected_at_every_level():
    rejected(with_address(verified=True), "customer.address.verified")
    document = body()
    document["terms"] = {**document["terms"], "accepted_at": "2020-01-01"}
    rejected(document, "terms.accepted_at")
    document = body()
    document["domain"] = {**document["domain"], "registry": "afnic"}
    rejected(document, "domain.registry")


@pytest.mark.parametrize("email", ["not-an-email", "jeanne@", "@dupont.fr", "jeanne dupont@dupont.fr", ""])
def test_R01_bad_email_is_rejected(email):
    rejected(with_customer(email=email), "customer.email")


@pytest.mark.parametrize("country", ["fr", "FRA", "F", "F1", "", "Fr"])
def test_R01_country_must_be_two_uppercase_letters(country):
    rejected(with_address(country=country), "customer.address.country")


def test_R01_country_surrounded_by_spaces_is_stripped_and_accepted():
    request = OrderRequestV1.model_validate(with_address(country=" FR "))
    assert request.customer.address.country == "FR"


@pytest.mark.parametrize("phone", ["12345", "call me", "+33 6 01 02 03 04 x12"])
def test_R01_malformed_phone_is_rejected(phone):
    rejected(with_customer(phone=phone), "customer.phone")


@pytest.mark.parametrize("field, value", [
    ("billing_period", "weekly"), ("payment_method", "bitcoin"), ("plan", ""),
])
def test_R09_enumerated_fields_only_take_their_listed_values(field, value):
    rejected(body(**{field: value}), field)


def test_R09_customer_kind_is_professional_or_consumer():
    rejected(with_customer(kind="operator"), "customer.kind")


def test_R09_domain_action_is_register_or_transfer():
    rejected(body(domain={"name": "dupont.fr", "action": "steal"}), "domain.action")


@pytest.mark.parametrize("missing", ["customer", "plan", "billing_period", "payment_method", "domain", "terms"])
def test_R09_required_parts_of_the_dossier_are_required(missing):
    document = body()
    del document[missing]
    rejected(document, missing)


def test_R09_options_default_to_an_empty_list():
    document = body()
    del document["options"]
    assert OrderRequestV1.model_validate(document).options == []


def test_R09_at_most_20_options():
    rejected(body(options=[f"o{i}" for i in range(21)]), "options")


# --- to_domain ---------------------------------------------------------------------------------

def test_R01_to_domain_lowercases_the_email():
    order = OrderRequestV1.model_validate(body()).to_domain("203.0.113.7", "pytest/1.0")
    assert order.customer.email == "jeanne.dupont@example.fr"


def test_R09_to_domain_carries_the_acceptance_evidence():
    order = OrderRequestV1.model_validate(body()).to_domain("203.0.113.7", "pytest/1.0")
    assert order.terms_version == "2026-09"
    assert order.terms_accepted is True
    assert order.client_ip == "203.0.113.7"
    assert order.user_agent == "pytest/1.0"


def test_R09_to_domain_maps_the_dossier():
    order = OrderRequestV1.model_validate(body()).to_domain("203.0.113.7", "pytest/1.0")
    assert order.plan == "soho-start"
    assert order.options == ("antivirus", "antispam")
    assert (order.billing_period, order.payment_method) == ("yearly", "card")
    assert (order.domain_name, order.domain_action) == ("dupont.fr", "register")
    assert order.customer.kind == "consumer"
    assert order.customer.address.city == "Lyon"
    assert order.customer.address.country == "FR"
    assert order.customer.birth_date == date(2010, 5, 17)


def test_R05_to_domain_carries_the_parental_authorisation_reference():
    order = OrderRequestV1.model_validate(body()).to_domain("203.0.113.7", "pytest/1.0")
    assert order.customer.parental_authorisation_ref == "upload-42"


def test_R05_to_domain_without_parental_authorisation_has_no_reference():
    document = body()
    del document["customer"]["parental_authorisation"]
    order = OrderRequestV1.model_validate(document).to_domain("203.0.113.7", "pytest/1.0")
    assert order.customer.parental_authorisation_ref is None


def test_R01_to_domain_keeps_professional_identifiers():
    document = body(customer={"kind": "professional", "legal_name": "ACME SARL", "siren": "732829320",
                              "vat_number": "FR44732829320", "email": "contact@acme.fr", "phone": "0123456789",
                              "address": {"line1": "1 rue de Rivoli", "postcode": "75001", "city": "Paris",
                                          "country": "FR"}})
    customer = OrderRequestV1.model_validate(document).to_domain("ip", "ua").customer
    assert (customer.legal_name, customer.siren, customer.vat_number) == ("ACME SARL", "732829320", "FR44732829320")
