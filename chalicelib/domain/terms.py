"""A contract's terms (R58) and changes to the service (R55): pure rules.

R58 document hierarchy (26.2). A contract is governed by three documents, in increasing order of
legal weight: the general terms, the subscription form (the order, or the renewal order), the
technical description of the solution subscribed (the plan and its options). A lower document
completes a higher one; where they differ, the higher one prevails. `resolve_terms` merges the
three layers key by key and records, for every value, the layer it came from.

R55 changes to the service (21). When a change of a plan removes an essential function, every
affected customer is told and may object within one month (`settings.objection_window_months`)
of the effective date or of the day it was told, whichever is later; silence is acceptance
(`change_status`). A change the customer asks for (21.3) gets an offer for the other plan, priced
pro rata to the end of what is paid for, or leaves the contract unchanged (`plan_change_offer`).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping, Optional, Sequence

from .billing import monthly_cents, vat_cents
from .calendar import add_months
from .catalog import Option, Plan
from .options import pro_rata_cents

# ---- R58: document hierarchy ------------------------------------------------------------------

GENERAL_TERMS = "general_terms"
SUBSCRIPTION_FORM = "subscription_form"
TECHNICAL_DESCRIPTION = "technical_description"
LAYERS = (GENERAL_TERMS, SUBSCRIPTION_FORM, TECHNICAL_DESCRIPTION)  # each overrides the ones before it

_SCALARS = (str, int, bool, type(None))


def general_terms_layer(document: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """R58: (version, values) of the general terms document (chalicelib/data/general_terms.json).
    Raises ValueError for a document without a version or with a value that is not a JSON scalar
    (money is integer cents, rates are decimal strings: no floats)."""
    version, terms = document.get("version"), document.get("terms")
    if not isinstance(version, str) or not version:
        raise ValueError("the general terms document names its version")
    if not isinstance(terms, Mapping) or not terms:
        raise ValueError("the general terms document holds its terms under 'terms'")
    for key, value in terms.items():
        if not isinstance(key, str) or isinstance(value, float) or not isinstance(value, _SCALARS):
            raise ValueError(f"general terms: {key!r} must be a string, an integer or a boolean")
    return version, dict(terms)


def resolve_terms(general: Mapping[str, Any], form: Mapping[str, Any],
                  technical: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """R58 (26.2): the effective terms of a contract, `{key: {"value": v, "source": layer}}`.

    The layers are applied in the order general terms, subscription form, technical description:
    a key stated by a later layer takes that layer's value (the higher document prevails), a key
    it does not state (absent or None) keeps the earlier one (the lower document completes it).
    Keys come out sorted."""
    resolved: dict[str, dict[str, Any]] = {}
    for layer, values in zip(LAYERS, (general, form, technical)):
        for key, value in values.items():
            if value is not None:
                resolved[key] = {"value": value, "source": layer}
    return dict(sorted(resolved.items()))


def sources(resolved: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """R58: which keys each layer decided, per layer (for a reader of the resolved terms)."""
    by_layer: dict[str, list[str]] = {layer: [] for layer in LAYERS}
    for key, entry in resolved.items():
        by_layer[entry["source"]].append(key)
    return by_layer


def technical_description(plan: Plan, options: Iterable[Option] = ()) -> dict[str, Any]:
    """R58: the technical description of the solution subscribed: the plan's limits with those
    its options add (R33), what it runs (PHP, CGI/Perl), and its availability when the plan
    states one."""
    held = list(options)
    description: dict[str, Any] = {
        "plan_name": plan.name,
        "storage_mb": plan.storage_mb + sum(o.storage_mb for o in held),
        "mailboxes": plan.mailboxes + sum(o.mailboxes for o in held),
        "mysql_databases": plan.mysql_databases + sum(o.mysql_databases for o in held),
        "php": plan.php,
        "cgi_perl": plan.cgi_perl,
    }
    availability = getattr(plan, "availability_percent", None)
    if availability is not None:
        description["availability_percent"] = str(availability)
    return description


# ---- R55: objections to a change of the service ------------------------------------------------

OPEN = "open"                                  # the customer may still object
OBJECTED = "objected"                          # it did: the provider may refuse the next renewal
ACCEPTED_BY_SILENCE = "accepted_by_silence"    # the window closed without an objection


def objection_deadline(effective_on: date, notified_on: date, months: int = 1) -> date:
    """R55 (21.2): the last day (Paris) on which the customer may object to a change: `months`
    after the later of the change's effective date and the day it was told, on the same day of
    the month, or the month's last day when it has no such day (31 January + 1 month = 28
    February, or 29 in a leap year). An objection made that day is in time."""
    if isinstance(effective_on, datetime) or isinstance(notified_on, datetime):
        raise TypeError("expected calendar dates (Paris); use paris_date(moment) for an instant")
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise ValueError("the objection window is a positive number of months")
    return add_months(max(effective_on, notified_on), months)


def objection_open(deadline: date, today: date) -> bool:
    """R55: an objection is accepted up to and including the deadline day (Paris)."""
    return today <= deadline


def change_status(*, objected: bool, deadline: date, today: date) -> str:
    """R55: how a change stands for one contract: objected, open, or accepted by silence once the
    deadline passed without an objection."""
    if objected:
        return OBJECTED
    return OPEN if objection_open(deadline, today) else ACCEPTED_BY_SILENCE


# ---- R55 (21.3): a change the customer asks for -------------------------------------------------

UNCHANGED = "unchanged"
OFFER = "offer"


def plan_change_offer(current: Plan, requested: Optional[Plan], held_options: Sequence[Option], *,
                      billing_period: str, from_day: date, period_start: date, period_end: date,
                      vat_rate: Decimal, currency: str = "EUR") -> dict[str, Any]:
    """R55 (21.3): the provider's answer to a customer asking for another plan.

    No such plan on offer, or the plan already held: `{"outcome": "unchanged", "reason": ...}`:
    the contract stays as agreed. Otherwise an offer for the other plan: the price difference
    for what is left of the paid period [period_start, period_end) from `from_day` (the yearly
    term, or the current month of a monthly contract), each plan priced pro rata with
    `pro_rata_cents` (R33), less the options the new plan does not take (they end with the old
    plan). A negative difference is owed to the customer. VAT at `vat_rate`, half-up to the cent
    on the absolute amount so an upgrade and the reverse downgrade mirror each other."""
    if requested is None:
        return {"outcome": UNCHANGED, "reason": "plan_not_available"}
    if requested.id == current.id:
        return {"outcome": UNCHANGED, "reason": "same_plan"}

    def period_price(yearly_cents: int) -> int:
        price = yearly_cents if billing_period == "yearly" else monthly_cents(yearly_cents)
        return pro_rata_cents(price, from_day=from_day, period_start=period_start, period_end=period_end)

    kept = [o for o in held_options if o.id in requested.options]
    dropped = [o for o in held_options if o.id not in requested.options]
    subtotal = (period_price(requested.yearly_price_cents) - period_price(current.yearly_price_cents)
                - sum(period_price(o.yearly_price_cents) for o in dropped))
    vat = vat_cents(abs(subtotal), vat_rate) * (-1 if subtotal < 0 else 1)
    if requested.yearly_price_cents > current.yearly_price_cents:
        kind = "upgrade"
    elif requested.yearly_price_cents < current.yearly_price_cents:
        kind = "downgrade"
    else:
        kind = "equivalent"
    return {
        "outcome": OFFER, "kind": kind, "current_plan": current.id, "proposed_plan": requested.id,
        "billing_period": billing_period, "from_day": max(from_day, period_start).isoformat(),
        "period_end": period_end.isoformat(),
        "options_kept": [o.id for o in kept], "options_dropped": [o.id for o in dropped],
        "price_difference": {"subtotal_cents": subtotal, "vat_rate": str(vat_rate), "vat_cents": vat,
                             "total_cents": subtotal + vat, "currency": currency},
        "new_yearly_price_cents": requested.yearly_price_cents + sum(o.yearly_price_cents for o in kept),
        "limits": {k: v for k, v in technical_description(requested, kept).items()
                   if k in ("storage_mb", "mailboxes", "mysql_databases", "php", "cgi_perl")},
    }
