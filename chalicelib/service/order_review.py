"""Operator review of an order: irregular → void, regularisation (R11); frozen once verified (R12).

An order found irregular (a document turns out false, the identity does not match...) is void:
it cannot be paid or provisioned. The operator may regularise it with the customer: the corrected
data goes through the same verification as a new order (R01, R05, R09) and, if it passes, the
order is payable again. A void order that is not regularised expires with the offer (R14).
"""
from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date
from typing import Any, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict
from ..adapters.models import CustomerModel, OrderModel
from ..bootstrap import Services
from ..contracts.admin_v1 import RegularisationV1
from ..domain.calendar import paris_date, utc_iso
from ..domain.contracts import ContractEvent
from ..domain.errors import ConflictError, NotFoundError, RuleViolationError
from ..domain.evidence import state_change
from ..domain.orders import AddressInput, CustomerInput, verify_customer
from .lifecycle import add_notice, set_status

FROZEN_MESSAGE = ("a verified order can no longer be modified or cancelled (R12); a consumer may still withdraw "
                  "within 14 days: POST /orders/{order_id}/withdrawal")


def _order_and_contract(order_id: str, services: Services):
    order = services.store.get_order(order_id)
    if order is None:
        raise NotFoundError(f"no order {order_id}", code="order_not_found")
    return order, services.store.get_contract(order.contract_id)


def mark_irregular(order_id: str, reason: str, services: Services, *, operator: str,
                   correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R11: the order is void (not payable, nothing provided); the customer is told what is wrong."""
    order, contract = _order_and_contract(order_id, services)
    if order.status == "void":
        return {"order_id": order_id, "status": "void", "contract_status": contract.status}
    if order.status != "awaiting_payment":
        raise RuleViolationError(f"order {order_id} is {order.status}: only an order not yet paid can be declared "
                                 "irregular (a paid one is handled as a contract matter)", code="order_not_reviewable")
    now, actor, effect = services.clock.now(), f"operator:{operator}", Effect()
    effect.update("order", OrderModel(order_id=order_id),
                  [OrderModel.status.set("void"), OrderModel.updated_at.set(utc_iso(now))],
                  OrderModel.status == "awaiting_payment")
    effect.evidence.append(state_change(order.customer_id, now, actor, "order", order_id, order.status, "void",
                                        action="order.found_irregular", reason=reason, correlation_id=correlation_id,
                                        contract_id=contract.contract_id, order_id=order_id))
    state = set_status(effect, "contract", contract, [ContractEvent.FOUND_IRREGULAR], now, actor, reason=reason)
    add_notice(effect, services, key=f"order_irregular#{order_id}#{now.timestamp():.0f}", contract=contract,
               template="order_irregular", now=now,
               context={"order_id": order_id, "domain": contract.domain_name, "reason": reason})
    try:
        services.store.apply(effect)
    except TransactionConflict:
        raise ConflictError("the order changed meanwhile (paid?); read it again", code="order_changed") from None
    for follow_up in effect.after_commit:
        follow_up()
    return {"order_id": order_id, "status": "void", "contract_status": state.value}


def _corrected(stored: CustomerModel, body: RegularisationV1) -> CustomerInput:
    """The stored customer with the agreed corrections applied, as verification reads it."""
    c = body.customer
    address = c.address.model_dump() if c.address else stored.address
    current = CustomerInput(
        kind=stored.kind, email=stored.email, phone=stored.phone, address=AddressInput(**address),
        legal_name=stored.legal_name, first_name=stored.first_name, last_name=stored.last_name, siren=stored.siren,
        siret=stored.siret, vat_number=stored.vat_number,
        birth_date=date.fromisoformat(stored.birth_date) if stored.birth_date else None,
        parental_authorisation_ref=stored.parental_authorisation_ref)
    changes = {k: v for k, v in c.model_dump(exclude_unset=True).items()
               if k not in ("address", "parental_authorisation")}
    if c.parental_authorisation is not None:
        changes["parental_authorisation_ref"] = c.parental_authorisation.document_ref
    return replace(current, **changes)


def regularise(order_id: str, body: RegularisationV1, services: Services, *, operator: str,
               correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R11: re-run verification on the corrected data; if it passes the order is payable again
    and the customer record is rectified (R02), with before/after in the evidence log (R56).
    If it still fails, the verification's error is returned and nothing changes."""
    order, contract = _order_and_contract(order_id, services)
    if order.status != "void":
        raise RuleViolationError(f"order {order_id} is {order.status}: only a void order is regularised",
                                 code="order_not_void")
    now, actor = services.clock.now(), f"operator:{operator}"
    stored = services.store.get_customer(order.customer_id)
    verified = verify_customer(_corrected(stored, body), paris_date(now))
    after = {k: v for k, v in asdict(verified).items() if k not in ("kind", "email")}
    after["address"] = asdict(verified.address)
    after["birth_date"] = verified.birth_date.isoformat() if verified.birth_date else None
    before = {k: (stored.address if k == "address" else getattr(stored, k)) for k in after}
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    effect = Effect()
    if changed:
        effect.update("customer", CustomerModel(customer_id=stored.customer_id),
                      [getattr(CustomerModel, k).set(v) for k, v in changed.items()],
                      CustomerModel.customer_id.exists())
    effect.update("order", OrderModel(order_id=order_id),
                  [OrderModel.status.set("awaiting_payment"), OrderModel.updated_at.set(utc_iso(now))],
                  OrderModel.status == "void")
    common = dict(correlation_id=correlation_id, contract_id=contract.contract_id, order_id=order_id)
    effect.evidence += [
        state_change(order.customer_id, now, actor, "customer", stored.customer_id, "unverified", "verified",
                     action="customer.rectified", fields=sorted(changed), previous={k: before[k] for k in changed},
                     **common),
        state_change(order.customer_id, now, actor, "order", order_id, "void", "awaiting_payment",
                     action="order.regularised", note=body.note, **common)]
    state = set_status(effect, "contract", contract, [ContractEvent.REGULARISED], now, actor, note=body.note)
    try:
        services.store.apply(effect)
    except TransactionConflict:
        raise ConflictError("the order changed meanwhile; read it again", code="order_changed") from None
    return {"order_id": order_id, "status": "awaiting_payment", "contract_status": state.value,
            "rectified": sorted(changed)}
