"""Fixed-window rate limits (R04 login and credential reissue; public intake forms).

A counter per (what, who, window) in the `throttles` table, expired by DynamoDB's TTL. One
UpdateItem per counted request; the limit holds under concurrency (the count is atomic)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from ..adapters.models import ThrottleModel
from ..domain.errors import TooManyRequestsError


def _window(now: datetime, window: timedelta) -> tuple[int, int]:
    """(window start, seconds until its end), in epoch seconds."""
    size = int(window.total_seconds())
    start = int(now.timestamp()) // size * size
    return start, max(1, start + size - math.floor(now.timestamp()))


def _key(what: str, who: str, start: int) -> str:
    return f"{what}#{who}#{start}"


def count(what: str, who: str, *, now: datetime, window: timedelta) -> int:
    """How many were counted for `who` in the current window."""
    start, _ = _window(now, window)
    try:
        return int(ThrottleModel.get(_key(what, who, start), consistent_read=True).count)
    except ThrottleModel.DoesNotExist:
        return 0


def record(what: str, who: str, *, now: datetime, window: timedelta) -> int:
    """Count one for `who` in the current window; returns the new count."""
    start, _ = _window(now, window)
    item = ThrottleModel(throttle_key=_key(what, who, start))
    item.update(actions=[ThrottleModel.count.add(1),
                         ThrottleModel.expires_epoch.set(start + int(window.total_seconds()) + 3600)])
    return int(item.count)


def refuse_over(what: str, who: str, limit: int, *, now: datetime, window: timedelta, message: str) -> None:
    """Raise TooManyRequestsError (429 with Retry-After) when `who` reached `limit` this window."""
    if count(what, who, now=now, window=window) >= limit:
        raise TooManyRequestsError(message, retry_after=_window(now, window)[1])


def take(what: str, who: str, limit: int, *, now: datetime, window: timedelta, message: str) -> None:
    """Count one and raise TooManyRequestsError when that goes over `limit` this window."""
    if record(what, who, now=now, window=window) > limit:
        raise TooManyRequestsError(message, retry_after=_window(now, window)[1])
