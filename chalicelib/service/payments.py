"""Use case: apply a received payment exactly once (R27, R10, R31, R30, R21).

A payment arrives from the card provider (a signed Stripe event) or from an operator who
recorded a bank transfer; both become one `ReceivedPayment` and take the same path. What the
payment does depends on its invoice: the first invoice of an order places and provisions the
space, a renewal's schedules the new contract, and any other purpose (a monthly instalment, an
option, a penalty...) is handled by the function registered for it with `@payment_handler`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict, new_alert, new_id
from ..adapters.models import ContractModel, InvoiceModel, NodeCommandModel, PaymentModel
from ..bootstrap import Services
from ..contracts.node_messages import ProvisionSpace
from ..contracts.payments import StripeEvent
from ..domain.calendar import utc_iso
from ..domain.contracts import ContractEvent, ContractState, next_state, states_accepting
from ..domain.credentials import ftp_password, ftp_password_hash
from ..domain.errors import NoCapacityError
from ..domain.evidence import state_change
from ..domain.placement import NodeCapacity, choose_node
from ..observability import logger
from .notices import new_notice, queue_notice
from .provisioning import dispatch

SUCCEEDED = "payment_intent.succeeded"
PLACEMENT_ATTEMPTS = 3


@dataclass(frozen=True)
class ReceivedPayment:
    """One payment, whatever its channel. `payment_id` is the exactly-once key (R27): the Stripe
    event id, or `transfer:<bank reference>` for a bank transfer recorded by an operator."""
    payment_id: str
    provider: str          # "stripe" | "bank_transfer"
    event_type: str
    reference: str         # the PaymentIntent id, or the bank's reference of the transfer
    amount_cents: int
    currency: str          # upper case
    invoice_id: Optional[str]
    contract_id: Optional[str]
    actor: str             # who the evidence names: "payment_provider:stripe", "operator:<id>"
    received_on: Optional[date] = None  # a transfer's value date; None: the day it is applied (R24)

    @classmethod
    def from_stripe(cls, event: StripeEvent) -> "ReceivedPayment":
        intent = event.payment_intent()
        return cls(payment_id=event.id, provider="stripe", event_type=event.type, reference=intent.id,
                   amount_cents=intent.amount, currency=intent.currency.upper(),
                   invoice_id=intent.metadata.invoice_id, contract_id=intent.metadata.contract_id,
                   actor="payment_provider:stripe")


# purpose -> handler(effect, payment, invoice, contract, services, now, correlation_id): adds the
# payment's consequences to the effect that already pays the invoice. Returns the receipt context
# extras (or None).
PaymentHandler = Callable[..., Optional[dict]]


class PaymentNotApplicable(Exception):
    """Raised by a purpose handler when the invoice can no longer take effect (e.g. an option for a
    contract that ended meanwhile): the payment is recorded unapplied, flagged and alerted (R27)."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome, self.message = outcome, message
PAYMENT_HANDLERS: dict[str, PaymentHandler] = {}


def payment_handler(purpose: str):
    """Register what paying an invoice of this purpose does (see `_apply_purpose_payment`)."""
    def register(func: PaymentHandler) -> PaymentHandler:
        PAYMENT_HANDLERS[purpose] = func
        return func
    return register


def _register_payment_handlers() -> None:
    """Import the modules that register handlers with @payment_handler."""
    from . import billing_cycle, domains, options  # noqa: F401


def apply_payment_event(event: StripeEvent, services: Services, correlation_id: Optional[str] = None) -> str:
    """R27: a Stripe event; only successful PaymentIntents pay invoices (refunds: see refunds.py)."""
    if event.type == "charge.refunded":
        from .refunds import apply_refund_event
        return apply_refund_event(event, services, correlation_id)
    if event.type != SUCCEEDED:
        logger.info("payment event type not handled", event_type=event.type, event_id=event.id)
        return "ignored"
    return apply_payment(ReceivedPayment.from_stripe(event), services, correlation_id)


