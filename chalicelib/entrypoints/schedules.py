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
