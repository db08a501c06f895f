"""Availability (R44), maintenance windows, force majeure (R50): use cases.

Probes. Each node probes every space it serves at a fixed interval (nodeagent/prober.py) and sends
one `SiteProbes` message per round on the node-results queue. A probe is stored at the back
office's BUSINESS time of receipt (`services.clock.now()`), not the node's clock: the monthly
report is about business months, local time travel moves every other deadline with that clock,
and a node's clock drift cannot move a probe into another month. The round's time of receipt is
recorded first in its own row (`round#<node>#<round id>`, written once, conditionally), and every
probe of the round is written under that time: a redelivered round (SQS at-least-once) writes the
same keys again and is never counted twice, even after a crash half-way through.

The monthly report (`contract_availability`) reads, for one contract and one Paris month: the
contract's life in force and its restriction/suspension periods from its evidence log (R56: every
status change of a contract is logged there with its time, whichever use case made it: the one
reliable history of holds), the probes of its space, the maintenance windows and force majeure
events covering its node, and the incidents the customer reported (R45, tickets.reported_outages);
the arithmetic is in domain/availability.py.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from ..adapters.dynamo_store import Effect
from ..adapters.models import AvailabilityEventModel, ContractModel, ProbeModel
from ..bootstrap import Services
from ..contracts.node_messages import SiteProbes
from ..domain.availability import (FORCE_MAJEURE, MAINTENANCE, Exclusion, Probe, availability_report,
                                   check_period, force_majeure_covers, in_force_and_holds, order_status_changes,
                                   may_terminate_for_force_majeure, month_bounds, month_of, seconds,
                                   termination_opens_at)
from ..domain.calendar import PARIS, paris_date, parse_iso, require_aware, utc_iso
from ..domain.contracts import IN_FORCE, ContractState
from ..domain.errors import ConflictError, NotFoundError, RuleViolationError
from ..domain.evidence import state_change
from ..observability import logger
from .effects import commit

ROUND_ROW_DAYS = 14            # a round's receipt row outlives any redelivery (SQS keeps a message 14 days at most)
LIST_LIMIT = 500
_IN_FORCE = tuple(state.value for state in IN_FORCE)
PREFIX = {MAINTENANCE: "mw", FORCE_MAJEURE: "fm"}
NOTICE_TEMPLATE = "force_majeure_terminated"


# ---- R44: probe rounds -----------------------------------------------------------------------------

def _round_received_at(msg: SiteProbes, now: datetime) -> tuple[datetime, bool]:
    """The business time the round was first received, and whether this delivery is the first."""
    row = ProbeModel(contract_id=f"round#{msg.node_id}#{msg.round_id}", at="round", node_id=msg.node_id,
                     round_id=msg.round_id, probed_at=utc_iso(msg.probed_at), received_at=utc_iso(now),
                     expires_epoch=int((now + timedelta(days=ROUND_ROW_DAYS)).timestamp()))
    try:
        row.save(condition=ProbeModel.contract_id.does_not_exist())
        return now, True
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    first = ProbeModel.get(row.contract_id, "round", consistent_read=True)
    return parse_iso(first.received_at), False


def on_site_probes(msg: SiteProbes, services: Services) -> str:
    """R44: store one probe round, each result under its space's contract id at the round's
    business time of receipt. Idempotent per round (see the module docstring)."""
    received, first = _round_received_at(msg, services.clock.now())
    at = utc_iso(received)
    expires = int((received + timedelta(days=services.settings.probe_retention_days)).timestamp())
    latest = {result.contract_id: result for result in msg.results}  # one row per space and round
    with ProbeModel.batch_write() as batch:
        for result in latest.values():
            batch.save(ProbeModel(contract_id=result.contract_id, at=at, up=result.up, status=result.status,
                                  latency_ms=result.latency_ms, domain=result.domain, node_id=msg.node_id,
                                  round_id=msg.round_id, probed_at=utc_iso(msg.probed_at), error=result.error,
                                  expires_epoch=expires))
    logger.info("probe round stored", node_id=msg.node_id, round_id=msg.round_id, sites=len(latest),
                down=sum(1 for r in latest.values() if not r.up), replay=not first)
    return "applied" if first else "replayed"


def probes_of(space_id: str, start: datetime, end: datetime) -> tuple[list[ProbeModel], Optional[ProbeModel]]:
    """The probes of a space in [start, end), oldest first, and the first one at or after `end`
    (it closes an outage still running at the end of the period)."""
    low, high = utc_iso(start), utc_iso(end)
    inside = [p for p in ProbeModel.query(space_id, ProbeModel.at.between(low, high)) if p.at < high]
    following = next(iter(ProbeModel.query(space_id, ProbeModel.at >= high, limit=1)), None)
    return inside, following


# ---- maintenance windows and force majeure events ----------------------------------------------------

def _compact(moment: datetime) -> str:
    return require_aware(moment).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _event_id(kind: str, start: datetime, *facts: Any) -> str:
    """`<mw|fm>_<start, UTC compact>_<digest of what the event says>`: sorted by start, the same
    announcement twice is the same event, and safe in a URL path."""
    digest = hashlib.sha256(json.dumps([kind, utc_iso(start), *facts], default=str, sort_keys=True).encode())
    return f"{PREFIX[kind]}_{_compact(start)}_{digest.hexdigest()[:10]}"


def _nodes_value(nodes: Any) -> Any:
    return "all" if nodes == "all" else sorted(set(nodes))


def _check_nodes(nodes: Any, field: str, services: Services) -> None:
    """The nodes named must be the pool's (a typing error would silently exclude nothing)."""
    if nodes == "all":
        return
    known = {node.node_id for node in services.store.nodes(services.settings.node_pool)}
    unknown = sorted(set(nodes) - known)
    if unknown:
        raise RuleViolationError(f"unknown node(s) {', '.join(unknown)}; name registered nodes or \"all\"",
                                 code="unknown_node", fields={field: f"not a node of the pool: {unknown}"})


