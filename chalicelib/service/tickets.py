"""Support tickets and incidents (R43, R45): use cases.

A customer opens a ticket (`open_ticket`): the ticket, its first message, its R43 deadline timer,
the acknowledgment notice (with the deadline) and the evidence are one transaction. Until an
operator takes it into account the ticket carries `open_pool`, the key of the sparse `open`
index, so operators list open tickets soonest deadline first with one Query. Taking it into
account (explicitly, or by answering or resolving it) removes that key in the same write that
records who and when, on time or late. The deadline timer (`on_ticket_deadline`) flags a breach,
raises an operator alert and logs it, once, and only when the ticket is still open.

R45: an incident is a ticket of kind `incident` on one of the caller's contracts, with when the
anomaly started; it carries `incident_contract_id`, the key of the sparse `incidents` index that
`reported_outages` reads for the availability computation (R44). Resolving it records its cause;
the resolution notice tells the customer when the cause lies outside the provider.

Who sees what: a ticket belongs to its customer. The subscriber sees all of them; a beneficiary
(R06: uses the service, administers nothing) opens questions and incidents on the contracts it was
named on and sees the tickets it opened. Another customer's ticket answers 404 like an unknown one.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from pynamodb.exceptions import DoesNotExist

from ..adapters.dynamo_store import Effect, TransactionConflict, new_alert, new_id
from ..adapters.models import TicketMessageModel, TicketModel, TimerModel
from ..adapters.notice_store import NOTICE_IS_NEW
from ..bootstrap import Services
from ..domain.access import SUBSCRIBER, Principal, may_use_contract, owns_customer
from ..domain.calendar import parse_iso, utc_iso
from ..domain.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError, RuleViolationError
from ..domain.evidence import state_change
from ..domain.tickets import (MAX_MESSAGES, Cause, TicketEvent, TicketKind, TicketState, check_incident,
                              check_resolution, is_breached, next_state, outage_periods, take_into_account_deadline)
from .notices import new_notice, queue_notice
from .timers import schedule, timer_handler, timer_row
from .effects import commit

TICKET_DEADLINE = "ticket_deadline"   # R43 timer kind, target: the ticket id
OPEN_POOL = "open"                     # the one partition of the sparse `open` index
LIST_LIMIT = 200                       # a customer's list: the newest tickets
ADMIN_DEFAULT_LIMIT, ADMIN_MAX_LIMIT = 100, 500
WRITE_TRIES = 3                        # a write that lost a race is decided again on a fresh read
KIND_FR = {"question": "question", "incident": "incident", "billing": "facturation", "other": "autre demande"}
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")   # ticket and contract ids; anything else names no stored item


# ---- reading ------------------------------------------------------------------------------------

def get_ticket(ticket_id: str) -> Optional[TicketModel]:
    """The ticket, or None; a path id that cannot be a stored id (empty, too long, odd characters)
    is unknown without asking DynamoDB."""
    if not _ID.fullmatch(ticket_id or ""):
        return None
    try:
        return TicketModel.get(ticket_id, consistent_read=True)
    except DoesNotExist:
        return None


def _unknown(ticket_id: str) -> NotFoundError:
    return NotFoundError(f"no ticket {ticket_id[:64]!r}", code="ticket_not_found")


def _visible_to(principal: Principal, ticket: TicketModel) -> bool:
    """The subscriber sees its customer's tickets; a beneficiary the ones it opened (R06)."""
    if not owns_customer(principal, ticket.customer_id):
        return False
    return principal.role == SUBSCRIBER or ticket.opened_by_login == principal.login


def customer_ticket(principal: Principal, ticket_id: str) -> TicketModel:
    ticket = get_ticket(ticket_id)
    if ticket is None or not _visible_to(principal, ticket):
        raise _unknown(ticket_id)
    return ticket


def operator_ticket(ticket_id: str) -> TicketModel:
    ticket = get_ticket(ticket_id)
    if ticket is None:
        raise _unknown(ticket_id)
    return ticket


def _messages(ticket_id: str) -> list[TicketMessageModel]:
    return list(TicketMessageModel.query(ticket_id, consistent_read=True))


# ---- views --------------------------------------------------------------------------------------

