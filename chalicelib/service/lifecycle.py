"""Contract lifecycle over time (R16, R17, R19, R20): timers scheduled at activation fire the
expiry notice, the end of an unrenewed contract, the deletion warning and the deletion itself.

Each handler returns one Effect (rows, moves, evidence, timers, notices, node commands) that the
timer service commits together with the timer's done mark; queue sends run after the commit.
"""
from __future__ import annotations

from datetime import datetime, time
from typing import Any, Optional

from ..adapters.dynamo_store import Effect, new_id
from ..adapters.models import ContractModel, NodeCommandModel, TimerModel
from ..bootstrap import Services
from ..contracts.node_messages import node_command_adapter
from ..domain.calendar import PARIS, utc_iso
from ..domain.contracts import (IN_FORCE, ContractEvent, ContractState, HoldLevel, HoldReason, apply_hold,
                                next_state, states_accepting, strongest_hold)
from ..domain.deadlines import contract_end_at, data_deletion_at, deletion_warning_at, expiry_notice_at
from ..domain.evidence import state_change
from .timers import schedule, timer_handler, timer_row

EXPIRY_NOTICE, CONTRACT_END = "expiry_notice", "contract_end"
DELETION_WARNING, DATA_DELETION = "deletion_warning", "data_deletion"
ENDED_WITH_DATA = (ContractState.EXPIRED.value, ContractState.TERMINATED.value)  # R20: data kept, deletion due
NOTICE_HOUR = time(9, 0)  # notices leave at 09:00 Paris time


def end_instant(contract: ContractModel) -> datetime:
    """R16: the contract ends at the start (00:00, Paris) of its end date."""
    from datetime import date
    return contract_end_at(date.fromisoformat(contract.ends_on))


def activation_timers(contract: ContractModel, services: Services, now: datetime) -> list[TimerModel]:
    """R17 + R19: the expiry notice (more than 45 days before the end) and the end itself."""
    end = end_instant(contract)
    notice_at = expiry_notice_at(end.date(), services.settings.expiry_notice_days)
    return [timer_row(EXPIRY_NOTICE, contract.contract_id, contract.customer_id, notice_at, now),
            timer_row(CONTRACT_END, contract.contract_id, contract.customer_id, end, now)]


def set_status(effect: Effect, label: str, contract: ContractModel, events: list[ContractEvent], now, actor: str,
               **details: Any) -> ContractState:
    """Apply one or more moves of the transition table to a contract in a single write (an item
    appears once in a transaction), with one evidence entry per move (R56)."""
    state = ContractState(contract.status)
    for event in events:
        target = next_state(state, event)
        effect.evidence.append(state_change(contract.customer_id, now, actor, "contract", contract.contract_id,
                                            state.value, target.value, contract_id=contract.contract_id, **details))
        state = target
    effect.update(label, ContractModel(contract_id=contract.contract_id),
                  [ContractModel.status.set(state.value), ContractModel.updated_at.set(utc_iso(now))],
                  ContractModel.status.is_in(*[s.value for s in states_accepting(events[0])]))
    return state


def revision_guard(contract: ContractModel) -> tuple[Any, Any]:
    """Optimistic lock of a read-modify-write on a contract (holds, R26 termination): the write's
    condition that the revision is still the one read, and the action that moves it on."""
    revision = int(contract.revision or 0)
    unchanged = (ContractModel.revision == revision) if revision else (
        ContractModel.revision.does_not_exist() | (ContractModel.revision == 0))
    return unchanged, ContractModel.revision.set(revision + 1)