def apply_payment(payment: ReceivedPayment, services: Services, correlation_id: Optional[str] = None) -> str:
    """R27: the payment id is written in the same transaction as its effect, so a redelivered or
    concurrent copy changes nothing; a copy arriving after a crash resumes the dispatch."""
    invoice, contract = _invoice_and_contract(payment.invoice_id, payment.contract_id, services)
    if invoice is None:
        return _unapplied(payment, services, None, "unknown_invoice",
                          f"payment {payment.reference} names no known invoice ({payment.invoice_id!r}) "
                          f"of contract {payment.contract_id!r}")
    if invoice.payment_event_id == payment.payment_id:
        return _resume_dispatch(payment.payment_id, contract, services, correlation_id)
    if payment.amount_cents != int(invoice.total_cents) or payment.currency != invoice.currency.upper():
        return _unapplied(payment, services, invoice, "amount_mismatch",
                          f"payment {payment.reference} of {payment.amount_cents} {payment.currency} does not match "
                          f"invoice {invoice.number} ({int(invoice.total_cents)} {invoice.currency})")
    if invoice.status != "issued":
        return _unapplied(payment, services, invoice, "duplicate_payment",
                          f"invoice {invoice.number} is already {invoice.status}; payment {payment.reference} "
                          "needs a refund")
    if invoice.purpose:
        return _apply_purpose_payment(payment, services, invoice, contract, correlation_id)
    if contract.status not in [st.value for st in states_accepting(
            ContractEvent.RENEWAL_PAID if contract.renews_contract_id else ContractEvent.PAYMENT_RECEIVED)]:
        return _unapplied(payment, services, invoice, "contract_not_payable",
                          f"contract {contract.contract_id} is {contract.status} and takes no payment; "
                          f"payment {payment.reference} needs a refund or an operator decision")
    if contract.renews_contract_id:
        return _apply_renewal_payment(payment, services, invoice, contract, correlation_id)
    for attempt in range(PLACEMENT_ATTEMPTS):
        outcome = _try_first_payment(payment, services, invoice, contract, correlation_id, fresh_nodes=attempt > 0)
        if outcome != "retry_placement":
            return outcome
    raise NoCapacityError("node capacity kept changing during placement; will retry")


def _apply_purpose_payment(payment: ReceivedPayment, services: Services, invoice: InvoiceModel,
                           contract: ContractModel, correlation_id: Optional[str]) -> str:
    """R21/R33/R24/R26: an invoice other than an order's first one: the invoice is paid and the
    handler registered for its purpose adds its consequences, in one write with the payment."""
    _register_payment_handlers()
    handler = PAYMENT_HANDLERS.get(invoice.purpose)
    if handler is None:
        raise LookupError(f"no payment handler for invoice purpose {invoice.purpose!r}")
    now = services.clock.now()
    effect = Effect()
    _invoice_paid(effect, payment, invoice, contract.contract_id, now, outcome="applied", order_status=None)
    effect.evidence.append(state_change(
        invoice.customer_id, now, payment.actor, "invoice", invoice.invoice_id, invoice.status, "paid",
        payment_event_id=payment.payment_id, amount_cents=payment.amount_cents, purpose=invoice.purpose,
        correlation_id=correlation_id, contract_id=contract.contract_id, order_id=invoice.order_id))
    try:
        extra = handler(effect, payment, invoice, contract, services, now, correlation_id) or {}
    except PaymentNotApplicable as refused:
        return _unapplied(payment, services, invoice, refused.outcome, refused.message)
    # A contract that moved meanwhile (a hold, a timer) raises: the message is retried on fresh data.
    outcome = _receipt_and_commit(effect, payment, invoice, contract.contract_id, services, now, correlation_id,
                                  extra, contract_changed=None)
    if outcome is not None:
        return outcome
    logger.info("invoice paid", payment_id=payment.payment_id, invoice_id=invoice.invoice_id, purpose=invoice.purpose)
    return "applied"


