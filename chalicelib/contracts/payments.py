"""Payment provider events (Stripe), as far as the back office reads them."""
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    # Stripe adds fields over time: read what we need, keep the rest unread.
    model_config = ConfigDict(extra="ignore")


class PaymentIntentMetadata(_Lenient):
    """Set by our storefront when it creates the PaymentIntent. `contract_id` is optional: with it
    the consumer reads invoice and contract in one call, and checks they belong together."""
    invoice_id: Optional[str] = None
    contract_id: Optional[str] = None


class PaymentIntent(_Lenient):
    id: str
    amount: int = Field(ge=0, description="cents")
    currency: str
    metadata: PaymentIntentMetadata = Field(default_factory=PaymentIntentMetadata)


class StripeEventData(_Lenient):
    object: dict


class StripeEvent(_Lenient):
    id: str
    type: str
    created: int
    livemode: bool = False
    data: StripeEventData

    def payment_intent(self) -> PaymentIntent:
        return PaymentIntent.model_validate(self.data.object)
