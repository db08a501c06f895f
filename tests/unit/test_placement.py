"""Node placement (R31): a node with room for the quota, never a drained one."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import DomainError, NoCapacityError
from chalicelib.domain.placement import NodeCapacity, choose_node


def test_R31_the_only_node_with_room_is_chosen():
    nodes = [NodeCapacity("n1", 500), NodeCapacity("n2", 20_000)]
    assert choose_node(nodes, 10_240).node_id == "n2"


def test_R31_node_with_exactly_the_quota_free_fits():
    assert choose_node([NodeCapacity("n1", 10_240)], 10_240).node_id == "n1"


def test_R31_drained_node_is_skipped_even_with_the_most_room():
    nodes = [NodeCapacity("big", 1_000_000, drained=True), NodeCapacity("small", 20_000)]
    assert choose_node(nodes, 10_240).node_id == "small"


def test_R31_most_free_space_wins_among_fitting_nodes():
    nodes = [NodeCapacity("a", 30_000), NodeCapacity("b", 90_000), NodeCapacity("c", 60_000)]
    assert choose_node(nodes, 10_240).node_id == "b"


def test_R31_ties_go_to_the_smallest_node_id_whatever_the_input_order():
    nodes = [NodeCapacity("node-c", 50_000), NodeCapacity("node-a", 50_000), NodeCapacity("node-b", 50_000)]
    assert choose_node(nodes, 100).node_id == "node-a"
    assert choose_node(list(reversed(nodes)), 100).node_id == "node-a"


def test_R31_no_node_with_room_raises_no_capacity():
    with pytest.raises(NoCapacityError) as info:
        choose_node([NodeCapacity("n1", 100), NodeCapacity("n2", 200, drained=True)], 10_240)
    assert info.value.code == "no_node_capacity"
    assert info.value.details["quota_mb"] == 10_240
    assert isinstance(info.value, DomainError)


def test_R31_only_drained_nodes_raises_no_capacity():
    with pytest.raises(NoCapacityError):
        choose_node([NodeCapacity("n1", 10**9, drained=True)], 1)


def test_R31_empty_pool_raises_no_capacity():
    with pytest.raises(NoCapacityError):
        choose_node([], 1)


def test_R31_accepts_any_iterable_of_nodes():
    assert choose_node(iter([NodeCapacity("n1", 50)]), 10).node_id == "n1"


@pytest.mark.parametrize("quota", [0, -1])
def test_R31_non_positive_quota_is_refused(quota):
    with pytest.raises(ValueError):
        choose_node([NodeCapacity("n1", 100)], quota)


nodes_strategy = st.lists(
    st.builds(NodeCapacity, node_id=st.text("abcdef", min_size=1, max_size=4),
              free_mb=st.integers(min_value=0, max_value=1000), drained=st.booleans()),
    max_size=8)


@given(nodes=nodes_strategy, quota=st.integers(min_value=1, max_value=1000))
def test_R31_choice_is_a_fitting_undrained_node_with_no_fitting_node_having_more_room(nodes, quota):
    fitting = [n for n in nodes if not n.drained and n.free_mb >= quota]
    if not fitting:
        with pytest.raises(NoCapacityError):
            choose_node(nodes, quota)
        return
    chosen = choose_node(nodes, quota)
    assert chosen in fitting
    assert all(n.free_mb <= chosen.free_mb for n in fitting)
    assert chosen == choose_node(list(reversed(nodes)), quota)
