"""Notices (R54): the consumer that sends queued notices through SES, and the local mailbox view."""
from __future__ import annotations

import functools
import json
from typing import Any, Callable

from chalice import Blueprint

from ..bootstrap import Services, services
from ..config import settings
from .api_admin import operator_only
from .consumers import _batch
from .http import error_response, json_response

bp = Blueprint(__name__)
_S = settings()


def local_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Development routes exist in local mode only: elsewhere they answer 404, key or not."""
    @functools.wraps(view)
    def guarded(**params: str) -> Any:
        if not services().settings.local_mode:
            return error_response(404, "not_found", "no such route")
        return view(**params)
    return guarded


def _notice_record(record: Any) -> str:
    from ..service.notices import deliver_notice
    return deliver_notice(json.loads(record.body)["notice_id"], services())


@bp.on_sqs_message(queue=_S.queue_name("notices"), batch_size=10)
def on_notice(event):
    """R54: send each queued notice once through SES; a failed send returns to the queue."""
    return _batch(event, _notice_record)


@bp.route("/dev/mail", methods=["GET"])
@local_only
@operator_only
def dev_mail(svc: Services):
    """Local mode: the notices sent to `?to=<address>`, newest first (to, subject, template and
    version, status, sent_at, body)."""
    from ..service.notices import notices_for_recipient
    to = ((bp.current_request.query_params or {}).get("to") or "").strip()
    if not to:
        return error_response(400, "invalid_request", "give the recipient: /dev/mail?to=<address>",
                              {"to": "required"})
    return json_response({"to": to, "messages": notices_for_recipient(to)})
