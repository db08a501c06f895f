"""Shared pieces of the benchmarks: environment, the AWS call recorder, log sink, small stats.

Nothing here imports chalicelib at module level: each benchmark sets the environment first
(settings are read once, at first import), then imports the app.
"""
from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache"          # git-ignored (bench/.gitignore): DynamoDB Local, figures handed to P4
REGION = "eu-west-3"
WEBHOOK_SECRET = "whsec_bench_secret"
OPERATOR_KEY = "op_bench_key"

READ_OPS = frozenset({"GetItem", "Query", "Scan", "TransactGetItems", "BatchGetItem"})
WRITE_OPS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
DATA_OPS = READ_OPS | WRITE_OPS


def chalice_environment(stage: str = "prod") -> dict[str, str]:
    """The environment variables .chalice/config.json gives a deployed function of `stage`."""
    try:
        config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    env = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return {k: str(v) for k, v in env.items()}


def lambda_like_env(prefix: str, endpoints: Optional[dict[str, str]] = None,
                    base: Optional[dict[str, str]] = None) -> dict[str, str]:
    """An environment as a deployed function sees it (SOHO_LOCAL_MODE=0, secrets set), with
    fake credentials and, optionally, per-service endpoints (AWS_ENDPOINT_URL_DYNAMODB, ...)."""
    env = dict(os.environ if base is None else base)
    for key in [k for k in env if k.startswith("AWS_ENDPOINT_URL")]:
        del env[key]
    env.update(chalice_environment("prod"))
    env.update({
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION, "SOHO_RESOURCE_PREFIX": prefix, "SOHO_LOCAL_MODE": "0",
        "PAYMENT_WEBHOOK_SECRET": WEBHOOK_SECRET, "OPERATOR_API_KEY": OPERATOR_KEY,
        "SOHO_FTP_PASSWORD_SECRET": "bench-ftp-password-secret",
        "SOHO_AUTH_TOKEN_SECRET": "bench-auth-token-secret-of-32-bytes!",
        "SOHO_NODE_API_SECRET": "bench-node-api-secret",
        "PYTHONDONTWRITEBYTECODE": env.get("PYTHONDONTWRITEBYTECODE", ""),
    })
    env.pop("AWS_PROFILE", None)
    env.update(endpoints or {})
    return {k: v for k, v in env.items() if v != ""}


def apply_env(env: dict[str, str]) -> None:
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[key]
    os.environ.update(env)


# ---- AWS call recording ---------------------------------------------------------------------

@dataclass
class Call:
    service: str
    operation: str
    ok: bool
    error_code: Optional[str] = None
    capacity: list[dict] = field(default_factory=list)   # ConsumedCapacity entries as returned

    @property
    def kind(self) -> str:
        if self.service != "dynamodb":
            return "other"
        return "read" if self.operation in READ_OPS else "write" if self.operation in WRITE_OPS else "other"


class CallRecorder:
    """Counts every botocore API call by service and operation, with botocore event hooks.

    Every client created after `install()` (boto3's, and the ones PynamoDB makes from its own
    botocore session) gets three handlers on its event emitter: `before-parameter-build.dynamodb`
    asks for ReturnConsumedCapacity=TOTAL when the caller did not (PynamoDB already does),
    `after-call` records a completed call with its consumed capacity, `after-call-error` one that
    failed before an answer. Moto's in-process mock answers below these events (before-send), so
    calls are counted the same on moto, DynamoDB Local or AWS. Build services after installing."""

    def __init__(self, ask_capacity: bool = True) -> None:
        self.ask_capacity = ask_capacity
        self._active: Optional[list[Call]] = None
        self._original: Any = None

    def _ask_capacity(self, params: dict, model: Any, **_: Any) -> None:
        if (self._active is not None and self.ask_capacity and model.name in DATA_OPS
                and params.get("ReturnConsumedCapacity") not in ("TOTAL", "INDEXES")):
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _after_call(self, http_response: Any, parsed: dict, model: Any, **_: Any) -> None:
        if self._active is None:
            return
        service = model.service_model.service_name
        error = (parsed or {}).get("Error", {}).get("Code")
        self._active.append(Call(service, model.name, error is None, error,
                                 _capacity_list((parsed or {}).get("ConsumedCapacity"))))

    def _after_error(self, exception: BaseException, model: Any, **_: Any) -> None:
        if self._active is not None:
            self._active.append(Call(model.service_model.service_name, model.name, False,
                                     type(exception).__name__))

    def install(self) -> "CallRecorder":
        from botocore.session import Session
        if self._original is not None:
            return self
        original = self._original = Session.create_client
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-parameter-build.dynamodb", recorder._ask_capacity)
            client.meta.events.register("after-call", recorder._after_call)
            client.meta.events.register("after-call-error", recorder._after_error)
            return client

        Session.create_client = create_client
        return self

    def uninstall(self) -> None:
        if self._original is not None:
            from botocore.session import Session
            Session.create_client = self._original
            self._original = None

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Call]]:
        calls: list[Call] = []
        previous, self._active = self._active, calls
        try:
            yield calls
        finally:
            self._active = previous


