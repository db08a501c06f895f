"""R54 notices: versioned French templates, money in euros from cents, dates in Paris time."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

import pytest

from chalicelib.service import notice_templates
from chalicelib.service.notice_templates import (CURRENT_VERSIONS, NBSP, NNBSP, TEMPLATES_DIR, UnknownTemplateError,
                                                 date_fr, datetime_fr, euros, percent, render)
from chalicelib.service.notices import SEND_LEASE, new_notice, notice_key, render_notice
from infra.definitions import resources

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)

# One context per template, as the code that decides each notice gives it.
SAMPLES: dict[str, dict] = {
    "credentials_issued": {"login": "sh-abcd-efgh-ijkl", "reason": "initial", "slot": "password",
                           "role": "subscriber"},
    "expiry_notice": {"domain": "acme-test.fr", "ends_on": "2027-11-27", "contract_id": "ctr_1",
                      "offer": {"plan": "SOHO Start", "yearly_price_cents": 8388, "options": ["Antivirus"]},
                      "renew_url": "https://espace-client.soho.example/renouveler/ctr_1"},
    "contract_restricted": {"domain": "acme-test.fr", "invoice_number": "F-000042", "amount_due_cents": 7186,
                            "due_date": "2026-12-01", "since": "2026-12-01", "suspension_on": "2026-12-08"},
    "contract_suspended": {"domain": "acme-test.fr", "reason": "contract_ended", "since": "2027-11-27",
                           "deletion_on": "2027-12-27"},
    "contract_terminated": {"domain": "acme-test.fr", "invoice_number": "F-000042", "amount_due_cents": 719,
                            "suspended_since": "2027-02-04", "terminated_on": "2027-03-06",
                            "termination_invoice_number": "F-000043", "termination_fee_cents": 5000,
                            "remaining_instalments": 9, "termination_total_cents": 12470,
                            "deletion_on": "2027-04-05"},
    "deletion_warning": {"domain": "acme-test.fr", "deletion_on": "2027-12-27"},
    "data_deleted": {"domain": "acme-test.fr", "deleted_at": "2027-12-27T08:00:00.000+00:00"},
    "invoice_issued": {"invoice_number": "F-000042", "issue_date": "2026-11-27", "due_date": "2026-12-01",
                       "subtotal_cents": 5988, "vat_rate_percent": "20", "vat_cents": 1198, "total_cents": 7186,
                       "late_penalty_rate_percent": "19.95", "recovery_indemnity_cents": 4000},
    "payment_received": {"invoice_number": "F-000042", "amount_cents": 7186,
                         "paid_at": "2026-11-28T14:05:00+00:00", "service_restored": True},
    "withdrawal_confirmed": {"domain": "acme-test.fr", "withdrawn_at": "2026-12-02T09:00:00+00:00",
                             "refund_cents": 6186, "kept_domain_fees_cents": 1000},
    "order_cancelled": {"domain": "acme-test.fr", "order_id": "ord_1", "reason": "initial_unavailability",
                        "credit_note_number": "F-000043", "credit_cents": 7186},
    "space_ready": {"domain": "acme-test.fr", "site_url": "http://acme-test.fr/", "ftp_host": "ftp.acme-test.fr",
                    "ftp_login": "acme-test.fr", "consumer": True},
    "order_irregular": {"domain": "acme-test.fr", "order_id": "ord_1",
                        "reason": "Le numéro SIREN ne correspond pas à la raison sociale."},
    "verification_requested": {"login": "sh-abcd-efgh-ijkl", "request_id": "vrq_1", "deadline_on": "2026-12-12",
                               "reason": "L'adresse déclarée ne correspond à aucune voie connue.",
                               "documents": ["carte nationale d'identité", "justificatif de domicile"]},  # R03
    "verification_suspended": {"login": "sh-abcd-efgh-ijkl", "request_id": "vrq_1", "deadline_on": "2026-12-12",
                               "domains": ["acme-test.fr"]},  # R03
    "plan_change": {"domain": "acme-test.fr", "contract_id": "ctr_1", "plan_name": "SOHO Start",
                    "description": "Les scripts CGI/Perl ne sont plus exécutés.", "effective_on": "2027-01-31",
                    "objection_deadline": "2027-02-28"},  # R55
    # --- abuse samples (issue 5) ---
    "abuse_complaint": {"domain": "acme-test.fr", "contract_id": "ctr_1", "case_id": "abc_1_000",
                        "category": "envoi de messages non sollicités (spam)", "target_kind": "adresse e-mail",
                        "target": "news@acme-test.fr",
                        "excerpt": "Je reçois chaque jour des publicités non sollicitées.",
                        "answer_deadline_on": "2026-12-04"},  # R48
    "abuse_measure": {"domain": "acme-test.fr", "contract_id": "ctr_1", "case_id": "abc_1_000",
                      "category": "contenu illicite", "measure": "suspend",
                      "measure_label": "suspension : le site affiche une page de suspension",
                      "since": "2026-12-05T09:00:00+00:00", "immediate": True, "repeat": False},  # R49
    "abuse_lifted": {"domain": "acme-test.fr", "contract_id": "ctr_1", "case_id": "abc_1_000",
                     "since": "2026-12-06T09:00:00+00:00", "still_held": True},  # R49
    # --- tickets samples (issue 5) ---
    "ticket_received": {"ticket_id": "tkt_1", "subject": "Site inaccessible", "kind": "incident",
                        "domain": "acme-test.fr", "created_at": "2027-05-14T14:30:00+00:00",
                        "deadline_at": "2027-05-25T14:30:00+00:00"},  # R43
    "ticket_reply": {"ticket_id": "tkt_1", "subject": "Site inaccessible", "kind": "incident",
                     "domain": "acme-test.fr", "message": "Nous analysons les journaux du serveur.",
                     "answered_at": "2027-05-18T08:00:00+00:00"},  # R43
    "ticket_resolved": {"ticket_id": "tkt_1", "subject": "Site inaccessible", "kind": "incident",
                        "domain": "acme-test.fr", "cause": "outside_provider", "incident": True,
                        "note": "La coupure venait du réseau de votre fournisseur d'accès.",
                        "resolved_at": "2027-05-18T09:00:00+00:00"},  # R45
    # --- availability samples (issue 5) ---
    "force_majeure_terminated": {"domain": "acme-test.fr", "contract_id": "ctr_1", "requested_by": "customer",
                                 "event_description": "Inondation du centre de données",
                                 "event_start": "2027-01-04T08:00:00+00:00", "terminated_on": "2027-02-10",
                                 "deletion_on": "2027-03-12"},  # R50
    # --- disputes samples (issue 5) ---
    "dispute_claim_decision": {"domain": "acme-test.fr", "contract_id": "ctr_1", "claim_id": "clm_1",
                               "outcome": "granted", "event_on": "2026-12-01", "filed_on": "2027-01-10",
                               "last_day": "2027-12-01", "amount_claimed_cents": 20000, "awarded_cents": 8626,
                               "capped": True, "cap_cents": 8626},  # R46/R47
    "dispute_settlement_opened": {"domain": "acme-test.fr", "contract_id": "ctr_1", "case_id": "stl_1",
                                  "breach": "Sauvegardes non restaurées.", "breach_kind": "service_quality"},  # R51
    "dispute_settlement_outcome": {"domain": "acme-test.fr", "contract_id": "ctr_1", "case_id": "stl_1",
                                   "outcome": "failed", "note": "Aucun accord sur le geste commercial."},  # R51
    "dispute_formal_notice": {"domain": "acme-test.fr", "contract_id": "ctr_1", "notice_id": "fnt_1",
                              "breach": "Revente de l'hébergement à des tiers.", "served_on": "2026-12-01",
                              "last_day": "2027-01-01"},  # R52
    "dispute_formal_notice_remedied": {"domain": "acme-test.fr", "contract_id": "ctr_1", "notice_id": "fnt_1",
                                       "served_on": "2026-12-01", "note": "La revente a cessé."},  # R52
    "dispute_breach_termination": {"domain": "acme-test.fr", "contract_id": "ctr_1", "notice_id": "fnt_1",
                                   "served_on": "2026-12-01", "terminated_on": "2027-01-02",
                                   "deletion_on": "2027-02-01"},  # R52
    "dispute_early_termination": {"domain": "acme-test.fr", "contract_id": "ctr_1", "terminated_on": "2027-03-10",
                                  "remaining_instalments": 8, "owed_cents": 5752, "monthly": True,
                                  "invoice_number": "F-000042", "deletion_on": "2027-04-09"},  # R53
    # --- domain samples (issue 4) ---
    "domain_registered": {"domain": "acme-test.fr", "contract_id": "ctr_1", "registry_label": "Afnic",
                          "how": "registration", "expires_on": "2027-11-27"},  # R37/R38
    "domain_refused": {"domain": "acme-test.fr", "contract_id": "ctr_1", "how": "registration",
                       "reason": "Le nom demandé figure sur la liste des termes réservés.",
                       "dossier_fees_cents": 1500, "invoice_number": "F-000042",
                       "cancel_path": "/me/contracts/ctr_1/domain/cancellation"},  # R37/R38
    "domain_renewed": {"domain": "acme-test.fr", "expires_on": "2028-11-27"},  # R41
    "domain_renewal_reminder": {"domain": "acme-test.fr", "expires_on": "2027-11-27", "days_left": 30,
                                "registry_label": "Afnic", "reason": "payment_overdue"},  # R41
    "domain_transfer_out_requested": {"domain": "acme-test.fr", "contract_id": "ctr_1",
                                      "requesting_registrar": "Gandi SAS",
                                      "deadline": "2027-03-15T10:00:00+00:00"},  # R39
    "domain_transfer_out_refused": {"domain": "acme-test.fr", "contract_id": "ctr_1",
                                    "reason": "La facture F-000042 reste impayée.", "owed_cents": 7186},  # R39
    "domain_transferred_out": {"domain": "acme-test.fr", "contract_id": "ctr_1", "to_registrar": "Gandi SAS",
                               "at": "2027-03-20T08:30:00+00:00"},  # R39/R42
    "domain_decision": {"domain": "acme-test.fr", "contract_id": "ctr_1", "kind": "court", "action": "transfer",
                        "reference": "TJ Paris, RG 27/01234"},  # R42
    "domain_dossier_incomplete": {"domain": "acme-test.fr", "contract_id": "ctr_1",
                                  "missing": ["siren", "address", "phone"]},  # R37
}


def notice(template: str, context: dict | None = None, **fields):
    return new_notice(notice_key=notice_key(template, "ctr_1"), customer_id="cus_1", to="client@acme-test.fr",
                      template=template, context=SAMPLES[template] if context is None else context, now=NOW,
                      contract_id="ctr_1", **fields)


# ---- filters ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cents, text", [
    (8626, f"86,26{NBSP}€"), (0, f"0,00{NBSP}€"), (5, f"0,05{NBSP}€"), (100, f"1,00{NBSP}€"),
    (123456, f"1{NNBSP}234,56{NBSP}€"), (123456789, f"1{NNBSP}234{NNBSP}567,89{NBSP}€"), (-500, f"-5,00{NBSP}€")])
def test_R54_euros_shows_integer_cents_in_french_format(cents, text):
    assert euros(cents) == text


@pytest.mark.parametrize("value", [86.26, "8626", True, None])
def test_R54_euros_refuses_anything_but_integer_cents(value):
    with pytest.raises(TypeError):
        euros(value)


@pytest.mark.parametrize("value, text", [
    ("2026-12-01", "1er décembre 2026"), (date(2027, 8, 15), "15 août 2027"), ("2027-02-03", "3 février 2027"),
    ("2026-12-31T23:30:00+00:00", "1er janvier 2027"),          # already the next day in Paris
    (datetime(2026, 7, 14, 21, 59, tzinfo=timezone.utc), "14 juillet 2026")])
def test_R54_dates_are_french_and_taken_in_paris(value, text):
    assert date_fr(value) == text


@pytest.mark.parametrize("value, text", [
    ("2026-12-31T23:30:00+00:00", "1er janvier 2027 à 0 h 30"),   # winter: UTC+1
    ("2026-07-14T10:05:00Z", "14 juillet 2026 à 12 h 05"),        # summer: UTC+2
    ("2026-11-27T10:00:00.000+00:00", "27 novembre 2026 à 11 h 00")])
def test_R54_instants_are_shown_in_paris_time(value, text):
    assert datetime_fr(value) == text


def test_R54_a_naive_instant_is_refused():
    with pytest.raises(ValueError):
        datetime_fr("2026-11-27T10:00:00")


@pytest.mark.parametrize("value, text", [("20", f"20{NBSP}%"), ("19.95", f"19,95{NBSP}%"), ("20.00", f"20{NBSP}%"),
                                         (5, f"5{NBSP}%"), ("6.650", f"6,65{NBSP}%")])
def test_R54_percent_is_french(value, text):
    assert percent(value) == text


# ---- templates and versions ------------------------------------------------------------------
def test_R54_every_template_has_a_sample_and_its_current_version_on_disk():
    assert set(SAMPLES) == set(CURRENT_VERSIONS)
    for name, version in CURRENT_VERSIONS.items():
        assert notice_templates.template_path(name, version).is_file(), name


def test_R54_every_template_file_is_a_version_of_a_known_template():
    for path in TEMPLATES_DIR.glob("*"):
        match = re.fullmatch(r"([a-z_]+)\.v([1-9][0-9]*)\.(txt|html)\.j2", path.name)
        assert match, f"{path.name}: templates are <name>.v<version>.txt.j2 (or .html.j2 for a printable document)"
        name, version = match.group(1), int(match.group(2))
        known = {**notice_templates.DOCUMENT_VERSIONS, **CURRENT_VERSIONS}  # notices and documents (R13)
        assert name in known and version <= known[name], path.name


@pytest.mark.parametrize("template", sorted(SAMPLES))
def test_R54_every_template_renders_a_french_subject_and_body(template):
    rendered = render_notice(notice(template))
    assert rendered.subject and "\n" not in rendered.subject and len(rendered.subject) < 120
    body = rendered.body
    assert body.startswith("Bonjour,\n\n") and body.endswith("Cordialement,\nL'équipe SOHO\n")
    for leftover in ("{{", "{%", "None", "Undefined", "\n\n\n", " .", "  \n"):
        assert leftover not in body, leftover
    # It names what it is about: the domain, the invoice, or (R04) the login.
    assert any(ref in rendered.subject + body for ref in ("acme-test.fr", "F-000042", "sh-abcd-efgh-ijkl"))


def test_R54_the_greeting_names_the_customer_when_the_context_does():
    named = {**SAMPLES["deletion_warning"], "customer_name": "Jeanne Martin"}
    rendered = render_notice(notice("deletion_warning", named))
    assert rendered.body.startswith("Bonjour Jeanne Martin,\n")


def test_R17_expiry_notice_states_end_date_and_renewal_offer_with_plan_price_and_how_to_renew():
    rendered = render_notice(notice("expiry_notice"))
    assert "27 novembre 2027" in rendered.subject
    body = rendered.body
    assert "prend fin le 27 novembre 2027" in body and "pas renouvelé automatiquement" in body
    assert "formule : SOHO Start" in body and f"83,88{NBSP}€ HT" in body and "options : Antivirus" in body
    assert "espace client : https://espace-client.soho.example/renouveler/ctr_1\n" in body


@pytest.mark.parametrize("context, facts", [
    ({"reason": "unpaid", "since": "2026-12-08T08:00:00+00:00", "invoice_number": "F-000042",
      "amount_due_cents": 7186, "payment_url": "https://pay.soho.example/F-000042"},
     ["suspendu depuis le 8 décembre 2026", "F-000042", f"71,86{NBSP}€",
      "réglez la facture depuis votre espace client : https://pay.soho.example/F-000042\n",
      "rétabli immédiatement"]),
    ({"reason": "contract_ended", "since": "2027-11-27", "deletion_on": "2027-12-27"},
     ["a pris fin le 27 novembre 2027", "souscrivez à nouveau dans votre espace client.",
      "cessé de gérer ce nom de domaine", "supprimées le 27 décembre 2027"])])
def test_R19_R23_suspension_notice_says_why_since_when_and_how_to_restore(context, facts):
    rendered = render_notice(notice("contract_suspended", {"domain": "acme-test.fr", **context}))
    assert rendered.subject == "Service suspendu pour acme-test.fr"
    for fact in facts:
        assert fact in rendered.body, fact


def test_R19_R23_a_suspension_without_a_known_reason_is_refused_when_decided():
    with pytest.raises(ValueError, match="reason must be"):
        notice("contract_suspended", {**SAMPLES["contract_suspended"], "reason": "because"})


def test_R20_deletion_warning_and_deletion_notices_give_the_date():
    warning = render_notice(notice("deletion_warning"))
    assert "27 décembre 2027" in warning.subject
    assert "site, bases de données, boîtes aux lettres, journaux" in warning.body
    deleted = render_notice(notice("data_deleted"))
    assert "ont été définitivement supprimées de nos serveurs le 27 décembre 2027 à 9 h 00" in deleted.body


def test_R22_R24_invoice_notice_shows_totals_due_date_and_penalties():
    body = render_notice(notice("invoice_issued")).body
    for fact in (f"Total HT : 59,88{NBSP}€", f"TVA (20{NBSP}%) : 11,98{NBSP}€", f"Total TTC : 71,86{NBSP}€",
                 "au plus tard le 1er décembre 2026", f"19,95{NBSP}%", f"40,00{NBSP}€"):
        assert fact in body, fact
    consumer = render_notice(notice("invoice_issued", {**SAMPLES["invoice_issued"], "recovery_indemnity_cents": 0}))
    assert "indemnité forfaitaire" not in consumer.body


# ---- the notice row --------------------------------------------------------------------------
def test_R54_new_notice_records_template_version_recipient_context_and_queued_status():
    row = new_notice(notice_key="invoice_issued#inv_1", customer_id="cus_1", to=" client@acme-test.fr ",
                     template="invoice_issued", now=NOW, correlation_id="corr-1",
                     context={**SAMPLES["invoice_issued"], "issue_date": date(2026, 11, 27)})
    assert (row.notice_id, row.customer_id, row.recipient, row.template) == (
        "invoice_issued#inv_1", "cus_1", "client@acme-test.fr", "invoice_issued")
    assert row.template_version == CURRENT_VERSIONS["invoice_issued"]
    assert (row.status, row.created_at, row.correlation_id, row.contract_id) == (
        "queued", "2026-11-27T10:00:00.000+00:00", "corr-1", None)
    assert row.context["issue_date"] == "2026-11-27" and json.dumps(row.context)
    assert row.sent_at is None and row.body is None


@pytest.mark.parametrize("change, error", [
    ({"template": "no_such_template"}, "no_such_template"),
    ({"to": "not-an-address"}, "email address"),
    ({"context": {k: v for k, v in SAMPLES["expiry_notice"].items() if k != "ends_on"}}, "ends_on"),
    ({"context": {**SAMPLES["expiry_notice"], "offer": {"plan": "SOHO Start", "yearly_price_cents": 83.88}}},
     "float"),
    ({"context": {**SAMPLES["expiry_notice"], "ends_on": datetime(2027, 11, 27, 0, 0)}}, "naive")])
def test_R54_a_notice_that_could_not_be_sent_is_refused_when_decided(change, error):
    fields = dict(notice_key="expiry_notice#ctr_1", customer_id="cus_1", to="client@acme-test.fr",
                  template="expiry_notice", context=SAMPLES["expiry_notice"], now=NOW)
    with pytest.raises(ValueError, match=error):
        new_notice(**{**fields, **change})


def test_R17_notice_key_names_what_the_notice_is_about():
    assert notice_key("expiry_notice", "ctr_1") == "expiry_notice#ctr_1"
    assert notice_key("contract_suspended", "unpaid", "inv_1") == "contract_suspended#unpaid#inv_1"
    with pytest.raises(ValueError):
        notice_key("expiry_notice", "")


def test_R54_a_notice_is_rendered_with_the_version_recorded_when_it_was_decided(tmp_path, monkeypatch):
    (tmp_path / "greeting.v1.txt.j2").write_text("Sujet v1 {{ domain }}\n\nCorps v1.\n", encoding="utf-8")
    (tmp_path / "greeting.v2.txt.j2").write_text("Sujet v2 {{ domain }}\n\nCorps v2.\n", encoding="utf-8")
    monkeypatch.setattr(notice_templates, "TEMPLATES_DIR", tmp_path)
    monkeypatch.setitem(CURRENT_VERSIONS, "greeting", 1)
    notice_templates.environment.cache_clear()
    try:
        fields = dict(customer_id="c", to="a@acme-test.fr", template="greeting", context={"domain": "d.fr"}, now=NOW)
        decided_under_v1 = new_notice(notice_key="greeting#1", **fields)
        CURRENT_VERSIONS["greeting"] = 2
        decided_under_v2 = new_notice(notice_key="greeting#2", **fields)
        assert (decided_under_v1.template_version, decided_under_v2.template_version) == (1, 2)
        assert render_notice(decided_under_v1) == ("Sujet v1 d.fr", "Corps v1.\n")
        assert render_notice(decided_under_v2) == ("Sujet v2 d.fr", "Corps v2.\n")
        with pytest.raises(UnknownTemplateError):
            render("greeting", 3, {"domain": "d.fr"})
    finally:
        notice_templates.environment.cache_clear()


def test_R54_a_delivery_lease_lasts_as_long_as_the_notices_queue_hides_a_message():
    """A redelivered message (after the visibility timeout) finds the crashed delivery's claim expired."""
    assert SEND_LEASE.total_seconds() == resources()["queues"]["notices"]["visibility_timeout"]
    assert resources()["queues"]["notices"]["dead_letter"] == "notices-dlq"


