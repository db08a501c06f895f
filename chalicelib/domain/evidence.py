"""The evidence log (R56): who did what, when, to which entity, before/after."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional


@dataclass(frozen=True)
class EvidenceEntry:
    customer_id: str
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: Optional[dict[str, Any]] = None
    after: Optional[dict[str, Any]] = None
    correlation_id: Optional[str] = None
    contract_id: Optional[str] = None
    order_id: Optional[str] = None


def state_change(customer_id: str, at: datetime, actor: str, entity_type: str, entity_id: str,
                 before: Optional[str], after: str, *, action: Optional[str] = None,
                 correlation_id: Optional[str] = None, contract_id: Optional[str] = None,
                 order_id: Optional[str] = None, **extra: Any) -> EvidenceEntry:
    """R56: one entry for one state change of one entity."""
    return EvidenceEntry(
        customer_id=customer_id, at=at, actor=actor,
        action=action or f"{entity_type}.{after}", entity_type=entity_type, entity_id=entity_id,
        before=None if before is None else {"status": before},
        after={"status": after, **extra}, correlation_id=correlation_id,
        contract_id=contract_id, order_id=order_id)
