"""R57 no assignment (24.1-24.2): a contract moves to another customer only with an operator's
recorded approval. A customer can only ask; the request waits for an operator (alert)."""
from __future__ import annotations

from typing import Any, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict, TransactionContention, new_alert
from ..adapters.models import ContractModel, DomainModel
from ..bootstrap import Services
from ..domain.calendar import utc_iso
from ..domain.contracts import IN_FORCE
from ..domain.errors import ConflictError, NotFoundError
from ..domain.evidence import EvidenceEntry

AWAITING_OPERATOR_APPROVAL = "awaiting_operator_approval"
_IN_FORCE = tuple(state.value for state in IN_FORCE)


def assign_contract(contract_id: str, to_customer_id: str, *, reason: str, approval_reference: str,
                    services: Services, actor: str, correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R57: move a contract in force, and its domain name, to another customer, in one
    transaction, with the operator's approval recorded in both customers' evidence logs (R56).
    404 for an unknown contract or customer; 409 when the contract is not in force, already is
    the target's, or has a renewal order pending (the renewal is the assignor's own order)."""
    store, now = services.store, services.clock.now()
    contract = store.get_contract(contract_id)
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    target = store.get_customer(to_customer_id)
    if target is None:
        raise NotFoundError(f"no customer {to_customer_id}", code="customer_not_found",
                            fields={"to_customer_id": "an existing customer id"})
    if getattr(target, "erased_at", None):
        raise ConflictError(f"customer {to_customer_id} was erased (R07): it cannot take a contract",
                            code="customer_erased", fields={"to_customer_id": "an active customer"})
    from_customer_id = contract.customer_id
    if to_customer_id == from_customer_id:
        raise ConflictError(f"contract {contract_id} already belongs to customer {to_customer_id}",
                            code="same_customer", fields={"to_customer_id": "another customer than the holder"})
    if contract.status not in _IN_FORCE:
        raise ConflictError(f"contract {contract_id} is {contract.status}: only a contract in force "
                            f"({', '.join(_IN_FORCE)}) can be assigned", code="contract_not_in_force")
    if contract.renewal_contract_id:
        raise ConflictError(f"contract {contract_id} has a renewal order ({contract.renewal_contract_id}) placed by "
                            "its customer: assign the renewed contract once it has taken over",
                            code="renewal_pending")
    [domain] = store.get_together((DomainModel, contract.domain_name))
    at = utc_iso(now)
    effect = Effect()
    effect.update("contract", ContractModel(contract_id=contract_id),
                  [ContractModel.customer_id.set(to_customer_id), ContractModel.updated_at.set(at)],
                  (ContractModel.customer_id == from_customer_id) & ContractModel.status.is_in(*_IN_FORCE)
                  & ContractModel.renewal_contract_id.does_not_exist())
    domain_moves = domain is not None and domain.contract_id == contract_id and domain.customer_id == from_customer_id
    if domain_moves:
        effect.update("domain", DomainModel(domain_name=contract.domain_name),
                      [DomainModel.customer_id.set(to_customer_id)],
                      (DomainModel.contract_id == contract_id) & (DomainModel.customer_id == from_customer_id))
    record = {"customer_id": to_customer_id, "from_customer_id": from_customer_id, "to_customer_id": to_customer_id,
              "approved_by": actor, "approval_reference": approval_reference, "reason": reason,
              "domain_name": contract.domain_name if domain_moves else None}
    for customer_id in (from_customer_id, to_customer_id):  # R56: in both customers' logs
        effect.evidence.append(EvidenceEntry(
            customer_id=customer_id, at=now, actor=actor, action="contract.assigned", entity_type="contract",
            entity_id=contract_id, before={"customer_id": from_customer_id, "status": contract.status},
            after={**record, "status": contract.status}, correlation_id=correlation_id, contract_id=contract_id))
    try:
        store.apply(effect)
    except (TransactionConflict, TransactionContention):
        raise ConflictError(f"contract {contract_id} changed while it was being assigned; read it again and retry",
                            code="contract_changed") from None
    return {"contract_id": contract_id, "status": contract.status, "from_customer_id": from_customer_id,
            "to_customer_id": to_customer_id, "domain_name": contract.domain_name, "domain_moved": domain_moves,
            "approval_reference": approval_reference, "approved_by": actor, "assigned_at": at}


def request_assignment(contract: ContractModel, *, transferee_name: str, transferee_email: str,
                       transferee_customer_id: Optional[str], reason: str, services: Services, actor: str,
                       correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R57 (24.2): a customer cannot assign its contract; its request is recorded (evidence) and
    an operator is alerted, in one write. The contract does not move."""
    now = services.clock.now()
    if contract.status not in _IN_FORCE:
        raise ConflictError(f"contract {contract.contract_id} is {contract.status}: only a contract in force can be "
                            "assigned", code="contract_not_in_force")
    transferee = {"name": transferee_name, "email": transferee_email, "customer_id": transferee_customer_id}
    alert = new_alert("assignment_request",
                      f"R57: customer {contract.customer_id} asks to assign contract {contract.contract_id} "
                      f"({contract.domain_name}) to {transferee_name} <{transferee_email}>: {reason}. Only an "
                      f"operator's approval moves it: POST /admin/contracts/{contract.contract_id}/assignment",
                      now, contract_id=contract.contract_id, customer_id=contract.customer_id, transferee=transferee,
                      reason=reason)
    effect = Effect().save("alert", alert)
    effect.evidence.append(EvidenceEntry(
        customer_id=contract.customer_id, at=now, actor=actor, action="contract.assignment_requested",
        entity_type="contract", entity_id=contract.contract_id, before={"customer_id": contract.customer_id},
        after={"status": AWAITING_OPERATOR_APPROVAL, "transferee": transferee, "reason": reason,
               "request_id": alert.alert_id}, correlation_id=correlation_id, contract_id=contract.contract_id))
    services.store.apply(effect)
    return {"status": AWAITING_OPERATOR_APPROVAL, "contract_id": contract.contract_id, "request_id": alert.alert_id,
            "requested_at": utc_iso(now)}