def test_R54_the_stack_accepts_only_a_sender_of_the_domain_the_policies_may_send_as():
    from infra.template import sender_parameter
    parameter = sender_parameter("noreply@soho.example")
    pattern = re.compile(parameter["AllowedPattern"])
    assert parameter["Default"] == "noreply@soho.example"
    assert pattern.match("factures@soho.example") and not pattern.match("factures@example.fr")
    assert not pattern.match("x@evil-soho.example") and not pattern.match("x@soho-example")


@pytest.mark.parametrize("consumer", [True, False])
def test_R28_R13_space_ready_notice_gives_the_site_and_ftp_access_and_warns_consumers(consumer):
    row = notice("space_ready", {**SAMPLES["space_ready"], "consumer": consumer})
    rendered = render_notice(row, {"ftp_password": "k3v7q2mxa4b5c6d7e2fg"})  # as sent: the secret given
    assert rendered.subject == "Votre hébergement acme-test.fr est prêt"
    body = rendered.body
    assert "http://acme-test.fr/" in body
    assert "- serveur : ftp.acme-test.fr\n- identifiant : acme-test.fr\n- mot de passe : k3v7q2mxa4b5c6d7e2fg\n" in body
    assert ("droit de rétractation prend fin" in body) is consumer
    assert "k3v7q2mxa4b5c6d7e2fg" not in render_notice(row).body  # R28: the stored copy is masked


