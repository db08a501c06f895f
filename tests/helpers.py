"""Builders shared by the test tiers."""
from __future__ import annotations

import copy
import json
from typing import Any

VALID_SIREN = "732829320"


def professional_order(domain_name: str = "acme-test.fr", **changes: Any) -> dict:
    order = {
        "customer": {"kind": "professional", "legal_name": "ACME SARL", "siren": VALID_SIREN,
                     "email": "contact@acme.fr", "phone": "+33 1 23 45 67 89",
                     "address": {"line1": "1 rue de Rivoli", "postcode": "75001", "city": "Paris", "country": "FR"}},
        "plan": "soho-start", "options": ["antivirus"], "billing_period": "yearly", "payment_method": "card",
        "domain": {"name": domain_name, "action": "register"}, "terms": {"version": "2026-09", "accepted": True},
    }
    return merge(order, changes)


def consumer_order(domain_name: str = "dupont.fr", birth_date: str = "1980-05-17", **changes: Any) -> dict:
    order = professional_order(domain_name)
    order["customer"] = {"kind": "consumer", "first_name": "Jeanne", "last_name": "Dupont",
                         "birth_date": birth_date, "email": "jeanne@dupont.fr", "phone": "0601020304",
                         "address": {"line1": "2 rue Haute", "postcode": "69001", "city": "Lyon", "country": "FR"}}
    return merge(order, changes)


def merge(base: dict, changes: dict) -> dict:
    """Deep-merge `changes` into a copy of `base`; a value of None deletes the key."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def as_json(document: Any) -> str:
    return json.dumps(document)
