"""Disputes between the provider and a customer: claims (R46, R47), amicable settlement (R51),
formal notice then termination (R52), wrongful early termination (R53). Pure rules and arithmetic.

Rule R47 (15.6.7, 20.1): a claim filed more than one year after its triggering event is time-barred.
    The year is counted in Paris calendar days: an event on D may be claimed up to and including
    the same calendar date one year later (`add_months(D, 12)`: 29 February -> 28 February); a
    claim filed the next day is barred.
Rule R46 (15.6.6): compensation is capped at the solution's yearly price, except for wilful or gross
    fault. The yearly price is the contract's own (its first invoice's plan and option lines, prices
    being fixed for the term; a monthly contract's month times 12) plus the options added during
    the term at their yearly price, VAT included (what the customer pays for a year of the solution).
    A grant above the cap is reduced to the cap, and the decision says so.
Rule R51 (19.1): a breach that is neither illegal nor a payment default opens a settlement case;
    an illegal breach or a payment default cannot (422).
Rule R52 (19.3): a wilful or gross breach allows termination one month after a formal notice that
    remained without effect. The month ends at the end (24:00 Paris) of the day bearing the same
    number one month later (art. 641-642 CPC); a breach that is not illegal needs a failed
    settlement case (R51) before the formal notice.
Rule R53 (19.5): a customer ending the contract early outside the allowed cases owes every remaining
    sum of the contract: the monthly instalments not invoiced yet (a yearly contract is already
    paid: nothing more, no refund).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable, Optional, Sequence

from .billing import INSTALMENTS, InvoiceLine, period_bounds, vat_cents
from .calendar import PARIS, add_months, paris_date, require_aware
from .contracts import IN_FORCE, ContractState
from .errors import ConflictError, IllegalTransitionError, RuleViolationError

# Kinds of the rows of the disputes table.
CLAIM, SETTLEMENT_CASE, FORMAL_NOTICE, EARLY_TERMINATION = (
    "claim", "settlement_case", "formal_notice", "early_termination")

# Why a contract ended, as `ContractModel.ended_reason` records it.
GROSS_BREACH = "gross_breach"                            # R52: terminated by the provider
CUSTOMER_EARLY_TERMINATION = "customer_early_termination"  # R53: outside the allowed cases
PROVIDER_BREACH = "provider_breach"                      # R52 the other way: the customer's legitimate termination
FORCE_MAJEURE = "force_majeure"                          # R50: more than 30 days of force majeure

CLAIM_YEARS = 1          # R47 (20.1): "plus d'un an après la survenance du fait générateur"
NOTICE_MONTHS = 1        # R52 (19.3): "un mois après la présentation ... d'une lettre de mise en demeure"


# ---- R47: the time bar ---------------------------------------------------------------------------

def claim_last_day(event_at: datetime) -> date:
    """R47: the last Paris calendar day on which a claim about an event at `event_at` is within time:
    the same calendar date one year later (clamped to the month's end for 29 February)."""
    return add_months(paris_date(require_aware(event_at)), 12 * CLAIM_YEARS)


def time_barred(event_at: datetime, filed_at: datetime) -> bool:
    """R47: True when the claim was filed after its last day (Paris)."""
    return paris_date(require_aware(filed_at)) > claim_last_day(event_at)


def check_claim_dates(event_at: datetime, filed_at: datetime, now: datetime) -> None:
    """R47: the dates of a claim must be possible: the event and the filing are not in the future
    and the claim is not filed before its event (422, nothing recorded)."""
    event_at, filed_at, now = require_aware(event_at), require_aware(filed_at), require_aware(now)
    if event_at > now:
        raise RuleViolationError("the triggering event cannot be in the future", code="event_in_future",
                                 fields={"event_at": "an instant up to now"})
    if filed_at > now:
        raise RuleViolationError("a claim cannot be filed in the future", code="filed_in_future",
                                 fields={"filed_at": "an instant up to now (omit it: now)"})
    if filed_at < event_at:
        raise RuleViolationError("a claim is filed after its triggering event", code="filed_before_event",
                                 fields={"filed_at": "an instant at or after event_at"})


# ---- R46: the liability cap ------------------------------------------------------------------------

@dataclass(frozen=True)
class YearlyPrice:
    """R46: the solution's yearly price (plan and options), excluding and including VAT."""
    subtotal_cents: int
    vat_cents: int
    total_cents: int


def solution_yearly_price(contracted: Iterable[InvoiceLine], billing_period: str,
                          added_options_yearly_cents: Iterable[int], vat_rate) -> YearlyPrice:
    """R46: the yearly price of the solution as contracted: the plan and option lines of the
    contract's first invoice (a year, or for a monthly contract a month, so times 12), plus the
    options added during the term at their yearly price; VAT at the contract's rate on top.
    Other lines (none today; e.g. fees) are not the solution's price."""
    months = INSTALMENTS if billing_period == "monthly" else 1
    solution = [line for line in contracted if line.code.startswith(("plan:", "option:"))]
    subtotal = sum(line.total_cents for line in solution) * months + sum(int(c) for c in added_options_yearly_cents)
    vat = vat_cents(subtotal, vat_rate)
    return YearlyPrice(subtotal, vat, subtotal + vat)


@dataclass(frozen=True)
class Compensation:
    """R46: what an operator granted, what the customer gets, and why."""
    granted_cents: int           # what the operator decided
    awarded_cents: int           # what is owed to the customer
    cap_cents: Optional[int]     # None: uncapped (wilful or gross fault)
    capped: bool                 # the grant was reduced to the cap


def cap_compensation(granted_cents: int, cap_cents: int, gross_or_wilful_fault: bool) -> Compensation:
    """R46: a grant is capped at the yearly price, except for wilful or gross fault (uncapped).
    A grant above the cap is reduced to it (`capped`); at the cap exactly it is not reduced."""
    if isinstance(granted_cents, bool) or not isinstance(granted_cents, int) or granted_cents < 0:
        raise ValueError("a compensation is a non-negative integer number of cents")
    if cap_cents < 0:
        raise ValueError("a cap is a non-negative number of cents")
    if gross_or_wilful_fault:
        return Compensation(granted_cents, granted_cents, None, False)
    awarded = min(granted_cents, cap_cents)
    return Compensation(granted_cents, awarded, cap_cents, awarded < granted_cents)


# ---- R51: amicable settlement ----------------------------------------------------------------------

BREACH_KINDS = ("service_quality", "customer_obligation", "other", "payment")
SETTLEMENT_OUTCOMES = ("settled", "failed")
SETTLEMENT_TRANSITIONS = {("open", "settled"): "settled", ("open", "failed"): "failed"}


def check_settlement_allowed(breach_kind: str, illegal: bool) -> None:
    """R51 (19.1): only a breach that is neither illegal nor a payment default opens a settlement
    case (422 otherwise: an illegal activity is handled by R49 measures, a payment default by R23/R26)."""
    if breach_kind not in BREACH_KINDS:
        raise RuleViolationError(f"breach_kind is one of {', '.join(BREACH_KINDS)}", code="unknown_breach_kind",
                                 fields={"breach_kind": "service_quality, customer_obligation or other"})
    if illegal:
        raise RuleViolationError("R51: an illegal breach opens no settlement case; it is handled by graduated "
                                 "measures (R49) or a formal notice (R52)", code="settlement_excluded_illegal",
                                 fields={"illegal": "a settlement case is for a breach that is not illegal"})
    if breach_kind == "payment":
        raise RuleViolationError("R51: a payment default opens no settlement case; it follows the overdue rules "
                                 "(R23 restriction and suspension, R26 termination)",
                                 code="settlement_excluded_payment_default",
                                 fields={"breach_kind": "service_quality, customer_obligation or other"})


def settlement_next(status: str, outcome: str) -> str:
    """R51: an open case is settled or fails, once."""
    try:
        return SETTLEMENT_TRANSITIONS[(status, outcome)]
    except KeyError:
        raise IllegalTransitionError("settlement_case", status, outcome) from None


# ---- R52: formal notice, then termination -----------------------------------------------------------

PARTIES = ("provider", "customer")  # who puts the other on notice


@dataclass(frozen=True)
class NoticeTerm:
    """R52: the month of a formal notice: the last day to remedy and the instant termination is allowed."""
    served_on: date
    last_day: date
    terminable_at: datetime


def formal_notice_term(served_at: datetime) -> NoticeTerm:
    """R52: a notice served on day D (Paris) runs until the end of the day bearing D's number one
    month later (clamped to the month's end); termination is allowed from 00:00 Paris the next day."""
    served_on = paris_date(require_aware(served_at))
    last_day = add_months(served_on, NOTICE_MONTHS)
    return NoticeTerm(served_on, last_day, datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=PARIS))


