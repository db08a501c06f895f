"""Registering a hosting node of a deployed stage (infra/nodes.py), against moto."""
from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.config import Settings, settings
from infra.definitions import resources
from infra.iam import policy_allows
from infra.nodes import node_agent_policy, register, stage_settings


def test_R30_R31_registering_a_node_creates_its_redriven_queue_and_its_row(aws, services):
    s = settings()
    node = register(s, "web-07", 300_000, "http://203.0.113.7")
    sqs = boto3.client("sqs", region_name=s.region)
    assert node["commands_queue_url"] == sqs.get_queue_url(QueueName=s.node_queue_name("web-07"))["QueueUrl"]
    assert node["results_queue_url"] == aws["queues"]["node-results"]
    attributes = sqs.get_queue_attributes(QueueUrl=node["commands_queue_url"], AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":" + s.queue_name("node-commands-dlq"))
    assert int(redrive["maxReceiveCount"]) == resources()["node_command_queue"]["max_receive_count"]
    row = services.store.get_node(s.node_pool, "web-07")
    assert (int(row.capacity_mb), int(row.free_mb), row.queue_url) == (300_000, 300_000, node["commands_queue_url"])


def test_registering_refuses_a_stage_other_than_the_one_the_models_were_loaded_for(aws):
    with pytest.raises(RuntimeError, match="fresh process"):
        register(Settings(resource_prefix="soho-elsewhere"), "web-07", 1, "http://203.0.113.7")


def test_the_node_agent_policy_reaches_its_own_queue_and_the_results_queue_only():
    s = stage_settings("prod", "eu-west-3")
    assert s.resource_prefix == "soho-prod"
    policy = node_agent_policy(s, "web-07")
    arn = "arn:aws:sqs:eu-west-3:123456789012:{}".format
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        assert policy_allows(policy, action, arn(s.node_queue_name("web-07")))
        assert not policy_allows(policy, action, arn(s.node_queue_name("web-08")))
    assert policy_allows(policy, "sqs:SendMessage", arn(s.queue_name("node-results")))
    assert not policy_allows(policy, "sqs:SendMessage", arn(s.queue_name("payment-events")))
