"""POST /orders and GET /catalog through chalice.test.Client on moto (R09, R10, R16, R21, R22, R34, R36)."""
from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.config import settings
from tests.helpers import consumer_order, professional_order

JSON = {"Content-Type": "application/json", "User-Agent": "storefront-test/1.0"}
STORED_TABLES = ("customers", "orders", "contracts", "invoices", "domains", "evidence")


def post_order(client, body, headers=None):
    raw = body if isinstance(body, str) else json.dumps(body)
    answer = client.http.post("/orders", body=raw, headers={**JSON, **(headers or {})})
    return answer.status_code, json.loads(answer.body)


def item_counts() -> dict[str, int]:
    dynamodb = boto3.client("dynamodb", region_name=settings().region)
    return {t: dynamodb.scan(TableName=settings().table_name(t), Select="COUNT")["Count"] for t in STORED_TABLES}


def test_catalog_lists_plans_options_and_terms_version(client):
    answer = client.http.get("/catalog")
    body = json.loads(answer.body)
    assert answer.status_code == 200
    assert {p["id"] for p in body["plans"]} >= {"soho-start", "soho-pro"}
    assert {"antivirus", "antispam", "extra-storage-10g", "extra-pop-mailbox", "extra-mysql-database"} <= {
        o["id"] for o in body["options"]}
    assert body["terms_version"] == "2026-09"
    storage = next(o for o in body["options"] if o["id"] == "extra-storage-10g")
    assert storage["adds"]["storage_mb"] == 10240
    for plan in body["plans"]:
        assert {"storage_mb", "mailboxes", "mysql_databases", "php", "yearly_price_cents"} <= plan.keys()


def test_R09_R10_R21_order_is_stored_in_one_write_with_invoice_and_acceptance(client, services):
    status, body = post_order(client, professional_order())
    assert status == 201
    assert body["status"] == "awaiting_payment"
    # soho-start 5988 + antivirus 1200 = 7188 excl. VAT; VAT 20 % = 1437.6 -> 1438
    assert body["invoice"] == {"id": body["invoice"]["id"], "number": "F00000001", "total_cents": 8626,
                               "vat_cents": 1438, "currency": "EUR"}
    order = services.store.get_order(body["order_id"])
    assert order.acceptance.terms_version == "2026-09"
    assert order.acceptance.client_ip and order.acceptance.user_agent == "storefront-test/1.0"
    assert order.acceptance.accepted_at.startswith("2026-11-27T10:00")
    contract = services.store.get_contract(body["contract_id"])
    assert (contract.status, contract.starts_on, contract.ends_on) == ("awaiting_payment", "2026-11-27", "2027-11-27")
    invoice = services.store.get_invoice(body["invoice"]["id"])
    assert invoice.late_penalty_rate_percent == str(services.settings.late_penalty_rate_percent)
    assert int(invoice.recovery_indemnity_cents) == 4000
    assert item_counts() == {"customers": 1, "orders": 1, "contracts": 1, "invoices": 1, "domains": 1,
                             "evidence": 3}
    assert invoice.bill_to["name"] == "ACME SARL" and invoice.bill_to["siren"] == "732829320"
    from chalicelib.service.notices import notices_for_customer
    [notice] = notices_for_customer(invoice.customer_id)  # R54: the invoice goes to the billing email
    assert (notice["template"], notice["to"]) == ("invoice_issued", "contact@acme.fr")


def test_R22_invoice_numbers_follow_one_sequence_without_gaps_even_after_refusals(client):
    numbers = []
    for i in range(3):
        post_order(client, professional_order(domain_name="bad.invalidtld"))  # refused: must not consume a number
        status, body = post_order(client, professional_order(domain_name=f"shop{i}.fr"))
        assert status == 201
        numbers.append(body["invoice"]["number"])
    assert numbers == ["F00000001", "F00000002", "F00000003"]


def test_R22_a_writer_with_a_stale_sequence_read_retries_with_the_next_number(client, services):
    """Two storefront calls read the counter at once; the second one's conditional write fails
    and it retries, so numbers stay unique and consecutive (the condition is the guard, not a lock)."""
    real_read = services.store.last_invoice_sequence
    stale_reads = []

    def read_then_let_another_order_commit():
        value = real_read()
        if not stale_reads:  # first read: another order commits between our read and our write
            stale_reads.append(value)
            services.store.last_invoice_sequence = real_read
            assert post_order(client, professional_order(domain_name="first.fr"))[0] == 201
        return value

    services.store.last_invoice_sequence = read_then_let_another_order_commit
    status, body = post_order(client, professional_order(domain_name="second.fr"))
    assert stale_reads == [None]
    assert (status, body["invoice"]["number"]) == (201, "F00000002")
    assert services.store.last_invoice_sequence() == 2


