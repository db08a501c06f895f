"""R18 renewal: accepting the renewal offer is a new order (a re-subscription) for the same space.

Once its invoice is paid the new contract is `scheduled`; at the old end date it takes over the
space with no gap and no re-provisioning (the old one becomes `renewed`). Paid late, after the
old contract expired but before its data was deleted, it takes over at once and the space is
unsuspended.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict, TransactionContention, new_id
from ..adapters.models import ContractModel, DomainModel, InvoiceModel, OrderModel, TimerModel
from ..bootstrap import Services
from ..domain.billing import draft_invoice, invoice_number, next_sequence_value, yearly_lines
from ..domain.calendar import add_months, paris_date, utc_iso
from ..domain.contracts import ContractEvent, ContractState
from ..domain.errors import NotFoundError, RuleViolationError
from ..domain.evidence import state_change
from .lifecycle import set_status
from .orders import SEQUENCE_ATTEMPTS, SequenceBusyError, backoff, invoice_notice, order_view
from .notices import queue_notice
from .order_expiry import order_expiry_timer


def accept_renewal(contract_id: str, services: Services, *, terms_version: str, client_ip: str, user_agent: str,
                   actor: str, correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R18 + R09: the renewal order at current prices, for 12 months from the old end date.
    Returns (order view, created); accepting twice returns the same renewal order."""
    store, catalog, now = services.store, services.catalog, services.clock.now()
    contract = store.get_contract(contract_id)
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    if contract.renewal_contract_id:
        renewal = store.get_contract(contract.renewal_contract_id)
        order = store.get_order(renewal.order_id)
        return order_view(order, store.get_invoice(order.invoice_id)), False
    if contract.renewal_refused:  # R55: the customer objected to a change and the operator refused the renewal
        raise RuleViolationError(f"the renewal of contract {contract_id} was refused after the customer's objection "
                                 f"to change {contract.renewal_refused} (R55, 21.2)",
                                 code="renewal_refused_after_objection")
    from .billing_cycle import unpaid_past_due
    in_default = unpaid_past_due(contract_id, services, paris_date(now))
    if in_default is not None:  # R26: the provider may refuse a renewal from a customer in default
        raise RuleViolationError(f"invoice {in_default.number} is unpaid since its due date {in_default.due_date}: "
                                 "no renewal while it is", code="customer_in_default",
                                 fields={"invoice": in_default.number})
    if contract.status != ContractState.ACTIVE.value:
        raise RuleViolationError(f"contract {contract_id} is {contract.status}: only an active contract is renewed",
                                 code="not_renewable")
    if terms_version != catalog.terms_version:
        raise RuleViolationError(f"terms version '{terms_version}' is not the current one '{catalog.terms_version}'",
                                 code="terms_version_mismatch", fields={"terms.version": catalog.terms_version})
    plan = catalog.plans.get(contract.plan)
    options = [catalog.options[o] for o in contract.options if o in catalog.options and o in plan.options] \
        if plan else []
    if plan is None:
        raise RuleViolationError(f"plan {contract.plan} is no longer offered", code="plan_withdrawn")
    old_invoice = store.get_invoice(contract.invoice_id)
    starts_on = date.fromisoformat(contract.ends_on)
    today = paris_date(now)
    draft = draft_invoice(yearly_lines(plan, options), vat_rate=services.settings.vat_rate, currency=catalog.currency,
                          issue_date=today, due_date=max(today, starts_on),
                          late_penalty_rate_percent=services.settings.late_penalty_rate_percent,
                          professional=bool(old_invoice.bill_to.get("siren")))
    ids = {"order_id": new_id("ord"), "contract_id": new_id("ctr"), "invoice_id": new_id("inv")}
    at = utc_iso(now)
    order = OrderModel(
        order_id=ids["order_id"], customer_id=contract.customer_id, contract_id=ids["contract_id"],
        invoice_id=ids["invoice_id"], status="awaiting_payment", plan=plan.id, options=[o.id for o in options],
        billing_period="yearly", payment_method="card", domain_name=contract.domain_name, domain_action="renew",
        registry=store.get_order(contract.order_id).registry,
        acceptance={"terms_version": terms_version, "accepted_at": at, "client_ip": client_ip,
                    "user_agent": user_agent}, created_at=at, updated_at=at)
    renewal = ContractModel(
        contract_id=ids["contract_id"], customer_id=contract.customer_id, order_id=ids["order_id"],
        invoice_id=ids["invoice_id"], status=ContractState.AWAITING_PAYMENT.value, plan=plan.id,
        options=[o.id for o in options], domain_name=contract.domain_name, storage_mb=contract.storage_mb,
        mailboxes=contract.mailboxes, mysql_databases=contract.mysql_databases, php=plan.php,
        starts_on=starts_on.isoformat(), ends_on=add_months(starts_on, 12).isoformat(), node_id=contract.node_id,
        renews_contract_id=contract_id, space_id=contract.space_id or contract_id, created_at=at, updated_at=at)
    for attempt in range(SEQUENCE_ATTEMPTS):
        if attempt:
            backoff(attempt)
        last = store.last_invoice_sequence()
        sequence = next_sequence_value(last)
        invoice = InvoiceModel(
            invoice_id=ids["invoice_id"], number=invoice_number(services.settings.invoice_number_prefix, sequence),
            sequence=sequence, customer_id=contract.customer_id, order_id=ids["order_id"],
            contract_id=ids["contract_id"], status="issued",
            lines=[{"code": l.code, "description": l.description, "quantity": l.quantity, "unit_cents": l.unit_cents,
                    "total_cents": l.total_cents} for l in draft.lines],
            subtotal_cents=draft.subtotal_cents, vat_rate=str(draft.vat_rate), vat_cents=draft.vat_cents,
            total_cents=draft.total_cents, currency=draft.currency, issue_date=draft.issue_date.isoformat(),
            due_date=draft.due_date.isoformat(), late_penalty_rate_percent=str(draft.late_penalty_rate_percent),
            recovery_indemnity_cents=draft.professional_recovery_indemnity_cents, bill_to=old_invoice.bill_to,
            created_at=at)
        notice = invoice_notice(invoice, now, correlation_id)
        effect = Effect()
        store.claim_sequence(effect, last, sequence, now)
        effect.save("order", order, OrderModel.order_id.does_not_exist())
        effect.save("renewal", renewal, ContractModel.contract_id.does_not_exist())
        effect.save("invoice", invoice, InvoiceModel.invoice_id.does_not_exist())
        effect.save("notice", notice, _notice_is_new())
        timer = order_expiry_timer(ids["order_id"], contract.customer_id, now)
        effect.save("timer", timer, TimerModel.timer_id.does_not_exist())
        effect.update("contract", ContractModel(contract_id=contract_id),
                      [ContractModel.renewal_contract_id.set(ids["contract_id"]), ContractModel.updated_at.set(at)],
                      ContractModel.renewal_contract_id.does_not_exist()
                      & (ContractModel.status == ContractState.ACTIVE.value))
        common = dict(correlation_id=correlation_id, contract_id=ids["contract_id"], order_id=ids["order_id"])
        effect.evidence += [
            state_change(contract.customer_id, now, actor, "order", ids["order_id"], None, "awaiting_payment",
                         action="order.renewal_accepted", renews_contract_id=contract_id,
                         terms_version=terms_version, client_ip=client_ip, user_agent=user_agent, **common),
            state_change(contract.customer_id, now, actor, "contract", ids["contract_id"], None, "awaiting_payment",
                         action="contract.concluded", starts_on=renewal.starts_on, ends_on=renewal.ends_on,
                         renews_contract_id=contract_id, **common),
            state_change(contract.customer_id, now, "system", "invoice", ids["invoice_id"], None, "issued",
                         action="invoice.issued", number=invoice.number, total_cents=int(invoice.total_cents),
                         **common)]
        try:
            store.apply(effect)
        except TransactionContention:
            continue
        except TransactionConflict as conflict:
            if "contract" in conflict.failed:
                return accept_renewal(contract_id, services, terms_version=terms_version, client_ip=client_ip,
                                      user_agent=user_agent, actor=actor, correlation_id=correlation_id)
            if "sequence" in conflict.failed:
                continue
            raise
        queue_notice(notice, services)
        return order_view(order, invoice), True
    raise SequenceBusyError("too many concurrent invoices; retry the same request")


