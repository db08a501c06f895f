"""E2E tier: the whole devstack (moto server, API, event runner, node agent) started for the session.

AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_DYNAMODB) select another AWS-compatible endpoint; by
default the stack starts its own moto server. Every process is stopped by PID at the end.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devstack.stack import Stack, free_port

FAILING_DOMAINS = "fail-*"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    workdir = Path(tmp_path_factory.mktemp("devstack"))
    running = Stack(workdir=workdir, api_port=free_port(), node_http_port=free_port(),
                    endpoint=os.environ.get("AWS_ENDPOINT_URL") or None,
                    dynamodb_endpoint=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None,
                    resource_prefix=f"soho-e2e-{os.getpid()}", node_fail_domains=FAILING_DOMAINS)
    running.start(timeout=120)
    yield running
    running.stop()


class Api:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def call(self, method: str, path: str, body=None, headers=None, operator=False):
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if operator:
            all_headers["Authorization"] = f"Bearer {self.stack.operator_key}"
        request = urllib.request.Request(self.stack.api_url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def contract(self, contract_id: str) -> dict:
        return self.call("GET", f"/admin/contracts/{contract_id}", operator=True)[1]

    def wait_contract(self, contract_id: str, states: set[str], timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            contract = self.contract(contract_id)
            if contract["status"] in states:
                return contract
            time.sleep(0.3)
        raise AssertionError(f"contract {contract_id} still {contract['status']} after {timeout}s")


@pytest.fixture(scope="session")
def api(stack):
    return Api(stack)


def site(stack: Stack, host: str, path: str = "/") -> tuple[int, str]:
    request = urllib.request.Request(stack.node_url + path, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
