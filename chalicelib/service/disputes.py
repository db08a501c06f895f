"""Disputes (R46, R47, R51, R52, R53): claims with the liability cap and the time bar, amicable
settlement cases, formal notices then termination for gross breach, and the customer's early
termination owing the remaining sums. The rules are in domain/disputes.py.

Every use case is one DynamoDB transaction (an Effect): the dispute row (claim, settlement case,
formal notice or early termination, table `disputes`), the contract's move when it ends, its node
command (SuspendSpace) and R20 retention timers, the invoice of the remaining sums (R22: numbered
in the same write), the notices (R54) and one evidence entry per change (R56).

Duplicates change nothing twice: a dispute's id is derived from what it says (the same claim or
case posted again is the same row, answered 200), the early termination of a contract is one row
per contract, and every move of a row is conditioned on the status it was read in.

Timer `formal_notice_term#<notice id>` (R52): at 00:00 Paris after the notice's month, a provider's
notice still `served` terminates its contract (ended_reason `gross_breach`) unless it was remedied.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any, Callable, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict, TransactionContention, new_alert
from ..adapters.models import AlertModel, ContractModel, DisputeModel, InvoiceModel, TimerModel
from ..bootstrap import Services
from ..domain.billing import InvoiceLine, draft_invoice, period_bounds
from ..domain.calendar import paris_date, parse_iso, utc_iso
from ..domain.contracts import IN_FORCE, ContractState
from ..domain.disputes import (CLAIM, CUSTOMER_EARLY_TERMINATION, EARLY_TERMINATION, FORCE_MAJEURE, FORMAL_NOTICE,
                               GROSS_BREACH, PROVIDER_BREACH, SETTLEMENT_CASE, cap_compensation,
                               check_breach_termination, check_claim_dates, check_formal_notice,
                               check_settlement_allowed, claim_last_day, formal_notice_term, remaining_instalment_lines,
                               settlement_next, solution_yearly_price, terminated_state, time_barred)
from ..domain.errors import ConflictError, DomainError, IllegalTransitionError, NotFoundError, RuleViolationError
from ..domain.evidence import state_change
from .lifecycle import add_notice, issue_node_command, revision_guard, schedule_retention
from .timers import schedule, timer_handler, timer_row

FORMAL_NOTICE_TERM = "formal_notice_term"   # R52 timer kind, target: the formal notice's id
_IN_FORCE = tuple(state.value for state in IN_FORCE)
TERMINATED = ContractState.TERMINATED.value


# ---- reading ---------------------------------------------------------------------------------------

def _digest(*parts: Any) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:24]


def get_dispute(dispute_id: str, services: Services) -> Optional[DisputeModel]:
    try:
        return DisputeModel.get(dispute_id, consistent_read=True)
    except DisputeModel.DoesNotExist:
        return None


def _dispute(dispute_id: str, kind: str, services: Services, contract_id: Optional[str] = None) -> DisputeModel:
    row = get_dispute(dispute_id, services)
    if row is None or row.kind != kind or (contract_id is not None and row.contract_id != contract_id):
        raise NotFoundError(f"no {kind.replace('_', ' ')} {dispute_id}", code=f"{kind}_not_found")
    return row


def _contract(contract_id: str, services: Services) -> ContractModel:
    contract = services.store.get_contract(contract_id)
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found",
                            fields={"contract_id": "an existing contract"})
    return contract


def _in_force(contract: ContractModel, what: str) -> None:
    if contract.status not in _IN_FORCE:
        raise ConflictError(f"contract {contract.contract_id} is {contract.status}: {what} needs a contract in force "
                            f"({', '.join(_IN_FORCE)})", code="contract_not_in_force")


def dispute_view(row: DisputeModel) -> dict[str, Any]:
    """What a dispute row says, as the API answers it (operators and its customer)."""
    return {"dispute_id": row.dispute_id, "kind": row.kind, "contract_id": row.contract_id,
            "customer_id": row.customer_id, "status": row.status, "description": row.description,
            **(row.details or {}), "decision": row.decision, "created_by": row.created_by,
            "created_at": row.created_at, "updated_at": row.updated_at}


def disputes_of_contract(contract_id: str, services: Services) -> list[dict[str, Any]]:
    """Every dispute of a contract, oldest first (each read again: the index may lag)."""
    _contract(contract_id, services)
    rows = [get_dispute(r.dispute_id, services) for r in DisputeModel.by_contract.query(contract_id)]
    return [dispute_view(r) for r in rows if r is not None]


def claims_of_customer(customer_id: str, services: Services) -> list[dict[str, Any]]:
    """The claims about a customer's contracts, oldest first (GET /me/claims)."""
    rows = DisputeModel.by_customer.query(customer_id, filter_condition=DisputeModel.kind == CLAIM)
    return [dispute_view(r) for r in rows]


