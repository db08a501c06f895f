"""Least-privilege IAM: one policy per Lambda function and stage, generated from ACCESS below.

`python -m infra.iam` writes `policies/<stage>/<function>.json` for every stage of
`.chalice/config.json` and points each function's `iam_policy_file` at it (with
`autogen_policy: false`); `python -m infra.iam --check` fails when the committed files differ
from what it would write. ACCESS names tables, indexes and queues by their keys in
infra/resources.json; the generator turns them into ARNs with the stage's resource prefix, so
dev and prod policies come from one source. Region and account stay wildcards; the resource
name never is one (node command queues use the name pattern `<prefix>-node-*-commands`).
SES grants name the identities of the stage's sender domain (`SOHO_SENDER_EMAIL` of the stage in
`.chalice/config.json`; the template only accepts a SenderEmailAddress of that domain).

The integration tier records every AWS call each handler makes and fails a test whose calls a
policy here would deny (tests/integration/iam_audit.py), so ACCESS follows the code.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional

from .appinfo import LambdaFunction, for_stage
from .definitions import resources
from .stages import ROOT, chalice_config, config_path, log_group_name, resource_prefix, stage_names
from .stages import sender_email as stage_sender_email

# What each function's code does with the data, action names without their service prefix.
# DynamoDB transactions need no action of their own: each item is authorised as the PutItem,
# UpdateItem, DeleteItem or ConditionCheckItem it contains. The queue an SQS handler reads gets
# the event source mapping's actions (ESM_ACTIONS) from the app's own event source, not from here.
ACCESS: dict[str, dict[str, Any]] = {
    # Every HTTP route: one function serves the whole API.
    "api_handler": {
        "tables": {
            # POST /orders: one transaction puts customer, order, contract, invoice, the domain
            # claim (R34) and evidence (R56), and moves the invoice sequence (R22) read just before.
            "customers": ["PutItem", "GetItem", "UpdateItem"],  # + R56 evidence export; R11 rectification
            "orders": ["PutItem", "GetItem", "UpdateItem"],     # + replay, GET /admin/orders; R11 void; a transfer pays it
            "contracts": ["PutItem", "GetItem", "UpdateItem"],  # + admin views; retry-provisioning moves it
            "invoices": ["PutItem", "GetItem", "UpdateItem"],   # + replay and admin views; a transfer pays one
            "domains": ["PutItem", "UpdateItem", "DeleteItem",   # + a transfer's R15/R18 paths, as on_payment_event
                        "GetItem"],                              # R13: a withdrawal reads and releases the claim
            "payments": ["GetItem", "PutItem"],                 # R27: a bank transfer recorded by an operator
            "evidence": ["PutItem", "Query"],                   # R56: append; admin views read the log
            "meta": ["GetItem", "UpdateItem", "PutItem"],       # R22 sequence; heartbeats; local clock and sweep cursor
            "nodes": ["Query", "GetItem", "UpdateItem"],        # GET /health; a transfer's placement (R31); R33 room
            "node_commands": ["GetItem", "PutItem", "UpdateItem"],  # admin view; retry's command; R13 deprovision
            "alerts": ["Query", "PutItem"],                     # GET /admin/alerts; a transfer that pays nothing
            "notices": ["PutItem"],                             # R54: the invoice notice of an order
            "timers": ["PutItem", "UpdateItem", "GetItem"],     # R14 order expiry; /dev/clock sweeps; R33 instalments
            "accounts": ["PutItem", "GetItem", "UpdateItem"],   # R04: login made with the order; sign-in; revocation
            "sessions": ["PutItem", "GetItem"],                 # R04: a sign-in's session; refresh
            "throttles": ["GetItem", "UpdateItem"],             # R04: login and reset rate limits
            "plan_changes": ["PutItem", "GetItem", "UpdateItem"],  # R55: a change announced, then marked told
            "change_notices": ["PutItem", "Query", "UpdateItem"],  # R55: each contract told; its objection
        },
        # GET /dev/mail (local mode): the notices sent to an address, from the `recipient` index.
        # The admin contract view lists a contract's invoices; R26: a renewal checks them for a default.
        "indexes": {"timers": {"due": ["Query"]}, "notices": {"recipient": ["Query"], "customer": ["Query"]},
                    "invoices": {"contract": ["Query"], "customer": ["Query"]},
                    # R04/R06: the customer area lists a customer's own objects through these
                    "contracts": {"customer": ["Query"], "plan": ["Query"]},  # R55: who a plan change affects
                    "domains": {"customer": ["Query"]},
                    "orders": {"customer": ["Query"]}, "payments": {"reference": ["Query"]},  # R07 export/erasure
                    "accounts": {"customer": ["Query"]},
                    "change_notices": {"customer": ["Query"]}},  # R55: a customer's changes, its objections
        # POST /webhooks/payments enqueues the verified event; GET /health resolves the queue URL.
        "queues": {"payment-events": ["GetQueueUrl", "SendMessage"], "timers": ["GetQueueUrl", "SendMessage"],
                   "privacy-erasures": ["GetQueueUrl", "SendMessage"],   # R07: an accepted erasure request
                   "notices": ["GetQueueUrl", "SendMessage"]},          # R54: the invoice, queued after the order
        "node_command_queues": ["SendMessage"],                 # retry-provisioning dispatches the command
    },
    # R27: apply a payment once: record it, pay the invoice, move order and contract, reserve
    # node space and write the command (outbox), or record an unapplied payment with an alert.
    "on_payment_event": {
        "tables": {
            "payments": ["PutItem", "GetItem", "UpdateItem"],   # + R27 refunds: the payment's total, dues settled
            "invoices": ["GetItem", "UpdateItem", "PutItem"],   # + R15: the credit note
            "orders": ["UpdateItem"],
            "contracts": ["GetItem", "UpdateItem"],
            "nodes": ["Query", "UpdateItem", "GetItem"],        # placement (R31); a late renewal's unsuspend
            "node_commands": ["GetItem", "PutItem"],            # outbox row; a redelivery resumes its dispatch
            "notices": ["PutItem"],                             # R54: the payment receipt
            "domains": ["UpdateItem", "DeleteItem"],            # R18: handed to a late renewal; R15: released
            "meta": ["GetItem", "UpdateItem"],                  # R15 + R22: the credit note's number
            "timers": ["PutItem", "UpdateItem"],                # R18: its deadlines; the old deletion cancelled
            "alerts": ["PutItem", "DeleteItem"],                # R13: a refund made closes its refund_due alert
            "evidence": ["PutItem"],
            "customers": ["GetItem"],                           # R04: conclusion sends the login's credentials
            "accounts": ["GetItem"],
        },
        # R23: paying an instalment lifts the hold unless another of the contract's is still overdue.
        # R27: a charge.refunded finds its payment by PaymentIntent id.
        "indexes": {"invoices": {"contract": ["Query"]}, "payments": {"reference": ["Query"]}},
        "queues": {"notices": ["GetQueueUrl", "SendMessage"]},
        "node_command_queues": ["SendMessage"],
    },
    # R30: results and heartbeats from the nodes.
    "on_node_result": {
        "tables": {
            "node_commands": ["GetItem", "UpdateItem"],
            "contracts": ["GetItem", "UpdateItem"],
            "customers": ["GetItem"],                           # R20: the deletion notice's recipient
            "timers": ["PutItem"],                              # R17/R19: scheduled when the contract turns active
            "nodes": ["UpdateItem"],                            # heartbeat: last seen
            "notices": ["PutItem"],                             # R20: the data-deleted notice
            "evidence": ["PutItem"],
        },
        "queues": {"notices": ["GetQueueUrl", "SendMessage"]},
    },
    # R30: a command out of tries fails its contract and alerts operators.
    "on_node_command_dead_letter": {
        "tables": {
            "node_commands": ["GetItem", "UpdateItem"],
            "contracts": ["UpdateItem"],
            "alerts": ["PutItem"],
            "evidence": ["PutItem"],
        },
    },
    # Outbox sweep: pending commands come from the sparse `pending` index, never a scan.
    "redispatch_pending_commands": {
        "indexes": {"node_commands": {"pending": ["Query"]}},
        "node_command_queues": ["SendMessage"],
    },
    # R54 outbox sweep: notices stored but not sent come from the sparse `unsent` index.
    "resend_unsent_notices": {
        "indexes": {"notices": {"unsent": ["Query"]}},
        "queues": {"notices": ["GetQueueUrl", "SendMessage"]},
    },
    # Timer sweep: due timers come from the sparse `due` index, one Query per day, never a scan;
    # each is claimed (lease) and sent to the timers queue.
    "sweep_due_timers": {
        "tables": {"timers": ["UpdateItem"], "meta": ["GetItem", "PutItem"]},
        "indexes": {"timers": {"due": ["Query"]}},
        "queues": {"timers": ["GetQueueUrl", "SendMessage"]},
    },
    # Due timers (R17, R19, R20): the handler's effect and the timer's done mark in one write.
    "on_timer": {
        "tables": {
            "timers": ["GetItem", "PutItem", "UpdateItem"],   # read, schedule follow-ups, mark done
            "contracts": ["GetItem", "UpdateItem"],
            "orders": ["GetItem", "UpdateItem"],               # R14: an unpaid order expires
            "invoices": ["GetItem", "PutItem", "UpdateItem"],  # R14 + R22: its invoice gets a credit note
            "meta": ["GetItem", "UpdateItem", "PutItem"],      # R22: numbers; R25: bad payer rows (R23)
            "domains": ["DeleteItem", "UpdateItem"],           # R14: released; R18: handed to the renewal
            "customers": ["GetItem", "UpdateItem"],            # the notice's recipient; R03 deadline missed
            "nodes": ["GetItem"],                              # the node's command queue
            "node_commands": ["PutItem"],                      # outbox row of a suspend/delete command
            "notices": ["PutItem"],                            # R54: stored with the effect, queued after it
            "alerts": ["PutItem"],
            "evidence": ["PutItem"],
        },
        "indexes": {"contracts": {"customer": ["Query"]}},       # R03: the contracts an unverified identity suspends
        "queues": {"notices": ["GetQueueUrl", "SendMessage"]},
        "node_command_queues": ["SendMessage"],
    },
    # R54: send a queued notice once: read it, claim it, send it through SES as the stage's
    # sender, record `sent` or `failed`.
    # R07: pseudonymise an erased customer's records. The only function that may rewrite the
    # evidence log (R56), and only for this: legal records are kept, pseudonymised.
    "on_erasure_request": {
        "tables": {
            "customers": ["GetItem", "UpdateItem"],
            "accounts": ["PutItem", "DeleteItem", "UpdateItem"],  # an erased login is re-keyed under its pseudonym
            "orders": ["UpdateItem"], "contracts": ["GetItem", "UpdateItem"], "invoices": ["GetItem", "UpdateItem"],
            "domains": ["UpdateItem"], "notices": ["UpdateItem"], "payments": ["GetItem"], "meta": ["GetItem"],
            "alerts": ["Query"],
            "evidence": ["Query", "UpdateItem", "PutItem"],
        },
        "indexes": {"orders": {"customer": ["Query"]}, "contracts": {"customer": ["Query"]},
                    "invoices": {"customer": ["Query"]}, "domains": {"customer": ["Query"]},
                    "accounts": {"customer": ["Query"]}, "notices": {"customer": ["Query"]},
                    "payments": {"reference": ["Query"]}},
    },
    "on_notice": {
        "tables": {"notices": ["GetItem", "UpdateItem"],
                   "accounts": ["UpdateItem"]},   # R04: a credentials notice stores its password's hash at delivery
        "ses": ["SendEmail"],
    },
}


def extend_access(function: str, **parts: Any) -> None:
    """Add grants to a function's ACCESS entry (created if new): `tables` / `indexes` / `queues`
    merge key by key (actions appended once), other parts (`ses`, `node_command_queues`) likewise."""
    entry = ACCESS.setdefault(function, {})
    for part, grants in parts.items():
        if isinstance(grants, dict):
            target = entry.setdefault(part, {})
            for key, actions in grants.items():
                if isinstance(actions, dict):  # indexes: {table: {index: [actions]}}
                    for index, index_actions in actions.items():
                        merged = target.setdefault(key, {}).setdefault(index, [])
                        merged += [a for a in index_actions if a not in merged]
                else:
                    merged = target.setdefault(key, [])
                    merged += [a for a in actions if a not in merged]
        else:
            merged = entry.setdefault(part, [])
            merged += [a for a in grants if a not in merged]


# Issue 5: each area declares what its handlers do with `extend_access(...)` below its marker.
# R07: the export (API) and the erasure worker read the issue 5 records of a customer; the worker
# pseudonymises their text.
_ISSUE5_CUSTOMER_INDEXES = {"tickets": {"customer": ["Query"]}, "disputes": {"customer": ["Query"]},
                            "abuse_cases": {"customer": ["Query"]}}
extend_access("api_handler", indexes=_ISSUE5_CUSTOMER_INDEXES, tables={"ticket_messages": ["Query"]})
extend_access("on_erasure_request", indexes=_ISSUE5_CUSTOMER_INDEXES,
              tables={"ticket_messages": ["Query", "UpdateItem"], "tickets": ["UpdateItem"],
                      "disputes": ["UpdateItem"], "abuse_cases": ["UpdateItem"]})


# --- abuse access (issue 5) ---
# R48 intake: the report stored and queued, counted per reporter and address; evidence uploads
# through pre-signed POSTs (and operators' pre-signed GETs) signed with this function's role.
# R48/R49 cases: operators' reports matched at once, answers, severity, measures (set_hold and
# its node command), closing, lifting; the customer's and operators' lists.
extend_access("api_handler",
              tables={"abuse_reports": ["PutItem", "GetItem", "UpdateItem"],
                      "abuse_cases": ["GetItem", "PutItem", "UpdateItem"], "domains": ["GetItem"],
                      "contracts": ["GetItem", "UpdateItem"], "customers": ["GetItem"], "nodes": ["GetItem"],
                      "node_commands": ["PutItem"], "notices": ["PutItem"], "timers": ["PutItem"],
                      "evidence": ["PutItem"], "throttles": ["UpdateItem"]},
              indexes={"abuse_reports": {"case": ["Query"]},
                       "abuse_cases": {"customer": ["Query"], "status": ["Query"]}},
              queues={"abuse-reports": ["GetQueueUrl", "SendMessage"], "notices": ["GetQueueUrl", "SendMessage"]},
              buckets={"abuse-evidence": ["PutObject", "GetObject"]},
              node_command_queues=["SendMessage"])
# R48: a queued report matched to a contract in force: the report, the case, and for a manifestly
# illegal activity the immediate suspension (R49); else the notice and the deadline timer.
extend_access("on_abuse_report",
              tables={"abuse_reports": ["GetItem", "UpdateItem"], "abuse_cases": ["GetItem", "PutItem", "UpdateItem"],
                      "domains": ["GetItem"], "contracts": ["GetItem", "UpdateItem"], "customers": ["GetItem"],
                      "nodes": ["GetItem"], "node_commands": ["PutItem"], "notices": ["PutItem"],
                      "timers": ["PutItem"], "evidence": ["PutItem"]},
              indexes={"abuse_cases": {"customer": ["Query"]}},
              queues={"notices": ["GetQueueUrl", "SendMessage"]},
              node_command_queues=["SendMessage"])
# R48 -> R49: the answer deadline passed: the case and the matrix's measure (set_hold, node command).
extend_access("on_timer",
              tables={"abuse_cases": ["GetItem", "UpdateItem"], "abuse_reports": ["GetItem"]},
              indexes={"abuse_cases": {"customer": ["Query"]}})
# --- tickets access (issue 5) ---
# R43/R45: /me/tickets and /admin/tickets: a ticket, its first message, its deadline timer, its notice and
# evidence in one transaction; later moves conditioned on the state read; lists from the `customer` and the
# sparse `open` index; an Idempotency-Key replay reads the ticket; a beneficiary's notice reads its login.
# The sparse `incidents` index is read by reported_outages (R44), from the API or a timer.
extend_access("api_handler",
              tables={"tickets": ["PutItem", "GetItem", "UpdateItem"], "ticket_messages": ["PutItem", "Query"],
                      "contracts": ["GetItem"], "customers": ["GetItem"], "accounts": ["GetItem"],
                      "timers": ["PutItem"], "notices": ["PutItem"], "evidence": ["PutItem"]},
              indexes={"tickets": {"customer": ["Query"], "open": ["Query"], "incidents": ["Query"]}},
              queues={"notices": ["GetQueueUrl", "SendMessage"]})
# R43: the deadline timer flags a ticket not taken into account, with an operator alert and its evidence.
extend_access("on_timer", tables={"tickets": ["GetItem", "UpdateItem"], "alerts": ["PutItem"],
                                  "evidence": ["PutItem"]},
              indexes={"tickets": {"incidents": ["Query"]}})
# --- availability access (issue 5) ---
# R44: a probe round is stored once: its receipt row (conditional put, read back on a redelivery), then
# its probes in batches. The report reads the probes of a space, the maintenance windows and force
# majeure events, the contract's history from its evidence log and the reported incidents (tickets).
# R50: events are put once (conditional) and ended by an update; the termination writes the contract,
# its SuspendSpace command, the R20 timers, the notice and evidence in one transaction.
extend_access("on_node_result", tables={"probes": ["PutItem", "GetItem", "BatchWriteItem"]})
extend_access("api_handler",
              tables={"probes": ["Query"], "availability_events": ["PutItem", "GetItem", "Query", "UpdateItem"],
                      "nodes": ["Query", "GetItem"], "contracts": ["GetItem", "UpdateItem"], "evidence": ["Query"],
                      "customers": ["GetItem"], "node_commands": ["PutItem"], "timers": ["PutItem"],
                      "notices": ["PutItem"]},
              indexes={"tickets": {"incidents": ["Query"]}},
              queues={"notices": ["GetQueueUrl", "SendMessage"]}, node_command_queues=["SendMessage"])
# --- disputes access (issue 5) ---
# R46/R47/R51/R52/R53: a claim, settlement case or formal notice is one row (put once, moved from the
# status read), with its notice and evidence; R52/R53 terminations also write the contract, its
# SuspendSpace command, the R20 timers and (R53) the invoice of the remaining instalments with its number;
# lists from the `customer` and `contract` indexes. The R52 timer terminates (or alerts) the same way.
extend_access("api_handler", tables={"disputes": ["PutItem", "GetItem", "UpdateItem"]},
              indexes={"disputes": {"customer": ["Query"], "contract": ["Query"]}})
extend_access("on_timer", tables={"disputes": ["GetItem", "UpdateItem"]})

# What Lambda's SQS event source mapping does with the function's role (the
# AWSLambdaSQSQueueExecutionRole actions), on the one queue the handler reads.
ESM_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# The template creates each log group (with its retention) before its function.
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
DATA_SERVICES = ("dynamodb", "sqs", "s3", "ses")


def table_arn(prefix: str, key: str) -> str:
    return f"arn:aws:dynamodb:*:*:table/{prefix}-{key}"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:*:*:{name}"


def ses_identity_arns(sender_email: str) -> list[str]:
    """R54: the identities a function may send as: the sender's domain and its addresses (SES
    authorises `SendEmail` on the identity that covers the From address: the address when it is
    verified itself, as the stack's SenderIdentity is, else its domain)."""
    domain = sender_email.rsplit("@", 1)[-1].lower()
    return [f"arn:aws:ses:*:*:identity/{domain}", f"arn:aws:ses:*:*:identity/*@{domain}"]


