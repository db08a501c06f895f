"""Schedules. No scheduled path scans a table: each queries an index of what is due."""
from __future__ import annotations

from chalice import Blueprint

from ..bootstrap import services
from ..observability import logger

bp = Blueprint(__name__)


@bp.schedule("rate(5 minutes)")
def redispatch_pending_commands(event):
    """R30: resend node commands still unanswered after the configured delay (outbox sweep)."""
    from ..service.provisioning import redispatch_pending
    count = redispatch_pending(services())
    logger.info("pending commands redispatched", count=count)
    return {"redispatched": count}


@bp.schedule("rate(5 minutes)")
def sweep_due_timers(event):
    """Send every due timer to the timers queue: a Query per day of the `due` index, never a scan."""
    from ..service.timers import sweep
    return {"sent": sweep(services())}


@bp.schedule("rate(5 minutes)")
def resend_unsent_notices(event):
    """R54: queue again notices stored but not sent (outbox sweep on a sparse index, never a scan)."""
    from ..service.notices import resend_unsent
    return {"queued": resend_unsent(services())}


@bp.schedule("rate(5 minutes)")
def poll_registries(event):
    """R37-R39: read every registry's message queue onto the registry-events queue (then ack).
    Registries answer registrations and transfers in minutes to days: five minutes is soon enough
    and keeps the fixed cost of the ticks with the other schedules (bench P4)."""
    from ..service.domains import poll_registries as poll
    return {"read": poll(services())}
