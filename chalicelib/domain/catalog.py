"""The catalog (R21): plans and options are data, loaded from a JSON document."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Option:
    id: str
    name: str
    yearly_price_cents: int
    storage_mb: int = 0
    mailboxes: int = 0
    mysql_databases: int = 0


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    yearly_price_cents: int
    storage_mb: int
    mailboxes: int
    mysql_databases: int
    php: bool
    cgi_perl: bool
    options: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    terms_version: str
    currency: str
    plans: Mapping[str, Plan]
    options: Mapping[str, Option]
    # R13/R15: what registering a domain costs us at its registry, in cents excl. VAT, part of the
    # plan's price; once the registry accepted the name (`DomainModel.fees_spent_at`) it is spent
    # and kept on a withdrawal. Keyed by registry (domains.py), with a "default".
    domain_fees_cents: Mapping[str, int] = field(default_factory=dict)

    def domain_fees_for(self, registry: str) -> int:
        """R13: the registration fees (cents excl. VAT) of a registry, else the default (0 if none)."""
        return int(self.domain_fees_cents.get(registry, self.domain_fees_cents.get("default", 0)))

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "Catalog":
        plans = {p["id"]: Plan(**{**p, "options": tuple(p.get("options", ()))}) for p in doc["plans"]}
        options = {o["id"]: Option(**o) for o in doc["options"]}
        for plan in plans.values():
            unknown = set(plan.options) - set(options)
            if unknown:
                raise ValueError(f"plan {plan.id} lists unknown options {sorted(unknown)}")
        fees = {registry: int(cents) for registry, cents in doc.get("domain_fees_cents", {}).items()}
        if any(cents < 0 for cents in fees.values()):
            raise ValueError("domain fees cannot be negative")
        return cls(doc["terms_version"], doc["currency"], plans, options, fees)

    def to_document(self) -> dict[str, Any]:
        return {
            "terms_version": self.terms_version,
            "currency": self.currency,
            "plans": [
                {"id": p.id, "name": p.name, "yearly_price_cents": p.yearly_price_cents,
                 "storage_mb": p.storage_mb, "mailboxes": p.mailboxes,
                 "mysql_databases": p.mysql_databases, "php": p.php, "cgi_perl": p.cgi_perl,
                 "options": list(p.options)}
                for p in self.plans.values()
            ],
            "options": [
                {"id": o.id, "name": o.name, "yearly_price_cents": o.yearly_price_cents,
                 "adds": {"storage_mb": o.storage_mb, "mailboxes": o.mailboxes,
                          "mysql_databases": o.mysql_databases}}
                for o in self.options.values()
            ],
            "domain_fees_cents": dict(self.domain_fees_cents),
        }