def set_hold(effect: Effect, label: str, contract: ContractModel, reason: HoldReason | str,
             level: HoldLevel | str | None, services: Services, now: datetime, actor: str = "system",
             **details: Any) -> ContractState:
    """R23 (and R49/R03): set or lift (level None) one reason's hold on a contract in force, in the
    effect's one write: holds, status, evidence and, when the strongest hold changes, the node
    command that applies it (Restrict/Suspend/UnsuspendSpace). The write is conditioned on the
    contract's revision, so two concurrent hold changes cannot overwrite each other; the loser's
    transaction fails and its message is retried on fresh data."""
    holds = dict(contract.holds or {})
    state, new_holds, event = apply_hold(contract.status, holds, reason, level)
    reason_value = HoldReason(reason).value
    condition, next_revision = revision_guard(contract)
    effect.update(label, ContractModel(contract_id=contract.contract_id),
                  [ContractModel.status.set(state.value), ContractModel.holds.set(new_holds),
                   next_revision, ContractModel.updated_at.set(utc_iso(now))],
                  condition & ContractModel.status.is_in(*[st.value for st in IN_FORCE]))
    effect.evidence.append(state_change(
        contract.customer_id, now, actor, "contract", contract.contract_id, contract.status, state.value,
        action=f"contract.hold.{'lifted' if level is None else 'set'}", reason=reason_value,
        level=None if level is None else HoldLevel(level).value, holds=new_holds, contract_id=contract.contract_id,
        **details))
    if reason_value == HoldReason.NON_PAYMENT.value:
        # R40/R19: a missed payment suspends the service and stops the name's management; paid, it resumes
        from . import domains
        if level is not None and HoldLevel(level) == HoldLevel.SUSPENDED:
            domains.stop_management(effect, contract, services, now, "non_payment")
        elif level is None and holds.get(reason_value) == HoldLevel.SUSPENDED.value:
            domains.resume_management(effect, contract, services, now, "non_payment_settled")
    if event is not None and contract.node_id:
        strongest = strongest_hold(new_holds)
        if strongest is None:
            issue_node_command(effect, contract, services, "UnsuspendSpace", now, actor)
        else:
            command = "SuspendSpace" if strongest == HoldLevel.SUSPENDED else "RestrictSpace"
            why = next(r for r, lv in new_holds.items() if lv == strongest.value)
            # R23: an overdue restriction blocks uploads and outgoing mail (as its notice says)
            mail = {"block_outgoing_mail": True} if (command == "RestrictSpace"
                                                     and why == HoldReason.NON_PAYMENT.value) else {}
            issue_node_command(effect, contract, services, command, now, actor, reason=why, **mail)
    return state


def issue_node_command(effect: Effect, contract: ContractModel, services: Services, command_type: str,
                       now: datetime, actor: str = "system", **fields: Any) -> NodeCommandModel:
    """R30: a command for the contract's node, stored as an outbox row in the effect and sent after
    the commit (the redispatch schedule resends it if that send is lost)."""
    from .provisioning import dispatch
    node = services.store.get_node(services.settings.node_pool, contract.node_id)
    command_id = new_id("cmd")
    message = node_command_adapter.validate_python({
        "type": command_type, "node_id": contract.node_id, "command_id": command_id,
        # The node knows the space by the contract that created it (a renewal keeps the space, R18).
        "contract_id": contract.space_id or contract.contract_id, "domain": contract.domain_name,
        "issued_at": now, **fields})
    row = NodeCommandModel(
        command_id=command_id, node_id=contract.node_id, queue_url=node.queue_url, contract_id=contract.contract_id,
        customer_id=contract.customer_id, type=command_type, payload=message.model_dump(mode="json"),
        status="pending", issued_at=utc_iso(now), pending_pool=services.settings.node_pool, attempts=0)
    effect.save(f"command:{command_type}", row, NodeCommandModel.command_id.does_not_exist())
    effect.evidence.append(state_change(contract.customer_id, now, actor, "node_command", command_id, None,
                                        "pending", action="node_command.issued", contract_id=contract.contract_id,
                                        type=command_type, node_id=contract.node_id, **fields))
    effect.after_commit.append(lambda: dispatch(row, services))
    return row


def add_notice(effect: Effect, services: Services, *, key: str, contract: ContractModel, template: str,
               context: dict, now: datetime) -> None:
    """R54: the notice row joins the effect (stored once per key); it is queued after the commit."""
    from ..adapters.models import NoticeModel
    from .notices import new_notice, queue_notice
    customer = services.store.get_customer(contract.customer_id)
    notice = new_notice(notice_key=key, customer_id=contract.customer_id, to=customer.email, template=template,
                        context=context, now=now, contract_id=contract.contract_id)
    effect.save(f"notice:{template}", notice, NoticeModel.notice_id.does_not_exist())
    effect.after_commit.append(lambda: queue_notice(notice, services))


def _renewal_offer(contract: ContractModel, services: Services) -> dict:
    plan = services.catalog.plans.get(contract.plan)
    options = [services.catalog.options[o] for o in contract.options if o in services.catalog.options]
    yearly = (plan.yearly_price_cents if plan else 0) + sum(o.yearly_price_cents for o in options)
    return {"plan": plan.name if plan else contract.plan, "yearly_price_cents": yearly,
            "options": [o.name for o in options]}


