"""R13 withdrawal (with R32 first use and R22 credit notes), as pure rules.

Rule 1 (R13): only a consumer withdraws, strictly before `withdrawal_deadline` of the online
validation (14 jours francs, moved to the next business day), and only while the contract is in
a state of the transition table that accepts WITHDRAWN.
Rule 2 (R32): the first use of the space reported by the node ends the right, whatever the date.
Rule 3 (R13 + R22): the invoice is corrected by one credit note from the gapless sequence. An unpaid
invoice is credited in full (it is cancelled, nothing is refunded). A paid one is credited except
the domain fees already spent, which stay invoiced as a line of their own with their own VAT, so
that what remains of the invoice is a correct invoice for those fees alone; the refund is what was
paid minus that remainder (and minus what was already refunded).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping, Optional, Sequence

from .billing import vat_cents
from .calendar import PARIS, require_aware, withdrawal_deadline
from .contracts import ContractEvent, states_accepting
from .errors import ConflictError, RuleViolationError

WITHDRAWABLE_STATES = frozenset(state.value for state in states_accepting(ContractEvent.WITHDRAWN))
KEPT_DOMAIN_FEES_CODE = "domain_fees_kept"
KEPT_DOMAIN_FEES_DESCRIPTION = "Frais de nom de domaine engagés, non remboursables"


def _paris(moment: datetime) -> str:
    return require_aware(moment).astimezone(PARIS).isoformat()


def last_withdrawal_day(validated_at: datetime):
    """R13: the last calendar day (Paris) on which the consumer can still withdraw."""
    return (withdrawal_deadline(validated_at).astimezone(PARIS) - timedelta(days=1)).date()


def check_withdrawal(*, customer_kind: str, validated_at: datetime, now: datetime, contract_status: str,
                     first_used_at: Optional[datetime] = None, first_use: Optional[Mapping[str, Any]] = None,
                     is_renewal: bool = False) -> datetime:
    """R13 + R32: the withdrawal deadline when `now` may withdraw, else the refusal (a DomainError
    with a stable code; nothing changes): `withdrawal_not_available_to_professionals` (422),
    `withdrawal_period_over` (422), `withdrawal_right_lost_by_first_use` (409), `not_withdrawable` (409)."""
    if customer_kind != "consumer":
        raise RuleViolationError("the withdrawal right (R13) belongs to consumers; a professional's order cannot be "
                                 "withdrawn", code="withdrawal_not_available_to_professionals")
    deadline = withdrawal_deadline(validated_at)
    if require_aware(now) >= deadline:
        raise RuleViolationError(
            f"the withdrawal period ended at {_paris(deadline)} (Paris time): 14 jours francs from the online "
            f"validation of {_paris(validated_at)}, the last day being {last_withdrawal_day(validated_at)}",
            code="withdrawal_period_over")
    if first_used_at is not None:
        how = (first_use or {}).get("usage") or (first_use or {}).get("kind") or "use of the hosting space"
        node = (first_use or {}).get("node_id") or (first_use or {}).get("node")
        raise ConflictError(
            f"the withdrawal right was lost at the first use of the service: {how}"
            f"{f' on {node}' if node else ''} at {_paris(first_used_at)} (Paris time), as reported by the hosting "
            "node (R32)", code="withdrawal_right_lost_by_first_use")
    if is_renewal or contract_status not in WITHDRAWABLE_STATES:
        what = "a renewal (R18)" if is_renewal else f"{contract_status}"
        raise ConflictError(f"the contract is {what}: it cannot be withdrawn", code="not_withdrawable")
    return deadline


@dataclass(frozen=True)
class WithdrawalCredit:
    """The credit note of a withdrawal (negative amounts) and what stays invoiced and is refunded."""
    lines: tuple[dict, ...]
    subtotal_cents: int
    vat_cents: int
    total_cents: int
    kept_subtotal_cents: int   # domain fees kept, excl. VAT
    kept_vat_cents: int
    kept_total_cents: int      # what remains invoiced (incl. VAT): the domain fees kept
    refund_cents: int          # what is owed back to the customer


def withdrawal_credit(lines: Sequence[Mapping[str, Any]], *, subtotal_cents: int, vat_cents_: int, total_cents: int,
                      vat_rate: Decimal, paid: bool, spent_domain_fees_cents: int = 0,
                      refunded_cents: int = 0) -> WithdrawalCredit:
    """R13 + R22: the credit note lines and totals, exact to the cent.

    `lines`/`subtotal_cents`/`vat_cents_`/`total_cents` are the invoice's; `spent_domain_fees_cents`
    the registry fees (excl. VAT) already spent, 0 when not. Unpaid: everything is credited, nothing
    refunded. Paid: every line is credited and a positive line keeps the fees (at most the
    subtotal), whose VAT is rounded on its own; credit + kept == invoice, line by line and in total."""
    if subtotal_cents + vat_cents_ != total_cents:
        raise ValueError("the invoice's subtotal and VAT do not add up to its total")
    kept_ht = min(max(int(spent_domain_fees_cents), 0), int(subtotal_cents)) if paid else 0
    kept_vat = min(vat_cents(kept_ht, Decimal(vat_rate)), int(vat_cents_)) if kept_ht else 0
    kept_total = kept_ht + kept_vat
    credit_lines = [{**line, "unit_cents": -int(line["unit_cents"]), "total_cents": -int(line["total_cents"])}
                    for line in lines]
    if kept_ht:
        credit_lines.append({"code": KEPT_DOMAIN_FEES_CODE, "description": KEPT_DOMAIN_FEES_DESCRIPTION,
                             "quantity": 1, "unit_cents": kept_ht, "total_cents": kept_ht})
    refund = max(0, int(total_cents) - kept_total - max(0, int(refunded_cents))) if paid else 0
    return WithdrawalCredit(
        lines=tuple(credit_lines), subtotal_cents=-(int(subtotal_cents) - kept_ht),
        vat_cents=-(int(vat_cents_) - kept_vat), total_cents=-(int(total_cents) - kept_total),
        kept_subtotal_cents=kept_ht, kept_vat_cents=kept_vat, kept_total_cents=kept_total, refund_cents=refund)
