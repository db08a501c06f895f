"""PynamoDB models. Table names and keys match infra/resources.json (a test checks)."""
from __future__ import annotations

from pynamodb.attributes import (BooleanAttribute, JSONAttribute, ListAttribute, MapAttribute,
                                 NumberAttribute, UnicodeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from ..config import settings

_S = settings()


def _meta(key: str) -> type:
    return type("Meta", (), {"table_name": _S.table_name(key), "region": _S.region})


class CustomerModel(Model):
    Meta = _meta("customers")
    customer_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    email = UnicodeAttribute()
    phone = UnicodeAttribute()
    address = JSONAttribute()
    legal_name = UnicodeAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    siren = UnicodeAttribute(null=True)
    siret = UnicodeAttribute(null=True)
    vat_number = UnicodeAttribute(null=True)
    birth_date = UnicodeAttribute(null=True)
    parental_authorisation_ref = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    login = UnicodeAttribute(null=True)                 # R04: the subscriber's login identifier (accounts)
    reference_consent = BooleanAttribute(null=True)     # R08: may be cited as a commercial reference
    reference_consent_at = UnicodeAttribute(null=True)
    verification = JSONAttribute(null=True)             # R03: the open documents request, if any
    erased_at = UnicodeAttribute(null=True)             # R07: personal fields pseudonymised at this time
    updated_at = UnicodeAttribute(null=True)


class AcceptanceAttribute(MapAttribute):
    terms_version = UnicodeAttribute()
    accepted_at = UnicodeAttribute()
    client_ip = UnicodeAttribute()
    user_agent = UnicodeAttribute()


class CustomerOrdersIndex(GlobalSecondaryIndex):
    """A customer's orders, oldest first (R07 export; the customer's own views)."""
    class Meta:
        index_name = "customer"
        projection = AllProjection()
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class OrderModel(Model):
    Meta = _meta("orders")
    order_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    invoice_id = UnicodeAttribute()
    status = UnicodeAttribute()
    plan = UnicodeAttribute()
    options = ListAttribute(of=UnicodeAttribute, default=list)
    billing_period = UnicodeAttribute()
    payment_method = UnicodeAttribute()
    domain_name = UnicodeAttribute()
    domain_action = UnicodeAttribute()
    registry = UnicodeAttribute()
    acceptance = AcceptanceAttribute()
    request_fingerprint = UnicodeAttribute(null=True)
    # R13: SHA-256 (hex) of the order's secret token given once in the 201 of POST /orders; the
    # customer's access to its order (pre-contract information, withdrawal) until customer accounts.
    access_token_hash = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    by_customer = CustomerOrdersIndex()
    updated_at = UnicodeAttribute()


class CustomerContractsIndex(GlobalSecondaryIndex):
    """A customer's contracts, oldest first (R07 export; the customer's own views)."""
    class Meta:
        index_name = "customer"
        projection = AllProjection()
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ContractPlanIndex(GlobalSecondaryIndex):
    """R55: the contracts of a plan, oldest first (who a change of that plan affects); never a scan."""
    class Meta:
        index_name = "plan"
        projection = AllProjection()
    plan = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ContractModel(Model):
    Meta = _meta("contracts")
    contract_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    invoice_id = UnicodeAttribute()
    status = UnicodeAttribute()
    plan = UnicodeAttribute()
    options = ListAttribute(of=UnicodeAttribute, default=list)
    domain_name = UnicodeAttribute()
    storage_mb = NumberAttribute()
    mailboxes = NumberAttribute()
    mysql_databases = NumberAttribute()
    php = BooleanAttribute()
    starts_on = UnicodeAttribute()
    ends_on = UnicodeAttribute()
    node_id = UnicodeAttribute(null=True)
    command_id = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    renews_contract_id = UnicodeAttribute(null=True)   # R18: the contract this one replaces
    renewal_contract_id = UnicodeAttribute(null=True)  # R18: the contract that replaces this one
    space_id = UnicodeAttribute(null=True)             # the contract id the node knows the space by
    billing_period = UnicodeAttribute(default="yearly")  # R21: yearly or monthly, paid in advance
    holds = JSONAttribute(null=True)                   # R23/R49/R03: {reason: "restricted"|"suspended"}
    revision = NumberAttribute(default=0)              # optimistic lock for hold changes (read-modify-write)
    first_used_at = UnicodeAttribute(null=True)        # R32: first login/upload/mailbox use reported by the node
    first_use = JSONAttribute(null=True)               # R32: what the node saw (kind, node, at)
    first_use_node_at = UnicodeAttribute(null=True)    # R32: the node's own time of it (orders reports)
    ended_reason = UnicodeAttribute(null=True)         # why it ended early: withdrawal (R13), default (R26)...
    customer_login = UnicodeAttribute(null=True)       # R04: the subscriber login made with the order
    created_at = UnicodeAttribute()
    by_customer = CustomerContractsIndex()
    by_plan = ContractPlanIndex()                      # R55: the contracts a plan change affects
    renewal_refused = UnicodeAttribute(null=True)      # R55: an operator refused the next renewal (the change objected to)
    updated_at = UnicodeAttribute()


class ContractInvoicesIndex(GlobalSecondaryIndex):
    """A contract's invoices and credit notes, oldest first (R21 instalments, R23 overdue checks,
    R26 default, the admin contract view); never a scan."""
    class Meta:
        index_name = "contract"
        projection = AllProjection()
    contract_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class CustomerInvoicesIndex(GlobalSecondaryIndex):
    """A customer's invoices and credit notes, oldest first (R07 export; the customer's own views)."""
    class Meta:
        index_name = "customer"
        projection = AllProjection()
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class InvoiceModel(Model):
    Meta = _meta("invoices")
    invoice_id = UnicodeAttribute(hash_key=True)
    number = UnicodeAttribute()
    sequence = NumberAttribute()
    kind = UnicodeAttribute(default="invoice")
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    status = UnicodeAttribute()
    lines = JSONAttribute()
    subtotal_cents = NumberAttribute()
    vat_rate = UnicodeAttribute()
    vat_cents = NumberAttribute()
    total_cents = NumberAttribute()
    currency = UnicodeAttribute()
    issue_date = UnicodeAttribute()
    due_date = UnicodeAttribute()
    late_penalty_rate_percent = UnicodeAttribute()
    recovery_indemnity_cents = NumberAttribute()
    paid_at = UnicodeAttribute(null=True)
    payment_event_id = UnicodeAttribute(null=True)
    bill_to = JSONAttribute(null=True)                # the buyer as printed: name, address, email, SIREN/VAT
    credits_invoice_id = UnicodeAttribute(null=True)  # on a credit note: the invoice it corrects (R22)
    credited_by = UnicodeAttribute(null=True)         # on an invoice: its credit note
    reason = UnicodeAttribute(null=True)
    # What the invoice is for; decides what its payment does. None on the first invoice of an
    # order or renewal (legacy); "period" (R21 monthly instalment), "option" (R33), "penalty" (R24),
    # "termination" (R26).
    purpose = UnicodeAttribute(null=True)
    period_start = UnicodeAttribute(null=True)        # R21: the period the invoice pays for, in advance
    period_end = UnicodeAttribute(null=True)
    penalty_of = UnicodeAttribute(null=True)          # R24: on a penalty invoice, the late invoice
    refunded_cents = NumberAttribute(default=0)       # refunds recorded against its payment
    details = JSONAttribute(null=True)                # purpose-specific data (e.g. R33 options to add)
    created_at = UnicodeAttribute()
    by_customer = CustomerInvoicesIndex()
    by_contract = ContractInvoicesIndex()


class CustomerDomainsIndex(GlobalSecondaryIndex):
    """A customer's domains, oldest first (R07 export; the customer's own views)."""
    class Meta:
        index_name = "customer"
        projection = AllProjection()
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DomainModel(Model):
    """R34: one row per managed domain name; guards against a second contract for it."""
    Meta = _meta("domains")
    domain_name = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    registry = UnicodeAttribute()
    action = UnicodeAttribute()
    created_at = UnicodeAttribute()
    by_customer = CustomerDomainsIndex()
    # R13: when the registry accepted the registration: its fees are spent (kept on a withdrawal)
    fees_spent_at = UnicodeAttribute(null=True)
    # issue 4 (R37-R42): the domain's own lifecycle (domain/domains.DomainStatus; None = ordered)
    status = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute(null=True)            # the registry's expiry (info/creData/renData exDate)
    registered_at = UnicodeAttribute(null=True)         # registered or transferred in
    registrant_contact_id = UnicodeAttribute(null=True)  # our contact object at the registry
    auth_code = UnicodeAttribute(null=True)             # R38: the customer's transfer code, kept until done
    # The registry operation in progress, shown on the contract (never an unknown state):
    # {op_id, kind, state: queued|retrying|awaiting_registry|stalled, requested_at, attempts, last_error...}
    operation_id = UnicodeAttribute(null=True)          # = pending_operation.op_id, for write conditions
    pending_operation = JSONAttribute(null=True)
    last_operation = JSONAttribute(null=True)           # the latest finished one, with its outcome
    transfer_out = JSONAttribute(null=True)             # R39: {state, requested_at, by, reason...}
    decision = JSONAttribute(null=True)                 # R42: the latest decision recorded
    management_stopped_at = UnicodeAttribute(null=True)  # R40/R19
    zone_serial = NumberAttribute(null=True)            # R40: the serial of the zone sent to the node
    dns_records = JSONAttribute(null=True)              # R40: the customer's zone; None: the default zone
    dossier_invoice_id = UnicodeAttribute(null=True)    # R37/R38: the dossier fees invoice, once
    updated_at = UnicodeAttribute(null=True)


class PaymentReferenceIndex(GlobalSecondaryIndex):
    """R27: the rows of one provider payment (PaymentIntent id or bank reference): the payment,
    the refunds due on it and the refunds recorded (a `charge.refunded` names its PaymentIntent)."""
    class Meta:
        index_name = "reference"
        projection = AllProjection()
    provider_reference = UnicodeAttribute(hash_key=True)


class PaymentModel(Model):
    """R27: one row per payment provider event id, written with the effect it causes. Also, keyed
    `refund_due:<credit note id>`, a refund owed to the customer (R13), and, keyed on the refund
    event id, a refund recorded (see service/refunds.py for what `amount_cents` means there)."""
    Meta = _meta("payments")
    payment_event_id = UnicodeAttribute(hash_key=True)
    provider = UnicodeAttribute()
    event_type = UnicodeAttribute()
    outcome = UnicodeAttribute()
    invoice_id = UnicodeAttribute(null=True)
    amount_cents = NumberAttribute()
    currency = UnicodeAttribute()
    provider_reference = UnicodeAttribute(null=True)
    contract_id = UnicodeAttribute(null=True)
    command_id = UnicodeAttribute(null=True)
    received_at = UnicodeAttribute()
    refunded_cents = NumberAttribute(null=True)  # on a payment: the largest cumulative refund reported
    by_reference = PaymentReferenceIndex()


class NodeModel(Model):
    Meta = _meta("nodes")
    pool = UnicodeAttribute(hash_key=True)
    node_id = UnicodeAttribute(range_key=True)
    queue_url = UnicodeAttribute()
    capacity_mb = NumberAttribute()
    free_mb = NumberAttribute()
    drained = BooleanAttribute(default=False)
    http_address = UnicodeAttribute(null=True)
    last_seen_at = UnicodeAttribute(null=True)


class PendingCommandIndex(GlobalSecondaryIndex):
    """Sparse: only commands still waiting for their node's answer carry `pending_pool`."""
    class Meta:
        index_name = "pending"
        projection = AllProjection()
    pending_pool = UnicodeAttribute(hash_key=True)
    issued_at = UnicodeAttribute(range_key=True)


class NodeCommandModel(Model):
    Meta = _meta("node_commands")
    command_id = UnicodeAttribute(hash_key=True)
    node_id = UnicodeAttribute()
    queue_url = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    type = UnicodeAttribute()
    payload = JSONAttribute()
    status = UnicodeAttribute()
    issued_at = UnicodeAttribute()
    pending_pool = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    completed_at = UnicodeAttribute(null=True)
    pending = PendingCommandIndex()


class AlertModel(Model):
    """Operator alerts (R30: a failed command is never silent)."""
    Meta = _meta("alerts")
    state = UnicodeAttribute(hash_key=True)
    alert_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    message = UnicodeAttribute()
    refs = JSONAttribute()
    created_at = UnicodeAttribute()


class EvidenceModel(Model):
    """R56: the append-only per-customer evidence log."""
    Meta = _meta("evidence")
    customer_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    entity_type = UnicodeAttribute()
    entity_id = UnicodeAttribute()
    before = JSONAttribute(null=True)
    after = JSONAttribute(null=True)
    correlation_id = UnicodeAttribute(null=True)
    contract_id = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)


