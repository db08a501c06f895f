"""Options added during the contract (R33): invoiced pro rata, provisioned once paid.

Ordering options issues an invoice (purpose "option") for the days left in what the customer has
already paid for; paying it adds the options to the contract and sends the node a `ChangeSpace`
with the new limits, in the same write as the payment (R27: once, however often it arrives).
"""
from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict
from ..adapters.models import ContractModel, InvoiceModel, NodeModel
from ..bootstrap import Services
from ..domain.billing import draft_invoice
from ..domain.calendar import add_months, paris_date, utc_iso
from ..domain.contracts import ContractState
from ..domain.errors import ConflictError, NotFoundError, RuleViolationError
from ..domain.evidence import state_change
from ..domain.options import Limits, limits_with, option_lines, options_to_add
from .invoicing import commit_numbered, invoice_row
from .lifecycle import issue_node_command
from .notices import queue_notice
from .orders import invoice_notice
from .payments import PaymentNotApplicable, payment_handler

OPTION = "option"


def paid_period(contract: ContractModel, today: date, services: Services) -> tuple[date, date]:
    """R33 + R21: the period the customer has paid for and the option must be priced over: the
    contract term for a yearly contract; for a monthly one, the current month, extended to the
    next month when that instalment is already issued (it was priced without the option)."""
    starts, ends = date.fromisoformat(contract.starts_on), date.fromisoformat(contract.ends_on)
    if (contract.billing_period or "yearly") != "monthly":
        return starts, ends
    n = 0
    while add_months(starts, n + 1) <= today and n < 11:
        n += 1
    start, end = add_months(starts, n), add_months(starts, n + 1)
    next_issued = services.store.get_timer(f"invoice_period#{contract.contract_id}#{n + 2}")
    if next_issued is not None and next_issued.state == "done" and n < 11:
        return start, add_months(starts, n + 2)
    return start, end


def option_invoice_id(contract_id: str, option_ids: list[str]) -> str:
    """One invoice per (contract, set of options): ordering the same options again while the
    invoice is unpaid returns that invoice rather than a second one."""
    digest = hashlib.sha256(f"{contract_id}|{','.join(sorted(option_ids))}".encode()).hexdigest()[:24]
    return f"inv_opt_{digest}"


