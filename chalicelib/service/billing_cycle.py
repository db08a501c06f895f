"""Monthly billing (R21), overdue invoices (R23), late penalties (R24), persistent default (R26).

A monthly contract runs 12 months (R16) and is paid in advance month by month: the order's
invoice pays month 1, then each month n = 2..12 gets its own invoice (purpose "period"), issued
`monthly_invoice_lead_days` before the month and due on its first day. Every deadline is a timer
(fired once, see timers.py) whose handler re-reads the invoice, so paying it turns the timers
still pending into no-ops:

    invoice_period#<contract>#<n>   00:00 Paris, lead days before month n: the instalment is
                                    issued (next number of the one sequence, R22), its overdue
                                    timers and the next instalment's timer are scheduled
    overdue_restrict#<invoice>      00:00 Paris on the due date (D+0): unpaid -> the contract
                                    holds NON_PAYMENT at `restricted`, the customer is told and
                                    recorded as a bad payer (R25)
    overdue_suspend#<invoice>       00:00 Paris at D+`overdue_suspend_days`: unpaid -> the hold
                                    becomes `suspended` (the site answers 503, data kept)
    default_termination#<invoice>   00:00 Paris `default_termination_days` after the suspension:
                                    still unpaid and suspended -> terminated at the customer's
                                    fault, termination fees and every remaining instalment due at
                                    once, the R20 retention timers scheduled

Paying an instalment (`@payment_handler("period")`) lifts the non-payment hold at once when no
other instalment of the contract is still overdue (another reason's hold, e.g. abuse, stays), and
a payment after the due date issues a penalty invoice (R24) in the same write.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from ..adapters.dynamo_store import Effect, new_id
from ..adapters.models import ContractModel, InvoiceModel, MetaModel, TimerModel
from ..bootstrap import Services
from ..domain.billing import (INSTALMENTS, InvoiceDraft, InvoiceLine, accrued_penalty_cents, days_late,
                              draft_invoice, instalment_issue_at, instalment_lines,
                              next_sequence_value, overdue_instants, overdue_level, penalty_lines, period_bounds,
                              termination_lines)
from ..domain.calendar import PARIS, paris_date, utc_iso
from ..domain.contracts import (IN_FORCE, ContractEvent, ContractState, HoldLevel, HoldReason, next_state)
from ..domain.evidence import state_change
from .lifecycle import add_notice, revision_guard, schedule_retention, set_hold
from .payments import payment_handler
from .timers import schedule, timer_handler, timer_row

INVOICE_PERIOD, OVERDUE_RESTRICT, OVERDUE_SUSPEND = "invoice_period", "overdue_restrict", "overdue_suspend"
DEFAULT_TERMINATION = "default_termination"
PERIOD, PENALTY, TERMINATION = "period", "penalty", "termination"  # invoice purposes
NON_PAYMENT = HoldReason.NON_PAYMENT.value
_IN_FORCE = tuple(state.value for state in IN_FORCE)
_RANK = {None: 0, HoldLevel.RESTRICTED: 1, HoldLevel.SUSPENDED: 2}


# ---- R21: instalments -----------------------------------------------------------------------------
def instalment_timer(contract: ContractModel, n: int, services: Services, now: datetime) -> TimerModel:
    """R21: the timer that issues instalment n (2..12) `monthly_invoice_lead_days` before its month."""
    issue_at = instalment_issue_at(date.fromisoformat(contract.starts_on), n,
                                   services.settings.monthly_invoice_lead_days)
    return timer_row(INVOICE_PERIOD, f"{contract.contract_id}#{n}", contract.customer_id, issue_at, now)


def first_instalment_timers(contract: ContractModel, services: Services, now: datetime) -> list[TimerModel]:
    """R21: scheduled when a monthly contract becomes active: the timer of month 2 (each
    instalment then schedules the next). A yearly contract has none."""
    if (contract.billing_period or "yearly") != "monthly":
        return []
    return [instalment_timer(contract, 2, services, now)]


@timer_handler(INVOICE_PERIOD)
def on_instalment_due(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R21 + R22: month n's invoice, in advance, due on the month's first day, with its own
    number; then the R23 deadlines of that invoice and the next month's timer."""
    contract_id, _, n_text = timer.target_id.rpartition("#")
    n = int(n_text)
    store, s, now = services.store, services.settings, services.clock.now()
    contract = store.get_contract(contract_id)
    if contract is None or contract.status not in _IN_FORCE or (contract.billing_period or "yearly") != "monthly":
        return None  # ended (expired, terminated, withdrawn...): nothing more is invoiced
    first = store.get_invoice(contract.invoice_id)
    period_start, period_end = period_bounds(date.fromisoformat(contract.starts_on), n)
    today = paris_date(now)
    draft = draft_invoice(_month_lines(contract, first, services), vat_rate=s.vat_rate, currency=first.currency,
                          issue_date=today, due_date=max(period_start, today),
                          late_penalty_rate_percent=s.late_penalty_rate_percent, professional=_professional(first))
    effect = Effect()
    # Written only while the contract is in force: an instalment never follows a termination that
    # committed meanwhile (its condition fails and the timer is tried again, then does nothing).
    effect.update("contract", ContractModel(contract_id=contract_id), [ContractModel.updated_at.set(utc_iso(now))],
                  ContractModel.status.is_in(*_IN_FORCE))
    invoice = _issue(effect, services, draft, contract, first.bill_to, now, purpose=PERIOD,
                     period_start=period_start.isoformat(), period_end=period_end.isoformat(),
                     details={"instalment": n, "of": INSTALMENTS})
    restrict_at, suspend_at, _ = overdue_instants(date.fromisoformat(invoice.due_date), s.overdue_suspend_days,
                                                  s.default_termination_days)
    schedule(effect, timer_row(OVERDUE_RESTRICT, invoice.invoice_id, contract.customer_id, restrict_at, now))
    schedule(effect, timer_row(OVERDUE_SUSPEND, invoice.invoice_id, contract.customer_id, suspend_at, now))
    if n < INSTALMENTS:
        schedule(effect, instalment_timer(contract, n + 1, services, now))
    return effect


