"""R14 offer validity: an order not paid within a month expires; R22 its invoice gets a credit note."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from chalicelib.adapters.models import InvoiceModel
from chalicelib.domain.calendar import PARIS
from devstack.pay import payment_succeeded_event
from tests.helpers import professional_order
from tests.integration.test_lifecycle import run_timers
from tests.integration.conftest import sqs_lambda_event


def test_R14_an_unpaid_order_expires_after_one_month_with_a_credit_note(client, aws, placed_order, services,
                                                                        clock):
    # Placed 2026-11-27 11:00 Paris: valid until 2026-12-27 11:00 Paris.
    clock.move_to(datetime(2026, 12, 27, 10, 59, tzinfo=PARIS))
    assert run_timers(client, aws, services) == []
    clock.move_to(datetime(2026, 12, 27, 11, 0, tzinfo=PARIS))
    assert run_timers(client, aws, services) == ["order_expiry"]
    assert services.store.get_order(placed_order["order_id"]).status == "expired"
    assert services.store.get_contract(placed_order["contract_id"]).status == "cancelled"
    invoice = services.store.get_invoice(placed_order["invoice"]["id"])
    assert invoice.status == "cancelled"
    note = services.store.get_invoice(invoice.credited_by)
    assert (note.kind, note.number, note.credits_invoice_id) == ("credit_note", "F00000002", invoice.invoice_id)
    assert int(note.total_cents) == -int(invoice.total_cents) and int(note.vat_cents) == -int(invoice.vat_cents)
    assert sum(line["total_cents"] for line in note.lines) == -int(invoice.subtotal_cents)
    assert int(invoice.total_cents) == placed_order["invoice"]["total_cents"]  # R22: the invoice itself unchanged


def test_R14_R22_the_next_invoice_follows_the_credit_note_and_the_domain_is_free_again(client, aws, placed_order,
                                                                                      services, clock):
    clock.move_to(datetime(2026, 12, 28, tzinfo=PARIS))
    run_timers(client, aws, services)
    answer = client.http.post("/orders", body=json.dumps(professional_order()),
                              headers={"Content-Type": "application/json"})
    assert answer.status_code == 201  # same domain, ordered again at current prices
    assert json.loads(answer.body)["invoice"]["number"] == "F00000003"
    numbers = sorted(i.number for i in InvoiceModel.scan())
    assert numbers == ["F00000001", "F00000002", "F00000003"]


def test_R14_R27_a_payment_after_expiry_activates_nothing_and_is_flagged_for_refund(client, aws, placed_order,
                                                                                   services, clock):
    clock.move_to(datetime(2026, 12, 28, tzinfo=PARIS))
    run_timers(client, aws, services)
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    client.lambda_.invoke("on_payment_event", sqs_lambda_event([payload.decode()]))
    assert services.store.get_payment(json.loads(payload)["id"]).outcome == "duplicate_payment"
    assert services.store.get_contract(placed_order["contract_id"]).status == "cancelled"
    assert "payment_duplicate_payment" in [a["kind"] for a in services.store.open_alerts()]


def test_R14_a_paid_order_never_expires(client, aws, placed_order, services, clock):
    payload = payment_succeeded_event(placed_order["invoice"]["id"], placed_order["invoice"]["total_cents"])
    client.lambda_.invoke("on_payment_event", sqs_lambda_event([payload.decode()]))
    clock.move_to(clock.now() + timedelta(days=40))
    assert "order_expiry" in run_timers(client, aws, services)  # fires, finds the order paid, does nothing
    assert services.store.get_order(placed_order["order_id"]).status == "paid"
    assert services.store.get_invoice(placed_order["invoice"]["id"]).status == "paid"