def _save_event(row: AvailabilityEventModel) -> tuple[AvailabilityEventModel, bool]:
    try:
        row.save(condition=AvailabilityEventModel.event_id.does_not_exist())
        return row, True
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    return AvailabilityEventModel.get(row.kind, row.event_id, consistent_read=True), False


def _get_event(kind: str, event_id: str) -> Optional[AvailabilityEventModel]:
    if not event_id or len(event_id.encode("utf-8", "surrogatepass")) > 1024:
        return None
    try:
        return AvailabilityEventModel.get(kind, event_id, consistent_read=True)
    except DoesNotExist:
        return None


def events_overlapping(kind: str, start: Optional[datetime], end: Optional[datetime]
                       ) -> list[AvailabilityEventModel]:
    """The events of a kind that overlap [start, end) (all of them when no bounds), by start. The
    range key starts with the start instant: one Query reads those starting before `end`."""
    condition = None if end is None else \
        AvailabilityEventModel.event_id < f"{PREFIX[kind]}_{_compact(end + timedelta(seconds=1))}"
    rows = AvailabilityEventModel.query(kind, condition, scan_index_forward=True)
    low, high = (None if start is None else utc_iso(start)), (None if end is None else utc_iso(end))
    return [row for row in rows if (high is None or row.start < high)
            and (low is None or row.end is None or row.end > low)]


def maintenance_view(row: AvailabilityEventModel) -> dict[str, Any]:
    return {"event_id": row.event_id, "start": row.start, "end": row.end, "node_ids": row.nodes,
            "description": row.description, "emergency": bool(row.emergency),
            "announced_afterwards": row.announced_at >= row.start, "announced_at": row.announced_at,
            "announced_by": row.announced_by}


def force_majeure_view(row: AvailabilityEventModel, services: Services) -> dict[str, Any]:
    days = services.settings.force_majeure_termination_days
    start, end, now = parse_iso(row.start), parse_iso(row.end) if row.end else None, services.clock.now()
    return {"event_id": row.event_id, "start": row.start, "end": row.end, "ongoing": end is None or end > now,
            "services": row.nodes, "description": row.description, "announced_at": row.announced_at,
            "announced_by": row.announced_by, "ended_at": row.ended_at, "ended_by": row.ended_by,
            # R50 (18.3): either party may terminate once it lasted more than the threshold
            "termination_possible_after": utc_iso(termination_opens_at(start, days)),
            "termination_possible": may_terminate_for_force_majeure(start, end, now, days)}


