"""Bad payers (R25): a customer who missed a due date may order again only by paying upfront in
full (a yearly order paid by bank transfer, received before anything is provided) or with a
guarantee recorded by an operator.

A customer is recognised across orders by email and, for a professional, by SIREN. The
overdue handler (billing_cycle) writes `bad_payer#<key>`; operators write `guarantee#<key>`.
"""
from __future__ import annotations

from typing import Any, Optional

from ..adapters.models import MetaModel
from ..bootstrap import Services
from ..contracts.admin_v1 import GuaranteeV1
from ..domain.calendar import utc_iso
from ..domain.errors import RuleViolationError
from ..domain.orders import OrderInput


def payer_keys(email: Optional[str], siren: Optional[str]) -> list[str]:
    """R25: the keys a customer is known by (email lower-cased, SIREN digits only)."""
    keys = [f"email:{email.strip().lower()}"] if email else []
    if siren:
        keys.append(f"siren:{''.join(ch for ch in siren if ch.isdigit())}")
    return keys


def check_bad_payer(order: OrderInput, siren: Optional[str], services: Services) -> Optional[str]:
    """R25: refuse the order of a customer in default unless it is paid upfront in full by bank
    transfer or guaranteed. Returns the guarantee reference it relies on, if any."""
    keys = payer_keys(order.customer.email, siren)
    rows = services.store.get_together(*[(MetaModel, f"bad_payer#{k}") for k in keys],
                                       *[(MetaModel, f"guarantee#{k}") for k in keys])
    defaults, guarantees = rows[:len(keys)], rows[len(keys):]
    default = next((row for row in defaults if row is not None), None)
    if default is None:
        return None
    guarantee = next((row for row in guarantees if row is not None), None)
    if guarantee is not None:
        return guarantee.text
    if order.billing_period == "yearly" and order.payment_method == "bank_transfer":
        return None  # R25: paid upfront in full; nothing is provided before the transfer is received
    raise RuleViolationError(
        f"this customer did not pay invoice {default.text} at its due date: a new order must be paid upfront in "
        "full (billing_period yearly, payment_method bank_transfer) or guaranteed (ask us to record a guarantee)",
        code="customer_in_default", fields={"payment_method": "bank_transfer", "billing_period": "yearly"})


def record_guarantee(body: GuaranteeV1, services: Services, *, operator: str) -> dict[str, Any]:
    """R25: an operator accepts a guarantee; it covers every key given (email, SIREN)."""
    now = services.clock.now()
    keys = payer_keys(body.customer.email, body.customer.siren)
    from ..adapters.dynamo_store import Effect
    effect = Effect()
    for key in keys:
        effect.save(f"guarantee:{key}", MetaModel(name=f"guarantee#{key}", text=body.reference,
                                                  value=body.amount_cents, updated_at=utc_iso(now)))
    services.store.apply(effect)
    return {"keys": keys, "reference": body.reference, "amount_cents": body.amount_cents, "recorded_by": operator,
            "recorded_at": utc_iso(now)}