class MetaModel(Model):
    """Counters (the invoice sequence) and component heartbeats."""
    Meta = _meta("meta")
    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(null=True)
    text = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


class DueTimerIndex(GlobalSecondaryIndex):
    """Sparse: a timer carries `due_day` (UTC day of `due_at`) until it is done, so the sweep reads
    only what is due, one Query per day, never a scan."""
    class Meta:
        index_name = "due"
        projection = AllProjection()
    due_day = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class TimerModel(Model):
    """A deadline of a contract, invoice or order (R17, R19, R20...): fires once at `due_at`."""
    Meta = _meta("timers")
    timer_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    target_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    due_at = UnicodeAttribute()
    due_day = UnicodeAttribute(null=True)
    state = UnicodeAttribute()               # pending -> done (or cancelled)
    lease_until = UnicodeAttribute(null=True)  # a sweep's claim; after it, another sweep may send it again
    sends = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    done_at = UnicodeAttribute(null=True)
    due = DueTimerIndex()


class CustomerNoticesIndex(GlobalSecondaryIndex):
    """R54: a customer's notices, oldest first."""
    class Meta:
        index_name = "customer"
        projection = AllProjection()
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class UnsentNoticesIndex(GlobalSecondaryIndex):
    """Sparse: a notice carries `unsent` until SES accepted it, so the resend sweep reads only those."""
    class Meta:
        index_name = "unsent"
        projection = AllProjection()
    unsent = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class RecipientNoticesIndex(GlobalSecondaryIndex):
    """R54: the notices sent to one address (GET /dev/mail reads it; never a scan)."""
    class Meta:
        index_name = "recipient"
        projection = AllProjection()
    recipient = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class NoticeModel(Model):
    """R54: one email notice. `notice_id` is the caller's dedupe key (e.g. `expiry_notice#<contract>`),
    so a notice is stored once only (R17). Status: queued -> sending -> sent | failed (retried)."""
    Meta = _meta("notices")
    notice_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    contract_id = UnicodeAttribute(null=True)
    correlation_id = UnicodeAttribute(null=True)
    recipient = UnicodeAttribute()
    template = UnicodeAttribute()
    template_version = NumberAttribute()
    context = JSONAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    lease_until = UnicodeAttribute(null=True)  # a delivery's claim while it sends
    sent_at = UnicodeAttribute(null=True)
    ses_message_id = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    failed_at = UnicodeAttribute(null=True)
    by_customer = CustomerNoticesIndex()
    by_recipient = RecipientNoticesIndex()
    unsent = UnicodeAttribute(null=True)
    unsent_notices = UnsentNoticesIndex()