def _receipt_and_commit(effect: Effect, payment: "ReceivedPayment", invoice: InvoiceModel, contract_id: str,
                        services: Services, now, correlation_id: Optional[str], context: dict,
                        contract_changed: Optional[str]) -> Optional[str]:
    """R27 + R54: add the payment receipt to the effect and commit it. Returns None once committed
    (follow-ups run, receipt queued), or the outcome of a conflict: "duplicate" for a copy of the
    payment, `duplicate_payment` when another payment paid the invoice first, and when the contract
    moved meanwhile `contract_not_payable` with the message `contract_changed` (or, with None, the
    conflict is raised so the queue retries on fresh data)."""
    from ..adapters.notice_store import NOTICE_IS_NEW
    receipt = new_notice(
        notice_key=f"payment_received#{invoice.invoice_id}", customer_id=invoice.customer_id,
        to=invoice.bill_to["email"], template="payment_received", now=now, correlation_id=correlation_id,
        contract_id=contract_id,
        context={"invoice_number": invoice.number, "amount_cents": payment.amount_cents, "paid_at": now, **context})
    effect.save("notice", receipt, NOTICE_IS_NEW)
    try:
        services.store.apply(effect)
    except TransactionConflict as conflict:
        if "payment" in conflict.failed:
            return "duplicate"
        if "invoice" in conflict.failed:
            return _unapplied(payment, services, invoice, "duplicate_payment",
                              f"invoice {invoice.number} was paid by another payment; {payment.reference} "
                              "needs a refund")
        if contract_changed is None:
            raise
        return _unapplied(payment, services, invoice, "contract_not_payable", contract_changed)
    for follow_up in effect.after_commit:
        follow_up()
    queue_notice(receipt, services)
    return None


