"""Abuse complaints and graduated measures (R48, R49): the sanction matrix (every combination),
the case's transition table, the targets a complaint may name, the answer deadline and the
recurrence window at their edges, and the node's outgoing-mail block (R49, 11.3)."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from itertools import product
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.abuse import (CASE_TRANSITIONS, CATEGORIES, MEASURES, RECURRENCES, SEVERITIES, CaseEvent,
                                     CaseStatus, SanctionMatrixError, answer_deadline, check_evidence_file,
                                     evidence_key, excerpt, load_matrix, match_candidates, next_case_status,
                                     normalise_host, recurrence, stronger_level, target_of)
from chalicelib.domain.calendar import PARIS
from chalicelib.domain.errors import IllegalTransitionError

SANCTIONS = Path(__file__).resolve().parents[2] / "chalicelib" / "data" / "sanctions.json"
DOCUMENT = json.loads(SANCTIONS.read_text(encoding="utf-8"))
MATRIX = load_matrix(DOCUMENT)

# ---- R49: the sanction matrix, every combination ------------------------------------------------------

# The measure expected for each (category, severity) at a first breach; any repeat is a suspension and
# a manifestly illegal activity is suspended at once (immediate), first or repeat.
FIRST = {
    ("spam", "minor"): "warning", ("spam", "serious"): "restrict_mail",
    ("illegal_content", "minor"): "warning", ("illegal_content", "serious"): "limit",
    ("copyright", "minor"): "warning", ("copyright", "serious"): "limit",
    ("defamation", "minor"): "warning", ("defamation", "serious"): "limit",
    ("phishing_malware", "minor"): "warning", ("phishing_malware", "serious"): "suspend",
    ("other", "minor"): "warning", ("other", "serious"): "limit",
}


def expected(category: str, severity: str, recurrence_: str) -> tuple[str, bool]:
    if severity == "manifestly_illegal":
        return "suspend", True
    if recurrence_ == "repeat":
        return "suspend", False
    return FIRST[(category, severity)], False


@pytest.mark.parametrize("category, severity, recurrence_", list(product(CATEGORIES, SEVERITIES, RECURRENCES)))
def test_R49_every_category_severity_and_recurrence_has_its_measure(category, severity, recurrence_):
    sanction = MATRIX.decide(category, severity, recurrence_)
    assert (sanction.measure, sanction.immediate) == expected(category, severity, recurrence_)
    assert sanction.level == {"warning": None, "restrict_mail": "restricted", "limit": "restricted",
                              "suspend": "suspended"}[sanction.measure]


def test_R49_the_matrix_has_exactly_the_36_combinations():
    assert len(MATRIX.entries) == len(CATEGORIES) * len(SEVERITIES) * len(RECURRENCES) == 36
    assert set(MATRIX.entries) == set(product(CATEGORIES, SEVERITIES, RECURRENCES))


def test_R49_spam_defaults_first_minor_warning_first_serious_mail_blocked_repeat_suspended():
    assert MATRIX.decide("spam", "minor", "first").measure == "warning"
    assert MATRIX.decide("spam", "serious", "first").measure == "restrict_mail"
    assert {MATRIX.decide("spam", s, "repeat").measure for s in SEVERITIES} == {"suspend"}
    assert MATRIX.decide("spam", "manifestly_illegal", "first").immediate


def test_R48_R49_a_new_case_starts_at_its_category_s_default_severity():
    assert MATRIX.severity_for("spam") == "serious"  # an unsolicited mailing complained about: mail blocked
    assert {MATRIX.severity_for(c) for c in CATEGORIES} <= set(SEVERITIES)


def broken(**path_values) -> dict:
    document = copy.deepcopy(DOCUMENT)
    for path, value in path_values.items():
        node = document
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return document


@pytest.mark.parametrize("document, problem", [
    (broken(matrix__spam__serious__repeat=None), "matrix.spam.serious.repeat: missing"),
    (broken(matrix__copyright=None), "matrix.copyright: missing"),
    (broken(default_severity__other=None), "default_severity.other"),
    (broken(default_severity__spam="manifestly_illegal"), "only an operator qualifies"),
    (broken(matrix__spam__minor__first={"measure": "limit"}), "a first minor breach gets a warning"),
    (broken(matrix__spam__serious__first={"measure": "limit", "immediate": True}), "only a manifestly illegal"),
    (broken(matrix__defamation__manifestly_illegal__first={"measure": "suspend"}), "suspended at once"),
    (broken(matrix__other__manifestly_illegal__repeat={"measure": "limit", "immediate": True}), "suspended at once"),
    (broken(matrix__other__serious__repeat={"measure": "warning"}), "a recurrence escalates"),
    (broken(matrix__spam__serious__first={"measure": "ban"}), "a measure among"),
    (broken(matrix__spam__serious__first={"measure": "limit", "when": "now"}), "unknown keys"),
    (broken(matrix__spam__urgent={}), "unknown severity 'urgent'"),
    (broken(matrix__spam__serious__third={"measure": "suspend"}), "unknown recurrence 'third'"),
    (broken(matrix__gambling={}), "unknown category 'gambling'"),
    ({"matrix": []}, "needs a `matrix` object"),
])
def test_R49_an_incomplete_or_unlawful_matrix_is_refused_when_loaded(document, problem):
    with pytest.raises(SanctionMatrixError, match=problem.replace("(", r"\(").replace(".", r"\.")):
        load_matrix(document)


# ---- the case's transition table ---------------------------------------------------------------------------

S, V = CaseStatus, CaseEvent
EXPECTED_MOVES = {
    (S.OPEN, V.NOTIFY): S.CUSTOMER_NOTIFIED, (S.OPEN, V.MEASURE): S.MEASURE_APPLIED, (S.OPEN, V.CLOSE): S.CLOSED,
    (S.OPEN, V.DISMISS): S.DISMISSED, (S.OPEN, V.JOIN): S.OPEN, (S.OPEN, V.QUALIFY): S.OPEN,
    (S.CUSTOMER_NOTIFIED, V.ANSWER): S.ANSWERED, (S.CUSTOMER_NOTIFIED, V.DEADLINE): S.DEADLINE_PASSED,
    (S.CUSTOMER_NOTIFIED, V.MEASURE): S.MEASURE_APPLIED, (S.CUSTOMER_NOTIFIED, V.CLOSE): S.CLOSED,
    (S.CUSTOMER_NOTIFIED, V.DISMISS): S.DISMISSED, (S.CUSTOMER_NOTIFIED, V.JOIN): S.CUSTOMER_NOTIFIED,
    (S.CUSTOMER_NOTIFIED, V.QUALIFY): S.CUSTOMER_NOTIFIED,
    (S.ANSWERED, V.ANSWER): S.ANSWERED, (S.ANSWERED, V.MEASURE): S.MEASURE_APPLIED, (S.ANSWERED, V.CLOSE): S.CLOSED,
    (S.ANSWERED, V.DISMISS): S.DISMISSED, (S.ANSWERED, V.JOIN): S.ANSWERED, (S.ANSWERED, V.QUALIFY): S.ANSWERED,
    (S.DEADLINE_PASSED, V.MEASURE): S.MEASURE_APPLIED, (S.DEADLINE_PASSED, V.CLOSE): S.CLOSED,
    (S.DEADLINE_PASSED, V.DISMISS): S.DISMISSED, (S.DEADLINE_PASSED, V.JOIN): S.DEADLINE_PASSED,
    (S.DEADLINE_PASSED, V.QUALIFY): S.DEADLINE_PASSED,
    (S.MEASURE_APPLIED, V.ANSWER): S.MEASURE_APPLIED, (S.MEASURE_APPLIED, V.MEASURE): S.MEASURE_APPLIED,
    (S.MEASURE_APPLIED, V.CLOSE): S.CLOSED, (S.MEASURE_APPLIED, V.QUALIFY): S.MEASURE_APPLIED,
}


@pytest.mark.parametrize("status, event", list(product(CaseStatus, CaseEvent)), ids=lambda v: v.value)
def test_R48_R49_the_case_moves_only_along_its_table(status, event):
    if (status, event) in EXPECTED_MOVES:
        assert next_case_status(status, event) == EXPECTED_MOVES[(status, event)]
    else:
        with pytest.raises(IllegalTransitionError) as refused:
            next_case_status(status, event)
        assert (refused.value.state, refused.value.event) == (status.value, event.value)


def test_R48_R49_the_table_is_the_documented_one_and_closed_cases_are_final():
    assert CASE_TRANSITIONS == EXPECTED_MOVES
    for final in (S.CLOSED, S.DISMISSED):
        assert not [event for (status, event) in CASE_TRANSITIONS if status == final]
    # R48: a late answer does not undo the deadline; R49: a measured case is never dismissed (lift it first)
    with pytest.raises(IllegalTransitionError):
        next_case_status("deadline_passed", "answer")
    with pytest.raises(IllegalTransitionError):
        next_case_status("measure_applied", "dismiss")
    with pytest.raises(IllegalTransitionError):
        next_case_status("nonsense", "notify")


# ---- R48: what a complaint may name -------------------------------------------------------------------------

@pytest.mark.parametrize("given_, kind, value, domain", [
    ({"domain": "Acme-Test.FR."}, "domain", "acme-test.fr", "acme-test.fr"),
    ({"domain": "café.fr"}, "domain", "xn--caf-dma.fr", "xn--caf-dma.fr"),
    ({"url": "https://www.acme-test.fr:8443/promo?x=1"}, "url", "https://www.acme-test.fr:8443/promo?x=1",
     "www.acme-test.fr"),
    ({"url": "http://boutique.café.fr/"}, "url", "http://boutique.café.fr/", "boutique.xn--caf-dma.fr"),
    ({"mailbox": "News.Letter@Acme-Test.fr"}, "mailbox", "News.Letter@acme-test.fr", "acme-test.fr"),
])
def test_R48_a_target_is_one_valid_domain_url_or_mailbox(given_, kind, value, domain):
    target = target_of(**given_)
    assert (target.kind, target.value, target.domain) == (kind, value, domain)


@pytest.mark.parametrize("given_, message", [
    ({}, "exactly one"),
    ({"domain": "acme-test.fr", "url": "https://acme-test.fr/"}, "exactly one"),
    ({"domain": "localhost"}, "not a valid domain name"),
    ({"domain": "-bad-.fr"}, "not a valid domain name"),
    ({"domain": "a" * 64 + ".fr"}, "not a valid domain name"),
    ({"domain": "192.168.1.10"}, "not by an IP address"),
    ({"url": "ftp://acme-test.fr/file"}, "only http:// and https://"),
    ({"url": "https:///nohost"}, "has no host"),
    ({"url": "https://[::1]/admin"}, "not by an IP address"),
    ({"url": "https://acme-test.fr:port/"}, "check the host and the port"),
    ({"url": "https://acme test.fr/"}, "no spaces"),
    ({"url": "https://acme-test.fr/" + "a" * 2048}, "longer than 2048"),
    ({"mailbox": "no-at-sign.fr"}, "e-mail address concerned"),
    ({"mailbox": "a..b@acme-test.fr"}, "not a valid mailbox name"),
    ({"mailbox": "contact@acme_test.fr"}, "not a valid domain name"),
])
def test_R48_a_bad_target_is_refused_saying_what_to_fix(given_, message):
    with pytest.raises(ValueError, match=message):
        target_of(**given_)


# IDNA 2008 reserves "--" in the 3rd and 4th positions (xn-- labels): such labels are not hostnames here.
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True).filter(lambda label: label[2:4] != "--")


@settings(max_examples=200, deadline=None)
@given(labels=st.lists(LABEL, min_size=1, max_size=4), tld=st.sampled_from(["fr", "com", "eu", "org", "de"]))
def test_R48_any_valid_hostname_normalises_to_itself_and_matches_its_parent_domains(labels, tld):
    host = ".".join(labels + [tld])
    assert normalise_host(host.upper()) == host
    candidates = match_candidates(host)
    assert candidates[0] == host and candidates[-1] == f"{labels[-1]}.{tld}"
    assert len(candidates) == len(labels)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_R48_any_text_as_a_target_is_accepted_or_refused_with_a_reason_never_a_crash(text):
    for kind in ("domain", "url", "mailbox"):
        try:
            target = target_of(**{kind: text})
        except ValueError as refusal:
            assert str(refusal)
        else:
            assert target.domain == normalise_host(target.domain)


def test_R48_the_customer_reads_an_excerpt_on_one_line():
    assert excerpt("  Des   publicités\n\nchaque jour  ") == "Des publicités chaque jour"
    long = excerpt("x" * 1000, limit=300)
    assert len(long) == 300 and long.endswith("…")


@pytest.mark.parametrize("name, kind, size, ok", [
    ("capture.png", "image/png", 1, True), ("Plainte.PDF", "application/pdf", 10 * 1024 * 1024, True),
    ("photo.jpeg", "image/jpeg", 5, True), ("mail.eml", "message/rfc822", 5, True),
    ("notes.txt", "text/plain", 5, True),
    ("capture.png", "image/png", 10 * 1024 * 1024 + 1, False), ("capture.png", "image/png", 0, False),
    ("capture.exe", "application/x-msdownload", 5, False), ("capture.pdf", "image/png", 5, False),
    ("../etc/passwd.txt", "text/plain", 5, False), ("a\\b.txt", "text/plain", 5, False),
])
def test_R48_evidence_files_are_pdf_png_jpeg_text_or_eml_of_at_most_10_mb(name, kind, size, ok):
    if ok:
        check_evidence_file(name, kind, size)
    else:
        with pytest.raises(ValueError):
            check_evidence_file(name, kind, size)


def test_R48_evidence_keys_live_under_the_report_and_are_safe():
    assert evidence_key("abr_1", 2, "Capture d'écran (1).png") == "reports/abr_1/2-Capture_d_cran_1_.png"
    assert evidence_key("abr_1", 1, "...") == "reports/abr_1/1-file"


# ---- R48 deadline, R49 recurrence --------------------------------------------------------------------------

@pytest.mark.parametrize("notified, day, ends", [
    (datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc), "2026-12-04", datetime(2026, 12, 5, tzinfo=PARIS)),
    # 23:30 UTC on the 27th is already the 28th in Paris: the days count from the Paris day
    (datetime(2026, 11, 27, 23, 30, tzinfo=timezone.utc), "2026-12-05", datetime(2026, 12, 6, tzinfo=PARIS)),
    # across the switch to summer time (29 March 2026): still 00:00 Paris, 22:00 UTC the day before
    (datetime(2026, 3, 25, 12, 0, tzinfo=timezone.utc), "2026-04-01", datetime(2026, 4, 2, tzinfo=PARIS)),
])
def test_R48_the_customer_answers_by_the_end_of_the_seventh_day_paris_time(notified, day, ends):
    last_day, deadline = answer_deadline(notified, 7)
    assert (last_day.isoformat(), deadline) == (day, ends)
    assert deadline.astimezone(PARIS).time() == datetime.min.time()
    with pytest.raises(ValueError):
        answer_deadline(notified, 0)


NOW = datetime(2027, 6, 1, 12, 0, tzinfo=timezone.utc)


def test_R49_a_measure_within_the_window_makes_a_repeat_at_its_edges():
    window = timedelta(days=365)
    assert recurrence([], NOW, 365) == "first"
    assert recurrence([NOW - window], NOW, 365) == "repeat"                           # exactly 365 days: repeat
    assert recurrence([NOW - window - timedelta(seconds=1)], NOW, 365) == "first"      # one second more: first
    assert recurrence([NOW], NOW, 365) == "repeat"
    assert recurrence([NOW + timedelta(seconds=1)], NOW, 365) == "first"               # never from the future
    with pytest.raises(ValueError):
        recurrence([], NOW, 0)


@settings(max_examples=200, deadline=None)
@given(ages=st.lists(st.integers(min_value=0, max_value=800 * 86400), max_size=6),
       window=st.integers(min_value=1, max_value=730))
def test_R49_recurrence_is_repeat_exactly_when_some_measure_is_within_the_window(ages, window):
    measures = [NOW - timedelta(seconds=age) for age in ages]
    assert (recurrence(measures, NOW, window) == "repeat") == any(age <= window * 86400 for age in ages)


def test_R49_a_measure_never_lowers_the_abuse_hold_in_place():
    assert stronger_level(None, "restricted") == "restricted"
    assert stronger_level("suspended", "restricted") == "suspended"
    assert stronger_level("restricted", None) == "restricted"
    assert stronger_level("restricted", "suspended") == "suspended"
    assert set(MEASURES) == {"warning", "restrict_mail", "limit", "suspend"}


# ---- R49 on the node: outgoing mail blocked (11.3) ---------------------------------------------------------

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def hosted(tmp_path):
    from chalicelib.contracts.node_messages import ProvisionSpace
    from nodeagent.spaces import SpaceStore
    store = SpaceStore(tmp_path / "node")
    store.apply(ProvisionSpace(node_id="n", command_id="p-1", contract_id="ctr-1", domain="acme-test.fr",
                               quota_mb=1024, mailboxes=5, mysql_databases=1, php=True, issued_at=T0))
    return store


def state_command(kind: str, command_id: str, minutes: int, **fields):
    from chalicelib.contracts import node_messages
    return getattr(node_messages, kind)(node_id="n", command_id=command_id, contract_id="ctr-1",
                                        domain="acme-test.fr", issued_at=T0 + timedelta(minutes=minutes), **fields)


def test_R49_restrict_space_with_the_flag_blocks_outgoing_mail_until_unsuspended(hosted):
    assert hosted.status("acme-test.fr")["mail_outgoing"] == "allowed"
    hosted.apply(state_command("RestrictSpace", "r-1", 1, reason="abuse", block_outgoing_mail=True))
    status = hosted.status("acme-test.fr")
    assert (status["state"], status["reason"], status["mail_outgoing"]) == ("restricted", "abuse", "blocked")
    # a suspension blocks it too; lifting it down to a restriction (no flag) keeps the block
    hosted.apply(state_command("SuspendSpace", "s-1", 2, reason="non_payment"))
    hosted.apply(state_command("RestrictSpace", "r-2", 3, reason="abuse"))
    assert (hosted.status("acme-test.fr")["state"], hosted.status("acme-test.fr")["mail_outgoing"]) == (
        "restricted", "blocked")
    hosted.apply(state_command("UnsuspendSpace", "u-1", 4))
    assert (hosted.status("acme-test.fr")["state"], hosted.status("acme-test.fr")["mail_outgoing"]) == (
        "active", "allowed")
    # an older blocking command delivered late changes nothing (the newest state wins)
    hosted.apply(state_command("RestrictSpace", "r-0", 0, reason="abuse", block_outgoing_mail=True))
    assert hosted.status("acme-test.fr")["mail_outgoing"] == "allowed"


def test_R49_a_restriction_without_the_flag_leaves_mail_allowed_and_the_block_survives_a_reprovision(hosted):
    from chalicelib.contracts.node_messages import ProvisionSpace
    hosted.apply(state_command("RestrictSpace", "r-1", 1, reason="non_payment"))
    assert hosted.status("acme-test.fr")["mail_outgoing"] == "allowed"
    hosted.apply(state_command("RestrictSpace", "r-2", 2, reason="abuse", block_outgoing_mail=True))
    hosted.apply(ProvisionSpace(node_id="n", command_id="p-2", contract_id="ctr-1", domain="acme-test.fr",
                                quota_mb=1024, mailboxes=5, mysql_databases=1, php=True, issued_at=T0))
    assert hosted.status("acme-test.fr")["mail_outgoing"] == "blocked"
    assert hosted.status("unknown.fr") is None and hosted.status("../etc") is None

