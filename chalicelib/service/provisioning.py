"""Use cases around node commands (R30, R31): dispatch, results, dead letters, redispatch."""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

from ..adapters.dynamo_store import TransactionConflict, new_alert, new_id
from ..adapters.models import NodeCommandModel
from ..bootstrap import Services
from ..contracts.node_messages import (CommandApplied, CommandFailed, NodeHeartbeat, ProvisionSpace, SpaceProvisioned,
                                      node_command_adapter)
from ..domain.calendar import utc_iso
from ..domain.contracts import ContractEvent, ContractState, next_state, states_accepting
from ..domain.errors import ConflictError, NotFoundError
from ..domain.evidence import state_change
from ..observability import logger

NODE_ACTOR = "node:{}"


def dispatch(command: NodeCommandModel, services: Services, correlation_id: Optional[str] = None) -> None:
    """Send a stored command to its node's queue. Safe to repeat: nodes apply a command id once."""
    services.queues.send(queue_url=command.queue_url, body=_command_body(command),
                         correlation_id=correlation_id)
    logger.info("node command dispatched", command_id=command.command_id, node_id=command.node_id)


def _command_body(command: NodeCommandModel) -> str:
    return node_command_adapter.validate_python(command.payload).model_dump_json()


def space_ready_notice(contract, command: NodeCommandModel, services: Services, now, correlation_id=None):
    """R28: the customer's notice that the space is ready: the site's address and the FTP access
    (login = the domain, the password derived from the space's contract id, never stored)."""
    from .notices import new_notice, notice_key
    customer = services.store.get_customer(contract.customer_id)
    domain = contract.domain_name
    return new_notice(
        notice_key=notice_key("space_ready", contract.contract_id), customer_id=contract.customer_id,
        to=customer.email, template="space_ready", now=now, correlation_id=correlation_id,
        contract_id=contract.contract_id, context={
            "domain": domain, "site_url": f"http://{domain}/",
            "ftp_host": services.settings.ftp_host.replace("{domain}", domain), "ftp_login": domain,
            # R28: the FTP password is derived again at delivery (notice_secrets), never stored
            "consumer": customer.kind == "consumer"})


def on_space_provisioned(msg: SpaceProvisioned, services: Services) -> str:
    """R30: the node confirmed; the contract becomes active (once), and the customer gets the
    space-ready notice with the FTP access (R28) in the same write."""
    from ..adapters.models import ContractModel
    command, contract = services.store.get_together((NodeCommandModel, msg.command_id),
                                                    (ContractModel, msg.contract_id))
    if command is None or command.status == "succeeded" or contract is None \
            or contract.contract_id != command.contract_id:
        return "ignored"
    now = services.clock.now()
    before = ContractState.PROVISIONING_FAILED.value if command.status == "failed" else ContractState.PROVISIONING.value
    actor = NODE_ACTOR.format(msg.node_id)
    evidence = [
        state_change(command.customer_id, now, actor, "node_command", command.command_id, command.status,
                     "succeeded", correlation_id=msg.correlation_id, contract_id=command.contract_id,
                     node_id=msg.node_id),
        state_change(command.customer_id, now, actor, "contract", command.contract_id, before,
                     ContractState.ACTIVE.value, correlation_id=msg.correlation_id,
                     contract_id=command.contract_id, node_id=msg.node_id),
    ]
    from .billing_cycle import first_instalment_timers
    from .lifecycle import activation_timers
    from .notices import queue_notice
    notices = [space_ready_notice(contract, command, services, now, msg.correlation_id)]
    while True:
        try:
            services.store.complete_command(
                command=command, contract_state=ContractState.ACTIVE.value,
                accepting_states=[s.value for s in states_accepting(ContractEvent.SPACE_PROVISIONED)],
                alert=None, command_status="succeeded", error=None, evidence=evidence, now=now,
                timers=activation_timers(contract, services, now) + first_instalment_timers(contract, services, now),
                notices=notices)
        except TransactionConflict as conflict:
            if notices and conflict.failed == {"notice:space_ready"}:
                notices = []  # told before (an earlier provisioning of this contract): not twice
                continue
            logger.info("space provisioned changed nothing", command_id=msg.command_id, failed=sorted(conflict.failed))
            return "ignored"
        break
    for notice in notices:
        queue_notice(notice, services)
    logger.info("contract active", contract_id=command.contract_id, node_id=msg.node_id)
    return "applied"