def _month_lines(contract: ContractModel, first: InvoiceModel, services: Services) -> tuple[InvoiceLine, ...]:
    """R21: the month as contracted (the first invoice's lines: prices are fixed for the term) plus
    the options added since at their monthly price (R33)."""
    contracted = [InvoiceLine(line["code"], line["description"], int(line["quantity"]), int(line["unit_cents"]))
                  for line in first.lines]
    added = [services.catalog.options[o] for o in contract.options if o in services.catalog.options]
    return instalment_lines(contracted, added)


def _professional(invoice: InvoiceModel) -> bool:
    return bool((invoice.bill_to or {}).get("siren"))


def _issue(effect: Effect, services: Services, draft: InvoiceDraft, contract: ContractModel, bill_to: dict,
           now: datetime, *, purpose: str, actor: str = "system", correlation_id: Optional[str] = None,
           **fields: Any) -> InvoiceModel:
    """R22: an invoice of the contract numbered in the effect's own write (the sequence moves from
    the last number read to the next, or the write fails and its message is tried again), with
    its evidence and its `invoice_issued` notice (queued after the commit)."""
    from ..adapters.notice_store import NOTICE_IS_NEW
    from .notices import queue_notice
    from .orders import invoice_notice
    store, prefix = services.store, services.settings.invoice_number_prefix
    last = store.last_invoice_sequence()
    sequence = next_sequence_value(last)
    from .invoicing import invoice_row
    invoice = invoice_row(draft, invoice_id=new_id("inv"), sequence=sequence, prefix=prefix,
                          customer_id=contract.customer_id, order_id=contract.order_id,
                          contract_id=contract.contract_id, bill_to=bill_to, now=now, purpose=purpose, **fields)
    store.claim_sequence(effect, last, sequence, now)
    effect.save(f"invoice:{purpose}", invoice, InvoiceModel.invoice_id.does_not_exist())
    effect.evidence.append(state_change(
        contract.customer_id, now, actor, "invoice", invoice.invoice_id, None, "issued", action="invoice.issued",
        number=invoice.number, total_cents=int(invoice.total_cents), purpose=purpose, due_date=invoice.due_date,
        correlation_id=correlation_id, contract_id=contract.contract_id, order_id=contract.order_id))
    notice = invoice_notice(invoice, now, correlation_id)
    effect.save(f"notice:invoice_issued:{purpose}", notice, NOTICE_IS_NEW)
    effect.after_commit.append(lambda: queue_notice(notice, services))
    return invoice


issue_contract_invoice = _issue  # the same step for other use cases (R37/R38 dossier fees)


# ---- R23: overdue ---------------------------------------------------------------------------------
def _unpaid(timer: TimerModel, services: Services) -> tuple[Optional[InvoiceModel], Optional[ContractModel]]:
    """The timer's invoice and contract while the invoice is still unpaid; (None, None) once paid
    (or cancelled): the deadline has nothing left to do."""
    invoice = services.store.get_invoice(timer.target_id)
    if invoice is None or invoice.status != "issued":
        return None, None
    return invoice, services.store.get_contract(invoice.contract_id)


