"""Contract lifecycle transition table (R10 payment concludes, R30 provisioning never a silent success)."""
from __future__ import annotations

from itertools import product

import pytest

from chalicelib.domain.contracts import ContractEvent as E
from chalicelib.domain.contracts import ContractState as S
from chalicelib.domain.contracts import next_state, states_accepting
from chalicelib.domain.errors import DomainError, IllegalTransitionError

# The lifecycle as the rules describe it, written out by hand.
EXPECTED = {
    (S.AWAITING_PAYMENT, E.PAYMENT_RECEIVED): S.PROVISIONING,          # R10: first invoice paid
    (S.AWAITING_PAYMENT, E.ORDER_CANCELLED): S.CANCELLED,
    (S.PROVISIONING, E.SPACE_PROVISIONED): S.ACTIVE,                    # R30: node confirmed
    (S.PROVISIONING, E.PROVISIONING_FAILED): S.PROVISIONING_FAILED,     # R30: dead-letter
    (S.PROVISIONING_FAILED, E.PROVISIONING_RETRIED): S.PROVISIONING,
    (S.PROVISIONING_FAILED, E.SPACE_PROVISIONED): S.ACTIVE,             # late success: the node is the truth
    (S.ACTIVE, E.CONTRACT_ENDED): S.EXPIRED,                            # R16 no tacit renewal, R19 suspended
    (S.EXPIRED, E.DATA_DELETED): S.DATA_DELETED,                        # R20 deletion confirmed by the node
    (S.AWAITING_PAYMENT, E.RENEWAL_PAID): S.SCHEDULED,                  # R18 renewal paid in advance
    (S.SCHEDULED, E.RENEWAL_STARTED): S.ACTIVE,                         # R18 starts at the old end date
    (S.ACTIVE, E.REPLACED_BY_RENEWAL): S.RENEWED,                       # R18 no gap
    (S.EXPIRED, E.REPLACED_BY_RENEWAL): S.RENEWED,                      # R18 paid late, data still there
    (S.SCHEDULED, E.ORDER_CANCELLED): S.CANCELLED,
    # R23 holds: the status shows the strongest open hold.
    (S.ACTIVE, E.RESTRICTED): S.RESTRICTED,
    (S.SUSPENDED, E.RESTRICTED): S.RESTRICTED,
    (S.ACTIVE, E.SUSPENDED): S.SUSPENDED,
    (S.RESTRICTED, E.SUSPENDED): S.SUSPENDED,
    (S.RESTRICTED, E.HOLDS_LIFTED): S.ACTIVE,
    (S.SUSPENDED, E.HOLDS_LIFTED): S.ACTIVE,
    (S.RESTRICTED, E.CONTRACT_ENDED): S.EXPIRED,                        # R19 ends even under a hold
    (S.SUSPENDED, E.CONTRACT_ENDED): S.EXPIRED,
    (S.SUSPENDED, E.TERMINATED_FOR_DEFAULT): S.TERMINATED,              # R26 persistent default
    (S.TERMINATED, E.DATA_DELETED): S.DATA_DELETED,                     # R20 after termination too
    (S.AWAITING_PAYMENT, E.WITHDRAWN): S.WITHDRAWN,                     # R13 withdrawal
    (S.PROVISIONING, E.WITHDRAWN): S.WITHDRAWN,
    (S.PROVISIONING_FAILED, E.WITHDRAWN): S.WITHDRAWN,
    (S.ACTIVE, E.WITHDRAWN): S.WITHDRAWN,
    (S.AWAITING_PAYMENT, E.FOUND_IRREGULAR): S.VOID,                    # R11 irregular -> void
    (S.VOID, E.REGULARISED): S.AWAITING_PAYMENT,                        # R11 regularised
    (S.VOID, E.ORDER_CANCELLED): S.CANCELLED,
    # R37/R38: cancelled on the customer's request after the domain's registration/transfer failed
    (S.PROVISIONING, E.DOMAIN_FAILURE_CANCELLED): S.CANCELLED,
    (S.PROVISIONING_FAILED, E.DOMAIN_FAILURE_CANCELLED): S.CANCELLED,
    (S.ACTIVE, E.DOMAIN_FAILURE_CANCELLED): S.CANCELLED,
    (S.RESTRICTED, E.DOMAIN_FAILURE_CANCELLED): S.CANCELLED,
    (S.SUSPENDED, E.DOMAIN_FAILURE_CANCELLED): S.CANCELLED,
}
ALL_PAIRS = list(product(S, E))
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in EXPECTED]


@pytest.mark.parametrize("state, event", list(EXPECTED), ids=lambda v: v.value)
def test_R30_legal_move_reaches_its_target_state(state, event):
    assert next_state(state, event) is EXPECTED[(state, event)]


