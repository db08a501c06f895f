"""Prices, VAT and invoices (R21, R22). Money is integer euro cents."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional, Sequence

from .calendar import PARIS, add_months, late_penalty_cents
from .catalog import Option, Plan
from .contracts import HoldLevel


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


# --- R21 monthly billing, R23 overdue, R24 penalties, R26 default ---------------------------------
#
# A monthly contract still runs 12 months (R16); it is paid in 12 instalments, each in advance for
# its month ("terme à échoir"). Month n (1..12) is [add_months(start, n-1), add_months(start, n)):
# always counted from the contract's start, never chained, so a contract starting on 31 January
# has months starting 31 Jan, 28 (29) Feb, 31 Mar, 30 Apr... with no gap and no overlap, and the
# twelfth month ends on the contract's end date.

INSTALMENTS = 12


def monthly_cents(yearly_cents: int) -> int:
    """R21: a monthly instalment of a yearly price: the yearly price over 12, rounded half-up to
    the cent (exact integer arithmetic). Every catalog price divides by 12 exactly, so twelve
    instalments sum to the yearly price; for a price that does not, each instalment is rounded on
    its own and the twelve may differ from the yearly price by at most 6 cents."""
    if isinstance(yearly_cents, bool) or not isinstance(yearly_cents, int) or yearly_cents < 0:
        raise ValueError("a yearly price is a non-negative integer number of cents")
    return (2 * yearly_cents + 12) // 24


def monthly_lines(plan: Plan, options: Sequence[Option]) -> tuple[InvoiceLine, ...]:
    """R21: one month of the plan plus each option, at the monthly price of each line."""
    lines = [InvoiceLine(f"plan:{plan.id}", f"{plan.name} - 1 mois", 1, monthly_cents(plan.yearly_price_cents))]
    lines += [InvoiceLine(f"option:{o.id}", f"{o.name} - 1 mois", 1, monthly_cents(o.yearly_price_cents))
              for o in options]
    return tuple(lines)


def instalment_lines(contracted: Sequence[InvoiceLine], added_options: Sequence[Option]) -> tuple[InvoiceLine, ...]:
    """R21: the lines of a later instalment: the month as contracted (the first invoice's lines,
    prices fixed for the term) plus, at their monthly price, the options added since (R33)."""
    codes = {line.code for line in contracted}
    extra = [InvoiceLine(f"option:{o.id}", f"{o.name} - 1 mois", 1, monthly_cents(o.yearly_price_cents))
             for o in added_options if f"option:{o.id}" not in codes]
    return tuple(contracted) + tuple(extra)


def period_bounds(starts_on: date, n: int) -> tuple[date, date]:
    """R21: month n (1..12) of a contract starting on `starts_on`: [start, end), end exclusive."""
    if not 1 <= n <= INSTALMENTS:
        raise ValueError(f"instalment {n} is not one of 1..{INSTALMENTS}")
    return add_months(starts_on, n - 1), add_months(starts_on, n)


def paris_midnight(day: date) -> datetime:
    """00:00 Europe/Paris of a calendar day (always exists and is unambiguous: the DST changes
    happen at 02:00/03:00), as a zone-aware instant."""
    return datetime.combine(day, time(0), tzinfo=PARIS)


def instalment_issue_at(starts_on: date, n: int, lead_days: int) -> datetime:
    """R21: instalment n is issued `lead_days` before its month, at 00:00 Paris."""
    return paris_midnight(period_bounds(starts_on, n)[0] - timedelta(days=lead_days))


def overdue_instants(due_date: date, suspend_days: int, termination_days: int
                     ) -> tuple[datetime, datetime, datetime]:
    """R23 + R26: (restriction, suspension, termination) instants of an invoice left unpaid: the
    restriction at 00:00 Paris on the due date (D+0: the sum was not received *by* the due date),
    the suspension at 00:00 Paris `suspend_days` later, the termination at 00:00 Paris
    `termination_days` after the suspension. Calendar days in Paris, so a DST change in between
    never moves them off midnight."""
    suspension_day = due_date + timedelta(days=suspend_days)
    return (paris_midnight(due_date), paris_midnight(suspension_day),
            paris_midnight(suspension_day + timedelta(days=termination_days)))


def overdue_level(due_dates: Sequence[date], now: datetime, suspend_days: int) -> Optional[HoldLevel]:
    """R23: the non-payment hold that unpaid invoices with these due dates warrant at `now`:
    suspended once one is past its suspension instant, restricted once one is past its due date's
    00:00 Paris, else None."""
    level = None
    for due in due_dates:
        restrict_at, suspend_at, _ = overdue_instants(due, suspend_days, 0)
        if now >= suspend_at:
            return HoldLevel.SUSPENDED
        if now >= restrict_at:
            level = HoldLevel.RESTRICTED
    return level


def days_late(due_date: date, paid_on: date) -> int:
    """R24: penalties accrue from the day after the due date up to the payment day included."""
    return max(0, (paid_on - due_date).days)


def penalty_lines(unpaid_cents: int, annual_rate_percent: Decimal, due_date: date, paid_on: date,
                  professional: bool) -> tuple[InvoiceLine, ...]:
    """R24: the lines of a penalty invoice for an invoice paid on `paid_on` instead of `due_date`:
    the interest (late_penalty_cents without the indemnity), then for a professional the fixed
    recovery indemnity on its own line. No line (nothing owed) when paid in time; a zero interest
    (a tiny amount one day late) gets no line of its own."""
    late = days_late(due_date, paid_on)
    if late == 0 or unpaid_cents == 0:
        return ()
    interest = late_penalty_cents(unpaid_cents, annual_rate_percent, due_date, paid_on, False)
    rate = f"{Decimal(annual_rate_percent).normalize():f}".replace(".", ",")
    lines = []
    if interest:
        lines.append(InvoiceLine("penalty:interest",
                                 f"Pénalités de retard : {late} jour{'s' if late > 1 else ''} au taux annuel {rate} %",
                                 1, interest))
    if professional:
        lines.append(InvoiceLine("penalty:recovery_indemnity", "Indemnité forfaitaire pour frais de recouvrement",
                                 1, PROFESSIONAL_RECOVERY_INDEMNITY_CENTS))
    return tuple(lines)


def accrued_penalty_cents(unpaid_cents: int, annual_rate_percent: Decimal, due_date: date, today: date) -> int:
    """R24: the interest accrued on an unpaid invoice up to `today` included (the indemnity of a
    professional is shown apart, as printed on the invoice)."""
    return late_penalty_cents(unpaid_cents, annual_rate_percent, due_date, today, False)


def termination_lines(fee_cents: int, monthly: Sequence[InvoiceLine], remaining: Sequence[int],
                      starts_on: date) -> tuple[InvoiceLine, ...]:
    """R26: the termination fees, then every remaining instalment of the term not invoiced yet,
    one line per contracted line with the number of months as quantity."""
    lines = [InvoiceLine("termination_fee", "Frais de résiliation pour défaut de paiement", 1, fee_cents)]
    months = sorted(remaining)
    if months:
        first, last = period_bounds(starts_on, months[0])[0], period_bounds(starts_on, months[-1])[1]
        span = f"échéances {', '.join(str(m) for m in months)}/{INSTALMENTS}, du {first:%d/%m/%Y} au {last:%d/%m/%Y}"
        lines += [InvoiceLine(line.code, f"{line.description.removesuffix(' - 1 mois')} - {span}", len(months),
                              line.unit_cents) for line in monthly]
    return tuple(lines)
