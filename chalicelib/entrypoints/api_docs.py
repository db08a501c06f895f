"""GET /openapi.json: the API document, generated from the route catalogue (routes.py)."""
from __future__ import annotations

from chalice import Blueprint

from .http import json_response

bp = Blueprint(__name__)


@bp.route("/openapi.json", methods=["GET"])
def openapi_document():
    from .openapi import document
    return json_response(document())