def _summary(ticket: TicketModel, now: datetime) -> dict[str, Any]:
    return {"ticket_id": ticket.ticket_id, "kind": ticket.kind, "subject": ticket.subject, "state": ticket.state,
            "contract_id": ticket.contract_id, "domain": ticket.domain_name, "created_at": ticket.created_at,
            "deadline_at": ticket.deadline_at, "taken_into_account_at": ticket.taken_at,
            "incident": ticket.incident, "message_count": int(ticket.message_count or 0),
            "last_message_at": ticket.last_message_at, "resolved_at": ticket.resolved_at}


def _breached(ticket: TicketModel, now: datetime) -> bool:
    """R43: flagged by the timer, or past its deadline (the timer may still be on its way), or late."""
    taken = parse_iso(ticket.taken_at) if ticket.taken_at else None
    return bool(ticket.breached) or is_breached(parse_iso(ticket.deadline_at), taken, now)


def customer_view(ticket: TicketModel, now: datetime, messages: Optional[list] = None) -> dict[str, Any]:
    view = _summary(ticket, now)
    view["resolution"] = ({"cause": ticket.cause, "note": ticket.resolution_note, "resolved_at": ticket.resolved_at}
                          if ticket.state == TicketState.RESOLVED.value else None)
    if messages is not None:
        view["messages"] = [{"message_id": m.message_id, "at": m.created_at, "author": m.author, "body": m.body,
                             **({"by": m.actor} if m.author == "customer" else {})} for m in messages]
    return view


def operator_view(ticket: TicketModel, now: datetime, messages: Optional[list] = None) -> dict[str, Any]:
    view = _summary(ticket, now)
    view.update(customer_id=ticket.customer_id, opened_by=ticket.opened_by, breached=_breached(ticket, now),
                breach_flagged_at=ticket.breached_at, taken_by=ticket.taken_by, taken_on_time=ticket.taken_on_time,
                resolution=({"cause": ticket.cause, "note": ticket.resolution_note, "resolved_at": ticket.resolved_at,
                             "resolved_by": ticket.resolved_by} if ticket.state == TicketState.RESOLVED.value
                            else None))
    if messages is not None:
        view["messages"] = [{"message_id": m.message_id, "at": m.created_at, "author": m.author, "by": m.actor,
                             "body": m.body} for m in messages]
    return view


# ---- notices (R54) ------------------------------------------------------------------------------

def _recipient(ticket: TicketModel, services: Services) -> Optional[str]:
    """Who opened the ticket hears about it: the customer's contact address for the subscriber,
    the beneficiary's own address for a beneficiary. None for an erased customer (R07)."""
    customer = services.store.get_customer(ticket.customer_id)
    if customer is None or customer.erased_at:
        return None
    if ticket.opened_by_role != SUBSCRIBER:
        from .accounts import get_account
        account = get_account(ticket.opened_by_login)
        if account is not None and account.status == "active" and account.email:
            return account.email
    return customer.email


def _notice(effect: Effect, services: Services, ticket: TicketModel, template: str, key: str, context: dict,
            now: datetime, correlation_id: Optional[str]) -> None:
    to = _recipient(ticket, services)
    if to is None:
        return
    context = {"ticket_id": ticket.ticket_id, "subject": ticket.subject, "kind": KIND_FR[ticket.kind],
               **({"domain": ticket.domain_name} if ticket.domain_name else {}), **context}
    notice = new_notice(notice_key=key, customer_id=ticket.customer_id, to=to, template=template, context=context,
                        now=now, correlation_id=correlation_id, contract_id=ticket.contract_id)
    effect.save(f"notice:{template}", notice, NOTICE_IS_NEW)
    effect.after_commit.append(lambda: queue_notice(notice, services))


def _commit(effect: Effect, services: Services) -> None:
    commit(effect, services)


# ---- R43: opening a ticket ----------------------------------------------------------------------

