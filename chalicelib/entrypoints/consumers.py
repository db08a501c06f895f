"""SQS consumers. Each uses Powertools BatchProcessor: only failed records go back to the queue."""
from __future__ import annotations

import json
from typing import Any, Callable, Optional

from chalice import Blueprint

from ..bootstrap import services
from ..config import settings
from ..observability import logger

bp = Blueprint(__name__)
_S = settings()


def _correlation_id(record: Any) -> Optional[str]:
    attributes = record.message_attributes  # its .get() returns raw dicts; [] returns typed values
    return attributes["correlation_id"].string_value if "correlation_id" in attributes else None


def _batch(event: Any, record_handler: Callable[[Any], Any]) -> dict:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def handle(record: Any) -> Any:
        try:
            logger.set_correlation_id(_correlation_id(record) or record.message_id)
            return record_handler(record)
        except Exception:
            logger.exception("record failed; it returns to its queue", message_id=record.message_id)
            raise

    return process_partial_response(event=event.to_dict(), record_handler=handle, processor=processor,
                                    context=event.context)


def _payment_record(record: Any) -> str:
    from aws_lambda_powertools.utilities.parser import parse

    from ..contracts.payments import StripeEvent
    from ..service.payments import apply_payment_event
    event = parse(event=record.json_body, model=StripeEvent)
    return apply_payment_event(event, services(), correlation_id=_correlation_id(record) or event.id)


def _node_result_record(record: Any) -> str:
    from aws_lambda_powertools.utilities.parser import parse

    from ..contracts.node_messages import CommandApplied, CommandFailed, NodeHeartbeat, NodeResult, SpaceFirstUsed
    from ..service import provisioning
    message = parse(event=record.json_body, model=NodeResult)
    if message.type == "SiteProbes":  # R44: a probe round (issue 5 availability)
        from ..service.availability import on_site_probes
        return on_site_probes(message, services())
    if isinstance(message, NodeHeartbeat):
        return provisioning.on_node_heartbeat(message, services())
    if isinstance(message, SpaceFirstUsed):
        from ..service.first_use import on_space_first_used
        return on_space_first_used(message, services())
    if isinstance(message, CommandFailed):
        return provisioning.on_command_failed(message, services())
    if isinstance(message, CommandApplied):
        return provisioning.on_command_applied(message, services())
    return provisioning.on_space_provisioned(message, services())


def _dead_command_record(record: Any) -> str:
    from aws_lambda_powertools.utilities.parser import ValidationError, parse

    from ..contracts.node_messages import NodeCommand
    from ..service.provisioning import on_command_dead_lettered, on_unreadable_dead_letter
    try:
        command = parse(event=json.loads(record.body), model=NodeCommand)
    except (ValidationError, ValueError):
        # The dead-letter queue is the last stop: keep the body in an alert rather than loop on it.
        return on_unreadable_dead_letter(record.message_id, record.body, services())
    return on_command_dead_lettered(command.command_id, services(), command.correlation_id)


def _registry_event_record(record: Any) -> str:
    from aws_lambda_powertools.utilities.parser import parse

    from ..contracts.registry_events import RegistryEventV1
    from ..service.domains import on_registry_event
    return on_registry_event(parse(event=record.json_body, model=RegistryEventV1), services())


@bp.on_sqs_message(queue=_S.queue_name("registry-events"), batch_size=10)
def on_registry_event(event):
    """R37-R39: registry messages (registration results, transfer answers and requests), each once."""
    return _batch(event, _registry_event_record)


def _timer_record(record: Any) -> str:
    from ..service.timers import fire
    return fire(json.loads(record.body)["timer_id"], services())


@bp.on_sqs_message(queue=_S.queue_name("payment-events"), batch_size=10)
def on_payment_event(event):
    """R27: apply each verified payment provider event exactly once."""
    return _batch(event, _payment_record)


@bp.on_sqs_message(queue=_S.queue_name("node-results"), batch_size=10)
def on_node_result(event):
    """R30: results and heartbeats from hosting nodes."""
    return _batch(event, _node_result_record)


@bp.on_sqs_message(queue=_S.queue_name("node-commands-dlq"), batch_size=10)
def on_node_command_dead_letter(event):
    """R30: a command that exhausted its tries: failed state and an operator alert."""
    return _batch(event, _dead_command_record)


def _erasure_record(record: Any) -> str:
    from ..service.customer_data import on_erasure_request
    return on_erasure_request(json.loads(record.body), services(), _correlation_id(record))


@bp.on_sqs_message(queue=_S.queue_name("privacy-erasures"), batch_size=1)
def on_erasure_request(event):
    """R07: pseudonymise a customer's records once an erasure was accepted (the one function that
    may rewrite the evidence log, and only for this, R56)."""
    return _batch(event, _erasure_record)


@bp.on_sqs_message(queue=_S.queue_name("timers"), batch_size=10)
def on_timer(event):
    """Due timers (R17, R19, R20...): each handler's effect commits with the timer's done mark."""
    return _batch(event, _timer_record)
