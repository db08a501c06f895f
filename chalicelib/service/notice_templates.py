"""Notice templates (R54): versioned Jinja2 files in French, and the filters they use.

A template is `chalicelib/templates/<name>.v<version>.txt.j2`. Its first line is the subject,
then one empty line, then the plain-text body. A published version is never edited: a change is a
new file with the next version, and CURRENT_VERSIONS moves to it. A notice records the version it
was created with and is rendered with that version, so a notice queued before a change reads as
it did when it was decided (and old versions stay as long as notices may name them).

Money is integer cents (`euros` filter); instants are zone-aware ISO 8601 and shown in Paris time.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, NamedTuple

from ..domain.calendar import PARIS, require_aware

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

# The version new notices are created with.
CURRENT_VERSIONS: dict[str, int] = {
    "expiry_notice": 1,          # R17
    "contract_restricted": 1,    # R23
    "contract_suspended": 1,     # R19, R23
    "contract_terminated": 1,    # R26
    "deletion_warning": 1,       # R20
    "data_deleted": 1,           # R20
    "invoice_issued": 1,         # R22
    "payment_received": 1,       # R23, R27
    "withdrawal_confirmed": 2,   # R13 (v2: nothing paid, nothing refunded; the credit note)
    "order_cancelled": 2,        # R15; v2: also R37/R38, cancelled on request after the domain failed
    "space_ready": 1,            # R28: the site address and FTP access, once the node made the space
    "order_irregular": 1,        # R11
    "verification_requested": 1,  # R03: documents requested, with their deadline
    "verification_suspended": 1,  # R03: deadline missed, service suspended until a document is accepted
    "credentials_issued": 1,     # R04, R06: login and password (made at delivery, stored masked)
    "plan_change": 1,            # R55: a change removing an essential function; the objection deadline
    # --- abuse templates (issue 5) ---
    "abuse_complaint": 1,        # R48: a complaint about the service; what, never who; the answer deadline
    "abuse_measure": 1,          # R49 (17.4): a measure applied (warning, mail blocked, limit, suspension)
    "abuse_lifted": 1,           # R49: the abuse measure is lifted (another hold may remain)
    # --- tickets templates (issue 5) ---
    "ticket_received": 1,        # R43: the ticket acknowledged with its take-into-account deadline
    "ticket_reply": 1,           # R43: an operator's answer on the ticket
    "ticket_resolved": 1,        # R45: the resolution; says so when the cause lies outside the provider
    # --- availability templates (issue 5) ---
    "force_majeure_terminated": 1,  # R50: terminated after more than 30 days of force majeure
    # --- disputes templates (issue 5) ---
    "dispute_claim_decision": 1,      # R46/R47: a claim granted (capped or not), rejected, or time-barred
    "dispute_settlement_opened": 1,   # R51: a settlement case opened for a breach
    "dispute_settlement_outcome": 1,  # R51: the case settled or failed
    "dispute_formal_notice": 1,       # R52: mise en demeure, the last day to remedy
    "dispute_formal_notice_remedied": 1,  # R52: the breach was cured, no termination
    "dispute_breach_termination": 1,  # R52 + R20: terminated for gross breach, the deletion date
    "dispute_early_termination": 1,   # R53 + R20: the customer's early termination, the sums still owed
    # --- domain templates (issue 4) ---
    "domain_registered": 1,        # R37/R38: registered or transferred in; we manage it; the expiry date
    "domain_refused": 1,           # R37/R38: registration refused or transfer failed; dossier fees; cancel on request
    "domain_renewed": 1,           # R41: renewed by us (Afnic/Network Solutions); the new expiry date
    "domain_renewal_reminder": 2,  # R41; v2: also "solution_not_renewed" (we renew only for a running solution)
    "domain_transfer_out_requested": 1,  # R39: another registrar asks; the customer confirms before the deadline
    "domain_transfer_out_refused": 1,    # R39: transfer-out refused (retention right 10.11 when sums are owed)
    "domain_transferred_out": 1,   # R39/R42: the name left us; our management ended, hosting goes on
    "domain_decision": 1,          # R42: a decision or the holder's request cancels or transfers the name
    "domain_dossier_incomplete": 1,  # R37: registration waits for the complete dossier; what is missing
}

# Documents (not notices: no subject, no mail) rendered from the same directory, same filters,
# same versioning rule; the version is printed on the document.
DOCUMENT_VERSIONS: dict[str, int] = {
    "pre_contract_information": 1,  # R13 (1.14): linked from the order
    "invoice": 1,                   # R22: the printable HTML invoice of the customer area (.html.j2)
}

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
NBSP, NNBSP = "\u00a0", "\u202f"  # French typography: no-break space before €, %; narrow one between thousands


class UnknownTemplateError(LookupError):
    def __init__(self, name: str, version: int) -> None:
        super().__init__(f"no notice template {name!r} version {version} ({template_path(name, version).name})")
        self.name, self.version = name, version


class Rendered(NamedTuple):
    subject: str
    body: str


def template_path(name: str, version: int) -> Path:
    return TEMPLATES_DIR / template_file(name, version)


def template_file(name: str, version: int) -> str:
    return f"{name}.v{int(version)}.txt.j2"


def current_version(name: str) -> int:
    try:
        return CURRENT_VERSIONS[name]
    except KeyError:
        raise UnknownTemplateError(name, 0) from None


# ---- filters ---------------------------------------------------------------------------------
def _defined(value: Any) -> Any:
    """A filter given a missing context value fails naming it (StrictUndefined raises when used)."""
    import jinja2
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return value


def euros(cents: Any) -> str:
    """Integer cents as French euros: 8626 -> '86,26 €', 123456 -> '1 234,56 €', -500 -> '-5,00 €'
    (no-break space before €, narrow no-break space between thousands). Floats are refused."""
    cents = _defined(cents)
    if isinstance(cents, bool) or not isinstance(cents, (int, Decimal)) or cents != int(cents):
        raise TypeError(f"euros takes integer cents, not {cents!r}")
    cents = int(cents)
    sign, cents = ("-" if cents < 0 else ""), abs(cents)
    whole = f"{cents // 100:,}".replace(",", NNBSP)
    return f"{sign}{whole},{cents % 100:02d}{NBSP}€"


def _instant(value: Any) -> datetime:
    value = _defined(value)
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError(f"expected an instant, got {value!r}")
    return require_aware(moment).astimezone(PARIS)


def _day(value: Any) -> date:
    value = _defined(value)
    if isinstance(value, str) and len(value) == 10:
        return date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return _instant(value).date()


def date_fr(value: Any) -> str:
    """A calendar day, or the Paris day of an instant: '1er décembre 2026', '27 novembre 2026'."""
    day = _day(value)
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def datetime_fr(value: Any) -> str:
    """An instant in Paris time: '27 novembre 2026 à 11 h 00'."""
    moment = _instant(value)
    return f"{date_fr(moment.date())} à {moment.hour} h {moment.minute:02d}"


def percent(value: Any) -> str:
    """A rate already in percent ('19.95', 20) -> '19,95 %'; trailing zeros dropped ('20.00' -> '20 %')."""
    number = Decimal(str(_defined(value)))
    text = f"{number.normalize():f}" if number == number.to_integral() else f"{number:f}".rstrip("0")
    return f"{text.replace('.', ',')}{NBSP}%"


def _fail(message: str) -> None:
    raise ValueError(message)


@lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2  # imported where used: only notice paths pay for it
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=False,  # plain-text mail: nothing is interpreted as HTML  # nosec B701
        undefined=jinja2.StrictUndefined,  # a missing context value is an error, never an empty string
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(euros=euros, date_fr=date_fr, datetime_fr=datetime_fr, percent=percent)
    env.globals["fail"] = _fail
    return env


def render(name: str, version: int, context: Mapping[str, Any]) -> Rendered:
    """Subject and body of `name` at `version`. Raises UnknownTemplateError, or the template's
    error (jinja2.UndefinedError for a missing value, ValueError/TypeError for a bad one)."""
    import jinja2
    try:
        template = environment().get_template(template_file(name, version))
    except jinja2.TemplateNotFound:
        raise UnknownTemplateError(name, version) from None
    text = template.render(**dict(context))
    subject, _, body = text.partition("\n")
    subject = " ".join(subject.split())
    if not subject:
        raise ValueError(f"{template_file(name, version)}: the first line (the subject) is empty")
    return Rendered(subject, body.strip("\n") + "\n")


def render_document(name: str, context: Mapping[str, Any], version: int | None = None) -> str:
    """The plain-text French rendering of a document of DOCUMENT_VERSIONS (current version unless given)."""
    import jinja2
    version = DOCUMENT_VERSIONS[name] if version is None else version
    try:
        template = environment().get_template(template_file(name, version))
    except jinja2.TemplateNotFound:
        raise UnknownTemplateError(name, version) from None
    return template.render(**dict(context)).strip("\n") + "\n"


def json_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context as stored on the notice (JSON): instants as ISO 8601 with their offset (they
    must be zone-aware), days as ISO dates, Decimals as strings. Floats are refused (money is cents)."""
    def encode(value: Any) -> Any:
        if isinstance(value, datetime):
            return require_aware(value).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError(f"a notice context holds JSON values, dates and Decimals, not {type(value).__name__}")

    def no_floats(value: Any) -> Any:
        raise TypeError(f"a notice context holds no floats (money is integer cents): {value}")

    return json.loads(json.dumps(dict(context), default=encode), parse_float=no_floats)
