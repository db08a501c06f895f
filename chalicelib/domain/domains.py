"""Domain names: validation (IDNA, labels, length) and registry routing (R36); the availability
wording (R35), transfer windows (R38), the retention right (R39), the renewal duty (R41), the
dossier (R37) and the domain's own lifecycle (R37-R42)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Optional, Sequence

import idna

from .errors import InvalidInputError, RuleViolationError

AFNIC, EURID, NETWORK_SOLUTIONS, SUBCONTRACTOR = "afnic", "eurid", "network_solutions", "subcontractor"

# R36: the registry follows the TLD. '.fr and its derivatives' are the
# second-level zones under .fr (e.g. asso.fr), routed like .fr by suffix.
REGISTRY_BY_TLD = {
    "fr": AFNIC, "re": AFNIC,
    "eu": EURID,
    "com": NETWORK_SOLUTIONS, "net": NETWORK_SOLUTIONS, "org": NETWORK_SOLUTIONS,
    "biz": NETWORK_SOLUTIONS, "info": NETWORK_SOLUTIONS,
    "uk": SUBCONTRACTOR, "es": SUBCONTRACTOR, "de": SUBCONTRACTOR,
}

_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise_domain(name: str) -> str:
    """R36: validate a domain name and return its ASCII (A-label) form.

    Unicode names are converted with IDNA 2008 (UTS 46 mapping); every label
    must be letters, digits and hyphens, 1-63 octets, not starting or ending
    with a hyphen; the whole name at most 253 octets with at least two labels.
    """
    candidate = (name or "").strip().rstrip(".")
    if not candidate:
        raise InvalidInputError("domain name is empty", code="invalid_domain_name",
                                fields={"domain.name": "required"})
    try:
        ascii_name = idna.encode(candidate, uts46=True).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise InvalidInputError(f"'{name}' is not a valid domain name: {exc}", code="invalid_domain_name",
                                fields={"domain.name": "not a valid IDNA domain name"}) from None
    labels = ascii_name.split(".")
    if len(labels) < 2 or len(ascii_name) > 253 or not all(_LDH_LABEL.match(label) for label in labels):
        raise InvalidInputError(
            f"'{name}' is not a valid domain name: use labels of letters, digits and hyphens "
            "(1-63 characters, no hyphen at either end) and a TLD", code="invalid_domain_name",
            fields={"domain.name": "invalid labels or length"})
    return ascii_name


def registry_for(ascii_name: str) -> str:
    """R36: the registry that handles this (already normalised) domain's TLD."""
    tld = ascii_name.rsplit(".", 1)[-1]
    registry = REGISTRY_BY_TLD.get(tld)
    if registry is None:
        supported = ", ".join("." + t for t in sorted(REGISTRY_BY_TLD))
        raise RuleViolationError(f"the TLD .{tld} is not offered; supported TLDs: {supported}",
                                 code="unsupported_tld", fields={"domain.name": f".{tld} not offered"})
    return registry


# ---- R35: availability ----------------------------------------------------------------------------
AVAILABILITY_DISCLAIMER = (
    "This answer reflects the registry's database at the time of the lookup. It is no guarantee that "
    "the name will still be available when it is registered (D10.1): the registry alone decides.")
AVAILABILITY_DISCLAIMER_FR = (
    "Cette recherche ne constitue pas un gage de disponibilité du nom : les bases des registres évoluent "
    "entre la recherche et l'enregistrement, que seul le registre valide (article 10.1).")


# ---- R38: transfer-in windows ---------------------------------------------------------------------
TRANSFER_MIN_DAYS_BEFORE_EXPIRY = 45
TRANSFER_MIN_DAYS_AFTER_CREATION = 60


def check_transfer_window(created_on: date, expires_on: date, today: date) -> None:
    """R38: a transfer-in is accepted only when requested at least 45 days before the domain's
    expiry and at least 60 days after its creation (dates as the registry's `info` gives them,
    compared on Paris calendar days). Raises RuleViolationError `transfer_window_closed` naming
    which limit fails and the dates."""
    days_left = (expires_on - today).days
    days_since = (today - created_on).days
    if days_since < TRANSFER_MIN_DAYS_AFTER_CREATION:
        opens = created_on + timedelta(days=TRANSFER_MIN_DAYS_AFTER_CREATION)
        raise RuleViolationError(
            f"the domain was created on {created_on.isoformat()}: a transfer can be requested from "
            f"{opens.isoformat()} (60 days after creation)", code="transfer_window_closed",
            fields={"domain.name": f"created {days_since} days ago; 60 needed", "opens_on": opens.isoformat()})
    if days_left < TRANSFER_MIN_DAYS_BEFORE_EXPIRY:
        raise RuleViolationError(
            f"the domain expires on {expires_on.isoformat()}: a transfer must be requested at least 45 days "
            "before the expiry; renew it at its current registrar first", code="transfer_window_closed",
            fields={"domain.name": f"expires in {days_left} days; 45 needed"})


