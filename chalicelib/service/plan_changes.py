"""R55 changes to the service (21).

- 21.2: an operator announces a change of a plan. When it removes an essential function, every
  customer with a contract in force on that plan is told (notice `plan_change`) and gets a
  per-contract record with its objection deadline: one month after the later of the effective
  date and the day it was told. Silence is acceptance; an objection lets the provider refuse the
  next renewal (`refuse_renewal` sets `ContractModel.renewal_refused`, which accept_renewal checks).
- 21.3: a customer asks for another plan: an offer for it, or no change.
"""
from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict, TransactionContention
from ..adapters.models import ChangeNoticeModel, ContractModel, PlanChangeModel
from ..bootstrap import Services
from ..domain.access import Principal, may_use_contract
from ..domain.calendar import paris_date, utc_iso
from ..domain.contracts import IN_FORCE
from ..domain.errors import ConflictError, NotFoundError, RuleViolationError
from ..domain.evidence import EvidenceEntry
from ..domain.terms import OBJECTED, change_status, objection_deadline, objection_open, plan_change_offer
from .lifecycle import add_notice
from .notices import notice_key

PLAN_CHANGE = "plan_change"  # the notice template
_IN_FORCE = tuple(state.value for state in IN_FORCE)


def change_id_for(plan: str, description: str, effective_on: date, removes_essential_function: bool) -> str:
    """The same announcement gives the same id: announcing it again resumes telling its customers
    (each contract is told once) instead of making a second change."""
    text = "|".join((plan, effective_on.isoformat(), str(bool(removes_essential_function)), description.strip()))
    return f"chg_{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def _change_view(change: PlanChangeModel, told: int) -> dict[str, Any]:
    return {"change_id": change.change_id, "plan": change.plan, "description": change.description,
            "effective_on": change.effective_on, "removes_essential_function": bool(change.removes_essential_function),
            "created_at": change.created_at, "created_by": change.created_by,
            "affected_contracts": int(change.affected_contracts or 0), "customers_told": told,
            "notified_at": change.notified_at}


def announce_change(*, plan: str, description: str, effective_on: date, removes_essential_function: bool,
                    services: Services, actor: str, correlation_id: Optional[str] = None
                    ) -> tuple[dict[str, Any], bool]:
    """R55 (21.2): store a change of a plan and, when it removes an essential function, tell every
    customer with a contract in force on the plan (contracts from the `plan` index, never a scan).
    Each contract is told in its own transaction (its change record, its notice, its evidence), so
    an announcement is never bounded by the size of one transaction; announcing the same change
    again tells only the contracts not told yet. Returns (view, created)."""
    store, catalog, now = services.store, services.catalog, services.clock.now()
    if plan not in catalog.plans:
        raise RuleViolationError(f"unknown plan '{plan}'; see GET /catalog", code="unknown_plan", fields={"plan": plan})
    change_id = change_id_for(plan, description, effective_on, removes_essential_function)
    at = utc_iso(now)
    change = PlanChangeModel(change_id=change_id, plan=plan, description=description.strip(),
                             effective_on=effective_on.isoformat(),
                             removes_essential_function=bool(removes_essential_function), created_at=at,
                             created_by=actor, affected_contracts=0)
    created = True
    try:
        store.apply(Effect().save("plan_change", change, PlanChangeModel.change_id.does_not_exist()))
    except TransactionConflict as conflict:
        if "plan_change" not in conflict.failed:
            raise
        created = False
        [change] = store.get_together((PlanChangeModel, change_id))
    contracts = [c for c in ContractModel.by_plan.query(plan) if c.status in _IN_FORCE]
    told = 0
    if change.removes_essential_function:
        for contract in contracts:
            told += _tell(change, contract, services, actor, correlation_id)
    actions = [PlanChangeModel.affected_contracts.set(len(contracts))]
    if change.removes_essential_function and not change.notified_at:
        actions.append(PlanChangeModel.notified_at.set(at))
        change.notified_at = at
    store.apply(Effect().update("plan_change", PlanChangeModel(change_id=change_id), actions))
    change.affected_contracts = len(contracts)
    return _change_view(change, told), created


