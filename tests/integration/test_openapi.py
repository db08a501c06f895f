"""The API document (GET /openapi.json, issue 6 item 6), generated from the route catalogue, and the
single error shape of every answer, including the ones Chalice writes itself (error_shape.py)."""
from __future__ import annotations

import json
import re

import pytest

from chalicelib.config import settings
from chalicelib.entrypoints.openapi import document, operation_id
from chalicelib.entrypoints.routes import ROUTES

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ERROR_REF = "#/components/schemas/Error"
PROTECTED = ("customer", "subscriber", "order_holder", "operator", "node", "dev")
OPERATOR = {"Authorization": f"Bearer {settings().operator_api_key}"}


def operations(doc: dict) -> dict[tuple[str, str], dict]:
    return {(method.upper(), path): operation for path, item in doc["paths"].items()
            for method, operation in item.items() if method in METHODS}


def references(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(references(value) for value in node))
    return set()


def test_the_document_is_a_valid_openapi_3_1_document():
    """Validated against the OpenAPI 3.1 schema by schemathesis (its loader refuses an invalid document),
    and by openapi-spec-validator when it is installed."""
    import schemathesis
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(doc).validate()
    try:
        from openapi_spec_validator import validate
    except ImportError:  # not a dependency of the project; schemathesis' validation above is the rule
        return
    validate(doc)


def test_the_document_is_kept_in_step_with_the_routes_of_the_app():
    """Every route the app serves is documented, and nothing else (R04, R06: the catalogue is the one
    source of the access rules and of the document)."""
    from app import app
    served = {(method.upper(), path) for path, methods in app.routes.items() for method in methods}
    assert set(operations(document())) == served == set(ROUTES)


def test_R04_R06_every_operation_states_its_security_and_answers_errors_in_the_error_shape():
    doc = document()
    schemes = doc["components"]["securitySchemes"]
    assert set(schemes) == {"operatorKey", "customerToken", "orderToken", "nodeKey"}
    assert all(scheme == {**scheme, "type": "http", "scheme": "bearer"} for scheme in schemes.values())
    ids = [op["operationId"] for op in operations(doc).values()]
    assert len(ids) == len(set(ids))
    for key, op in operations(doc).items():
        spec = ROUTES[key]
        assert op["summary"] == spec.summary and op["summary"].strip(), key
        assert op["tags"] == [spec.tag], key
        assert op["operationId"] == operation_id(*key)
        assert "security" in op, key
        for requirement in op["security"]:
            assert set(requirement) <= set(schemes), key
        errors = {status: answer for status, answer in op["responses"].items() if status.startswith("4")}
        assert errors, f"{key}: no 4xx documented"
        for status, answer in errors.items():
            assert answer["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (key, status)
        assert str(spec.ok) in op["responses"], key
        assert {str(status) for status in spec.errors} <= set(op["responses"]), key


@pytest.mark.parametrize("key", sorted(ROUTES), ids=lambda key: f"{key[0]} {key[1]}")
def test_R04_R06_the_security_of_each_route_follows_its_access_rule(key):
    """Public and signed routes need no credential (`security: []`, signed ones name the
    Stripe-Signature header); protected routes name their bearer scheme and document 401 and 403."""
    spec, op = ROUTES[key], operations(document())[key]
    kind = spec.access.kind
    expected = {
        "public": [], "signed": [],
        "operator": [{"operatorKey": [spec.access.scope]}], "dev": [{"operatorKey": ["dev"]}],
        "customer": [{"customerToken": []}], "subscriber": [{"customerToken": []}],
        "order_holder": [{"orderToken": []}, {"customerToken": []}], "node": [{"nodeKey": []}],
    }[kind]
    assert op["security"] == expected
    if kind in PROTECTED:
        assert {"401", "403"} <= set(op["responses"])
    headers = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "header"}
    if kind == "signed":
        assert headers["Stripe-Signature"]["required"] is True
    else:
        assert "Stripe-Signature" not in headers


