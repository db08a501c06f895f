"""moto server with its DynamoDB requests serialized: `python -m devstack.moto_server -H 127.0.0.1 -p PORT`.

moto 5.2's TransactWriteItems snapshots the tables it touches (a deep copy) and, when a condition
fails, puts the snapshot back. Under concurrent requests (the event runner's pollers, the API's
threads) a failing transaction thus restores tables as they were before writes another thread
committed meanwhile: a lost update that DynamoDB never makes (seen here as an invoice paid by an
event whose contract never moved, when duplicate deliveries of a payment raced). DynamoDB isolates
transactions; one lock around moto's DynamoDB handler gives the local emulator the same guarantee.
DynamoDB Local and LocalStack need no such help. It also lets the mailbox ask moto for the SES
models only (`/moto-api/data.json?service=ses`), see `_model_data`.
"""
from __future__ import annotations

import sys
import threading

from moto.dynamodb.responses import DynamoHandler

_DYNAMODB = threading.RLock()
_call_action = DynamoHandler.call_action


def _serialized_call_action(self):  # type: ignore[no-untyped-def]
    with _DYNAMODB:
        return _call_action(self)


DynamoHandler.call_action = _serialized_call_action  # type: ignore[method-assign]


def _model_data(self, request, full_url, headers):  # type: ignore[no-untyped-def]
    """`GET /moto-api/data.json?service=ses`: the models of the services named only. moto dumps
    every model instance it ever tracked (every DynamoDB item written, too), which takes seconds
    once a long e2e run has written thousands; the mailbox (devstack/mailbox.py) needs SES only.
    Without `service`, the whole dump, as moto does."""
    import json
    from urllib.parse import parse_qs, urlparse

    from moto.core.model_instances import model_data
    wanted = set(parse_qs(urlparse(full_url).query).get("service", []))
    if not wanted:
        return _all_model_data(self, request, full_url, headers)
    results: dict = {}
    for service in sorted(s for s in model_data if s in wanted):
        results[service] = {}
        for name, model in sorted(model_data[service].items()):
            results[service][name] = []
            for instance in model.instances_tracked:
                fields = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except (TypeError, AttributeError, ValueError):
                        continue
                    fields[attr] = value
                results[service][name].append(fields)
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


from moto.moto_api._internal.responses import MotoAPIResponse  # noqa: E402

_all_model_data = MotoAPIResponse.model_data
MotoAPIResponse.model_data = _model_data  # type: ignore[method-assign]


if __name__ == "__main__":
    from moto.server import main
    main(sys.argv[1:])
