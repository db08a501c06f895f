"""moto server with its DynamoDB requests serialized: `python -m devstack.moto_server -H 127.0.0.1 -p PORT`.

moto 5.2's TransactWriteItems snapshots the tables it touches (a deep copy) and, when a condition
fails, puts the snapshot back. Under concurrent requests (the event runner's pollers, the API's
threads) a failing transaction thus restores tables as they were before writes another thread
committed meanwhile: a lost update that DynamoDB never makes (seen here as an invoice paid by an
event whose contract never moved, when duplicate deliveries of a payment raced). DynamoDB isolates
transactions; one lock around moto's DynamoDB handler gives the local emulator the same guarantee.
DynamoDB Local and LocalStack need no such help.
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


if __name__ == "__main__":
    from moto.server import main
    main(sys.argv[1:])