def _try_first_payment(payment: "ReceivedPayment", services: Services, invoice: InvoiceModel, contract: ContractModel,
                       correlation_id: Optional[str], fresh_nodes: bool) -> str:
    s, now = services.settings, services.clock.now()
    nodes = {n.node_id: n for n in services.store.nodes_for_placement(s.node_pool, fresh=fresh_nodes)}
    quota = int(contract.storage_mb)
    try:
        chosen = choose_node([NodeCapacity(n.node_id, int(n.free_mb), bool(n.drained)) for n in nodes.values()], quota)
    except NoCapacityError:
        if not fresh_nodes:  # the cache may predate an added node or freed space
            return "retry_placement"
        return _initial_unavailability(payment, services, invoice, contract, correlation_id)
    node = nodes[chosen.node_id]
    command_id = new_id("cmd")
    command = ProvisionSpace(
        node_id=node.node_id, correlation_id=correlation_id, command_id=command_id,
        contract_id=contract.contract_id, domain=contract.domain_name, quota_mb=quota,
        mailboxes=int(contract.mailboxes), mysql_databases=int(contract.mysql_databases), php=bool(contract.php),
        issued_at=now,
        # R28: the node gets the FTP password's hash; the password is derived again for the notice.
        ftp_password_hash=ftp_password_hash(ftp_password(s.ftp_password_secret, contract.contract_id)))
    command_row = NodeCommandModel(
        command_id=command_id, node_id=node.node_id, queue_url=node.queue_url, contract_id=contract.contract_id,
        customer_id=contract.customer_id, type=command.type, payload=command.model_dump(mode="json"),
        status="pending", issued_at=utc_iso(now), pending_pool=s.node_pool, attempts=0)
    payment_row = PaymentModel(
        payment_event_id=payment.payment_id, provider=payment.provider, event_type=payment.event_type, outcome="applied",
        invoice_id=invoice.invoice_id, amount_cents=payment.amount_cents, currency=payment.currency,
        provider_reference=payment.reference, contract_id=contract.contract_id, command_id=command_id,
        received_at=utc_iso(now))
    new_state = next_state(contract.status, ContractEvent.PAYMENT_RECEIVED)
    cid, actor = contract.customer_id, payment.actor
    common = dict(correlation_id=correlation_id, contract_id=contract.contract_id, order_id=invoice.order_id)
    evidence = [
        state_change(cid, now, actor, "invoice", invoice.invoice_id, invoice.status, "paid",
                     payment_event_id=payment.payment_id, amount_cents=payment.amount_cents, **common),
        state_change(cid, now, actor, "order", invoice.order_id, "awaiting_payment", "paid", **common),
        state_change(cid, now, "system", "contract", contract.contract_id, contract.status, new_state.value,
                     node_id=node.node_id, **common),
        state_change(cid, now, "system", "node_command", command_id, None, "pending",
                     action="node_command.issued", type=command.type, node_id=node.node_id, **common),
    ]
    receipt = new_notice(
        notice_key=f"payment_received#{invoice.invoice_id}", customer_id=contract.customer_id,
        to=invoice.bill_to["email"], template="payment_received", now=now, correlation_id=correlation_id,
        contract_id=contract.contract_id,
        context={"invoice_number": invoice.number, "amount_cents": payment.amount_cents, "paid_at": now})
    # R04: at conclusion the customer's login gets its credentials (decided here, sent by mail).
    from .accounts import initial_credentials_notice
    credentials = initial_credentials_notice(contract, invoice.bill_to["email"], now, correlation_id)
    notices = [receipt] + ([credentials] if credentials is not None else [])
    # R37/R38: paid, the dossier is complete: the registration (or transfer-in) starts, in this write.
    from .domains import start_on_first_payment
    domain_start = Effect()
    start_on_first_payment(domain_start, contract, now, services)
    try:
        services.store.apply_first_payment(
            payment=payment_row, invoice_id=invoice.invoice_id, order_id=invoice.order_id,
            contract_id=contract.contract_id, node=node, quota_mb=quota, command=command_row, evidence=evidence,
            accepting_states=[st.value for st in states_accepting(ContractEvent.PAYMENT_RECEIVED)], now=now,
            notices=notices, extra=domain_start)
    except TransactionConflict as conflict:
        if "payment" in conflict.failed:
            return _resume_dispatch(payment.payment_id, services.store.get_contract(contract.contract_id), services,
                                    correlation_id)
        if "invoice" in conflict.failed:
            return _unapplied(payment, services, invoice, "duplicate_payment",
                              f"invoice {invoice.number} was paid by another event; payment {payment.reference} needs a refund")
        if "contract" in conflict.failed or "order" in conflict.failed:
            return _unapplied(payment, services, invoice, "contract_not_payable",
                              f"contract {contract.contract_id} cannot take a first payment; payment {payment.reference} "
                              "needs a refund or an operator decision")
        if "node" in conflict.failed:
            return "retry_placement"
        raise
    logger.info("payment applied", event_id=payment.payment_id, invoice_id=invoice.invoice_id,
                contract_id=contract.contract_id, node_id=node.node_id)
    dispatch(command_row, services, correlation_id)
    for notice in notices:
        queue_notice(notice, services)
    for follow_up in domain_start.after_commit:
        follow_up()
    return "applied"


def _invoice_and_contract(invoice_id: Optional[str], contract_id: Optional[str], services: Services
                          ) -> tuple[Optional[InvoiceModel], Optional[ContractModel]]:
    """The invoice named by the payment and its contract; (None, None) when they do not exist or
    the payment's contract is not the invoice's."""
    if not invoice_id:
        return None, None
    if contract_id:
        invoice, contract = services.store.get_invoice_and_contract(invoice_id, contract_id)
        if invoice is None or contract is None or invoice.contract_id != contract.contract_id:
            return None, None
        return invoice, contract
    invoice = services.store.get_invoice(invoice_id)
    return (invoice, services.store.get_contract(invoice.contract_id)) if invoice else (None, None)