# ---- R39: transfer-out and the retention right ----------------------------------------------------
@dataclass(frozen=True)
class SumOwed:
    """An invoice issued and not paid, whether its due date passed or not (D10.11: sums 'échues
    ou à échoir')."""
    number: str
    total_cents: int
    due_date: date


def check_transfer_out(contract_status: str, ends_on: date, today: date, owed: Sequence[SumOwed]) -> None:
    """R39: a customer may move the domain to another provider before the contract's end; the
    provider refuses while the customer owes any sum (retention right, D10.11), saying what is owed."""
    if contract_status not in CONTRACT_STATES_IN_FORCE or today >= ends_on:
        raise RuleViolationError("a transfer-out is asked before the contract's end; this contract is "
                                 f"{contract_status} (ends on {ends_on.isoformat()})",
                                 code="contract_not_in_force", fields={"contract": contract_status})
    if owed:
        total = sum(s.total_cents for s in owed)
        listed = ", ".join(f"{s.number} ({s.total_cents} cents, due {s.due_date.isoformat()})" for s in owed)
        raise RuleViolationError(
            f"retention right (D10.11): the transfer is refused while {total} cents are owed: {listed}; "
            "pay them and ask again", code="retention_right",
            fields={"owed_cents": str(total), "invoices": ", ".join(s.number for s in owed)})


CONTRACT_STATES_IN_FORCE = frozenset({"provisioning", "active", "restricted", "suspended", "provisioning_failed"})


# ---- R41: renewal duty ----------------------------------------------------------------------------
PROVIDER_RENEWED = frozenset({AFNIC, NETWORK_SOLUTIONS})


def renewed_by_provider(registry: str) -> bool:
    """R41: the provider renews the domain itself only when its registrar is Afnic or Network
    Solutions; any other registrar's domain is the customer's to renew."""
    return registry in PROVIDER_RENEWED


def renewal_action(registry: str, *, up_to_date: bool, managed: bool, days_left: int, lead_days: int,
                   solution_covers: bool = True) -> str:
    """R41 (and R40): what to do `days_left` days before a domain's expiry: "renew" (ours to renew,
    the customer is up to date, the solution runs past the expiry, inside the lead time),
    "remind_payment" (ours to renew but a sum is overdue), "remind_solution" (ours, but the solution
    is not renewed past the expiry: D10.8 manages the name for the contract's duration), "remind"
    (the customer renews it), "wait" (ours, not yet inside the lead time) or "none" (management
    stopped, R19)."""
    if not managed:
        return "none"
    if not renewed_by_provider(registry):
        return "remind"
    if not up_to_date:
        return "remind_payment"
    if days_left > lead_days:
        return "wait"
    return "renew" if solution_covers else "remind_solution"


# ---- R37: the dossier ------------------------------------------------------------------------------
def dossier_missing(registry: str, *, kind: str, siren: Optional[str], email: Optional[str],
                    phone: Optional[str], address: Optional[dict]) -> list[str]:
    """R37 (D10.4): what the registration dossier still lacks (empty: complete). Every registry
    needs the holder's contact data; Afnic needs a company's SIREN."""
    missing = [name for name, value in (("email", email), ("phone", phone)) if not value]
    if not address or not all(address.get(k) for k in ("line1", "city", "postcode", "country")):
        missing.append("address")
    if registry == AFNIC and kind == "professional" and not siren:
        missing.append("siren")
    return missing


# ---- the domain's own lifecycle (R37-R42) ---------------------------------------------------------
class DomainStatus(str, Enum):
    ORDERED = "ordered"                          # claimed by an order (R34), nothing asked yet
    REGISTRATION_PENDING = "registration_pending"  # R37: create sent, the registry answers by poll
    TRANSFER_PENDING = "transfer_pending"        # R38: transfer requested, the losing side decides
    ACTIVE = "active"                            # registered or transferred in: we manage it (R40)
    REGISTRATION_REFUSED = "registration_refused"  # R37: refused; dossier fees due
    TRANSFER_FAILED = "transfer_failed"          # R38: rejected or timed out; dossier fees due
    TRANSFERRED_OUT = "transferred_out"          # R39/R42: now at another registrar
    CANCELLED = "cancelled"                      # R42: deleted at the registry by a decision
    UNMANAGED = "unmanaged"                      # R40/R19: management stopped (not renewed, unpaid)


