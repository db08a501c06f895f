"""Who may call what (R04, R06; OWASP API1/API5): identities, route access rules, the decision.

Pure: the HTTP layer authenticates a request into a `Principal`, looks up the route's `Access`
in the route catalogue (entrypoints/routes.py) and asks `deny_reason`. Object-level checks
(customer B never reaches customer A's objects) are `owns_customer` / `may_use_contract`, called
by the views on the object they loaded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

# Identity kinds.
ANONYMOUS = "anonymous"
CUSTOMER = "customer"            # a login of a customer's account (role subscriber or beneficiary)
OPERATOR = "operator"
NODE = "node"
PAYMENT_PROVIDER = "payment_provider"

SUBSCRIBER = "subscriber"        # R06: administers the account and its contracts
BENEFICIARY = "beneficiary"      # R06: uses the named contracts, administers nothing

# Operator scopes. An operator key holds some; the root key (OPERATOR_API_KEY) holds ALL_SCOPES.
OPERATOR_SCOPES = ("read", "billing", "customers", "provisioning", "contracts", "domains", "abuse", "dev")
ALL_SCOPES = frozenset(OPERATOR_SCOPES)


@dataclass(frozen=True)
class Principal:
    kind: str = ANONYMOUS
    customer_id: Optional[str] = None
    login: Optional[str] = None
    role: Optional[str] = None
    contract_ids: tuple[str, ...] = ()
    scopes: frozenset[str] = field(default_factory=frozenset)
    name: Optional[str] = None          # operator key name or node id
    session_id: Optional[str] = None
    problem: Optional[str] = None       # why a presented credential was not accepted (expired, revoked...)

    @property
    def actor(self) -> str:
        """How the evidence log (R56) names who acted."""
        if self.kind == CUSTOMER:
            return f"{self.role}:{self.login}"
        if self.kind in (OPERATOR, NODE):
            return f"{self.kind}:{self.name}"
        return self.kind


@dataclass(frozen=True)
class Access:
    """What a route needs.

    - `public`: anyone (storefront, catalogue, abuse intake, login).
    - `signed`: anyone at this layer; the handler checks the payment provider's signature.
    - `customer`: a customer login, subscriber or beneficiary (R06: use, not administration).
    - `subscriber`: a customer login with the subscriber role (administration).
    - `order_holder`: the order's own token, or the subscriber who placed it (checked by the view).
    - `operator`: an operator key holding `scope`.
    - `node`: a hosting node's key (for its own node id; checked by the view).
    - `dev`: an operator key with scope `dev`, and only in local mode.
    """
    kind: str
    scope: Optional[str] = None

    def __post_init__(self) -> None:
        if self.kind not in ("public", "signed", "customer", "subscriber", "order_holder", "operator", "node",
                             "dev"):
            raise ValueError(f"unknown access kind {self.kind!r}")
        if self.kind == "operator" and self.scope not in OPERATOR_SCOPES:
            raise ValueError(f"an operator route names one of the scopes {OPERATOR_SCOPES}")


PUBLIC = Access("public")
SIGNED = Access("signed")
ANY_CUSTOMER = Access("customer")
SUBSCRIBER_ONLY = Access("subscriber")
ORDER_HOLDER = Access("order_holder")
NODE_ONLY = Access("node")
DEV = Access("dev")


def operator(scope: str) -> Access:
    return Access("operator", scope)


@dataclass(frozen=True)
class Denial:
    status: int
    code: str
    message: str


UNAUTHENTICATED = "unauthorized"
FORBIDDEN = "forbidden"


def deny_reason(access: Access, principal: Principal) -> Optional[Denial]:
    """None when `principal` may call a route needing `access`; else 401 (no usable credential)
    or 403 (a valid identity of the wrong kind, role or scope). Function-level authorization
    (OWASP API5): every route has an `Access`, so nothing is reachable by omission."""
    if access.kind in ("public", "signed"):
        return None
    if access.kind == "order_holder":
        # The view checks the order token or the subscriber's ownership of the order.
        if principal.kind in (ANONYMOUS, CUSTOMER):
            return None if principal.problem is None or principal.kind == ANONYMOUS else _expired(principal)
        return Denial(403, FORBIDDEN, "this route is for the customer who placed the order")
    if principal.kind == ANONYMOUS:
        if principal.problem and access.kind in ("customer", "subscriber"):
            return _expired(principal)
        return Denial(401, UNAUTHENTICATED, _WHAT[access.kind])
    if access.kind in ("customer", "subscriber"):
        if principal.kind != CUSTOMER:
            return Denial(403, FORBIDDEN, "this route is for customers, with their own access token")
        if access.kind == "subscriber" and principal.role != SUBSCRIBER:
            return Denial(403, "beneficiary_cannot_administer",
                          "R06: a beneficiary uses the service but cannot order, pay, or change the contract "
                          "or the account; ask the subscriber")
        return None
    if access.kind in ("operator", "dev"):
        scope = access.scope or "dev"
        if principal.kind != OPERATOR:
            return Denial(403, FORBIDDEN, "this route is for operators")
        if scope not in principal.scopes:
            return Denial(403, "missing_scope", f"this operator key lacks the scope {scope!r}")
        return None
    if access.kind == "node":
        return None if principal.kind == NODE else Denial(403, FORBIDDEN, "this route is for hosting nodes")
    raise AssertionError(access.kind)


def _expired(principal: Principal) -> Denial:
    return Denial(401, "invalid_token", principal.problem or "the access token is not valid")


_WHAT = {
    "customer": "sign in first: send 'Authorization: Bearer <access_token>' from POST /auth/login",
    "subscriber": "sign in first: send 'Authorization: Bearer <access_token>' from POST /auth/login",
    "operator": "operator routes need 'Authorization: Bearer <operator key>'",
    "dev": "developer routes need 'Authorization: Bearer <operator key>'",
    "node": "node routes need 'Authorization: Bearer <node key>'",
}


def owns_customer(principal: Principal, customer_id: Optional[str]) -> bool:
    """Object-level authorization (OWASP API1): a customer login reaches only its customer's objects."""
    return principal.kind == CUSTOMER and customer_id is not None and principal.customer_id == customer_id


def may_use_contract(principal: Principal, customer_id: Optional[str], contract_id: str) -> bool:
    """R06: the subscriber reaches all of its customer's contracts; a beneficiary only those it was
    named on."""
    if not owns_customer(principal, customer_id):
        return False
    return principal.role == SUBSCRIBER or contract_id in principal.contract_ids
