"""Settings parsed once from the environment: the only reader of os.environ.

Every value marked *(config)* in spec/rules.md is a field here with its
default, so an operator changes it by environment, not by code.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Mapping


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    region: str = "eu-west-3"
    resource_prefix: str = "soho-dev"
    local_mode: bool = True
    payment_webhook_secret: str = "whsec_local_dev_secret"
    operator_api_key: str = "op_local_dev_key"
    ftp_password_secret: str = "ftp_local_dev_secret"  # R28: FTP passwords are derived from it, never stored
    ftp_host: str = "ftp.{domain}"  # R28: the FTP server named in the space-ready notice ({domain} replaced)
    stripe_tolerance_seconds: int = 300
    vat_rate: Decimal = Decimal("0.20")
    # R24: the invoice prints three times the French legal interest rate.
    legal_interest_rate_percent: Decimal = Decimal("6.65")
    invoice_number_prefix: str = "F"
    sender_email: str = "noreply@soho.example"  # R54: the From of every notice, an SES identity
    node_pool: str = "default"
    node_heartbeat_stale_seconds: int = 180  # three missed node heartbeats (one a minute)
    command_redispatch_after_seconds: int = 300
    expiry_notice_days: int = 60      # R17: sent this many days before the end; must be > 45
    data_retention_days: int = 30     # R20: hosted data kept this long after the end
    deletion_warning_days: int = 7    # R20: warning email this many days before the deletion
    monthly_invoice_lead_days: int = 10  # R21: a monthly instalment is issued this many days before its month
    overdue_suspend_days: int = 7     # R23: restricted on the due date (D+0), suspended at D+7
    default_termination_days: int = 30  # R26: default persisting this many days after the suspension
    termination_fee_cents: int = 5000   # R26: termination fees, excluding VAT
    # R13 (1.14): the seller as the pre-contract information names it. Empty fields are not printed;
    # a real stage sets every one (SOHO_SELLER_*).
    seller_legal_name: str = "SOHO Hébergement"
    seller_address: str = "18/20 rue du Faubourg du Temple, 75011 Paris, France"
    seller_email: str = "contact@soho.example"
    seller_phone: str = ""
    seller_siren: str = ""
    seller_vat_number: str = ""
    service_name: str = "soho-backoffice"
    # R04: customer authentication. Access tokens are HS256 JWTs signed with this secret.
    auth_token_secret: str = "auth_local_dev_secret_at_least_32_bytes!"
    access_token_minutes: int = 15
    session_days: int = 30
    login_attempts_per_login: int = 5      # per identifier and window; then 429 until the window ends
    login_attempts_per_address: int = 30   # per client address and window
    reset_requests_per_login: int = 3      # R04: credential reissues per identifier and window
    throttle_window_minutes: int = 15
    node_api_secret: str = "node_local_dev_secret"  # a node's HTTP key is HMAC(secret, node id)
    # Operator keys with scopes, JSON {"name": {"key_sha256": "<hex>", "scopes": ["billing", ...]}};
    # OPERATOR_API_KEY is the key named "root" with every scope.
    operator_keys_json: str = ""
    verification_deadline_days: int = 15   # R03: documents requested are due this many days later
    legal_retention_years: int = 10        # R07: invoices and evidence kept (pseudonymised) this long
    objection_window_months: int = 1       # R55: objection to a change, from the later of effect and notice
    # issue 5 tickets: R45 (15.3) an incident is reported promptly: started at most this many days before
    incident_report_max_days: int = 30
    # issue 5 availability: R44 commitment, probe retention (DynamoDB TTL), R50 termination threshold
    availability_target_percent: Decimal = Decimal("99.8")
    probe_retention_days: int = 400
    force_majeure_termination_days: int = 30
    # issue 5 abuse: R48 answer deadline, R49 recurrence window and matrix, intake rate limits and uploads
    abuse_answer_days: int = 7                  # R48: the customer answers by the end of this day (Paris)
    abuse_recurrence_days: int = 365            # R49: a measure within this many days makes a case a repeat
    abuse_sanctions_json: str = ""              # R49: the matrix as JSON; empty: chalicelib/data/sanctions.json
    abuse_reports_per_reporter: int = 5         # R48 intake: reports per reporter address and window
    abuse_reports_per_address: int = 20         # R48 intake: reports per client address and window
    abuse_report_window_minutes: int = 60
    abuse_upload_url_seconds: int = 900         # R48: how long an evidence upload form stays valid
    abuse_unmatched_retention_days: int = 90    # R48: a report about no contract of ours is purged after this
    # issue 4 domains: registry profiles (R36) and the registration flows (R37-R42)
    registry_profiles_json: str = ""     # JSON {registry: {host, port, client_id, ...}} over data/registries.json
    registry_passwords_json: str = ""    # JSON {registry: password}: EPP passwords, a secret (NoEcho)
    registry_endpoint: str = ""          # "host:port" for every profile (devstack: the local EPP registry)
    registry_ca_file: str = ""           # the CA of the registries' TLS certificates (devstack: its own CA)
    dossier_fees_cents: int = 1500       # R37/R38: dossier fees excl. VAT when a registration/transfer fails
    domain_renewal_lead_days: int = 30   # R41: the renewal (or the reminder) this many days before expiry
    domain_reminder_days: str = "60,30,7"  # R41: reminders for a domain the customer renews itself
    transfer_in_timeout_days: int = 7    # R38: a transfer not approved by then has failed
    registry_retry_attempts: int = 6     # every registry call: tries with backoff before an operator alert

    def table_name(self, key: str) -> str:
        return f"{self.resource_prefix}-{key}"

    def queue_name(self, key: str) -> str:
        return f"{self.resource_prefix}-{key}"

    def node_queue_name(self, node_id: str) -> str:
        return f"{self.resource_prefix}-node-{node_id}-commands"

    @property
    def late_penalty_rate_percent(self) -> Decimal:
        return self.legal_interest_rate_percent * 3

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        d = cls()
        local_mode = _flag(env.get("SOHO_LOCAL_MODE", "1"))
        missing = [k for k in ("PAYMENT_WEBHOOK_SECRET", "OPERATOR_API_KEY", "SOHO_FTP_PASSWORD_SECRET",
                               "SOHO_AUTH_TOKEN_SECRET", "SOHO_NODE_API_SECRET", "SOHO_REGISTRY_PASSWORDS")
                   if not env.get(k)]
        if not local_mode and missing:
            # The built-in defaults are public development values: never run a real stage on them.
            raise RuntimeError(f"{', '.join(missing)} must be set outside local mode")
        return cls(
            stage=env.get("SOHO_STAGE", d.stage),
            region=env.get("AWS_DEFAULT_REGION", env.get("AWS_REGION", d.region)),
            resource_prefix=env.get("SOHO_RESOURCE_PREFIX", d.resource_prefix),
            local_mode=local_mode,
            payment_webhook_secret=env.get("PAYMENT_WEBHOOK_SECRET", d.payment_webhook_secret),
            operator_api_key=env.get("OPERATOR_API_KEY", d.operator_api_key),
            ftp_password_secret=env.get("SOHO_FTP_PASSWORD_SECRET", d.ftp_password_secret),
            ftp_host=env.get("SOHO_FTP_HOST", d.ftp_host),
            stripe_tolerance_seconds=int(env.get("STRIPE_TOLERANCE_SECONDS", d.stripe_tolerance_seconds)),
            vat_rate=Decimal(env.get("SOHO_VAT_RATE", str(d.vat_rate))),
            legal_interest_rate_percent=Decimal(
                env.get("SOHO_LEGAL_INTEREST_RATE_PERCENT", str(d.legal_interest_rate_percent))),
            invoice_number_prefix=env.get("SOHO_INVOICE_PREFIX", d.invoice_number_prefix),
            sender_email=env.get("SOHO_SENDER_EMAIL", d.sender_email),
            node_pool=env.get("SOHO_NODE_POOL", d.node_pool),
            node_heartbeat_stale_seconds=int(
                env.get("SOHO_NODE_HEARTBEAT_STALE_SECONDS", d.node_heartbeat_stale_seconds)),
            command_redispatch_after_seconds=int(
                env.get("SOHO_COMMAND_REDISPATCH_AFTER_SECONDS", d.command_redispatch_after_seconds)),
            expiry_notice_days=int(env.get("SOHO_EXPIRY_NOTICE_DAYS", d.expiry_notice_days)),
            data_retention_days=int(env.get("SOHO_DATA_RETENTION_DAYS", d.data_retention_days)),
            deletion_warning_days=int(env.get("SOHO_DELETION_WARNING_DAYS", d.deletion_warning_days)),
            monthly_invoice_lead_days=int(env.get("SOHO_MONTHLY_INVOICE_LEAD_DAYS", d.monthly_invoice_lead_days)),
            overdue_suspend_days=int(env.get("SOHO_OVERDUE_SUSPEND_DAYS", d.overdue_suspend_days)),
            default_termination_days=int(env.get("SOHO_DEFAULT_TERMINATION_DAYS", d.default_termination_days)),
            termination_fee_cents=int(env.get("SOHO_TERMINATION_FEE_CENTS", d.termination_fee_cents)),
            seller_legal_name=env.get("SOHO_SELLER_LEGAL_NAME", d.seller_legal_name),
            seller_address=env.get("SOHO_SELLER_ADDRESS", d.seller_address),
            seller_email=env.get("SOHO_SELLER_EMAIL", d.seller_email),
            seller_phone=env.get("SOHO_SELLER_PHONE", d.seller_phone),
            seller_siren=env.get("SOHO_SELLER_SIREN", d.seller_siren),
            seller_vat_number=env.get("SOHO_SELLER_VAT_NUMBER", d.seller_vat_number),
            auth_token_secret=env.get("SOHO_AUTH_TOKEN_SECRET", d.auth_token_secret),
            access_token_minutes=int(env.get("SOHO_ACCESS_TOKEN_MINUTES", d.access_token_minutes)),
            session_days=int(env.get("SOHO_SESSION_DAYS", d.session_days)),
            login_attempts_per_login=int(env.get("SOHO_LOGIN_ATTEMPTS_PER_LOGIN", d.login_attempts_per_login)),
            login_attempts_per_address=int(
                env.get("SOHO_LOGIN_ATTEMPTS_PER_ADDRESS", d.login_attempts_per_address)),
            reset_requests_per_login=int(env.get("SOHO_RESET_REQUESTS_PER_LOGIN", d.reset_requests_per_login)),
            throttle_window_minutes=int(env.get("SOHO_THROTTLE_WINDOW_MINUTES", d.throttle_window_minutes)),
            node_api_secret=env.get("SOHO_NODE_API_SECRET", d.node_api_secret),
            operator_keys_json=env.get("SOHO_OPERATOR_KEYS", d.operator_keys_json),
            verification_deadline_days=int(
                env.get("SOHO_VERIFICATION_DEADLINE_DAYS", d.verification_deadline_days)),
            legal_retention_years=int(env.get("SOHO_LEGAL_RETENTION_YEARS", d.legal_retention_years)),
            objection_window_months=int(env.get("SOHO_OBJECTION_WINDOW_MONTHS", d.objection_window_months)),
            # issue 5 tickets
            incident_report_max_days=int(env.get("SOHO_INCIDENT_REPORT_MAX_DAYS", d.incident_report_max_days)),
            # issue 5 availability
            availability_target_percent=Decimal(
                env.get("SOHO_AVAILABILITY_TARGET_PERCENT", str(d.availability_target_percent))),
            probe_retention_days=int(env.get("SOHO_PROBE_RETENTION_DAYS", d.probe_retention_days)),
            force_majeure_termination_days=int(
                env.get("SOHO_FORCE_MAJEURE_TERMINATION_DAYS", d.force_majeure_termination_days)),
            # issue 5 abuse
            abuse_answer_days=int(env.get("SOHO_ABUSE_ANSWER_DAYS", d.abuse_answer_days)),
            abuse_recurrence_days=int(env.get("SOHO_ABUSE_RECURRENCE_DAYS", d.abuse_recurrence_days)),
            abuse_sanctions_json=env.get("SOHO_ABUSE_SANCTIONS_JSON", d.abuse_sanctions_json),
            abuse_reports_per_reporter=int(env.get("SOHO_ABUSE_REPORTS_PER_REPORTER", d.abuse_reports_per_reporter)),
            abuse_reports_per_address=int(env.get("SOHO_ABUSE_REPORTS_PER_ADDRESS", d.abuse_reports_per_address)),
            abuse_report_window_minutes=int(
                env.get("SOHO_ABUSE_REPORT_WINDOW_MINUTES", d.abuse_report_window_minutes)),
            abuse_upload_url_seconds=int(env.get("SOHO_ABUSE_UPLOAD_URL_SECONDS", d.abuse_upload_url_seconds)),
            abuse_unmatched_retention_days=int(
                env.get("SOHO_ABUSE_UNMATCHED_RETENTION_DAYS", d.abuse_unmatched_retention_days)),
            # issue 4 domains
            registry_profiles_json=env.get("SOHO_REGISTRY_PROFILES", d.registry_profiles_json),
            registry_passwords_json=env.get("SOHO_REGISTRY_PASSWORDS", d.registry_passwords_json),
            registry_endpoint=env.get("SOHO_REGISTRY_ENDPOINT", d.registry_endpoint),
            registry_ca_file=env.get("SOHO_REGISTRY_CA_FILE", d.registry_ca_file),
            dossier_fees_cents=int(env.get("SOHO_DOSSIER_FEES_CENTS", d.dossier_fees_cents)),
            domain_renewal_lead_days=int(env.get("SOHO_DOMAIN_RENEWAL_LEAD_DAYS", d.domain_renewal_lead_days)),
            domain_reminder_days=env.get("SOHO_DOMAIN_REMINDER_DAYS", d.domain_reminder_days),
            transfer_in_timeout_days=int(env.get("SOHO_TRANSFER_IN_TIMEOUT_DAYS", d.transfer_in_timeout_days)),
            registry_retry_attempts=int(env.get("SOHO_REGISTRY_RETRY_ATTEMPTS", d.registry_retry_attempts)),
        )

    def __post_init__(self) -> None:
        if self.expiry_notice_days <= 45:
            raise ValueError("R17: the expiry notice must be sent more than 45 days before the end")
        if not 0 < self.deletion_warning_days < self.data_retention_days:
            raise ValueError("R20: the deletion warning comes before the deletion, within the retention period")
        if not 0 <= self.monthly_invoice_lead_days <= 27:
            raise ValueError("R21: a monthly instalment is issued 0 to 27 days before its month")
        if self.overdue_suspend_days < 0 or self.default_termination_days < 1 or self.termination_fee_cents < 0:
            raise ValueError("R23/R26: the suspension follows the due date, the termination the suspension")


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()
