"""The OpenAPI 3.1 document of the API (GET /openapi.json), generated from the route catalogue.

Everything comes from `routes.ROUTES`, so a route added there is documented at once:
- one operation per (method, path), with its path parameters (`{name}`, strings), an operationId,
  its summary and tag;
- its security (R04, R06): public and signed routes `security: []` (signed ones document the
  `Stripe-Signature` header the handler checks), the others the bearer scheme of their access kind
  (`operatorKey` with the operator scope as role, `customerToken`, `orderToken`, `nodeKey`);
- its request body from the pydantic model named by `RouteSpec.body` (JSON Schema of the model in
  `components/schemas`), and query parameters from `RouteSpec.query` when the catalogue names one;
- its responses: the success status (`ok`), every error status of `errors`, 401/403 for protected
  routes, 400/415 for routes with a body, `4XX` for any other; every 4xx answers the `Error` shape
  `{"error": {"code", "message", "fields"}}` (http.error_response, error_shape.normalize_errors).
"""
from __future__ import annotations

import functools
import importlib
import re
from typing import Any, Optional

from .routes import ROUTES, RouteSpec

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": "#/components/schemas/Error"}

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "operatorKey": {"type": "http", "scheme": "bearer",
                    "description": "An operator key (`Authorization: Bearer <operator key>`); the requirement "
                                   "names the scope the key must hold (R04)."},
    "customerToken": {"type": "http", "scheme": "bearer",
                      "description": "A customer's access token from POST /auth/login (R04, R06)."},
    "orderToken": {"type": "http", "scheme": "bearer",
                   "description": "The order token given in the answer of POST /orders (R13)."},
    "nodeKey": {"type": "http", "scheme": "bearer",
                "description": "A hosting node's key, `node.<node id>.<hmac>`."},
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error answer of the API.",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "stable, snake_case, e.g. validation_error"},
            "message": {"type": "string", "description": "what went wrong, for a human"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "the input at fault, by field path"},
        },
    }},
}

REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad request", 401: "Unauthenticated",
           403: "Forbidden", 404: "Not found", 409: "Conflict", 415: "Unsupported media type",
           422: "Refused by a rule", 429: "Too many requests", 503: "Unavailable"}

PROTECTED_KINDS = ("customer", "subscriber", "order_holder", "operator", "node", "dev")


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document; built once per process (do not mutate the answer)."""
    return _build()


@functools.lru_cache(maxsize=1)
def _build() -> dict[str, Any]:
    models = _request_models(ROUTES.values())
    schemas = _schemas(models)
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), spec in sorted(ROUTES.items(), key=lambda item: (item[0][1], item[0][0])):
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, spec, schemas)
    tags = sorted({spec.tag for spec in ROUTES.values()})
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "soho-backoffice",
            "version": "1",
            "description": "Back office of a French hosting provider: storefront, payment webhooks, operator "
                           "and customer APIs. Generated from the route catalogue "
                           "(chalicelib/entrypoints/routes.py). Errors are always "
                           "{\"error\": {\"code\", \"message\", \"fields\"}}.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {"schemas": {**schemas["components"], "Error": ERROR_SCHEMA},
                       "securitySchemes": SECURITY_SCHEMES},
    }


def _load(reference: str) -> type:
    module, _, name = reference.partition(":")
    model = getattr(importlib.import_module(module), name, None)
    if model is None or not hasattr(model, "model_json_schema"):
        raise RuntimeError(f"route catalogue names {reference!r}, which is not a pydantic model")
    return model


def _request_models(specs: Any) -> dict[str, type]:
    references = {ref for spec in specs for ref in (spec.body, getattr(spec, "query", None)) if ref}
    return {ref: _load(ref) for ref in sorted(references)}


def _schemas(models: dict[str, type]) -> dict[str, Any]:
    """JSON Schemas of every request model at once (pydantic gives distinct names to same-named
    models of different modules): {"components": {name: schema}, "refs": {reference: {"$ref"}},
    "objects": {reference: inline schema}}."""
    from pydantic.json_schema import models_json_schema
    if not models:
        return {"components": {}, "refs": {}, "objects": {}}
    keys, definitions = models_json_schema([(model, "validation") for model in models.values()],
                                           ref_template=REF)
    components = definitions.get("$defs", {})
    if "Error" in components:
        raise RuntimeError("a request model is named Error, the name of the error answer's schema; rename it")
    refs = {reference: keys[(model, "validation")] for reference, model in models.items()}
    objects = {reference: _resolve(ref, components) for reference, ref in refs.items()}
    return {"components": components, "refs": refs, "objects": objects}


def _resolve(ref: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    name = ref["$ref"].rsplit("/", 1)[-1]
    return components[name]


def operation_id(method: str, path: str) -> str:
    """e.g. POST /admin/contracts/{contract_id}/renewal -> post_admin_contracts_contract_id_renewal."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
    return f"{method.lower()}_{words}"


