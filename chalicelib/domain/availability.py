"""Availability of a hosting space (R44, 15.2-15.4) and force majeure (R50, 18.3): pure arithmetic.

A month's report for one contract:

- measured = the Paris calendar month ∩ the contract's life in force (active, restricted or
  suspended) ∩ up to now;
- downtime = the probes' failed runs: from the first failed probe of a run to the next successful
  probe (missing probes are unknown, never down: an outage starts at its first failed probe, and
  a run with no later success ends at its last failed probe);
- excluded, each period with its reason: announced maintenance windows, force majeure periods
  (R50), the contract's restrictions and suspensions, and the outages the customer did not report
  (15.3: downtime not covered by an incident the customer reported). Overlapping exclusions are
  merged, so no instant is ever excluded twice;
- counted downtime = downtime ∩ reported incidents, outside every other exclusion;
- availability = 1 − counted / (measured − excluded), a percentage rounded down to 3 decimals
  (rounding down never flatters the figure, and a figure shown at or above the target always
  means the exact one is), compared with the 99.8 % commitment.

Intervals are half-open [start, end) of zone-aware datetimes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Iterable, Optional, Sequence

from .calendar import PARIS, require_aware
from .errors import InvalidInputError

Interval = tuple[datetime, datetime]

MAINTENANCE, FORCE_MAJEURE, RESTRICTION, SUSPENSION, UNREPORTED = (
    "maintenance", "force_majeure", "restriction", "suspension", "unreported_outage")
EXCLUSION_REASONS = (MAINTENANCE, FORCE_MAJEURE, RESTRICTION, SUSPENSION, UNREPORTED)
IN_FORCE_STATUSES = ("active", "restricted", "suspended")
HELD_STATUSES = {"restricted": RESTRICTION, "suspended": SUSPENSION}
EARLIEST_YEAR, LATEST_YEAR = 2000, 2999  # outside these, a date is a typing error, not a period
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
PERCENT_PLACES = Decimal("0.001")


# ---- periods ------------------------------------------------------------------------------------

def month_bounds(month: str) -> Interval:
    """R44: a Paris calendar month 'YYYY-MM' as [its first day 00:00, the next month's first day
    00:00), Paris time (a DST month is an hour shorter or longer). InvalidInputError otherwise."""
    match = _MONTH.match(month or "")
    if not match or not EARLIEST_YEAR <= int(match.group(1)) <= LATEST_YEAR or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInputError(f"month must be YYYY-MM (years {EARLIEST_YEAR}-{LATEST_YEAR}), not {month!r}",
                                code="invalid_month", fields={"month": "expected YYYY-MM, e.g. 2026-12"})
    year, number = int(match.group(1)), int(match.group(2))
    first = date(year, number, 1)
    following = date(year + (number == 12), number % 12 + 1, 1)
    return (datetime.combine(first, datetime.min.time(), PARIS),
            datetime.combine(following, datetime.min.time(), PARIS))


def month_of(moment: datetime) -> str:
    """The Paris month 'YYYY-MM' an instant falls in."""
    paris = require_aware(moment).astimezone(PARIS)
    return f"{paris.year:04d}-{paris.month:02d}"


def check_period(start: datetime, end: Optional[datetime]) -> None:
    """A declared period (maintenance window, force majeure) is zone-aware, within sensible years
    and ends after it starts; InvalidInputError naming the field otherwise."""
    for name, moment in (("start", start), ("end", end)):
        if moment is None:
            continue
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InvalidInputError(f"{name} needs its UTC offset", code="invalid_period",
                                    fields={name: "an ISO 8601 instant with its offset"})
        if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise InvalidInputError(f"{name} is out of range", code="invalid_period",
                                    fields={name: f"a year from {EARLIEST_YEAR} to {LATEST_YEAR}"})
    if end is not None and end <= start:
        raise InvalidInputError("the period must end after it starts", code="invalid_period",
                                fields={"end": "later than start"})


# ---- interval arithmetic -------------------------------------------------------------------------

def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, non-empty intervals covering exactly what the given ones cover."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    a, b = merge(a), merge(b)
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """What of `a` is not in `b`."""
    b = merge(b)
    out = []
    for start, end in merge(a):
        cursor = start
        for b_start, b_end in b:
            if b_end <= cursor or b_start >= end:
                continue
            if b_start > cursor:
                out.append((cursor, b_start))
            cursor = max(cursor, b_end)
            if cursor >= end:
                break
        if cursor < end:
            out.append((cursor, end))
    return out


def total(intervals: Iterable[Interval]) -> timedelta:
    return sum((end - start for start, end in merge(intervals)), timedelta(0))


def seconds(duration: timedelta) -> Decimal:
    """Exact seconds of a duration (microseconds included)."""
    return Decimal(duration.days * 86400 + duration.seconds) + Decimal(duration.microseconds) / Decimal(1_000_000)


# ---- probes and the contract's history ------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    at: datetime
    up: bool


def downtime_intervals(probes: Sequence[Probe]) -> list[Interval]:
    """R44: each run of failed probes is down from its first failed probe to the next successful
    one; a run that no success follows ends at its last failed probe (what comes after is unknown,
    as is every stretch without probes)."""
    out: list[Interval] = []
    run_start: Optional[datetime] = None
    last_failed: Optional[datetime] = None
    for probe in sorted(probes, key=lambda p: p.at):
        if not probe.up:
            run_start = probe.at if run_start is None else run_start
            last_failed = probe.at
        elif run_start is not None:
            out.append((run_start, probe.at))
            run_start = None
    if run_start is not None and last_failed > run_start:
        out.append((run_start, last_failed))
    return merge(out)


def order_status_changes(changes: Sequence[tuple[datetime, Optional[str], str, Optional[str]]]
                         ) -> list[tuple[datetime, str, Optional[str]]]:
    """(instant, status before, status after, detail) in time order; changes logged at the same
    instant (one write, or writes within a millisecond) are chained by their `before`, so the
    status each ends with is the one the contract really reached."""
    ordered = sorted(changes, key=lambda change: change[0])
    out: list[tuple[datetime, str, Optional[str]]] = []
    current: Optional[str] = None
    i = 0
    while i < len(ordered):
        group = [c for c in ordered[i:] if c[0] == ordered[i][0]]
        i += len(group)
        while group:
            pick = next((c for c in group if c[1] == current), group[0])
            group.remove(pick)
            out.append((pick[0], pick[2], pick[3]))
            current = pick[2]
    return out


def status_periods(timeline: Sequence[tuple[datetime, str, Optional[str]]], until: datetime
                   ) -> list[tuple[datetime, datetime, str, Optional[str]]]:
    """The contract's statuses over time from its recorded changes (instant, new status, detail),
    in order; the last one lasts until `until`."""
    ordered = sorted(timeline, key=lambda change: change[0])
    periods = []
    for (at, status, detail), following in zip(ordered, ordered[1:] + [(until, None, None)]):
        end = min(following[0], until)
        if end > at:
            periods.append((at, end, status, detail))
    return periods


# ---- the report ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exclusion:
    """An excluded period and why: maintenance, force_majeure, restriction, suspension, unreported_outage.
    `end` None: still ongoing."""
    start: datetime
    end: Optional[datetime]
    reason: str
    ref: Optional[str] = None
    description: Optional[str] = None

    def interval(self, horizon: datetime) -> Interval:
        return self.start, (horizon if self.end is None else self.end)


@dataclass(frozen=True)
class AvailabilityReport:
    period: Interval
    measured: list[Interval]
    excluded: list[Exclusion]          # each excluded period clipped to what was measured, with its reason
    downtime: list[Interval]           # every failed run, within what was measured
    counted: list[Interval]            # downtime the customer reported, outside every other exclusion
    unreported: list[Interval]         # downtime not reported (15.3), outside every other exclusion
    measured_seconds: Decimal
    excluded_seconds: Decimal          # merged: an instant excluded for two reasons counts once
    counted_seconds: Decimal
    availability_percent: Optional[Decimal]   # None when nothing is left to measure
    observed_percent: Optional[Decimal]       # what the probes saw, every outage counted (15.3 aside)
    target_percent: Decimal
    meets_commitment: Optional[bool]
    notes: list[str] = field(default_factory=list)


def percent_up(down: timedelta, base: timedelta) -> Optional[Decimal]:
    """(1 − down / base) as a percentage rounded down to 3 decimals; None when base is empty."""
    if base <= timedelta(0):
        return None
    ratio = max(Decimal(0), min(Decimal(1), Decimal(1) - seconds(down) / seconds(base)))
    return (ratio * 100).quantize(PERCENT_PLACES, rounding=ROUND_DOWN)


def availability_report(*, period: Interval, in_force: Sequence[Interval], probes: Sequence[Probe],
                        exclusions: Sequence[Exclusion], reported: Sequence[Interval],
                        target_percent: Decimal) -> AvailabilityReport:
    """R44: the figure of one period (a month, up to now) for one hosting space.

    `in_force`: the contract's life in force; `exclusions`: maintenance, force majeure, holds
    (ends may be None: ongoing); `reported`: the incidents the customer reported (R45, 15.3)."""
    start, end = period
    measured = intersect([period], in_force)
    others = [(e, intersect([e.interval(end)], measured)) for e in exclusions]
    other_union = merge(i for _, parts in others for i in parts)
    downtime = intersect(downtime_intervals(probes), measured)
    remaining = subtract(downtime, other_union)            # outages no other reason excludes
    counted = intersect(remaining, reported)               # R45: reported by the customer
    unreported = subtract(remaining, counted)              # 15.3: never reported
    listed = [Exclusion(s, e, x.reason, x.ref, x.description) for x, parts in others for s, e in parts]
    listed += [Exclusion(s, e, UNREPORTED, None, "outage not reported by the customer (15.3)")
               for s, e in unreported]
    listed.sort(key=lambda x: (x.start, x.end, x.reason))
    excluded_union = merge(other_union + unreported)
    measured_span, excluded_span = total(measured), total(excluded_union)
    availability = percent_up(total(counted), measured_span - excluded_span)
    observed = percent_up(total(remaining), measured_span - total(other_union))
    notes = []
    if availability is None:
        notes.append("nothing left to measure in this period (not in force, or every instant excluded)")
    return AvailabilityReport(
        period=period, measured=measured, excluded=listed, downtime=downtime, counted=counted,
        unreported=unreported, measured_seconds=seconds(measured_span), excluded_seconds=seconds(excluded_span),
        counted_seconds=seconds(total(counted)), availability_percent=availability, observed_percent=observed,
        target_percent=target_percent,
        meets_commitment=None if availability is None else availability >= target_percent, notes=notes)


def in_force_and_holds(timeline: Sequence[tuple[datetime, str, Optional[str]]], until: datetime
                       ) -> tuple[list[Interval], list[Exclusion]]:
    """From the contract's status changes (instant, status, hold reasons): its life in force and
    its restriction and suspension periods (R44: excluded), each naming the reasons held."""
    in_force, holds = [], []
    for start, end, status, detail in status_periods(timeline, until):
        if status in IN_FORCE_STATUSES:
            in_force.append((start, end))
        if status in HELD_STATUSES:
            holds.append(Exclusion(start, end, HELD_STATUSES[status], None, detail or None))
    return merge(in_force), holds


# ---- R50: force majeure --------------------------------------------------------------------------

def force_majeure_covers(services: Sequence[str] | str, node_id: Optional[str]) -> bool:
    """R50: an event declared for 'all' services covers every node; else the nodes it names."""
    if services == "all" or (isinstance(services, (list, tuple)) and "all" in services):
        return True
    return node_id is not None and node_id in services


def termination_opens_at(start: datetime, days: int) -> datetime:
    """R50 (18.3): the instant after which a force majeure event has lasted more than `days` days
    (calendar days, Paris time: a DST change inside does not move it by an hour)."""
    paris = require_aware(start).astimezone(PARIS)
    return (paris.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=PARIS)


def may_terminate_for_force_majeure(start: datetime, end: Optional[datetime], now: datetime, days: int) -> bool:
    """R50 (18.3): either party may terminate once the event has lasted MORE than `days` days:
    still going on after start + days, or ended after it."""
    lasted_until = now if end is None else min(end, now)
    return lasted_until > termination_opens_at(start, days)
