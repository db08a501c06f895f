"""Use case: a consumer withdraws from an order (R13, R32, R22, R27, R56).

Everything a withdrawal changes is one conditional transaction: the contract becomes `withdrawn`
(`ended_reason="withdrawal"`), the order `withdrawn`, the invoice is corrected by a credit note
from the gapless sequence (an unpaid invoice is `cancelled` by it), the domain claim is released
unless the registry fees were already spent, the node is told to remove the space
(`DeprovisionSpace`, outbox row sent after the commit) and the node row gets the space's quota
back, a refund due is recorded (`PaymentModel` row `refund_due:<credit note id>`) with an open
operator alert `refund_due`, the customer gets the `withdrawal_confirmed` notice, and every move
has its evidence entry.

The node's quota is given back when the command is issued, not when the node confirms: from that
instant no contract holds the space, the write that frees it is the same conditional write that
withdraws the contract (so it happens exactly once), and a DeprovisionSpace that keeps failing
reaches the dead-letter queue and an operator alert (R30) like any other command.

Conditions make it safe under concurrency: the contract must still accept WITHDRAWN and carry no
first use (R32: a first use recorded meanwhile wins), the sequence must not have moved (R22), the
invoice must still be as read (a payment arriving meanwhile), the domain's fees must still be
unspent for it to be released. A cancelled transaction changes nothing and the decision is taken
again on fresh data: a second or concurrent request finds the contract withdrawn and answers the
same outcome (created=False), so there is one credit note.
"""
from __future__ import annotations

from typing import Any, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict, TransactionContention, new_alert
from ..adapters.models import (ContractModel, CustomerModel, DomainModel, InvoiceModel, NodeCommandModel, NodeModel,
                               OrderModel, PaymentModel)
from ..bootstrap import Services
from ..domain.billing import next_sequence_value
from ..domain.calendar import parse_iso, utc_iso
from ..domain.contracts import ContractState
from ..domain.errors import ConflictError, NotFoundError
from ..domain.evidence import state_change
from ..domain.withdrawal import check_withdrawal, withdrawal_credit
from ..observability import logger

ATTEMPTS = 12
WITHDRAWN = ContractState.WITHDRAWN.value
ORDER_WITHDRAWABLE = ("awaiting_payment", "paid")


def refund_due_key(credit_note_id: str) -> str:
    """The PaymentModel key of the refund owed for a credit note."""
    return f"refund_due:{credit_note_id}"


def refund_alert_key(credit_note_id: str) -> str:
    return f"refund_due#{credit_note_id}"


