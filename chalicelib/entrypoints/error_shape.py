"""One error shape for every answer, including those Chalice writes itself.

Chalice answers some requests before or around our views with its own body
`{"Code": "MethodNotAllowedError", "Message": "..."}`: 405 (unknown method on a known path), 415
(Content-Type not accepted by the route), 400 (`BadRequest`, binary answer without Accept), 500
(an exception escaping a view) and raised `ChaliceViewError`s. `normalize_errors` rewrites those
error answers (status >= 400) into ours, `{"error": {"code": "method_not_allowed", "message": "...", "fields": {}}}`,
keeping the status and the headers (e.g. `Allow` of a 405). Registered first (outermost) on "http",
it also turns an exception escaping the other middleware into the same 500 `internal_error`.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Optional

from chalice import Response

CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequest": "bad_request",
    "BadRequestError": "bad_request",
    "InternalServerError": "internal_error",
    "ChaliceViewError": "internal_error",
}


def error_code(chalice_code: str) -> str:
    """Our snake_case code for a Chalice `Code`: the known ones mapped, others snake_cased without
    their `Error` suffix (NotFoundError -> not_found, TooManyRequestsError -> too_many_requests)."""
    if chalice_code in CODES:
        return CODES[chalice_code]
    words = re.sub(r"Error$", "", chalice_code) or chalice_code
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", words).lower() or "error"


def _chalice_error(body: Any) -> Optional[dict[str, Any]]:
    """The `{"Code", "Message"}` dict of a Chalice error body (a dict or its JSON text), else None."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
    if isinstance(body, dict) and "error" not in body and "Code" in body and "Message" in body:
        return body
    return None


def _ours(status: int, code: str, message: str, headers: dict[str, str]) -> Response:
    kept = {name: value for name, value in headers.items() if name.lower() != "content-type"}
    return Response(body=json.dumps({"error": {"code": code, "message": message, "fields": {}}}),
                    status_code=status, headers={**kept, "Content-Type": "application/json"})


def normalize_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: Chalice's own error answers in our error shape (see the module docstring)."""
    try:
        response = get_response(event)
    except Exception:
        from ..observability import logger
        logger.exception("unhandled error in the HTTP middleware")
        return _ours(500, "internal_error", "An internal server error occurred.", {})
    found = _chalice_error(response.body) if response.status_code >= 400 else None
    if found is None:
        return response
    return _ours(response.status_code, error_code(str(found["Code"])), str(found["Message"]),
                 dict(response.headers or {}))
