"""The node agent's loop: long-poll the node's queue, apply, reply, heartbeat (R30), and send the
first-use reports (R32) the FTP server leaves in the store's outbox."""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from pydantic import ValidationError

from chalicelib.contracts.node_messages import (CommandApplied, CommandFailed, NodeHeartbeat, SpaceFirstUsed,
                                                SpaceProvisioned, node_command_adapter)

from .spaces import CommandError, SpaceStore

log = logging.getLogger("nodeagent")
MAX_BACKOFF_SECONDS = 900


def _now() -> datetime:
    return datetime.now(timezone.utc)


class NodeAgent:
    def __init__(self, *, node_id: str, sqs: Any, commands_url: str, results_url: str, store: SpaceStore,
                 http_address: str, retry_base_seconds: int = 5, heartbeat_seconds: int = 60,
                 wait_seconds: int = 20, clock: Callable[[], datetime] = _now) -> None:
        self.node_id, self.sqs, self.store = node_id, sqs, store
        self.commands_url, self.results_url = commands_url, results_url
        self.http_address = http_address
        self.retry_base_seconds, self.heartbeat_seconds = retry_base_seconds, heartbeat_seconds
        self.wait_seconds, self.clock = wait_seconds, clock
        self.stopping = threading.Event()

    def reply(self, message: Any) -> None:
        attributes = {}
        if getattr(message, "correlation_id", None):
            attributes["correlation_id"] = {"DataType": "String", "StringValue": message.correlation_id}
        self.sqs.send_message(QueueUrl=self.results_url, MessageBody=message.model_dump_json(),
                              MessageAttributes=attributes)

    def heartbeat(self) -> None:
        self.reply(NodeHeartbeat(node_id=self.node_id, sent_at=self.clock(), http_address=self.http_address,
                                 sites=self.store.count()))

    def send_first_use_reports(self) -> int:
        """R32: send every first-use report of the outbox (oldest first), each removed once the
        results queue took it. A crash in between sends it again: the back office keeps the first."""
        sent = 0
        for name, report in self.store.pending_reports():
            try:
                message = SpaceFirstUsed(node_id=self.node_id, **report)
            except ValidationError as exc:
                log.error("unreadable first-use report %s left in the outbox: %s", name, exc)
                continue
            self.reply(message)
            self.store.report_sent(name)
            log.info("first use reported: %s %s", message.domain, message.usage)
            sent += 1
        return sent

    def _first_use_reports(self) -> None:
        """Sends reports as they come, and retries what is left (at start, then every heartbeat period)."""
        while not self.stopping.is_set():
            self.store.reports_ready.clear()
            try:
                self.send_first_use_reports()
            except Exception as exc:  # the queue is unreachable: the outbox keeps them for the next round
                log.warning("first-use reports not sent: %s", exc)
            self.store.reports_ready.wait(self.heartbeat_seconds)

    def handle(self, message: dict) -> None:
        """Apply one queue message. Delete it only after the reply is sent; on failure, report the
        try and push the next one back with exponential backoff (the redrive policy bounds tries)."""
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            command = node_command_adapter.validate_python(json.loads(message["Body"]))
        except (ValidationError, ValueError) as exc:
            log.error("unreadable command left for the dead-letter queue: %s", exc)
            return
        try:
            outcome = self.store.apply(command)
            done = dict(node_id=self.node_id, correlation_id=command.correlation_id, command_id=command.command_id,
                        contract_id=outcome.contract_id, domain=outcome.domain, completed_at=self.clock())
            self.reply(SpaceProvisioned(**done) if outcome.kind == "SpaceProvisioned"
                       else CommandApplied(command_type=command.type, **done))
            log.info("applied %s %s%s%s", command.type, command.command_id, " (replay)" if outcome.replayed else "",
                     f" ({outcome.note})" if outcome.note else "")
        except (CommandError, OSError) as exc:
            self.reply(CommandFailed(node_id=self.node_id, correlation_id=command.correlation_id,
                                     command_id=command.command_id, contract_id=command.contract_id,
                                     error=str(exc), attempt=attempt, failed_at=self.clock()))
            backoff = min(self.retry_base_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
            self.sqs.change_message_visibility(QueueUrl=self.commands_url,
                                               ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=backoff)
            log.warning("command %s failed (try %d, next in %ds): %s", command.command_id, attempt, backoff, exc)
            return
        self.sqs.delete_message(QueueUrl=self.commands_url, ReceiptHandle=message["ReceiptHandle"])

    def poll_once(self) -> int:
        answer = self.sqs.receive_message(QueueUrl=self.commands_url, MaxNumberOfMessages=10,
                                          WaitTimeSeconds=self.wait_seconds,
                                          AttributeNames=["ApproximateReceiveCount"], MessageAttributeNames=["All"])
        messages = answer.get("Messages", [])
        for message in messages:
            self.handle(message)
        return len(messages)

    def _heartbeats(self) -> None:
        while not self.stopping.is_set():
            try:
                self.heartbeat()
            except Exception as exc:  # keep beating through emulator restarts
                log.warning("heartbeat failed: %s", exc)
            self.stopping.wait(self.heartbeat_seconds)

    def run(self, on_ready: Optional[Callable[[], None]] = None) -> None:
        threading.Thread(target=self._heartbeats, name="node-heartbeat", daemon=True).start()
        threading.Thread(target=self._first_use_reports, name="node-first-use", daemon=True).start()
        if on_ready:
            on_ready()
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                log.exception("poll failed: %s", exc)
                self.stopping.wait(1)
