"""Integration tier: handlers and adapters against moto in-process (mock_aws)."""
from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

os.environ.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "eu-west-3",
                   "SOHO_RESOURCE_PREFIX": "soho-it", "SOHO_LOCAL_MODE": "1"})
for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"):
    os.environ.pop(variable, None)

from moto import mock_aws  # noqa: E402

from chalicelib import bootstrap  # noqa: E402
from chalicelib.adapters.clock import FixedClock  # noqa: E402
from chalicelib.adapters.dynamo_store import DynamoStore  # noqa: E402
from chalicelib.adapters.queues import SqsQueues  # noqa: E402
from chalicelib.config import settings  # noqa: E402
from tests.integration.iam_audit import iam_audit  # noqa: E402,F401  (autouse: handlers' AWS calls vs their IAM policy)

NODE_ID = "node-it-1"


@pytest.fixture
def aws():
    with mock_aws():
        from devstack.resources import ensure_all, register_node
        s = settings()
        queues = ensure_all(s)
        node_queue = register_node(s, NODE_ID, capacity_mb=200_000, http_address="http://127.0.0.1:1")
        yield {"queues": queues, "node_queue": node_queue, "settings": s}


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc))


class PendingRegistries:
    """Issue 4: registries that take every registration and transfer and never answer it (1001,
    no poll message), for the tests that are not about domains: the first payment's acquisition
    runs once and the domain waits, changing nothing else. Domain tests (test_domain_flows.py)
    use the local EPP registry over TLS instead."""

    def gateway(self, registry: str):
        from datetime import timedelta

        from chalicelib.domain.registrar import ACTION_PENDING, CommandResult

        class Gateway:
            client_id = f"soho-{registry}"

            def __getattr__(self, name):
                def pending(*args, **kwargs):
                    return CommandResult(code=ACTION_PENDING, message="pending (test registry)")
                return pending

            def poll(self):
                return None

            def check(self, names):
                from chalicelib.domain.registrar import CheckResult
                return [CheckResult(name=n, available=True) for n in names]

        gateway = Gateway()
        gateway.registry = registry
        return gateway


@pytest.fixture
def services(aws, clock):
    s = settings()
    svc = bootstrap.Services(settings=s, clock=clock, catalog=bootstrap.load_catalog(),
                             store=DynamoStore(region=s.region), queues=SqsQueues(region=s.region),
                             registrars=PendingRegistries())
    bootstrap.override(svc)
    yield svc
    bootstrap.override(None)


@pytest.fixture
def client(services):
    from chalice.test import Client

    from app import app
    with Client(app) as test_client:
        yield test_client


def queue_messages(queue_url: str, max_rounds: int = 5) -> list[dict]:
    """Receive (and delete) everything visible on a queue."""
    import boto3
    sqs = boto3.client("sqs", region_name=settings().region)
    found: list[dict] = []
    for _ in range(max_rounds):
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            break
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        found += batch
    return found


def sqs_lambda_event(bodies: list[str], queue: str = "q", correlation_id: str | None = None) -> dict:
    """An SQS event as Lambda delivers it, built by the devstack runner's own builder."""
    import uuid

    from devstack.runner import sqs_event
    attributes = {"correlation_id": {"DataType": "String", "StringValue": correlation_id}} if correlation_id else {}
    return sqs_event([{"MessageId": str(uuid.uuid4()), "ReceiptHandle": f"rh-{i}", "Body": body,
                       "Attributes": {"ApproximateReceiveCount": "1"}, "MessageAttributes": attributes}
                      for i, body in enumerate(bodies)], f"arn:aws:sqs:eu-west-3:123456789012:{queue}", "eu-west-3")


@pytest.fixture
def placed_order(client):
    import json

    from tests.helpers import professional_order
    answer = client.http.post("/orders", body=json.dumps(professional_order()),
                              headers={"Content-Type": "application/json"})
    assert answer.status_code == 201
    return json.loads(answer.body)