def on_command_failed(msg: CommandFailed, services: Services) -> str:
    """R30: one failed try is recorded; the queue retries it with backoff."""
    command = services.store.get_command(msg.command_id)
    if command is None or command.status != "pending":
        return "ignored"
    now = services.clock.now()
    entry = state_change(command.customer_id, now, NODE_ACTOR.format(msg.node_id), "node_command",
                         command.command_id, "pending", "pending", action="node_command.attempt_failed",
                         correlation_id=msg.correlation_id, contract_id=command.contract_id,
                         attempt=msg.attempt, error=msg.error)
    try:
        services.store.record_command_attempt(command.command_id, msg.attempt, msg.error, [entry])
    except TransactionConflict:
        return "ignored"
    logger.warning("node command attempt failed", command_id=msg.command_id, attempt=msg.attempt, error=msg.error)
    return "applied"


def on_command_dead_lettered(command_id: str, services: Services, correlation_id: Optional[str]) -> str:
    """R30: tries exhausted: the command and contract show the failure and operators get an alert."""
    command = services.store.get_command(command_id)
    if command is None or command.status != "pending":
        return "ignored"
    now = services.clock.now()
    error = command.last_error or "the node did not apply the command after every try"
    if command.type != ProvisionSpace.__name__:
        return _finish_command(command, services, "failed", now, error=error, alert=new_alert(
            "node_command_failed", f"{command.type} {command_id} for contract {command.contract_id} reached the "
            f"dead-letter queue: {error}", now, command_id=command_id, contract_id=command.contract_id,
            node_id=command.node_id))
    alert = new_alert("provisioning_failed", f"command {command_id} for contract {command.contract_id} "
                      f"reached the dead-letter queue: {error}", now, command_id=command_id,
                      contract_id=command.contract_id, node_id=command.node_id)
    evidence = [
        state_change(command.customer_id, now, "system", "node_command", command_id, "pending", "failed",
                     correlation_id=correlation_id, contract_id=command.contract_id, error=error),
        state_change(command.customer_id, now, "system", "contract", command.contract_id,
                     ContractState.PROVISIONING.value, ContractState.PROVISIONING_FAILED.value,
                     correlation_id=correlation_id, contract_id=command.contract_id, error=error),
    ]
    try:
        services.store.complete_command(
            command=command, contract_state=ContractState.PROVISIONING_FAILED.value,
            accepting_states=[s.value for s in states_accepting(ContractEvent.PROVISIONING_FAILED)],
            alert=alert, command_status="failed", error=error, evidence=evidence, now=now)
    except TransactionConflict:
        return "ignored"
    logger.error("provisioning failed", command_id=command_id, contract_id=command.contract_id, error=error)
    return "applied"


def on_unreadable_dead_letter(message_id: str, body: str, services: Services) -> str:
    """R30: a dead letter that is not a known command still reaches an operator, once per message."""
    now = services.clock.now()
    services.store.put_alert(new_alert("unreadable_dead_letter", "a message in the node command dead-letter "
                                       "queue is not a known command", now, alert_key=f"dead_letter#{message_id}",
                                       message_id=message_id, body=body[:2000]))
    logger.error("unreadable dead letter", message_id=message_id)
    return "alerted"


