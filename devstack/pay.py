"""python -m devstack.pay <invoice_id>: send a correctly signed Stripe `payment_intent.succeeded`
for that invoice's amount to the local API, as the payment provider would.

Options: --times N (deliver the same event N times), --amount CENTS (override, to test mismatches),
--event-id ID. Uses API_URL (default http://127.0.0.1:$API_PORT), OPERATOR_API_KEY and
PAYMENT_WEBHOOK_SECRET with the devstack defaults.
"""
from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request
import uuid
from typing import Optional

from .stack import DEFAULT_OPERATOR_KEY, DEFAULT_WEBHOOK_SECRET


def payment_succeeded_event(invoice_id: str, amount_cents: int, currency: str = "eur",
                            event_id: Optional[str] = None, contract_id: Optional[str] = None) -> bytes:
    """A Stripe event as the provider sends it for a PaymentIntent our storefront created with
    metadata {invoice_id, contract_id} (contract_id optional)."""
    intent_id = f"pi_{uuid.uuid4().hex[:24]}"
    event = {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "api_version": "2024-06-20",
        "created": int(time.time()), "livemode": False, "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent_id, "object": "payment_intent", "amount": amount_cents,
                            "amount_received": amount_cents, "currency": currency.lower(), "status": "succeeded",
                            "metadata": {"invoice_id": invoice_id,
                                         **({"contract_id": contract_id} if contract_id else {})}}},
    }
    return json.dumps(event, separators=(",", ":")).encode()


def charge_refunded_event(payment_intent_id: Optional[str], amount_refunded: int, amount: Optional[int] = None,
                          currency: str = "eur", event_id: Optional[str] = None, charge_id: Optional[str] = None,
                          refunds: Optional[list[int]] = None) -> bytes:
    """A Stripe `charge.refunded` event: the Charge of a PaymentIntent with its cumulative
    `amount_refunded` (what the provider sends after each refund, full or partial). `refunds`
    (amounts of each refund) adds the expanded refund list; by default it is absent, as in
    Stripe's current API versions."""
    charge = {"id": charge_id or f"ch_{uuid.uuid4().hex[:24]}", "object": "charge",
              "amount": amount_refunded if amount is None else amount, "amount_refunded": amount_refunded,
              "currency": currency.lower(), "payment_intent": payment_intent_id, "refunded":
              amount is None or amount_refunded >= amount, "status": "succeeded"}
    if refunds is not None:
        charge["refunds"] = {"object": "list", "data": [
            {"id": f"re_{uuid.uuid4().hex[:24]}", "object": "refund", "amount": cents, "status": "succeeded"}
            for cents in refunds]}
    event = {"id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "api_version": "2024-06-20",
             "created": int(time.time()), "livemode": False, "type": "charge.refunded", "data": {"object": charge}}
    return json.dumps(event, separators=(",", ":")).encode()


def intent_id_of(payload: bytes) -> str:
    """The PaymentIntent id of an event made by `payment_succeeded_event`."""
    return json.loads(payload)["data"]["object"]["id"]


def sign(payload: bytes, secret: str, timestamp: Optional[int] = None) -> str:
    import stripe
    return stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, timestamp=timestamp)


def post_webhook(api_url: str, payload: bytes, signature: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{api_url}/webhooks/payments", data=payload, method="POST", headers={
        "Content-Type": "application/json", "Stripe-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def invoice(api_url: str, invoice_id: str, operator_key: str) -> dict:
    request = urllib.request.Request(f"{api_url}/admin/invoices/{invoice_id}",
                                     headers={"Authorization": f"Bearer {operator_key}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def main() -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="devstack.pay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("invoice_id")
    parser.add_argument("--times", type=int, default=1)
    parser.add_argument("--amount", type=int, default=None)
    parser.add_argument("--event-id", default=None)
    parser.add_argument("--api", default=env("API_URL", f"http://127.0.0.1:{env('API_PORT', '8000')}"))
    args = parser.parse_args()
    secret = env("PAYMENT_WEBHOOK_SECRET", DEFAULT_WEBHOOK_SECRET)
    found = invoice(args.api, args.invoice_id, env("OPERATOR_API_KEY", DEFAULT_OPERATOR_KEY))
    amount = found["total_cents"] if args.amount is None else args.amount
    payload = payment_succeeded_event(args.invoice_id, amount, found["currency"], args.event_id,
                                      contract_id=found["contract_id"])
    for _ in range(args.times):
        status, body = post_webhook(args.api, payload, sign(payload, secret))
        print(status, json.dumps(body))


if __name__ == "__main__":
    main()
