"""infra/resources.json is the one source: models, event sources and the local runner agree with it."""
from __future__ import annotations

import json
import time

import boto3

from app import app
from chalicelib.adapters.models import ALL_MODELS
from chalicelib.config import settings
from devstack.runner import EventRunner
from infra.definitions import resources


def test_every_pynamodb_model_matches_its_table_definition():
    tables = resources()["tables"]
    by_name = {settings().table_name(key): spec for key, spec in tables.items()}
    assert {m.Meta.table_name for m in ALL_MODELS} == set(by_name)
    for model in ALL_MODELS:
        spec = by_name[model.Meta.table_name]
        keys = {name: attr for name, attr in model.get_attributes().items() if attr.is_hash_key or attr.is_range_key}
        hash_key = next(n for n, a in keys.items() if a.is_hash_key)
        range_key = next((n for n, a in keys.items() if a.is_range_key), None)
        assert hash_key == spec["hash_key"][0]
        assert range_key == (spec["range_key"][0] if "range_key" in spec else None)
        assert set(model._indexes) == set(spec.get("indexes", {}))


def test_R30_every_queue_that_is_not_a_dead_letter_queue_has_one_with_bounded_tries():
    queues = resources()["queues"]
    redriven = [*queues.values(), resources()["node_command_queue"]]
    dead_letter_queues = {spec["dead_letter"] for spec in redriven if "dead_letter" in spec}
    for key, spec in queues.items():
        if key in dead_letter_queues:
            continue
        assert spec.get("dead_letter") in queues, key
        assert 1 <= spec["max_receive_count"] <= 10
    node_queue = resources()["node_command_queue"]
    assert node_queue["dead_letter"] in queues and node_queue["max_receive_count"] >= 1


def test_every_sqs_event_source_reads_a_defined_queue():
    defined = {settings().queue_name(key) for key in resources()["queues"]}
    sources = [s for s in app.event_sources if type(s).__name__ == "SQSEventConfig"]
    assert sources and all(s.queue in defined for s in sources)


def test_R30_created_queues_carry_their_redrive_policy(aws):
    sqs = boto3.client("sqs", region_name=settings().region)
    attributes = sqs.get_queue_attributes(QueueUrl=aws["node_queue"], AttributeNames=["All"])["Attributes"]
    policy = json.loads(attributes["RedrivePolicy"])
    assert policy["deadLetterTargetArn"].endswith(settings().queue_name("node-commands-dlq"))
    assert int(policy["maxReceiveCount"]) == resources()["node_command_queue"]["max_receive_count"]


class _PartialFailureApp:
    """An app double whose handler fails the records whose body says so."""

    def __init__(self):
        self.calls = []
        self.handler_map = {"consumer": self.handle}

    def handle(self, event, context):
        self.calls.append(event)
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                                      if r["body"] == "fail"]}


class _Source:
    name, batch_size = "consumer", 10

    def __init__(self, queue):
        self.queue = queue


def test_runner_deletes_only_records_not_reported_failed_and_redrive_reaches_the_dlq(aws):
    sqs = boto3.client("sqs", region_name=settings().region)
    dlq = sqs.create_queue(QueueName="runner-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="runner-src", Attributes={
        "VisibilityTimeout": "0", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    })["QueueUrl"]
    for body in ("ok-1", "fail", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    fake = _PartialFailureApp()
    runner = EventRunner(fake, sqs, settings().region, wait_seconds=0)
    delivered = 0
    for _ in range(6):
        delivered += runner.deliver(_Source("runner-src"), url, "arn:src")
    event = fake.calls[0]
    assert event["Records"][0]["eventSource"] == "aws:sqs" and event["Records"][0]["eventSourceARN"] == "arn:src"
    bodies = [r["body"] for call in fake.calls for r in call["Records"]]
    assert bodies.count("ok-1") == 1 and bodies.count("ok-2") == 1 and bodies.count("fail") == 2
    remaining = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in remaining] == ["fail"]


def test_runner_returns_the_whole_batch_when_the_handler_raises(aws):
    sqs = boto3.client("sqs", region_name=settings().region)
    url = sqs.create_queue(QueueName="runner-raise", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")

    class Raising:
        handler_map = {"consumer": lambda event, context: 1 / 0}

    EventRunner(Raising(), sqs, settings().region, wait_seconds=0).deliver(_Source("runner-raise"), url, "arn")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])] == ["x"]


def test_runner_fires_schedules_with_a_scheduled_event(aws):
    fired = []

    class ScheduleSource:
        name, schedule_expression = "tick", "rate(1 minute)"

    class OneSchedule:
        event_sources = [ScheduleSource()]
        handler_map = {"tick": lambda event, context: fired.append((event, context.function_name))}

    runner = EventRunner(OneSchedule(), boto3.client("sqs", region_name=settings().region), settings().region)
    from datetime import datetime, timezone
    runner.fire(ScheduleSource(), datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc))
    event, name = fired[0]
    assert name == "tick" and event["detail-type"] == "Scheduled Event" and event["time"] == "2026-11-27T10:00:00Z"
    assert event["resources"][0].endswith("rule/tick")


def test_runner_enumerates_the_apps_event_sources(aws, monkeypatch):
    started = []
    runner = EventRunner(app, boto3.client("sqs", region_name=settings().region), settings().region)
    monkeypatch.setattr(runner, "_poll", lambda source: started.append(("sqs", source.name)) or time.sleep(0))
    monkeypatch.setattr(runner, "_schedule", lambda source: started.append(("schedule", source.name)))
    runner.start()
    for thread in runner.threads:
        thread.join(timeout=2)
    runner.stop()
    assert ("sqs", "on_payment_event") in started and ("sqs", "on_node_result") in started
    assert ("sqs", "on_node_command_dead_letter") in started and ("schedule", "redispatch_pending_commands") in started
