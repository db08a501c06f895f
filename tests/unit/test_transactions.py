"""How a cancelled DynamoDB transaction is read: a failed condition is a decision (duplicate,
conflict), a concurrent-write cancellation is not (R22, R27: retry, never treat it as a duplicate)."""
from __future__ import annotations

import pytest
from pynamodb.connection import Connection
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from chalicelib.adapters.dynamo_store import TransactionConflict, TransactionContention, _Tx
from chalicelib.adapters.models import InvoiceModel, MetaModel, PaymentModel


def cancelled(*codes):
    cause = VerboseClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
                               "TransactWriteItems",
                               cancellation_reasons=[CancellationReason(code=c) if c else None for c in codes])
    return TransactWriteError("cancelled", cause=cause)


def tx_failing_with(monkeypatch, *codes) -> _Tx:
    tx = _Tx(Connection(region="eu-west-3"))
    tx.update("sequence", MetaModel(name="seq"), [MetaModel.value.set(2)], MetaModel.value == 1)
    tx.save("payment", PaymentModel(payment_event_id="evt", provider="stripe", event_type="x", outcome="applied",
                                    amount_cents=1, currency="EUR", received_at="2026-11-27T10:00:00+00:00"))
    tx.delete("invoice", InvoiceModel(invoice_id="inv"))

    def fail():
        raise cancelled(*codes)

    monkeypatch.setattr(tx._tx, "_commit", fail)
    return tx


def test_R27_a_failed_condition_names_the_item_in_request_order(monkeypatch):
    # Request order is deletes, puts, updates: invoice, payment, sequence.
    with pytest.raises(TransactionConflict) as info:
        tx_failing_with(monkeypatch, None, "ConditionalCheckFailed", None).commit()
    assert info.value.failed == {"payment"}


def test_R22_R27_a_concurrent_write_cancellation_is_contention_not_a_failed_condition(monkeypatch):
    with pytest.raises(TransactionContention):
        tx_failing_with(monkeypatch, None, None, "TransactionConflict").commit()


def test_a_failed_condition_wins_over_contention_in_the_same_cancellation(monkeypatch):
    with pytest.raises(TransactionConflict) as info:
        tx_failing_with(monkeypatch, None, "ConditionalCheckFailed", "TransactionConflict").commit()
    assert info.value.failed == {"payment"}