def _commit(effect: Effect, services: Services, conflicts: dict[str, Callable[[], Exception]]) -> None:
    """Apply the effect, then its follow-ups; a failed condition becomes the error of its label
    (the first one named in `conflicts`), or 409 `contract_changed`."""
    try:
        services.store.apply(effect)
    except TransactionConflict as conflict:
        for label, error in conflicts.items():
            if label in conflict.failed:
                raise error() from None
        raise ConflictError("the contract or the dispute changed meanwhile; read it again and retry",
                            code="contract_changed") from None
    except TransactionContention:
        raise ConflictError("the contract or the dispute is being changed; retry", code="contract_changed") from None
    for follow_up in effect.after_commit:
        follow_up()


def _row(dispute_id: str, kind: str, contract: ContractModel, status: str, description: str, details: dict,
         actor: str, now: datetime) -> DisputeModel:
    return DisputeModel(dispute_id=dispute_id, kind=kind, customer_id=contract.customer_id,
                        contract_id=contract.contract_id, status=status, description=description, details=details,
                        decision=None, created_by=actor, created_at=utc_iso(now), updated_at=utc_iso(now))


def _move(effect: Effect, row: DisputeModel, status: str, now: datetime, decision: Optional[dict] = None,
          details: Optional[dict] = None) -> None:
    """A dispute row moves from the status it was read in (or the write fails)."""
    actions = [DisputeModel.status.set(status), DisputeModel.updated_at.set(utc_iso(now))]
    if decision is not None:
        actions.append(DisputeModel.decision.set(decision))
    if details is not None:
        actions.append(DisputeModel.details.set(details))
    effect.update("dispute", DisputeModel(dispute_id=row.dispute_id), actions, DisputeModel.status == row.status)


def _evidence(effect: Effect, row_or_contract: Any, now: datetime, actor: str, entity_type: str, entity_id: str,
              before: Optional[str], after: str, correlation_id: Optional[str], **details: Any) -> None:
    effect.evidence.append(state_change(row_or_contract.customer_id, now, actor, entity_type, entity_id, before, after,
                                        correlation_id=correlation_id, contract_id=row_or_contract.contract_id,
                                        **details))


# ---- R46 + R47: claims --------------------------------------------------------------------------------

def liability_cap(contract: ContractModel, services: Services) -> dict[str, int]:
    """R46: the solution's yearly price (VAT included: the cap), from the contract's first invoice
    (prices fixed for the term) plus the options added since at their yearly price."""
    first = services.store.get_invoice(contract.invoice_id)
    lines = [InvoiceLine(line["code"], line["description"], int(line["quantity"]), int(line["unit_cents"]))
             for line in (first.lines if first is not None else [])]
    codes = {line.code for line in lines}
    added = [services.catalog.options[o].yearly_price_cents for o in contract.options
             if o in services.catalog.options and f"option:{o}" not in codes]
    from decimal import Decimal
    rate = Decimal(first.vat_rate) if first is not None else services.settings.vat_rate
    price = solution_yearly_price(lines, contract.billing_period or "yearly", added, rate)
    return {"yearly_price_excl_vat_cents": price.subtotal_cents, "yearly_price_cents": price.total_cents}


