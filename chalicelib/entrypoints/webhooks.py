"""Payment provider webhooks: authenticate the raw body, enqueue, answer fast (R27)."""
from __future__ import annotations

from chalice import Blueprint

from ..bootstrap import services
from .http import error_response, json_response

bp = Blueprint(__name__)


@bp.route("/webhooks/payments", methods=["POST"], content_types=["application/json"])
def payment_webhook():
    import stripe
    request = bp.current_request
    svc = services()
    raw = request.raw_body or b""
    try:
        stripe.WebhookSignature.verify_header(raw, request.headers.get("stripe-signature"),
                                              svc.settings.payment_webhook_secret,
                                              tolerance=svc.settings.stripe_tolerance_seconds)
    except (stripe.SignatureVerificationError, ValueError, IndexError):
        return error_response(400, "invalid_signature",
                              "the Stripe-Signature header does not match the body, or its timestamp is "
                              "outside the tolerance")
    from pydantic import ValidationError

    from ..contracts.payments import StripeEvent
    try:
        event = StripeEvent.model_validate_json(raw)
    except ValidationError:
        return error_response(400, "invalid_event", "the body is not a Stripe event (id, type, created, data)")
    svc.queues.send(queue_name=svc.settings.queue_name("payment-events"), body=raw.decode("utf-8"),
                    correlation_id=event.id)
    return json_response({"received": True, "event_id": event.id})