class CustomerAccountsIndex(GlobalSecondaryIndex):
    """R04/R06: the accounts of a customer (its subscriber and its beneficiaries)."""
    class Meta:
        index_name = "customer"
        projection = AllProjection()
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AccountModel(Model):
    """R04/R06: a login of a customer's account area. `role` is `subscriber` (administers) or
    `beneficiary` (uses the named contracts, administers nothing). Only the argon2id hash of the
    password is stored. `epoch` is in every access token: raising it revokes every session and
    token of the account at once (logout, password change, credentials lost or stolen)."""
    Meta = _meta("accounts")
    login = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    role = UnicodeAttribute()
    email = UnicodeAttribute()                         # where this login's credentials go (R04)
    name = UnicodeAttribute(null=True)
    contract_ids = ListAttribute(of=UnicodeAttribute, default=list)  # R06: a beneficiary's contracts
    password_hash = UnicodeAttribute(null=True)
    pending_password_hash = UnicodeAttribute(null=True)  # R04: reissued, valid next to the old one until used
    epoch = NumberAttribute(default=0)
    status = UnicodeAttribute(default="active")        # active | closed
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    password_changed_at = UnicodeAttribute(null=True)
    by_customer = CustomerAccountsIndex()


class SessionModel(Model):
    """R04: a login session. Its refresh token is stored as a SHA-256 only; the session is valid
    while its `epoch` equals the account's and it is neither expired nor ended."""
    Meta = _meta("sessions")
    session_id = UnicodeAttribute(hash_key=True)
    login = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    epoch = NumberAttribute()
    refresh_token_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    expires_epoch = NumberAttribute()                  # DynamoDB TTL
    ended_at = UnicodeAttribute(null=True)
    client_ip = UnicodeAttribute(null=True)


