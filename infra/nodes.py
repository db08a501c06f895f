"""Hosting nodes of a deployed stage: register one, print its agent's IAM policy.

    python -m infra.nodes register --stage prod --node-id web-01 --capacity-mb 500000 \\
        --http-address http://203.0.113.10
    python -m infra.nodes policy --stage prod --node-id web-01

`register` does on AWS what devstack does locally (devstack.resources.register_node, the same
code): it creates the node's command queue `<prefix>-node-<node_id>-commands`, redriven to the
stage's shared node-commands dead-letter queue after `max_receive_count` tries (R30, from
infra/resources.json), and writes the node's row (pool, capacity, queue URL) in the nodes table,
keeping its allocations when the node is already known. It prints the queue URLs the node agent
needs. Run it with the operator's AWS credentials, once the stage's stack exists.

`policy` prints the least-privilege policy of the node agent's own IAM principal: read, delete and
delay messages on its command queue, send results and heartbeats to the results queue.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Optional

from .iam import queue_arn
from .stages import chalice_config, resource_prefix, stage_environment

DEFAULT_REGION = "eu-west-3"
NODE_AGENT_COMMAND_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility")


def stage_settings(stage: str, region: str) -> Any:
    """The Settings a deployed function of `stage` has, minus its secrets (this CLI reads none)."""
    from chalicelib.config import Settings
    env = {**stage_environment(chalice_config(), stage), "AWS_DEFAULT_REGION": region, "SOHO_LOCAL_MODE": "1"}
    return Settings.from_env(env)


def register(settings: Any, node_id: str, capacity_mb: int, http_address: str) -> dict[str, str]:
    import boto3

    from chalicelib.config import settings as process_settings
    from devstack.resources import register_node
    # The PynamoDB models take their table names from this process's settings at import time.
    if process_settings().resource_prefix != settings.resource_prefix:
        raise RuntimeError(f"chalicelib was loaded for the prefix {process_settings().resource_prefix!r}, "
                           f"not {settings.resource_prefix!r}: register from a fresh process")
    commands_url = register_node(settings, node_id, capacity_mb, http_address)
    sqs = boto3.client("sqs", region_name=settings.region)
    results_url = sqs.get_queue_url(QueueName=settings.queue_name("node-results"))["QueueUrl"]
    return {"node_id": node_id, "pool": settings.node_pool, "commands_queue_url": commands_url,
            "results_queue_url": results_url}


def node_agent_policy(settings: Any, node_id: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "OwnCommandQueue", "Effect": "Allow", "Action": list(NODE_AGENT_COMMAND_ACTIONS),
         "Resource": queue_arn(settings.node_queue_name(node_id))},
        {"Sid": "ResultsQueue", "Effect": "Allow", "Action": ["sqs:SendMessage"],
         "Resource": queue_arn(settings.queue_name("node-results"))},
    ]}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="infra.nodes", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    reg = commands.add_parser("register", help="create the node's command queue and its row")
    pol = commands.add_parser("policy", help="print the node agent's IAM policy")
    for sub in (reg, pol):
        sub.add_argument("--stage", required=True)
        sub.add_argument("--node-id", required=True)
        sub.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION")
                         or os.environ.get("AWS_REGION") or DEFAULT_REGION)
    reg.add_argument("--capacity-mb", type=int, required=True)
    reg.add_argument("--http-address", required=True, help="where the node serves sites, e.g. http://203.0.113.10")
    args = parser.parse_args(argv)
    if args.command == "policy":
        print(json.dumps(node_agent_policy(stage_settings(args.stage, args.region), args.node_id), indent=2))
        return 0
    # Before chalicelib's models load: they name their tables after this process's settings. This
    # process serves nothing and reads no secret: local mode only lifts chalicelib.config's secret check.
    os.environ.update({"SOHO_RESOURCE_PREFIX": resource_prefix(chalice_config(), args.stage),
                       "SOHO_STAGE": args.stage, "SOHO_LOCAL_MODE": "1", "AWS_DEFAULT_REGION": args.region})
    node = register(stage_settings(args.stage, args.region), args.node_id, args.capacity_mb, args.http_address)
    print(json.dumps(node, indent=2))
    print(f"\nOn the node: python -m nodeagent --node-id {args.node_id} "
          f"--commands-queue-url {node['commands_queue_url']} --results-queue-url {node['results_queue_url']}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