def _tell(change: PlanChangeModel, contract: ContractModel, services: Services, actor: str,
          correlation_id: Optional[str]) -> int:
    """R55: one affected contract: its record (notified_at, objection deadline), the notice and
    the evidence, in one transaction; 0 when it was told before."""
    now = services.clock.now()
    effective_on = date.fromisoformat(change.effective_on)
    deadline = objection_deadline(effective_on, paris_date(now), services.settings.objection_window_months)
    key = notice_key(PLAN_CHANGE, change.change_id, contract.contract_id)
    plan = services.catalog.plans.get(change.plan)
    row = ChangeNoticeModel(change_id=change.change_id, contract_id=contract.contract_id,
                            customer_id=contract.customer_id, domain_name=contract.domain_name, plan=change.plan,
                            description=change.description, effective_on=change.effective_on, notified_at=utc_iso(now),
                            objection_deadline=deadline.isoformat(), notice_id=key, created_at=utc_iso(now))
    effect = Effect().save("change_notice", row, ChangeNoticeModel.contract_id.does_not_exist())
    add_notice(effect, services, key=key, contract=contract, template=PLAN_CHANGE, now=now, context={
        "domain": contract.domain_name, "contract_id": contract.contract_id,
        "plan_name": plan.name if plan else change.plan, "description": change.description,
        "effective_on": change.effective_on, "objection_deadline": deadline.isoformat()})
    effect.evidence.append(EvidenceEntry(
        customer_id=contract.customer_id, at=now, actor=actor, action="contract.change_notified",
        entity_type="plan_change", entity_id=change.change_id, before=None,
        after={"status": "notified", "plan": change.plan, "effective_on": change.effective_on,
               "objection_deadline": deadline.isoformat(), "notice_id": key},
        correlation_id=correlation_id, contract_id=contract.contract_id))
    try:
        services.store.apply(effect)
    except TransactionConflict as conflict:
        if conflict.failed & {"change_notice", f"notice:{PLAN_CHANGE}"}:
            return 0  # told before (a resumed announcement)
        raise
    for follow_up in effect.after_commit:
        follow_up()
    return 1


def _notice_view(row: ChangeNoticeModel, today: date) -> dict[str, Any]:
    deadline = date.fromisoformat(row.objection_deadline)
    return {"change_id": row.change_id, "contract_id": row.contract_id, "domain": row.domain_name, "plan": row.plan,
            "description": row.description, "effective_on": row.effective_on, "notified_at": row.notified_at,
            "objection_deadline": row.objection_deadline,
            "status": change_status(objected=bool(row.objected_at), deadline=deadline, today=today),
            "objected_at": row.objected_at}


def changes_of(principal: Principal, services: Services) -> list[dict[str, Any]]:
    """R55: the changes the caller's customer was told about, oldest first (a beneficiary: those
    of the contracts it was named on); `accepted_by_silence` once a deadline passed unobjected."""
    today = paris_date(services.clock.now())
    return [_notice_view(row, today) for row in ChangeNoticeModel.by_customer.query(principal.customer_id)
            if may_use_contract(principal, row.customer_id, row.contract_id)]