def test_R04_a_credentials_notice_is_stored_with_its_password_masked():
    """R04: the password is made at delivery; the stored rendering (and a rendering without the
    secret) shows only a mask, the rendering given the secret shows it."""
    stored = render_notice(notice("credentials_issued"))
    assert "sh-abcd-efgh-ijkl" in stored.body and "jamais conservé" in stored.body
    sent = render_notice(notice("credentials_issued"), {"password": "abcde-fghij-klmno-pqrst"})
    assert "mot de passe : abcde-fghij-klmno-pqrst" in sent.body
    assert "abcde-fghij-klmno-pqrst" not in stored.body


# ---- domain notices (issue 4) ----------------------------------------------------------------
@pytest.mark.parametrize("how, facts", [
    ("registration", ["Enregistrement refusé pour acme-test.fr",
                      "dépend uniquement de la validation de l'organisme compétent", "article 10.5",
                      "Conformément à l'article 10.6"]),
    ("transfer", ["Transfert impossible pour acme-test.fr",
                  "suppose toujours l'accord de son gestionnaire administratif en titre", "article 10.7 de nos",
                  "Conformément à l'article 10.7"])])
def test_R37_R38_a_refusal_says_why_who_decides_the_dossier_fees_and_how_to_cancel(how, facts):
    """R37 (registration refused: the registry alone decides, 10.5) and R38 (transfer failed: the
    current manager's approval is needed, 10.7): the reason, the dossier fees and their invoice,
    and the cancellation on request with the sums paid credited."""
    rendered = render_notice(notice("domain_refused", {**SAMPLES["domain_refused"], "how": how}))
    text = rendered.subject + "\n" + rendered.body
    for fact in facts + ["Le nom demandé figure sur la liste des termes réservés.", f"15,00{NBSP}€ HT",
                         "facture n° F-000042", "/me/contracts/ctr_1/domain/cancellation",
                         "vous seront alors créditées"]:
        assert fact in text, fact
    other = "article 10.5" if how == "transfer" else "gestionnaire administratif en titre"
    assert other not in text


