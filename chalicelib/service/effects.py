"""Committing a use case's Effect: one transaction, then its after-commit sends (queues, mail)."""
from __future__ import annotations

from typing import Optional

from ..adapters.dynamo_store import Effect, TransactionConflict
from ..bootstrap import Services
from ..domain.errors import DomainError


def commit(effect: Effect, services: Services, conflict: Optional[DomainError] = None) -> None:
    """Apply `effect` in one transaction, then run its after-commit steps (only once it holds).
    A failed condition raises `conflict` (typically a 409 saying what changed meanwhile) when
    given, else the TransactionConflict naming the failed labels."""
    try:
        services.store.apply(effect)
    except TransactionConflict:
        if conflict is None:
            raise
        raise conflict from None
    for follow_up in effect.after_commit:
        follow_up()