@pytest.mark.parametrize("state, event", list(EXPECTED), ids=lambda v: v.value)
def test_R30_legal_move_also_accepts_plain_strings(state, event):
    assert next_state(state.value, event.value) is EXPECTED[(state, event)]


@pytest.mark.parametrize("state, event", ILLEGAL, ids=lambda v: v.value)
def test_R30_every_move_not_in_the_table_raises_naming_state_and_event(state, event):
    with pytest.raises(IllegalTransitionError) as info:
        next_state(state, event)
    error = info.value
    assert error.state == state.value
    assert error.event == event.value
    assert error.entity == "contract"
    assert error.code == "illegal_transition"
    assert state.value in str(error) and event.value in str(error)


def test_R30_the_table_covers_every_pair_either_as_a_move_or_as_a_refusal():
    assert len(EXPECTED) + len(ILLEGAL) == len(S) * len(E)
    assert len(ILLEGAL) > 0


@pytest.mark.parametrize("state, event", [
    ("paid", "payment_received"),
    ("awaiting_payment", "refund_issued"),
    ("", ""),
    ("ACTIVE", "space_provisioned"),
])
def test_R30_unknown_state_or_event_strings_raise_illegal_transition(state, event):
    with pytest.raises(IllegalTransitionError) as info:
        next_state(state, event)
    assert info.value.state == state
    assert info.value.event == event
    assert isinstance(info.value, DomainError)


@pytest.mark.parametrize("terminal", [S.CANCELLED, S.DATA_DELETED, S.RENEWED])
def test_R20_cancelled_and_deleted_contracts_take_no_lifecycle_event(terminal):
    for event in E:
        with pytest.raises(IllegalTransitionError):
            next_state(terminal, event)


def test_R16_R19_an_active_contract_only_ends_it_is_never_renewed_tacitly():
    assert {event for event in E if (S.ACTIVE, event) in EXPECTED} == {
        E.CONTRACT_ENDED, E.REPLACED_BY_RENEWAL, E.RESTRICTED, E.SUSPENDED, E.WITHDRAWN, E.DOMAIN_FAILURE_CANCELLED}
    assert next_state(S.ACTIVE, E.CONTRACT_ENDED) is S.EXPIRED
    # R16: nothing moves an active contract into a new term by itself.
    assert all(EXPECTED[(S.ACTIVE, event)] not in (S.ACTIVE, S.SCHEDULED) for event in E if (S.ACTIVE, event) in EXPECTED)


def test_R30_R18_a_contract_becomes_active_only_on_the_nodes_confirmation_or_as_a_paid_renewal():
    """A new space is active once the node confirms (R30); a renewal takes over the existing space
    without re-provisioning, and only once paid (R18)."""
    for state, event in EXPECTED:
        if EXPECTED[(state, event)] is S.ACTIVE:
            assert (event is E.SPACE_PROVISIONED) or (state, event) == (S.SCHEDULED, E.RENEWAL_STARTED) or (
                event is E.HOLDS_LIFTED and state in (S.RESTRICTED, S.SUSPENDED))  # R23: the space already exists


def test_R10_an_unpaid_contract_is_never_provisioned_or_active():
    with pytest.raises(IllegalTransitionError):
        next_state(S.AWAITING_PAYMENT, E.SPACE_PROVISIONED)
    with pytest.raises(IllegalTransitionError):
        next_state(S.AWAITING_PAYMENT, E.PROVISIONING_RETRIED)


@pytest.mark.parametrize("event, states", [
    (E.PAYMENT_RECEIVED, {S.AWAITING_PAYMENT}),
    (E.ORDER_CANCELLED, {S.AWAITING_PAYMENT, S.SCHEDULED, S.VOID}),  # R14: a void order also expires
    (E.SPACE_PROVISIONED, {S.PROVISIONING, S.PROVISIONING_FAILED}),
    (E.PROVISIONING_FAILED, {S.PROVISIONING}),
    (E.PROVISIONING_RETRIED, {S.PROVISIONING_FAILED}),
])
def test_R30_states_accepting_lists_every_state_where_the_event_is_legal(event, states):
    accepting = states_accepting(event)
    assert set(accepting) == states
    assert len(accepting) == len(set(accepting))


@pytest.mark.parametrize("event", list(E), ids=lambda v: v.value)
def test_R30_states_accepting_agrees_with_next_state(event):
    legal = set()
    for state in S:
        try:
            next_state(state, event)
            legal.add(state)
        except IllegalTransitionError:
            pass
    assert set(states_accepting(event)) == legal