def object_to_change(change_id: str, principal: Principal, services: Services, *, contract_id: Optional[str],
                     reason: Optional[str], correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R55 (21.2): the subscriber objects to a change, for each of its contracts the change was
    told for (or the one named), up to and including the deadline day (Paris); 409
    `objection_window_closed` after it. Objecting twice records nothing more. Returns (view, created)."""
    store, now = services.store, services.clock.now()
    today = paris_date(now)
    rows = [r for r in ChangeNoticeModel.query(change_id, consistent_read=True)
            if r.customer_id == principal.customer_id and (contract_id is None or r.contract_id == contract_id)]
    if not rows:
        raise NotFoundError(f"no change {change_id} was told for "
                            f"{'contract ' + contract_id if contract_id else 'your contracts'}",
                            code="plan_change_not_found")
    pending = [r for r in rows if not r.objected_at]
    if not pending:
        return {"change_id": change_id, "contracts": [_notice_view(r, today) for r in rows]}, False
    in_time = [r for r in pending if objection_open(date.fromisoformat(r.objection_deadline), today)]
    if not in_time:
        last = max(r.objection_deadline for r in pending)
        raise ConflictError(f"the objection window to change {change_id} closed on {last}: the change is accepted "
                            "(silence means acceptance)", code="objection_window_closed",
                            fields={"objection_deadline": last})
    at = utc_iso(now)
    effect = Effect()
    for i, row in enumerate(in_time):
        actions = [ChangeNoticeModel.objected_at.set(at), ChangeNoticeModel.objected_by.set(principal.actor)]
        if reason:
            actions.append(ChangeNoticeModel.objection_reason.set(reason))
        effect.update(f"objection{i}", ChangeNoticeModel(change_id=change_id, contract_id=row.contract_id), actions,
                      ChangeNoticeModel.objected_at.does_not_exist())
        effect.evidence.append(EvidenceEntry(
            customer_id=row.customer_id, at=now, actor=principal.actor, action="contract.change_objected",
            entity_type="plan_change", entity_id=change_id, before={"status": "notified"},
            after={"status": OBJECTED, "objection_deadline": row.objection_deadline, "reason": reason},
            correlation_id=correlation_id, contract_id=row.contract_id))
        row.objected_at = at
    try:
        store.apply(effect)
    except (TransactionConflict, TransactionContention):
        raise ConflictError("your objection was being recorded by another request; read GET /me/plan-changes",
                            code="objection_in_progress") from None
    return {"change_id": change_id, "contracts": [_notice_view(r, today) for r in rows]}, True


def refuse_renewal(contract_id: str, services: Services, *, reason: str, change_id: Optional[str], actor: str,
                   correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R55 (21.2): the provider refuses the next renewal of a contract whose customer objected to
    a change; allowed only then (409 `no_objection` otherwise). Sets `renewal_refused` (the change
    objected to), which makes accept_renewal answer 422 `renewal_refused_after_objection`.
    Returns (view, created)."""
    store, now = services.store, services.clock.now()
    contract = store.get_contract(contract_id)
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    if contract.renewal_refused:
        return _refusal_view(contract, contract.renewal_refused), False
    objections = [r for r in ChangeNoticeModel.by_customer.query(
                      contract.customer_id, filter_condition=(ChangeNoticeModel.contract_id == contract_id)
                      & ChangeNoticeModel.objected_at.exists())
                  if change_id is None or r.change_id == change_id]
    if not objections:
        raise ConflictError(f"the customer of contract {contract_id} did not object to "
                            f"{'change ' + change_id if change_id else 'any change of its plan'}: its renewal "
                            "cannot be refused on that ground (R55)", code="no_objection")
    if contract.renewal_contract_id:
        raise ConflictError(f"contract {contract_id} is already renewed by {contract.renewal_contract_id}",
                            code="renewal_already_accepted")
    if contract.status not in _IN_FORCE:
        raise ConflictError(f"contract {contract_id} is {contract.status}: there is no next renewal to refuse",
                            code="contract_not_in_force")
    objected = objections[-1].change_id
    at = utc_iso(now)
    effect = Effect().update("contract", ContractModel(contract_id=contract_id),
                             [ContractModel.renewal_refused.set(objected), ContractModel.updated_at.set(at)],
                             ContractModel.renewal_refused.does_not_exist()
                             & ContractModel.renewal_contract_id.does_not_exist())
    effect.evidence.append(EvidenceEntry(
        customer_id=contract.customer_id, at=now, actor=actor, action="contract.renewal_refused",
        entity_type="contract", entity_id=contract_id, before={"renewal_refused": None},
        after={"renewal_refused": objected, "reason": reason, "objected_at": objections[-1].objected_at},
        correlation_id=correlation_id, contract_id=contract_id))
    try:
        store.apply(effect)
    except (TransactionConflict, TransactionContention):
        raise ConflictError(f"contract {contract_id} changed meanwhile (renewed, or refused by another operator); "
                            "read it again", code="contract_changed") from None
    return _refusal_view(contract, objected, reason=reason, at=at), True


def _refusal_view(contract: ContractModel, change_id: str, **extra: Any) -> dict[str, Any]:
    return {"contract_id": contract.contract_id, "renewal_refused": True, "change_id": change_id,
            "ends_on": contract.ends_on, **extra}


def request_plan_change(contract: ContractModel, plan_id: str, services: Services, *, actor: str,
                        correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R55 (21.3): the customer asks for another plan: an offer (the pro rata price difference to
    the end of what is paid for, VAT at settings.vat_rate) or `{"outcome": "unchanged"}` for the
    plan already held or one not on offer. The request and the answer go to the evidence log."""
    from .options import paid_period
    catalog, now = services.catalog, services.clock.now()
    if contract.status not in _IN_FORCE:
        raise ConflictError(f"contract {contract.contract_id} is {contract.status}: only a contract in force changes "
                            "plan", code="contract_not_in_force")
    current = catalog.plans.get(contract.plan)
    if current is None:
        raise RuleViolationError(f"plan {contract.plan} is no longer offered: ask for a new subscription",
                                 code="plan_withdrawn")
    today = paris_date(now)
    period_start, period_end = paid_period(contract, today, services)
    held = [catalog.options[o] for o in contract.options if o in catalog.options]
    answer = plan_change_offer(current, catalog.plans.get(plan_id), held, billing_period=contract.billing_period
                               or "yearly", from_day=today, period_start=period_start, period_end=period_end,
                               vat_rate=services.settings.vat_rate, currency=catalog.currency)
    effect = Effect()
    effect.evidence.append(EvidenceEntry(
        customer_id=contract.customer_id, at=now, actor=actor, action="contract.plan_change_requested",
        entity_type="contract", entity_id=contract.contract_id, before={"plan": contract.plan},
        after={"requested_plan": plan_id, **answer}, correlation_id=correlation_id, contract_id=contract.contract_id))
    services.store.apply(effect)
    return {"contract_id": contract.contract_id, "requested_plan": plan_id, **answer}
