"""R32: the first use of a hosting space, reported by its node, recorded once on the contract.

The first login, upload or mailbox use ends a consumer's withdrawal right (R13): the withdrawal
use case reads `contract.first_used_at`. A node reports each kind of first use once per space and
may deliver a report more than once, and reports may arrive in any order: the earliest use is
what counts, so a report of an earlier use than the one recorded corrects it (with its own
evidence entry), and any other report changes nothing.
"""
from __future__ import annotations

from ..adapters.dynamo_store import Effect, TransactionConflict
from ..adapters.models import ContractModel
from ..bootstrap import Services
from ..contracts.node_messages import SpaceFirstUsed
from ..domain.calendar import utc_iso
from ..domain.evidence import state_change
from ..observability import logger


ATTEMPTS = 5


def on_space_first_used(msg: SpaceFirstUsed, services: Services) -> str:
    """R32: set `first_used_at` and `first_use` once (conditional write), with an evidence entry
    (R56). The node knows a space by its original contract id (a renewal keeps the space), so the
    report names that contract. Returns "applied", or "ignored" for a duplicate or a later report.

    The moment recorded is the node's `used_at` on the business clock: the node reads real time,
    and local time travel moves the business clock by an offset (`now - wall`, zero on AWS)."""
    for _ in range(ATTEMPTS):
        contract = services.store.get_contract(msg.contract_id)
        if contract is None:
            return "ignored"
        now = services.clock.now()
        used_at = min(msg.used_at + (now - services.clock.wall()), now)
        node_at = utc_iso(msg.used_at)  # reports are ordered on the node's own clock, not the business one
        if contract.first_used_at and (contract.first_use_node_at or "") <= node_at:
            return "ignored"  # a duplicate, or a later use than the one recorded
        first_use = {"usage": msg.usage, "node_id": msg.node_id, "domain": msg.domain,
                     "node_used_at": node_at, "reported_at": utc_iso(now)}
        # The write holds only on the state read, so the evidence (first use or correction) is true
        # of what it replaces; a concurrent report makes it fail and the decision is taken again.
        as_read = (ContractModel.first_use_node_at == contract.first_use_node_at) if contract.first_used_at \
            else ContractModel.first_used_at.does_not_exist()
        effect = Effect().update(
            "contract", ContractModel(contract_id=contract.contract_id),
            [ContractModel.first_used_at.set(utc_iso(used_at)), ContractModel.first_use.set(first_use),
             ContractModel.first_use_node_at.set(node_at), ContractModel.updated_at.set(utc_iso(now))], as_read)
        effect.evidence.append(state_change(
            contract.customer_id, now, f"node:{msg.node_id}", "contract", contract.contract_id, contract.status,
            contract.status, action="contract.first_use_corrected" if contract.first_used_at else "contract.first_use",
            previous_first_used_at=contract.first_used_at, correlation_id=msg.correlation_id,
            contract_id=contract.contract_id, usage=msg.usage, first_used_at=utc_iso(used_at), domain=msg.domain))
        try:
            services.store.apply(effect)
        except TransactionConflict:
            continue  # another report was recorded meanwhile: compare with it
        break
    else:
        raise RuntimeError(f"first use of {msg.contract_id} kept changing; the queue retries the report")
    logger.info("space first used", contract_id=contract.contract_id, usage=msg.usage, node_id=msg.node_id)
    return "applied"