def test_path_parameters_and_request_bodies_come_from_the_catalogue():
    doc = document()
    schemas = doc["components"]["schemas"]
    for (method, path), op in operations(doc).items():
        spec = ROUTES[(method, path)]
        named = set(re.findall(r"\{([^}]+)\}", path))
        params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}
        assert set(params) == named, path
        assert all(p["required"] and p["schema"]["type"] == "string" for p in params.values())
        if spec.body:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            name = schema["$ref"].rsplit("/", 1)[-1]
            assert schemas[name]["title"] == spec.body.rpartition(":")[2], (method, path)
        elif not spec.text_body:
            assert "requestBody" not in op, (method, path)
    # every reference resolves inside the document (pydantic's $defs moved to components/schemas)
    for ref in references(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[-1] in schemas, ref


def test_the_renewal_and_clock_bodies_are_documented_by_their_models():
    schemas = document()["components"]["schemas"]
    renewal = schemas["RenewalAcceptanceV1"]
    assert set(renewal["required"]) == {"terms", "channel"}
    assert renewal["properties"]["channel"]["enum"] == ["email", "phone", "web", "post"]
    assert {"advance", "set"} == set(schemas["ClockMoveV1"]["properties"])


def test_the_document_is_built_once():
    assert document() is document()


def test_GET_openapi_json_answers_the_document_to_anyone(client):
    answer = client.http.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert json.loads(answer.body) == json.loads(json.dumps(document(), default=str))


# ---- one error shape (error_shape.normalize_errors) -----------------------------------------------

def _shape(answer) -> dict:
    body = json.loads(answer.body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


@pytest.fixture
def tiny_client():
    """A small Chalice app with only normalize_errors, to see every kind of answer Chalice writes."""
    from chalice import BadRequestError, Chalice, NotFoundError, Response
    from chalice.test import Client

    from chalicelib.entrypoints.error_shape import normalize_errors
    tiny = Chalice(app_name="tiny")
    tiny.register_middleware(normalize_errors, "http")

    @tiny.route("/things", methods=["POST"], content_types=["application/json"])
    def things():
        return {"ok": True}

    @tiny.route("/boom", methods=["GET"])
    def boom():
        raise RuntimeError("a bug")

    @tiny.route("/bad", methods=["GET"])
    def bad():
        raise BadRequestError("no good")

    @tiny.route("/missing", methods=["GET"])
    def missing():
        raise NotFoundError("nothing here")

    @tiny.route("/ours", methods=["GET"])
    def ours():
        return Response(body=json.dumps({"error": {"code": "x", "message": "y", "fields": {}}}), status_code=409,
                        headers={"Content-Type": "application/json"})

    @tiny.route("/echo", methods=["GET"])
    def echo():
        return {"Code": "not an error", "Message": "a 200 answer is never rewritten"}

    with Client(tiny) as test_client:
        yield test_client


@pytest.mark.parametrize("method, path, headers, status, code", [
    ("GET", "/things", {}, 405, "method_not_allowed"),
    ("POST", "/things", {"Content-Type": "text/xml"}, 415, "unsupported_media_type"),
    ("GET", "/boom", {}, 500, "internal_error"),
    ("GET", "/bad", {}, 400, "bad_request"),
    ("GET", "/missing", {}, 404, "not_found"),
])
def test_chalice_own_error_answers_are_rewritten_in_our_shape(tiny_client, method, path, headers, status, code):
    answer = tiny_client.http.request(method, path, headers=headers, body=b"<x/>" if method == "POST" else b"")
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/json"
    error = _shape(answer)
    assert error["code"] == code and error["message"] and error["fields"] == {}
    if status == 405:
        assert answer.headers["Allow"] == "POST"  # the headers Chalice set are kept


def test_our_answers_and_successes_are_left_alone(tiny_client):
    assert json.loads(tiny_client.http.get("/ours").body)["error"]["code"] == "x"
    assert json.loads(tiny_client.http.get("/echo").body) == {"Code": "not an error",
                                                              "Message": "a 200 answer is never rewritten"}
    assert tiny_client.http.post("/things", body=b"{}", headers={"Content-Type": "application/json"}).status_code == 200


def test_an_exception_in_a_middleware_answers_500_in_our_shape():
    from chalice import Chalice
    from chalice.test import Client

    from chalicelib.entrypoints.error_shape import normalize_errors
    tiny = Chalice(app_name="tiny")
    tiny.register_middleware(normalize_errors, "http")

    @tiny.middleware("http")
    def broken(event, get_response):
        raise RuntimeError("a bug in a middleware")

    @tiny.route("/x", methods=["GET"])
    def x():
        return {}

    with Client(tiny) as test_client:
        answer = test_client.http.get("/x")
    assert answer.status_code == 500 and _shape(answer)["code"] == "internal_error"


def test_chalice_error_codes_are_snake_cased():
    from chalicelib.entrypoints.error_shape import error_code
    assert [error_code(c) for c in ("MethodNotAllowedError", "UnsupportedMediaType", "BadRequest",
                                    "InternalServerError", "TooManyRequestsError", "UnprocessableEntityError")] == [
        "method_not_allowed", "unsupported_media_type", "bad_request", "internal_error", "too_many_requests",
        "unprocessable_entity"]


@pytest.mark.parametrize("method, path, headers, status, code", [
    ("GET", "/orders", {}, 405, "method_not_allowed"),
    ("POST", "/orders", {"Content-Type": "text/xml"}, 415, "unsupported_media_type"),
    ("POST", "/admin/guarantees", {**OPERATOR, "Content-Type": "application/xml"}, 415, "unsupported_media_type"),
])
def test_the_app_answers_chalice_refusals_in_our_error_shape(client, method, path, headers, status, code):
    """Needs normalize_errors registered in app.py (first http middleware)."""
    answer = client.http.request(method, path, headers=headers, body=b"<order/>" if method == "POST" else b"")
    assert answer.status_code == status
    assert _shape(answer)["code"] == code
