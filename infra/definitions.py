"""Reads infra/resources.json: the one definition of tables and queues for local and AWS."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESOURCES_PATH = Path(__file__).with_name("resources.json")


def resources() -> dict[str, Any]:
    return json.loads(RESOURCES_PATH.read_text(encoding="utf-8"))


def _attribute(key: list[str]) -> dict[str, str]:
    return {"AttributeName": key[0], "AttributeType": key[1]}


def table_spec(physical_name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """CreateTable parameters (also the shape of an AWS::DynamoDB::Table's properties)."""
    keys = [("HASH", spec["hash_key"])] + ([("RANGE", spec["range_key"])] if "range_key" in spec else [])
    attributes = {k[0]: _attribute(k) for _, k in keys}
    indexes = []
    for index_name, index in spec.get("indexes", {}).items():
        index_keys = [("HASH", index["hash_key"])] + ([("RANGE", index["range_key"])] if "range_key" in index else [])
        attributes.update({k[0]: _attribute(k) for _, k in index_keys})
        indexes.append({"IndexName": index_name,
                        "KeySchema": [{"AttributeName": k[0], "KeyType": t} for t, k in index_keys],
                        "Projection": {"ProjectionType": "ALL"}})
    params: dict[str, Any] = {
        "TableName": physical_name,
        "KeySchema": [{"AttributeName": k[0], "KeyType": t} for t, k in keys],
        "AttributeDefinitions": list(attributes.values()),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        params["GlobalSecondaryIndexes"] = indexes
    return params


def ttl_specification(spec: dict[str, Any]) -> dict[str, Any] | None:
    """A table definition may name a `ttl` attribute (epoch seconds): DynamoDB deletes expired items."""
    return {"AttributeName": spec["ttl"], "Enabled": True} if spec.get("ttl") else None


def queue_attributes(spec: dict[str, Any], dead_letter_arn: str | None) -> dict[str, str]:
    attributes = {}
    if "visibility_timeout" in spec:
        attributes["VisibilityTimeout"] = str(spec["visibility_timeout"])
    if "retention_seconds" in spec:
        attributes["MessageRetentionPeriod"] = str(spec["retention_seconds"])
    if dead_letter_arn:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(spec["max_receive_count"])})
    return attributes
