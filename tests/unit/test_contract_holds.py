"""R23 holds on a contract in force: restriction, suspension, lifting one reason at a time."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.contracts import ContractEvent as E
from chalicelib.domain.contracts import ContractState as S
from chalicelib.domain.contracts import HoldLevel, HoldReason, apply_hold, strongest_hold
from chalicelib.domain.errors import IllegalTransitionError


def test_R23_overdue_restricts_then_suspends_then_payment_lifts():
    state, holds, event = apply_hold(S.ACTIVE, {}, HoldReason.NON_PAYMENT, HoldLevel.RESTRICTED)
    assert (state, holds, event) == (S.RESTRICTED, {"non_payment": "restricted"}, E.RESTRICTED)
    state, holds, event = apply_hold(state, holds, HoldReason.NON_PAYMENT, HoldLevel.SUSPENDED)
    assert (state, holds, event) == (S.SUSPENDED, {"non_payment": "suspended"}, E.SUSPENDED)
    state, holds, event = apply_hold(state, holds, HoldReason.NON_PAYMENT, None)
    assert (state, holds, event) == (S.ACTIVE, {}, E.HOLDS_LIFTED)


def test_R23_paying_lifts_non_payment_but_not_an_abuse_suspension():
    state, holds, _ = apply_hold(S.RESTRICTED, {"non_payment": "restricted"}, HoldReason.ABUSE, HoldLevel.SUSPENDED)
    assert state is S.SUSPENDED
    state, holds, event = apply_hold(state, holds, HoldReason.NON_PAYMENT, None)
    assert (state, holds, event) == (S.SUSPENDED, {"abuse": "suspended"}, None)


def test_R23_lifting_a_suspension_leaves_the_other_reasons_restriction():
    state, holds, event = apply_hold(S.SUSPENDED, {"non_payment": "restricted", "abuse": "suspended"},
                                     HoldReason.ABUSE, None)
    assert (state, holds, event) == (S.RESTRICTED, {"non_payment": "restricted"}, E.RESTRICTED)


@pytest.mark.parametrize("state", [S.AWAITING_PAYMENT, S.EXPIRED, S.WITHDRAWN, S.DATA_DELETED, S.TERMINATED])
def test_R23_only_a_contract_in_force_takes_a_hold(state):
    with pytest.raises(IllegalTransitionError):
        apply_hold(state, {}, HoldReason.NON_PAYMENT, HoldLevel.RESTRICTED)


changes = st.lists(st.tuples(st.sampled_from(list(HoldReason)), st.sampled_from([None, *HoldLevel])), max_size=12)


@given(changes)
def test_R23_status_always_shows_the_strongest_open_hold_and_each_reason_is_independent(steps):
    state, holds = S.ACTIVE, {}
    expected: dict[str, str] = {}
    for reason, level in steps:
        state, holds, event = apply_hold(state, holds, reason, level)
        if level is None:
            expected.pop(reason.value, None)
        else:
            expected[reason.value] = level.value
        assert holds == expected
        strongest = strongest_hold(holds)
        assert state == {None: S.ACTIVE, HoldLevel.RESTRICTED: S.RESTRICTED, HoldLevel.SUSPENDED: S.SUSPENDED}[strongest]
