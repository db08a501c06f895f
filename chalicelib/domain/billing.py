"""Prices, VAT and invoices (R21, R22). Money is integer euro cents."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Sequence

from .catalog import Option, Plan


@dataclass(frozen=True)
class InvoiceLine:
    code: str
    description: str
    quantity: int
    unit_cents: int

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_cents


@dataclass(frozen=True)
class InvoiceDraft:
    """An invoice before it gets its number: numbering happens in the same
    write that stores it (R22), never before."""
    lines: tuple[InvoiceLine, ...]
    subtotal_cents: int
    vat_rate: Decimal
    vat_cents: int
    total_cents: int
    currency: str
    issue_date: date
    due_date: date
    late_penalty_rate_percent: Decimal
    professional_recovery_indemnity_cents: int


PROFESSIONAL_RECOVERY_INDEMNITY_CENTS = 4000  # R24: fixed EUR 40 (Code de commerce L441-10)


def vat_cents(subtotal_cents: int, rate: Decimal) -> int:
    """R21: VAT on the excluding-tax total, rounded half-up to the cent."""
    return int((Decimal(subtotal_cents) * rate).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def yearly_lines(plan: Plan, options: Sequence[Option]) -> tuple[InvoiceLine, ...]:
    """R21: the plan's yearly price plus each option, paid in advance."""
    lines = [InvoiceLine(f"plan:{plan.id}", f"{plan.name} - 12 mois", 1, plan.yearly_price_cents)]
    lines += [InvoiceLine(f"option:{o.id}", f"{o.name} - 12 mois", 1, o.yearly_price_cents) for o in options]
    return tuple(lines)


def draft_invoice(lines: Sequence[InvoiceLine], *, vat_rate: Decimal, currency: str,
                  issue_date: date, due_date: date, late_penalty_rate_percent: Decimal,
                  professional: bool) -> InvoiceDraft:
    """R22: an invoice carries lines, VAT shown apart, due date and the late-penalty rate."""
    if not lines:
        raise ValueError("an invoice needs at least one line")
    if due_date < issue_date:
        raise ValueError("due date before issue date")
    subtotal = sum(line.total_cents for line in lines)
    vat = vat_cents(subtotal, vat_rate)
    return InvoiceDraft(
        lines=tuple(lines), subtotal_cents=subtotal, vat_rate=vat_rate, vat_cents=vat,
        total_cents=subtotal + vat, currency=currency, issue_date=issue_date, due_date=due_date,
        late_penalty_rate_percent=late_penalty_rate_percent,
        professional_recovery_indemnity_cents=PROFESSIONAL_RECOVERY_INDEMNITY_CENTS if professional else 0,
    )


def invoice_number(prefix: str, sequence_value: int) -> str:
    """R22: the printed number of the n-th document of the one continuous sequence."""
    if sequence_value < 1:
        raise ValueError("invoice sequence starts at 1")
    return f"{prefix}{sequence_value:08d}"


def next_sequence_value(last_issued: int | None) -> int:
    """R22: the number that follows the last one issued, with no gap (first is 1)."""
    return 1 if last_issued is None else last_issued + 1
