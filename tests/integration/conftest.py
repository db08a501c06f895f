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


@pytest.fixture
def services(aws, clock):
    s = settings()
    svc = bootstrap.Services(settings=s, clock=clock, catalog=bootstrap.load_catalog(),
                             store=DynamoStore(region=s.region), queues=SqsQueues(region=s.region))
    bootstrap.override(svc)
    yield svc
    bootstrap.override(None)


@pytest.fixture
def client(services):
    from chalice.test import Client

    from app import app
    with Client(app) as test_client:
        yield test_client