def announce_maintenance(body: Any, services: Services, actor: str) -> tuple[dict[str, Any], bool]:
    """R44 (15.2): a maintenance window is announced beforehand; once it started, only as an
    emergency (recorded as announced afterwards). The same announcement twice is one window."""
    now = services.clock.now()
    check_period(body.start, body.end)
    _check_nodes(body.node_ids, "node_ids", services)
    if now >= body.start and not body.emergency:
        raise RuleViolationError(
            f"R44: maintenance must be announced before it starts ({utc_iso(body.start)}; it is now {utc_iso(now)}); "
            "a window announced afterwards must be an emergency: send \"emergency\": true",
            code="maintenance_not_announced_beforehand", fields={"emergency": "true for an emergency window"})
    nodes = _nodes_value(body.node_ids)
    row = AvailabilityEventModel(
        kind=MAINTENANCE, event_id=_event_id(MAINTENANCE, body.start, utc_iso(body.end), nodes, body.description),
        start=utc_iso(body.start), end=utc_iso(body.end), nodes=nodes, description=body.description,
        emergency=bool(body.emergency), announced_at=utc_iso(now), announced_by=actor)
    row, created = _save_event(row)
    if created:
        logger.info("maintenance window announced", event_id=row.event_id, emergency=row.emergency, actor=actor)
    return maintenance_view(row), created


def declare_force_majeure(body: Any, services: Services, actor: str) -> tuple[dict[str, Any], bool]:
    """R50: a force majeure event over a period (open while no end is given) and the services
    (nodes) it affects; excluded from R44 on those nodes."""
    now = services.clock.now()
    check_period(body.start, body.end)
    _check_nodes(body.services, "services", services)
    nodes = _nodes_value(body.services)
    row = AvailabilityEventModel(
        kind=FORCE_MAJEURE, event_id=_event_id(FORCE_MAJEURE, body.start, nodes, body.description),
        start=utc_iso(body.start), end=utc_iso(body.end) if body.end else None, nodes=nodes,
        description=body.description, emergency=False, announced_at=utc_iso(now), announced_by=actor,
        ended_at=utc_iso(now) if body.end else None, ended_by=actor if body.end else None)
    row, created = _save_event(row)
    if created:
        logger.info("force majeure declared", event_id=row.event_id, actor=actor)
    return force_majeure_view(row, services), created


def end_force_majeure(event_id: str, end: datetime, services: Services, actor: str) -> dict[str, Any]:
    """R50: record when the event ended (once; the same end again answers as before)."""
    row = _get_event(FORCE_MAJEURE, event_id)
    if row is None:
        raise NotFoundError(f"no force majeure event {event_id[:64]!r}", code="force_majeure_not_found")
    check_period(parse_iso(row.start), end)
    if row.end is not None:
        if parse_iso(row.end) == end:
            return force_majeure_view(row, services)
        raise ConflictError(f"the event already ended at {row.end}", code="force_majeure_already_ended")
    now = services.clock.now()
    try:
        row.update(actions=[AvailabilityEventModel.end.set(utc_iso(end)),
                            AvailabilityEventModel.ended_at.set(utc_iso(now)),
                            AvailabilityEventModel.ended_by.set(actor)],
                   condition=AvailabilityEventModel.end.does_not_exist())
    except UpdateError as exc:  # another operator ended it meanwhile: answer from what is stored
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return end_force_majeure(event_id, end, services, actor)
    logger.info("force majeure ended", event_id=event_id, actor=actor)
    return force_majeure_view(row, services)


def list_events(kind: str, services: Services, month: Optional[str] = None) -> list[dict[str, Any]]:
    """Every event of a kind (those overlapping `month` when given), by start; at most LIST_LIMIT."""
    start, end = month_bounds(month) if month else (None, None)
    rows = events_overlapping(kind, start, end)[-LIST_LIMIT:]
    return [maintenance_view(r) if kind == MAINTENANCE else force_majeure_view(r, services) for r in rows]


