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
    RESTRICTED = "restricted"      # R23 (and R49): in force, served, but limited while a hold of that level lasts
    SUSPENDED = "suspended"        # R23/R26 (and R49, R03): in force, site answers 503, data kept
    TERMINATED = "terminated"      # R26: ended early at the customer's fault; data deleted after retention (R20)
    WITHDRAWN = "withdrawn"        # R13: the consumer withdrew; the space is deprovisioned, sums refunded
    VOID = "void"                  # R11: the order was found irregular; an operator may regularise it


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
    RESTRICTED = "restricted"                      # R23: the strongest open hold is a restriction
    SUSPENDED = "suspended"                        # R23: the strongest open hold is a suspension
    HOLDS_LIFTED = "holds_lifted"                  # R23: no hold left (e.g. the overdue invoice was paid)
    TERMINATED_FOR_DEFAULT = "terminated_for_default"  # R26: default persisting after suspension
    WITHDRAWN = "withdrawn"                        # R13: consumer withdrawal within the window, before first use
    FOUND_IRREGULAR = "found_irregular"            # R11: the order is void
    REGULARISED = "regularised"                    # R11: verification re-run and passed
    DOMAIN_FAILURE_CANCELLED = "domain_failure_cancelled"  # R37/R38: cancelled on request after the domain failed


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
    # R23 holds: the status shows the strongest open hold (see `apply_hold`); lifting one reason
    # never lifts another (a suspension for abuse outlives the payment of an overdue invoice).
    (S.ACTIVE, E.RESTRICTED): S.RESTRICTED,
    (S.SUSPENDED, E.RESTRICTED): S.RESTRICTED,
    (S.ACTIVE, E.SUSPENDED): S.SUSPENDED,
    (S.RESTRICTED, E.SUSPENDED): S.SUSPENDED,
    (S.RESTRICTED, E.HOLDS_LIFTED): S.ACTIVE,
    (S.SUSPENDED, E.HOLDS_LIFTED): S.ACTIVE,
    # R19: a contract under a hold still ends at its end date.
    (S.RESTRICTED, E.CONTRACT_ENDED): S.EXPIRED,
    (S.SUSPENDED, E.CONTRACT_ENDED): S.EXPIRED,
    # R26: persistent default after suspension; R20 deletion follows after the retention period.
    (S.SUSPENDED, E.TERMINATED_FOR_DEFAULT): S.TERMINATED,
    (S.TERMINATED, E.DATA_DELETED): S.DATA_DELETED,
    # R13: withdrawal, whatever the provisioning stage, as long as the service was not used.
    (S.AWAITING_PAYMENT, E.WITHDRAWN): S.WITHDRAWN,
    (S.PROVISIONING, E.WITHDRAWN): S.WITHDRAWN,
    (S.PROVISIONING_FAILED, E.WITHDRAWN): S.WITHDRAWN,
    (S.ACTIVE, E.WITHDRAWN): S.WITHDRAWN,
    # R11: an irregular order is void until an operator regularises it (verification re-run).
    (S.AWAITING_PAYMENT, E.FOUND_IRREGULAR): S.VOID,
    (S.VOID, E.REGULARISED): S.AWAITING_PAYMENT,
    (S.VOID, E.ORDER_CANCELLED): S.CANCELLED,
    # R37/R38: a refused registration or a failed transfer: the order is cancelled if the customer asks.
    (S.PROVISIONING, E.DOMAIN_FAILURE_CANCELLED): S.CANCELLED,
    (S.PROVISIONING_FAILED, E.DOMAIN_FAILURE_CANCELLED): S.CANCELLED,
    (S.ACTIVE, E.DOMAIN_FAILURE_CANCELLED): S.CANCELLED,
    (S.RESTRICTED, E.DOMAIN_FAILURE_CANCELLED): S.CANCELLED,
    (S.SUSPENDED, E.DOMAIN_FAILURE_CANCELLED): S.CANCELLED,
}

IN_FORCE = (S.ACTIVE, S.RESTRICTED, S.SUSPENDED)  # the contract runs; holds may apply


class HoldReason(str, Enum):
    """Why a contract is restricted or suspended. Each reason is held and lifted on its own."""
    NON_PAYMENT = "non_payment"            # R23
    ABUSE = "abuse"                        # R49
    UNVERIFIED_IDENTITY = "unverified_identity"  # R03


class HoldLevel(str, Enum):
    RESTRICTED = "restricted"
    SUSPENDED = "suspended"


_LEVEL_RANK = {None: 0, HoldLevel.RESTRICTED: 1, HoldLevel.SUSPENDED: 2}
_STATE_FOR_LEVEL = {None: S.ACTIVE, HoldLevel.RESTRICTED: S.RESTRICTED, HoldLevel.SUSPENDED: S.SUSPENDED}
_EVENT_FOR_LEVEL = {None: E.HOLDS_LIFTED, HoldLevel.RESTRICTED: E.RESTRICTED, HoldLevel.SUSPENDED: E.SUSPENDED}


def strongest_hold(holds: dict[str, str]) -> HoldLevel | None:
    """The level the node must apply: the strongest of all open holds (None: fully open)."""
    levels = [HoldLevel(level) for level in holds.values()]
    return max(levels, key=lambda level: _LEVEL_RANK[level]) if levels else None


def apply_hold(current: ContractState | str, holds: dict[str, str], reason: HoldReason | str,
               level: HoldLevel | str | None) -> tuple[ContractState, dict[str, str], ContractEvent | None]:
    """R23 (and R49/R03): set (`level`) or lift (None) the hold of one reason.

    Returns the new status, the new holds and the move of the transition table (None when the
    status does not change, e.g. a second reason joins at a lower level). Only a contract in
    force takes holds; lifting a reason that is not held changes nothing.
    """
    state, reason = ContractState(current), HoldReason(reason)
    if state not in IN_FORCE:
        raise IllegalTransitionError("contract", state.value, f"hold:{reason.value}")
    new_holds = dict(holds)
    if level is None:
        new_holds.pop(reason.value, None)
    else:
        new_holds[reason.value] = HoldLevel(level).value
    strongest = strongest_hold(new_holds)
    target = _STATE_FOR_LEVEL[strongest]
    if target == state:
        return state, new_holds, None
    event = _EVENT_FOR_LEVEL[strongest]
    return next_state(state, event), new_holds, event


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
