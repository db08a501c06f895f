"""Personal data (R03, R07): pure helpers for the verification deadline, the erasure checks and
the pseudonymisation of a customer's records.

Pseudonyms never derive from the value they replace: `erased-<hash of (customer id, field)>`,
so a pseudonymised record cannot be turned back into the value by guessing it (an email hashed
on its own could be). The same value keeps the same pseudonym everywhere in the customer's
records, so the records stay consistent with each other (an invoice and its notice name the
same pseudonymous buyer).
"""
from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Mapping, Optional

from .calendar import PARIS, paris_date

ERASED_PREFIX = "erased-"
ERASED_EMAIL_DOMAIN = "erased.invalid"   # RFC 2606: never deliverable

# Keys whose value is personal data wherever they appear (evidence before/after, notice
# contexts, verification documents). An `address` value is a dict of lines.
PERSONAL_KEYS = frozenset({
    "email", "to", "recipient", "phone", "first_name", "last_name", "birth_date", "client_ip", "user_agent",
    "customer_name", "document_ref", "identity_document_ref", "parental_authorisation_ref", "address", "line1",
    "postcode", "city", "ip", "remote_ip", "source_ip"})
ADDRESS_LINES = ("line1", "postcode", "city")   # the country alone identifies nobody: kept
# Wrappers whose content is read with the same keys (e.g. R11 `previous`, R02 before/after).
_CONTAINER_KEYS = frozenset({"previous", "before", "after", "address", "changes", "justification", "documents",
                             "submitted"})

# R07: a contract in one of these states runs, may still run (paid, awaiting payment, void until
# regularised) or still holds hosted data on a node (R20: data kept until deleted): no erasure.
ERASURE_BLOCKING_CONTRACT_STATES = frozenset({
    "awaiting_payment", "provisioning", "provisioning_failed", "active", "restricted", "suspended", "scheduled",
    "void", "expired", "terminated"})


# ---- R03: verification deadline --------------------------------------------------------------------

def verification_deadline(requested_at: datetime, days: int) -> tuple[date, datetime]:
    """R03: documents are due by the end (Paris) of the day `days` after the request. Returns that
    day and the instant it ends (00:00 Paris the next day), when the service is suspended if no
    document was accepted."""
    if days < 1:
        raise ValueError("the verification deadline is at least one day")
    day = paris_date(requested_at) + timedelta(days=days)
    return day, datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS)


# How the notices name each document type (R03).
DOCUMENT_LABELS_FR = {
    "identity_card": "carte nationale d'identité", "passport": "passeport", "residence_permit": "titre de séjour",
    "driving_licence": "permis de conduire", "kbis": "extrait Kbis de moins de trois mois",
    "insee_registration": "avis de situation au répertoire SIRENE (INSEE)",
    "proof_of_address": "justificatif de domicile de moins de trois mois",
    "vat_certificate": "attestation de numéro de TVA intracommunautaire",
    "parental_authorisation": "autorisation parentale signée", "other": "autre justificatif"}


def document_label_fr(document_type: str) -> str:
    return DOCUMENT_LABELS_FR.get(document_type, document_type)


# ---- R07: erasure checks ----------------------------------------------------------------------------

def erasure_blockers(contracts: Iterable[tuple[str, str]], unpaid_invoices: Iterable[str],
                     refunds_due: Iterable[str]) -> tuple[Optional[str], Optional[str]]:
    """R07: why a customer's data cannot be erased yet, as (code, message), or (None, None).
    `contracts` are (contract id, status); `unpaid_invoices` the numbers of invoices issued and not
    paid; `refunds_due` the credit notes whose refund is still owed to the customer."""
    blocking = sorted(f"{cid} ({status})" for cid, status in contracts if status in ERASURE_BLOCKING_CONTRACT_STATES)
    if blocking:
        return ("erasure_refused_contract_active",
                f"R07: contract(s) {', '.join(blocking)} still run or still hold hosted data; erasure is possible "
                "once every contract has ended and its hosted data is deleted (R20)")
    unpaid, due = sorted(unpaid_invoices), sorted(refunds_due)
    if unpaid or due:
        parts = ([f"invoice(s) {', '.join(unpaid)} unpaid"] if unpaid else []) + (
            [f"refund(s) of credit note(s) {', '.join(due)} not yet made"] if due else [])
        return ("erasure_refused_sums_owed",
                f"R07: sums are still owed ({'; '.join(parts)}); erasure is possible once they are settled")
    return None, None


# ---- R07: pseudonyms ---------------------------------------------------------------------------------

