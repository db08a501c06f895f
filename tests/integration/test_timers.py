"""Timers fire exactly once, only when due, found through the due-day index, missed days caught up."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.adapters.dynamo_store import Effect, new_alert
from chalicelib.service import timers
from tests.integration.conftest import queue_messages, sqs_lambda_event

KIND = "test_deadline"


@pytest.fixture
def effects():
    """A timer kind whose handler opens an alert per run, so double effects would show."""
    runs = []

    def handler(timer, services):
        runs.append(timer.timer_id)
        return Effect().save("alert", new_alert("test_deadline", f"fired {timer.timer_id}", services.clock.now()))

    timers.HANDLERS[KIND] = handler
    yield runs
    timers.HANDLERS.pop(KIND, None)


def schedule(services, target: str, due_in: timedelta):
    now = services.clock.now()
    services.store.apply(timers.schedule(Effect(), timers.timer_row(KIND, target, "cus_1", now + due_in, now)))


def sent_ids(aws) -> list[str]:
    return [json.loads(m["Body"])["timer_id"] for m in queue_messages(aws["queues"]["timers"])]


def test_only_due_timers_are_sent_and_a_second_sweep_within_the_lease_sends_nothing(aws, services, effects):
    schedule(services, "due", timedelta(minutes=-1))
    schedule(services, "later", timedelta(hours=2))
    assert timers.sweep(services) == 1
    assert timers.sweep(services) == 0  # overlapping sweep: the lease holds
    assert sent_ids(aws) == [f"{KIND}#due"]


def test_a_timer_fires_once_even_when_delivered_twice(aws, services, effects, client):
    schedule(services, "t1", timedelta(0))
    timers.sweep(services)
    [body] = [m["Body"] for m in queue_messages(aws["queues"]["timers"])]
    payload = client.lambda_.invoke("on_timer", sqs_lambda_event([body, body])).payload
    assert payload == {"batchItemFailures": []}
    assert len(services.store.open_alerts()) == 1
    assert services.store.get_timer(f"{KIND}#t1").state == "done"
    assert timers.sweep(services) == 0  # done timers leave the index


def test_two_concurrent_runs_of_one_timer_commit_one_effect(aws, services, effects):
    schedule(services, "race", timedelta(0))
    stale = services.store.get_timer(f"{KIND}#race")
    assert timers.fire(f"{KIND}#race", services) == "fired"
    real_get = services.store.get_timer
    services.store.get_timer = lambda timer_id: stale  # the second run read before the first committed
    try:
        assert timers.fire(f"{KIND}#race", services) == "ignored"
    finally:
        services.store.get_timer = real_get
    assert effects == [f"{KIND}#race", f"{KIND}#race"]  # both ran their handler ...
    assert len(services.store.open_alerts()) == 1       # ... one effect landed


def test_missed_days_are_caught_up_and_the_cursor_moves_past_finished_days(aws, services, effects, clock):
    assert timers.sweep(services) == 0  # the sweep starts its cursor today
    for day in (1, 2, 3):
        schedule(services, f"d{day}", timedelta(days=day))
    clock.advance(timedelta(days=5))  # the sweep was down for five days
    assert timers.sweep(services) == 3
    for timer_id in sent_ids(aws):
        timers.fire(timer_id, services)
    timers.sweep(services)
    assert services.store.sweep_cursor() == clock.now().date().isoformat()


def test_a_claimed_timer_whose_handler_never_finished_is_sent_again_after_the_lease(aws, services, effects, clock):
    schedule(services, "lost", timedelta(0))
    assert timers.sweep(services) == 1
    queue_messages(aws["queues"]["timers"])  # the message is lost
    clock.advance(timers.LEASE - timedelta(seconds=1))
    assert timers.sweep(services) == 0
    clock.advance(timedelta(seconds=2))
    assert timers.sweep(services) == 1
    assert services.store.get_timer(f"{KIND}#lost").sends == 2


def test_a_deadline_already_past_when_scheduled_is_filed_under_today(aws, services, effects, clock):
    timers.sweep(services)
    schedule(services, "past", timedelta(days=-3))
    assert services.store.get_timer(f"{KIND}#past").due_day == clock.now().date().isoformat()
    assert timers.sweep(services) == 1


def test_scheduling_the_same_deadline_twice_is_one_timer(aws, services, effects):
    from chalicelib.adapters.dynamo_store import TransactionConflict
    schedule(services, "once", timedelta(days=1))
    with pytest.raises(TransactionConflict):
        schedule(services, "once", timedelta(days=2))
