"""EventBridge schedule expressions, as the local event runner fires them.

rate(1 minute|hour|day) and rate(N minutes|hours|days) and cron(min hour day-of-month month day-of-week year),
fields with * ? , - / and, for day-of-week, 1-7 = SUN-SAT or names (AWS semantics). Times in UTC.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_DAY_NAMES = {n: i for i, n in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_MONTH_NAMES = {n: i for i, n in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP",
                                             "OCT", "NOV", "DEC"], start=1)}


def _number(token: str, low: int, high: int, names: dict[str, int]) -> int:
    value = names[token] if token in names else int(token)
    if not low <= value <= high:
        raise ValueError(f"{token} is outside {low}-{high}")
    return value


def _values(field: str, low: int, high: int, names: dict[str, int]) -> set[int] | None:
    """The set of allowed values, or None for any (* or ?). Out-of-range values are an error,
    as EventBridge refuses them (day-of-week 0 is not Sunday there: SUN is 1)."""
    if field in ("*", "?"):
        return None
    allowed: set[int] = set()
    for part in field.upper().split(","):
        base, _, step = part.partition("/")
        if base in ("*", ""):
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-")
            start, end = _number(a, low, high, names), _number(b, low, high, names)
        else:
            start = _number(base, low, high, names)
            end = high if step else start
        if step and int(step) <= 0:
            raise ValueError(f"step must be positive in {field}")
        allowed.update(range(start, end + 1, int(step) if step else 1))
    return allowed


@dataclass(frozen=True)
class Schedule:
    expression: str
    interval: timedelta | None = None
    fields: tuple | None = None

    @classmethod
    def parse(cls, expression: str) -> "Schedule":
        rate = _RATE.match(expression.strip())
        if rate:
            count, unit = int(rate.group(1)), rate.group(2).rstrip("s")
            if count <= 0:
                raise ValueError(f"rate must be positive: {expression}")
            if (count == 1) != (unit == rate.group(2)):
                raise ValueError(f"EventBridge wants 'rate(1 {unit})' or 'rate(N {unit}s)': {expression}")
            return cls(expression, interval=timedelta(seconds=count * _UNIT_SECONDS[unit]))
        cron = _CRON.match(expression.strip())
        if not cron or len(cron.group(1).split()) != 6:
            raise ValueError(f"not a schedule expression: {expression}")
        minute, hour, dom, month, dow, year = cron.group(1).split()
        if "?" not in (dom, dow):
            raise ValueError(f"{expression}: day-of-month or day-of-week must be '?' (EventBridge rule)")
        return cls(expression, fields=(_values(minute, 0, 59, {}), _values(hour, 0, 23, {}),
                                       _values(dom, 1, 31, {}), _values(month, 1, 12, _MONTH_NAMES),
                                       _values(dow, 1, 7, _DAY_NAMES), _values(year, 1970, 2199, {})))

    def matches(self, moment: datetime) -> bool:
        assert self.fields is not None
        m = moment.astimezone(timezone.utc)
        aws_dow = (m.isoweekday() % 7) + 1  # SUN=1 ... SAT=7
        return all(allowed is None or value in allowed for allowed, value in zip(
            self.fields, (m.minute, m.hour, m.day, m.month, aws_dow, m.year)))

    def next_after(self, moment: datetime) -> datetime:
        """The first firing time strictly after `moment`."""
        if self.interval is not None:
            return moment + self.interval
        candidate = moment.astimezone(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(366 * 24 * 60 * 5):
            if self.matches(candidate):
                return candidate
            candidate += timedelta(minutes=1)
        raise ValueError(f"{self.expression} never fires")
