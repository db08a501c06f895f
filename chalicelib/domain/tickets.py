"""Support tickets and incidents (R43, R45): pure rules, no storage.

R43 (13.1): a ticket is taken into account within 48 business hours, counted in Europe/Paris
business hours (09:00-17:00 on business days: no Saturday, Sunday or French public holiday, see
domain/calendar.py). Its deadline is computed once, when it is opened, and a timer flags a breach
when no operator took it into account by then.

R45 (15.3): an incident is an anomaly the customer reports (a ticket of kind `incident`, on one of
its contracts, with when it started); it is handled during business hours (the same deadline)
and, when its cause lies outside the provider, the customer is told so. The periods customers
reported feed the availability computation of R44 (`outage_periods`): an outage nobody reported
does not count against the provider, nor does one whose cause lies outside it.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import Enum
from typing import Iterable, Optional

from .calendar import BUSINESS_CLOSING, BUSINESS_OPENING, PARIS, add_business_hours, is_business_day, require_aware
from .errors import ConflictError, RuleViolationError

TAKE_INTO_ACCOUNT_HOURS = 48          # R43 (13.1): "sous 48 heures en heures et jours ouvrés"
MAX_MESSAGES = 200                    # messages on one ticket (customer and operator together)
CLOCK_SKEW = timedelta(minutes=5)     # an incident may say it started this much "in the future"


class TicketKind(str, Enum):
    QUESTION = "question"
    INCIDENT = "incident"   # R45: feeds R44
    BILLING = "billing"
    OTHER = "other"


class TicketState(str, Enum):
    OPEN = "open"                              # not yet taken into account: the R43 clock runs
    TAKEN_INTO_ACCOUNT = "taken_into_account"  # an operator took it into account (on time or late)
    RESOLVED = "resolved"                      # closed with its resolution (R45: its cause)


class Cause(str, Enum):
    """R45 (15.3): where the cause of what the customer reported lies."""
    PROVIDER = "provider"                  # the provider's: handled by it
    OUTSIDE_PROVIDER = "outside_provider"  # not the provider's (the customer's use, the networks...): customer told
    NO_FAULT_FOUND = "no_fault_found"      # nothing abnormal was found


class TicketEvent(str, Enum):
    TAKE_INTO_ACCOUNT = "take_into_account"
    MESSAGE = "message"
    RESOLVE = "resolve"


# The transition table: (state, event) -> state. A message or a resolution on a ticket still open
# takes it into account too (answering it is taking it into account), in the same write.
TRANSITIONS: dict[tuple[TicketState, TicketEvent], TicketState] = {
    (TicketState.OPEN, TicketEvent.TAKE_INTO_ACCOUNT): TicketState.TAKEN_INTO_ACCOUNT,
    (TicketState.OPEN, TicketEvent.MESSAGE): TicketState.OPEN,
    (TicketState.OPEN, TicketEvent.RESOLVE): TicketState.RESOLVED,
    (TicketState.TAKEN_INTO_ACCOUNT, TicketEvent.MESSAGE): TicketState.TAKEN_INTO_ACCOUNT,
    (TicketState.TAKEN_INTO_ACCOUNT, TicketEvent.RESOLVE): TicketState.RESOLVED,
}

_REFUSALS = {
    (TicketState.TAKEN_INTO_ACCOUNT, TicketEvent.TAKE_INTO_ACCOUNT): (
        "already_taken_into_account", "this ticket was already taken into account"),
    (TicketState.RESOLVED, TicketEvent.TAKE_INTO_ACCOUNT): (
        "ticket_resolved", "this ticket is resolved: there is nothing left to take into account"),
    (TicketState.RESOLVED, TicketEvent.MESSAGE): (
        "ticket_resolved", "this ticket is resolved: open a new ticket to write again"),
    (TicketState.RESOLVED, TicketEvent.RESOLVE): (
        "ticket_already_resolved", "this ticket is already resolved"),
}


def next_state(state: TicketState | str, event: TicketEvent | str) -> TicketState:
    """The state after `event`; ConflictError (409) naming why when the table refuses it."""
    state, event = TicketState(state), TicketEvent(event)
    target = TRANSITIONS.get((state, event))
    if target is None:
        code, message = _REFUSALS.get((state, event), ("illegal_ticket_transition",
                                                       f"a ticket {state.value} cannot take {event.value}"))
        raise ConflictError(message, code=code)
    return target


def states_accepting(event: TicketEvent | str) -> list[TicketState]:
    """The states a write for `event` is conditioned on (the table, read the other way)."""
    event = TicketEvent(event)
    return [state for (state, ev) in TRANSITIONS if ev == event]


# ---- R43: the take-into-account deadline --------------------------------------------------------

def take_into_account_deadline(opened_at: datetime) -> datetime:
    """R43: 48 business hours after the ticket was opened, in Paris business hours (zone-aware,
    Europe/Paris). Opened outside business hours (night, weekend, public holiday, 17:00 or later)
    the count starts at the next opening; opened at 16:59:59 it has one second that day. The
    deadline always falls within business hours of a business day (17:00 included)."""
    return add_business_hours(require_aware(opened_at), TAKE_INTO_ACCOUNT_HOURS)


def business_time_between(start: datetime, end: datetime) -> timedelta:
    """The Paris business time (09:00-17:00 on business days) between two instants (zero when
    `end` is not after `start`): what R43 counts."""
    require_aware(start), require_aware(end)
    if end <= start:
        return timedelta(0)
    local_start = start.astimezone(PARIS).replace(tzinfo=None)
    local_end = end.astimezone(PARIS).replace(tzinfo=None)
    total, day = timedelta(0), local_start.date()
    while day <= local_end.date():
        if is_business_day(day):
            opening = datetime.combine(day, BUSINESS_OPENING)
            closing = datetime.combine(day, BUSINESS_CLOSING)
            lower, upper = max(opening, local_start), min(closing, local_end)
            if upper > lower:
                total += upper - lower
        day += timedelta(days=1)
    return total


def within_business_hours(moment: datetime) -> bool:
    """On a business day, between 09:00 and 17:00 Paris (both included)."""
    local = require_aware(moment).astimezone(PARIS)
    return is_business_day(local.date()) and time(9) <= local.time() <= time(17)


def is_breached(deadline_at: datetime, taken_at: Optional[datetime], now: datetime) -> bool:
    """R43: past its deadline without being taken into account, or taken into account after it."""
    moment = taken_at if taken_at is not None else now
    return require_aware(moment) > require_aware(deadline_at)


# ---- R45: incidents ----------------------------------------------------------------------------

def check_incident(kind: TicketKind | str, contract_id: Optional[str], started_at: Optional[datetime],
                   now: datetime, max_age: timedelta) -> None:
    """R45: an incident names one of the customer's contracts and when the anomaly started: not
    in the future, and reported promptly (15.3: "dans de brefs délais", at most `max_age` later).
    Any other kind carries no incident details."""
    if TicketKind(kind) != TicketKind.INCIDENT:
        if started_at is not None:
            raise RuleViolationError("only an incident says when an anomaly started: drop `incident` or use "
                                     "kind 'incident'", code="incident_details_on_other_kind",
                                     fields={"incident": "only for kind incident"})
        return
    if not contract_id:
        raise RuleViolationError("R45: an incident is reported on one of your contracts: give its contract_id",
                                 code="incident_needs_contract", fields={"contract_id": "required for an incident"})
    if started_at is None:
        raise RuleViolationError("R45: say when the anomaly started: incident.started_at",
                                 code="incident_needs_start", fields={"incident.started_at": "required"})
    require_aware(started_at)
    if started_at > now + CLOCK_SKEW:
        raise RuleViolationError("incident.started_at is in the future: give when the anomaly started",
                                 code="incident_in_future", fields={"incident.started_at": "not after now"})
    if started_at < now - max_age:
        raise RuleViolationError(
            f"R45 (15.3): an anomaly is reported promptly; this one started more than {max_age.days} days ago",
            code="incident_reported_too_late", fields={"incident.started_at": f"within {max_age.days} days"})


def check_resolution(kind: TicketKind | str, cause: Optional[Cause | str], ended_at: Optional[datetime],
                     started_at: Optional[datetime], now: datetime) -> None:
    """R45: an incident is resolved with its cause (where it lies) and, optionally, when the
    anomaly ended (between its start and now; the resolution time otherwise)."""
    incident = TicketKind(kind) == TicketKind.INCIDENT
    if incident and cause is None:
        raise RuleViolationError("R45: an incident is resolved with its cause: provider, outside_provider or "
                                 "no_fault_found", code="cause_required", fields={"cause": "required for an incident"})
    if ended_at is None:
        return
    if not incident:
        raise RuleViolationError("ended_at is the end of an incident's anomaly: only for an incident",
                                 code="ended_at_for_incidents_only", fields={"ended_at": "only for an incident"})
    require_aware(ended_at)
    if ended_at > now or (started_at is not None and ended_at < started_at):
        raise RuleViolationError("ended_at lies between the incident's start and now",
                                 code="ended_at_out_of_range", fields={"ended_at": "between started_at and now"})


def outage_periods(incidents: Iterable[tuple[datetime, Optional[datetime], Optional[str]]], start: datetime,
                   end: datetime) -> list[tuple[datetime, datetime]]:
    """R44 + R45: the periods customers reported as outages within [start, end).

    Each incident is (started_at, ended_at or None while unresolved, cause or None). An incident
    runs from its start to its end (or to `end` while unresolved); one whose cause lies outside
    the provider is left out (15.3: outside the availability commitment). Periods are clipped to
    the window, empty ones dropped, overlapping or touching ones merged; sorted by start."""
    require_aware(start), require_aware(end)
    clipped = []
    for started_at, ended_at, cause in incidents:
        if cause == Cause.OUTSIDE_PROVIDER.value:
            continue
        lower = max(require_aware(started_at), start)
        upper = min(require_aware(ended_at) if ended_at is not None else end, end)
        if upper > lower:
            clipped.append((lower, upper))
    merged: list[tuple[datetime, datetime]] = []
    for lower, upper in sorted(clipped):
        if merged and lower <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], upper))
        else:
            merged.append((lower, upper))
    return merged