def test_R37_R38_registered_names_the_manager_role_and_the_expiry():
    """R37/R38 (D10.6, D10.8): registered or transferred, we are the administrative and technical manager."""
    for how, subject in (("registration", "est enregistré"), ("transfer", "est transféré")):
        rendered = render_notice(notice("domain_registered", {**SAMPLES["domain_registered"], "how": how}))
        assert subject in rendered.subject
        assert "gestionnaire administratif et technique" in rendered.body
        assert "expire le 27 novembre 2027" in rendered.body
    with pytest.raises(ValueError, match="how must be"):
        notice("domain_registered", {**SAMPLES["domain_registered"], "how": "renewal"})


@pytest.mark.parametrize("reason, registry, present, absent", [
    ("customer_renews", "EURid", "Il vous appartient de le renouveler vous-même", "factures en retard"),
    ("payment_overdue", "Afnic", "réglez les factures en retard", "vous-même")])
def test_R41_renewal_reminder_says_who_renews_and_what_to_do(reason, registry, present, absent):
    """R41 (D10.9): another registrar's name is the customer's to renew and pay; an Afnic/Network
    Solutions name is renewed by us only once the overdue invoices are paid."""
    context = {**SAMPLES["domain_renewal_reminder"], "reason": reason, "registry_label": registry}
    rendered = render_notice(notice("domain_renewal_reminder", context))
    assert "27 novembre 2027" in rendered.subject
    assert "expire le 27 novembre 2027, dans 30 jours." in rendered.body
    assert present in rendered.body and absent not in rendered.body
    assert registry in rendered.body