def order_options(contract_id: str, option_ids: list[str], services: Services, *, actor: str,
                  correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R33: invoice the options pro rata; returns (view, created)."""
    store, catalog, s, now = services.store, services.catalog, services.settings, services.clock.now()
    contract = store.get_contract(contract_id)
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    invoice_id = option_invoice_id(contract_id, list(option_ids))
    existing = store.get_invoice(invoice_id)
    if existing is not None and existing.status == "issued":
        return _view(existing), False
    if contract.status != ContractState.ACTIVE.value:
        raise RuleViolationError(f"contract {contract_id} is {contract.status}: options are added to an active "
                                 "contract only", code="contract_not_active")
    plan = catalog.plans.get(contract.plan)
    if plan is None:
        raise RuleViolationError(f"plan {contract.plan} is no longer offered", code="plan_withdrawn")
    options = options_to_add(plan, contract.options, list(option_ids), catalog)
    extra_mb = sum(o.storage_mb for o in options)
    node = store.get_node(s.node_pool, contract.node_id) if contract.node_id else None
    if extra_mb and (node is None or int(node.free_mb) < extra_mb or node.drained):
        raise ConflictError(f"the node hosting {contract.domain_name} has no room for {extra_mb} MB more; an "
                            "operator must move the space first", code="no_node_capacity")
    today = paris_date(now)
    period_start, period_end = paid_period(contract, today, services)
    lines = option_lines(options, billing_period=contract.billing_period or "yearly", from_day=today,
                         period_start=period_start, period_end=period_end)
    if sum(line.total_cents for line in lines) == 0:
        raise RuleViolationError(f"the paid period ends on {period_end.isoformat()}: nothing is left to add options "
                                 "to; add them to the renewal", code="period_ending")
    first_invoice = store.get_invoice(contract.invoice_id)
    draft = draft_invoice(lines, vat_rate=s.vat_rate, currency=catalog.currency, issue_date=today, due_date=today,
                          late_penalty_rate_percent=s.late_penalty_rate_percent,
                          professional=bool(first_invoice.bill_to.get("siren")))

    issued: dict[str, InvoiceModel] = {}  # the invoice of the build that committed

    def build(sequence: int) -> Effect:
        invoice = issued["invoice"] = invoice_row(
            draft, invoice_id=invoice_id, sequence=sequence, prefix=s.invoice_number_prefix,
            customer_id=contract.customer_id, order_id=contract.order_id, contract_id=contract_id,
            bill_to=first_invoice.bill_to, now=now, purpose=OPTION, period_start=max(today, period_start).isoformat(),
            period_end=period_end.isoformat(), details={"options": [o.id for o in options]})
        effect = Effect().save("invoice", invoice, InvoiceModel.invoice_id.does_not_exist())
        effect.evidence.append(state_change(
            contract.customer_id, now, actor, "invoice", invoice_id, None, "issued", action="invoice.issued",
            number=invoice.number, total_cents=int(invoice.total_cents), purpose=OPTION,
            options=[o.id for o in options], correlation_id=correlation_id, contract_id=contract_id,
            order_id=contract.order_id))
        notice = invoice_notice(invoice, now, correlation_id)
        effect.save("notice", notice, _notice_is_new())
        effect.after_commit.append(lambda: queue_notice(notice, services))
        return effect

    try:
        effect = commit_numbered(services, build, now)
    except TransactionConflict as conflict:
        if "invoice" in conflict.failed:
            return _view(store.get_invoice(invoice_id)), False
        raise
    for follow_up in effect.after_commit:
        follow_up()
    return _view(issued["invoice"]), True


@payment_handler(OPTION)
def on_option_invoice_paid(effect: Effect, payment: Any, invoice: InvoiceModel, contract: ContractModel,
                           services: Services, now, correlation_id: Optional[str]) -> dict:
    """R33: paid: the options join the contract and the node gets the new limits (ChangeSpace)."""
    catalog = services.catalog
    added = [catalog.options[o] for o in (invoice.details or {}).get("options", []) if o not in contract.options]
    if contract.status not in (ContractState.ACTIVE.value, ContractState.RESTRICTED.value,
                               ContractState.SUSPENDED.value) or not contract.node_id:
        raise PaymentNotApplicable("contract_not_payable",
                                   f"contract {contract.contract_id} is {contract.status}: the options of invoice "
                                   f"{invoice.number} cannot be provisioned; payment {payment.reference} needs a "
                                   "refund")
    limits = limits_with(Limits(int(contract.storage_mb), int(contract.mailboxes), int(contract.mysql_databases)),
                         added)
    options = list(contract.options) + [o.id for o in added]
    effect.update("contract", ContractModel(contract_id=contract.contract_id),
                  [ContractModel.options.set(options), ContractModel.storage_mb.set(limits.storage_mb),
                   ContractModel.mailboxes.set(limits.mailboxes),
                   ContractModel.mysql_databases.set(limits.mysql_databases),
                   ContractModel.updated_at.set(utc_iso(now))],
                  ContractModel.storage_mb == int(contract.storage_mb))
    extra_mb = limits.storage_mb - int(contract.storage_mb)
    if extra_mb:
        # R31: the space grows on its node; the order checked the room, a late payment may overbook
        # the node a little (an operator moves a space then), it never blocks a paid option.
        effect.update("node", NodeModel(pool=services.settings.node_pool, node_id=contract.node_id),
                      [NodeModel.free_mb.add(-extra_mb)])
    effect.evidence.append(state_change(
        contract.customer_id, now, payment.actor, "contract", contract.contract_id, contract.status, contract.status,
        action="contract.options_added", options=[o.id for o in added], storage_mb=limits.storage_mb,
        mailboxes=limits.mailboxes, mysql_databases=limits.mysql_databases, contract_id=contract.contract_id,
        correlation_id=correlation_id))
    issue_node_command(effect, contract, services, "ChangeSpace", now, payment.actor, quota_mb=limits.storage_mb,
                       mailboxes=limits.mailboxes, mysql_databases=limits.mysql_databases)
    return {"options_added": [o.name for o in added]}


def _view(invoice: InvoiceModel) -> dict[str, Any]:
    return {"invoice": {"id": invoice.invoice_id, "number": invoice.number, "status": invoice.status,
                        "total_cents": int(invoice.total_cents), "vat_cents": int(invoice.vat_cents),
                        "currency": invoice.currency, "period_start": invoice.period_start,
                        "period_end": invoice.period_end, "lines": invoice.lines},
            "contract_id": invoice.contract_id, "options": (invoice.details or {}).get("options", [])}


def _notice_is_new():
    from ..adapters.notice_store import NOTICE_IS_NEW
    return NOTICE_IS_NEW
