"""Create every table and queue of infra/resources.json on an AWS-compatible endpoint,
and register hosting nodes (their command queue with its redrive policy, and their row)."""
from __future__ import annotations

from typing import Any

import boto3

from chalicelib.config import Settings
from infra.definitions import queue_attributes, resources, table_spec, ttl_specification


def ensure_tables(settings: Settings) -> list[str]:
    client = boto3.client("dynamodb", region_name=settings.region)
    existing = set(client.list_tables().get("TableNames", []))
    created = []
    for key, spec in resources()["tables"].items():
        name = settings.table_name(key)
        if name not in existing:
            client.create_table(**table_spec(name, spec))
            created.append(name)
    for name in created:
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    for key, spec in resources()["tables"].items():
        if settings.table_name(key) in created and ttl_specification(spec):
            client.update_time_to_live(TableName=settings.table_name(key),
                                       TimeToLiveSpecification=ttl_specification(spec))
    return created


def _ensure_queue(sqs: Any, name: str, spec: dict[str, Any], settings: Settings) -> str:
    dead_letter_arn = None
    if spec.get("dead_letter"):
        dlq_url = sqs.get_queue_url(QueueName=settings.queue_name(spec["dead_letter"]))["QueueUrl"]
        dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
    attributes = queue_attributes(spec, dead_letter_arn)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    if attributes:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def ensure_queues(settings: Settings) -> dict[str, str]:
    sqs = boto3.client("sqs", region_name=settings.region)
    queues = resources()["queues"]
    # Dead-letter queues first: a redrive policy names an existing queue's ARN.
    ordered = sorted(queues.items(), key=lambda item: bool(item[1].get("dead_letter")))
    return {key: _ensure_queue(sqs, settings.queue_name(key), spec, settings) for key, spec in ordered}


def register_node(settings: Settings, node_id: str, capacity_mb: int, http_address: str,
                  overrides: dict[str, Any] | None = None) -> str:
    """R31: a node gets its command queue (redriven to the shared DLQ, R30) and a row with its capacity."""
    from chalicelib.adapters.dynamo_store import DynamoStore
    from chalicelib.adapters.models import NodeModel
    sqs = boto3.client("sqs", region_name=settings.region)
    spec = {**resources()["node_command_queue"], **(overrides or {})}
    url = _ensure_queue(sqs, settings.node_queue_name(node_id), spec, settings)
    DynamoStore(region=settings.region).register_node(NodeModel(
        pool=settings.node_pool, node_id=node_id, queue_url=url, capacity_mb=capacity_mb,
        free_mb=capacity_mb, drained=False, http_address=http_address))
    return url


def ensure_sender_identity(settings: Settings) -> None:
    """R54: moto and LocalStack accept `ses.send_email` only from a verified identity (on AWS the
    stack creates it from the SenderEmailAddress parameter and its owner confirms the mail)."""
    boto3.client("ses", region_name=settings.region).verify_email_identity(EmailAddress=settings.sender_email)


def ensure_buckets(settings: Settings) -> list[str]:
    """The buckets of infra/resources.json ('<prefix>-<key>'; R48 abuse evidence), private."""
    s3 = boto3.client("s3", region_name=settings.region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    names = [f"{settings.resource_prefix}-{key}" for key in resources().get("buckets", {})]
    for name in names:
        if name not in existing:
            where = {} if settings.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": settings.region}}
            s3.create_bucket(Bucket=name, **where)
    return names


def ensure_all(settings: Settings) -> dict[str, str]:
    ensure_tables(settings)
    ensure_buckets(settings)
    ensure_sender_identity(settings)
    return ensure_queues(settings)
