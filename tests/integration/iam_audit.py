"""The IAM policies follow the code: an AWS call a handler makes here must be one its policy allows.

`iam_audit` (autouse in this tier) records every botocore call made while a Lambda function runs
through `chalice.test.Client` (HTTP routes run as `api_handler`, `client.lambda_.invoke(name)` as
`name`), maps each to the IAM action and resource ARN AWS authorises it with, and fails the test
at teardown when the function's generated policy (infra/iam.py, with this tier's prefix) would
deny one. Calls made by fixtures and assertions, outside a handler, are not audited.
"""
from __future__ import annotations

import contextvars
import functools
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any, Callable, Optional
from urllib.parse import urlparse

import botocore.client
import pytest
from chalice import test as chalice_test

from infra.iam import policy_allows, stage_policies
from infra.stages import API_HANDLER

ACCOUNT = "123456789012"  # moto's account; the policies leave region and account as wildcards
TRANSACT_WRITE_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                          "ConditionCheck": "ConditionCheckItem"}

_running: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("lambda_function", default=None)


@dataclass(frozen=True)
class AwsCall:
    function: str
    service: str  # the IAM service prefix (botocore's signing name)
    operation: str
    region: str
    params: dict[str, Any] = field(hash=False, compare=False)


def required_permissions(call: AwsCall) -> list[tuple[str, str]]:
    """The (action, resource ARN) pairs IAM authorises `call` with."""
    params, where = call.params, f"{call.region}:{ACCOUNT}"
    if call.service == "dynamodb":
        def table(name: str) -> str:
            return f"arn:aws:dynamodb:{where}:table/{name}"
        if call.operation == "TransactWriteItems":  # authorised item by item
            return [(f"dynamodb:{TRANSACT_WRITE_ACTIONS[kind]}", table(body["TableName"]))
                    for item in params["TransactItems"] for kind, body in item.items()]
        if call.operation == "TransactGetItems":
            return [("dynamodb:GetItem", table(item["Get"]["TableName"])) for item in params["TransactItems"]]
        if call.operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{call.operation}", table(name)) for name in params["RequestItems"]]
        index = f"/index/{params['IndexName']}" if params.get("IndexName") else ""
        return [(f"dynamodb:{call.operation}", table(params["TableName"]) + index)]
    if call.service == "sqs":
        name = params.get("QueueName") or urlparse(params["QueueUrl"]).path.rstrip("/").rsplit("/", 1)[-1]
        return [(f"sqs:{call.operation}", f"arn:aws:sqs:{where}:{name}")]
    if call.service == "ses" and call.operation in ("SendEmail", "SendRawEmail"):
        # R54: authorised on the sender's identity (the address; the stack verifies the address itself)
        return [(f"ses:{call.operation}", f"arn:aws:ses:{where}:identity/{parseaddr(params['Source'])[1]}")]
    return [(f"{call.service}:{call.operation}", "*")]


@functools.lru_cache(maxsize=1)
def _policies() -> dict[str, dict[str, Any]]:
    from app import app
    from chalicelib.config import settings
    from infra.appinfo import describe
    return stage_policies(describe(app), app_name=app.app_name, stage="integration",
                          prefix=settings().resource_prefix, sender_email=settings().sender_email)


def denied(calls: list[AwsCall], policies: Optional[dict[str, dict[str, Any]]] = None) -> list[str]:
    policies = _policies() if policies is None else policies
    refusals = []
    for call in calls:
        for action, resource in required_permissions(call):
            policy = policies.get(call.function)
            if policy is None or not policy_allows(policy, action, resource):
                refusals.append(f"{call.function}: {action} on {resource}")
    return sorted(set(refusals))


def _running_as(name_of: Callable[..., str], method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = _running.set(name_of(*args, **kwargs))
        try:
            return method(self, *args, **kwargs)
        finally:
            _running.reset(token)
    return wrapper


@pytest.fixture(autouse=True)
def iam_audit(monkeypatch: pytest.MonkeyPatch) -> Any:
    calls: list[AwsCall] = []
    make_api_call = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        function = _running.get()
        if function is not None:
            calls.append(AwsCall(function, client.meta.service_model.signing_name, operation_name,
                                 client.meta.region_name, dict(api_params)))
        return make_api_call(client, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    monkeypatch.setattr(chalice_test.TestHTTPClient, "request",
                        _running_as(lambda *a, **k: API_HANDLER, chalice_test.TestHTTPClient.request))
    monkeypatch.setattr(chalice_test.TestLambdaClient, "invoke",
                        _running_as(lambda function_name, *a, **k: function_name, chalice_test.TestLambdaClient.invoke))
    yield calls
    refusals = denied(calls)
    assert not refusals, ("IAM would deny these calls made by the code (declare them in ACCESS in infra/iam.py, "
                          "then run `python -m infra.iam`):\n  " + "\n  ".join(refusals))
