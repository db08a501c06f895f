"""Component states for GET /health."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..bootstrap import Services
from ..domain.calendar import parse_iso

EVENT_RUNNER = "event-runner"


def component_states(services: Services) -> tuple[dict[str, Any], bool]:
    """Each component 'up' or why not; ready when all are up. Nodes are up when their last
    heartbeat (through the results queue) is recent."""
    s, now = services.settings, services.clock.wall()
    stale = timedelta(seconds=s.node_heartbeat_stale_seconds)
    states: dict[str, Any] = {"api": "up"}
    try:
        nodes = services.store.nodes(s.node_pool)
        states["dynamodb"] = "up"
    except Exception as exc:  # health reports, it does not fail
        return {**states, "dynamodb": f"down: {type(exc).__name__}"}, False
    try:
        services.queues.url(s.queue_name("payment-events"))
        states["sqs"] = "up"
    except Exception as exc:
        states["sqs"] = f"down: {type(exc).__name__}"
    if s.local_mode:
        beat = services.store.heartbeat_of(EVENT_RUNNER)
        states["event_runner"] = "up" if beat and now - parse_iso(beat.updated_at) < stale else "waiting"
    states["nodes"] = {
        n.node_id: ("drained" if n.drained else "up") if n.last_seen_at and now - parse_iso(n.last_seen_at) < stale
        else "waiting" for n in nodes}
    ready = all(v == "up" for k, v in states.items() if k != "nodes") and bool(nodes) and all(
        v in ("up", "drained") for v in states["nodes"].values())
    return states, ready
