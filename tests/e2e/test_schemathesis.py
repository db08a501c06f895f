"""Property-based testing of the whole HTTP API from its own document (issue 6, item 6).

Schemathesis 4 reads GET /openapi.json of the running devstack and generates requests for every
operation, valid ones (positive) and invalid ones (negative: wrong types, missing fields, values out
of range...). At least TARGET_CALLS requests are sent in all, and:
- no answer is a 5xx (every 5xx is a bug: a handler or a model lets something through);
- every 4xx answered has our error shape, error.code and error.message (custom check `error_shape`).

To reach the handlers and not only the gates in front of them (R04, R06: the authorization
middleware refuses anything else with 401/403):
- operator and development routes get the operator key;
- this test places and pays a consumer order of its own customer and signs its subscriber in
  (credentials read from the mail the emulator sent). Half of the requests of an operation whose
  path names an order, contract, invoice, customer or login use those ids, the order-holder routes
  with the order token; three quarters of those of a customer route carry the customer's access
  token. The rest keep the bearer token schemathesis generates for the security scheme (token
  parsing, the 401s) and random ids (the 404s);
- half of the positive requests to the payment webhook are signed with the stack's secret, so what
  lies behind the signature check is exercised too.
Schemathesis' negative cases may drop the Authorization header: those answer 401, as they should.

One backend only: the tier's `stack` fixture runs every test on each backend (moto, dynamodb-local,
localstack); this one is about the API, not the emulators, so it runs on the first chosen backend
(moto by default; the external endpoint when AWS_ENDPOINT_URL is given) and stays well under 90 s.

Operations left out, because the stack is shared with the other e2e tests of the session:
- POST /dev/clock moves the business clock of the whole stack forward (never back): every later
  test would run months or years in the future;
- throttled operations (those that document 429, e.g. POST /auth/login, POST /auth/password-reset):
  their failed attempts count against the client address, 127.0.0.1 for every test, so hundreds of
  wrong logins would lock the other tests' logins out for the throttle window.
The other mutating operations only touch objects that this test created, or ids that do not exist.
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

from tests.e2e.conftest import Api, e2e_backends

TARGET_CALLS = max(2000, int(os.environ.get("E2E_SCHEMATHESIS_CALLS") or 0))  # more for a deeper run
ONE_BACKEND = "moto" if "moto" in e2e_backends() else e2e_backends()[0]

EXCLUDED = {
    ("POST", "/dev/clock"): "moves the shared business clock forward for every later test",
}
THROTTLED = "429"  # a documented 429: attempts are counted per client address, shared by all tests
WEBHOOK = ("POST", "/webhooks/payments")

pytestmark = pytest.mark.e2e


def excluded_because(method: str, path: str, definition: dict) -> Optional[str]:
    if (method, path) in EXCLUDED:
        return EXCLUDED[(method, path)]
    if THROTTLED in definition.get("responses", {}):
        return "throttled per client address (documents 429): would lock the other tests out"
    return None


@dataclass
class Tally:
    calls: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    by_operation: dict[str, int] = field(default_factory=dict)
    failures: dict[tuple[str, int, str], str] = field(default_factory=dict)  # (operation, status, what) -> curl

    def count(self, label: str, status: int) -> None:
        self.calls += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        self.by_operation[label] = self.by_operation.get(label, 0) + 1

    def fail(self, label: str, status: int, what: str, curl: str) -> None:
        self.failures.setdefault((label, status, what[:400]), curl)


def error_shape(ctx, response, case):
    """Custom check: a 4xx answer is JSON {"error": {"code": str, "message": str, ...}}."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        raise AssertionError(f"{response.status_code} answer is not JSON: {response.content[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"]
            and isinstance(error.get("message"), str)):
        raise AssertionError(f"{response.status_code} answer without error.code/error.message: {body!r:.300}")
    return None


class OwnCustomer:
    """This test's own customer: a paid consumer order (its ids and order token) and a session of its
    subscriber login (credentials read from the mail the emulator sent). Generated requests may erase
    the customer, report its credentials lost or log it out; `ensure` signs in again, or makes a new
    customer, so the next operation still gets a valid token."""

    def __init__(self, stack) -> None:
        self.stack, self.api, self.made = stack, Api(stack), 0
        self.ids: dict[str, str] = {}
        self.password = ""

    def new(self) -> None:
        from devstack.pay import payment_succeeded_event, post_webhook, sign
        from tests.helpers import consumer_order
        self.made += 1
        email = f"fuzz{self.made}-{self.stack.resource_prefix}@schemathesis-e2e.fr"
        status, order = self.api.call("POST", "/orders", consumer_order(
            domain_name=f"e2e-schemathesis-{self.made}.fr", customer={"email": email}))
        assert status == 201, order
        payload = payment_succeeded_event(order["invoice"]["id"], order["invoice"]["total_cents"],
                                          contract_id=order["contract_id"])
        assert post_webhook(self.stack.api_url, payload, sign(payload, self.stack.webhook_secret))[0] == 200
        contract = self.api.wait_contract(order["contract_id"], {"active", "provisioning_failed"})
        login, self.password = self._credentials(email)
        self.ids.clear()  # in place: the test keeps a reference
        self.ids.update(order_id=order["order_id"], contract_id=order["contract_id"],
                        invoice_id=order["invoice"]["id"], customer_id=contract["customer_id"], login=login,
                        order_token=order["order_token"], access_token="")
        assert self._sign_in(), f"the new customer {login} cannot sign in"

    def _credentials(self, email: str) -> tuple[str, str]:
        from devstack.mailbox import sent_mails
        from tests.e2e.conftest import wait_until
        pattern = re.compile(r"identifiant : (sh-\S+)\n- mot de passe : (\S+)")
        found = wait_until(lambda: [m for m in (pattern.search(mail["body"]) for mail in
                                                sent_mails(self.stack.endpoint, email)) if m],
                           f"credentials mail to {email}")
        return found[-1].group(1), found[-1].group(2)

    def _sign_in(self) -> bool:
        status, session = self.api.call("POST", "/auth/login", {"login": self.ids["login"],
                                                                "password": self.password})
        self.ids["access_token"] = session.get("access_token", "") if status == 200 else ""
        return status == 200

    def ensure(self) -> None:
        if self.ids and self.ids["access_token"]:
            token = {"Authorization": f"Bearer {self.ids['access_token']}"}
            if self.api.call("GET", "/me/contracts", headers=token)[0] == 200:
                return
        if not (self.ids and self._sign_in()):
            self.new()


@pytest.mark.parametrize("stack", [ONE_BACKEND], indirect=True)
def test_schemathesis_2000_generated_requests_no_5xx_and_every_4xx_in_our_error_shape(stack):
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.core import NotSet
    from schemathesis.core.failures import Failure, FailureGroup
    from schemathesis.core.result import Ok

    from devstack.pay import sign

    started = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")
    operations, skipped = [], {}
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):  # an operation schemathesis cannot read is a fault of the document
            pytest.fail(f"schemathesis cannot read an operation of /openapi.json: {result.err()}")
        operation = result.ok()
        why = excluded_because(operation.method.upper(), operation.path, operation.definition.raw)
        if why:
            skipped[operation.label] = why
        else:
            operations.append(operation)
    assert "POST /dev/clock" in skipped and len(operations) >= 20, (skipped, len(operations))

    customer = OwnCustomer(stack)
    customer.new()
    known = customer.ids  # updated in place when `ensure` makes a new customer
    operator = {"Authorization": f"Bearer {stack.operator_key}"}
    tally = Tally()

    def schemes(operation) -> set[str]:
        return {name for requirement in operation.definition.raw.get("security", []) for name in requirement}

    def path_names(operation) -> set[str]:
        return {p["name"] for p in operation.definition.raw.get("parameters", []) if p.get("in") == "path"}

    def headers_for(operation, own: bool) -> dict[str, str]:
        if "operatorKey" in schemes(operation):
            return operator
        if own and "orderToken" in schemes(operation):
            return {"Authorization": f"Bearer {known['order_token']}"}
        if own and "customerToken" in schemes(operation):
            return {"Authorization": f"Bearer {known['access_token']}"}
        return {}  # the bearer token schemathesis generates for the operation's scheme, or none

    def own_applies(operation) -> bool:
        """Worth a run with this test's own ids and tokens: a customer route, or a path naming them."""
        return "customerToken" in schemes(operation) or bool(path_names(operation) & set(known))

    def send(operation, case, headers: dict[str, str], signed: bool) -> Any:
        if not signed:
            return case.call(headers=headers, timeout=20)
        raw = b"" if isinstance(case.body, NotSet) else json.dumps(case.body).encode()
        return requests.post(f"{stack.api_url}{case.formatted_path}", data=raw, timeout=20, headers={
            "Content-Type": "application/json", "Stripe-Signature": sign(raw, stack.webhook_secret)})

    def reproduce(case, headers: dict[str, str], signed: bool) -> str:
        """The curl command (schemathesis masks secrets in it) and the body as sent."""
        body = "" if isinstance(case.body, NotSet) else f"\n    body: {json.dumps(case.body)[:500]}"
        return case.as_curl_command(headers=headers) + (" (body signed)" if signed else "") + body

    def run(operation, mode, examples: int, own: bool = False) -> None:
        if own and "customerToken" in schemes(operation):
            customer.ensure()
        headers = headers_for(operation, own)
        path_parameters = {name: known[name] for name in path_names(operation) if name in known} if own else None
        webhook = (operation.method.upper(), operation.path) == WEBHOOK and mode == GenerationMode.POSITIVE
        flip = iter(range(10**9))

        @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        def exercise(case) -> None:
            signed = webhook and next(flip) % 2 == 0
            try:
                response = send(operation, case, headers, signed)
            except Exception as error:  # no answer at all: the server died or hung
                tally.count(operation.label, 0)
                tally.fail(operation.label, 0, f"no answer: {type(error).__name__}: {error}",
                           reproduce(case, headers, signed))
                return
            tally.count(operation.label, response.status_code)
            try:
                case.validate_response(response, checks=[not_a_server_error, error_shape], headers=headers)
            except FailureGroup as group:
                for failure in group.exceptions:
                    tally.fail(operation.label, response.status_code, f"{failure.title}: {failure.message}",
                               reproduce(case, headers, signed))
            except (Failure, AssertionError) as failure:
                tally.fail(operation.label, response.status_code, str(failure), reproduce(case, headers, signed))

        exercise()

    def run_both(operation, examples: int, own: bool = False) -> None:
        before = tally.calls
        run(operation, GenerationMode.POSITIVE, math.ceil(examples / 2), own)
        try:
            run(operation, GenerationMode.NEGATIVE, max(1, examples - (tally.calls - before)), own)
        except Unsatisfiable as error:  # nothing to negate: no input, or a path parameter only
            if tally.calls == before:
                raise AssertionError(f"{operation.label}: no request could be generated: {error}") from error

    # The budget per operation comes from the number of operations, adjusted as the run goes: an
    # operation without input (GET /health) is exhausted after one request.
    goal = math.ceil(TARGET_CALLS * 1.05)
    for index, operation in enumerate(operations):
        budget = max(2, math.ceil((goal - tally.calls) / (len(operations) - index)))
        if own_applies(operation):
            # a generated token only ever meets the 401 of the middleware: a quarter of the budget is enough
            share = 0.25 if "customerToken" in schemes(operation) else 0.5
            run_both(operation, math.ceil(budget * share))
            run_both(operation, budget - math.ceil(budget * share), own=True)
        else:
            run_both(operation, budget)
    elapsed = time.monotonic() - started

    summary = (f"{tally.calls} requests over {len(operations)} operations in {elapsed:.1f}s; statuses "
               f"{dict(sorted(tally.by_status.items()))}; left out: {skipped}")
    print(summary)
    server_errors = sum(n for status, n in tally.by_status.items() if status >= 500 or status == 0)
    problems = "\n".join(f"- {label} -> {status}: {what}\n    {curl}"
                         for (label, status, what), curl in sorted(tally.failures.items()))
    assert not tally.failures, (f"{len(tally.failures)} distinct failures ({server_errors} answers 5xx or none); "
                                f"{summary}\n{problems}")
    assert server_errors == 0, summary
    assert tally.calls >= TARGET_CALLS, summary