def test_R41_a_renewal_reminder_with_an_unknown_reason_is_refused_when_decided():
    """R41: the reminder's reason is one of the two cases of D10.9."""
    with pytest.raises(ValueError, match="reason must be"):
        notice("domain_renewal_reminder", {**SAMPLES["domain_renewal_reminder"], "reason": "because"})


def test_R39_transfer_out_request_asks_for_confirmation_before_the_deadline():
    """R39: another registrar asks; the customer confirms in the customer area before the deadline, else refused."""
    body = render_notice(notice("domain_transfer_out_requested")).body
    for fact in ("Gandi SAS", "POST /me/contracts/ctr_1/domain/transfer-out", "au plus tard le 15 mars 2027 à 11 h 00",
                 "le transfert sera refusé"):
        assert fact in body, fact


@pytest.mark.parametrize("owed_cents, retention", [(7186, True), (0, False)])
def test_R39_transfer_out_refusal_invokes_the_retention_right_only_when_sums_are_owed(owed_cents, retention):
    """R39 (D10.11): the retention right is named, with the sum owed, only when something is owed."""
    context = {**SAMPLES["domain_transfer_out_refused"], "owed_cents": owed_cents}
    body = render_notice(notice("domain_transfer_out_refused", context)).body
    assert "La facture F-000042 reste impayée." in body
    assert ("droit de rétention" in body) is retention
    assert (f"71,86{NBSP}€" in body) is retention


