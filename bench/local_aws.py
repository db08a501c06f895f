"""Shared by P5-P7: AWS's DynamoDB Local plus a moto server (SQS, SES), both children of the
measuring process on 127.0.0.1, stopped by PID; an AWS call recorder that also counts the items
DynamoDB reads return; Lambda handlers called as the event source mappings call them; table scans.

As P3 does, the measuring process re-runs itself inside a private network namespace (`unshare -n`,
loopback only) when the machine allows it, since DynamoDB Local listens on every interface.
Nothing here imports chalicelib at module level: the environment is set first (settings are read
once, at first import).
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from .common import CACHE, READ_OPS, ROOT, apply_env, lambda_like_env

INNER_TIMEOUT_SECONDS = 600


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`, which stops the servers by PID


def launch(module: str, passthrough: list[str], no_netns: bool, inner: Callable[[bool], int]) -> int:
    """Run `inner(isolated)` in a private network namespace when possible (re-running
    `python -m module --inner isolated ...passthrough` under `unshare -n`), else here."""
    from .ddb_local import prepare_dynamodb_local
    from .p3_capacity import netns_usable
    prepare_dynamodb_local(CACHE / "logs")  # fetch (npm) before leaving the network
    if not no_netns and netns_usable():
        command = ["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                   sys.executable, "-m", module, "--inner", "isolated", *passthrough]
        proc = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ))  # execs into the inner python (same PID)
        try:
            return proc.wait(timeout=INNER_TIMEOUT_SECONDS)
        except BaseException:  # timeout, Ctrl-C, SIGTERM: the inner process stops its servers on SIGTERM
            if proc.poll() is None:
                proc.send_signal(signal.SIGUSR1)  # its threads' stacks to stderr first (faulthandler)
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            raise
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    return inner(False)


@dataclass
class LocalAws:
    dynamodb_endpoint: str
    moto_endpoint: str
    dynamodb_pid: int
    moto_pid: int


@contextlib.contextmanager
def local_aws(prefix: str, name: str) -> Iterator[LocalAws]:
    """Start DynamoDB Local and a moto server (logs under bench/.cache/<name>/logs), point the
    environment at them (DynamoDB -> DynamoDB Local; SQS and SES -> moto) as a deployed function's
    (bench.common.lambda_like_env), and stop both by PID on exit, SIGTERM included."""
    import faulthandler
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: where every thread is
    from .ddb_local import dynamodb_local_server, moto_server
    workdir = CACHE / name
    ddb, moto = dynamodb_local_server(workdir), moto_server(workdir)
    try:
        ddb.start()
        moto.start()
        apply_env(lambda_like_env(prefix, {"AWS_ENDPOINT_URL_DYNAMODB": ddb.endpoint,
                                           "AWS_ENDPOINT_URL_SQS": moto.endpoint,
                                           "AWS_ENDPOINT_URL_SES": moto.endpoint,
                                           "AWS_ENDPOINT_URL_S3": moto.endpoint}))  # R48 evidence bucket
        yield LocalAws(ddb.endpoint, moto.endpoint, ddb.proc.pid, moto.proc.pid)
    finally:
        moto.stop()
        ddb.stop()


def quiet_logs() -> None:
    """Powertools' JSON log lines go to a counting sink: the benchmark prints only its figures."""
    import importlib

    from .common import CountingSink, silence_logs_into
    importlib.import_module("chalicelib.observability")  # creates the Powertools logger and its handler
    silence_logs_into(CountingSink())


# ---- AWS calls, with the items DynamoDB reads returned --------------------------------------

@dataclass
class ApiCall:
    service: str
    operation: str
    ok: bool
    error_code: Optional[str] = None
    items: int = 0          # items a read returned (Query/Scan Count, GetItem 0/1, batch/transact gets)
    scanned: int = 0        # items a Query/Scan evaluated (ScannedCount), = items without a filter
    reasons: tuple = ()     # TransactWriteItems cancellation reason codes, in request order
    params: Optional[dict] = None
    seconds: float = 0.0    # wall time of the call (HTTP round trip included)


def _items_returned(operation: str, response: dict) -> tuple[int, int]:
    if operation in ("Query", "Scan"):
        count = int(response.get("Count", len(response.get("Items", []))))
        return count, int(response.get("ScannedCount", count))
    if operation == "GetItem":
        n = 1 if response.get("Item") else 0
        return n, n
    if operation == "BatchGetItem":
        n = sum(len(v) for v in response.get("Responses", {}).values())
        return n, n
    if operation == "TransactGetItems":
        n = sum(1 for r in response.get("Responses", []) if r.get("Item"))
        return n, n
    return 0, 0