def check_formal_notice(*, gross_or_wilful: bool, breach_kind: str, illegal: bool, from_party: str,
                        settlement_status: Optional[str]) -> None:
    """R52 (+ R51): a formal notice is for a wilful or gross breach; a payment default follows R26;
    a provider's notice for a breach that is not illegal needs a failed settlement case first.
    (A customer's notice to the provider, recorded by an operator, is a fact: it is recorded.)"""
    if from_party not in PARTIES:
        raise RuleViolationError("from_party is provider or customer", code="unknown_party",
                                 fields={"from_party": "provider or customer"})
    if gross_or_wilful is not True:
        raise RuleViolationError("R52: only a wilful or gross breach allows a formal notice leading to termination; "
                                 "a lesser breach opens a settlement case (R51)", code="gross_breach_required",
                                 fields={"gross_or_wilful": "must be true"})
    if breach_kind == "payment":
        raise RuleViolationError("R52: a payment default is not put on notice here: it follows R23 and R26 "
                                 "(termination after a persistent default)", code="payment_default_follows_r26",
                                 fields={"breach_kind": "service_quality, customer_obligation or other"})
    if breach_kind not in BREACH_KINDS:
        raise RuleViolationError(f"breach_kind is one of {', '.join(BREACH_KINDS[:-1])}", code="unknown_breach_kind",
                                 fields={"breach_kind": "service_quality, customer_obligation or other"})
    if from_party == "provider" and not illegal and settlement_status != "failed":
        raise RuleViolationError(
            "R51: a breach that is neither illegal nor a payment default needs a settlement case that failed before "
            "any termination; open one (POST /admin/contracts/{contract_id}/settlement-cases), record its failure, "
            "then name it in settlement_case_id", code="settlement_required",
            fields={"settlement_case_id": "a failed settlement case of this contract"})


