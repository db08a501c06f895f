"""Personal data (R02, R03, R05, R07, R08): the customer's profile, contact email, identity
changes with their justification, verification requests, reference consent, export and erasure,
for the customer (/me) and for operators (/admin/customers/{customer_id}).

Who may call each route is in routes.py (checked by the middleware before the view runs): a
beneficiary (R06) reads its own login only and changes nothing. Bodies are strict v1 models
(contracts/privacy_v1.py): an unknown field is a 400, never applied.
"""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..bootstrap import Services
from ..domain.access import Principal
from .http import json_response
from .views import correlation_id as _cid, json_body, principal_view

bp = Blueprint(__name__)
privacy_view = principal_view(bp)


def _body(model: Any, **options: Any) -> Any:
    return json_body(bp, model, **options)


def _operator(principal: Principal) -> str:
    return principal.name or "unknown"


# ---- the customer (/me) -----------------------------------------------------------------------------

@bp.route("/me", methods=["GET"])
@privacy_view
def my_profile(svc: Services, principal: Principal):
    """R02/R03/R08: your identity, contact email, kind, reference consent and open verification
    request; a beneficiary (R06) sees its own login only."""
    from ..service.privacy import profile
    return json_response(profile(principal, svc))


@bp.route("/me", methods=["PATCH"], content_types=["application/json"])
@privacy_view
def change_my_email(svc: Services, principal: Principal):
    """R02: {"email"}: change the contact email yourself (any other field: 400)."""
    from ..contracts.privacy_v1 import ContactEmailChangeV1
    from ..service.privacy import change_contact_email
    body = _body(ContactEmailChangeV1)
    return json_response(change_contact_email(principal.customer_id, str(body.email), svc, actor=principal.actor,
                                              correlation_id=_cid()))


@bp.route("/me/identity-changes", methods=["POST"], content_types=["application/json"])
@privacy_view
def change_my_identity(svc: Services, principal: Principal):
    """R02: {"changes": {...}, "justification": {"document_type", "document_ref", "note"}}."""
    from ..contracts.privacy_v1 import IdentityChangeV1
    from ..service.privacy import change_identity
    return json_response(change_identity(principal.customer_id, _body(IdentityChangeV1), svc, actor=principal.actor,
                                         correlation_id=_cid()))


@bp.route("/me/verification-documents", methods=["POST"], content_types=["application/json"])
@privacy_view
def send_my_document(svc: Services, principal: Principal):
    """R03: {"document_type", "reference"}: a document for the open verification request."""
    from ..contracts.privacy_v1 import VerificationDocumentV1
    from ..service.privacy import submit_document
    body = _body(VerificationDocumentV1)
    return json_response(submit_document(principal.customer_id, body.document_type, body.reference, svc,
                                         actor=principal.actor, correlation_id=_cid()), 201)


@bp.route("/me/reference-consent", methods=["PUT"], content_types=["application/json"])
@privacy_view
def my_reference_consent(svc: Services, principal: Principal):
    """R08: {"consent": true|false}: may you be cited as a commercial reference (withdrawable)."""
    from ..contracts.privacy_v1 import ReferenceConsentV1
    from ..service.privacy import set_reference_consent
    return json_response(set_reference_consent(principal.customer_id, _body(ReferenceConsentV1).consent, svc,
                                               actor=principal.actor, correlation_id=_cid()))


@bp.route("/me/export", methods=["GET"])
@privacy_view
def my_export(svc: Services, principal: Principal):
    """R07: everything held about you, as JSON (the request is logged)."""
    from ..service.customer_data import export
    return json_response(export(principal.customer_id, svc, actor=principal.actor, correlation_id=_cid()))


@bp.route("/me/erasure", methods=["POST"])
@privacy_view
def erase_me(svc: Services, principal: Principal):
    """R07: erase your personal data once no contract runs and no sum is owed (409 otherwise):
    202, the erasure worker pseudonymises everything and closes your logins; 200 once erased."""
    from ..service.customer_data import request_erasure
    answer, queued = request_erasure(principal.customer_id, svc, actor=principal.actor, correlation_id=_cid())
    return json_response(answer, 202 if queued else 200)


# ---- operators ----------------------------------------------------------------------------------------

@bp.route("/admin/customers/{customer_id}/identity-changes", methods=["POST"], content_types=["application/json"])
@privacy_view
def change_customer_identity(svc: Services, principal: Principal, customer_id: str):
    """R02: an operator records an identity change with the document that justifies it."""
    from ..contracts.privacy_v1 import IdentityChangeV1
    from ..service.privacy import change_identity
    return json_response(change_identity(customer_id, _body(IdentityChangeV1), svc, actor=principal.actor,
                                         correlation_id=_cid()))


@bp.route("/admin/customers/{customer_id}/verification-requests", methods=["POST"],
          content_types=["application/json"])
@privacy_view
def request_customer_documents(svc: Services, principal: Principal, customer_id: str):
    """R03: {"reason", "documents": [...]}: documents requested with a deadline; 201."""
    from ..contracts.privacy_v1 import VerificationRequestV1
    from ..service.privacy import request_verification
    body = _body(VerificationRequestV1)
    return json_response(request_verification(customer_id, body.reason, list(body.documents), svc,
                                              operator=_operator(principal), correlation_id=_cid()), 201)


@bp.route("/admin/customers/{customer_id}/verification-requests/{request_id}/decision", methods=["POST"],
          content_types=["application/json"])
@privacy_view
def decide_customer_documents(svc: Services, principal: Principal, customer_id: str, request_id: str):
    """R03: {"accepted": bool, "note"}: accepted closes the request and lifts its suspension."""
    from ..contracts.privacy_v1 import VerificationDecisionV1
    from ..service.privacy import decide_verification
    body = _body(VerificationDecisionV1)
    return json_response(decide_verification(customer_id, request_id, body.accepted, body.note, svc,
                                             operator=_operator(principal), correlation_id=_cid()))


@bp.route("/admin/customers/{customer_id}/export", methods=["GET"])
@privacy_view
def export_customer(svc: Services, principal: Principal, customer_id: str):
    """R07: everything held about a customer (the request is logged)."""
    from ..service.customer_data import export
    return json_response(export(customer_id, svc, actor=principal.actor, correlation_id=_cid()))


@bp.route("/admin/customers/{customer_id}/erasure", methods=["POST"])
@privacy_view
def erase_customer(svc: Services, principal: Principal, customer_id: str):
    """R07: erase a customer's personal data (asked by letter, for instance); same checks, 202."""
    from ..service.customer_data import request_erasure
    answer, queued = request_erasure(customer_id, svc, actor=principal.actor, correlation_id=_cid())
    return json_response(answer, 202 if queued else 200)