class ThrottleModel(Model):
    """A fixed-window counter (login, reset and intake rate limits): `throttle_key` names what is
    counted and the window, e.g. `login#id#<login>#<window start>`; DynamoDB expires it."""
    Meta = _meta("throttles")
    throttle_key = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_epoch = NumberAttribute()


class PlanChangeModel(Model):
    """R55: a change of a plan announced by an operator (21.2). `change_id` is derived from what
    the change says, so announcing the same change again resumes telling its customers."""
    Meta = _meta("plan_changes")
    change_id = UnicodeAttribute(hash_key=True)
    plan = UnicodeAttribute()
    description = UnicodeAttribute()
    effective_on = UnicodeAttribute()                  # Paris date
    removes_essential_function = BooleanAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    affected_contracts = NumberAttribute(default=0)
    notified_at = UnicodeAttribute(null=True)          # every affected customer was told


class CustomerChangeNoticesIndex(GlobalSecondaryIndex):
    """R55: the plan changes a customer was told about, oldest first."""
    class Meta:
        index_name = "customer"
        projection = AllProjection()
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ChangeNoticeModel(Model):
    """R55: one affected contract of a plan change: when its customer was told, until when it may
    object (one month after the later of the effective date and that day), and its objection."""
    Meta = _meta("change_notices")
    change_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute(range_key=True)
    customer_id = UnicodeAttribute()
    domain_name = UnicodeAttribute()
    plan = UnicodeAttribute()
    description = UnicodeAttribute()
    effective_on = UnicodeAttribute()                  # Paris date
    notified_at = UnicodeAttribute()
    objection_deadline = UnicodeAttribute()            # Paris date, the last day an objection is accepted
    notice_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    objected_at = UnicodeAttribute(null=True)
    objected_by = UnicodeAttribute(null=True)
    objection_reason = UnicodeAttribute(null=True)
    by_customer = CustomerChangeNoticesIndex()