def _fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def _ticket_id(principal: Principal, idempotency_key: Optional[str]) -> str:
    if idempotency_key is None:
        return new_id("tkt")
    key = idempotency_key.strip()
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise InvalidInputError("Idempotency-Key: 1 to 200 printable characters",
                                code="invalid_idempotency_key", fields={"Idempotency-Key": "1-200 printable"})
    digest = hashlib.sha256(f"{principal.customer_id}|{principal.login}|{key}".encode()).hexdigest()[:24]
    return f"tkt_{digest}"


def open_ticket(principal: Principal, body: Any, services: Services, *, idempotency_key: Optional[str] = None,
                correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R43 (R45 for an incident): open a ticket; returns (view, created). Its deadline is 48
    business hours later (Paris); the customer is told it by mail. The same Idempotency-Key
    with the same request answers the ticket it opened; with another request, 409."""
    store, now = services.store, services.clock.now()
    kind = TicketKind(body.kind)
    if kind == TicketKind.BILLING and principal.role != SUBSCRIBER:
        raise ForbiddenError("R06: billing is the subscriber's: a beneficiary sees no invoice; ask the subscriber",
                             code="beneficiary_cannot_administer")
    ticket_id = _ticket_id(principal, idempotency_key)
    fingerprint = _fingerprint(body)
    if idempotency_key is not None:
        existing = get_ticket(ticket_id)
        if existing is not None:
            return _replay(existing, fingerprint, now), False
    contract = None
    if body.contract_id:
        contract = store.get_contract(body.contract_id)
        if contract is None or not may_use_contract(principal, contract.customer_id, body.contract_id):
            raise NotFoundError(f"no contract {body.contract_id}", code="contract_not_found",
                                fields={"contract_id": "one of your contracts"})
    started_at = body.incident.started_at if body.incident is not None else None
    check_incident(kind, body.contract_id, started_at, now, timedelta(days=services.settings.incident_report_max_days))
    deadline = take_into_account_deadline(now)
    at = utc_iso(now)
    ticket = TicketModel(
        ticket_id=ticket_id, customer_id=principal.customer_id, contract_id=body.contract_id,
        domain_name=contract.domain_name if contract is not None else None, kind=kind.value, subject=body.subject,
        state=TicketState.OPEN.value, opened_by=principal.actor, opened_by_login=principal.login or "",
        opened_by_role=principal.role or "", created_at=at, deadline_at=utc_iso(deadline), open_pool=OPEN_POOL,
        breached=False, message_count=1, last_message_at=at, request_fingerprint=fingerprint, updated_at=at)
    if kind == TicketKind.INCIDENT:
        ticket.incident = {"started_at": utc_iso(started_at), "url": body.incident.url, "ended_at": None}
        ticket.incident_contract_id = body.contract_id
        ticket.incident_started_at = utc_iso(started_at)
    message = _message_row(ticket, "customer", principal.actor, body.message, now)
    effect = Effect().save("ticket", ticket, TicketModel.ticket_id.does_not_exist())
    effect.save("message", message, TicketMessageModel.message_id.does_not_exist())
    schedule(effect, timer_row(TICKET_DEADLINE, ticket_id, ticket.customer_id, deadline, now))
    _notice(effect, services, ticket, "ticket_received", f"ticket_received#{ticket_id}",
            {"deadline_at": utc_iso(deadline), "created_at": at}, now, correlation_id)
    effect.evidence.append(state_change(
        ticket.customer_id, now, principal.actor, "ticket", ticket_id, None, TicketState.OPEN.value,
        action="ticket.opened", kind=kind.value, deadline_at=utc_iso(deadline), incident=ticket.incident,
        correlation_id=correlation_id, contract_id=body.contract_id))
    try:
        _commit(effect, services)
    except TransactionConflict as conflict:
        if "ticket" in conflict.failed and idempotency_key is not None:  # a concurrent retry opened it
            return _replay(operator_ticket(ticket_id), fingerprint, now), False
        raise
    return customer_view(ticket, now, [message]), True


def _replay(existing: TicketModel, fingerprint: str, now: datetime) -> dict[str, Any]:
    if existing.request_fingerprint != fingerprint:
        raise ConflictError("this Idempotency-Key was already used for another ticket",
                            code="idempotency_key_reused", fields={"Idempotency-Key": "use a new key"})
    return customer_view(existing, now, _messages(existing.ticket_id))


def _message_row(ticket: TicketModel, author: str, actor: str, text: str, now: datetime) -> TicketMessageModel:
    at = utc_iso(now)
    return TicketMessageModel(ticket_id=ticket.ticket_id, message_id=f"{at}#{uuid.uuid4().hex[:8]}",
                              customer_id=ticket.customer_id, author=author, actor=actor, body=text, created_at=at)


# ---- the customer's tickets ---------------------------------------------------------------------

def my_tickets(principal: Principal, services: Services) -> list[dict[str, Any]]:
    """The caller's tickets, newest first (a beneficiary: the ones it opened)."""
    now = services.clock.now()
    condition = None if principal.role == SUBSCRIBER else (TicketModel.opened_by_login == (principal.login or ""))
    rows = TicketModel.by_customer.query(principal.customer_id, filter_condition=condition,
                                         scan_index_forward=False, limit=LIST_LIMIT)
    return [customer_view(t, now) for t in rows]


def my_ticket(principal: Principal, ticket_id: str, services: Services) -> dict[str, Any]:
    ticket = customer_ticket(principal, ticket_id)
    return customer_view(ticket, services.clock.now(), _messages(ticket.ticket_id))


def customer_message(principal: Principal, ticket_id: str, text: str, services: Services, *,
                     correlation_id: Optional[str] = None) -> dict[str, Any]:
    """A customer writes on its ticket (not once it is resolved)."""
    customer_ticket(principal, ticket_id)
    return _add_message(ticket_id, "customer", principal.actor, text, services, correlation_id,
                        view=customer_view)


# ---- operators ----------------------------------------------------------------------------------

def open_tickets(services: Services, limit: int = ADMIN_DEFAULT_LIMIT) -> dict[str, Any]:
    """R43: the tickets not yet taken into account, soonest deadline first, each with its breach
    flag; one Query on the sparse `open` index (eventually consistent: a ticket taken into account
    a moment ago may still show)."""
    now = services.clock.now()
    rows = list(TicketModel.open_tickets.query(OPEN_POOL, scan_index_forward=True, limit=limit + 1))
    return {"tickets": [operator_view(t, now) for t in rows[:limit]], "truncated": len(rows) > limit,
            "now": utc_iso(now)}


def ticket_for_operator(ticket_id: str, services: Services) -> dict[str, Any]:
    ticket = operator_ticket(ticket_id)
    return operator_view(ticket, services.clock.now(), _messages(ticket.ticket_id))


def _take_actions(ticket: TicketModel, now: datetime, actor: str, effect: Effect,
                  correlation_id: Optional[str], how: str) -> list:
    """R43: the actions recording the ticket taken into account (who, when, on time or late) and
    leaving the `open` index, with their evidence. The caller sets the state it moves to."""
    deadline = parse_iso(ticket.deadline_at)
    late = is_breached(deadline, now, now)
    actions = [TicketModel.open_pool.remove(), TicketModel.taken_at.set(utc_iso(now)),
               TicketModel.taken_by.set(actor), TicketModel.taken_on_time.set(not late)]
    if late:
        actions.append(TicketModel.breached.set(True))
    effect.evidence.append(state_change(
        ticket.customer_id, now, actor, "ticket", ticket.ticket_id, TicketState.OPEN.value,
        TicketState.TAKEN_INTO_ACCOUNT.value, action="ticket.taken_into_account", on_time=not late,
        deadline_at=ticket.deadline_at, by=how, correlation_id=correlation_id, contract_id=ticket.contract_id))
    return actions


def _retrying(ticket_id: str, services: Services, attempt: Callable[[TicketModel], dict[str, Any]]) -> dict:
    """Decide on a fresh read, write conditioned on what was read; a write that lost a race to
    another change of the ticket is decided again (the loser may then be refused, e.g. 409)."""
    for _ in range(WRITE_TRIES):
        ticket = operator_ticket(ticket_id)
        try:
            return attempt(ticket)
        except TransactionConflict as conflict:
            if "ticket" not in conflict.failed:
                raise
    raise ConflictError("this ticket is changing right now; try again", code="ticket_busy")


def take_into_account(ticket_id: str, services: Services, *, actor: str,
                      correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R43: an operator takes the ticket into account: who and when are recorded, on time or late
    against its deadline; it leaves the open list. A second time: 409."""
    def attempt(ticket: TicketModel) -> dict[str, Any]:
        now = services.clock.now()
        state = next_state(ticket.state, TicketEvent.TAKE_INTO_ACCOUNT)
        effect = Effect()
        actions = _take_actions(ticket, now, actor, effect, correlation_id, "operator")
        effect.update("ticket", TicketModel(ticket_id=ticket.ticket_id),
                      actions + [TicketModel.state.set(state.value), TicketModel.updated_at.set(utc_iso(now))],
                      TicketModel.state == TicketState.OPEN.value)
        _commit(effect, services)
        return ticket_for_operator(ticket.ticket_id, services)
    return _retrying(ticket_id, services, attempt)


def operator_message(ticket_id: str, text: str, services: Services, *, actor: str,
                     correlation_id: Optional[str] = None) -> dict[str, Any]:
    """An operator answers; an open ticket is taken into account by the answer (R43). The
    customer gets the answer by mail."""
    return _add_message(ticket_id, "operator", actor, text, services, correlation_id, view=operator_view)


def _add_message(ticket_id: str, author: str, actor: str, text: str, services: Services,
                 correlation_id: Optional[str], view: Callable[..., dict]) -> dict[str, Any]:
    def attempt(ticket: TicketModel) -> dict[str, Any]:
        now = services.clock.now()
        state = next_state(ticket.state, TicketEvent.MESSAGE)
        count = int(ticket.message_count or 0)
        if count >= MAX_MESSAGES:
            raise RuleViolationError(f"this ticket holds {MAX_MESSAGES} messages already: open a new ticket",
                                     code="too_many_messages")
        effect = Effect()
        message = _message_row(ticket, author, actor, text, now)
        actions = [TicketModel.message_count.set(count + 1), TicketModel.last_message_at.set(message.created_at),
                   TicketModel.updated_at.set(utc_iso(now))]
        if author == "operator" and state == TicketState.OPEN:
            actions += _take_actions(ticket, now, actor, effect, correlation_id, "answer")
            actions.append(TicketModel.state.set(TicketState.TAKEN_INTO_ACCOUNT.value))
        effect.update("ticket", TicketModel(ticket_id=ticket.ticket_id), actions,
                      (TicketModel.state == ticket.state) & (TicketModel.message_count == count))
        effect.save("message", message, TicketMessageModel.message_id.does_not_exist())
        effect.evidence.append(state_change(
            ticket.customer_id, now, actor, "ticket", ticket.ticket_id, ticket.state, ticket.state,
            action="ticket.message_added", author=author, message_id=message.message_id, length=len(text),
            correlation_id=correlation_id, contract_id=ticket.contract_id))
        if author == "operator":
            _notice(effect, services, ticket, "ticket_reply",
                    f"ticket_reply#{ticket.ticket_id}#{message.message_id.rsplit('#', 1)[1]}",
                    {"message": text, "answered_at": message.created_at}, now, correlation_id)
        _commit(effect, services)
        return view(operator_ticket(ticket.ticket_id), now, _messages(ticket.ticket_id))
    return _retrying(ticket_id, services, attempt)


def resolve(ticket_id: str, body: Any, services: Services, *, actor: str,
            correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R45: close a ticket with its resolution; an incident with its cause (and when its anomaly
    ended). An open ticket is taken into account by its resolution (R43). The customer is told by
    mail; when the cause lies outside the provider, the mail says so (15.3)."""
    def attempt(ticket: TicketModel) -> dict[str, Any]:
        now = services.clock.now()
        next_state(ticket.state, TicketEvent.RESOLVE)
        incident = dict(ticket.incident or {})
        started_at = parse_iso(incident["started_at"]) if incident.get("started_at") else None
        check_resolution(ticket.kind, body.cause, body.ended_at, started_at, now)
        cause = Cause(body.cause).value if body.cause else None
        effect = Effect()
        actions = [TicketModel.state.set(TicketState.RESOLVED.value), TicketModel.resolved_at.set(utc_iso(now)),
                   TicketModel.resolved_by.set(actor), TicketModel.resolution_note.set(body.note),
                   TicketModel.updated_at.set(utc_iso(now))]
        if cause:
            actions.append(TicketModel.cause.set(cause))
        if ticket.kind == TicketKind.INCIDENT.value:
            incident["ended_at"] = utc_iso(body.ended_at or now)
            actions.append(TicketModel.incident.set(incident))
        if ticket.state == TicketState.OPEN.value:
            actions += _take_actions(ticket, now, actor, effect, correlation_id, "resolution")
        effect.update("ticket", TicketModel(ticket_id=ticket.ticket_id), actions,
                      TicketModel.state == ticket.state)
        effect.evidence.append(state_change(
            ticket.customer_id, now, actor, "ticket", ticket.ticket_id, ticket.state, TicketState.RESOLVED.value,
            action="ticket.resolved", cause=cause, incident=incident or None, correlation_id=correlation_id,
            contract_id=ticket.contract_id))
        _notice(effect, services, ticket, "ticket_resolved", f"ticket_resolved#{ticket.ticket_id}",
                {"cause": cause or "none", "note": body.note, "resolved_at": utc_iso(now),
                 "incident": ticket.kind == TicketKind.INCIDENT.value}, now, correlation_id)
        _commit(effect, services)
        return ticket_for_operator(ticket.ticket_id, services)
    return _retrying(ticket_id, services, attempt)


# ---- R43: the deadline timer --------------------------------------------------------------------

@timer_handler(TICKET_DEADLINE)
def on_ticket_deadline(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R43: the deadline passed. A ticket still not taken into account is flagged breached, with
    an operator alert and its evidence, in one write conditioned on it still being open and not
    flagged; a ticket taken into account (or resolved) by then changes nothing."""
    ticket = get_ticket(timer.target_id)
    if ticket is None or ticket.state != TicketState.OPEN.value or ticket.breached:
        return None
    now = services.clock.now()
    effect = Effect().update(
        "ticket", TicketModel(ticket_id=ticket.ticket_id),
        [TicketModel.breached.set(True), TicketModel.breached_at.set(utc_iso(now)),
         TicketModel.updated_at.set(utc_iso(now))],
        (TicketModel.state == TicketState.OPEN.value) & (TicketModel.breached == False))  # noqa: E712
    effect.save("alert", new_alert(
        "ticket_deadline_breached", f"R43: ticket {ticket.ticket_id} ({ticket.kind}: {ticket.subject[:80]}) of "
        f"customer {ticket.customer_id} was not taken into account by its deadline {ticket.deadline_at}",
        now, ticket_id=ticket.ticket_id, customer_id=ticket.customer_id, contract_id=ticket.contract_id,
        deadline_at=ticket.deadline_at))
    effect.evidence.append(state_change(
        ticket.customer_id, now, "system", "ticket", ticket.ticket_id, ticket.state, ticket.state,
        action="ticket.deadline_breached", deadline_at=ticket.deadline_at, contract_id=ticket.contract_id))
    return effect


# ---- R45 -> R44: the outages customers reported -------------------------------------------------

def reported_outages(contract_id: str, start: datetime, end: datetime,
                     services: Services) -> list[tuple[datetime, datetime]]:
    """R44 + R45 (15.3): the periods the customers reported as outages of `contract_id` within
    [start, end): each incident from its `started_at` to the end of its anomaly (its resolution,
    or `ended_at` given then), or to `end` while unresolved. Incidents whose cause lies outside
    the provider are left out; periods are clipped to the window, merged where they overlap or
    touch, sorted, zone-aware (UTC). One Query on the sparse `incidents` index (eventually
    consistent); `services` is taken for symmetry with the other use cases."""
    if not _ID.fullmatch(contract_id or "") or end <= start:
        return []
    rows = TicketModel.incidents.query(contract_id, TicketModel.incident_started_at < utc_iso(end))
    incidents = []
    for row in rows:
        incident = row.incident or {}
        ended = incident.get("ended_at") or row.resolved_at
        incidents.append((parse_iso(row.incident_started_at), parse_iso(ended) if ended else None, row.cause))
    return outage_periods(incidents, start, end)