def pseudonym(customer_id: str, label: str, *, email: bool = False) -> str:
    """`erased-<12 hex>` from the customer id and what the value was (never from the value);
    an email gets the never-deliverable domain `erased.invalid`."""
    digest = hashlib.sha256(f"{customer_id}|{label}".encode()).hexdigest()[:12]
    return f"{ERASED_PREFIX}{digest}@{ERASED_EMAIL_DOMAIN}" if email else f"{ERASED_PREFIX}{digest}"


def is_pseudonym(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(ERASED_PREFIX)


class Pseudonyms:
    """The personal values found in a customer's records and the pseudonym of each."""

    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.mapping: dict[str, str] = {}
        self._labels: dict[str, int] = {}
        self._pattern: Optional[re.Pattern[str]] = None

    def add(self, value: Any, label: str) -> Optional[str]:
        """Record a personal value (strings only; empty, pseudonymised and 1-character values
        are ignored) and return its pseudonym."""
        if not isinstance(value, str):
            return None
        value = value.strip()
        if len(value) < 2 or is_pseudonym(value) or value.lower() in ("unknown", "none"):
            return None
        if value in self.mapping:
            return self.mapping[value]
        n = self._labels[label] = self._labels.get(label, 0) + 1
        is_email = "@" in value and " " not in value
        alias = pseudonym(self.customer_id, f"{label}#{n}", email=is_email)
        self.mapping[value] = alias
        if is_email and value.lower() != value:
            self.mapping.setdefault(value.lower(), alias)
        self._pattern = None
        return alias

    def collect(self, structure: Any, label: str = "value") -> None:
        """Record every value held under a personal key (PERSONAL_KEYS) anywhere in `structure`."""
        if isinstance(structure, Mapping):
            for key, value in structure.items():
                if key in _CONTAINER_KEYS and isinstance(value, (Mapping, list, tuple)):
                    self.collect(value, key)
                elif key in PERSONAL_KEYS:
                    if isinstance(value, (Mapping, list, tuple)):
                        self.collect_all(value, key)
                    else:
                        self.add(value, key)
                elif isinstance(value, (Mapping, list, tuple)):
                    self.collect(value, label)
        elif isinstance(structure, (list, tuple)):
            for item in structure:
                self.collect(item, label)

    def collect_all(self, structure: Any, label: str) -> None:
        """Record every string in `structure` (a personal value made of parts, e.g. an address)."""
        if isinstance(structure, Mapping):
            for key, value in structure.items():
                if key == "country":
                    continue
                self.collect_all(value, str(key))
        elif isinstance(structure, (list, tuple)):
            for item in structure:
                self.collect_all(item, label)
        else:
            self.add(structure, label)

    def _regex(self) -> Optional[re.Pattern[str]]:
        if self._pattern is None and self.mapping:
            alternatives = sorted(self.mapping, key=len, reverse=True)  # the longest first: "Jeanne Dupont"
            self._pattern = re.compile(r"(?<![\w])(?:" + "|".join(re.escape(v) for v in alternatives) + r")(?![\w])")
        return self._pattern

    def text(self, value: str) -> str:
        """`value` with every personal value it contains (as a whole word) replaced by its pseudonym."""
        pattern = self._regex()
        if pattern is None or not value:
            return value
        return pattern.sub(lambda m: self.mapping[m.group(0)], value)

    def scrub(self, structure: Any) -> Any:
        """A copy of `structure` (JSON-like) with every personal value replaced, in any string."""
        if isinstance(structure, str):
            return self.text(structure)
        if isinstance(structure, Mapping):
            return {key: self.scrub(value) for key, value in structure.items()}
        if isinstance(structure, list):
            return [self.scrub(item) for item in structure]
        if isinstance(structure, tuple):
            return tuple(self.scrub(item) for item in structure)
        return structure

    def of(self, value: Optional[str], label: str) -> Optional[str]:
        """The pseudonym of a field's value (recorded if new); None stays None."""
        if value is None:
            return None
        return self.add(value, label) or (value if is_pseudonym(value) else pseudonym(self.customer_id, label))


# ---- logs (R04, R07): masking ----------------------------------------------------------------------

EMAIL_RE = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_email(value: str) -> str:
    """Emails in `value` masked to their first character and domain: jeanne@dupont.fr -> j***@dupont.fr."""
    return EMAIL_RE.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value)


def luhn_valid(digits: str) -> bool:
    """The Luhn key of a card number (digits only)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


CARD_RE = re.compile(r"(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])")


def mask_card_numbers(value: str) -> str:
    """13 to 19 digit card numbers (spaces or dashes allowed, Luhn-valid) masked but their last 4."""
    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group(0))
        if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
            return match.group(0)
        return "*" * (len(digits) - 4) + digits[-4:]
    return CARD_RE.sub(mask, value)