FORMAL_NOTICE_STATES = ("served", "remedied", "executed", "lapsed")


def check_breach_termination(notice_status: Optional[str], terminable_at: Optional[datetime], now: datetime) -> None:
    """R52: the provider terminates for a gross breach only on a formal notice still without effect
    whose month is over (422 without notice, 409 while the month runs or once remedied)."""
    if notice_status is None:
        raise RuleViolationError("R52: a termination for breach needs a formal notice served at least one month "
                                 "before and still without effect (POST /admin/contracts/{contract_id}/formal-notices)",
                                 code="formal_notice_required")
    if notice_status == "remedied":
        raise ConflictError("R52: the breach was remedied after the formal notice: the contract cannot be terminated "
                            "on it", code="formal_notice_remedied")
    if notice_status != "served":
        raise ConflictError(f"the formal notice is {notice_status}", code=f"formal_notice_{notice_status}")
    if require_aware(now) < terminable_at:
        last_day = (terminable_at.astimezone(PARIS) - timedelta(days=1)).date()
        raise ConflictError(f"R52: the formal notice's month runs until the end of {last_day.isoformat()} (Paris); "
                            f"the contract can be terminated from {terminable_at.astimezone(PARIS).isoformat()}",
                            code="formal_notice_period_running")


def terminated_state(current: ContractState | str) -> ContractState:
    """R52/R53 (and R50): a contract in force (active, restricted or suspended) can be terminated;
    any other state cannot (IllegalTransitionError, 409)."""
    state = ContractState(current)
    if state not in IN_FORCE:
        raise IllegalTransitionError("contract", state.value, "terminate")
    return ContractState.TERMINATED


# ---- R53: wrongful early termination ----------------------------------------------------------------

ALLOWED_CASES = (FORCE_MAJEURE, PROVIDER_BREACH)


def remaining_instalment_lines(monthly: Sequence[InvoiceLine], remaining: Sequence[int],
                               starts_on: date) -> tuple[InvoiceLine, ...]:
    """R53 (19.5): every remaining instalment of the term not invoiced yet, one line per contracted
    monthly line with the number of months as quantity (no fee: the rules name none). Empty when
    nothing remains (a yearly contract, or the last month already invoiced)."""
    months = sorted(set(remaining))
    if not months:
        return ()
    if months[0] < 1 or months[-1] > INSTALMENTS:
        raise ValueError(f"instalments are 1..{INSTALMENTS}")
    first, last = period_bounds(starts_on, months[0])[0], period_bounds(starts_on, months[-1])[1]
    span = (f"échéances {', '.join(str(m) for m in months)}/{INSTALMENTS} restant dues, du {first:%d/%m/%Y} "
            f"au {last:%d/%m/%Y} (résiliation anticipée)")
    return tuple(InvoiceLine(line.code, f"{line.description.removesuffix(' - 1 mois')} - {span}", len(months),
                             line.unit_cents) for line in monthly)
