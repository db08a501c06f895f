"""Authentication: turn a request's `Authorization` header into a `Principal` (R04, R06).

- `Bearer <OPERATOR_API_KEY>` or a key of SOHO_OPERATOR_KEYS: an operator with its scopes;
- `Bearer node.<node id>.<key>`: a hosting node (key = HMAC(SOHO_NODE_API_SECRET, node id));
- `Bearer <access token>` from POST /auth/login: a customer login (subscriber or beneficiary),
  valid while the account's epoch is the token's (service/accounts.py);
- nothing: anonymous. A credential that does not verify gives an anonymous principal with a
  `problem`, so customer routes answer 401 `invalid_token` and public routes still work.

The middleware (middleware.authorize) stores the principal on the request; views read it with
`current_principal(request)`.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
from typing import Any

from ..bootstrap import Services
from ..domain.access import ALL_SCOPES, NODE, OPERATOR, Principal
from .http import bearer_token

PRINCIPAL_KEY = "soho_principal"


def current_principal(request: Any) -> Principal:
    return (request.context or {}).get(PRINCIPAL_KEY) or Principal()


def node_key(secret: str, node_id: str) -> str:
    """A hosting node's HTTP bearer key: `node.<node id>.<HMAC-SHA256(secret, node id) hex>`."""
    digest = hmac.new(secret.encode(), node_id.encode(), hashlib.sha256).hexdigest()
    return f"node.{node_id}.{digest}"


@functools.lru_cache(maxsize=4)
def _operator_keys(root_key: str, keys_json: str) -> tuple[tuple[str, str, frozenset[str]], ...]:
    """(sha256 of key, name, scopes) for the root key and each key of SOHO_OPERATOR_KEYS."""
    keys = [(hashlib.sha256(root_key.encode()).hexdigest(), "root", ALL_SCOPES)]
    for name, entry in (json.loads(keys_json) if keys_json else {}).items():
        keys.append((entry["key_sha256"].lower(), name, frozenset(entry.get("scopes", ())) & ALL_SCOPES))
    return tuple(keys)


def authenticate(headers: Any, services: Services) -> Principal:
    token = bearer_token(headers)
    if not token:
        return Principal()
    s = services.settings
    digest = hashlib.sha256(token.encode()).hexdigest()
    for key_digest, name, scopes in _operator_keys(s.operator_api_key, s.operator_keys_json):
        if hmac.compare_digest(digest, key_digest):
            return Principal(kind=OPERATOR, name=name, scopes=scopes)
    if token.startswith("node."):
        node_id = token[5:].rpartition(".")[0]
        if node_id and hmac.compare_digest(token, node_key(s.node_api_secret, node_id)):
            return Principal(kind=NODE, name=node_id)
        return Principal(problem="the node key does not verify")
    from ..service.accounts import principal_from_access_token
    return principal_from_access_token(token, services)