def file_claim(contract_id: str, *, event_at: datetime, filed_at: Optional[datetime], description: str,
               amount_claimed_cents: int, gross_or_wilful_fault: bool, services: Services, actor: str,
               correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R47: a claim about a contract is recorded with its event and filing instants; filed after the
    last day (the same Paris calendar date one year after the event) it is recorded `time_barred`
    (rejected, the customer told), else `filed` and waits for an operator's decision (R46).
    Returns (view, created); the same claim posted again the same day is the same row."""
    now = services.clock.now()
    contract = _contract(contract_id, services)
    filed_at = filed_at or now
    check_claim_dates(event_at, filed_at, now)
    claim_id = "clm_" + _digest(contract_id, utc_iso(event_at), paris_date(filed_at), description,
                                amount_claimed_cents, gross_or_wilful_fault)
    existing = get_dispute(claim_id, services)
    if existing is not None:
        return dispute_view(existing), False
    barred = time_barred(event_at, filed_at)
    last_day = claim_last_day(event_at)
    cap = liability_cap(contract, services)
    details = {"event_at": utc_iso(event_at), "filed_at": utc_iso(filed_at), "last_day": last_day.isoformat(),
               "amount_claimed_cents": amount_claimed_cents, "gross_or_wilful_fault": gross_or_wilful_fault,
               "liability_cap_cents": cap["yearly_price_cents"],
               "liability_cap_excl_vat_cents": cap["yearly_price_excl_vat_cents"]}
    status = "time_barred" if barred else "filed"
    row = _row(claim_id, CLAIM, contract, status, description, details, actor, now)
    effect = Effect()
    if barred:
        row.decision = {"outcome": "time_barred", "decided_at": utc_iso(now), "decided_by": actor,
                        "reason": f"R47: filed on {paris_date(filed_at).isoformat()}, after the last day "
                                  f"{last_day.isoformat()} (one year after the event)"}
        _claim_notice(effect, services, row, contract, now)
    effect.save("dispute", row, DisputeModel.dispute_id.does_not_exist())
    _evidence(effect, row, now, actor, "claim", claim_id, None, status, correlation_id,
              action=f"claim.{status}", event_at=details["event_at"], filed_at=details["filed_at"],
              last_day=details["last_day"], amount_claimed_cents=amount_claimed_cents,
              gross_or_wilful_fault=gross_or_wilful_fault)
    try:
        _commit(effect, services, {"dispute": lambda: _Duplicate()})
    except _Duplicate:
        return dispute_view(_dispute(claim_id, CLAIM, services)), False
    return dispute_view(row), True


class _Duplicate(Exception):
    """The row was written by an identical request meanwhile."""


def decide_claim(claim_id: str, *, granted_cents: int, note: str, gross_or_wilful_fault: Optional[bool],
                 services: Services, actor: str, correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R46: the operator's decision on a claim within time: the compensation granted is capped at
    the solution's yearly price (reduced to it, and the decision says so) unless the provider's
    fault is wilful or gross (the claim's flag, or the decision's when given). A grant above what was
    claimed is refused (422); a time-barred claim cannot be decided (409, R47); deciding again
    the same way answers the same decision, differently 409."""
    row = _dispute(claim_id, CLAIM, services)
    details = dict(row.details or {})
    fault = details.get("gross_or_wilful_fault", False) if gross_or_wilful_fault is None else gross_or_wilful_fault
    if row.status == "time_barred":
        raise ConflictError(f"R47: claim {claim_id} is time-barred (filed after {details.get('last_day')}): it "
                            "cannot be decided", code="claim_time_barred")
    if row.status == "decided":
        decision = row.decision or {}
        if (decision.get("granted_cents"), decision.get("note"), decision.get("gross_or_wilful_fault")) == (
                granted_cents, note, fault):
            return dispute_view(row)
        raise ConflictError(f"claim {claim_id} was decided on {decision.get('decided_at')}",
                            code="claim_already_decided")
    if granted_cents > int(details["amount_claimed_cents"]):
        raise RuleViolationError(f"the grant ({granted_cents} cents) exceeds the amount claimed "
                                 f"({details['amount_claimed_cents']} cents)", code="grant_exceeds_claim",
                                 fields={"granted_cents": f"at most {details['amount_claimed_cents']}"})
    now, contract = services.clock.now(), _contract(row.contract_id, services)
    cap = liability_cap(contract, services)
    compensation = cap_compensation(granted_cents, cap["yearly_price_cents"], bool(fault))
    decision = {"outcome": "granted" if compensation.awarded_cents else "rejected", "granted_cents": granted_cents,
                "awarded_cents": compensation.awarded_cents, "capped": compensation.capped,
                "cap_cents": compensation.cap_cents, "gross_or_wilful_fault": bool(fault), "note": note,
                "decided_at": utc_iso(now), "decided_by": actor}
    if compensation.capped:
        decision["reason"] = (f"R46: compensation capped at the solution's yearly price ({compensation.cap_cents} "
                              f"cents incl. VAT); {granted_cents} cents were granted")
    effect = Effect()
    _move(effect, row, "decided", now, decision)
    _evidence(effect, row, now, actor, "claim", claim_id, row.status, "decided", correlation_id,
              action="claim.decided", **{k: v for k, v in decision.items() if k not in ("decided_at", "decided_by")})
    row.status, row.decision, row.updated_at = "decided", decision, utc_iso(now)
    _claim_notice(effect, services, row, contract, now)
    _commit(effect, services, {"dispute": lambda: ConflictError(f"claim {claim_id} changed meanwhile; read it again",
                                                                  code="claim_changed")})
    return dispute_view(row)


def _claim_notice(effect: Effect, services: Services, row: DisputeModel, contract: ContractModel,
                  now: datetime) -> None:
    """R54: the customer is told the decision on its claim (granted, rejected, or time-barred)."""
    details, decision = row.details, row.decision or {}
    context = {"domain": contract.domain_name, "contract_id": contract.contract_id, "claim_id": row.dispute_id,
               "outcome": decision["outcome"], "event_on": paris_date(parse_iso(details["event_at"])).isoformat(),
               "filed_on": paris_date(parse_iso(details["filed_at"])).isoformat(), "last_day": details["last_day"],
               "amount_claimed_cents": int(details["amount_claimed_cents"])}
    if decision["outcome"] != "time_barred":
        context.update(awarded_cents=decision["awarded_cents"], capped=decision["capped"])
        if decision["capped"]:
            context["cap_cents"] = decision["cap_cents"]
    add_notice(effect, services, key=f"dispute_claim_decision#{row.dispute_id}", contract=contract,
               template="dispute_claim_decision", context=context, now=now)


# ---- R51: amicable settlement --------------------------------------------------------------------------

def open_settlement_case(contract_id: str, *, breach: str, breach_kind: str, illegal: bool, services: Services,
                         actor: str, correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R51: a breach that is neither illegal nor a payment default opens a settlement case on a
    contract in force; the customer is told. The same breach posted again is the same case."""
    contract = _contract(contract_id, services)
    check_settlement_allowed(breach_kind, illegal)
    case_id = "stl_" + _digest(contract_id, breach_kind, breach)
    existing = get_dispute(case_id, services)
    if existing is not None:
        return dispute_view(existing), False
    _in_force(contract, "a settlement case")
    now = services.clock.now()
    row = _row(case_id, SETTLEMENT_CASE, contract, "open", breach, {"breach_kind": breach_kind, "illegal": False},
               actor, now)
    effect = Effect().save("dispute", row, DisputeModel.dispute_id.does_not_exist())
    _evidence(effect, row, now, actor, "settlement_case", case_id, None, "open", correlation_id,
              action="settlement_case.opened", breach_kind=breach_kind, breach=breach)
    add_notice(effect, services, key=f"dispute_settlement_opened#{case_id}", contract=contract,
               template="dispute_settlement_opened", now=now, context={
                   "domain": contract.domain_name, "contract_id": contract.contract_id, "case_id": case_id,
                   "breach": breach, "breach_kind": breach_kind})
    try:
        _commit(effect, services, {"dispute": lambda: _Duplicate()})
    except _Duplicate:
        return dispute_view(_dispute(case_id, SETTLEMENT_CASE, services)), False
    return dispute_view(row), True


def record_settlement_outcome(case_id: str, *, outcome: str, note: str, services: Services, actor: str,
                              correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R51: an open case is settled (the parties renounce anything more for that breach) or fails
    (R52: a formal notice may then follow). Recording the same outcome again changes nothing."""
    row = _dispute(case_id, SETTLEMENT_CASE, services)
    if row.status == outcome:
        return dispute_view(row)
    try:
        status = settlement_next(row.status, outcome)
    except IllegalTransitionError:
        raise ConflictError(f"settlement case {case_id} is already {row.status}", code="settlement_case_closed") \
            from None
    now, contract = services.clock.now(), _contract(row.contract_id, services)
    decision = {"outcome": outcome, "note": note, "decided_at": utc_iso(now), "decided_by": actor}
    effect = Effect()
    _move(effect, row, status, now, decision)
    _evidence(effect, row, now, actor, "settlement_case", case_id, row.status, status, correlation_id,
              action=f"settlement_case.{status}", note=note)
    add_notice(effect, services, key=f"dispute_settlement_outcome#{case_id}", contract=contract,
               template="dispute_settlement_outcome", now=now, context={
                   "domain": contract.domain_name, "contract_id": contract.contract_id, "case_id": case_id,
                   "outcome": outcome, "note": note})
    _commit(effect, services, {"dispute": lambda: ConflictError(
        f"settlement case {case_id} changed meanwhile; read it again", code="settlement_case_changed")})
    row.status, row.decision, row.updated_at = status, decision, utc_iso(now)
    return dispute_view(row)


# ---- R52: formal notice, then termination ------------------------------------------------------------------

def serve_formal_notice(contract_id: str, *, breach: str, gross_or_wilful: bool, breach_kind: str, illegal: bool,
                        settlement_case_id: Optional[str], from_party: str, services: Services, actor: str,
                        correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R52: a formal notice for a wilful or gross breach of a contract in force.

    From the provider (the default): the customer is mailed the notice (mise en demeure) and a
    timer terminates the contract at the end of the month unless the breach is remedied first;
    R51: a breach that is not illegal needs a failed settlement case of the contract first.
    From the customer (an operator records the customer's registered letter to the provider): no
    timer; once its month is over without remedy, the customer may end the contract without owing
    the remaining sums (R53 `allowed_case: provider_breach`). One notice per breach and party:
    the same notice posted again is the same row."""
    contract = _contract(contract_id, services)
    settlement = None
    if settlement_case_id:
        settlement = get_dispute(settlement_case_id, services)
        if settlement is None or settlement.kind != SETTLEMENT_CASE or settlement.contract_id != contract_id:
            raise RuleViolationError(f"no settlement case {settlement_case_id} on contract {contract_id}",
                                     code="settlement_case_not_found",
                                     fields={"settlement_case_id": "a settlement case of this contract"})
    check_formal_notice(gross_or_wilful=gross_or_wilful, breach_kind=breach_kind, illegal=illegal,
                        from_party=from_party, settlement_status=settlement.status if settlement else None)
    notice_id = "fnt_" + _digest(contract_id, from_party, breach)
    existing = get_dispute(notice_id, services)
    if existing is not None:
        return dispute_view(existing), False
    _in_force(contract, "a formal notice")
    if from_party == "provider" and contract.renewal_contract_id:
        raise ConflictError(f"contract {contract_id} has a renewal order ({contract.renewal_contract_id}): a "
                            "termination would strand it; settle the renewal first", code="renewal_pending")
    now = services.clock.now()
    term = formal_notice_term(now)
    details = {"from_party": from_party, "breach_kind": breach_kind, "illegal": illegal,
               "gross_or_wilful": True, "settlement_case_id": settlement_case_id, "served_at": utc_iso(now),
               "served_on": term.served_on.isoformat(), "last_day": term.last_day.isoformat(),
               "terminable_at": utc_iso(term.terminable_at)}
    row = _row(notice_id, FORMAL_NOTICE, contract, "served", breach, details, actor, now)
    effect = Effect().save("dispute", row, DisputeModel.dispute_id.does_not_exist())
    _evidence(effect, row, now, actor, "formal_notice", notice_id, None, "served", correlation_id,
              action="formal_notice.served", **{k: v for k, v in details.items() if k != "served_at"})
    if from_party == "provider":
        schedule(effect, timer_row(FORMAL_NOTICE_TERM, notice_id, contract.customer_id, term.terminable_at, now))
        add_notice(effect, services, key=f"dispute_formal_notice#{notice_id}", contract=contract,
                   template="dispute_formal_notice", now=now, context={
                       "domain": contract.domain_name, "contract_id": contract.contract_id, "notice_id": notice_id,
                       "breach": breach, "served_on": term.served_on.isoformat(),
                       "last_day": term.last_day.isoformat()})
    try:
        _commit(effect, services, {"dispute": lambda: _Duplicate()})
    except _Duplicate:
        return dispute_view(_dispute(notice_id, FORMAL_NOTICE, services)), False
    return dispute_view(row), True


def remedy_formal_notice(notice_id: str, *, note: str, services: Services, actor: str,
                         correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R52: the breach was cured within the notice: no termination on it (its timer does nothing);
    the other party is told. Once the contract was terminated on it, 409."""
    row = _dispute(notice_id, FORMAL_NOTICE, services)
    if row.status == "remedied":
        return dispute_view(row)
    if row.status != "served":
        raise ConflictError(f"formal notice {notice_id} is {row.status}: it can no longer be remedied",
                            code=f"formal_notice_{row.status}")
    now, contract = services.clock.now(), _contract(row.contract_id, services)
    decision = {"outcome": "remedied", "note": note, "decided_at": utc_iso(now), "decided_by": actor}
    effect = Effect()
    _move(effect, row, "remedied", now, decision)
    _evidence(effect, row, now, actor, "formal_notice", notice_id, "served", "remedied", correlation_id,
              action="formal_notice.remedied", note=note)
    if row.details.get("from_party") == "provider":
        add_notice(effect, services, key=f"dispute_formal_notice_remedied#{notice_id}", contract=contract,
                   template="dispute_formal_notice_remedied", now=now, context={
                       "domain": contract.domain_name, "contract_id": contract.contract_id, "notice_id": notice_id,
                       "served_on": row.details["served_on"], "note": note})
    _commit(effect, services, {"dispute": lambda: ConflictError(
        f"formal notice {notice_id} changed meanwhile (terminated?); read it again", code="formal_notice_changed")})
    row.status, row.decision, row.updated_at = "remedied", decision, utc_iso(now)
    return dispute_view(row)


def _terminate(effect: Effect, contract: ContractModel, *, reason: str, ended_at: datetime, services: Services,
               now: datetime, actor: str, correlation_id: Optional[str], guard: Any = None,
               **details: Any) -> datetime:
    """R52/R53: the contract in force ends `terminated` (`ended_reason`), its space is suspended
    (SuspendSpace; data kept) and the R20 retention timers (warning, deletion) are scheduled from
    `ended_at`. Written on the contract as read (its revision, and `guard` when given). Returns the
    deletion instant."""
    target = terminated_state(contract.status)
    unchanged, next_revision = revision_guard(contract)
    condition = unchanged & ContractModel.status.is_in(*_IN_FORCE)
    if guard is not None:
        condition = condition & guard
    effect.update("contract", ContractModel(contract_id=contract.contract_id),
                  [ContractModel.status.set(target.value), ContractModel.ended_reason.set(reason), next_revision,
                   ContractModel.updated_at.set(utc_iso(now))], condition)
    effect.evidence.append(state_change(
        contract.customer_id, now, actor, "contract", contract.contract_id, contract.status, target.value,
        action="contract.terminated", reason=reason, ended_at=utc_iso(ended_at), holds=dict(contract.holds or {}),
        correlation_id=correlation_id, contract_id=contract.contract_id, order_id=contract.order_id, **details))
    if contract.node_id:
        issue_node_command(effect, contract, services, "SuspendSpace", now, actor, reason=reason)
    return schedule_retention(effect, contract, ended_at, services, now)


def _execute_notice(effect: Effect, row: DisputeModel, contract: ContractModel, services: Services, now: datetime,
                    ended_at: datetime, actor: str, correlation_id: Optional[str]) -> dict[str, Any]:
    """R52: the notice's month is over without effect: the contract is terminated on it."""
    deletion_at = _terminate(effect, contract, reason=GROSS_BREACH, ended_at=ended_at, services=services, now=now,
                             actor=actor, correlation_id=correlation_id, formal_notice_id=row.dispute_id)
    decision = {"outcome": "executed", "terminated_at": utc_iso(ended_at), "decided_at": utc_iso(now),
                "decided_by": actor, "deletion_on": paris_date(deletion_at).isoformat()}
    _move(effect, row, "executed", now, decision)
    _evidence(effect, row, now, actor, "formal_notice", row.dispute_id, "served", "executed", correlation_id,
              action="formal_notice.executed", terminated_at=utc_iso(ended_at))
    add_notice(effect, services, key=f"dispute_breach_termination#{row.dispute_id}", contract=contract,
               template="dispute_breach_termination", now=now, context={
                   "domain": contract.domain_name, "contract_id": contract.contract_id, "notice_id": row.dispute_id,
                   "served_on": row.details["served_on"], "terminated_on": paris_date(ended_at).isoformat(),
                   "deletion_on": paris_date(deletion_at).isoformat()})
    return decision


def _provider_notice(contract: ContractModel, formal_notice_id: Optional[str], services: Services
                     ) -> Optional[DisputeModel]:
    """The provider's formal notice a termination rests on: the one named, else the contract's
    notice still served (else its latest, for the refusal to name its status), else None."""
    if formal_notice_id:
        row = _dispute(formal_notice_id, FORMAL_NOTICE, services, contract.contract_id)
        if row.details.get("from_party") != "provider":
            raise RuleViolationError(f"formal notice {formal_notice_id} was the customer's to the provider",
                                     code="formal_notice_required",
                                     fields={"formal_notice_id": "a provider's formal notice of this contract"})
        return row
    candidates = [get_dispute(r.dispute_id, services) for r in DisputeModel.by_contract.query(
        contract.contract_id, filter_condition=DisputeModel.kind == FORMAL_NOTICE)]
    candidates = [r for r in candidates if r is not None and r.details.get("from_party") == "provider"]
    served = [r for r in candidates if r.status == "served"]
    return (served or candidates or [None])[-1]


def terminate_for_breach(contract_id: str, *, formal_notice_id: Optional[str], note: Optional[str],
                         services: Services, actor: str, correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R52: an operator terminates a contract for gross breach once the provider's formal notice
    has remained without effect for its month (the timer does it at that instant anyway): 422
    without a notice, 409 `formal_notice_period_running` before the month is over, 409 once
    remedied. Asking again after the termination answers the same termination."""
    contract = _contract(contract_id, services)
    row = _provider_notice(contract, formal_notice_id, services)
    if row is not None and row.status == "executed" and contract.status == TERMINATED:
        return _breach_termination_view(contract, row)
    _in_force(contract, "a termination")
    now = services.clock.now()
    check_breach_termination(row.status if row else None,
                             parse_iso(row.details["terminable_at"]) if row else None, now)
    if contract.renewal_contract_id:
        raise ConflictError(f"contract {contract_id} has a renewal order ({contract.renewal_contract_id}): a "
                            "termination would strand it; settle the renewal first", code="renewal_pending")
    effect = Effect()
    decision = _execute_notice(effect, row, contract, services, now, now, actor, correlation_id)
    if note:
        decision["note"] = note
    _commit(effect, services, {"dispute": lambda: ConflictError(
        f"formal notice {row.dispute_id} changed meanwhile; read it again", code="formal_notice_changed")})
    row.status, row.decision = "executed", decision
    contract.status, contract.ended_reason = TERMINATED, GROSS_BREACH
    return _breach_termination_view(contract, row)


def _breach_termination_view(contract: ContractModel, row: DisputeModel) -> dict[str, Any]:
    decision = row.decision or {}
    return {"contract_id": contract.contract_id, "status": contract.status, "ended_reason": contract.ended_reason,
            "formal_notice_id": row.dispute_id, "terminated_at": decision.get("terminated_at"),
            "deletion_on": decision.get("deletion_on")}


@timer_handler(FORMAL_NOTICE_TERM)
def on_formal_notice_term(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R52: the month of a provider's formal notice is over. Still served (not remedied): the
    contract in force is terminated (gross_breach), suspended, its data kept for the R20 retention;
    a contract that ended meanwhile leaves the notice `lapsed`. A renewal order pending blocks the
    termination: an operator alert says so (the notice stays served)."""
    row = get_dispute(timer.target_id, services)
    if row is None or row.kind != FORMAL_NOTICE or row.status != "served" \
            or row.details.get("from_party") != "provider":
        return None
    now, effect = services.clock.now(), Effect()
    contract = services.store.get_contract(row.contract_id)
    if contract is None or contract.status not in _IN_FORCE:
        _move(effect, row, "lapsed", now, {"outcome": "lapsed", "decided_at": utc_iso(now), "decided_by": "system",
                                           "contract_status": contract.status if contract else None})
        _evidence(effect, row, now, "system", "formal_notice", row.dispute_id, "served", "lapsed", None,
                  action="formal_notice.lapsed", contract_status=contract.status if contract else None)
        return effect
    if contract.renewal_contract_id:
        effect.save("alert", new_alert(
            "formal_notice_blocked", f"R52: contract {contract.contract_id} cannot be terminated on formal notice "
            f"{row.dispute_id}: renewal {contract.renewal_contract_id} is pending", now,
            alert_key=f"formal_notice_blocked#{row.dispute_id}", contract_id=contract.contract_id,
            formal_notice_id=row.dispute_id), AlertModel.alert_id.does_not_exist())
        return effect
    _execute_notice(effect, row, contract, services, now, parse_iso(timer.due_at), "system", None)
    return effect


# ---- R53: the customer's early termination -----------------------------------------------------------------

def _refuse_case(allowed_case: str, why: str) -> RuleViolationError:
    return RuleViolationError(f"R53: {allowed_case} is not established: {why}", code="allowed_case_not_established",
                              fields={"reference": why})


def _check_provider_breach(contract: ContractModel, reference: str, services: Services, now: datetime) -> dict:
    """R53 + R52 (19.3) the other way: the customer's formal notice to the provider (recorded by an
    operator: POST .../formal-notices with from_party customer) still without effect one month
    after allows the customer to terminate without owing the remaining sums; else 422
    `allowed_case_not_established` (nothing changes)."""
    row = get_dispute(reference, services)
    if row is None or row.kind != FORMAL_NOTICE or row.contract_id != contract.contract_id \
            or row.details.get("from_party") != "customer":
        raise _refuse_case(PROVIDER_BREACH, "the reference must be your formal notice to the provider about this "
                                            "contract")
    if row.status != "served":
        raise _refuse_case(PROVIDER_BREACH, f"that formal notice is {row.status}")
    if now < parse_iso(row.details["terminable_at"]):
        raise _refuse_case(PROVIDER_BREACH, f"that formal notice's month runs until the end of "
                                            f"{row.details['last_day']}")
    return {"formal_notice_id": row.dispute_id}


def _force_majeure_termination(contract: ContractModel, event_id: str, services: Services, actor: str,
                               correlation_id: Optional[str]) -> dict[str, Any]:
    """R53 + R50: ending the contract for a force majeure event lasting more than 30 days is the R50
    termination of the availability area (service/availability.py: the event must cover the
    contract's node; terminated with ended_reason force_majeure, nothing owed, its own notice). Its
    refusals become 422 `allowed_case_not_established`."""
    try:
        from .availability import terminate_for_force_majeure
    except ImportError:  # the availability area is not deployed: the case cannot be established
        raise _refuse_case(FORCE_MAJEURE, "force majeure events cannot be checked") from None
    try:
        view = terminate_for_force_majeure(contract, event_id, services, actor=actor, requested_by="customer",
                                           correlation_id=correlation_id)
    except (NotFoundError, RuleViolationError) as error:
        raise _refuse_case(FORCE_MAJEURE, error.message) from None
    return {**view, "allowed_case": FORCE_MAJEURE, "reference": event_id, "owed_cents": 0, "refund_cents": 0}


def _withdrawal_open(contract: ContractModel, services: Services, now: datetime) -> Optional[str]:
    """R13: a consumer still within the withdrawal period (and before first use) withdraws without
    paying anything: the early termination refuses to charge them and names the order to withdraw."""
    from ..domain.withdrawal import check_withdrawal
    order, customer = services.store.get_order(contract.order_id), services.store.get_customer(contract.customer_id)
    if order is None or customer is None:
        return None
    try:
        check_withdrawal(customer_kind=customer.kind, validated_at=parse_iso(order.acceptance.accepted_at), now=now,
                         contract_status=contract.status,
                         first_used_at=parse_iso(contract.first_used_at) if contract.first_used_at else None,
                         first_use=contract.first_use, is_renewal=bool(contract.renews_contract_id))
    except DomainError:
        return None
    return order.order_id


def early_termination_id(contract_id: str) -> str:
    return f"etm_{contract_id}"


def terminate_early(contract_id: str, *, reason: str, allowed_case: Optional[str], reference: Optional[str],
                    services: Services, actor: str, correlation_id: Optional[str] = None
                    ) -> tuple[dict[str, Any], bool]:
    """R53: the subscriber ends a contract in force before its term. Outside the allowed cases it
    owes every remaining sum: one invoice (purpose `termination`, due at once) of the monthly
    instalments not invoiced yet (a yearly contract is paid: nothing more, no refund); in an allowed
    case established (R50 force majeure over 30 days, R52 the provider's gross breach after the
    customer's formal notice) nothing more. Either way the contract ends `terminated` (space
    suspended, R20 retention), with evidence and notices. Asked again: the same outcome (200).
    The force majeure case is the R50 termination itself (availability area), not recorded here."""
    from .billing_cycle import TERMINATION, _month_lines, _professional, _remaining_instalments
    store, s = services.store, services.settings
    contract = _contract(contract_id, services)
    done = get_dispute(early_termination_id(contract_id), services)
    if done is not None:
        return dispute_view(done), False
    _in_force(contract, "an early termination")
    if contract.renewal_contract_id:
        raise ConflictError(f"contract {contract_id} has a renewal order ({contract.renewal_contract_id}) waiting for "
                            "its end: ask us to cancel it first", code="renewal_pending")
    now = services.clock.now()
    order_id = _withdrawal_open(contract, services, now)
    if order_id:
        raise ConflictError(f"R13: you may still withdraw from order {order_id} without paying anything: use "
                            f"POST /orders/{order_id}/withdrawal instead", code="withdrawal_right_open")
    if allowed_case == FORCE_MAJEURE:
        return _force_majeure_termination(contract, reference or "", services, actor, correlation_id), True
    established = _check_provider_breach(contract, reference or "", services, now) \
        if allowed_case == PROVIDER_BREACH else {}
    ended_reason = allowed_case or CUSTOMER_EARLY_TERMINATION
    monthly = (contract.billing_period or "yearly") == "monthly"
    first = store.get_invoice(contract.invoice_id)
    remaining = _remaining_instalments(contract, services) if monthly and not allowed_case else []
    starts_on, today = date.fromisoformat(contract.starts_on), paris_date(now)
    lines = remaining_instalment_lines(_month_lines(contract, first, services), remaining, starts_on) \
        if remaining else ()
    details = {"reason_given": reason, "allowed_case": allowed_case, "reference": reference, **established,
               "billing_period": contract.billing_period or "yearly", "remaining_instalments": remaining,
               "terminated_at": utc_iso(now), "refund_cents": 0}

    def build(sequence: Optional[int]) -> Effect:
        effect = Effect()
        row_details = dict(details)
        invoice = None
        if lines:
            from .invoicing import invoice_row
            from .orders import invoice_notice
            draft = draft_invoice(lines, vat_rate=s.vat_rate, currency=first.currency, issue_date=today,
                                  due_date=today, late_penalty_rate_percent=s.late_penalty_rate_percent,
                                  professional=_professional(first))
            invoice = invoice_row(draft, invoice_id=f"inv_etm_{_digest(contract_id)}", sequence=sequence,
                                  prefix=s.invoice_number_prefix, customer_id=contract.customer_id,
                                  order_id=contract.order_id, contract_id=contract_id, bill_to=first.bill_to, now=now,
                                  purpose=TERMINATION, period_end=contract.ends_on,
                                  period_start=period_bounds(starts_on, remaining[0])[0].isoformat(),
                                  details={"reason": CUSTOMER_EARLY_TERMINATION, "instalments": remaining,
                                           "termination_fee_cents": 0})
            effect.save("invoice", invoice, InvoiceModel.invoice_id.does_not_exist())
            effect.evidence.append(state_change(
                contract.customer_id, now, actor, "invoice", invoice.invoice_id, None, "issued",
                action="invoice.issued", number=invoice.number, total_cents=int(invoice.total_cents),
                purpose=TERMINATION, due_date=invoice.due_date, instalments=remaining, correlation_id=correlation_id,
                contract_id=contract_id, order_id=contract.order_id))
            notice = invoice_notice(invoice, now, correlation_id)
            from ..adapters.notice_store import NOTICE_IS_NEW
            from .notices import queue_notice
            effect.save("notice:invoice_issued", notice, NOTICE_IS_NEW)
            effect.after_commit.append(lambda: queue_notice(notice, services))
            row_details.update(invoice_id=invoice.invoice_id, invoice_number=invoice.number,
                               owed_cents=int(invoice.total_cents))
        else:
            row_details.update(invoice_id=None, invoice_number=None, owed_cents=0)
        # The contract as read: an instalment issued meanwhile (its timer moves `updated_at`) makes
        # this write fail, so a month is never both invoiced and counted as remaining.
        deletion_at = _terminate(effect, contract, reason=ended_reason, ended_at=now, services=services, now=now,
                                 actor=actor, correlation_id=correlation_id,
                                 guard=ContractModel.updated_at == contract.updated_at,
                                 early_termination_id=early_termination_id(contract_id),
                                 remaining_instalments=remaining, owed_cents=row_details["owed_cents"])
        row_details["deletion_on"] = paris_date(deletion_at).isoformat()
        row = _row(early_termination_id(contract_id), EARLY_TERMINATION, contract, "terminated", reason, row_details,
                   actor, now)
        effect.save("dispute", row, DisputeModel.dispute_id.does_not_exist())
        _evidence(effect, row, now, actor, "early_termination", row.dispute_id, None, "terminated", correlation_id,
                  action="early_termination.recorded", allowed_case=allowed_case, reference=reference,
                  remaining_instalments=remaining, owed_cents=row_details["owed_cents"])
        context = {"domain": contract.domain_name, "contract_id": contract_id, "terminated_on": today.isoformat(),
                   "remaining_instalments": len(remaining), "owed_cents": row_details["owed_cents"],
                   "monthly": monthly, "deletion_on": row_details["deletion_on"]}
        if allowed_case:
            context["allowed_case"] = allowed_case
        if invoice is not None:
            context["invoice_number"] = invoice.number
        add_notice(effect, services, key=f"dispute_early_termination#{contract_id}", contract=contract,
                   template="dispute_early_termination", context=context, now=now)
        effect.after_commit.insert(0, lambda: built.update(row=row))
        return effect

    built: dict[str, DisputeModel] = {}
    try:
        if lines:
            from .invoicing import commit_numbered
            effect = commit_numbered(services, build, now)
            for follow_up in effect.after_commit:
                follow_up()
        else:
            _commit(build(None), services, {})
    except TransactionConflict as conflict:  # from commit_numbered: another condition than the sequence
        if "dispute" in conflict.failed:
            return dispute_view(_dispute(early_termination_id(contract_id), EARLY_TERMINATION, services)), False
        raise ConflictError("the contract changed meanwhile (an instalment issued, a hold...); retry",
                            code="contract_changed") from None
    except ConflictError:
        again = get_dispute(early_termination_id(contract_id), services)
        if again is not None:
            return dispute_view(again), False
        raise
    return dispute_view(built["row"]), True
