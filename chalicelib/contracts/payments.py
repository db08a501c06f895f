"""Payment provider events (Stripe), as far as the back office reads them."""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator


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


class StripeRefund(_Lenient):
    id: str
    amount: int = Field(ge=0, description="cents")
    status: Optional[str] = None


class StripeRefundList(_Lenient):
    data: list[StripeRefund] = Field(default_factory=list)


class Charge(_Lenient):
    """The object of a `charge.refunded` event (R27). `amount_refunded` is cumulative over every
    refund of the charge; `refunds` is only present when expanded, so nothing depends on it."""
    id: str
    amount: int = Field(default=0, ge=0, description="cents")
    amount_refunded: int = Field(ge=0, description="cents, cumulative")
    currency: str
    payment_intent: Optional[str] = None
    refunded: bool = False
    refunds: Optional[StripeRefundList] = None

    @field_validator("payment_intent", mode="before")
    @classmethod
    def _intent_id(cls, value: Any) -> Any:
        # An expanded PaymentIntent is an object: keep its id.
        return value.get("id") if isinstance(value, dict) else value


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

    def charge(self) -> Charge:
        return Charge.model_validate(self.data.object)