def _notice_is_new():
    from ..adapters.notice_store import NOTICE_IS_NEW
    return NOTICE_IS_NEW


def renewal_payment_effect(effect: Effect, renewal: ContractModel, old: ContractModel, services: Services,
                           now) -> Effect:
    """R18: the renewal's invoice is paid: it is `scheduled` until the old end date; if the old
    contract already expired (paid late, data still kept) the renewal takes over at once."""
    actor = "payment_provider:stripe"
    if old.status == ContractState.EXPIRED.value:
        set_status(effect, "contract", renewal, [ContractEvent.RENEWAL_PAID, ContractEvent.RENEWAL_STARTED], now, actor)
        hand_over(effect, old, renewal, services, now)
    else:
        set_status(effect, "contract", renewal, [ContractEvent.RENEWAL_PAID], now, actor)
    return effect


def hand_over(effect: Effect, old: ContractModel, renewal: ContractModel, services: Services, now) -> None:
    """R18: the old contract is replaced on the same space, with no gap: the domain follows, the
    renewal's own deadlines are scheduled; after an expiry the space is unsuspended and the
    deletion timers cancelled."""
    from .lifecycle import DATA_DELETION, DELETION_WARNING, activation_timers, issue_node_command
    set_status(effect, "old_contract", old, [ContractEvent.REPLACED_BY_RENEWAL], now, "system",
               renewal_contract_id=renewal.contract_id)
    effect.update("domain", DomainModel(domain_name=old.domain_name),
                  [DomainModel.contract_id.set(renewal.contract_id)], DomainModel.contract_id == old.contract_id)
    for timer in activation_timers(renewal, services, now):
        effect.save(f"timer:{timer.kind}", timer, TimerModel.timer_id.does_not_exist())
    if old.status == ContractState.EXPIRED.value:
        issue_node_command(effect, renewal, services, "UnsuspendSpace", now)
        for kind in (DELETION_WARNING, DATA_DELETION):
            effect.update(f"cancel:{kind}", TimerModel(timer_id=f"{kind}#{old.contract_id}"),
                          [TimerModel.state.set("cancelled"), TimerModel.due_day.remove()],
                          TimerModel.state == "pending")