class ApiRecorder:
    """Every botocore call (boto3's clients and PynamoDB's), hooked at
    `botocore.client.BaseClient._make_api_call` as bench.common.CallRecorder does; it also keeps
    the number of items each DynamoDB read returned and the reason codes of a cancelled
    transaction. Calls from every thread go to the active recording."""

    def __init__(self, keep_params: Callable[[str, str], bool] = lambda service, operation: False) -> None:
        self.keep_params = keep_params
        self._active: Optional[list[ApiCall]] = None
        self._original: Any = None
        self._local = threading.local()

    def install(self) -> "ApiRecorder":
        from botocore.client import BaseClient
        from botocore.exceptions import ClientError
        if self._original is not None:
            return self
        original = self._original = BaseClient._make_api_call
        recorder = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict) -> Any:
            calls = recorder._active
            if calls is None or getattr(recorder._local, "paused", False):
                return original(client, operation_name, api_params)
            service = client.meta.service_model.service_name
            params = dict(api_params) if recorder.keep_params(service, operation_name) else None
            started = time.perf_counter()
            try:
                response = original(client, operation_name, api_params)
            except ClientError as exc:
                reasons = tuple(r.get("Code", "None") for r in exc.response.get("CancellationReasons", []) or [])
                calls.append(ApiCall(service, operation_name, False, exc.response.get("Error", {}).get("Code"),
                                     reasons=reasons, params=params, seconds=time.perf_counter() - started))
                raise
            except Exception as exc:
                calls.append(ApiCall(service, operation_name, False, type(exc).__name__, params=params,
                                     seconds=time.perf_counter() - started))
                raise
            items, scanned = (_items_returned(operation_name, response)
                              if service == "dynamodb" and operation_name in READ_OPS else (0, 0))
            calls.append(ApiCall(service, operation_name, True, None, items, scanned, params=params,
                                 seconds=time.perf_counter() - started))
            return response

        BaseClient._make_api_call = _make_api_call
        return self

    def uninstall(self) -> None:
        if self._original is not None:
            from botocore.client import BaseClient
            BaseClient._make_api_call = self._original
            self._original = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Calls made by this thread meanwhile are not recorded (the benchmark's own bookkeeping)."""
        previous, self._local.paused = getattr(self._local, "paused", False), True
        try:
            yield
        finally:
            self._local.paused = previous

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[ApiCall]]:
        calls: list[ApiCall] = []
        previous, self._active = self._active, calls
        try:
            yield calls
        finally:
            self._active = previous


def by_operation(calls: list[ApiCall]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in calls:
        key = f"{c.service}:{c.operation}" + ("" if c.ok else f"!{c.error_code}")
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


# ---- handlers, as Lambda's event source mappings call them ----------------------------------

class Handlers:
    """`app.handler_map[name](event, context)`: what chalice.test.Client's lambda_.invoke and the
    devstack runner call. Called directly because the test client swaps os.environ around each
    call, which is not safe from several threads at once."""

    def __init__(self) -> None:
        os.chdir(ROOT)
        from app import app
        self.app = app

    def sqs(self, function: str, queue_key: str, body: str, correlation_id: Optional[str] = None,
            receive_count: int = 1) -> dict:
        """One SQS record in one invocation; returns the handler's answer ({"batchItemFailures": [...]})."""
        from chalicelib.config import settings
        from devstack.runner import LambdaContext, sqs_event
        s = settings()
        attributes = ({"correlation_id": {"DataType": "String", "StringValue": correlation_id}}
                      if correlation_id else {})
        event = sqs_event([{"MessageId": str(uuid.uuid4()), "ReceiptHandle": "rh-0", "Body": body,
                            "Attributes": {"ApproximateReceiveCount": str(receive_count)},
                            "MessageAttributes": attributes}],
                          f"arn:aws:sqs:{s.region}:123456789012:{s.queue_name(queue_key)}", s.region)
        return self.app.handler_map[function](event, LambdaContext(function)) or {}


# ---- reading tables and queues back ----------------------------------------------------------

def scan_table(table: str) -> list[dict]:
    import boto3
    client = boto3.client("dynamodb")
    items: list[dict] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items += page["Items"]
    return items


class QueueCollector:
    """Consumes queues as their consumers would (receive, then delete), keeping every body for later
    steps. Needed on moto: its SendMessage reads the queue's attributes, whose approximate counts scan
    every message, so a queue nobody consumes makes each send slower (quadratic overall)."""

    def __init__(self, urls: dict[str, str], recorder: Optional[ApiRecorder] = None) -> None:
        import boto3
        self.sqs = boto3.client("sqs")
        self.urls = urls
        self.recorder = recorder
        self.messages: dict[str, list[dict]] = {key: [] for key in urls}
        self._lock = threading.Lock()

    def collect(self, *keys: str) -> None:
        paused = self.recorder.paused() if self.recorder is not None else contextlib.nullcontext()
        with self._lock, paused:
            for key in keys or tuple(self.urls):
                url = self.urls[key]
                while True:
                    got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=900,
                                                   MessageAttributeNames=["All"]).get("Messages", [])
                    if not got:
                        break
                    self.messages[key] += got
                    self.sqs.delete_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])

    def start(self, interval: float = 0.2) -> "QueueCollector":
        """Collect in a background thread from now on (as the queues' consumers would run)."""
        self._stop = threading.Event()

        def loop() -> None:
            while not self._stop.is_set():
                self.collect()
                self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="queue-collector", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if getattr(self, "_thread", None) is not None:
            self._stop.set()
            self._thread.join(timeout=60)
            self._thread = None

    def take(self, key: str) -> list[dict]:
        self.collect(key)
        with self._lock:
            taken, self.messages[key] = self.messages[key], []
        return taken


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"
