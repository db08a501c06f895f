"""Clocks. Every component reads time through one injectable clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def wall(self) -> datetime:
        """Real time, for liveness (heartbeats), never moved by time travel."""
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock for tests: stands still until moved."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def wall(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta

    def move_to(self, moment: datetime) -> datetime:
        if moment < self.moment:
            raise ValueError("the clock only moves forward")
        self.moment = moment
        return self.moment


class OffsetClock:
    """Local mode's clock: real time plus an offset shared by every process through the meta
    table, so advancing it (POST /dev/clock) moves the API, the consumers and the timers together.
    The offset is read at most once per `ttl` seconds per process."""

    def __init__(self, store, ttl: float = 1.0) -> None:
        self.store, self.ttl = store, ttl
        self._offset = timedelta(0)
        self._read_at = float("-inf")

    def offset(self) -> timedelta:
        import time
        if time.monotonic() - self._read_at > self.ttl:
            self._offset = timedelta(seconds=self.store.clock_offset_seconds())
            self._read_at = time.monotonic()
        return self._offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset()

    def refresh(self) -> None:
        """Read the offset again at the next `now()` (another process just moved the clock)."""
        self._read_at = float("-inf")

    def wall(self) -> datetime:
        """Real time, for liveness (heartbeats): a jump of the business clock must not make a
        live component look stale."""
        return datetime.now(timezone.utc)

    def move_to(self, moment: datetime) -> datetime:
        """Forward only: time travel never goes back (deadlines already passed stay passed)."""
        seconds = (moment - datetime.now(timezone.utc)).total_seconds()
        current = self.store.clock_offset_seconds()
        if seconds < current:
            raise ValueError("the clock only moves forward")
        self.store.set_clock_offset_seconds(seconds, current)
        self._read_at = float("-inf")
        return self.now()
