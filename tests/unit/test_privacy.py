"""R03, R07: pure helpers of personal data: the verification deadline, the erasure checks and the
pseudonymisation of a customer's records."""
from __future__ import annotations

from datetime import date, datetime, timezone

from chalicelib.domain.calendar import PARIS
from chalicelib.domain.privacy import Pseudonyms, erasure_blockers, is_pseudonym, pseudonym, verification_deadline

CID = "cus_0123"


def test_R03_the_deadline_is_the_end_of_the_paris_day_n_days_later():
    # 27 Nov 2026 23:30 UTC is already 28 Nov in Paris: due by the end of 13 Dec (Paris).
    day, ends = verification_deadline(datetime(2026, 11, 27, 23, 30, tzinfo=timezone.utc), 15)
    assert day == date(2026, 12, 13) and ends == datetime(2026, 12, 14, 0, 0, tzinfo=PARIS)
    # Across the change to summer time, the day still ends at midnight Paris time.
    day, ends = verification_deadline(datetime(2027, 3, 20, 10, 0, tzinfo=timezone.utc), 15)
    assert day == date(2027, 4, 4) and ends.utcoffset().total_seconds() == 7200 and ends.hour == 0


def test_R07_erasure_is_refused_while_a_contract_runs_or_holds_data_then_while_a_sum_is_owed():
    code, message = erasure_blockers([("ctr_1", "cancelled"), ("ctr_2", "active")], ["F-000001"], [])
    assert code == "erasure_refused_contract_active" and "ctr_2 (active)" in message and "ctr_1" not in message
    for status in ("awaiting_payment", "provisioning", "suspended", "scheduled", "expired", "terminated"):
        assert erasure_blockers([("ctr_1", status)], [], [])[0] == "erasure_refused_contract_active", status
    code, message = erasure_blockers([("ctr_1", "data_deleted")], ["F-000009"], ["F-000010"])
    assert code == "erasure_refused_sums_owed" and "F-000009" in message and "F-000010" in message
    for done in ("cancelled", "withdrawn", "renewed", "data_deleted"):
        assert erasure_blockers([("ctr_1", done)], [], []) == (None, None)


def test_R07_a_pseudonym_does_not_derive_from_the_value_it_replaces():
    assert pseudonym(CID, "email#1", email=True).endswith("@erased.invalid")
    assert pseudonym(CID, "last_name#1") == pseudonym(CID, "last_name#1")       # stable
    assert pseudonym(CID, "last_name#1") != pseudonym("cus_other", "last_name#1")
    names = Pseudonyms(CID)
    a, b = names.add("Dupont", "last_name"), Pseudonyms(CID).add("Martin", "last_name")
    assert a == b and is_pseudonym(a)  # the same field gives the same pseudonym, whatever the value


def test_R07_personal_values_are_found_under_personal_keys_at_any_depth():
    names = Pseudonyms(CID)
    names.collect({"status": "placed", "client_ip": "203.0.113.7", "plan": "soho-start",
                   "previous": {"last_name": "Dupont", "address": {"line1": "2 rue Haute", "postcode": "69001",
                                                                   "city": "Lyon", "country": "FR"}},
                   "justification": {"document_type": "passport", "document_ref": "19AB12345"},
                   "list": [{"email": "Jeanne@Dupont.fr"}]})
    assert set(names.mapping) >= {"203.0.113.7", "Dupont", "2 rue Haute", "69001", "Lyon", "19AB12345",
                                  "Jeanne@Dupont.fr", "jeanne@dupont.fr"}
    assert not {"placed", "soho-start", "FR", "passport"} & set(names.mapping)


def test_R07_scrub_replaces_whole_words_only_and_keeps_the_structure():
    names = Pseudonyms(CID)
    names.add("Jeanne Dupont", "name")
    names.add("Dupont", "last_name")
    names.add("jeanne@dupont.fr", "email")
    names.add("127.0.0.1", "client_ip")
    names.add("x", "first_name")  # too short to be looked for in text
    record = {"body": "Bonjour Jeanne Dupont,\nÉcrire à jeanne@dupont.fr ; M. Dupont ; Dupontel ; 127.0.0.10",
              "amounts": [7186, {"total_cents": 1198}], "flag": True, "none": None}
    scrubbed = names.scrub(record)
    body = scrubbed["body"]
    assert "Jeanne" not in body and "jeanne@" not in body and "M. Dupont " not in body
    assert "Dupontel" in body and "127.0.0.10" in body     # other words are left alone
    assert body.startswith(f"Bonjour {names.mapping['Jeanne Dupont']},")  # the longest value first
    assert scrubbed["amounts"] == [7186, {"total_cents": 1198}] and scrubbed["flag"] is True
    assert names.scrub(scrubbed) == scrubbed  # a pseudonymised record holds nothing more to replace


def test_R07_of_gives_a_fields_pseudonym_and_keeps_none():
    names = Pseudonyms(CID)
    alias = names.of("0601020304", "phone")
    assert is_pseudonym(alias) and names.of("0601020304", "phone") == alias
    assert names.of(None, "phone") is None
    assert names.of(alias, "phone") == alias  # already pseudonymised: kept