# ---- R44: the monthly report ---------------------------------------------------------------------

def _status_timeline(contract: ContractModel, services: Services) -> list[tuple[datetime, str, Optional[str]]]:
    """The contract's status changes from its evidence log, in order: (instant, status after, the
    hold reasons held then or the change's reason)."""
    changes = []
    for entry in services.store.evidence_for(contract.customer_id, contract_id=contract.contract_id):
        after, before = entry.get("after"), entry.get("before")
        if entry.get("entity_type") != "contract" or entry.get("entity_id") != contract.contract_id \
                or not isinstance(after, dict) or not after.get("status"):
            continue
        holds = after.get("holds")
        detail = ", ".join(sorted(holds)) if isinstance(holds, dict) and holds else after.get("reason")
        changes.append((parse_iso(entry["at"]), (before or {}).get("status") if isinstance(before, dict) else None,
                        after["status"], detail))
    return order_status_changes(changes)


def _reported_outages(contract_id: str, start: datetime, end: datetime, services: Services
                      ) -> Optional[list[tuple[datetime, datetime]]]:
    """R45 (15.3): the incidents the customer reported, or None when the tickets module is not
    there (every outage then counts as unreported)."""
    try:
        from .tickets import reported_outages
    except ImportError:
        return None
    return [(s, e if e is not None else end) for s, e in reported_outages(contract_id, start, end, services)]


def _exclusions(contract: ContractModel, start: datetime, end: datetime) -> list[Exclusion]:
    out = []
    for kind in (MAINTENANCE, FORCE_MAJEURE):
        for row in events_overlapping(kind, start, end):
            if force_majeure_covers(row.nodes, contract.node_id):
                out.append(Exclusion(parse_iso(row.start), parse_iso(row.end) if row.end else None, kind,
                                     row.event_id, row.description))
    return out


def _interval(start: datetime, end: datetime) -> dict[str, Any]:
    return {"start": utc_iso(start), "end": utc_iso(end), "seconds": float(seconds(end - start))}


def contract_availability(contract: ContractModel, month: Optional[str], services: Services) -> dict[str, Any]:
    """R44: the availability report of one contract's hosting space for one Paris month (the
    current one by default, measured up to now)."""
    now = services.clock.now()
    month = month or month_of(now)
    month_start, month_end = month_bounds(month)
    until = max(month_start, min(month_end, now))
    timeline = _status_timeline(contract, services)
    in_force, holds = in_force_and_holds(timeline, until)
    if not timeline and contract.status in _IN_FORCE:  # no history in this customer's log (e.g. assigned)
        from datetime import date
        in_force = [(datetime.combine(date.fromisoformat(contract.starts_on), datetime.min.time(), PARIS), until)]
    space_id = contract.space_id or contract.contract_id
    inside, following = probes_of(space_id, month_start, until)
    probes = [Probe(parse_iso(p.at), bool(p.up)) for p in inside + ([following] if following else [])]
    reported = _reported_outages(contract.contract_id, month_start, until, services)
    report = availability_report(period=(month_start, until), in_force=in_force, probes=probes,
                                 exclusions=_exclusions(contract, month_start, until) + holds,
                                 reported=reported or [], target_percent=services.settings.availability_target_percent)
    notes = list(report.notes)
    if reported is None:
        notes.append("incident reports unavailable: every outage is taken as unreported (15.3)")
    if until < month_end:
        notes.append("month in progress: measured up to now" if until > month_start else "month not started")
    return {
        "contract_id": contract.contract_id, "domain": contract.domain_name, "node_id": contract.node_id,
        "month": month, "period": {"start": utc_iso(month_start), "end": utc_iso(month_end)},
        "measured_until": utc_iso(until),
        "target_percent": str(report.target_percent),
        "availability_percent": None if report.availability_percent is None else str(report.availability_percent),
        "meets_commitment": report.meets_commitment,
        "observed_availability_percent": None if report.observed_percent is None else str(report.observed_percent),
        "measured_seconds": float(report.measured_seconds), "excluded_seconds": float(report.excluded_seconds),
        "counted_downtime_seconds": float(report.counted_seconds),
        "measured": [_interval(s, e) for s, e in report.measured],
        "excluded_periods": [{"reason": x.reason, **_interval(x.start, x.end), "ref": x.ref,
                              "description": x.description} for x in report.excluded],
        "counted_outages": [_interval(s, e) for s, e in report.counted],
        "unreported_outages": [_interval(s, e) for s, e in report.unreported],
        "probes": {"count": len(inside), "failed": sum(1 for p in inside if not p.up)},
        "notes": notes,
    }