def retry_provisioning(contract_id: str, services: Services, operator: str, correlation_id: Optional[str]) -> dict:
    """R30: an operator sends a failed provisioning again, as a new command to the same node
    (its space stays reserved there). Only a `provisioning_failed` contract can be retried."""
    store, now = services.store, services.clock.now()
    contract = store.get_contract(contract_id)
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    new_state = next_state(contract.status, ContractEvent.PROVISIONING_RETRIED)
    previous = store.get_command(contract.command_id)
    command_id = new_id("cmd")
    payload = {**previous.payload, "command_id": command_id, "issued_at": utc_iso(now), "correlation_id": correlation_id}
    command = NodeCommandModel(
        command_id=command_id, node_id=previous.node_id, queue_url=previous.queue_url, contract_id=contract_id,
        customer_id=contract.customer_id, type=previous.type, payload=ProvisionSpace.model_validate(payload)
        .model_dump(mode="json"), status="pending", issued_at=utc_iso(now), pending_pool=previous.pending_pool
        or services.settings.node_pool, attempts=0)
    actor = f"operator:{operator}"
    evidence = [
        state_change(contract.customer_id, now, actor, "contract", contract_id, contract.status, new_state.value,
                     action="contract.provisioning_retried", correlation_id=correlation_id, contract_id=contract_id,
                     previous_command_id=previous.command_id),
        state_change(contract.customer_id, now, actor, "node_command", command_id, None, "pending",
                     action="node_command.issued", correlation_id=correlation_id, contract_id=contract_id,
                     type=previous.type, node_id=previous.node_id),
    ]
    try:
        store.reissue_command(contract_id=contract_id, previous_command_id=previous.command_id, command=command,
                              accepting_states=[s.value for s in states_accepting(ContractEvent.PROVISIONING_RETRIED)],
                              evidence=evidence, now=now)
    except TransactionConflict:
        raise ConflictError("the contract changed meanwhile; read it again", code="contract_changed") from None
    dispatch(command, services, correlation_id)
    return {"contract_id": contract_id, "status": new_state.value, "command_id": command_id}


def on_command_applied(msg: CommandApplied, services: Services) -> str:
    """R30: the node confirmed a restrict/suspend/unsuspend/delete command. A deletion is what makes
    the contract `data_deleted` (R20: deletion is confirmed by the node and recorded)."""
    command = services.store.get_command(msg.command_id)
    if command is None or command.status == "succeeded":
        return "ignored"
    now = services.clock.now()
    if msg.command_type == "DeleteSpaceData":
        from .lifecycle import confirm_data_deleted
        return confirm_data_deleted(command, msg, services, now)
    return _finish_command(command, services, "succeeded", now, actor=NODE_ACTOR.format(msg.node_id))


def _finish_command(command: NodeCommandModel, services: Services, status: str, now, *, error: Optional[str] = None,
                    alert=None, actor: str = "system") -> str:
    """A command's verdict that moves no contract (the contract moved when it was issued)."""
    from ..adapters.dynamo_store import Effect
    effect = Effect().update(
        "command", NodeCommandModel(command_id=command.command_id),
        [NodeCommandModel.status.set(status), NodeCommandModel.completed_at.set(utc_iso(now)),
         NodeCommandModel.pending_pool.remove(), *([NodeCommandModel.last_error.set(error)] if error else [])],
        NodeCommandModel.status == "pending")
    if alert is not None:
        effect.save("alert", alert)
    effect.evidence.append(state_change(command.customer_id, now, actor, "node_command", command.command_id,
                                        command.status, status, contract_id=command.contract_id, type=command.type,
                                        **({"error": error} if error else {})))
    try:
        services.store.apply(effect)
    except TransactionConflict:
        return "ignored"
    return "applied"


def on_node_heartbeat(msg: NodeHeartbeat, services: Services) -> str:
    """Liveness is judged on the back office's wall clock at reception, so neither a node's clock
    drift nor local time travel makes a live node look stale."""
    services.store.node_seen(services.settings.node_pool, msg.node_id, services.clock.wall(), msg.http_address)
    return "applied"


def redispatch_pending(services: Services) -> int:
    """Resume dispatches lost to a crash between the payment write and the send (outbox sweep)."""
    cutoff = services.clock.now() - timedelta(seconds=services.settings.command_redispatch_after_seconds)
    pending = services.store.pending_commands(services.settings.node_pool, cutoff)
    for command in pending:
        dispatch(command, services)
    return len(pending)
