"""R04, R07: the application logger never writes a secret and masks personal data.

The tests capture what the app's own Powertools logger (chalicelib.observability.logger) writes."""
from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.privacy import luhn_valid, mask_card_numbers, mask_email
from chalicelib.observability import REDACTED, logger, redact, secret_key


@pytest.fixture
def captured():
    """The JSON lines the app logger writes while the test runs."""
    handler = logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    finally:
        handler.setStream(previous)


def test_R04_R07_secrets_under_any_key_are_redacted_at_any_depth(captured):
    logger.info("sign-in", password="hunter2-hunter2", new_password="correct-horse-battery-42",
                headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "Accept": "json",
                         "Cookie": "session=abc", "Stripe-Signature": "t=1,v1=abc"},
                body={"refresh_token": "s1.secret", "nested": [{"client_secret": "pi_1_secret_2"},
                                                               {"cardNumber": "4242424242424242", "iban": "FR76..."}]},
                access_token="eyJ...", password_hash="$argon2id$v=19$...")
    [record] = captured()
    text = json.dumps(record)
    for secret in ("hunter2", "correct-horse", "eyJhbGci", "session=abc", "v1=abc", "s1.secret", "pi_1_secret",
                   "4242424242424242", "FR76", "$argon2id"):
        assert secret not in text, secret
    assert record["password"] == record["new_password"] == record["password_hash"] == REDACTED
    assert record["headers"] == {"Authorization": REDACTED, "Accept": "json", "Cookie": REDACTED,
                                 "Stripe-Signature": REDACTED}
    assert record["body"]["nested"][1] == {"cardNumber": REDACTED, "iban": REDACTED}
    assert record["message"] == "sign-in" and record["service"] == "soho-backoffice"


def test_R04_bearer_credentials_and_tokens_inside_strings_are_redacted(captured):
    logger.warning("refused Authorization: Bearer op_live_123456 and token "
                   "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzaC1hYmNkIn0.sIgNaTuRe_xyz here")
    [record] = captured()
    assert "op_live_123456" not in record["message"] and "sIgNaTuRe_xyz" not in record["message"]
    assert record["message"] == f"refused Authorization: Bearer {REDACTED} and token {REDACTED} here"


def test_R07_emails_are_masked_in_messages_values_and_appended_keys(captured):
    logger.append_keys(customer_email="jeanne.dupont@dupont.fr")
    try:
        logger.info("notice sent to jeanne@dupont.fr", to=["contact@acme.fr", "not an email"])
    finally:
        logger.remove_keys(["customer_email"])
    [record] = captured()
    assert record["message"] == "notice sent to j***@dupont.fr"
    assert record["to"] == ["c***@acme.fr", "not an email"]
    assert record["customer_email"] == "j***@dupont.fr"
    assert "jeanne" not in json.dumps(record)


def test_R04_full_card_numbers_keep_only_their_last_four_digits(captured):
    logger.info("charge 4111 1111 1111 1111 / 5555-5555-5555-4444 / 378282246310005 failed",
                detail={"note": "card 4000056655665556 declined"})
    [record] = captured()
    assert record["message"] == "charge ************1111 / ************4444 / ***********0005 failed"
    assert record["detail"]["note"] == "card ************5556 declined"


def test_R04_numbers_that_are_not_card_numbers_are_left_alone():
    # Not Luhn-valid, too short, too long, or a date: unchanged.
    for text in ("order 4111111111111112", "phone 0601020304", "2026-11-27T10:00:00", "ref 12345678901234567890",
                 "invoice F-000042 total 7186"):
        assert mask_card_numbers(text) == text


def test_R04_R07_exceptions_are_redacted_too(captured):
    try:
        raise ValueError("could not mail jeanne@dupont.fr with password=hunter2 Bearer abc.def")
    except ValueError:
        logger.exception("failed")
    [record] = captured()
    assert "jeanne@" not in record["exception"] and "Bearer abc.def" not in record["exception"]


def test_R04_secret_keys_are_words_of_the_key_not_substrings():
    for key in ("password", "Password", "new_password", "access_token", "refreshToken", "Authorization", "cookie",
                "Set-Cookie", "card_number", "pan", "iban", "client_secret", "X-Api-Key", "apiKey"):
        assert secret_key(key), key
    for key in ("span", "company", "expand", "status", "correlation_id", "timestamp", "domain", "cardinality",
                "idempotency_key", "notice_id", "level"):
        assert not secret_key(key), key


def test_R07_mask_email():
    assert mask_email("jeanne@dupont.fr") == "j***@dupont.fr"
    assert mask_email("from a.b+c@mail.example.org, to x@y.fr") == "from a***@mail.example.org, to x***@y.fr"
    assert mask_email("j***@dupont.fr") == "j***@dupont.fr"  # masking twice changes nothing


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.sampled_from(["a", "password", "token", "note", "email"]), children,
                                      max_size=4), max_leaves=20))
def test_R04_redaction_keeps_the_shape_and_never_lets_a_secret_key_through(value):
    redacted = redact(value)
    json.dumps(redacted)  # still serialisable

    def check(original, result):
        if isinstance(original, dict):
            assert set(result) == set(original)
            for key, item in original.items():
                if key in ("password", "token") and item is not None:
                    assert result[key] == REDACTED
                else:
                    check(item, result[key])
        elif isinstance(original, list):
            assert len(result) == len(original)
            for a, b in zip(original, result):
                check(a, b)
    check(value, redacted)


def test_R04_luhn():
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112") and not luhn_valid("41111x1111111111")
