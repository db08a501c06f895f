"""DynamoDB persistence: every multi-item effect is one conditional transaction.

The conditions carry the rules that must hold under concurrency: an event id
is applied once (R27), an invoice number is used once and in order (R22), a
contract moves only from the states its transition table allows, a node's
free space never goes negative (R31), evidence entries are never overwritten
(R56). A cancelled transaction changes nothing, so a crash or a retry at any
point resumes from a consistent state.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Optional, Sequence

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactGet, TransactWrite

from ..domain.calendar import utc_iso
from ..domain.evidence import EvidenceEntry
from .models import (AlertModel, ContractModel, CustomerModel, DomainModel, EvidenceModel, InvoiceModel,
                     MetaModel, NodeCommandModel, NodeModel, OrderModel, PaymentModel, TimerModel)

INVOICE_SEQUENCE = "invoice_sequence"
CLOCK_OFFSET = "clock_offset_seconds"
SWEEP_CURSOR = "timer_sweep_cursor"
NODE_CACHE_SECONDS = 30


class TransactionConflict(Exception):
    """A transaction was cancelled; `failed` names the labelled items whose condition failed."""

    def __init__(self, failed: set[str]) -> None:
        super().__init__(f"transaction cancelled by {sorted(failed)}")
        self.failed = failed


class TransactionContention(Exception):
    """DynamoDB cancelled the transaction because another one was writing the same items at that
    moment (reason TransactionConflict). Nothing was decided: try again later, never read it as a
    failed condition."""


class _Tx:
    """A TransactWrite whose items carry labels, so a cancellation says which condition failed.

    PynamoDB sends deletes, then puts, then updates whatever the call order, and DynamoDB reports
    cancellation reasons in request order, so labels are kept in that same order."""

    def __init__(self, connection: Connection) -> None:
        self._tx = TransactWrite(connection=connection)
        self._delete_labels: list[str] = []
        self._put_labels: list[str] = []
        self._update_labels: list[str] = []

    def save(self, label: str, model: Any, condition: Any = None) -> None:
        self._put_labels.append(label)
        self._tx.save(model, condition=condition)

    def update(self, label: str, model: Any, actions: list, condition: Any = None) -> None:
        self._update_labels.append(label)
        self._tx.update(model, actions=actions, condition=condition)

    def delete(self, label: str, model: Any, condition: Any = None) -> None:
        self._delete_labels.append(label)
        self._tx.delete(model, condition=condition)

    def commit(self) -> None:
        try:
            self._tx._commit()
        except TransactWriteError as exc:
            labels = self._delete_labels + self._put_labels + self._update_labels
            reasons = exc.cancellation_reasons or []
            codes = {label: reason.code for label, reason in zip(labels, reasons) if reason is not None}
            failed = {label for label, code in codes.items() if code == "ConditionalCheckFailed"}
            if failed:
                raise TransactionConflict(failed) from None
            if "TransactionConflict" in codes.values():
                raise TransactionContention(sorted(k for k, v in codes.items() if v == "TransactionConflict")) \
                    from None
            raise


@dataclass
class Effect:
    """The rows and moves of one use case, committed together by DynamoStore.apply."""
    saves: list = field(default_factory=list)     # (label, model, condition)
    updates: list = field(default_factory=list)   # (label, model, actions, condition)
    deletes: list = field(default_factory=list)   # (label, model, condition)
    evidence: list = field(default_factory=list)  # EvidenceEntry
    after_commit: list = field(default_factory=list)  # callables run once the write succeeded

    def save(self, label: str, model: Any, condition: Any = None) -> "Effect":
        self.saves.append((label, model, condition))
        return self

    def update(self, label: str, model: Any, actions: list, condition: Any = None) -> "Effect":
        self.updates.append((label, model, actions, condition))
        return self

    def delete(self, label: str, model: Any, condition: Any = None) -> "Effect":
        self.deletes.append((label, model, condition))
        return self


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _evidence_model(entry: EvidenceEntry, index: int) -> EvidenceModel:
    return EvidenceModel(
        customer_id=entry.customer_id,
        entry_id=f"{utc_iso(entry.at)}#{index:03d}#{uuid.uuid4().hex[:8]}",
        at=utc_iso(entry.at), actor=entry.actor, action=entry.action, entity_type=entry.entity_type,
        entity_id=entry.entity_id, before=entry.before, after=entry.after,
        correlation_id=entry.correlation_id, contract_id=entry.contract_id, order_id=entry.order_id)


def evidence_to_dict(item: EvidenceModel) -> dict[str, Any]:
    return {k: getattr(item, k) for k in ("entry_id", "at", "actor", "action", "entity_type", "entity_id",
                                           "before", "after", "correlation_id", "contract_id", "order_id")}


class DynamoStore:
    def __init__(self, region: str) -> None:
        self.region = region
        self._connection: Optional[Connection] = None
        self._node_cache: dict[str, tuple[float, list[NodeModel]]] = {}

    def _conn(self) -> Connection:
        if self._connection is None:  # one botocore client per process, made on first use
            self._connection = Connection(region=self.region)
        return self._connection

    def _tx(self) -> _Tx:
        return _Tx(self._conn())

    def _append_evidence(self, tx: _Tx, entries: Sequence[EvidenceEntry]) -> None:
        for i, entry in enumerate(entries):
            tx.save(f"evidence{i}", _evidence_model(entry, i),
                    condition=EvidenceModel.entry_id.does_not_exist())

    # ---- invoice sequence (R22) -------------------------------------------------
    def last_invoice_sequence(self) -> Optional[int]:
        try:
            item = MetaModel.get(INVOICE_SEQUENCE, consistent_read=True)
        except DoesNotExist:
            return None
        return int(item.value)

    @staticmethod
    def claim_sequence(tx: Any, last: Optional[int], value: int, now: datetime) -> None:
        """R22: the sequence moves from `last` to `value` in the same write as the invoice or credit
        note that takes the number, or not at all (`tx` is a transaction or an Effect)."""
        condition = (MetaModel.name.does_not_exist() if last is None else MetaModel.value == last)
        tx.update("sequence", MetaModel(name=INVOICE_SEQUENCE),
                  [MetaModel.value.set(value), MetaModel.updated_at.set(utc_iso(now))], condition)

    # ---- orders -----------------------------------------------------------------
    def insert_order(self, *, customer: CustomerModel, order: OrderModel, contract: ContractModel,
                     invoice: InvoiceModel, domain: DomainModel, last_sequence: Optional[int],
                     evidence: Sequence[EvidenceEntry], now: datetime, timers: Sequence[TimerModel] = (),
                     notices: Sequence[Any] = (), account: Any = None) -> None:
        """One transaction: customer, order with acceptance, contract, invoice and its number,
        domain claim (R34), the order's deadlines, its notices (R54), the customer's login (R04)
        and evidence (R56)."""
        tx = self._tx()
        self._stage_notices(tx, notices)
        for timer in timers:
            tx.save(f"timer:{timer.kind}", timer, condition=TimerModel.timer_id.does_not_exist())
        self.claim_sequence(tx, last_sequence, int(invoice.sequence), now)
        tx.save("order", order, condition=OrderModel.order_id.does_not_exist())
        tx.save("customer", customer, condition=CustomerModel.customer_id.does_not_exist())
        tx.save("contract", contract, condition=ContractModel.contract_id.does_not_exist())
        tx.save("invoice", invoice, condition=InvoiceModel.invoice_id.does_not_exist())
        tx.save("domain", domain, condition=DomainModel.domain_name.does_not_exist())
        if account is not None:
            tx.save("account", account, condition=type(account).login.does_not_exist())
        self._append_evidence(tx, evidence)
        tx.commit()

    def get_order(self, order_id: str) -> Optional[OrderModel]:
        return _get(OrderModel, order_id)

    def get_customer(self, customer_id: str) -> Optional[CustomerModel]:
        return _get(CustomerModel, customer_id)

    def get_contract(self, contract_id: str) -> Optional[ContractModel]:
        return _get(ContractModel, contract_id)

    def get_invoice(self, invoice_id: str) -> Optional[InvoiceModel]:
        return _get(InvoiceModel, invoice_id)

    def get_together(self, *keys: tuple[Any, Optional[str]]) -> list[Any]:
        """Several items by (model class, hash key) in one strongly consistent call (TransactGetItems);
        None for a key that is None or an item that does not exist."""
        wanted = [(model, key) for model, key in keys if key]
        if not wanted:
            return [None] * len(keys)
        with TransactGet(connection=self._conn()) as batch:
            futures = {(model, key): batch.get(model, key) for model, key in wanted}
        return [_resolved(futures[(model, key)]) if key else None for model, key in keys]

    def get_invoice_and_contract(self, invoice_id: str, contract_id: str
                                 ) -> tuple[Optional[InvoiceModel], Optional[ContractModel]]:
        invoice, contract = self.get_together((InvoiceModel, invoice_id), (ContractModel, contract_id))
        return invoice, contract

    def invoices_of_contract(self, contract_id: str) -> list[InvoiceModel]:
        """A contract's invoices and credit notes, oldest first (the `contract` index, eventually
        consistent: read an invoice again with get_invoice before relying on its status)."""
        return list(InvoiceModel.by_contract.query(contract_id))

    def get_payment(self, event_id: str) -> Optional[PaymentModel]:
        return _get(PaymentModel, event_id)

    def payments_by_reference(self, reference: str) -> list[PaymentModel]:
        """R27: every row of one provider payment (its PaymentIntent id or bank reference): the
        payment, refunds due on it, refunds recorded. A GSI read: eventually consistent."""
        return list(PaymentModel.by_reference.query(reference))

    def get_command(self, command_id: str) -> Optional[NodeCommandModel]:
        return _get(NodeCommandModel, command_id)

    def evidence_for(self, customer_id: str, *, contract_id: Optional[str] = None,
                     order_id: Optional[str] = None) -> list[dict[str, Any]]:
        condition = None
        if contract_id:
            condition = EvidenceModel.contract_id == contract_id
        if order_id:
            by_order = EvidenceModel.order_id == order_id
            condition = by_order if condition is None else (condition | by_order)
        return [evidence_to_dict(e) for e in EvidenceModel.query(customer_id, filter_condition=condition)]

    # ---- nodes (R31) ------------------------------------------------------------
    def nodes(self, pool: str) -> list[NodeModel]:
        return list(NodeModel.query(pool))

    def nodes_for_placement(self, pool: str, *, fresh: bool = False) -> list[NodeModel]:
        """R31: the pool's nodes, cached for a few seconds per process. A stale entry is harmless:
        the placement write is conditional on the node's current free space and drain flag, and a
        failed condition asks again with `fresh=True`."""
        cached = self._node_cache.get(pool)
        if fresh or cached is None or time.monotonic() - cached[0] > NODE_CACHE_SECONDS:
            cached = (time.monotonic(), self.nodes(pool))
            self._node_cache[pool] = cached
        return cached[1]

    def get_node(self, pool: str, node_id: str) -> Optional[NodeModel]:
        try:
            return NodeModel.get(pool, node_id)
        except DoesNotExist:
            return None

    def register_node(self, node: NodeModel) -> None:
        """Create a node, or update its address and queue while keeping its allocations."""
        existing = self.get_node(node.pool, node.node_id)
        if existing is None:
            node.save(condition=NodeModel.node_id.does_not_exist())
            return
        existing.update(actions=[NodeModel.queue_url.set(node.queue_url),
                                 NodeModel.http_address.set(node.http_address)])

    def node_seen(self, pool: str, node_id: str, at: datetime, http_address: Optional[str]) -> None:
        actions = [NodeModel.last_seen_at.set(utc_iso(at))]
        if http_address:
            actions.append(NodeModel.http_address.set(http_address))
        try:
            NodeModel(pool=pool, node_id=node_id).update(actions=actions,
                                                          condition=NodeModel.node_id.exists())
        except UpdateError as exc:  # an unregistered node's heartbeat changes nothing
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise

    # ---- payments (R27) ---------------------------------------------------------
    def record_unapplied_payment(self, payment: PaymentModel, alert: Optional[AlertModel],
                                 evidence: Sequence[EvidenceEntry]) -> bool:
        """Record a payment that changes no invoice (mismatch, unknown or duplicate invoice).
        Returns False when the event id was already recorded (a redelivery)."""
        tx = self._tx()
        tx.save("payment", payment, condition=PaymentModel.payment_event_id.does_not_exist())
        if alert is not None:
            tx.save("alert", alert)
        self._append_evidence(tx, evidence)
        try:
            tx.commit()
        except TransactionConflict as conflict:
            if "payment" in conflict.failed:
                return False
            raise
        return True

    def apply_first_payment(self, *, payment: PaymentModel, invoice_id: str, order_id: str,
                            contract_id: str, node: NodeModel, quota_mb: int, command: NodeCommandModel,
                            evidence: Sequence[EvidenceEntry], accepting_states: Iterable[str],
                            now: datetime, notices: Sequence[Any] = (), extra: Optional["Effect"] = None) -> None:
        """R27 + R10 + R31 + R30 in one transaction: the event is recorded once, the invoice paid,
        the order and contract moved, the node's space reserved and the command queued (outbox);
        `extra` adds its rows and moves (R37: the domain's registration operation and its timer).
        Raises TransactionConflict naming what failed: 'payment' (already applied), 'invoice'
        (already paid), 'contract' (not payable), 'node' (no longer fits)."""
        at = utc_iso(now)
        tx = self._tx()
        tx.save("payment", payment, condition=PaymentModel.payment_event_id.does_not_exist())
        tx.update("invoice", InvoiceModel(invoice_id=invoice_id),
                  actions=[InvoiceModel.status.set("paid"), InvoiceModel.paid_at.set(at),
                           InvoiceModel.payment_event_id.set(payment.payment_event_id)],
                  condition=InvoiceModel.status == "issued")
        tx.update("order", OrderModel(order_id=order_id),
                  actions=[OrderModel.status.set("paid"), OrderModel.updated_at.set(at)],
                  condition=OrderModel.status == "awaiting_payment")
        tx.update("contract", ContractModel(contract_id=contract_id),
                  actions=[ContractModel.status.set("provisioning"), ContractModel.node_id.set(node.node_id),
                           ContractModel.command_id.set(command.command_id), ContractModel.updated_at.set(at)],
                  condition=ContractModel.status.is_in(*accepting_states))
        tx.update("node", NodeModel(pool=node.pool, node_id=node.node_id),
                  actions=[NodeModel.free_mb.add(-quota_mb)],
                  condition=(NodeModel.free_mb >= quota_mb) & (NodeModel.drained == False))  # noqa: E712
        tx.save("command", command, condition=NodeCommandModel.command_id.does_not_exist())
        self._stage_notices(tx, notices)
        if extra is not None:
            for label, model, condition in extra.saves:
                tx.save(label, model, condition)
            for label, model, actions, condition in extra.updates:
                tx.update(label, model, actions, condition)
            evidence = [*evidence, *extra.evidence]
        self._append_evidence(tx, evidence)
        tx.commit()

    @staticmethod
    def _stage_notices(tx: _Tx, notices: Sequence[Any]) -> None:
        from .notice_store import NOTICE_IS_NEW
        for notice in notices:
            tx.save(f"notice:{notice.template}", notice, condition=NOTICE_IS_NEW)

    # ---- node command results (R30) ---------------------------------------------
    def complete_command(self, *, command: NodeCommandModel, contract_state: str,
                         accepting_states: Iterable[str], alert: Optional[AlertModel],
                         command_status: str, error: Optional[str],
                         evidence: Sequence[EvidenceEntry], now: datetime,
                         timers: Sequence[TimerModel] = (), notices: Sequence[Any] = ()) -> None:
        """A command's final verdict and the contract's move, together (with the notices it
        decides, R54). Conditions make a duplicate verdict a no-op: the command must still be
        pending (or failed, for a late success) and the contract must still point at this command."""
        at = utc_iso(now)
        tx = self._tx()
        actions = [NodeCommandModel.status.set(command_status), NodeCommandModel.completed_at.set(at),
                   NodeCommandModel.pending_pool.remove()]
        if error:
            actions.append(NodeCommandModel.last_error.set(error))
        tx.update("command", NodeCommandModel(command_id=command.command_id), actions=actions,
                  condition=NodeCommandModel.status.is_in(*({"pending", "failed"} - {command_status})))
        contract_actions = [ContractModel.status.set(contract_state), ContractModel.updated_at.set(at)]
        contract_actions.append(ContractModel.last_error.set(error) if error else ContractModel.last_error.remove())
        tx.update("contract", ContractModel(contract_id=command.contract_id), actions=contract_actions,
                  condition=ContractModel.status.is_in(*accepting_states)
                  & (ContractModel.command_id == command.command_id))
        if alert is not None:
            tx.save("alert", alert)
        for timer in timers:
            tx.save(f"timer:{timer.kind}", timer, condition=TimerModel.timer_id.does_not_exist())
        self._stage_notices(tx, notices)
        self._append_evidence(tx, evidence)
        tx.commit()

    def reissue_command(self, *, contract_id: str, previous_command_id: str, command: NodeCommandModel,
                        accepting_states: Iterable[str], evidence: Sequence[EvidenceEntry], now: datetime) -> None:
        """An operator retry: the contract points at a new pending command, in one write."""
        tx = self._tx()
        tx.update("contract", ContractModel(contract_id=contract_id),
                  actions=[ContractModel.status.set("provisioning"), ContractModel.command_id.set(command.command_id),
                           ContractModel.last_error.remove(), ContractModel.updated_at.set(utc_iso(now))],
                  condition=ContractModel.status.is_in(*accepting_states)
                  & (ContractModel.command_id == previous_command_id))
        tx.save("command", command, condition=NodeCommandModel.command_id.does_not_exist())
        self._append_evidence(tx, evidence)
        tx.commit()

    def record_command_attempt(self, command_id: str, attempt: int, error: str,
                               evidence: Sequence[EvidenceEntry]) -> None:
        """R30: a failed try is visible on the command (the contract stays `provisioning`)."""
        tx = self._tx()
        tx.update("command", NodeCommandModel(command_id=command_id),
                  actions=[NodeCommandModel.attempts.set(attempt), NodeCommandModel.last_error.set(error)],
                  condition=(NodeCommandModel.status == "pending") & (NodeCommandModel.attempts < attempt))
        self._append_evidence(tx, evidence)
        tx.commit()

    def pending_commands(self, pool: str, issued_before: datetime) -> list[NodeCommandModel]:
        return list(NodeCommandModel.pending.query(
            pool, NodeCommandModel.issued_at < utc_iso(issued_before)))

    def put_alert(self, alert: AlertModel) -> None:
        """Idempotent when the alert was made with an `alert_key` (same key, same row)."""
        alert.save()

    def open_alerts(self) -> list[dict[str, Any]]:
        return [{"alert_id": a.alert_id, "kind": a.kind, "message": a.message, "refs": a.refs,
                 "created_at": a.created_at} for a in AlertModel.query("open", scan_index_forward=False)]

    # ---- clock offset (local time travel) ---------------------------------------------
    def clock_offset_seconds(self) -> float:
        item = _get(MetaModel, CLOCK_OFFSET)
        return float(item.value) if item is not None and item.value is not None else 0.0

    def set_clock_offset_seconds(self, seconds: float, expected: float) -> None:
        """Conditional on the offset read before, so two concurrent moves cannot go backwards."""
        condition = MetaModel.name.does_not_exist() | (MetaModel.value == round(expected, 3))
        MetaModel(name=CLOCK_OFFSET).update(actions=[MetaModel.value.set(round(seconds, 3))],
                                            condition=condition)

    # ---- timers ---------------------------------------------------------------------------
    def timers_due(self, day: str, now: datetime) -> list[TimerModel]:
        """The pending timers of one UTC day that are due (sparse index: done timers are not in it)."""
        return list(TimerModel.due.query(day, TimerModel.due_at <= utc_iso(now)))

    def claim_timer(self, timer_id: str, now: datetime, lease_until: datetime) -> bool:
        """A sweep's claim: only one sweep sends a due timer within a lease; a timer whose handler
        did not finish is sent again after the lease (the handler's own write is conditional)."""
        try:
            TimerModel(timer_id=timer_id).update(
                actions=[TimerModel.lease_until.set(utc_iso(lease_until)), TimerModel.sends.add(1)],
                condition=(TimerModel.state == "pending")
                & (TimerModel.lease_until.does_not_exist() | (TimerModel.lease_until < utc_iso(now))))
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def get_timer(self, timer_id: str) -> Optional[TimerModel]:
        return _get(TimerModel, timer_id)

    def sweep_cursor(self) -> Optional[str]:
        item = _get(MetaModel, SWEEP_CURSOR)
        return item.text if item is not None else None

    def set_sweep_cursor(self, day: str, now: datetime) -> None:
        MetaModel(name=SWEEP_CURSOR, text=day, updated_at=utc_iso(now)).save()

    def apply(self, effect: "Effect") -> None:
        """Commit an effect built by a use case: every row and move in one transaction.
        Raises TransactionConflict naming the labels whose condition failed."""
        tx = self._tx()
        for label, model, condition in effect.saves:
            tx.save(label, model, condition)
        for label, model, actions, condition in effect.updates:
            tx.update(label, model, actions, condition)
        for label, model, condition in effect.deletes:
            tx.delete(label, model, condition)
        self._append_evidence(tx, effect.evidence)
        tx.commit()

    # ---- component heartbeats -----------------------------------------------------
    def heartbeat(self, component: str, at: datetime, detail: str = "") -> None:
        MetaModel(name=f"heartbeat#{component}", text=detail, updated_at=utc_iso(at)).save()

    def heartbeat_of(self, component: str) -> Optional[MetaModel]:
        return _get(MetaModel, f"heartbeat#{component}")


def new_alert(kind: str, message: str, now: datetime, alert_key: Optional[str] = None, **refs: Any) -> AlertModel:
    alert_id = alert_key or f"{utc_iso(now)}#{uuid.uuid4().hex[:8]}"
    return AlertModel(state="open", alert_id=alert_id, kind=kind,
                      message=message, refs=json.loads(json.dumps(refs, default=str)), created_at=utc_iso(now))


def _resolved(future: Any) -> Any:
    try:
        return future.get()
    except DoesNotExist:
        return None


def _get(model: Any, key: str) -> Any:
    try:
        return model.get(key, consistent_read=True)
    except DoesNotExist:
        return None