def _non_payment(contract: ContractModel) -> Optional[HoldLevel]:
    level = (contract.holds or {}).get(NON_PAYMENT)
    return HoldLevel(level) if level else None


def bad_payer_keys(email: Optional[str], siren: Optional[str]) -> list[str]:
    """R25: the rows naming a customer who missed a due date (read at order time by payers.py)."""
    from .payers import payer_keys
    return [f"bad_payer#{key}" for key in payer_keys(email, siren)]


def _record_bad_payer(effect: Effect, services: Services, invoice: InvoiceModel, now: datetime) -> None:
    customer = services.store.get_customer(invoice.customer_id)
    email = customer.email if customer else (invoice.bill_to or {}).get("email")
    siren = (customer.siren if customer else (invoice.bill_to or {}).get("siren")) or None
    for key in bad_payer_keys(email, siren):
        effect.save(key, MetaModel(name=key, text=invoice.number, updated_at=utc_iso(now)))
    effect.evidence.append(state_change(
        invoice.customer_id, now, "system", "customer", invoice.customer_id, None, "in_default",
        action="customer.payment_default", invoice_id=invoice.invoice_id, invoice_number=invoice.number,
        due_date=invoice.due_date, contract_id=invoice.contract_id, order_id=invoice.order_id))


@timer_handler(OVERDUE_RESTRICT)
def on_overdue_restrict(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R23 (D+0): the instalment was not received by its due date: the service is restricted,
    the customer told, and recorded as a bad payer (R25)."""
    invoice, contract = _unpaid(timer, services)
    if invoice is None:
        return None
    s, now, effect = services.settings, services.clock.now(), Effect()
    _record_bad_payer(effect, services, invoice, now)
    if contract is not None and contract.status in _IN_FORCE and _non_payment(contract) is None:
        set_hold(effect, "contract", contract, NON_PAYMENT, HoldLevel.RESTRICTED, services, now, "system",
                 invoice_id=invoice.invoice_id, invoice_number=invoice.number)
        due = date.fromisoformat(invoice.due_date)
        restrict_at, suspend_at, _ = overdue_instants(due, s.overdue_suspend_days, s.default_termination_days)
        add_notice(effect, services, key=f"contract_restricted#{invoice.invoice_id}", contract=contract,
                   template="contract_restricted", now=now, context={
                       "domain": contract.domain_name, "invoice_number": invoice.number,
                       "amount_due_cents": int(invoice.total_cents), "due_date": invoice.due_date,
                       "since": paris_date(restrict_at).isoformat(),
                       "suspension_on": paris_date(suspend_at).isoformat(), **_named(invoice)})
    return effect


def _named(invoice: InvoiceModel) -> dict[str, str]:
    """The greeting names the customer as the invoice does (when it does)."""
    name = (invoice.bill_to or {}).get("name")
    return {"customer_name": name} if name else {}


@timer_handler(OVERDUE_SUSPEND)
def on_overdue_suspend(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R23 (D+7): still unpaid after the grace period: the service is suspended (site 503, data
    kept), the customer told; R26: the termination deadline is scheduled."""
    invoice, contract = _unpaid(timer, services)
    if invoice is None or contract is None or contract.status not in _IN_FORCE:
        return None
    s, now, effect = services.settings, services.clock.now(), Effect()
    _, suspend_at, terminate_at = overdue_instants(date.fromisoformat(invoice.due_date), s.overdue_suspend_days,
                                                   s.default_termination_days)
    if _non_payment(contract) != HoldLevel.SUSPENDED:
        set_hold(effect, "contract", contract, NON_PAYMENT, HoldLevel.SUSPENDED, services, now, "system",
                 invoice_id=invoice.invoice_id, invoice_number=invoice.number)
        add_notice(effect, services, key=f"contract_suspended#unpaid#{invoice.invoice_id}", contract=contract,
                   template="contract_suspended", now=now, context={
                       "domain": contract.domain_name, "reason": "unpaid",
                       "since": paris_date(suspend_at).isoformat(), "invoice_number": invoice.number,
                       "amount_due_cents": int(invoice.total_cents), **_named(invoice)})
    schedule(effect, timer_row(DEFAULT_TERMINATION, invoice.invoice_id, contract.customer_id, terminate_at, now))
    return effect


# ---- R26: persistent default ----------------------------------------------------------------------
def _remaining_instalments(contract: ContractModel, services: Services) -> list[int]:
    """R21/R26: the months of the term not invoiced yet. Instalments are issued in order, each by
    its timer (done once issued), so they are the months from the first timer not done."""
    n = 2
    while n <= INSTALMENTS:
        timer = services.store.get_timer(f"{INVOICE_PERIOD}#{contract.contract_id}#{n}")
        if timer is None or timer.state != "done":
            break
        n += 1
    return list(range(n, INSTALMENTS + 1))


@timer_handler(DEFAULT_TERMINATION)
def on_default_termination(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R26: a default that persists after the suspension: the contract is terminated at the
    customer's fault (the space stays suspended), termination fees and every remaining instalment
    of the term become due at once on one invoice, the customer is told, and the R20 retention
    timers (warning, then deletion) are scheduled from the termination."""
    invoice, contract = _unpaid(timer, services)
    if invoice is None or contract is None or contract.status != ContractState.SUSPENDED.value \
            or _non_payment(contract) is None:
        return None
    store, s, now, effect = services.store, services.settings, services.clock.now(), Effect()
    terminated_at = datetime.fromisoformat(timer.due_at).astimezone(PARIS)
    target = next_state(contract.status, ContractEvent.TERMINATED_FOR_DEFAULT)
    # On the revision too: a payment that lifted the non-payment hold meanwhile (while another
    # reason keeps the contract suspended) makes this write fail; the retry finds the invoice paid.
    unchanged, next_revision = revision_guard(contract)
    effect.update("contract", ContractModel(contract_id=contract.contract_id),
                  [ContractModel.status.set(target.value), ContractModel.ended_reason.set("default"),
                   next_revision, ContractModel.updated_at.set(utc_iso(now))],
                  unchanged & (ContractModel.status == ContractState.SUSPENDED.value))
    effect.evidence.append(state_change(
        contract.customer_id, now, "system", "contract", contract.contract_id, contract.status, target.value,
        reason="default", invoice_id=invoice.invoice_id, invoice_number=invoice.number,
        holds=dict(contract.holds or {}), contract_id=contract.contract_id, order_id=contract.order_id))
    first = store.get_invoice(contract.invoice_id)
    remaining = _remaining_instalments(contract, services)
    starts_on, today = date.fromisoformat(contract.starts_on), paris_date(now)
    lines = termination_lines(s.termination_fee_cents, _month_lines(contract, first, services), remaining, starts_on)
    draft = draft_invoice(lines, vat_rate=s.vat_rate, currency=first.currency, issue_date=today, due_date=today,
                          late_penalty_rate_percent=s.late_penalty_rate_percent, professional=_professional(first))
    period = (period_bounds(starts_on, remaining[0])[0].isoformat(), contract.ends_on) if remaining else (None, None)
    termination = _issue(effect, services, draft, contract, first.bill_to, now, purpose=TERMINATION,
                         period_start=period[0], period_end=period[1],
                         details={"defaulted_invoice_id": invoice.invoice_id, "instalments": remaining,
                                  "termination_fee_cents": s.termination_fee_cents})
    deletion_at = schedule_retention(effect, contract, terminated_at, services, now)
    _, suspend_at, _ = overdue_instants(date.fromisoformat(invoice.due_date), s.overdue_suspend_days,
                                        s.default_termination_days)
    add_notice(effect, services, key=f"contract_terminated#{contract.contract_id}", contract=contract,
               template="contract_terminated", now=now, context={
                   "domain": contract.domain_name, "invoice_number": invoice.number,
                   "amount_due_cents": int(invoice.total_cents), "suspended_since": paris_date(suspend_at).isoformat(),
                   "terminated_on": paris_date(terminated_at).isoformat(),
                   "termination_invoice_number": termination.number,
                   "termination_fee_cents": s.termination_fee_cents, "remaining_instalments": len(remaining),
                   "termination_total_cents": int(termination.total_cents),
                   "deletion_on": paris_date(deletion_at).isoformat(), **_named(first)})
    return effect


# ---- R23 + R24: payments --------------------------------------------------------------------------
def _other_overdue_due_dates(contract: ContractModel, paid_invoice_id: str, services: Services) -> list[date]:
    """Due dates of the contract's other instalments still unpaid (the index may lag: a candidate
    is read again, strongly consistent, before it counts)."""
    dates = []
    for candidate in services.store.invoices_of_contract(contract.contract_id):
        if candidate.invoice_id == paid_invoice_id or candidate.purpose != PERIOD or candidate.status != "issued":
            continue
        fresh = services.store.get_invoice(candidate.invoice_id)
        if fresh is not None and fresh.status == "issued":
            dates.append(date.fromisoformat(fresh.due_date))
    return dates


def _touch(effect: Effect, contract: ContractModel, now: datetime) -> None:
    """Move the contract's revision without changing it: concurrent hold changes and the R26
    termination, conditioned on the revision, are then decided on fresh data."""
    unchanged, next_revision = revision_guard(contract)
    effect.update("contract", ContractModel(contract_id=contract.contract_id),
                  [next_revision, ContractModel.updated_at.set(utc_iso(now))],
                  unchanged & ContractModel.status.is_in(*_IN_FORCE))


@payment_handler(PERIOD)
def on_instalment_paid(effect: Effect, payment: Any, invoice: InvoiceModel, contract: ContractModel,
                       services: Services, now: datetime, correlation_id: Optional[str]) -> dict:
    """R23: paying the overdue instalment lifts the non-payment hold at once (UnsuspendSpace goes
    to the node) unless another instalment of the contract is still overdue; a hold of another
    reason stays. R24: paid after its due date, a penalty invoice is issued in the same write."""
    s, extra = services.settings, {}
    held = _non_payment(contract)
    if contract.status in _IN_FORCE and held is not None:
        still_due = overdue_level(_other_overdue_due_dates(contract, invoice.invoice_id, services), now,
                                  s.overdue_suspend_days)
        level = min(held, still_due, key=lambda lv: _RANK[lv])
        if level != held:
            state = set_hold(effect, "contract", contract, NON_PAYMENT, level, services, now, payment.actor,
                             invoice_id=invoice.invoice_id, invoice_number=invoice.number,
                             payment_event_id=payment.payment_id, correlation_id=correlation_id)
            extra["service_restored"] = state == ContractState.ACTIVE
        else:
            _touch(effect, contract, now)
    paid_on = getattr(payment, "received_on", None) or paris_date(now)
    due = date.fromisoformat(invoice.due_date)
    lines = penalty_lines(int(invoice.total_cents), Decimal(invoice.late_penalty_rate_percent), due, paid_on,
                          _professional(invoice))
    if lines:
        today = paris_date(now)
        draft = draft_invoice(lines, vat_rate=Decimal("0"), currency=invoice.currency, issue_date=today,
                              due_date=today, late_penalty_rate_percent=Decimal(invoice.late_penalty_rate_percent),
                              professional=False)
        penalty = _issue(effect, services, draft, contract, invoice.bill_to, now, purpose=PENALTY,
                         actor=payment.actor, correlation_id=correlation_id, penalty_of=invoice.invoice_id,
                         details={"late_invoice_number": invoice.number, "days_late": days_late(due, paid_on),
                                  "paid_on": paid_on.isoformat(), "unpaid_cents": int(invoice.total_cents),
                                  "annual_rate_percent": invoice.late_penalty_rate_percent})
        extra["penalty_invoice_number"] = penalty.number
    return extra


@payment_handler(PENALTY)
def on_penalty_paid(effect: Effect, payment: Any, invoice: InvoiceModel, contract: ContractModel,
                    services: Services, now: datetime, correlation_id: Optional[str]) -> None:
    """R24: a penalty invoice is paid: recorded (with the payment), nothing else changes."""
    return None


@payment_handler(TERMINATION)
def on_termination_invoice_paid(effect: Effect, payment: Any, invoice: InvoiceModel, contract: ContractModel,
                                services: Services, now: datetime, correlation_id: Optional[str]) -> None:
    """R26: the sums due at termination are paid: recorded; the contract stays terminated."""
    return None


# ---- R26: default, read side ----------------------------------------------------------------------
def unpaid_past_due(contract_id: str, services: Services, today: date) -> Optional[InvoiceModel]:
    """R26: an invoice of the contract still unpaid after its due date (the customer is in
    default), or None. Credit notes never count."""
    for candidate in services.store.invoices_of_contract(contract_id):
        if candidate.kind == "invoice" and candidate.status == "issued" \
                and date.fromisoformat(candidate.due_date) < today:
            fresh = services.store.get_invoice(candidate.invoice_id)
            if fresh is not None and fresh.status == "issued":
                return fresh
    return None


def accrued_penalty(invoice: InvoiceModel, today: date) -> Optional[dict[str, int]]:
    """R24: for an invoice unpaid after its due date, the days late and the interest accrued to
    `today`; None otherwise."""
    if invoice.kind != "invoice" or invoice.status != "issued":
        return None
    due = date.fromisoformat(invoice.due_date)
    if today <= due:
        return None
    return {"days_late": days_late(due, today),
            "accrued_penalty_cents": accrued_penalty_cents(int(invoice.total_cents),
                                                           Decimal(invoice.late_penalty_rate_percent), due, today)}
