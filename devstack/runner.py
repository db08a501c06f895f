"""The local event runner: what AWS Lambda's event source mappings and EventBridge do on AWS.

It enumerates `app.event_sources`, long-polls each SQS source and calls the handler with a
Lambda-shaped event, deleting only the records not listed in `batchItemFailures` (so the
redrive policy moves poison messages to the dead-letter queue as on AWS); it fires schedule
sources on their rate/cron; it writes a heartbeat so GET /health can report it.
"""
from __future__ import annotations

import os
import logging
import signal
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from .schedules import Schedule

log = logging.getLogger("devstack.runner")


class LambdaContext:
    def __init__(self, function_name: str, timeout_seconds: int = 60) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The event Lambda builds for an SQS event source mapping."""
    def attribute(value: dict) -> dict:
        return {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {k: attribute(v) for k, v in m.get("MessageAttributes", {}).items()},
        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
        "awsRegion": region} for m in messages]}


def scheduled_event(rule_name: str, moment: datetime, region: str) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": [f"arn:aws:events:{region}:000000000000:rule/{rule_name}"], "detail": {}}


class EventRunner:
    def __init__(self, app: Any, sqs: Any, region: str, *, wait_seconds: int = 2, pollers_per_queue: int = 2,
                 heartbeat: Callable[[], None] | None = None, heartbeat_seconds: float = 3.0) -> None:
        self.app, self.sqs, self.region = app, sqs, region
        self.wait_seconds, self.pollers_per_queue = wait_seconds, pollers_per_queue
        # DEVSTACK_SCHEDULE_SECONDS="name=seconds,...": these schedules fire at that fixed interval locally
        self.faster = {name.strip(): float(seconds) for name, _, seconds in (
            part.partition("=") for part in os.environ.get("DEVSTACK_SCHEDULE_SECONDS", "").split(",") if "=" in part)}
        self.heartbeat, self.heartbeat_seconds = heartbeat, heartbeat_seconds
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    # ---- SQS -------------------------------------------------------------------------
    def deliver(self, source: Any, queue_url: str, queue_arn: str) -> int:
        """One receive + one invocation. Returns how many records were received."""
        answer = self.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(source.batch_size, 10), WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        handler = self.app.handler_map[source.name]
        try:
            result = handler(sqs_event(messages, queue_arn, self.region), LambdaContext(source.name)) or {}
        except Exception:
            log.exception("handler %s raised: the whole batch returns to the queue", source.name)
            return len(messages)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        if failed:
            log.warning("handler %s reported %d failed record(s); they return to the queue", source.name, len(failed))
        return len(messages)

    def _poll(self, source: Any) -> None:
        queue_url = queue_arn = None
        while not self.stopping.is_set():
            try:
                if queue_url is None:
                    queue_url = self.sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
                    queue_arn = self.sqs.get_queue_attributes(
                        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                self.deliver(source, queue_url, queue_arn)
            except Exception as exc:
                log.warning("polling %s failed: %s", source.queue, exc)
                self.stopping.wait(1)

    # ---- schedules ---------------------------------------------------------------------
    def fire(self, source: Any, moment: datetime) -> Any:
        handler = self.app.handler_map[source.name]
        return handler(scheduled_event(source.name, moment, self.region), LambdaContext(source.name))

    def _schedule(self, source: Any) -> None:
        expression = source.schedule_expression
        every = self.faster.get(source.name)
        if every:  # a devstack speed-up (e.g. the registry poll every 2 s instead of every minute)
            while not self.stopping.wait(every):
                try:
                    self.fire(source, datetime.now(timezone.utc))
                except Exception:
                    log.exception("schedule %s raised", source.name)
            return
        schedule = Schedule.parse(expression if isinstance(expression, str) else expression.to_string())
        due = schedule.next_after(datetime.now(timezone.utc))
        while not self.stopping.wait(max(0.0, min(1.0, (due - datetime.now(timezone.utc)).total_seconds()))):
            if datetime.now(timezone.utc) >= due:
                try:
                    self.fire(source, due)
                except Exception:
                    log.exception("schedule %s raised", source.name)
                due = schedule.next_after(due)

    def _heartbeats(self) -> None:
        while not self.stopping.is_set():
            try:
                self.heartbeat and self.heartbeat()
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
            self.stopping.wait(self.heartbeat_seconds)

    def start(self) -> None:
        for source in self.app.event_sources:
            kind = type(source).__name__
            if kind == "SQSEventConfig":
                targets = [self._poll] * self.pollers_per_queue
            elif kind == "ScheduledEventConfig":
                targets = [self._schedule]
            else:
                log.warning("event source %s (%s) is not run locally", source.name, kind)
                continue
            for target in targets:
                thread = threading.Thread(target=target, args=(source,), name=source.name, daemon=True)
                thread.start()
                self.threads.append(thread)
        if self.heartbeat:
            threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()


def main() -> None:
    import boto3

    from app import app
    from chalicelib.bootstrap import services
    from chalicelib.service.health import EVENT_RUNNER
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s runner %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    svc = services()
    runner = EventRunner(app, boto3.client("sqs", region_name=svc.settings.region), svc.settings.region,
                         heartbeat=lambda: svc.store.heartbeat(EVENT_RUNNER, svc.clock.wall()))
    runner.start()
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    log.info("event runner started: %s", ", ".join(s.name for s in app.event_sources))
    try:
        while not runner.stopping.wait(1):
            pass
    except KeyboardInterrupt:
        runner.stop()


if __name__ == "__main__":
    main()