class DomainEvent(str, Enum):
    REGISTRATION_SENT = "registration_sent"
    TRANSFER_SENT = "transfer_sent"
    REGISTERED = "registered"
    REFUSED = "refused"
    TRANSFERRED_IN = "transferred_in"
    TRANSFER_REJECTED = "transfer_rejected"
    TRANSFERRED_OUT = "transferred_out"
    DELETED = "deleted"
    MANAGEMENT_STOPPED = "management_stopped"
    MANAGEMENT_RESUMED = "management_resumed"
    RETRIED = "retried"


_S, _E = DomainStatus, DomainEvent
DOMAIN_TRANSITIONS: dict[tuple[DomainStatus, DomainEvent], DomainStatus] = {
    (_S.ORDERED, _E.REGISTRATION_SENT): _S.REGISTRATION_PENDING,
    (_S.ORDERED, _E.TRANSFER_SENT): _S.TRANSFER_PENDING,
    (_S.ORDERED, _E.REGISTERED): _S.ACTIVE,          # a registry that answers at once (1000)
    (_S.ORDERED, _E.REFUSED): _S.REGISTRATION_REFUSED,
    (_S.ORDERED, _E.TRANSFER_REJECTED): _S.TRANSFER_FAILED,
    (_S.REGISTRATION_PENDING, _E.REGISTERED): _S.ACTIVE,
    (_S.REGISTRATION_PENDING, _E.REFUSED): _S.REGISTRATION_REFUSED,
    (_S.TRANSFER_PENDING, _E.TRANSFERRED_IN): _S.ACTIVE,
    (_S.TRANSFER_PENDING, _E.TRANSFER_REJECTED): _S.TRANSFER_FAILED,
    (_S.REGISTRATION_REFUSED, _E.RETRIED): _S.ORDERED,
    (_S.TRANSFER_FAILED, _E.RETRIED): _S.ORDERED,
    (_S.ACTIVE, _E.TRANSFERRED_OUT): _S.TRANSFERRED_OUT,
    (_S.ACTIVE, _E.DELETED): _S.CANCELLED,
    (_S.ACTIVE, _E.MANAGEMENT_STOPPED): _S.UNMANAGED,
    (_S.UNMANAGED, _E.MANAGEMENT_RESUMED): _S.ACTIVE,
    (_S.UNMANAGED, _E.TRANSFERRED_OUT): _S.TRANSFERRED_OUT,
    (_S.UNMANAGED, _E.DELETED): _S.CANCELLED,
}


class DomainTransitionError(RuleViolationError):
    def __init__(self, current: str, event: str) -> None:
        super().__init__(f"a domain that is {current} cannot take '{event}'", code="domain_state_conflict",
                         fields={"domain.status": current})
        self.current, self.event = current, event


def next_domain_status(current: Optional[str], event: DomainEvent | str) -> DomainStatus:
    """The domain's next status (a row without one is `ordered`); a move not in the table raises
    DomainTransitionError naming the current status and the event."""
    state = DomainStatus(current or DomainStatus.ORDERED.value)
    target = DOMAIN_TRANSITIONS.get((state, DomainEvent(event)))
    if target is None:
        raise DomainTransitionError(state.value, DomainEvent(event).value)
    return target


def domain_statuses_accepting(event: DomainEvent | str) -> list[str]:
    """The statuses from which `event` is a move (for write conditions)."""
    return sorted({s.value for (s, e) in DOMAIN_TRANSITIONS if e == DomainEvent(event)})


# ---- R38: transfer answers ------------------------------------------------------------------------
TRANSFER_APPROVED = frozenset({"clientApproved", "serverApproved"})
TRANSFER_FAILED_STATUSES = frozenset({"clientRejected", "clientCancelled", "serverCancelled"})


# ---- R42: decisions --------------------------------------------------------------------------------
DECISION_KINDS = ("court", "administrative", "dispute_resolution", "holder_request")
DECISION_ACTIONS = ("cancel", "transfer")


def retry_delay_seconds(attempt: int, base_seconds: int = 60, cap_seconds: int = 3600) -> int:
    """Backoff of a registry call after a transport error: base x 2^(attempt-1), capped."""
    return min(cap_seconds, base_seconds * (2 ** max(0, attempt - 1)))
