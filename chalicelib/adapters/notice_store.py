"""The notices table (R54). Every write that moves a notice is conditional on its current status,
so two deliveries of one queue message cannot both send it, and a late answer cannot overwrite
a newer one."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from ..domain.calendar import utc_iso
from .models import NoticeModel

# The condition of a new notice row: its key (the caller's dedupe key) is not stored yet.
NOTICE_IS_NEW = NoticeModel.notice_id.does_not_exist()


def _conditional_failed(exc: Any) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def put_new(notice: NoticeModel) -> bool:
    """Store a new notice; False when a notice with that key exists already."""
    try:
        notice.save(condition=NOTICE_IS_NEW)
    except PutError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def get(notice_id: str) -> Optional[NoticeModel]:
    try:
        return NoticeModel.get(notice_id, consistent_read=True)
    except DoesNotExist:
        return None


def claim(notice_id: str, now: datetime, lease_until: datetime) -> bool:
    """Take a notice for sending: it must be queued, failed (a retry), or claimed by a delivery
    whose lease ran out (it crashed). False when it is sent or another delivery holds it."""
    condition = (NoticeModel.status.is_in("queued", "failed")
                 | ((NoticeModel.status == "sending") & (NoticeModel.lease_until < utc_iso(now))))
    try:
        NoticeModel(notice_id=notice_id).update(
            actions=[NoticeModel.status.set("sending"), NoticeModel.lease_until.set(utc_iso(lease_until)),
                     NoticeModel.attempts.add(1)],
            condition=condition)
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def _finish(notice_id: str, actions: list) -> bool:
    try:
        NoticeModel(notice_id=notice_id).update(actions=actions + [NoticeModel.lease_until.remove()],
                                                condition=NoticeModel.status == "sending")
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def mark_sent(notice_id: str, *, at: datetime, message_id: str, subject: str, body: str) -> bool:
    """R54: the send time, SES's message id and what was sent. False if the notice is no longer
    `sending` (another delivery finished it)."""
    return _finish(notice_id, [NoticeModel.status.set("sent"), NoticeModel.sent_at.set(utc_iso(at)),
                               NoticeModel.ses_message_id.set(message_id), NoticeModel.subject.set(subject),
                               NoticeModel.body.set(body), NoticeModel.last_error.remove(),
                               NoticeModel.failed_at.remove(), NoticeModel.unsent.remove()])


def mark_failed(notice_id: str, *, at: datetime, error: str) -> bool:
    return _finish(notice_id, [NoticeModel.status.set("failed"), NoticeModel.failed_at.set(utc_iso(at)),
                               NoticeModel.last_error.set(error[:2000])])


def for_recipient(recipient: str, limit: int = 50) -> list[NoticeModel]:
    """Newest first, from the `recipient` index."""
    return list(NoticeModel.by_recipient.query(recipient, scan_index_forward=False, limit=limit))


def for_customer(customer_id: str, limit: int = 200) -> list[NoticeModel]:
    """Oldest first, from the `customer` index."""
    return list(NoticeModel.by_customer.query(customer_id, limit=limit))


def unsent_before(partition: str, cutoff: datetime) -> list[NoticeModel]:
    """Notices created before `cutoff` that SES has not accepted yet (sparse `unsent` index)."""
    return list(NoticeModel.unsent_notices.query(partition, NoticeModel.created_at < utc_iso(cutoff)))
