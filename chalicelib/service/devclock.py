"""Time travel in local mode: move the shared clock forward, then sweep the timers once."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ..bootstrap import Services
from ..domain.errors import InvalidInputError
from .timers import sweep


def target_time(body: dict[str, Any], now: datetime) -> datetime:
    """The instant asked for: now + an ISO 8601 duration, or an explicit zone-aware instant."""
    import isodate
    if set(body) == {"advance"} and isinstance(body["advance"], str):
        try:
            duration = isodate.parse_duration(body["advance"])
        except (isodate.ISO8601Error, ValueError):
            raise InvalidInputError(f"'{body['advance']}' is not an ISO 8601 duration such as P30D or PT2H",
                                    code="invalid_duration", fields={"advance": "ISO 8601 duration"}) from None
        return now + duration
    if set(body) == {"set"} and isinstance(body["set"], str):
        try:
            moment = datetime.fromisoformat(body["set"])
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise InvalidInputError("'set' needs an ISO 8601 instant with its offset, e.g. 2027-01-01T00:00:00+01:00",
                                    code="invalid_instant", fields={"set": "ISO 8601 with offset"})
        return moment
    raise InvalidInputError("send exactly one of {\"advance\": \"P30D\"} or {\"set\": \"<ISO 8601 with offset>\"}",
                            code="invalid_clock_move")


def move_clock(body: dict[str, Any], services: Services) -> dict[str, Any]:
    clock = services.clock
    target = target_time(body, clock.now())
    if target < clock.now():
        raise InvalidInputError("the clock only moves forward", code="clock_backwards", fields={"set": "in the past"})
    now = clock.move_to(target)
    return {"now": now.isoformat(), "timers_sent": sweep(services)}