@timer_handler(EXPIRY_NOTICE)
def on_expiry_notice_due(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R17: one notice, more than 45 days before the end: the end date and the renewal offer."""
    contract = services.store.get_contract(timer.target_id)
    if contract is None or contract.status != ContractState.ACTIVE.value:
        return None
    now, effect = services.clock.now(), Effect()
    add_notice(effect, services, key=f"{EXPIRY_NOTICE}#{contract.contract_id}", contract=contract,
               template=EXPIRY_NOTICE, now=now, context={
                   "domain": contract.domain_name, "ends_on": contract.ends_on,
                   "offer": _renewal_offer(contract, services), "contract_id": contract.contract_id})
    return effect


@timer_handler(CONTRACT_END)
def on_contract_end(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R16 + R19: an unrenewed contract ends: suspended on its node (data kept), customer told,
    and the R20 retention timers (warning, then deletion) scheduled."""
    contract = services.store.get_contract(timer.target_id)
    if contract is None or contract.status not in [st.value for st in IN_FORCE]:
        return None
    now, effect = services.clock.now(), Effect()
    renewal = services.store.get_contract(contract.renewal_contract_id) if contract.renewal_contract_id else None
    if renewal is not None and renewal.status == ContractState.SCHEDULED.value:
        from .renewal import hand_over  # R18: renewed and paid: no gap, no suspension
        set_status(effect, "contract_started", renewal, [ContractEvent.RENEWAL_STARTED], now, "system",
                   renews_contract_id=contract.contract_id)
        hand_over(effect, contract, renewal, services, now)
        return effect
    set_status(effect, "contract", contract, [ContractEvent.CONTRACT_ENDED], now, "system", reason="not_renewed")
    issue_node_command(effect, contract, services, "SuspendSpace", now, reason="contract_ended")
    from .domains import stop_management  # R40/R19: not renewed: management of the name stops
    stop_management(effect, contract, services, now, "not_renewed")
    deletion_at = schedule_retention(effect, contract, end_instant(contract), services, now)
    add_notice(effect, services, key=f"contract_suspended#ended#{contract.contract_id}", contract=contract,
               template="contract_suspended", now=now, context={
                   "domain": contract.domain_name, "reason": "contract_ended", "since": contract.ends_on,
                   "deletion_on": deletion_at.astimezone(PARIS).date().isoformat()})
    return effect


def schedule_retention(effect: Effect, contract: ContractModel, ended_at: datetime, services: Services,
                       now: datetime) -> datetime:
    """R20: a contract that ended (R19) or was terminated (R26) at `ended_at` keeps its data for
    the retention period: the warning, then the deletion, as timers. Returns the deletion instant."""
    s = services.settings
    deletion_at = data_deletion_at(ended_at, s.data_retention_days)
    warning_at = deletion_warning_at(deletion_at, s.deletion_warning_days)
    schedule(effect, timer_row(DELETION_WARNING, contract.contract_id, contract.customer_id, warning_at, now))
    schedule(effect, timer_row(DATA_DELETION, contract.contract_id, contract.customer_id, deletion_at, now))
    return deletion_at


@timer_handler(DELETION_WARNING)
def on_deletion_warning(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R20: the customer is warned before the data is deleted."""
    contract = services.store.get_contract(timer.target_id)
    if contract is None or contract.status not in ENDED_WITH_DATA:
        return None
    effect, now = Effect(), services.clock.now()
    deletion = services.store.get_timer(f"{DATA_DELETION}#{contract.contract_id}")
    add_notice(effect, services, key=f"{DELETION_WARNING}#{contract.contract_id}", contract=contract,
               template=DELETION_WARNING, now=now, context={
                   "domain": contract.domain_name,
                   "deletion_on": datetime.fromisoformat(deletion.due_at).astimezone(PARIS).date().isoformat()})
    return effect


@timer_handler(DATA_DELETION)
def on_data_deletion_due(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R20: after the retention period the node deletes every hosted data; the contract becomes
    `data_deleted` only when the node confirms (on_command_applied)."""
    contract = services.store.get_contract(timer.target_id)
    if contract is None or contract.status not in ENDED_WITH_DATA:
        return None
    effect = Effect()
    issue_node_command(effect, contract, services, "DeleteSpaceData", services.clock.now())
    return effect


def confirm_data_deleted(command: NodeCommandModel, msg: Any, services: Services, now: datetime) -> str:
    """R20: the node deleted the data: the command succeeds, the contract becomes `data_deleted`,
    the customer is told, all in one write."""
    from ..adapters.dynamo_store import TransactionConflict
    contract = services.store.get_contract(command.contract_id)
    effect = Effect().update(
        "command", NodeCommandModel(command_id=command.command_id),
        [NodeCommandModel.status.set("succeeded"), NodeCommandModel.completed_at.set(utc_iso(now)),
         NodeCommandModel.pending_pool.remove()], NodeCommandModel.status == "pending")
    actor = f"node:{msg.node_id}"
    effect.evidence.append(state_change(contract.customer_id, now, actor, "node_command", command.command_id,
                                        "pending", "succeeded", contract_id=contract.contract_id, type=command.type))
    set_status(effect, "contract", contract, [ContractEvent.DATA_DELETED], now, actor, command_id=command.command_id)
    add_notice(effect, services, key=f"data_deleted#{contract.contract_id}", contract=contract,
               template="data_deleted", now=now, context={"domain": contract.domain_name,
                                                          "deleted_at": utc_iso(now)})
    try:
        services.store.apply(effect)
    except TransactionConflict:
        return "ignored"
    for follow_up in effect.after_commit:
        follow_up()
    return "applied"