def _capacity_list(value: Any) -> list[dict]:
    if not value:
        return []
    return list(value) if isinstance(value, list) else [value]


def summarise(calls: list[Call]) -> dict[str, Any]:
    """Counts and capacity of one operation's calls."""
    ddb = [c for c in calls if c.service == "dynamodb"]
    reads = [c for c in ddb if c.kind == "read"]
    writes = [c for c in ddb if c.kind == "write"]
    rcu = wcu = 0.0
    capacity_missing = []
    for c in ddb:
        if c.kind == "other":
            continue
        if not c.capacity:
            capacity_missing.append(f"{c.operation}{'' if c.ok else ' (' + str(c.error_code) + ')'}")
        for entry in c.capacity:
            r, w = entry.get("ReadCapacityUnits"), entry.get("WriteCapacityUnits")
            if r is None and w is None:
                units = float(entry.get("CapacityUnits", 0.0))
                r, w = (units, 0.0) if c.kind == "read" else (0.0, units)
            rcu += float(r or 0.0)
            wcu += float(w or 0.0)
    by_op: dict[str, int] = {}
    for c in calls:
        key = f"{c.service}:{c.operation}" + ("" if c.ok else f"!{c.error_code}")
        by_op[key] = by_op.get(key, 0) + 1
    sqs = [c for c in calls if c.service == "sqs"]
    return {
        "reads": len(reads), "writes": len(writes), "dynamodb_total": len(ddb),
        "dynamodb_failed": sum(1 for c in ddb if not c.ok),
        "sqs": len(sqs), "sqs_sends": sum(1 for c in sqs if c.operation in ("SendMessage", "SendMessageBatch")),
        "other": len(calls) - len(ddb) - len(sqs),
        "rcu": round(rcu, 3), "wcu": round(wcu, 3), "capacity_missing": capacity_missing, "calls": by_op,
    }


# ---- logs ------------------------------------------------------------------------------------

class CountingSink:
    """A text stream that keeps only the number of bytes written (log volume for P4)."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        pass


def silence_logs_into(sink: CountingSink) -> None:
    """Point every stdout/stderr logging handler (Powertools writes JSON to stdout) at `sink`, so the
    benchmark prints only its figures while the logging work itself still happens."""
    import logging
    loggers = [logging.getLogger()] + [l for l in logging.Logger.manager.loggerDict.values()
                                       if isinstance(l, logging.Logger)]
    for lg in loggers:
        for handler in lg.handlers:
            if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) in (
                    sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
                handler.setStream(sink)


# ---- small helpers ---------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return (min(values), max(values)) if values else (float("nan"), float("nan"))
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def write_figures(name: str, figures: dict[str, Any]) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    return path


def read_figures(name: str) -> Optional[dict[str, Any]]:
    try:
        return json.loads((CACHE / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def table(headers: list[str], rows: list[list[Any]], align: Optional[str] = None) -> str:
    """A plain fixed-width table (left-aligned first column, right-aligned numbers)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or ("l" + "r" * (len(headers) - 1))

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align)).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)
