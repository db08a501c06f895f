"""One Powertools logger for the whole app (structured JSON, correlation ids), which never writes
a secret and keeps personal data to a minimum (R04, R07).

Every record goes through `redact` just before it is serialised (`RedactingFormatter`), whatever
logged it (the message, keys appended with `append_keys`, extra keyword arguments, exceptions):
- a value under a key naming a secret (password, token, secret, authorization, card, pan, iban,
  cookie, ... as a word of the key: `access_token`, `Authorization`, `cardNumber`, `set-cookie`)
  becomes "[redacted]", nested dicts and lists included;
- in any string: a bearer credential (`Bearer <token>`) and a JSON Web Token are redacted, a card
  number (13 to 19 digits, Luhn-valid, spaces or dashes allowed) keeps its last 4 digits only,
  and an email keeps its first character and domain (`j***@dupont.fr`).
"""
from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from .domain.privacy import mask_card_numbers, mask_email

REDACTED = "[redacted]"
# Words of a key that name a secret or a payment instrument.
SECRET_WORDS = frozenset({
    "password", "passwords", "passwd", "pwd", "passphrase", "token", "tokens", "secret", "secrets", "authorization",
    "auth", "card", "cards", "pan", "iban", "cookie", "cookies", "cvc", "cvv", "credential", "credentials",
    "apikey", "signature"})
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
JWT_RE = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_MAX_DEPTH = 12


def secret_key(key: Any) -> bool:
    """A key whose value must never be logged: one of its words (snake, kebab or camel case) is
    a SECRET_WORD, e.g. `password_hash`, `X-Api-Key`... `access_token`, `cardNumber`."""
    if not isinstance(key, str):
        return False
    words = [w.lower() for w in _WORDS.findall(key)]
    joined = "".join(words)
    return any(w in SECRET_WORDS for w in words) or joined in SECRET_WORDS or joined == "xapikey"


def redact_text(text: str) -> str:
    text = BEARER_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = JWT_RE.sub(REDACTED, text)
    return mask_email(mask_card_numbers(text))


def redact(value: Any, _depth: int = 0) -> Any:
    """A copy of a log record's value with secrets redacted and personal data masked."""
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: (REDACTED if secret_key(key) and item is not None else redact(item, _depth + 1))
                for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(item, _depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact_text(str(value))  # what the JSON encoder would have written, redacted


class RedactingFormatter(LambdaPowertoolsFormatter):
    """The Powertools JSON formatter, with `redact` applied to the whole record first."""

    def serialize(self, log: dict[str, Any]) -> str:
        return super().serialize(redact(log))


logger = Logger(service="soho-backoffice", logger_formatter=RedactingFormatter())
