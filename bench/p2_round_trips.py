"""P2 round trips: AWS calls per API operation and per consumer event, counted in-process on moto.

    python -m bench.p2_round_trips

Every botocore call is counted with botocore event hooks (after-call) on every client (boto3's and PynamoDB's own
botocore session alike), by service and operation. The customer flow of bench/scenario.py runs
twice: once with a fresh composition root before every step ("cold container": queue URLs not yet
cached) and once more after a warm-up flow ("warm": same container as the previous call).
"""
from __future__ import annotations

import sys
import time

from .common import REGION, apply_env, lambda_like_env, table, write_figures

# Targets from the brief (kind -> checks).
TARGET_TEXT = {
    "api": "writes <= 2, reads <= 1",
    "webhook": "DynamoDB calls = 0",
    "payment_event": "DynamoDB calls <= 3 (incl. idempotency), reads <= 1",
    "consumer": "reads <= 1",
    "per_node": "-",
    "fixed": "-",
}


def verdict(kind: str, c: dict) -> str:
    checks = {
        "api": c["writes"] <= 2 and c["reads"] <= 1,
        "webhook": c["dynamodb_total"] == 0,
        "payment_event": c["dynamodb_total"] <= 3 and c["reads"] <= 1,
        "consumer": c["reads"] <= 1,
    }
    if kind not in checks:
        return "-"
    return "PASS" if checks[kind] else "MISS"


def measure() -> dict:
    apply_env(lambda_like_env("soho-bench-p2"))
    from moto import mock_aws

    from .common import CallRecorder, CountingSink, silence_logs_into
    from .scenario import Scenario, domain_for
    recorder = CallRecorder().install()
    started = time.perf_counter()
    with mock_aws():
        scenario = Scenario(recorder)
        silence_logs_into(CountingSink())
        scenario.create_resources()
        cold = scenario.flow(domain_for("p2", 0), cold=True)
        scenario.flow(domain_for("p2", 1), cold=False)  # warm-up
        warm = scenario.flow(domain_for("p2", 2), cold=False)
    recorder.uninstall()
    return {"region": REGION, "backend": "moto mock_aws (in-process)", "seconds": time.perf_counter() - started,
            "cold": {k: v.calls for k, v in cold.steps.items()}, "warm": {k: v.calls for k, v in warm.steps.items()},
            "problems": cold.problems + warm.problems}


def report(figures: dict) -> str:
    from .scenario import KINDS, LABELS, OPERATIONS
    cold, warm = figures["cold"], figures["warm"]
    rows, details = [], []
    for key, label, kind in OPERATIONS:
        c, w = cold.get(key), warm.get(key)
        if c is None:
            rows.append([label, "-", "-", "-", "-", "not reached", "-"])
            continue
        same = w is not None and (w["reads"], w["writes"]) == (c["reads"], c["writes"])
        ddb = f"{c['dynamodb_total']}" + ("" if same or w is None else f" (warm {w['dynamodb_total']})")
        sqs = f"{c['sqs']} / {w['sqs']}" if w is not None else f"{c['sqs']} / -"
        shown = verdict(kind, c)
        if w is not None and verdict(kind, w) != shown:
            shown += f" (warm: {verdict(kind, w)})"
        rows.append([label, c["reads"], c["writes"], ddb, sqs, TARGET_TEXT[kind], shown])
        details.append(f"  {label}: " + ", ".join(f"{op} x{n}" for op, n in sorted(c["calls"].items())))
        if w is not None and w["calls"] != c["calls"]:
            details.append(f"    warm: " + ", ".join(f"{op} x{n}" for op, n in sorted(w["calls"].items())))
    lines = [
        "P2 round trips: DynamoDB and SQS calls per operation "
        f"(moto mock_aws in-process, botocore after-call event hooks on every client)",
        "reads = GetItem/Query/Scan/TransactGetItems/BatchGetItem; "
        "writes = PutItem/UpdateItem/DeleteItem/TransactWriteItems/BatchWriteItem (a transaction is one call)",
        "SQS column: calls in a cold container / in a warm one (a cold one first resolves the queue URL)",
        "targets: API operations writes <= 2 and reads <= 1; the webhook no DynamoDB call; a payment event <= 3 "
        "DynamoDB calls (idempotency included) and reads <= 1; node results reads <= 1. Verdicts are for the cold "
        "container.",
        "",
        table(["operation", "reads", "writes", "DynamoDB total", "SQS cold/warm", "target", "verdict"], rows,
              "lrrrrll"),
        "",
        "calls in a cold container, by operation:",
        *details,
    ]
    if figures.get("problems"):
        lines += ["", "WARNING: the flow did not go as expected, figures may not be the happy path:",
                  *[f"  - {p}" for p in figures["problems"]]]
    misses = [LABELS[k] for k in cold if verdict(KINDS[k], cold[k]) == "MISS"]
    lines += ["", f"targets missed: {len(misses)}" + (f" ({'; '.join(misses)})" if misses else ""),
              f"(measured in {figures['seconds']:.1f} s)"]
    return "\n".join(lines)


def main() -> int:
    figures = measure()
    write_figures("p2", figures)
    print(report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