def test_R39_R42_transferred_out_ends_our_management_but_not_the_hosting():
    """R39/R42 (D10.8): the name left us; management ended, the hosting continues until the contract end."""
    body = render_notice(notice("domain_transferred_out")).body
    for fact in ("20 mars 2027 à 9 h 30", "Gandi SAS", "a donc pris fin (article 10.8",
                 "se poursuit jusqu'au terme de votre contrat"):
        assert fact in body, fact


@pytest.mark.parametrize("kind, action, present, absent", [
    ("court", "transfer", "nous déférons à cette décision et procédons au transfert du nom", "titulaire"),
    ("administrative", "cancel", "d'une décision administrative", "titulaire"),
    ("dispute_resolution", "cancel", "procédure de règlement de conflit", "titulaire"),
    ("holder_request", "cancel", "Le titulaire du nom de domaine acme-test.fr (contrat n° ctr_1) nous a demandé "
                                 "directement l'annulation de ce nom", "déférons")])
def test_R42_a_decision_is_complied_with_and_a_holder_request_is_executed(kind, action, present, absent):
    """R42 (D10.10): a court, administrative or dispute-resolution decision is complied with; the
    holder's direct request is told to the customer and executed."""
    context = {**SAMPLES["domain_decision"], "kind": kind, "action": action}
    rendered = render_notice(notice("domain_decision", context))
    assert present in rendered.body and absent not in rendered.body
    assert "article 10.10" in rendered.body and "TJ Paris, RG 27/01234" in rendered.body
    assert ("Demande du titulaire" in rendered.subject) is (kind == "holder_request")
    if kind == "holder_request":
        assert "exécutons cette action, à laquelle vous ne pouvez pas vous opposer" in rendered.body
    with pytest.raises(ValueError, match="kind must be"):
        notice("domain_decision", {**context, "kind": "rumour"})


def test_R37_dossier_incomplete_lists_what_is_missing_and_how_to_complete_it():
    """R37 (D10.4): registration waits for the complete dossier; the missing items and the way to send them."""
    body = render_notice(notice("domain_dossier_incomplete")).body
    assert ("Il y manque :\n- le numéro SIREN de votre entreprise\n- votre adresse postale complète\n"
            "- votre numéro de téléphone\n\n") in body
    assert "article 10.4" in body and "espace client" in body and "support" in body
    with pytest.raises(ValueError, match="unknown missing item"):
        notice("domain_dossier_incomplete", {**SAMPLES["domain_dossier_incomplete"], "missing": ["fax"]})