ALL_MODELS = (CustomerModel, OrderModel, ContractModel, InvoiceModel, DomainModel, PaymentModel,
              NodeModel, NodeCommandModel, AlertModel, EvidenceModel, MetaModel, TimerModel, NoticeModel,
              AccountModel, SessionModel, ThrottleModel, PlanChangeModel, ChangeNoticeModel)

# Issue 5: each area adds its models below its own marker, then `ALL_MODELS += (...)`.
# --- abuse models (issue 5) ---
class AbuseReportCaseIndex(GlobalSecondaryIndex):
    """R48: the reports of an abuse case, oldest first (sparse: a report matched no case until processed)."""
    class Meta:
        index_name = "case"
        projection = AllProjection()
    case_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AbuseReportModel(Model):
    """R48: one complaint: filed by anyone (public intake) or entered by an operator (a court or
    authority order, a third party's written claim, 1.20). `reporter` is the third party's contact,
    kept for the case only: never shown to the customer, never in the evidence log; a report that
    matches no contract of ours is purged (`purge_epoch`, DynamoDB TTL)."""
    Meta = _meta("abuse_reports")
    report_id = UnicodeAttribute(hash_key=True)
    source = UnicodeAttribute()                       # public | court_order | authority_order | third_party_claim...
    category = UnicodeAttribute()
    target_kind = UnicodeAttribute(null=True)         # domain | url | mailbox (None: an operator named the contract)
    target = UnicodeAttribute(null=True)
    target_domain = UnicodeAttribute(null=True)       # the ASCII host to match
    description = UnicodeAttribute()
    reporter = JSONAttribute(null=True)               # {"email", "name"}: for the case only
    evidence_files = JSONAttribute(null=True)         # [{"filename", "content_type", "size_bytes", "key"}]
    document_reference = UnicodeAttribute(null=True)  # an operator's order or claim reference
    entered_by = UnicodeAttribute(null=True)          # the operator who entered it
    requested_contract_id = UnicodeAttribute(null=True)  # the contract an operator named
    requested_severity = UnicodeAttribute(null=True)
    status = UnicodeAttribute()                       # received -> matched | unmatched
    case_id = UnicodeAttribute(null=True)
    contract_id = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    processed_at = UnicodeAttribute(null=True)
    purge_epoch = NumberAttribute(null=True)          # DynamoDB TTL of an unmatched report
    by_case = AbuseReportCaseIndex()