def _invoice_paid(effect, payment: "ReceivedPayment", invoice: InvoiceModel, contract_id: str, now, *, outcome: str,
                  order_status: Optional[str], extra: Optional[list] = None) -> None:
    """R27: the event is recorded once (its id is the key) with the invoice it pays and its order's
    move, in the caller's one write."""
    from ..adapters.models import OrderModel
    at = utc_iso(now)
    effect.save("payment", PaymentModel(
        payment_event_id=payment.payment_id, provider=payment.provider, event_type=payment.event_type, outcome=outcome,
        invoice_id=invoice.invoice_id, amount_cents=payment.amount_cents, currency=payment.currency,
        provider_reference=payment.reference, contract_id=contract_id, received_at=at),
        PaymentModel.payment_event_id.does_not_exist())
    effect.update("invoice", InvoiceModel(invoice_id=invoice.invoice_id),
                  [InvoiceModel.status.set("paid"), InvoiceModel.paid_at.set(at),
                   InvoiceModel.payment_event_id.set(payment.payment_id), *(extra or [])], InvoiceModel.status == "issued")
    if order_status is not None:  # an order's first invoice moves the order; later invoices do not
        effect.update("order", OrderModel(order_id=invoice.order_id),
                      [OrderModel.status.set(order_status), OrderModel.updated_at.set(at)],
                      OrderModel.status == "awaiting_payment")


def _initial_unavailability(payment: "ReceivedPayment", services: Services, invoice: InvoiceModel, contract: ContractModel,
                            correlation_id: Optional[str]) -> str:
    """R15: no node can take the space: the order is cancelled without indemnity, the sum paid
    becomes a credit note (refund on request), the customer and operators are told, at once."""
    from ..adapters.dynamo_store import Effect
    from ..adapters.models import DomainModel
    from ..adapters.notice_store import NOTICE_IS_NEW
    from ..domain.billing import next_sequence_value
    from .lifecycle import set_status
    from .order_expiry import credit_note
    store, now = services.store, services.clock.now()
    actor = payment.actor
    last = store.last_invoice_sequence()
    note = credit_note(invoice, next_sequence_value(last), services.settings.invoice_number_prefix, now,
                       reason="initial_unavailability")
    effect = Effect()
    store.claim_sequence(effect, last, int(note.sequence), now)
    _invoice_paid(effect, payment, invoice, contract.contract_id, now, outcome="credited", order_status="cancelled",
                  extra=[InvoiceModel.credited_by.set(note.invoice_id)])
    effect.save("credit_note", note, InvoiceModel.invoice_id.does_not_exist())
    set_status(effect, "contract", contract, [ContractEvent.ORDER_CANCELLED], now, "system",
               reason="initial_unavailability", order_id=invoice.order_id)
    effect.delete("domain", DomainModel(domain_name=contract.domain_name),
                  DomainModel.contract_id == contract.contract_id)
    effect.save("alert", new_alert("initial_unavailability", f"no node could host {contract.storage_mb} MB: order "
                                   f"{invoice.order_id} cancelled, credit note {note.number}", now,
                                   contract_id=contract.contract_id, credit_note=note.number))
    common = dict(correlation_id=correlation_id, contract_id=contract.contract_id, order_id=invoice.order_id)
    effect.evidence += [
        state_change(contract.customer_id, now, actor, "invoice", invoice.invoice_id, invoice.status, "paid",
                     payment_event_id=payment.payment_id, amount_cents=payment.amount_cents, **common),
        state_change(contract.customer_id, now, "system", "order", invoice.order_id, "awaiting_payment",
                     "cancelled", reason="initial_unavailability", **common),
        state_change(contract.customer_id, now, "system", "credit_note", note.invoice_id, None, "issued",
                     action="credit_note.issued", number=note.number, total_cents=int(note.total_cents), **common)]
    notice = new_notice(
        notice_key=f"order_cancelled#{invoice.order_id}", customer_id=contract.customer_id,
        to=invoice.bill_to["email"], template="order_cancelled", now=now, correlation_id=correlation_id,
        contract_id=contract.contract_id,
        context={"domain": contract.domain_name, "order_id": invoice.order_id, "reason": "initial_unavailability",
                 "credit_note_number": note.number, "credit_cents": -int(note.total_cents)})
    effect.save("notice", notice, NOTICE_IS_NEW)
    try:
        store.apply(effect)
    except TransactionConflict as conflict:
        if "payment" in conflict.failed:
            return "duplicate"
        if "sequence" in conflict.failed:
            raise  # another number was taken meanwhile: the queue retries this event
        return _unapplied(payment, services, invoice, "contract_not_payable",
                          f"contract {contract.contract_id} changed meanwhile; payment {payment.reference} needs a decision")
    queue_notice(notice, services)
    logger.warning("initial unavailability: order cancelled", order_id=invoice.order_id, credit_note=note.number)
    return "credited"


