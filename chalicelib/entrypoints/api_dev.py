"""Local-mode developer endpoints (404 on a real stage): time travel."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..bootstrap import Services
from ..domain.errors import InvalidInputError
from .api_admin import operator_only
from .http import error_response, json_response, parse_json_body

bp = Blueprint(__name__)


def _local_only(svc: Services):
    return None if svc.settings.local_mode else error_response(404, "not_found", "no such route on this stage")


@bp.route("/dev/clock", methods=["GET"])
@operator_only
def get_clock(svc: Services):
    return _local_only(svc) or json_response({"now": svc.clock.now().isoformat()})


@bp.route("/dev/clock", methods=["POST"], content_types=["application/json"])
@operator_only
def move_clock(svc: Services):
    """{"advance": "P30D"} (ISO 8601 duration) or {"set": "<ISO 8601 with offset>"}, forward only;
    then one timer sweep runs at once so due deadlines flow through the queues."""
    denied = _local_only(svc)
    if denied:
        return denied
    from pydantic import ValidationError

    from ..contracts.admin_v1 import ClockMoveV1
    from ..service.devclock import move_clock as move
    try:
        body = ClockMoveV1.model_validate(parse_json_body(bp.current_request.raw_body))
    except ValidationError as error:
        raise InvalidInputError("send {\"advance\": \"P30D\"} or {\"set\": \"2027-01-01T00:00:00+01:00\"}",
                                code="invalid_clock_move", fields=_problems(error)) from None
    return json_response(move(body.as_move(), svc))


def _problems(error: Any) -> dict[str, str]:
    """The fields at fault in a pydantic ValidationError, e.g. {"advance": "String should have ..."}."""
    return {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in error.errors()}
