"""Contract lifecycle as a transition table.

Rule 1: a contract moves only along the table below; any other move raises
IllegalTransitionError naming the current state and the attempted event.
Rule 2 (R30): provisioning is never a silent success; a contract shows
`provisioning` until the node confirms, or `provisioning_failed`.
"""
from __future__ import annotations

from enum import Enum

from .errors import IllegalTransitionError


class ContractState(str, Enum):
    AWAITING_PAYMENT = "awaiting_payment"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    PROVISIONING_FAILED = "provisioning_failed"
    CANCELLED = "cancelled"
    SCHEDULED = "scheduled"        # R18: a paid renewal waiting for the old contract's end date
    RENEWED = "renewed"            # R18: ended and replaced by its renewal, with no gap
    EXPIRED = "expired"            # R19: ended without renewal; the space is suspended, data kept
    DATA_DELETED = "data_deleted"  # R20: the node confirmed the deletion of every hosted data


class ContractEvent(str, Enum):
    PAYMENT_RECEIVED = "payment_received"          # R10/R21: first invoice paid
    SPACE_PROVISIONED = "space_provisioned"        # R30: node confirmed
    PROVISIONING_FAILED = "provisioning_failed"    # R30: tries exhausted (dead-letter)
    PROVISIONING_RETRIED = "provisioning_retried"  # operator sends the command again
    ORDER_CANCELLED = "order_cancelled"
    CONTRACT_ENDED = "contract_ended"              # R16/R19: the end date passed without renewal
    RENEWAL_PAID = "renewal_paid"                  # R18: a renewal's invoice is paid
    REPLACED_BY_RENEWAL = "replaced_by_renewal"    # R18: the old contract hands over at its end
    RENEWAL_STARTED = "renewal_started"            # R18: the renewal takes over the same space
    DATA_DELETED = "data_deleted"                  # R20: deletion confirmed by the node


S, E = ContractState, ContractEvent

TRANSITIONS: dict[tuple[ContractState, ContractEvent], ContractState] = {
    (S.AWAITING_PAYMENT, E.PAYMENT_RECEIVED): S.PROVISIONING,
    (S.AWAITING_PAYMENT, E.ORDER_CANCELLED): S.CANCELLED,
    (S.PROVISIONING, E.SPACE_PROVISIONED): S.ACTIVE,
    (S.PROVISIONING, E.PROVISIONING_FAILED): S.PROVISIONING_FAILED,
    (S.PROVISIONING_FAILED, E.PROVISIONING_RETRIED): S.PROVISIONING,
    # A late success after the dead-letter verdict (an operator replayed it): the node is the truth.
    (S.PROVISIONING_FAILED, E.SPACE_PROVISIONED): S.ACTIVE,
    # R16: no tacit renewal; R19: at the end date an unrenewed contract is suspended.
    (S.ACTIVE, E.CONTRACT_ENDED): S.EXPIRED,
    # R18: a renewal is a new contract, paid in advance, starting at the old end date on the same space.
    (S.AWAITING_PAYMENT, E.RENEWAL_PAID): S.SCHEDULED,
    (S.SCHEDULED, E.RENEWAL_STARTED): S.ACTIVE,
    (S.ACTIVE, E.REPLACED_BY_RENEWAL): S.RENEWED,
    (S.EXPIRED, E.REPLACED_BY_RENEWAL): S.RENEWED,     # paid late, before the data was deleted
    (S.SCHEDULED, E.ORDER_CANCELLED): S.CANCELLED,
    # R20: after the retention period, deletion confirmed by the node (never on suspension alone).
    (S.EXPIRED, E.DATA_DELETED): S.DATA_DELETED,
}


def next_state(current: ContractState | str, event: ContractEvent | str) -> ContractState:
    """The state after `event`, or IllegalTransitionError if the table has no such move."""
    try:
        state, move = ContractState(current), ContractEvent(event)
    except ValueError:
        raise IllegalTransitionError("contract", str(current), str(event)) from None
    try:
        return TRANSITIONS[(state, move)]
    except KeyError:
        raise IllegalTransitionError("contract", state.value, move.value) from None


def states_accepting(event: ContractEvent) -> tuple[ContractState, ...]:
    """Every state from which `event` is a legal move (used as a write condition)."""
    return tuple(state for (state, move) in TRANSITIONS if move == event)