def _apply_renewal_payment(payment: "ReceivedPayment", services: Services, invoice: InvoiceModel, renewal: ContractModel,
                           correlation_id: Optional[str]) -> str:
    """R18 + R27: a renewal is paid once; it needs no placement and no provisioning (same space)."""
    from ..adapters.dynamo_store import Effect
    from .renewal import renewal_payment_effect
    now = services.clock.now()
    old = services.store.get_contract(renewal.renews_contract_id)
    if old.status not in (ContractState.ACTIVE.value, ContractState.EXPIRED.value):
        return _unapplied(payment, services, invoice, "contract_not_payable",
                          f"renewal {renewal.contract_id} cannot start: contract {old.contract_id} is {old.status}; "
                          f"payment {payment.reference} needs a refund")
    actor = payment.actor
    effect = Effect()
    _invoice_paid(effect, payment, invoice, renewal.contract_id, now, outcome="applied", order_status="paid")
    common = dict(correlation_id=correlation_id, contract_id=renewal.contract_id, order_id=invoice.order_id)
    effect.evidence += [
        state_change(renewal.customer_id, now, actor, "invoice", invoice.invoice_id, invoice.status, "paid",
                     payment_event_id=payment.payment_id, amount_cents=payment.amount_cents, **common),
        state_change(renewal.customer_id, now, actor, "order", invoice.order_id, "awaiting_payment", "paid", **common)]
    renewal_payment_effect(effect, renewal, old, services, now)
    outcome = _receipt_and_commit(
        effect, payment, invoice, renewal.contract_id, services, now, correlation_id,
        {"service_restored": old.status == ContractState.EXPIRED.value},
        contract_changed=f"renewal {renewal.contract_id} changed meanwhile; payment {payment.reference} needs a decision")
    if outcome is not None:
        return outcome
    logger.info("renewal paid", event_id=payment.payment_id, contract_id=renewal.contract_id)
    return "applied"


def _resume_dispatch(event_id: str, contract: ContractModel, services: Services, correlation_id: Optional[str]) -> str:
    """A copy of an applied event: if the crash came before the send, send now."""
    command = services.store.get_command(contract.command_id) if contract.command_id else None
    if command is not None and command.status == "pending":
        dispatch(command, services, correlation_id)
    logger.info("payment event already applied", event_id=event_id)
    return "duplicate"


def _unapplied(payment: "ReceivedPayment", services: Services, invoice: Optional[InvoiceModel], outcome: str,
               message: str) -> str:
    """R27: a payment that activates nothing is still recorded, flagged and alerted, once."""
    now = services.clock.now()
    payment_row = PaymentModel(
        payment_event_id=payment.payment_id, provider=payment.provider, event_type=payment.event_type, outcome=outcome,
        invoice_id=payment.invoice_id, amount_cents=payment.amount_cents, currency=payment.currency,
        provider_reference=payment.reference, contract_id=invoice.contract_id if invoice else None, received_at=utc_iso(now))
    alert = new_alert(f"payment_{outcome}", message, now, payment_event_id=payment.payment_id,
                      invoice_id=payment.invoice_id)
    evidence = [] if invoice is None else [
        state_change(invoice.customer_id, now, payment.actor, "payment", payment.payment_id, None, outcome,
                     action=f"payment.{outcome}", amount_cents=payment.amount_cents, invoice_id=invoice.invoice_id,
                     contract_id=invoice.contract_id, order_id=invoice.order_id)]
    if not services.store.record_unapplied_payment(payment_row, alert, evidence):
        return "duplicate"
    logger.warning("payment not applied", event_id=payment.payment_id, outcome=outcome)
    return outcome