class AbuseCaseCustomerIndex(GlobalSecondaryIndex):
    """R48/R49: a customer's abuse cases, oldest first (GET /me/abuse-cases; R49 recurrence)."""
    class Meta:
        index_name = "customer"
        projection = AllProjection()
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AbuseCaseContractIndex(GlobalSecondaryIndex):
    """R48: a contract's abuse cases, oldest first."""
    class Meta:
        index_name = "contract"
        projection = AllProjection()
    contract_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AbuseCaseStatusIndex(GlobalSecondaryIndex):
    """The operators' queue: cases by status, oldest first; never a scan."""
    class Meta:
        index_name = "status"
        projection = AllProjection()
    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AbuseCaseModel(Model):
    """R48/R49: the complaints about one contract and category, the customer's answers and the
    measures taken. `case_id` is `abc_<hash of contract and category>_<n>` (deterministic: two
    reports processed at once open one case). `revision` guards read-modify-writes."""
    Meta = _meta("abuse_cases")
    case_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    domain_name = UnicodeAttribute()
    category = UnicodeAttribute()
    severity = UnicodeAttribute()
    status = UnicodeAttribute()
    report_count = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    revision = NumberAttribute(default=0)
    notified_at = UnicodeAttribute(null=True)
    answer_deadline = UnicodeAttribute(null=True)     # R48: the instant the deadline ends
    answer_deadline_on = UnicodeAttribute(null=True)  # R48: the last day (Paris) to answer
    answers = JSONAttribute(null=True)                # [{"at", "by", "message"}]
    severity_history = JSONAttribute(null=True)       # [{"at", "by", "from", "to", "note"}]
    measures = JSONAttribute(null=True)               # R49: [{"measure", "level", "at", "by", ...}]
    measure_applied_at = UnicodeAttribute(null=True)  # R49: the last measure (recurrence)
    lifted_at = UnicodeAttribute(null=True)
    lifted_by = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)             # resolved | dismissed
    closed_at = UnicodeAttribute(null=True)
    close_note = UnicodeAttribute(null=True)
    by_customer = AbuseCaseCustomerIndex()
    by_contract = AbuseCaseContractIndex()
    by_status = AbuseCaseStatusIndex()


ALL_MODELS += (AbuseReportModel, AbuseCaseModel)
# --- tickets models (issue 5) ---
class CustomerTicketsIndex(GlobalSecondaryIndex):
    """R43: a customer's tickets, oldest first (the customer's own list)."""
    class Meta:
        index_name = "customer"
        projection = AllProjection()
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class OpenTicketsIndex(GlobalSecondaryIndex):
    """R43, sparse: a ticket carries `open_pool` only until it is taken into account, so operators
    read the open tickets soonest deadline first with one Query, never a scan."""
    class Meta:
        index_name = "open"
        projection = AllProjection()
    open_pool = UnicodeAttribute(hash_key=True)
    deadline_at = UnicodeAttribute(range_key=True)


class ContractIncidentsIndex(GlobalSecondaryIndex):
    """R45 -> R44, sparse: only incidents carry `incident_contract_id`; a contract's reported
    outages by start, with one Query."""
    class Meta:
        index_name = "incidents"
        projection = AllProjection()
    incident_contract_id = UnicodeAttribute(hash_key=True)
    incident_started_at = UnicodeAttribute(range_key=True)


class TicketModel(Model):
    """R43/R45: a support ticket. State open -> taken_into_account -> resolved (domain/tickets.py)."""
    Meta = _meta("tickets")
    ticket_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    contract_id = UnicodeAttribute(null=True)
    domain_name = UnicodeAttribute(null=True)          # the contract's domain, named in the notices
    kind = UnicodeAttribute()                          # question | incident | billing | other
    subject = UnicodeAttribute()
    state = UnicodeAttribute()
    opened_by = UnicodeAttribute()                     # the actor (R56 naming): "subscriber:<login>"...
    opened_by_login = UnicodeAttribute()
    opened_by_role = UnicodeAttribute()
    created_at = UnicodeAttribute()
    deadline_at = UnicodeAttribute()                   # R43: 48 business hours after created_at (UTC ISO)
    open_pool = UnicodeAttribute(null=True)            # sparse `open` index key, removed once taken into account
    breached = BooleanAttribute(default=False)         # R43: not taken into account by its deadline
    breached_at = UnicodeAttribute(null=True)
    taken_at = UnicodeAttribute(null=True)
    taken_by = UnicodeAttribute(null=True)
    taken_on_time = BooleanAttribute(null=True)
    incident = JSONAttribute(null=True)                # R45: {started_at, url, ended_at}
    incident_contract_id = UnicodeAttribute(null=True)  # sparse `incidents` index key (incidents only)
    incident_started_at = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    cause = UnicodeAttribute(null=True)                # R45: provider | outside_provider | no_fault_found
    resolution_note = UnicodeAttribute(null=True)
    message_count = NumberAttribute(default=0)
    last_message_at = UnicodeAttribute(null=True)
    request_fingerprint = UnicodeAttribute(null=True)  # an Idempotency-Key retry must ask for the same ticket
    updated_at = UnicodeAttribute()
    by_customer = CustomerTicketsIndex()
    open_tickets = OpenTicketsIndex()
    incidents = ContractIncidentsIndex()


