"""Support tickets and incidents (R43, R45): the customer's /me/tickets and the operators'
/admin/tickets.

Who may call each route is in routes.py (checked by the middleware before the view runs); the
customer views check that the ticket they load is the caller's (OWASP API1): another customer's
ticket answers 404, as an unknown one does. Tickets come in through this API only (no inbound
mail); a ticket sent by email is entered by its customer in the customer area.
"""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..bootstrap import Services
from ..domain.access import Principal
from ..domain.errors import InvalidInputError
from .http import json_response
from .views import correlation_id as _cid, json_body, principal_view

bp = Blueprint(__name__)
tickets_view = principal_view(bp)


def _body(model: Any, **options: Any) -> Any:
    return json_body(bp, model, **options)


# ---- customers (ANY_CUSTOMER: a beneficiary reports incidents on its contracts, R06) ------------

@bp.route("/me/tickets", methods=["POST"], content_types=["application/json"])
@tickets_view
def open_my_ticket(svc: Services, principal: Principal):
    """R43/R45: {"kind": "question"|"incident"|"billing"|"other", "subject", "message", "contract_id"?,
    "incident": {"started_at", "url"?}} -> 201 with the ticket and its take-into-account deadline
    (48 business hours, Paris). Idempotency-Key honoured (200 with the same ticket)."""
    from ..contracts.tickets_v1 import TicketV1
    from ..service.tickets import open_ticket
    body = _body(TicketV1)
    view, created = open_ticket(principal, body, svc, idempotency_key=bp.current_request.headers.get(
        "idempotency-key"), correlation_id=_cid())
    return json_response(view, 201 if created else 200)


@bp.route("/me/tickets", methods=["GET"])
@tickets_view
def my_tickets(svc: Services, principal: Principal):
    """Your tickets, newest first (a beneficiary: the ones it opened)."""
    from ..service.tickets import my_tickets as mine
    return json_response({"tickets": mine(principal, svc)})


@bp.route("/me/tickets/{ticket_id}", methods=["GET"])
@tickets_view
def my_ticket(svc: Services, principal: Principal, ticket_id: str):
    """One of your tickets with its messages."""
    from ..service.tickets import my_ticket as mine
    return json_response(mine(principal, ticket_id, svc))


@bp.route("/me/tickets/{ticket_id}/messages", methods=["POST"], content_types=["application/json"])
@tickets_view
def write_on_my_ticket(svc: Services, principal: Principal, ticket_id: str):
    """{"message"}: add a message to one of your tickets (not once it is resolved)."""
    from ..contracts.tickets_v1 import TicketMessageV1
    from ..service.tickets import customer_message, customer_ticket
    customer_ticket(principal, ticket_id)  # 404 before the body is read: another customer's ticket is unknown
    return json_response(customer_message(principal, ticket_id, _body(TicketMessageV1).message, svc,
                                          correlation_id=_cid()), 201)


# ---- operators (scope customers) -----------------------------------------------------------------

def _query(name: str) -> str | None:
    return (bp.current_request.query_params or {}).get(name)


@bp.route("/admin/tickets", methods=["GET"])
@tickets_view
def open_tickets(svc: Services, principal: Principal):
    """R43: `?state=open` (the default, the only list): tickets not yet taken into account, soonest
    deadline first, each with its `breached` flag; `?limit=` 1-500 (default 100)."""
    from ..service.tickets import ADMIN_DEFAULT_LIMIT, ADMIN_MAX_LIMIT
    from ..service.tickets import open_tickets as listed
    state = _query("state") or "open"
    if state != "open":
        raise InvalidInputError("state=open lists the tickets not yet taken into account; a ticket taken into "
                                "account or resolved is read with GET /admin/tickets/{ticket_id}",
                                code="unsupported_state", fields={"state": "open"})
    raw_limit = _query("limit")
    limit = ADMIN_DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= ADMIN_MAX_LIMIT:
            raise InvalidInputError(f"limit is a whole number from 1 to {ADMIN_MAX_LIMIT}", code="invalid_limit",
                                    fields={"limit": f"1-{ADMIN_MAX_LIMIT}"})
        limit = int(raw_limit)
    return json_response(listed(svc, limit))


@bp.route("/admin/tickets/{ticket_id}", methods=["GET"])
@tickets_view
def ticket(svc: Services, principal: Principal, ticket_id: str):
    """A ticket with its messages, deadline, breach flag, who took it into account and when."""
    from ..service.tickets import ticket_for_operator
    return json_response(ticket_for_operator(ticket_id, svc))


@bp.route("/admin/tickets/{ticket_id}/taken-into-account", methods=["POST"])
@tickets_view
def take_ticket_into_account(svc: Services, principal: Principal, ticket_id: str):
    """R43: record that the ticket is taken into account (who, when; on time or late)."""
    from ..service.tickets import take_into_account
    return json_response(take_into_account(ticket_id, svc, actor=principal.actor, correlation_id=_cid()))


@bp.route("/admin/tickets/{ticket_id}/messages", methods=["POST"], content_types=["application/json"])
@tickets_view
def answer_ticket(svc: Services, principal: Principal, ticket_id: str):
    """{"message"}: answer the customer (by mail too); an open ticket is taken into account by it."""
    from ..contracts.tickets_v1 import TicketMessageV1
    from ..service.tickets import operator_message, operator_ticket
    operator_ticket(ticket_id)  # 404 before the body is read
    return json_response(operator_message(ticket_id, _body(TicketMessageV1).message, svc, actor=principal.actor,
                                          correlation_id=_cid()), 201)


@bp.route("/admin/tickets/{ticket_id}/resolution", methods=["POST"], content_types=["application/json"])
@tickets_view
def resolve_ticket(svc: Services, principal: Principal, ticket_id: str):
    """R45: {"cause": "provider"|"outside_provider"|"no_fault_found", "note", "ended_at"?}; the customer
    is told, and told so when the cause lies outside the provider."""
    from ..contracts.tickets_v1 import TicketResolutionV1
    from ..service.tickets import operator_ticket, resolve
    operator_ticket(ticket_id)  # 404 before the body is read
    return json_response(resolve(ticket_id, _body(TicketResolutionV1), svc, actor=principal.actor,
                                 correlation_id=_cid()))
