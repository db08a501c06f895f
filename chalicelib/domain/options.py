"""Options added during a contract (R33): which ones may be added, and their pro rata price.

An option added mid-term is invoiced for the days it will run, from the day it is ordered to the
end of what the customer has already paid for: the contract end for a yearly contract, the end
of the current monthly period for a monthly one (the following instalments then include it at
its monthly price, R21). Prices are integer cents: each line is the option's price for the
period times the remaining days over the period's days, rounded half-up once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Sequence

from .billing import InvoiceLine, monthly_cents
from .catalog import Catalog, Option, Plan
from .errors import ConflictError, InvalidInputError, RuleViolationError


@dataclass(frozen=True)
class Limits:
    storage_mb: int
    mailboxes: int
    mysql_databases: int


def options_to_add(plan: Plan, current: Iterable[str], requested: Sequence[str], catalog: Catalog) -> tuple[Option, ...]:
    """R33 + R09: the requested options exist, fit the plan, appear once and are not already held."""
    if not requested:
        raise InvalidInputError("name at least one option to add", code="no_options",
                                fields={"options": "non-empty list of option ids"})
    if len(set(requested)) != len(requested):
        raise InvalidInputError("an option is listed twice", code="duplicate_option",
                                fields={"options": "each option at most once"})
    held = set(current)
    for option_id in requested:
        if option_id not in catalog.options:
            raise RuleViolationError(f"unknown option '{option_id}'; see GET /catalog", code="unknown_option",
                                     fields={"options": option_id})
        if option_id not in plan.options:
            raise RuleViolationError(f"option '{option_id}' is not available with plan '{plan.id}'",
                                     code="option_not_available_for_plan", fields={"options": option_id})
        if option_id in held:
            raise ConflictError(f"option '{option_id}' is already part of the contract",
                                code="option_already_active", fields={"options": option_id})
    return tuple(catalog.options[o] for o in requested)


def pro_rata_cents(period_price_cents: int, *, from_day: date, period_start: date, period_end: date) -> int:
    """R33: the price of the part [from_day, period_end) of a period [period_start, period_end),
    exact integer arithmetic, rounded half-up to the cent. Ordering on the period's first day
    costs the full period price; ordering on or after its end costs nothing."""
    if period_end <= period_start:
        raise ValueError("a period ends after it starts")
    if period_price_cents < 0:
        raise ValueError("a price is not negative")
    start = min(max(from_day, period_start), period_end)
    remaining = (period_end - start).days
    total = (period_end - period_start).days
    return (2 * period_price_cents * remaining + total) // (2 * total)


def option_lines(options: Sequence[Option], *, billing_period: str, from_day: date, period_start: date,
                 period_end: date) -> tuple[InvoiceLine, ...]:
    """R33: one pro rata line per option, described with the dates it covers."""
    lines = []
    for option in options:
        price = option.yearly_price_cents if billing_period == "yearly" else monthly_cents(option.yearly_price_cents)
        cents = pro_rata_cents(price, from_day=from_day, period_start=period_start, period_end=period_end)
        lines.append(InvoiceLine(f"option:{option.id}",
                                 f"{option.name} - du {max(from_day, period_start):%d/%m/%Y} au "
                                 f"{period_end:%d/%m/%Y} (prorata)", 1, cents))
    return tuple(lines)


def limits_with(current: Limits, options: Iterable[Option]) -> Limits:
    """The space's limits once the options are added (the node gets absolute values)."""
    added = list(options)
    return Limits(storage_mb=current.storage_mb + sum(o.storage_mb for o in added),
                  mailboxes=current.mailboxes + sum(o.mailboxes for o in added),
                  mysql_databases=current.mysql_databases + sum(o.mysql_databases for o in added))