def node_command_queue_pattern(prefix: str) -> str:
    from chalicelib.config import Settings  # the one place that spells a node queue's name
    return Settings(resource_prefix=prefix).node_queue_name("*")


def _sid(*words: str) -> str:
    return "".join(part[:1].upper() + part[1:] for word in words for part in re.split(r"[^A-Za-z0-9]+", word) if part)


def policy_document(function: LambdaFunction, *, app_name: str, stage: str, prefix: str,
                    definitions: Optional[dict[str, Any]] = None,
                    sender_email: Optional[str] = None) -> dict[str, Any]:
    if function.name not in ACCESS:
        raise KeyError(f"no IAM access declared for the Lambda function {function.name!r}: "
                       "add it to ACCESS in infra/iam.py and run `python -m infra.iam`")
    access = ACCESS[function.name]
    definitions = definitions or resources()
    tables, queues = definitions["tables"], definitions["queues"]
    statements: list[dict[str, Any]] = [{
        "Sid": "Logs", "Effect": "Allow", "Action": list(LOG_ACTIONS),
        "Resource": f"arn:aws:logs:*:*:log-group:{log_group_name(app_name, stage, function.name)}:*"}]
    for key, actions in access.get("tables", {}).items():
        if key not in tables:
            raise KeyError(f"{function.name}: no table {key!r} in infra/resources.json")
        statements.append({"Sid": _sid("Table", key), "Effect": "Allow",
                           "Action": [f"dynamodb:{a}" for a in actions], "Resource": table_arn(prefix, key)})
    for key, indexes in access.get("indexes", {}).items():
        for index, actions in indexes.items():
            if index not in tables.get(key, {}).get("indexes", {}):
                raise KeyError(f"{function.name}: no index {key}/{index} in infra/resources.json")
            statements.append({"Sid": _sid("Index", key, index), "Effect": "Allow",
                               "Action": [f"dynamodb:{a}" for a in actions],
                               "Resource": f"{table_arn(prefix, key)}/index/{index}"})
    if function.kind == "sqs":
        statements.append({"Sid": "EventSourceQueue", "Effect": "Allow", "Action": list(ESM_ACTIONS),
                           "Resource": queue_arn(function.queue)})
    for key, actions in access.get("queues", {}).items():
        if key not in queues:
            raise KeyError(f"{function.name}: no queue {key!r} in infra/resources.json")
        statements.append({"Sid": _sid("Queue", key), "Effect": "Allow", "Action": [f"sqs:{a}" for a in actions],
                           "Resource": queue_arn(f"{prefix}-{key}")})
    for key, actions in access.get("buckets", {}).items():  # object actions on the bucket's keys (R48 evidence)
        if key not in definitions.get("buckets", {}):
            raise KeyError(f"{function.name}: no bucket {key!r} in infra/resources.json")
        statements.append({"Sid": _sid("Bucket", key), "Effect": "Allow", "Action": [f"s3:{a}" for a in actions],
                           "Resource": f"arn:aws:s3:::{prefix}-{key}/*"})
    if access.get("node_command_queues"):
        statements.append({"Sid": "NodeCommandQueues", "Effect": "Allow",
                           "Action": [f"sqs:{a}" for a in access["node_command_queues"]],
                           "Resource": queue_arn(node_command_queue_pattern(prefix))})
    if access.get("ses"):
        from chalicelib.config import Settings
        statements.append({"Sid": "SesSenderIdentity", "Effect": "Allow",
                           "Action": [f"ses:{a}" for a in access["ses"]],
                           "Resource": ses_identity_arns(sender_email or Settings().sender_email)})
    return {"Version": "2012-10-17", "Statement": statements}


