"""Order verification: R01 (customer kinds, SIREN/VAT), R05 (minors), R09 (dossier),
R16 (12-month term), R21 (pricing), R36 (domain at order time)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from chalicelib.bootstrap import load_catalog
from chalicelib.domain.errors import DomainError, InvalidInputError, RuleViolationError
from chalicelib.domain.orders import (AddressInput, CustomerInput, OrderInput, verify_customer,
                                      verify_options, verify_order)

VALID_SIREN = "732829320"
MATCHING_VAT = "FR44732829320"
OTHER_VALID_SIREN_VAT = "FR59542051180"  # a valid French VAT number, but for SIREN 542051180
VAT_RATE = Decimal("0.20")
PENALTY_RATE = Decimal("19.95")
# 10:00 in Paris on a plain Friday.
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 27)

ADDRESS = AddressInput(line1="1 rue de Rivoli", postcode="75001", city="Paris", country="FR")


def professional(**changes) -> CustomerInput:
    base = CustomerInput(kind="professional", email="contact@acme.fr", phone="+33 1 23 45 67 89",
                         address=ADDRESS, legal_name="ACME SARL", siren=VALID_SIREN)
    return replace(base, **changes)


def consumer(**changes) -> CustomerInput:
    base = CustomerInput(kind="consumer", email="jeanne@dupont.fr", phone="0601020304", address=ADDRESS,
                         first_name="Jeanne", last_name="Dupont", birth_date=date(1980, 5, 17))
    return replace(base, **changes)


def order(**changes) -> OrderInput:
    base = OrderInput(customer=professional(), plan="soho-start", options=("antivirus",),
                      billing_period="yearly", payment_method="card", domain_name="acme-test.fr",
                      domain_action="register", terms_version=load_catalog().terms_version,
                      terms_accepted=True, client_ip="203.0.113.7", user_agent="pytest/1.0")
    return replace(base, **changes)


def verify(o: OrderInput, now: datetime = NOW):
    return verify_order(o, catalog=load_catalog(), now=now, vat_rate=VAT_RATE,
                        late_penalty_rate_percent=PENALTY_RATE)


def refused(o: OrderInput, error_class: type[DomainError], code: str, now: datetime = NOW) -> DomainError:
    with pytest.raises(error_class) as info:
        verify(o, now)
    assert info.value.code == code
    assert info.value.fields, "the error names the input at fault"
    return info.value


# --- the happy path ---------------------------------------------------------------------------

def test_R09_complete_professional_order_is_verified_with_its_dossier():
    verified = verify(order())
    assert verified.plan.id == "soho-start"
    assert [o.id for o in verified.options] == ["antivirus"]
    assert verified.domain_name == "acme-test.fr"
    assert verified.registry == "afnic"
    assert verified.is_professional
    assert verified.customer.siren == VALID_SIREN


def test_R09_R10_acceptance_evidence_records_terms_version_time_ip_and_user_agent():
    verified = verify(order())
    assert verified.acceptance.terms_version == "2026-09"
    assert verified.acceptance.accepted_at == NOW
    assert verified.acceptance.client_ip == "203.0.113.7"
    assert verified.acceptance.user_agent == "pytest/1.0"


def test_R16_contract_runs_twelve_months_from_the_subscription_day():
    verified = verify(order())
    assert verified.starts_on == TODAY
    assert verified.ends_on == date(2027, 11, 27)


def test_R16_subscription_on_29_february_ends_on_28_february_next_year():
    verified = verify(order(), now=datetime(2028, 2, 29, 12, 0, tzinfo=timezone.utc))
    assert verified.starts_on == date(2028, 2, 29)
    assert verified.ends_on == date(2029, 2, 28)


def test_R16_subscription_day_is_the_paris_day_not_the_utc_day():
    # 23:30 UTC on 30 June is 01:30 on 1 July in Paris (summer time).
    verified = verify(order(), now=datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc))
    assert verified.starts_on == date(2026, 7, 1)
    assert verified.ends_on == date(2027, 7, 1)
    assert verified.invoice.issue_date == date(2026, 7, 1)


def test_R21_invoice_is_plan_plus_options_with_20_percent_vat_rounded_half_up():
    # SOHO Start 59.88 + antivirus 12.00 = 71.88 excl. VAT; VAT 14.376 -> 14.38.
    verified = verify(order())
    invoice = verified.invoice
    assert [line.code for line in invoice.lines] == ["plan:soho-start", "option:antivirus"]
    assert invoice.subtotal_cents == 7188
    assert invoice.vat_cents == 1438
    assert invoice.total_cents == 8626
    assert invoice.currency == "EUR"
    assert invoice.vat_rate == VAT_RATE


def test_R21_prices_come_from_the_catalog_for_every_option():
    catalog = load_catalog()
    verified = verify(order(plan="soho-pro", options=tuple(catalog.plans["soho-pro"].options)))
    expected = catalog.plans["soho-pro"].yearly_price_cents + sum(
        catalog.options[o].yearly_price_cents for o in catalog.plans["soho-pro"].options)
    assert verified.invoice.subtotal_cents == expected
    assert len(verified.invoice.lines) == 1 + len(catalog.plans["soho-pro"].options)


def test_R21_first_invoice_is_due_on_the_day_of_the_order_terme_a_echoir():
    invoice = verify(order()).invoice
    assert invoice.issue_date == TODAY
    assert invoice.due_date == TODAY
    assert invoice.late_penalty_rate_percent == PENALTY_RATE


def test_R24_professional_order_invoice_carries_the_40_euro_recovery_indemnity():
    assert verify(order()).invoice.professional_recovery_indemnity_cents == 4000


def test_R24_consumer_order_invoice_has_no_recovery_indemnity():
    assert verify(order(customer=consumer())).invoice.professional_recovery_indemnity_cents == 0


def test_R28_R29_options_add_their_storage_mailboxes_and_databases_to_the_plan():
    plan = load_catalog().plans["soho-pro"]
    verified = verify(order(plan="soho-pro",
                            options=("extra-storage-10g", "extra-pop-mailbox", "extra-mysql-database")))
    assert verified.storage_mb == plan.storage_mb + 10240
    assert verified.mailboxes == plan.mailboxes + 1
    assert verified.mysql_databases == plan.mysql_databases + 1


def test_R28_plan_without_options_gets_exactly_the_plan_limits():
    plan = load_catalog().plans["soho-start"]
    verified = verify(order(options=()))
    assert (verified.storage_mb, verified.mailboxes, verified.mysql_databases) == (
        plan.storage_mb, plan.mailboxes, plan.mysql_databases)
    assert len(verified.invoice.lines) == 1


def test_R36_unicode_domain_is_stored_in_its_ascii_form():
    assert verify(order(domain_name="Café.FR")).domain_name == "xn--caf-dma.fr"


def test_R36_order_domain_is_routed_to_its_registry():
    assert verify(order(domain_name="acme.eu")).registry == "eurid"
    assert verify(order(domain_name="acme.com")).registry == "network_solutions"


def test_R10_naive_order_time_is_refused():
    with pytest.raises(ValueError):
        verify(order(), now=datetime(2026, 11, 27, 10, 0))


# --- R09 refusals -------------------------------------------------------------------------------

def test_R09_order_without_terms_acceptance_is_refused():
    refused(order(terms_accepted=False), RuleViolationError, "terms_not_accepted")


def test_R09_order_accepting_an_old_terms_version_is_refused():
    error = refused(order(terms_version="2025-01"), RuleViolationError, "terms_version_mismatch")
    assert "2026-09" in error.message


def test_R09_unknown_plan_is_refused():
    refused(order(plan="soho-ultimate"), RuleViolationError, "unknown_plan")


def test_R09_unknown_option_is_refused():
    refused(order(options=("free-beer",)), RuleViolationError, "unknown_option")


def test_R09_option_outside_the_plan_is_refused():
    # extra MySQL databases exist in the catalog but only fit SOHO Pro.
    refused(order(plan="soho-start", options=("extra-mysql-database",)), RuleViolationError,
            "option_not_available_for_plan")


def test_R09_option_listed_twice_is_refused_as_malformed():
    refused(order(options=("antivirus", "antispam", "antivirus")), InvalidInputError, "duplicate_option")


def test_R21_billing_is_yearly_or_monthly_and_nothing_else():
    refused(order(billing_period="weekly"), RuleViolationError, "billing_period_not_supported")


def test_R21_R16_a_monthly_order_invoices_month_1_in_advance_for_a_12_month_contract():
    verified = verify(order(billing_period="monthly"))
    assert verified.billing_period == "monthly"
    assert (verified.starts_on, verified.ends_on) == (TODAY, date(2027, 11, 27))
    assert [(line.code, line.unit_cents) for line in verified.invoice.lines] == [("plan:soho-start", 499),
                                                                                ("option:antivirus", 100)]
    assert (verified.invoice.subtotal_cents, verified.invoice.vat_cents, verified.invoice.total_cents) == (599, 120, 719)


def test_R21_bank_transfer_is_a_payment_method_and_is_kept_on_the_verified_order():
    verified = verify(order(payment_method="bank_transfer"))
    assert verified.payment_method == "bank_transfer"
    assert verify(order()).payment_method == "card"


def test_R38_a_transfer_order_needs_the_auth_code():
    refused(order(domain_action="transfer"), InvalidInputError, "missing_auth_code")


def test_R38_a_transfer_order_with_its_auth_code_passes_verification_and_keeps_the_code():
    verified = verify(order(domain_action="transfer", domain_auth_code="Xy-12-code"))
    assert (verified.domain_action, verified.domain_auth_code) == ("transfer", "Xy-12-code")


def test_R37_a_registration_order_refuses_an_auth_code():
    refused(order(domain_auth_code="Xy-12-code"), InvalidInputError, "unexpected_auth_code")


def test_R36_an_unknown_domain_action_is_refused():
    refused(order(domain_action="trade"), RuleViolationError, "domain_action_not_supported")


def test_R36_invalid_domain_name_is_refused_at_order_time():
    refused(order(domain_name="-acme.fr"), InvalidInputError, "invalid_domain_name")


def test_R36_dot_io_order_is_refused_with_unsupported_tld():
    refused(order(domain_name="acme.io"), RuleViolationError, "unsupported_tld")


# --- verify_options --------------------------------------------------------------------------

def test_R09_verify_options_returns_catalog_options_in_the_order_given():
    catalog = load_catalog()
    options = verify_options(catalog.plans["soho-pro"], ("antispam", "antivirus"), catalog)
    assert [o.id for o in options] == ["antispam", "antivirus"]
    assert options[0] is catalog.options["antispam"]


def test_R09_verify_options_accepts_no_option():
    catalog = load_catalog()
    assert verify_options(catalog.plans["soho-start"], (), catalog) == ()


# --- R01 professionals -------------------------------------------------------------------------

def test_R01_professional_with_valid_siren_and_matching_vat_is_accepted():
    customer = verify_customer(professional(vat_number=MATCHING_VAT), TODAY)
    assert customer.siren == VALID_SIREN
    assert customer.vat_number == MATCHING_VAT


def test_R01_siren_and_vat_are_stored_without_spaces_and_with_FR_prefix():
    customer = verify_customer(professional(siren="732 829 320", vat_number="fr 44 732 829 320"), TODAY)
    assert customer.siren == VALID_SIREN
    assert customer.vat_number == MATCHING_VAT


def test_R01_professional_without_vat_number_is_accepted():
    assert verify_customer(professional(vat_number=None), TODAY).vat_number is None


def test_R01_professional_keeps_no_consumer_identity_fields():
    customer = verify_customer(professional(first_name="X", last_name="Y", birth_date=date(2010, 1, 1)), TODAY)
    assert (customer.first_name, customer.last_name, customer.birth_date) == (None, None, None)
    assert customer.legal_name == "ACME SARL"


@pytest.mark.parametrize("legal_name", [None, ""])
def test_R01_professional_without_legal_name_is_refused(legal_name):
    with pytest.raises(InvalidInputError) as info:
        verify_customer(professional(legal_name=legal_name), TODAY)
    assert info.value.code == "missing_legal_name"
    assert "customer.legal_name" in info.value.fields


@pytest.mark.parametrize("siren", [None, ""])
def test_R01_professional_without_siren_is_refused(siren):
    with pytest.raises(InvalidInputError) as info:
        verify_customer(professional(siren=siren), TODAY)
    assert info.value.code == "missing_siren"
    assert "customer.siren" in info.value.fields


@pytest.mark.parametrize("siren", [
    "732829321",     # Luhn key wrong (last digit changed)
    "723829320",     # two digits swapped
    "73282932",      # 8 digits
    "7328293200",    # 10 digits
    "73282932A",     # not digits
])
def test_R01_siren_with_bad_length_or_luhn_key_is_refused(siren):
    with pytest.raises(RuleViolationError) as info:
        verify_customer(professional(siren=siren), TODAY)
    assert info.value.code == "invalid_siren"
    assert "customer.siren" in info.value.fields


@pytest.mark.parametrize("vat", [
    "FR45732829320",          # key does not match the SIREN
    OTHER_VALID_SIREN_VAT,    # a valid VAT number of another company
    "FR4473282932",           # too short
    "BE0403170701",           # not a French VAT number
])
def test_R01_vat_number_whose_key_does_not_match_the_siren_is_refused(vat):
    with pytest.raises(RuleViolationError) as info:
        verify_customer(professional(vat_number=vat), TODAY)
    assert info.value.code == "invalid_vat_number"
    assert "customer.vat_number" in info.value.fields


def test_R01_professional_order_with_mismatched_vat_is_refused_by_verify_order():
    refused(order(customer=professional(vat_number=OTHER_VALID_SIREN_VAT)), RuleViolationError,
            "invalid_vat_number")


# --- R01 consumers and R05 minors -------------------------------------------------------------

def test_R01_adult_consumer_is_accepted_and_keeps_no_company_fields():
    customer = verify_customer(consumer(legal_name="X", siren=VALID_SIREN, vat_number=MATCHING_VAT), TODAY)
    assert (customer.legal_name, customer.siren, customer.vat_number) == (None, None, None)
    assert customer.first_name == "Jeanne"


@pytest.mark.parametrize("missing", ["first_name", "last_name", "birth_date"])
def test_R01_consumer_missing_an_identity_field_is_refused_naming_it(missing):
    with pytest.raises(InvalidInputError) as info:
        verify_customer(consumer(**{missing: None}), TODAY)
    assert info.value.code == "missing_consumer_identity"
    assert set(info.value.fields) == {f"customer.{missing}"}


def test_R01_consumer_missing_every_identity_field_gets_all_named():
    with pytest.raises(InvalidInputError) as info:
        verify_customer(consumer(first_name=None, last_name="", birth_date=None), TODAY)
    assert set(info.value.fields) == {"customer.first_name", "customer.last_name", "customer.birth_date"}


@pytest.mark.parametrize("birth_date", [TODAY, date(2026, 11, 28), date(2100, 1, 1)])
def test_R01_birth_date_today_or_in_the_future_is_refused(birth_date):
    with pytest.raises(InvalidInputError) as info:
        verify_customer(consumer(birth_date=birth_date), TODAY)
    assert info.value.code == "invalid_birth_date"


def test_R05_consumer_the_day_before_their_18th_birthday_needs_parental_authorisation():
    with pytest.raises(RuleViolationError) as info:
        verify_customer(consumer(birth_date=date(2008, 11, 28)), TODAY)
    assert info.value.code == "minor_without_authorisation"


def test_R05_consumer_on_their_18th_birthday_is_an_adult():
    customer = verify_customer(consumer(birth_date=date(2008, 11, 27)), TODAY)
    assert customer.parental_authorisation_ref is None


def test_R05_minor_with_parental_authorisation_is_accepted_and_keeps_the_document_reference():
    customer = verify_customer(consumer(birth_date=date(2012, 3, 1), parental_authorisation_ref="doc-123"),
                               TODAY)
    assert customer.parental_authorisation_ref == "doc-123"


def test_R05_minor_with_empty_authorisation_reference_is_refused():
    with pytest.raises(RuleViolationError) as info:
        verify_customer(consumer(birth_date=date(2012, 3, 1), parental_authorisation_ref=""), TODAY)
    assert info.value.code == "minor_without_authorisation"


def test_R05_minor_order_without_authorisation_is_refused_by_verify_order():
    refused(order(customer=consumer(birth_date=date(2010, 6, 1))), RuleViolationError,
            "minor_without_authorisation")


def test_R05_majority_is_judged_on_the_paris_day_of_the_order():
    # Born 1 July 2008: 18 on 1 July 2026. At 23:30 UTC on 30 June it is already 1 July in Paris.
    customer = consumer(birth_date=date(2008, 7, 1))
    verify(order(customer=customer), now=datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc))
    refused(order(customer=customer), RuleViolationError, "minor_without_authorisation",
            now=datetime(2026, 6, 30, 21, 30, tzinfo=timezone.utc))
