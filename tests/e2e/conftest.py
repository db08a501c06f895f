"""E2E tier: the whole devstack (AWS emulator, API, event runner, node agent) started for the session,
once per backend, so every test that uses `stack` runs on each (ids `[moto]`, `[dynamodb-local]`,
`[localstack]`; see devstack/backends.py):

  moto            the stack's own moto server
  dynamodb-local  DynamoDB on AWS's DynamoDB Local, SQS on the stack's moto server
  localstack      LocalStack 4.14 (host mode) for SQS and the rest, DynamoDB on DynamoDB Local

One backend's stack and emulators are stopped (by PID) before the next one starts. E2E_BACKENDS
(comma list) restricts which run. AWS_ENDPOINT_URL (and/or AWS_ENDPOINT_URL_DYNAMODB) given from
outside still mean "use this endpoint": the tier then runs once, as `[external]`, on it. A backend
that cannot start fails its tests with the reason; it is never skipped.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from datetime import datetime
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devstack.backends import BACKENDS, BackendError, backend
from devstack.stack import Stack, free_port

FAILING_DOMAINS = "fail-*"
EXTERNAL = "external"  # the backend id when AWS_ENDPOINT_URL(_DYNAMODB) come from outside


def e2e_backends() -> list[str]:
    if os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        return [EXTERNAL]
    chosen = [name.strip() for name in os.environ.get("E2E_BACKENDS", "").split(",") if name.strip()]
    return chosen or list(BACKENDS)  # an unknown name fails its tests (backend() says why)


@pytest.fixture(scope="session", params=e2e_backends())
def stack(request, tmp_path_factory):
    name = request.param
    workdir = Path(tmp_path_factory.mktemp(f"devstack-{name}"))
    with contextlib.ExitStack() as started:
        why = None
        try:
            if name == EXTERNAL:
                if os.environ.get("E2E_BACKENDS", "").strip():
                    raise BackendError("AWS_ENDPOINT_URL(_DYNAMODB) and E2E_BACKENDS are both set: the e2e tier "
                                       "either uses the given endpoint or starts its backends; unset one")
                endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
                dynamodb_endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None
            else:
                endpoint, dynamodb_endpoint = started.enter_context(backend(name, workdir))
            running = Stack(workdir=workdir, api_port=free_port(), node_http_port=free_port(),
                            endpoint=endpoint, dynamodb_endpoint=dynamodb_endpoint,
                            resource_prefix=f"soho-e2e-{os.getpid()}", node_fail_domains=FAILING_DOMAINS)
            running.start(timeout=120)
            started.callback(running.stop)
        except Exception as error:
            why = f"e2e backend {name!r} could not start: {type(error).__name__}: {error}"
        if why:
            pytest.fail(why, pytrace=False)  # fail, never skip: the reason is the message
        yield running


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


def wait_until(check, what: str, timeout: float = 60, describe=None):
    """`check()`'s first truthy result within `timeout` seconds; else fails, saying what
    `describe()` (if given) shows of the state at the end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what}: not after {timeout}s" + (f"; last seen: {describe()}" if describe else ""))


def set_clock(api, moment: datetime) -> None:
    status, body = api.call("POST", "/dev/clock", {"set": moment.isoformat()}, operator=True)
    assert status == 200, body


def mails(api, to: str) -> list[dict]:
    status, body = api.call("GET", f"/dev/mail?to={to}", operator=True)
    assert status == 200, body
    return body["messages"]


def templates(api, to: str) -> list[str]:
    return sorted(m["template"] for m in mails(api, to))

