"""R58 document hierarchy and R55 changes to the service: the pure rules (chalicelib/domain/terms.py)."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.bootstrap import load_catalog
from chalicelib.config import Settings
from chalicelib.domain.options import pro_rata_cents
from chalicelib.domain.terms import (ACCEPTED_BY_SILENCE, GENERAL_TERMS, LAYERS, OBJECTED, OPEN, SUBSCRIPTION_FORM,
                                     TECHNICAL_DESCRIPTION, change_status, general_terms_layer, objection_deadline,
                                     objection_open, plan_change_offer, resolve_terms, sources,
                                     technical_description)
from chalicelib.service.terms import GENERAL_TERMS_PATH, general_terms

CATALOG = load_catalog()
START, PRO = CATALOG.plans["soho-start"], CATALOG.plans["soho-pro"]

# ---- R58: document hierarchy -------------------------------------------------------------------


def test_R58_a_key_in_all_three_layers_takes_the_technical_description_value():
    resolved = resolve_terms({"storage_mb": 1024}, {"storage_mb": 5000}, {"storage_mb": 10240})
    assert resolved["storage_mb"] == {"value": 10240, "source": TECHNICAL_DESCRIPTION}


def test_R58_the_subscription_form_overrides_the_general_terms_and_completes_them():
    resolved = resolve_terms({"billing_period": "yearly", "withdrawal_days": 14},
                             {"billing_period": "monthly", "plan": "soho-start"}, {})
    assert resolved == {"billing_period": {"value": "monthly", "source": SUBSCRIPTION_FORM},
                        "plan": {"value": "soho-start", "source": SUBSCRIPTION_FORM},
                        "withdrawal_days": {"value": 14, "source": GENERAL_TERMS}}


def test_R58_a_layer_that_does_not_state_a_key_keeps_the_earlier_value():
    """None means 'not stated': the lower document completes the higher one (26.2)."""
    resolved = resolve_terms({"availability_percent": "99.8"}, {"availability_percent": None},
                             {"availability_percent": None, "php": True})
    assert resolved["availability_percent"] == {"value": "99.8", "source": GENERAL_TERMS}
    assert resolved["php"] == {"value": True, "source": TECHNICAL_DESCRIPTION}


def test_R58_false_and_zero_are_stated_values_that_override():
    resolved = resolve_terms({"php": True, "mysql_databases": 3}, {}, {"php": False, "mysql_databases": 0})
    assert resolved["php"] == {"value": False, "source": TECHNICAL_DESCRIPTION}
    assert resolved["mysql_databases"] == {"value": 0, "source": TECHNICAL_DESCRIPTION}


_keys = st.sampled_from(["a", "b", "c", "d", "e", "f"])
_values = st.one_of(st.none(), st.integers(-5, 5), st.booleans(), st.text(max_size=3))
_layer = st.dictionaries(_keys, _values, max_size=6)


@given(_layer, _layer, _layer)
def test_R58_property_each_value_comes_from_the_highest_layer_stating_it(general, form, technical):
    resolved = resolve_terms(general, form, technical)
    layers = dict(zip(LAYERS, (general, form, technical)))
    stated = {k for values in layers.values() for k, v in values.items() if v is not None}
    assert set(resolved) == stated and list(resolved) == sorted(resolved)
    for key, entry in resolved.items():
        highest = [name for name in LAYERS if layers[name].get(key) is not None][-1]
        assert entry == {"value": layers[highest][key], "source": highest}
    by_layer = sources(resolved)
    assert sorted(k for keys in by_layer.values() for k in keys) == sorted(resolved)


def test_R58_technical_description_adds_the_options_to_the_plan_limits():
    description = technical_description(START, [CATALOG.options["extra-storage-10g"],
                                                CATALOG.options["extra-pop-mailbox"]])
    assert description["storage_mb"] == 20480 and description["mailboxes"] == 6
    assert description["mysql_databases"] == 1 and description["php"] is True and description["cgi_perl"] is False
    assert "availability_percent" not in description  # the catalog plan states none: the general terms' applies


def test_R58_general_terms_document_is_versioned_and_holds_the_expected_defaults():
    version, values = general_terms()
    assert version == CATALOG.terms_version
    assert values["withdrawal_days"] == 14 and values["availability_percent"] == "99.8"
    assert values["support_response_business_hours"] == 48 and values["liability_cap_basis"] == "yearly_price"
    defaults = Settings()  # the document states what the configuration applies by default
    assert values["expiry_notice_days"] == defaults.expiry_notice_days
    assert values["data_retention_days"] == defaults.data_retention_days
    assert values["objection_window_months"] == defaults.objection_window_months
    assert json.loads(GENERAL_TERMS_PATH.read_text(encoding="utf-8"))["version"] == version


@pytest.mark.parametrize("document", [{"terms": {"a": 1}}, {"version": "v1"}, {"version": "v1", "terms": {"a": 1.5}},
                                      {"version": "v1", "terms": {"a": [1]}}])
def test_R58_a_general_terms_document_without_version_or_with_non_scalar_values_is_refused(document):
    with pytest.raises(ValueError):
        general_terms_layer(document)


def test_R58_resolved_contract_terms_name_the_layer_of_each_value():
    _, general = general_terms()
    form = {"plan": "soho-start", "billing_period": "monthly", "payment_method": "bank_transfer",
            "terms_version": "2026-09", "invoice_total_cents": 7186}
    resolved = resolve_terms(general, form, technical_description(START))
    assert resolved["storage_mb"] == {"value": 10240, "source": TECHNICAL_DESCRIPTION}
    assert resolved["billing_period"] == {"value": "monthly", "source": SUBSCRIPTION_FORM}
    assert resolved["payment_method"] == {"value": "bank_transfer", "source": SUBSCRIPTION_FORM}
    assert resolved["terms_version"] == {"value": "2026-09", "source": SUBSCRIPTION_FORM}
    assert resolved["withdrawal_days"] == {"value": 14, "source": GENERAL_TERMS}
    assert resolved["availability_percent"] == {"value": "99.8", "source": GENERAL_TERMS}


# ---- R55: objection deadline --------------------------------------------------------------------

@pytest.mark.parametrize("effective_on, notified_on, deadline", [
    (date(2027, 1, 31), date(2027, 1, 10), date(2027, 2, 28)),   # 31 January + 1 month: end of February
    (date(2028, 1, 31), date(2028, 1, 10), date(2028, 2, 29)),   # leap year
    (date(2027, 1, 10), date(2027, 1, 31), date(2027, 2, 28)),   # told later than the effect: from the telling
    (date(2027, 3, 31), date(2027, 3, 1), date(2027, 4, 30)),    # 31 March -> 30 April
    (date(2027, 12, 15), date(2027, 12, 1), date(2028, 1, 15)),  # across the year
    (date(2027, 5, 1), date(2027, 5, 1), date(2027, 6, 1)),      # same day
    (date(2027, 2, 28), date(2027, 2, 1), date(2027, 3, 28)),    # end of February + 1 month: same day number
])
def test_R55_objection_deadline_is_one_month_after_the_later_of_effect_and_notice(effective_on, notified_on, deadline):
    assert objection_deadline(effective_on, notified_on, 1) == deadline


def test_R55_objection_deadline_follows_the_configured_window():
    assert objection_deadline(date(2027, 1, 31), date(2027, 1, 1), 2) == date(2027, 3, 31)
    assert objection_deadline(date(2027, 1, 31), date(2027, 1, 1), 3) == date(2027, 4, 30)


@pytest.mark.parametrize("months", [0, -1, True])
def test_R55_objection_window_must_be_a_positive_number_of_months(months):
    with pytest.raises(ValueError):
        objection_deadline(date(2027, 1, 1), date(2027, 1, 1), months)


def test_R55_objection_deadline_takes_calendar_dates_not_instants():
    with pytest.raises(TypeError):
        objection_deadline(datetime(2027, 1, 1, tzinfo=timezone.utc), date(2027, 1, 1), 1)


@given(st.dates(date(2020, 1, 1), date(2040, 12, 31)), st.dates(date(2020, 1, 1), date(2040, 12, 31)))
def test_R55_property_deadline_is_after_both_dates_and_within_a_month_of_the_later(effective_on, notified_on):
    deadline = objection_deadline(effective_on, notified_on, 1)
    later = max(effective_on, notified_on)
    assert later < deadline and 28 <= (deadline - later).days <= 31
    assert deadline.day == later.day or deadline.day < later.day  # clamped only at month ends


def test_R55_objection_is_in_time_on_the_deadline_day_and_late_the_day_after():
    deadline = date(2027, 2, 28)
    assert objection_open(deadline, date(2027, 2, 28)) and not objection_open(deadline, date(2027, 3, 1))
    assert change_status(objected=False, deadline=deadline, today=date(2027, 2, 28)) == OPEN
    assert change_status(objected=False, deadline=deadline, today=date(2027, 3, 1)) == ACCEPTED_BY_SILENCE
    assert change_status(objected=True, deadline=deadline, today=date(2027, 3, 1)) == OBJECTED


# ---- R55 (21.3): a change the customer asks for ---------------------------------------------------

YEAR = dict(billing_period="yearly", period_start=date(2026, 11, 27), period_end=date(2027, 11, 27),
            vat_rate=Decimal("0.20"))


def test_R55_same_plan_or_plan_not_on_offer_leaves_the_contract_unchanged():
    assert plan_change_offer(START, START, [], from_day=date(2027, 1, 1), **YEAR) == \
        {"outcome": "unchanged", "reason": "same_plan"}
    assert plan_change_offer(START, None, [], from_day=date(2027, 1, 1), **YEAR) == \
        {"outcome": "unchanged", "reason": "plan_not_available"}


def test_R55_upgrade_offer_is_the_pro_rata_price_difference_to_the_end_with_vat():
    day = date(2027, 5, 27)
    offer = plan_change_offer(START, PRO, [CATALOG.options["antivirus"]], from_day=day, **YEAR)
    expected = (pro_rata_cents(PRO.yearly_price_cents, from_day=day, period_start=YEAR["period_start"],
                               period_end=YEAR["period_end"])
                - pro_rata_cents(START.yearly_price_cents, from_day=day, period_start=YEAR["period_start"],
                                 period_end=YEAR["period_end"]))
    assert offer["outcome"] == "offer" and offer["kind"] == "upgrade"
    assert offer["price_difference"]["subtotal_cents"] == expected == 3024  # 184/365 days, each plan rounded
    assert offer["price_difference"]["vat_cents"] == 605 and offer["price_difference"]["total_cents"] == 3629
    assert offer["options_kept"] == ["antivirus"] and offer["options_dropped"] == []
    assert offer["new_yearly_price_cents"] == PRO.yearly_price_cents + 1200
    assert offer["limits"]["storage_mb"] == PRO.storage_mb and offer["period_end"] == "2027-11-27"


def test_R55_downgrade_offer_is_a_credit_and_drops_the_options_the_new_plan_does_not_take():
    day = date(2027, 5, 27)
    offer = plan_change_offer(PRO, START, [CATALOG.options["extra-mysql-database"]], from_day=day, **YEAR)
    assert offer["kind"] == "downgrade" and offer["options_dropped"] == ["extra-mysql-database"]
    dropped = pro_rata_cents(1800, from_day=day, period_start=YEAR["period_start"], period_end=YEAR["period_end"])
    assert offer["price_difference"]["subtotal_cents"] == -3024 - dropped
    assert offer["price_difference"]["vat_cents"] < 0
    up = plan_change_offer(START, PRO, [], from_day=day, **YEAR)["price_difference"]
    down = plan_change_offer(PRO, START, [], from_day=day, **YEAR)["price_difference"]
    assert down["total_cents"] == -up["total_cents"]  # mirrored


def test_R55_a_monthly_contract_is_priced_on_its_current_month():
    offer = plan_change_offer(START, PRO, [], billing_period="monthly", from_day=date(2027, 1, 12),
                              period_start=date(2026, 12, 27), period_end=date(2027, 1, 27),
                              vat_rate=Decimal("0.20"))
    # (999 - 499) monthly, 15 of 31 days left
    assert offer["price_difference"]["subtotal_cents"] == pro_rata_cents(999, from_day=date(2027, 1, 12),
                                                                         period_start=date(2026, 12, 27),
                                                                         period_end=date(2027, 1, 27)) - \
        pro_rata_cents(499, from_day=date(2027, 1, 12), period_start=date(2026, 12, 27), period_end=date(2027, 1, 27))