def stage_policies(functions: Iterable[LambdaFunction], *, app_name: str, stage: str,
                   prefix: str, sender_email: Optional[str] = None) -> dict[str, dict[str, Any]]:
    functions = list(functions)
    stale = set(ACCESS) - {f.name for f in functions}
    if stale:
        raise KeyError(f"ACCESS in infra/iam.py names functions the app does not have: {sorted(stale)}")
    return {f.name: policy_document(f, app_name=app_name, stage=stage, prefix=prefix, sender_email=sender_email)
            for f in functions}


def policy_file(stage: str, function: str, project_dir: Path = ROOT) -> Path:
    return Path(project_dir) / "policies" / stage / f"{function}.json"


def iam_policy_file_setting(stage: str, function: str) -> str:
    """Chalice reads `iam_policy_file` relative to `.chalice/`."""
    return f"../policies/{stage}/{function}.json"


def _render(document: Any) -> str:
    return json.dumps(document, indent=2) + "\n"


@lru_cache(maxsize=None)
def _functions(stage: str, project_dir: Path) -> tuple[LambdaFunction, ...]:
    return tuple(for_stage(stage, project_dir))


def expected_files(project_dir: Path = ROOT) -> dict[Path, str]:
    """Every generated file with its content: the policies and `.chalice/config.json`."""
    project_dir = Path(project_dir)
    config = chalice_config(project_dir)
    config.pop("autogen_policy", None)
    head = {k: config.pop(k) for k in ("version", "app_name") if k in config}
    config = {**head, "autogen_policy": False, **config}  # Chalice writes no policy of its own
    files: dict[Path, str] = {}
    for stage in stage_names(config):
        functions = _functions(stage, project_dir)
        policies = stage_policies(functions, app_name=config["app_name"], stage=stage,
                                  prefix=resource_prefix(config, stage), sender_email=stage_sender_email(config, stage))
        settings = config["stages"][stage].setdefault("lambda_functions", {})
        for name in list(settings):
            if name not in policies:  # a handler that is gone keeps no policy
                settings[name].pop("iam_policy_file", None)
                if not settings[name]:
                    del settings[name]
        for name, document in sorted(policies.items()):
            files[policy_file(stage, name, project_dir)] = _render(document)
            settings.setdefault(name, {})["iam_policy_file"] = iam_policy_file_setting(stage, name)
        config["stages"][stage]["lambda_functions"] = dict(sorted(settings.items()))
    files[config_path(project_dir)] = _render(config)
    return files