class TicketMessageModel(Model):
    """R43: the messages of a ticket, in order (`message_id` starts with its UTC time)."""
    Meta = _meta("ticket_messages")
    ticket_id = UnicodeAttribute(hash_key=True)
    message_id = UnicodeAttribute(range_key=True)
    customer_id = UnicodeAttribute()
    author = UnicodeAttribute()                        # customer | operator
    actor = UnicodeAttribute()
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()


ALL_MODELS += (TicketModel, TicketMessageModel)
# --- availability models (issue 5) ---


class ProbeModel(Model):
    """R44: one probe of a hosting space by its node, keyed by the space's contract id (the id the
    node knows it by) and `at`, the back office's business time of receipt of the probe round
    (UTC ISO, milliseconds). One row per round, contract_id `round#<node>#<round id>` and at
    `round`, records the round's time of receipt (`received_at`) first, so a redelivered round
    is stored again under the same keys, never twice (service/availability.py)."""
    Meta = _meta("probes")
    contract_id = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)
    up = BooleanAttribute(null=True)
    status = NumberAttribute(null=True)                # HTTP status; None: no answer
    latency_ms = NumberAttribute(null=True)
    domain = UnicodeAttribute(null=True)
    node_id = UnicodeAttribute(null=True)
    round_id = UnicodeAttribute(null=True)
    probed_at = UnicodeAttribute(null=True)            # the node's own clock (kept for diagnosis)
    error = UnicodeAttribute(null=True)
    received_at = UnicodeAttribute(null=True)          # on a round's row: its business time of receipt
    expires_epoch = NumberAttribute()                  # DynamoDB TTL


class AvailabilityEventModel(Model):
    """R44/R50: an announced maintenance window (`kind` maintenance) or a force majeure event
    (`kind` force_majeure). `event_id` starts with the start instant (UTC, compact), so a query
    of a kind reads its events in start order; it is derived from what the event says, so
    announcing the same event again finds it."""
    Meta = _meta("availability_events")
    kind = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    start = UnicodeAttribute()
    end = UnicodeAttribute(null=True)                  # force majeure: None while it lasts
    nodes = JSONAttribute()                            # "all" or a list of node ids
    description = UnicodeAttribute()
    emergency = BooleanAttribute(default=False)        # maintenance announced after its start (15.2)
    announced_at = UnicodeAttribute()
    announced_by = UnicodeAttribute()
    ended_at = UnicodeAttribute(null=True)             # force majeure: when its end was recorded
    ended_by = UnicodeAttribute(null=True)


ALL_MODELS += (ProbeModel, AvailabilityEventModel)
# --- disputes models (issue 5) ---
class CustomerDisputesIndex(GlobalSecondaryIndex):
    """R46/R47/R51/R52/R53: a customer's claims, settlement cases, formal notices, oldest first."""
    class Meta:
        index_name = "customer"
        projection = AllProjection()
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ContractDisputesIndex(GlobalSecondaryIndex):
    """The disputes of a contract, oldest first (R52: its formal notices; the operator's list)."""
    class Meta:
        index_name = "contract"
        projection = AllProjection()
    contract_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DisputeModel(Model):
    """A claim (R46/R47), a settlement case (R51), a formal notice (R52) or an early termination
    (R53) of a contract; `kind` says which, `details` holds what that kind records, `decision` how
    it ended (service/disputes.py)."""
    Meta = _meta("disputes")
    dispute_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()                 # claim | settlement_case | formal_notice | early_termination
    customer_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    status = UnicodeAttribute()
    description = UnicodeAttribute()          # the claim, the breach, the customer's reason
    details = JSONAttribute()
    decision = JSONAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    by_customer = CustomerDisputesIndex()
    by_contract = ContractDisputesIndex()


ALL_MODELS += (DisputeModel,)
