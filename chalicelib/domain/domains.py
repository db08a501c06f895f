"""Domain names: validation (IDNA, labels, length) and registry routing (R36)."""
from __future__ import annotations

import re

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
