"""The audit that keeps the IAM policies in step with the code (tests/integration/iam_audit.py)."""
from __future__ import annotations

import copy
import json

from chalicelib.config import settings
from tests.helpers import professional_order
from tests.integration.iam_audit import _policies, denied, required_permissions


def test_the_audit_names_the_calls_a_handler_makes_that_its_policy_would_deny(client, iam_audit):
    assert client.http.get("/health").status_code in (200, 503)
    made = {(c.function, c.service, c.operation) for c in iam_audit}
    assert {("api_handler", "dynamodb", "Query"), ("api_handler", "sqs", "GetQueueUrl")} <= made
    assert denied(iam_audit) == []
    narrower = copy.deepcopy(_policies())
    statements = narrower["api_handler"]["Statement"]
    narrower["api_handler"]["Statement"] = [s for s in statements if s["Sid"] != "TableNodes"]
    assert denied(iam_audit, narrower) == [
        f"api_handler: dynamodb:Query on arn:aws:dynamodb:eu-west-3:123456789012:table/{settings().table_name('nodes')}"]


def test_R09_R56_an_order_transaction_is_authorised_item_by_item(client, iam_audit):
    answer = client.http.post("/orders", body=json.dumps(professional_order()),
                              headers={"Content-Type": "application/json"})
    assert answer.status_code == 201
    [transaction] = [c for c in iam_audit if c.operation == "TransactWriteItems"]
    needed = set(required_permissions(transaction))
    table = "arn:aws:dynamodb:eu-west-3:123456789012:table/{}".format
    assert {("dynamodb:PutItem", table(settings().table_name(key)))
            for key in ("customers", "orders", "contracts", "invoices", "domains", "evidence")} <= needed
    assert ("dynamodb:UpdateItem", table(settings().table_name("meta"))) in needed