def _security(spec: RouteSpec) -> list[dict[str, list[str]]]:
    kind = spec.access.kind
    if kind in ("public", "signed"):
        return []
    if kind == "operator":
        return [{"operatorKey": [spec.access.scope or ""]}]
    if kind == "dev":
        return [{"operatorKey": ["dev"]}]
    if kind in ("customer", "subscriber"):
        return [{"customerToken": []}]
    if kind == "order_holder":
        return [{"orderToken": []}, {"customerToken": []}]
    if kind == "node":
        return [{"nodeKey": []}]
    raise AssertionError(f"no security scheme for access kind {kind!r}")


def _access_note(spec: RouteSpec) -> str:
    kind, scope = spec.access.kind, spec.access.scope
    return {
        "public": "Access: anyone.",
        "signed": "Access: the payment provider, with a valid Stripe-Signature header.",
        "customer": "Access: a customer login, subscriber or beneficiary (R06).",
        "subscriber": "Access: a customer login with the subscriber role (R06).",
        "order_holder": "Access: the order token, or the subscriber who placed the order.",
        "operator": f"Access: an operator key with the scope '{scope}' (R04).",
        "node": "Access: a hosting node's key.",
        "dev": "Access: an operator key with the scope 'dev', in local mode only (404 on a real stage).",
    }[kind]


def _parameters(method: str, path: str, spec: RouteSpec, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in re.findall(r"\{([^}]+)\}", path)]
    if spec.access.kind == "signed":
        parameters.append({"name": "Stripe-Signature", "in": "header", "required": True,
                           "description": "t=<unix time>,v1=<HMAC-SHA256 of '<t>.<raw body>' with the webhook "
                                          "secret> (checked by the handler; 400 invalid_signature)",
                           "schema": {"type": "string"}})
    query = getattr(spec, "query", None)
    if query:
        model = schemas["objects"][query]
        required = set(model.get("required", ()))
        for name, schema in model.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": schema})
    return parameters


def _request_body(spec: RouteSpec, schemas: dict[str, Any]) -> Optional[dict[str, Any]]:
    if not spec.body and not spec.text_body:
        return None
    content: dict[str, Any] = {
        "application/json": {"schema": schemas["refs"][spec.body] if spec.body else {"type": "object"}}}
    if spec.text_body:
        content["text/plain"] = {"schema": {"type": "string"}}
    return {"required": bool(spec.body) and not spec.text_body, "content": content}


def _responses(spec: RouteSpec, has_body: bool) -> dict[str, Any]:
    def error(status: int) -> dict[str, Any]:
        return {"description": REASONS.get(status, "Error"),
                "content": {"application/json": {"schema": ERROR_REF}}}

    responses: dict[str, Any] = {}
    if spec.ok >= 400:  # e.g. R12: changing an order always answers 409
        responses[str(spec.ok)] = error(spec.ok)
    else:
        responses[str(spec.ok)] = {"description": REASONS.get(spec.ok, "Success"), "content": {
            media: {"schema": {"type": "string"} if media.startswith("text/") else {"type": "object"}}
            for media in spec.content}}
    statuses = set(spec.errors)
    if spec.access.kind in PROTECTED_KINDS:
        statuses |= {401, 403}
    if spec.access.kind == "dev":
        statuses.add(404)
    if has_body:
        statuses |= {400, 415}
    for status in sorted(statuses - {spec.ok}):
        responses[str(status)] = error(status)
    # Any other client error (e.g. Chalice's 415 for a Content-Type the route does not take) has the same shape.
    responses["4XX"] = {"description": "Any other client error",
                        "content": {"application/json": {"schema": ERROR_REF}}}
    return responses


def _operation(method: str, path: str, spec: RouteSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id(method, path),
        "summary": spec.summary,
        "description": _access_note(spec),
        "tags": [spec.tag],
        "security": _security(spec),
    }
    parameters = _parameters(method, path, spec, schemas)
    if parameters:
        operation["parameters"] = parameters
    body = _request_body(spec, schemas)
    if body:
        operation["requestBody"] = body
    operation["responses"] = _responses(spec, body is not None)
    return operation
