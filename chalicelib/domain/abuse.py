"""Abuse complaints and graduated measures (R48, R49; terms 1.20, 11.3, 16, 17). Pure.

- What a complaint names (its target): a domain, an http(s) URL or a mailbox, validated (IDNA,
  labels, length) and reduced to the domain the back office can match against its contracts.
- The abuse case's transition table: open -> customer_notified -> answered | deadline_passed ->
  measure_applied -> closed, plus dismissed (no abuse). Any other move raises
  IllegalTransitionError (409).
- The sanction matrix of R49: category x severity x recurrence -> measure, read from a JSON
  document (chalicelib/data/sanctions.json) and validated when loaded: every combination present,
  a first minor breach gets a warning, a recurrence never gets less than a first breach, and a
  manifestly illegal activity is suspended at once without notice (those three are the terms,
  not configuration).
- The answer deadline (R48: the end, Paris time, of the day `days` after the customer was told)
  and the recurrence window (R49).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import urlsplit

from .calendar import PARIS, paris_date, require_aware
from .errors import IllegalTransitionError, InvalidInputError

# ---- vocabulary ---------------------------------------------------------------------------------

CATEGORIES = ("spam", "illegal_content", "copyright", "defamation", "phishing_malware", "other")
SEVERITIES = ("minor", "serious", "manifestly_illegal")
RECURRENCES = ("first", "repeat")
MEASURES = ("warning", "restrict_mail", "limit", "suspend")
# Who filed a report: anyone through the public intake (R48), or an operator entering a court or
# authority order, a third party's written claim (1.20) or what the provider found itself (11.3).
PUBLIC_SOURCE = "public"
OPERATOR_SOURCES = ("court_order", "authority_order", "third_party_claim", "provider_detection")
SOURCES = (PUBLIC_SOURCE,) + OPERATOR_SOURCES
TARGET_KINDS = ("domain", "url", "mailbox")

# R49: what each measure does to the contract: the level of its `abuse` hold (None: a warning
# changes nothing but is notified and counts for recurrence). `restrict_mail` also blocks the
# space's outgoing mail on the node (11.3: spam).
MEASURE_LEVEL: dict[str, Optional[str]] = {"warning": None, "restrict_mail": "restricted", "limit": "restricted",
                                           "suspend": "suspended"}
MEASURE_RANK = {"warning": 0, "restrict_mail": 1, "limit": 1, "suspend": 2}
LEVEL_RANK = {None: 0, "restricted": 1, "suspended": 2}

CATEGORY_LABELS_FR = {
    "spam": "envoi de messages non sollicités (spam)", "illegal_content": "contenu illicite",
    "copyright": "atteinte au droit d'auteur (contrefaçon)", "defamation": "diffamation",
    "phishing_malware": "hameçonnage ou logiciel malveillant", "other": "autre manquement"}
MEASURE_LABELS_FR = {
    "warning": "avertissement", "restrict_mail": "restriction : envoi d'e-mails bloqué",
    "limit": "limitation : dépôt de fichiers bloqué (accès FTP en lecture seule)",
    "suspend": "suspension : le site affiche une page de suspension"}
TARGET_LABELS_FR = {"domain": "domaine", "url": "adresse web", "mailbox": "adresse e-mail"}

# Evidence files a reporter may attach (R48): the types and the extensions that go with them.
MAX_EVIDENCE_FILES = 5
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
EVIDENCE_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",), "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg"),
    "text/plain": (".txt",), "message/rfc822": (".eml",)}
DESCRIPTION_MIN, DESCRIPTION_MAX = 20, 5000
EXCERPT_CHARS = 300


# ---- targets --------------------------------------------------------------------------------------

_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IP_LIKE = re.compile(r"^[0-9.]+$|^\[.*\]$|:")
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_FILENAME = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,200}$")


def normalise_host(name: str) -> str:
    """A hostname (a domain or a host under it) in its ASCII form: IDNA 2008 with the UTS 46
    mapping, labels of letters, digits and hyphens (1-63 octets, no hyphen at either end), at most
    253 octets, at least two labels. Raises ValueError saying what to fix."""
    import idna
    candidate = (name or "").strip().rstrip(".")
    if not candidate:
        raise ValueError("name the domain")
    if _IP_LIKE.search(candidate):
        raise ValueError("name the site by its domain name, not by an IP address")
    try:
        ascii_name = idna.encode(candidate, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(f"not a valid domain name: {exc}") from None
    labels = ascii_name.split(".")
    if len(labels) < 2 or len(ascii_name) > 253 or not all(_LDH_LABEL.match(label) for label in labels):
        raise ValueError("not a valid domain name: use labels of letters, digits and hyphens (1-63 characters, "
                         "no hyphen at either end) and a top-level domain")
    return ascii_name


def normalise_url(url: str) -> tuple[str, str]:
    """An http(s) URL with a host named by its domain: (the URL as given, trimmed; its host in
    ASCII). Raises ValueError saying what to fix."""
    text = (url or "").strip()
    if not text or any(c.isspace() or ord(c) < 32 for c in text):
        raise ValueError("give the full address, e.g. https://www.example.fr/page (no spaces)")
    if len(text) > 2048:
        raise ValueError("the address is longer than 2048 characters")
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise ValueError("not a valid address: check the host and the port") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("only http:// and https:// addresses can be reported here")
    if not host:
        raise ValueError("the address has no host: give it as https://www.example.fr/page")
    return text, normalise_host(host)


def normalise_mailbox(mailbox: str) -> tuple[str, str]:
    """An e-mail address: (local@ascii-domain, ascii domain). Raises ValueError saying what to fix."""
    text = (mailbox or "").strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("give the e-mail address concerned, e.g. contact@example.fr")
    if not _LOCAL_PART.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise ValueError("the part before @ is not a valid mailbox name")
    ascii_domain = normalise_host(domain)
    return f"{local}@{ascii_domain}", ascii_domain


@dataclass(frozen=True)
class Target:
    """What a complaint is about. `domain` is the host to match (ASCII, lower case)."""
    kind: str
    value: str
    domain: str


def target_of(*, domain: Optional[str] = None, url: Optional[str] = None, mailbox: Optional[str] = None) -> Target:
    """R48: exactly one of a domain, an http(s) URL or a mailbox, validated (ValueError otherwise)."""
    given = {k: v for k, v in (("domain", domain), ("url", url), ("mailbox", mailbox)) if v is not None}
    if len(given) != 1:
        raise ValueError("name exactly one of: domain, url, mailbox")
    if domain is not None:
        host = normalise_host(domain)
        return Target("domain", host, host)
    if url is not None:
        value, host = normalise_url(url)
        return Target("url", value, host)
    value, host = normalise_mailbox(mailbox or "")
    return Target("mailbox", value, host)


def match_candidates(host: str) -> list[str]:
    """The names a host may be hosted under, longest first: www.shop.acme.fr -> [www.shop.acme.fr,
    shop.acme.fr, acme.fr] (a contract manages one domain, R34, and serves its sub-hosts)."""
    labels = host.lower().rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def excerpt(description: str, limit: int = EXCERPT_CHARS) -> str:
    """R48: what the customer is told of a complaint's text: its start, on one line."""
    text = " ".join((description or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def check_evidence_file(filename: str, content_type: str, size_bytes: int) -> None:
    """R48: an evidence file is a PDF, PNG, JPEG, text or e-mail (.eml) file of at most 10 MB whose
    name has the extension of its type and no path. ValueError says what to fix."""
    if not _FILENAME.match(filename or "") or filename in (".", ".."):
        raise ValueError("a file name of 1 to 200 characters, without / or \\")
    extensions = EVIDENCE_TYPES.get(content_type)
    if extensions is None:
        raise ValueError(f"accepted types: {', '.join(EVIDENCE_TYPES)}")
    if not filename.lower().endswith(extensions):
        raise ValueError(f"a {content_type} file name ends with {' or '.join(extensions)}")
    if isinstance(size_bytes, bool) or not isinstance(size_bytes, int) or not 0 < size_bytes <= MAX_EVIDENCE_BYTES:
        raise ValueError(f"a file of 1 byte to {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB")


def evidence_key(report_id: str, index: int, filename: str) -> str:
    """Where a report's evidence file is stored: `reports/<report_id>/<n>-<name>` (a name made
    safe for a key: letters, digits, dot, dash, underscore)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("._") or "file"
    return f"reports/{report_id}/{index}-{safe[:120]}"


# ---- the abuse case's lifecycle -------------------------------------------------------------------

class CaseStatus(str, Enum):
    OPEN = "open"                          # a report matched a contract in force
    CUSTOMER_NOTIFIED = "customer_notified"  # R48: told, with the answer deadline
    ANSWERED = "answered"                  # the customer answered before the deadline: an operator decides
    DEADLINE_PASSED = "deadline_passed"    # no answer by the deadline: the matrix's measure follows
    MEASURE_APPLIED = "measure_applied"    # R49: a measure was applied (and notified, 17.4)
    CLOSED = "closed"                      # resolved
    DISMISSED = "dismissed"                # no abuse found


class CaseEvent(str, Enum):
    NOTIFY = "notify"
    ANSWER = "answer"
    DEADLINE = "deadline"
    MEASURE = "measure"
    CLOSE = "close"
    DISMISS = "dismiss"
    JOIN = "join"              # another report about the same contract and category
    QUALIFY = "qualify"        # an operator sets the severity


C, V = CaseStatus, CaseEvent
BEFORE_MEASURE = (C.OPEN, C.CUSTOMER_NOTIFIED, C.ANSWERED, C.DEADLINE_PASSED)
FINAL = (C.CLOSED, C.DISMISSED)

CASE_TRANSITIONS: dict[tuple[CaseStatus, CaseEvent], CaseStatus] = {
    (C.OPEN, V.NOTIFY): C.CUSTOMER_NOTIFIED,
    (C.CUSTOMER_NOTIFIED, V.ANSWER): C.ANSWERED,
    (C.ANSWERED, V.ANSWER): C.ANSWERED,                  # a further message
    (C.MEASURE_APPLIED, V.ANSWER): C.MEASURE_APPLIED,    # the customer replies to the measure
    (C.CUSTOMER_NOTIFIED, V.DEADLINE): C.DEADLINE_PASSED,
    # R49: a measure, chosen by the matrix (at the deadline, or by an operator) or at once for a
    # manifestly illegal activity (from `open`: no notice before, 17.1); a further measure
    # escalates a case already measured.
    **{(status, V.MEASURE): C.MEASURE_APPLIED for status in BEFORE_MEASURE + (C.MEASURE_APPLIED,)},
    **{(status, V.CLOSE): C.CLOSED for status in BEFORE_MEASURE + (C.MEASURE_APPLIED,)},
    **{(status, V.DISMISS): C.DISMISSED for status in BEFORE_MEASURE},
    **{(status, V.JOIN): status for status in BEFORE_MEASURE},
    **{(status, V.QUALIFY): status for status in BEFORE_MEASURE + (C.MEASURE_APPLIED,)},
}


def next_case_status(current: CaseStatus | str, event: CaseEvent | str) -> CaseStatus:
    """The status after `event`, or IllegalTransitionError (409) when the table has no such move."""
    try:
        state, move = CaseStatus(current), CaseEvent(event)
    except ValueError:
        raise IllegalTransitionError("abuse case", str(current), str(event)) from None
    try:
        return CASE_TRANSITIONS[(state, move)]
    except KeyError:
        raise IllegalTransitionError("abuse case", state.value, move.value) from None


def statuses_accepting(event: CaseEvent) -> tuple[str, ...]:
    """Every status from which `event` is a legal move (a write condition)."""
    return tuple(state.value for (state, move) in CASE_TRANSITIONS if move == event)


JOINABLE = statuses_accepting(CaseEvent.JOIN)  # a new report joins a case not yet measured


# ---- the sanction matrix (R49) --------------------------------------------------------------------

@dataclass(frozen=True)
class Sanction:
    measure: str
    immediate: bool = False  # R49: at once, without notice before (the measure is notified after, 17.4)

    @property
    def level(self) -> Optional[str]:
        return MEASURE_LEVEL[self.measure]


@dataclass(frozen=True)
class SanctionMatrix:
    entries: Mapping[tuple[str, str, str], Sanction]
    default_severity: Mapping[str, str]

    def decide(self, category: str, severity: str, recurrence: str) -> Sanction:
        """R49: the measure for a breach of `category` at `severity`, first or repeated."""
        try:
            return self.entries[(category, severity, recurrence)]
        except KeyError:
            raise InvalidInputError(f"no measure for ({category}, {severity}, {recurrence})",
                                    code="unknown_combination") from None

    def severity_for(self, category: str) -> str:
        """The severity a new case starts with until an operator qualifies it."""
        return self.default_severity[category]


class SanctionMatrixError(ValueError):
    """The sanction matrix document is incomplete or breaks a rule of the terms."""


def load_matrix(document: Mapping[str, Any]) -> SanctionMatrix:
    """Read and validate the matrix document (see chalicelib/data/sanctions.json): every category
    x severity x recurrence has a measure, and the rules of the terms hold (R49): a first minor
    breach gets a warning; a manifestly illegal activity is suspended at once (`immediate`), and
    nothing else is immediate (the customer is notified and may answer first, R48); a recurrence
    never gets a lighter measure than the first breach; no category starts as manifestly illegal
    (an operator qualifies it, so a report alone never suspends a site). Raises SanctionMatrixError
    naming every problem."""
    problems: list[str] = []
    if not isinstance(document, Mapping):
        raise SanctionMatrixError("the sanction matrix is a JSON object")
    matrix = document.get("matrix")
    defaults = document.get("default_severity")
    if not isinstance(matrix, Mapping):
        raise SanctionMatrixError("the sanction matrix needs a `matrix` object: category -> severity -> recurrence")
    if not isinstance(defaults, Mapping):
        raise SanctionMatrixError("the sanction matrix needs a `default_severity` object: category -> severity")
    unknown = sorted(set(matrix) - set(CATEGORIES)) + sorted(set(defaults) - set(CATEGORIES))
    problems += [f"unknown category {name!r}" for name in unknown]
    entries: dict[tuple[str, str, str], Sanction] = {}
    for category in CATEGORIES:
        if defaults.get(category) not in SEVERITIES:
            problems.append(f"default_severity.{category}: one of {', '.join(SEVERITIES)}")
        elif defaults[category] == "manifestly_illegal":
            problems.append(f"default_severity.{category}: R49: only an operator qualifies an activity as manifestly "
                            "illegal (a report alone never suspends a site at once)")
        by_severity = matrix.get(category)
        if not isinstance(by_severity, Mapping):
            problems.append(f"matrix.{category}: missing")
            continue
        problems += [f"matrix.{category}: unknown severity {name!r}" for name in set(by_severity) - set(SEVERITIES)]
        for severity in SEVERITIES:
            by_recurrence = by_severity.get(severity)
            if not isinstance(by_recurrence, Mapping):
                problems.append(f"matrix.{category}.{severity}: missing")
                continue
            problems += [f"matrix.{category}.{severity}: unknown recurrence {name!r}"
                         for name in set(by_recurrence) - set(RECURRENCES)]
            for recurrence in RECURRENCES:
                where = f"matrix.{category}.{severity}.{recurrence}"
                entry = by_recurrence.get(recurrence)
                if not isinstance(entry, Mapping):
                    problems.append(f"{where}: missing")
                    continue
                extra = set(entry) - {"measure", "immediate"}
                if extra:
                    problems.append(f"{where}: unknown keys {sorted(extra)}")
                measure, immediate = entry.get("measure"), entry.get("immediate", False)
                if measure not in MEASURES or not isinstance(immediate, bool):
                    problems.append(f"{where}: a measure among {', '.join(MEASURES)} and an optional "
                                    "boolean `immediate`")
                    continue
                if severity == "manifestly_illegal" and (measure != "suspend" or not immediate):
                    problems.append(f"{where}: R49: a manifestly illegal activity is suspended at once "
                                    '({"measure": "suspend", "immediate": true})')
                if severity != "manifestly_illegal" and immediate:
                    problems.append(f"{where}: R48/R49: only a manifestly illegal activity is sanctioned without "
                                    "notice; the customer is told and may answer first")
                if (severity, recurrence) == ("minor", "first") and measure != "warning":
                    problems.append(f"{where}: R49: a first minor breach gets a warning")
                entries[(category, severity, recurrence)] = Sanction(measure, immediate)
            first, repeat = entries.get((category, severity, "first")), entries.get((category, severity, "repeat"))
            if first and repeat and MEASURE_RANK[repeat.measure] < MEASURE_RANK[first.measure]:
                problems.append(f"matrix.{category}.{severity}: R49: a recurrence escalates; "
                                f"{repeat.measure} is lighter than {first.measure}")
    if problems:
        raise SanctionMatrixError("invalid sanction matrix: " + "; ".join(problems))
    return SanctionMatrix(entries=entries, default_severity={c: defaults[c] for c in CATEGORIES})


def recurrence(previous_measures: Iterable[datetime], now: datetime, window_days: int) -> str:
    """R49: `repeat` when another case of the customer had a measure applied within the window
    (the `window_days` before `now`, both ends included), else `first`."""
    if window_days < 1:
        raise ValueError("the recurrence window is at least one day")
    since = require_aware(now) - timedelta(days=window_days)
    return "repeat" if any(since <= require_aware(at) <= now for at in previous_measures) else "first"


def stronger_level(current: Optional[str], wanted: Optional[str]) -> Optional[str]:
    """The abuse hold after a measure: a measure never lowers the hold already in place."""
    return wanted if LEVEL_RANK[wanted] > LEVEL_RANK[current] else current


def answer_deadline(notified_at: datetime, days: int) -> tuple[date, datetime]:
    """R48: the customer answers by the end (Paris) of the day `days` after being told. Returns
    that day and the instant it ends (00:00 Paris the next day), when the measure may follow."""
    if days < 1:
        raise ValueError("the answer deadline is at least one day")
    day = paris_date(notified_at) + timedelta(days=days)
    return day, datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS)