@pytest.mark.parametrize("body, status, code", [
    ("{not json", 400, "malformed_json"),
    (professional_order(plan=None), 400, "validation_error"),
    (professional_order(customer={"email": "not-an-email"}), 400, "validation_error"),
    (professional_order(surprise_field=True), 400, "validation_error"),
    (professional_order(plan="soho-gold"), 422, "unknown_plan"),
    (professional_order(options=["jacuzzi"]), 422, "unknown_option"),
    (professional_order(options=["extra-mysql-database"]), 422, "option_not_available_for_plan"),
    (professional_order(domain_name="example.io"), 422, "unsupported_tld"),
    (professional_order(domain_name="-bad-.fr"), 400, "invalid_domain_name"),
    (professional_order(customer={"siren": "732829321"}), 422, "invalid_siren"),
    (professional_order(customer={"siren": None}), 400, "missing_siren"),
    (professional_order(customer={"siret": "73282932000075"}), 422, "invalid_siret"),
    (professional_order(customer={"siret": "35600000000048"}), 422, "invalid_siret"),
    (professional_order(customer={"vat_number": "FR00123456789"}), 422, "invalid_vat_number"),
    (consumer_order(birth_date="2012-01-01"), 422, "minor_without_authorisation"),
    (professional_order(terms={"accepted": False}), 422, "terms_not_accepted"),
    (professional_order(terms={"version": "2019-01"}), 422, "terms_version_mismatch"),
    (professional_order(billing_period="weekly"), 400, "validation_error"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_R01_R05_R09_R36_bad_orders_get_their_own_code_and_store_nothing(client, body, status, code):
    got_status, answer = post_order(client, body)
    assert (got_status, answer["error"]["code"]) == (status, code)
    assert answer["error"]["message"]
    assert isinstance(answer["error"]["fields"], dict)
    assert set(item_counts().values()) == {0}


def test_R05_minor_with_parental_authorisation_is_accepted(client):
    body = consumer_order(birth_date="2012-01-01",
                          customer={"parental_authorisation": {"document_ref": "doc-parental-42"}})
    status, answer = post_order(client, body)
    assert status == 201, answer
    assert answer["invoice"]["total_cents"] == 8626


def test_R01_a_valid_siret_of_the_siren_is_stored(client, services):
    status, answer = post_order(client, professional_order(customer={"siret": "732 829 320 00074"}))
    assert status == 201, answer
    order = services.store.get_order(answer["order_id"])
    from chalicelib.adapters.models import CustomerModel
    assert CustomerModel.get(order.customer_id).siret == "73282932000074"


def test_validation_error_names_the_faulty_field(client):
    status, answer = post_order(client, professional_order(customer={"address": {"country": "France"}}))
    assert status == 400
    assert "customer.address.country" in answer["error"]["fields"]


def test_R34_a_domain_already_ordered_is_a_conflict(client):
    assert post_order(client, professional_order(domain_name="taken.fr"))[0] == 201
    status, answer = post_order(client, professional_order(domain_name="TAKEN.fr"))
    assert (status, answer["error"]["code"]) == (409, "domain_already_ordered")
    assert item_counts()["orders"] == 1


def test_idempotency_key_replays_the_same_order_and_refuses_another(client):
    headers = {"Idempotency-Key": "cart-123"}
    first = post_order(client, professional_order(domain_name="once.fr"), headers)
    again = post_order(client, professional_order(domain_name="once.fr"), headers)
    assert first[0] == 201 and again[0] == 200
    # R13: the order token is given once (only its hash is stored): a replay answers null.
    assert first[1]["order_token"] and again[1]["order_token"] is None
    assert {**again[1], "order_token": first[1]["order_token"]} == first[1]
    status, answer = post_order(client, professional_order(domain_name="other.fr"), headers)
    assert (status, answer["error"]["code"]) == (409, "idempotency_key_reused")
    assert item_counts()["orders"] == 1


def test_wrong_content_type_is_refused(client):
    answer = client.http.post("/orders", body="x=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 415
    assert set(item_counts().values()) == {0}
