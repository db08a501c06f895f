"""Timers: every deadline is an item that fires once at its due time.

A schedule sweeps only what is due: one Query per UTC day on the sparse `due` index, from the
first day that may still hold a pending timer up to today (missed days are caught up). Each due
timer is claimed with a conditional write (a lease) and handed to its handler through the timers
queue. The handler's effect and the timer's `done` mark are one transaction, so a timer fires
exactly once even when sweeps overlap, a message is delivered twice or a handler is retried.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict
from ..adapters.models import TimerModel
from ..bootstrap import Services
from ..domain.calendar import utc_iso
from ..observability import logger

LEASE = timedelta(minutes=5)
# The first sweep ever has no cursor: it looks back this far (timers are filed under a day no
# earlier than the day they were created, so this covers any created in the month before it).
FIRST_SWEEP_LOOKBACK = timedelta(days=31)
HANDLERS: dict[str, Callable[[TimerModel, Services], Optional[Effect]]] = {}


def timer_handler(kind: str):
    """Register the handler of a timer kind. It returns the Effect to commit (the timer's done mark
    is added here) or None when the timer has nothing left to do."""
    def register(func):
        HANDLERS[kind] = func
        return func
    return register


def _utc_day(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).date().isoformat()


def timer_row(kind: str, target_id: str, customer_id: str, due_at: datetime, now: datetime) -> TimerModel:
    """A new pending timer. Its id is `<kind>#<target>`: the same deadline scheduled twice is one
    timer. A due time already past is filed under today so the next sweep sees it."""
    due_day = max(_utc_day(due_at), _utc_day(now))
    return TimerModel(timer_id=f"{kind}#{target_id}", kind=kind, target_id=target_id, customer_id=customer_id,
                      due_at=utc_iso(due_at), due_day=due_day, state="pending", sends=0, created_at=utc_iso(now))


def schedule(effect: Effect, row: TimerModel) -> Effect:
    return effect.save(f"timer:{row.kind}", row, TimerModel.timer_id.does_not_exist())


def mark_done(effect: Effect, timer: TimerModel, now: datetime) -> Effect:
    return effect.update("timer", TimerModel(timer_id=timer.timer_id),
                         [TimerModel.state.set("done"), TimerModel.done_at.set(utc_iso(now)),
                          TimerModel.due_day.remove(), TimerModel.lease_until.remove()],
                         TimerModel.state == "pending")


def send_now(timer_id: str, services: Services) -> None:
    """Hand a timer to the timers queue (the sweep does it for every due timer; a use case whose
    timer is due at once sends it after its commit rather than wait for the next sweep)."""
    services.queues.send(queue_name=services.settings.queue_name("timers"), body=json.dumps({"timer_id": timer_id}))


def sweep(services: Services) -> int:
    """Send every due timer to the timers queue; returns how many were sent."""
    store, now = services.store, services.clock.now()
    today = now.astimezone(timezone.utc).date()
    cursor = store.sweep_cursor()
    day = date.fromisoformat(cursor) if cursor else today - FIRST_SWEEP_LOOKBACK
    sent = 0
    while day <= today:
        due = store.timers_due(day.isoformat(), now)
        for timer in due:
            if store.claim_timer(timer.timer_id, now, now + LEASE):
                send_now(timer.timer_id, services)
                sent += 1
        if day < today and not due:
            store.set_sweep_cursor((day + timedelta(days=1)).isoformat(), now)
        day += timedelta(days=1)
    logger.info("timers swept", sent=sent, cursor=cursor, today=today.isoformat())
    return sent


def _register_handlers() -> None:
    """Import the modules whose @timer_handler functions handle each kind."""
    from . import (abuse_cases, billing_cycle, disputes, domains, lifecycle, order_expiry,  # noqa: F401
                   privacy, tickets)


def fire(timer_id: str, services: Services) -> str:
    """Run a due timer's handler once: its effect commits together with the timer's done mark."""
    _register_handlers()
    timer = services.store.get_timer(timer_id)
    if timer is None or timer.state != "pending":
        return "ignored"
    now = services.clock.now()
    if timer.due_at > utc_iso(now) and hasattr(services.clock, "refresh"):
        # The sweep that sent it saw a later clock (local time travel, moved by another process
        # less than the offset's cache ago): read the clock again, so the handler decides on it.
        services.clock.refresh()
        now = services.clock.now()
    handler = HANDLERS.get(timer.kind)
    if handler is None:
        raise LookupError(f"no handler for timer kind {timer.kind!r}")
    effect = handler(timer, services) or Effect()
    try:
        services.store.apply(mark_done(effect, timer, now))
    except TransactionConflict as conflict:
        if "timer" in conflict.failed:
            return "ignored"  # another delivery of the same timer won
        raise
    for follow_up in effect.after_commit:
        follow_up()
    logger.info("timer fired", timer_id=timer_id, kind=timer.kind)
    return "fired"
