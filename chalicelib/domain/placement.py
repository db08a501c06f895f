"""Node placement (R31)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .errors import NoCapacityError


@dataclass(frozen=True)
class NodeCapacity:
    node_id: str
    free_mb: int
    drained: bool = False


def choose_node(nodes: Iterable[NodeCapacity], quota_mb: int) -> NodeCapacity:
    """R31: a node that is not drained and has room for the quota.

    Among those, the one with the most free space (spreads load); ties go to
    the smallest node id so the choice is deterministic.
    """
    if quota_mb <= 0:
        raise ValueError("quota must be positive")
    fitting = [n for n in nodes if not n.drained and n.free_mb >= quota_mb]
    if not fitting:
        raise NoCapacityError(f"no hosting node has {quota_mb} MB free", quota_mb=quota_mb)
    return min(fitting, key=lambda n: (-n.free_mb, n.node_id))