def stale_policy_files(project_dir: Path = ROOT) -> list[Path]:
    expected = expected_files(project_dir)
    return [p for p in sorted((Path(project_dir) / "policies").glob("*/*.json")) if p not in expected]


def write(project_dir: Path = ROOT) -> list[Path]:
    changed = []
    for path in stale_policy_files(project_dir):
        path.unlink()
        changed.append(path)
    for path, content in expected_files(project_dir).items():
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            changed.append(path)
    return changed


def out_of_date(project_dir: Path = ROOT) -> list[Path]:
    differing = [path for path, content in expected_files(project_dir).items()
                 if not path.exists() or path.read_text(encoding="utf-8") != content]
    return differing + stale_policy_files(project_dir)


# ---- evaluation (what IAM would allow), for tests and the audit of recorded AWS calls ----------
def _wildcard(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """IAM matching: `*` any run of characters (`/` and `:` included), `?` one character."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + r"\Z",
                      flags)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def policy_allows(document: dict[str, Any], action: str, resource: str) -> bool:
    """True when an Allow statement grants `action` on `resource` (these policies use no Deny,
    NotAction, NotResource or conditions; a statement that does is not trusted to allow)."""
    for statement in document["Statement"]:
        if statement.get("Effect") != "Allow" or {"NotAction", "NotResource", "Condition"} & set(statement):
            continue
        if any(_wildcard(a, re.IGNORECASE).match(action) for a in _as_list(statement["Action"])) and \
                any(_wildcard(r).match(resource) for r in _as_list(statement["Resource"])):
            return True
    return False


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="infra.iam", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed files are not up to date")
    args = parser.parse_args(argv)
    if args.check:
        differing = out_of_date()
        for path in differing:
            print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        if differing:
            print("run `python -m infra.iam` to regenerate them", file=sys.stderr)
        return 1 if differing else 0
    for path in write():
        print(f"wrote {path.relative_to(ROOT)}" if path.exists() else f"removed {path.relative_to(ROOT)}")
    return 0


# --- domains access (issue 4) ---
# R37-R42: registry operations run as timers (domain_operation, domain_expiry, domain_transfer_timeout):
# the domain row and its timers, the dossier fees invoice (R22 numbering), node commands for the zone
# (R40), notices and evidence. The registries are reached over EPP/TLS (no AWS permission involved).
_DOMAIN_WRITES = {"domains": ["GetItem", "UpdateItem", "DeleteItem"], "contracts": ["GetItem", "UpdateItem"],
                  "customers": ["GetItem"], "orders": ["GetItem", "UpdateItem"],
                  "invoices": ["GetItem", "PutItem", "UpdateItem"], "meta": ["GetItem", "UpdateItem"],
                  "timers": ["GetItem", "PutItem", "UpdateItem"], "nodes": ["GetItem", "UpdateItem"],
                  "node_commands": ["GetItem", "PutItem", "UpdateItem"], "notices": ["PutItem"],
                  "alerts": ["PutItem"], "evidence": ["PutItem"], "payments": ["GetItem", "PutItem"]}
_DOMAIN_QUEUES = {"timers": ["GetQueueUrl", "SendMessage"], "notices": ["GetQueueUrl", "SendMessage"]}
extend_access("on_timer", tables=_DOMAIN_WRITES, indexes={"invoices": {"contract": ["Query"], "customer": ["Query"]}},
              queues=_DOMAIN_QUEUES)
# The first payment writes the acquisition operation and its timer, and sends the timer at once.
extend_access("on_payment_event", tables={"domains": ["UpdateItem"], "timers": ["PutItem"]}, queues=_DOMAIN_QUEUES)
# The registry messages: the same moves as the operations' outcomes.
extend_access("on_registry_event", tables=_DOMAIN_WRITES,
              indexes={"invoices": {"contract": ["Query"], "customer": ["Query"]}}, queues=_DOMAIN_QUEUES,
              node_command_queues=["SendMessage"])  # R40: the zone set on (or removed from) the node
extend_access("poll_registries", queues={"registry-events": ["GetQueueUrl", "SendMessage"]})
# R35 lookups (counted per address), R38 transfer check at order time, R39 transfer-out, R42 decisions,
# R37/R38 cancellation (the withdrawal's steps), the domain in the contract views.
extend_access("api_handler", tables={**_DOMAIN_WRITES, "throttles": ["UpdateItem"]},
              indexes={"invoices": {"customer": ["Query"], "contract": ["Query"]}}, queues=_DOMAIN_QUEUES)
# R40/R19: the overdue suspension and the contract's end stop the name's management (zone removed).
extend_access("on_payment_event", tables={"domains": ["GetItem", "UpdateItem"]})

if __name__ == "__main__":
    sys.exit(main())