# ---- R50: termination for force majeure ---------------------------------------------------------------

def terminate_for_force_majeure(contract: ContractModel, event_id: str, services: Services, *, actor: str,
                                requested_by: str, correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R50 (18.3): once a force majeure event covering the contract's node has lasted more than
    `force_majeure_termination_days`, either party terminates the contract: terminated (ended
    reason force_majeure, no fees), the space suspended, the R20 retention timers scheduled, the
    customer told, the evidence logged, in one write. 422 before that or for an event elsewhere."""
    from .lifecycle import add_notice, issue_node_command, revision_guard, schedule_retention
    s, now = services.settings, services.clock.now()
    event = _get_event(FORCE_MAJEURE, event_id)
    if event is None:
        raise NotFoundError(f"no force majeure event {event_id[:64]!r}", code="force_majeure_not_found")
    if contract.status not in _IN_FORCE:
        raise ConflictError(f"the contract is {contract.status}, not in force", code="contract_not_in_force")
    if not force_majeure_covers(event.nodes, contract.node_id):
        raise RuleViolationError("R50: this force majeure event does not affect the contract's services",
                                 code="force_majeure_does_not_cover_contract", fields={"event_id": "another event"})
    start, end = parse_iso(event.start), parse_iso(event.end) if event.end else None
    if not may_terminate_for_force_majeure(start, end, now, s.force_majeure_termination_days):
        opens = termination_opens_at(start, s.force_majeure_termination_days)
        raise RuleViolationError(
            f"R50: the event must last more than {s.force_majeure_termination_days} days "
            f"(after {utc_iso(opens)}{'; it ended before' if end is not None and end <= opens else ''})",
            code="force_majeure_not_long_enough", fields={"event_id": "an event lasting longer"})
    terminated = ContractState.TERMINATED.value
    effect = Effect()
    unchanged, next_revision = revision_guard(contract)
    effect.update("contract", ContractModel(contract_id=contract.contract_id),
                  [ContractModel.status.set(terminated), ContractModel.ended_reason.set("force_majeure"),
                   next_revision, ContractModel.updated_at.set(utc_iso(now))],
                  unchanged & ContractModel.status.is_in(*_IN_FORCE))
    effect.evidence.append(state_change(
        contract.customer_id, now, actor, "contract", contract.contract_id, contract.status, terminated,
        action="contract.terminated", reason="force_majeure", event_id=event.event_id, requested_by=requested_by,
        event_start=event.start, holds=dict(contract.holds or {}), correlation_id=correlation_id,
        contract_id=contract.contract_id, order_id=contract.order_id))
    if contract.node_id:
        issue_node_command(effect, contract, services, "SuspendSpace", now, actor, reason="force_majeure")
    deletion_at = schedule_retention(effect, contract, now, services, now)
    add_notice(effect, services, key=f"{NOTICE_TEMPLATE}#{contract.contract_id}", contract=contract,
               template=NOTICE_TEMPLATE, now=now, context={
                   "domain": contract.domain_name, "contract_id": contract.contract_id,
                   "event_description": event.description, "event_start": event.start,
                   "terminated_on": paris_date(now).isoformat(), "requested_by": requested_by,
                   "deletion_on": paris_date(deletion_at).isoformat()})
    commit(effect, services, ConflictError("the contract changed meanwhile; read it again", code="contract_changed"))
    logger.info("contract terminated for force majeure", contract_id=contract.contract_id, event_id=event_id)
    return {"contract_id": contract.contract_id, "status": terminated, "ended_reason": "force_majeure",
            "event_id": event.event_id, "requested_by": requested_by, "terminated_at": utc_iso(now),
            "data_deletion_at": utc_iso(deletion_at)}