def withdraw(order_id: str, services: Services, *, actor: str = "customer", client_ip: Optional[str] = None,
             user_agent: Optional[str] = None, correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R13: withdraw the order's contract. Returns (outcome, created): created=False when it was
    already withdrawn (a repeated or concurrent request: same outcome). Raises the refusals of
    `check_withdrawal` (nothing changes), or NotFoundError."""
    from .orders import backoff
    store = services.store
    for attempt in range(ATTEMPTS):
        if attempt:
            backoff(attempt)
        order = store.get_order(order_id)
        if order is None:
            raise NotFoundError(f"no order {order_id}", code="order_not_found")
        # One consistent snapshot (TransactGetItems) of everything a withdrawal writes: never an
        # order read before another withdrawal's commit with a contract read after it.
        order, contract, invoice, customer, domain = store.get_together(
            (OrderModel, order_id), (ContractModel, order.contract_id), (InvoiceModel, order.invoice_id),
            (CustomerModel, order.customer_id), (DomainModel, order.domain_name))
        if contract.status == WITHDRAWN:
            return withdrawal_outcome(order, contract, invoice, domain, services), False
        now = services.clock.now()
        check_withdrawal(
            customer_kind=customer.kind, validated_at=parse_iso(order.acceptance.accepted_at), now=now,
            contract_status=contract.status, first_used_at=parse_iso(contract.first_used_at) if contract.first_used_at
            else None, first_use=contract.first_use, is_renewal=bool(contract.renews_contract_id))
        if order.status not in ORDER_WITHDRAWABLE or invoice.status not in ("issued", "paid") or invoice.credited_by:
            raise ConflictError(f"order {order_id} is {order.status} and its invoice {invoice.status}: it cannot be "
                                "withdrawn", code="not_withdrawable")
        effect = _withdrawal_effect(order, contract, invoice, customer, domain, services, now, actor=actor,
                                    client_ip=client_ip, user_agent=user_agent, correlation_id=correlation_id)
        try:
            store.apply(effect)
        except TransactionContention:
            continue
        except TransactionConflict as conflict:
            # A payment, a first use, another withdrawal or another invoice number came first:
            # decide again on what is stored now.
            logger.info("withdrawal raced; deciding again", order_id=order_id, failed=sorted(conflict.failed))
            continue
        for follow_up in effect.after_commit:
            follow_up()
        logger.info("order withdrawn", order_id=order_id, contract_id=contract.contract_id)
        order, contract, invoice, domain = store.get_together(
            (OrderModel, order_id), (ContractModel, order.contract_id), (InvoiceModel, order.invoice_id),
            (DomainModel, order.domain_name))
        return withdrawal_outcome(order, contract, invoice, domain, services), True
    raise ConflictError("the order kept changing during the withdrawal; send the same request again",
                        code="withdrawal_busy")


def withdrawal_outcome(order: OrderModel, contract: ContractModel, invoice: InvoiceModel,
                       domain: Optional[DomainModel], services: Services) -> dict[str, Any]:
    """The outcome of a withdrawal, read back from what it stored (so a repeated request answers
    exactly what the first one did)."""
    credited_by = invoice.credited_by
    note, due = services.store.get_together((InvoiceModel, credited_by),
                                            (PaymentModel, refund_due_key(credited_by) if credited_by else None))
    paid = invoice.status == "paid"
    kept = int(invoice.total_cents) + int(note.total_cents) if (paid and note is not None) else 0
    return {
        "order_id": order.order_id, "contract_id": contract.contract_id, "status": contract.status,
        "order_status": order.status, "withdrawn_at": note.created_at if note is not None else contract.updated_at,
        "invoice": {"id": invoice.invoice_id, "number": invoice.number, "status": invoice.status,
                    "total_cents": int(invoice.total_cents)},
        "credit_note": None if note is None else {"id": note.invoice_id, "number": note.number,
                                                  "total_cents": int(note.total_cents)},
        "paid_cents": int(invoice.total_cents) if paid else 0,
        "kept_domain_fees_cents": kept,
        "refund_due_cents": int(due.amount_cents) if due is not None else 0,
        "domain_released": domain is None or domain.contract_id != contract.contract_id,
        "space_deprovisioned": bool(contract.node_id) and not contract.renews_contract_id,
    }


def _withdrawal_effect(order: OrderModel, contract: ContractModel, invoice: InvoiceModel, customer: CustomerModel,
                       domain: Optional[DomainModel], services: Services, now, *, actor: str,
                       client_ip: Optional[str], user_agent: Optional[str], correlation_id: Optional[str],
                       reason: str = "withdrawal") -> Effect:
    """The whole withdrawal (R13) as one effect. With reason `domain_failure` (R37/R38: the order
    cancelled at the customer's request after a refused registration or a failed transfer) the
    same steps end the contract as `cancelled`, whatever the space's use, and the customer gets
    the `order_cancelled` notice."""
    from .lifecycle import add_notice, issue_node_command
    from .order_expiry import credit_note
    store, s, at = services.store, services.settings, utc_iso(now)
    cid = contract.customer_id
    common = dict(correlation_id=correlation_id, contract_id=contract.contract_id, order_id=order.order_id)
    effect = Effect()
    paid = invoice.status == "paid"
    own_domain = domain is not None and domain.contract_id == contract.contract_id
    fees_spent = own_domain and bool(domain.fees_spent_at)
    credit = withdrawal_credit(
        invoice.lines, subtotal_cents=int(invoice.subtotal_cents), vat_cents_=int(invoice.vat_cents),
        total_cents=int(invoice.total_cents), vat_rate=invoice.vat_rate, paid=paid,
        spent_domain_fees_cents=services.catalog.domain_fees_for(order.registry) if fees_spent else 0,
        refunded_cents=int(invoice.refunded_cents or 0))

    # R22: the correction is a credit note with the next number of the one sequence.
    last = store.last_invoice_sequence()
    note = credit_note(invoice, next_sequence_value(last), s.invoice_number_prefix, now, reason=reason)
    cancelled = reason == "domain_failure"
    contract_state = ContractState.CANCELLED.value if cancelled else WITHDRAWN
    order_state = "cancelled" if cancelled else "withdrawn"
    note.lines = list(credit.lines)
    note.subtotal_cents, note.vat_cents, note.total_cents = credit.subtotal_cents, credit.vat_cents, credit.total_cents
    store.claim_sequence(effect, last, int(note.sequence), now)
    effect.save("credit_note", note, InvoiceModel.invoice_id.does_not_exist())
    if paid:
        effect.update("invoice", InvoiceModel(invoice_id=invoice.invoice_id),
                      [InvoiceModel.credited_by.set(note.invoice_id)],
                      (InvoiceModel.status == "paid") & InvoiceModel.credited_by.does_not_exist())
    else:
        effect.update("invoice", InvoiceModel(invoice_id=invoice.invoice_id),
                      [InvoiceModel.status.set("cancelled"), InvoiceModel.credited_by.set(note.invoice_id)],
                      (InvoiceModel.status == "issued") & InvoiceModel.credited_by.does_not_exist())
    effect.evidence += [
        state_change(cid, now, "system", "invoice", invoice.invoice_id, invoice.status,
                     invoice.status if paid else "cancelled", action="invoice.credited", credit_note=note.number,
                     reason=reason, **common),
        state_change(cid, now, "system", "credit_note", note.invoice_id, None, "issued", action="credit_note.issued",
                     number=note.number, credits=invoice.number, total_cents=int(note.total_cents),
                     kept_domain_fees_cents=credit.kept_total_cents, reason=reason, **common)]

    # R13: the order and the contract end; a first use recorded meanwhile (R32) makes this fail.
    unused = ContractModel.first_used_at.does_not_exist()
    effect.update("order", OrderModel(order_id=order.order_id),
                  [OrderModel.status.set(order_state), OrderModel.updated_at.set(at)], OrderModel.status == order.status)
    effect.update("contract", ContractModel(contract_id=contract.contract_id),
                  [ContractModel.status.set(contract_state), ContractModel.ended_reason.set(reason),
                   ContractModel.updated_at.set(at)],
                  (ContractModel.status == contract.status) & (ContractModel.status.exists() if cancelled else unused))
    effect.evidence += [
        state_change(cid, now, actor, "order", order.order_id, order.status, order_state,
                     action=f"order.{order_state}", client_ip=client_ip, user_agent=user_agent, **common),
        state_change(cid, now, actor, "contract", contract.contract_id, contract.status, contract_state,
                     reason=reason, **common)]

    # The space: the node removes it; its quota is free again for placement.
    if contract.node_id and not contract.renews_contract_id:
        _stop_pending_provisioning(effect, contract, services, now, common)
        issue_node_command(effect, contract, services, "DeprovisionSpace", now, "system", reason=reason)
        effect.update("node", NodeModel(pool=s.node_pool, node_id=contract.node_id),
                      [NodeModel.free_mb.add(int(contract.storage_mb))], NodeModel.node_id.exists())
        effect.evidence.append(state_change(cid, now, "system", "node", contract.node_id, None, "space_released",
                                            action="node.space_released", quota_mb=int(contract.storage_mb),
                                            **common))

    # The domain claim (R34) is released, unless the registry fees were spent: the name is registered.
    if own_domain and not fees_spent:
        effect.delete("domain", DomainModel(domain_name=domain.domain_name),
                      (DomainModel.contract_id == contract.contract_id) & DomainModel.fees_spent_at.does_not_exist())
        effect.evidence.append(state_change(cid, now, "system", "domain", domain.domain_name, "claimed", "released",
                                            action="domain.released", reason=reason, **common))
    elif own_domain:
        effect.evidence.append(state_change(cid, now, "system", "domain", domain.domain_name, "claimed", "claimed",
                                            action="domain.kept", reason="registry fees spent",
                                            fees_spent_at=domain.fees_spent_at, **common))

    # R13: what was paid comes back, less the domain fees spent: the operator refunds it at the
    # payment provider; the provider's charge.refunded closes it (refunds.py).
    if credit.refund_cents > 0:
        _refund_due(effect, invoice, note, credit.refund_cents, credit.kept_total_cents, services, now, common,
                    why="R13 withdrawal" if not cancelled else "R37/R38 order cancelled after the domain failed")

    if cancelled:
        add_notice(effect, services, key=f"order_cancelled#{order.order_id}", contract=contract,
                   template="order_cancelled", now=now, context={
                       "domain": contract.domain_name, "order_id": order.order_id, "reason": reason,
                       "credit_note_number": note.number, "credit_cents": -int(note.total_cents),
                       "refund_cents": credit.refund_cents})
        return effect

    customer_name = (invoice.bill_to or {}).get("name") or " ".join(
        p for p in (customer.first_name, customer.last_name) if p)
    add_notice(effect, services, key=f"withdrawal_confirmed#{contract.contract_id}", contract=contract,
               template="withdrawal_confirmed", now=now, context={
                   "contract_id": contract.contract_id, "domain": contract.domain_name, "withdrawn_at": at,
                   "refund_cents": credit.refund_cents, "kept_domain_fees_cents": credit.kept_total_cents,
                   "paid_cents": int(invoice.total_cents) if paid else 0, "invoice_number": invoice.number,
                   "credit_note_number": note.number,
                   "space_removed": bool(contract.node_id) and not contract.renews_contract_id,
                   **({"customer_name": customer_name} if customer_name else {})})
    return effect


def _stop_pending_provisioning(effect: Effect, contract: ContractModel, services: Services, now, common: dict) -> None:
    """A ProvisionSpace still waiting for its node is not resent by the outbox sweep any more, and
    its late confirmation changes nothing (the DeprovisionSpace after it removes the space)."""
    if contract.status != ContractState.PROVISIONING.value or not contract.command_id:
        return
    command = services.store.get_command(contract.command_id)
    if command is None or command.status != "pending":
        return
    effect.update("provisioning_command", NodeCommandModel(command_id=command.command_id),
                  [NodeCommandModel.status.set("cancelled"), NodeCommandModel.completed_at.set(utc_iso(now)),
                   NodeCommandModel.pending_pool.remove(),
                   NodeCommandModel.last_error.set("cancelled: the consumer withdrew (R13)")],
                  NodeCommandModel.status == "pending")
    effect.evidence.append(state_change(contract.customer_id, now, "system", "node_command", command.command_id,
                                        "pending", "cancelled", type=command.type, reason="withdrawal", **common))


def _refund_due(effect: Effect, invoice: InvoiceModel, note: InvoiceModel, refund_cents: int, kept_cents: int,
                services: Services, now, common: dict, why: str = "R13 withdrawal") -> None:
    payment = services.store.get_payment(invoice.payment_event_id) if invoice.payment_event_id else None
    provider = payment.provider if payment is not None else "unknown"
    reference = payment.provider_reference if payment is not None else None
    due = PaymentModel(
        payment_event_id=refund_due_key(note.invoice_id), provider=provider, event_type="refund_due",
        outcome="refund_due", invoice_id=invoice.invoice_id, amount_cents=refund_cents, currency=invoice.currency,
        provider_reference=reference, contract_id=invoice.contract_id, received_at=utc_iso(now))
    effect.save("refund_due", due, PaymentModel.payment_event_id.does_not_exist())
    effect.save("alert", new_alert(
        "refund_due", f"{why} of order {invoice.order_id}: refund {refund_cents} cents "
        f"{invoice.currency} on {provider} payment {reference or invoice.payment_event_id} (invoice {invoice.number}, "
        f"credit note {note.number}; domain fees kept: {kept_cents} cents)", now,
        alert_key=refund_alert_key(note.invoice_id), order_id=invoice.order_id, contract_id=invoice.contract_id,
        invoice_id=invoice.invoice_id, credit_note_id=note.invoice_id, credit_note=note.number,
        amount_cents=refund_cents, provider=provider, payment_reference=reference))
    effect.evidence.append(state_change(
        invoice.customer_id, now, "system", "payment", due.payment_event_id, None, "refund_due", action="refund.due",
        amount_cents=refund_cents, kept_domain_fees_cents=kept_cents, provider=provider, payment_reference=reference,
        credit_note=note.number, **common))


def cancel_order_effect_for_domain(contract: ContractModel, domain: DomainModel, services: Services, *, actor: str,
                                   correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R37/R38: the order cancelled at the customer's request after its domain failed: the same
    one-transaction steps as a withdrawal (credit note, refund due, space removed, claim released),
    the dossier fees invoice staying due. Returns (outcome, created)."""
    store = services.store
    for _ in range(ATTEMPTS):
        order, contract, invoice, customer = store.get_together(
            (OrderModel, contract.order_id), (ContractModel, contract.contract_id),
            (InvoiceModel, contract.invoice_id), (CustomerModel, contract.customer_id))
        if contract.status == ContractState.CANCELLED.value:
            break
        from ..domain.contracts import ContractEvent, next_state
        next_state(contract.status, ContractEvent.DOMAIN_FAILURE_CANCELLED)  # raises for a contract no longer running
        if invoice.credited_by or invoice.status not in ("issued", "paid"):
            raise ConflictError(f"invoice {invoice.number} is {invoice.status} and already corrected",
                                code="not_cancellable")
        effect = _withdrawal_effect(order, contract, invoice, customer, domain, services, services.clock.now(),
                                    actor=actor, client_ip=None, user_agent=None, correlation_id=correlation_id,
                                    reason="domain_failure")
        try:
            store.apply(effect)
        except (TransactionContention, TransactionConflict):
            continue
        for follow_up in effect.after_commit:
            follow_up()
        order, contract, invoice, domain_now = store.get_together(
            (OrderModel, contract.order_id), (ContractModel, contract.contract_id),
            (InvoiceModel, contract.invoice_id), (DomainModel, contract.domain_name))
        return withdrawal_outcome(order, contract, invoice, domain_now, services), True
    else:
        raise ConflictError("the contract kept changing; send the same request again", code="cancellation_busy")
    order, invoice, domain_now = store.get_together((OrderModel, contract.order_id),
                                                    (InvoiceModel, contract.invoice_id),
                                                    (DomainModel, contract.domain_name))
    return withdrawal_outcome(order, contract, invoice, domain_now, services), False
