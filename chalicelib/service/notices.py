"""Notices (R54): every email the provider sends is a row in the notices table, rendered from a
versioned French template, sent through SES by the `on_notice` consumer, and recorded with its
send time and delivery status.

A notice is created by the code that decides it, and sent later by a queue consumer, so a mail
failure never undoes the business change that asked for it: the change commits, then the mail
is tried (and retried by SQS, bounded by the `notices-dlq` dead-letter queue).

The row's key is a dedupe key the caller chooses (`notice_key("expiry_notice", contract_id)` ->
`expiry_notice#<contract_id>`): a key is stored once, so a job that runs twice sends one notice
(R17 "exactly one notice per contract").

Two ways to send one:

1. On its own (nothing else to write)::

       notice = new_notice(notice_key=notice_key("invoice_issued", invoice_id), customer_id=...,
                           to=customer.email, template="invoice_issued", context={...}, now=now)
       send_notice(notice, services)   # False (and nothing queued) if that key was stored before

2. With a state change, in the caller's DynamoDB transaction (the notice exists if and only if
   the change committed)::

       notice = new_notice(...)
       tx = store._tx()                                  # or any writer with save(label, model, condition)
       tx.update("contract", ...)                        # the business change, conditional as usual
       stage_notice(tx, notice)                          # = tx.save("notice", notice, condition=NOTICE_IS_NEW)
       tx.commit()                                       # TransactionConflict({"notice"}): already decided
       queue_notice(notice, services)                    # after the commit only

   Use a distinct `label` per notice when one transaction holds several. If the process dies
   between the commit and `queue_notice`, the row stays `queued` (visible in the customer's
   notices); sending it again is `queue_notice(row, services)`: delivery is idempotent.

`new_notice` renders the template once to check the context, so a notice that cannot be sent is
refused when it is decided (ValueError), not found later in a dead-letter queue.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Mapping, Optional

from ..adapters import notice_store
from ..adapters.models import NoticeModel
from ..adapters.notice_store import NOTICE_IS_NEW
from ..bootstrap import Services
from ..domain.calendar import utc_iso
from ..observability import logger
from .notice_templates import (CURRENT_VERSIONS, Rendered, UnknownTemplateError, current_version, date_fr,
                               datetime_fr, euros, json_context, percent, render)

__all__ = ["NOTICE_IS_NEW", "NoticeBusyError", "NoticeNotFoundError", "CURRENT_VERSIONS", "Rendered",
           "UnknownTemplateError", "date_fr", "datetime_fr", "deliver_notice", "euros", "new_notice",
           "notice_key", "notice_view", "notices_for_customer", "notices_for_recipient", "percent",
           "queue_notice", "render", "render_notice", "send_notice", "stage_notice"]

QUEUE = "notices"
# A delivery holds its notice this long; it matches the notices queue's visibility timeout
# (infra/resources.json; a test checks), so a redelivered message finds the claim expired.
SEND_LEASE = timedelta(seconds=60)


class NoticeNotFoundError(LookupError):
    """A queue message names a notice that is not stored: it fails (and ends in the DLQ)."""


class NoticeBusyError(RuntimeError):
    """Another delivery holds the notice: this copy of the message is tried again later."""


def notice_key(kind: str, *parts: str) -> str:
    """A dedupe key: `notice_key("expiry_notice", contract_id)` -> `expiry_notice#<contract_id>`."""
    if not parts or not all(parts):
        raise ValueError("a notice key names what the notice is about")
    return "#".join((kind, *parts))


def new_notice(*, notice_key: str, customer_id: str, to: str, template: str, context: Mapping[str, Any],
               now: datetime, correlation_id: Optional[str] = None,
               contract_id: Optional[str] = None) -> NoticeModel:
    """The notice row, status `queued`, not yet saved. `notice_key` is the caller's dedupe key.
    The template's current version is recorded and will be the one rendered. `context` holds JSON
    values (money as integer cents) and may hold dates and zone-aware datetimes (stored as ISO 8601);
    each template's first lines list what it needs (chalicelib/templates/<template>.v<N>.txt.j2).
    Raises ValueError for an unknown template, a bad address or a context the template cannot render."""
    to = (to or "").strip()
    if "@" not in to or any(c.isspace() for c in to):
        raise ValueError(f"not an email address: {to!r}")
    if not notice_key or not customer_id:
        raise ValueError("a notice needs its key and its customer")
    try:
        version = current_version(template)
        notice = NoticeModel(notice_id=notice_key, customer_id=customer_id, contract_id=contract_id,
                             correlation_id=correlation_id, recipient=to, template=template,
                             template_version=version, context=json_context(context), status="queued",
                             unsent=UNSENT,
                             attempts=0, created_at=utc_iso(now))
        render_notice(notice)  # refuse now what could not be sent later
    except Exception as exc:
        raise ValueError(f"notice {notice_key}: template {template!r} cannot be rendered: {exc}") from exc
    return notice


def render_notice(notice: NoticeModel, secrets: Optional[Mapping[str, str]] = None) -> Rendered:
    """Subject and body of a notice, from the template version recorded on it. The template sees
    the notice's context, plus `contract_id` and `to` from the row when the context lacks them,
    plus its secrets (R04: a password), masked unless given: the masked rendering is the one stored."""
    row_values = {"to": notice.recipient, "contract_id": notice.contract_id}
    context = {**{k: v for k, v in row_values.items() if v is not None}, **(notice.context or {}),
               **_masked_secrets(notice.template), **(secrets or {})}
    return render(notice.template, int(notice.template_version), context)


def _masked_secrets(template: str) -> dict[str, str]:
    from .notice_secrets import masked_secrets
    return masked_secrets(template)


def _reveal_secrets(notice: NoticeModel, services: Services) -> dict[str, str]:
    """R04/R28: the secrets a notice carries are made at delivery (never stored in clear)."""
    from .notice_secrets import reveal_secrets
    return reveal_secrets(notice, services)


def stage_notice(writer: Any, notice: NoticeModel, label: str = "notice") -> None:
    """Add the notice row to the caller's transaction (the store's `_Tx`, or any writer with
    `save(label, model, condition)`), on condition that its key is new. Call `queue_notice`
    once the transaction committed."""
    writer.save(label, notice, condition=NOTICE_IS_NEW)


UNSENT = "notices"  # the one partition of the sparse `unsent` index


def resend_unsent(services: Services, older_than: timedelta = timedelta(minutes=5)) -> int:
    """R54: queue again every notice not sent yet and older than `older_than`: a crash between
    the write that stored it and its queue send (or a dead-lettered delivery) never loses a mail.
    Delivery is idempotent (claim with a lease, `sent` is final), so a copy sends nothing twice."""
    cutoff = services.clock.now() - older_than
    rows = notice_store.unsent_before(UNSENT, cutoff)
    for row in rows:
        queue_notice(row, services)
    return len(rows)


def queue_notice(notice: NoticeModel, services: Services) -> str:
    """Hand a stored notice to the `on_notice` consumer; returns the SQS message id."""
    return services.queues.send(body=json.dumps({"notice_id": notice.notice_id}),
                                queue_name=services.settings.queue_name(QUEUE),
                                correlation_id=notice.correlation_id)


def send_notice(notice: NoticeModel, services: Services) -> bool:
    """Store the notice (conditional put) and queue it. False, and nothing queued, when a notice
    with that key was stored before (the duplicate is dropped, R17)."""
    if not notice_store.put_new(notice):
        logger.info("notice already decided; not sent again", notice_id=notice.notice_id)
        return False
    queue_notice(notice, services)
    return True


def _mailer(services: Services) -> Any:
    if getattr(services, "mailer", None) is None:
        from ..adapters.mailer import SesMailer
        services.mailer = SesMailer(region=services.settings.region, sender=services.settings.sender_email)
    return services.mailer


def deliver_notice(notice_id: str, services: Services) -> str:
    """The `on_notice` consumer's work for one message: render and send the notice once.

    Returns "sent", or "already_sent" when it was sent before (a redelivery sends nothing).
    A notice is claimed (status `sending`, with a lease) before SES is called, so two copies of a
    message cannot both send it. When SES fails the notice is marked `failed` with the error and
    MailError is raised: the message returns to the queue and is tried again (a later success
    marks it `sent`), at most max_receive_count times before the dead-letter queue."""
    from ..adapters.mailer import MailError
    notice = notice_store.get(notice_id)
    if notice is None:
        raise NoticeNotFoundError(f"no notice {notice_id}")
    if notice.status == "sent":
        return "already_sent"
    now = services.clock.now()
    if not notice_store.claim(notice_id, now, now + SEND_LEASE):
        current = notice_store.get(notice_id)
        if current is not None and current.status == "sent":
            return "already_sent"
        raise NoticeBusyError(f"notice {notice_id} is being sent by another delivery")
    try:
        rendered = render_notice(notice, _reveal_secrets(notice, services))
        message_id = _mailer(services).send(to=notice.recipient, subject=rendered.subject, body=rendered.body)
        rendered = render_notice(notice)  # what is stored: secrets masked
    except MailError as exc:
        notice_store.mark_failed(notice_id, at=services.clock.now(), error=str(exc))
        logger.warning("notice not sent; the queue tries again", notice_id=notice_id, error=str(exc))
        raise
    except Exception as exc:  # a template that no longer renders: recorded too, then retried
        notice_store.mark_failed(notice_id, at=services.clock.now(), error=f"{type(exc).__name__}: {exc}")
        raise
    if not notice_store.mark_sent(notice_id, at=services.clock.now(), message_id=message_id,
                                  subject=rendered.subject, body=rendered.body):
        logger.warning("notice sent but another delivery recorded it first", notice_id=notice_id)
    logger.info("notice sent", notice_id=notice_id, template=notice.template,
                template_version=int(notice.template_version), ses_message_id=message_id)
    return "sent"


def notice_view(notice: NoticeModel) -> dict[str, Any]:
    return {"notice_id": notice.notice_id, "to": notice.recipient, "customer_id": notice.customer_id,
            "contract_id": notice.contract_id, "template": notice.template,
            "template_version": int(notice.template_version), "status": notice.status,
            "created_at": notice.created_at, "sent_at": notice.sent_at, "subject": notice.subject,
            "body": notice.body, "ses_message_id": notice.ses_message_id, "attempts": int(notice.attempts or 0),
            "last_error": notice.last_error}


def notices_for_recipient(to: str, limit: int = 50) -> list[dict[str, Any]]:
    """The notices to one address, newest first (from the `recipient` index)."""
    return [notice_view(n) for n in notice_store.for_recipient(to.strip(), limit=limit)]


def notices_for_customer(customer_id: str) -> list[dict[str, Any]]:
    """A customer's notices, oldest first (from the `customer` index)."""
    return [notice_view(n) for n in notice_store.for_customer(customer_id)]
