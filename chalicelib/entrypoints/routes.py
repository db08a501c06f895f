"""The route catalogue: every HTTP route, who may call it, and how the API document describes it.

One source for three things:
- the authorization middleware (middleware.authorize) looks up each request's route here and
  refuses what its `Access` does not allow (OWASP API5: function-level authorization);
- GET /openapi.json is generated from it (entrypoints/openapi.py);
- tests check it against the app: a route missing here makes the app refuse to start
  (`check_catalogue`) and the authorization matrix test fail.

`body` and `query` name pydantic models as "module:Class" (imported only to write the document).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from ..domain.access import (ANY_CUSTOMER, DEV, NODE_ONLY, ORDER_HOLDER, PUBLIC, SIGNED, SUBSCRIBER_ONLY, Access,
                             operator)


@dataclass(frozen=True)
class RouteSpec:
    access: Access
    summary: str
    ok: int = 200                       # the success status
    body: Optional[str] = None          # request body model, "chalicelib.contracts.x:Model"
    errors: tuple[int, ...] = ()        # the 4xx the route answers besides the access ones
    tag: str = "storefront"
    text_body: bool = False             # also accepts text/plain (empty body allowed)
    content: tuple[str, ...] = ("application/json",)  # success media types
    query: Optional[str] = None         # query parameters model, "chalicelib.contracts.x:Model"


SF = "chalicelib.contracts.storefront_v1"
ADM = "chalicelib.contracts.admin_v1"
ACC = "chalicelib.contracts.account_v1"

ROUTES: dict[tuple[str, str], RouteSpec] = {
    # Storefront and public
    ("GET", "/health"): RouteSpec(PUBLIC, "Liveness of the API and its components", tag="public"),
    ("GET", "/catalog"): RouteSpec(PUBLIC, "Plans, options, domain prices (R09)", tag="public"),
    ("GET", "/openapi.json"): RouteSpec(PUBLIC, "This API document", tag="public"),
    ("POST", "/orders"): RouteSpec(PUBLIC, "Place an order (R09, R10); Idempotency-Key honoured", ok=201,
                                   body=f"{SF}:OrderRequestV1", errors=(400, 409, 422)),
    ("PATCH", "/orders/{order_id}"): RouteSpec(PUBLIC, "R12: an order cannot be changed (always 409)", ok=409,
                                               errors=(404, 409)),
    ("PUT", "/orders/{order_id}"): RouteSpec(PUBLIC, "R12: an order cannot be changed (always 409)", ok=409,
                                             errors=(404, 409)),
    ("DELETE", "/orders/{order_id}"): RouteSpec(PUBLIC, "R12: an order cannot be cancelled (always 409)", ok=409,
                                                errors=(404, 409)),
    ("GET", "/orders/{order_id}/pre-contract-information"): RouteSpec(
        ORDER_HOLDER, "R13: the pre-contract information (JSON or text/plain)", errors=(404,),
        content=("application/json", "text/plain")),
    ("POST", "/orders/{order_id}/withdrawal"): RouteSpec(
        ORDER_HOLDER, "R13: a consumer withdraws within 14 days", ok=201, errors=(404, 409, 422), text_body=True),
    ("POST", "/webhooks/payments"): RouteSpec(SIGNED, "Payment provider events (Stripe-Signature)", errors=(400,),
                                              tag="payment provider"),
    # Operators
    ("GET", "/admin/contracts/{contract_id}"): RouteSpec(operator("read"), "A contract and its evidence (R56)",
                                                         errors=(404,), tag="operator"),
    ("POST", "/admin/contracts/{contract_id}/retry-provisioning"): RouteSpec(
        operator("provisioning"), "R30: provision a failed contract again", ok=202, errors=(404, 409), tag="operator"),
    ("POST", "/admin/contracts/{contract_id}/renewal"): RouteSpec(
        operator("contracts"), "R18: record the customer's acceptance of the renewal", ok=201,
        body=f"{ADM}:RenewalAcceptanceV1", errors=(400, 404, 409, 422), tag="operator"),
    ("GET", "/admin/orders/{order_id}"): RouteSpec(operator("read"), "An order", errors=(404,), tag="operator"),
    ("GET", "/admin/invoices/{invoice_id}"): RouteSpec(operator("read"), "An invoice", errors=(404,), tag="operator"),
    ("GET", "/admin/customers/{customer_id}/evidence"): RouteSpec(
        operator("read"), "R56: the customer's evidence log", errors=(404,), tag="operator"),
    ("GET", "/admin/alerts"): RouteSpec(operator("read"), "Open operator alerts (R30)", tag="operator"),
    ("POST", "/admin/invoices/{invoice_id}/bank-transfers"): RouteSpec(
        operator("billing"), "R27: record a bank transfer received", ok=201, body=f"{ADM}:BankTransferV1",
        errors=(400, 404, 409, 422), tag="operator"),
    ("POST", "/admin/guarantees"): RouteSpec(operator("billing"), "R25: record a guarantee for a bad payer", ok=201,
                                             body=f"{ADM}:GuaranteeV1", errors=(400,), tag="operator"),
    ("POST", "/admin/contracts/{contract_id}/options"): RouteSpec(
        operator("contracts"), "R33: order options mid-term (pro rata invoice)", ok=201,
        body=f"{ADM}:OptionsOrderV1", errors=(400, 404, 409, 422), tag="operator"),
    ("POST", "/admin/orders/{order_id}/irregular"): RouteSpec(
        operator("customers"), "R11: declare an unpaid order irregular", body=f"{ADM}:IrregularOrderV1",
        errors=(400, 404, 409), tag="operator"),
    ("POST", "/admin/orders/{order_id}/regularisation"): RouteSpec(
        operator("customers"), "R11: correct an irregular order", body=f"{ADM}:RegularisationV1",
        errors=(400, 404, 409, 422), tag="operator"),
    # --- accounts and customer area (R04, R06) ---
    ("POST", "/auth/login"): RouteSpec(PUBLIC, "R04: sign in; access and refresh tokens", body=f"{ACC}:LoginV1",
                                       errors=(400, 401, 429), tag="account"),
    ("POST", "/auth/refresh"): RouteSpec(PUBLIC, "R04: a new access token for a valid session",
                                         body=f"{ACC}:RefreshV1", errors=(400, 401), tag="account"),
    ("POST", "/auth/logout"): RouteSpec(ANY_CUSTOMER, "R04: end every session of this login", tag="account"),
    ("POST", "/auth/password-reset"): RouteSpec(PUBLIC, "R04: new credentials to the contact address on file",
                                                ok=202, body=f"{ACC}:ResetRequestV1", errors=(400, 429),
                                                tag="account"),
    ("PUT", "/me/password"): RouteSpec(ANY_CUSTOMER, "R04: change the password (every session ends)",
                                       body=f"{ACC}:PasswordChangeV1", errors=(400, 401, 409), tag="account"),
    ("POST", "/me/credentials-lost"): RouteSpec(ANY_CUSTOMER, "R04: credentials lost or stolen: revoke all, "
                                                "new credentials to the contact address", ok=202, errors=(409,),
                                                tag="account"),
    ("GET", "/me/contracts"): RouteSpec(ANY_CUSTOMER, "Your contracts (R06: a beneficiary's own)", tag="account"),
    ("GET", "/me/contracts/{contract_id}"): RouteSpec(ANY_CUSTOMER, "One of your contracts", errors=(404,),
                                                      tag="account"),
    ("GET", "/me/invoices"): RouteSpec(SUBSCRIBER_ONLY, "Your invoices and credit notes", tag="account"),
    ("GET", "/me/invoices/{invoice_id}"): RouteSpec(SUBSCRIBER_ONLY, "One invoice (JSON, or HTML to print)",
                                                    errors=(404,), tag="account",
                                                    content=("application/json", "text/html")),
    ("GET", "/me/domains"): RouteSpec(ANY_CUSTOMER, "Your domain names", tag="account"),
    ("POST", "/me/contracts/{contract_id}/options"): RouteSpec(
        SUBSCRIBER_ONLY, "R33: order options for the rest of the term", ok=201, body=f"{ADM}:OptionsOrderV1",
        errors=(400, 404, 409, 422), tag="account"),
    ("POST", "/me/contracts/{contract_id}/renewal"): RouteSpec(
        SUBSCRIBER_ONLY, "R18: accept the renewal offer", ok=201, body=f"{ACC}:RenewalV1",
        errors=(400, 404, 409, 422), tag="account"),
    ("GET", "/me/accounts"): RouteSpec(SUBSCRIBER_ONLY, "R06: the logins of your account", tag="account"),
    ("POST", "/me/beneficiaries"): RouteSpec(SUBSCRIBER_ONLY, "R06: name a beneficiary of a contract", ok=201,
                                             body=f"{ACC}:BeneficiaryV1", errors=(400, 404, 409), tag="account"),
    ("DELETE", "/me/beneficiaries/{login}"): RouteSpec(SUBSCRIBER_ONLY, "R06: close a beneficiary's login",
                                                       errors=(404, 409), tag="account"),
    ("POST", "/admin/customers/{customer_id}/credentials-delivery"): RouteSpec(
        operator("customers"), "R04: new credentials to another address, with an identity document reference",
        ok=202, body=f"{ACC}:CredentialsDeliveryV1", errors=(400, 404, 409), tag="operator"),
    ("GET", "/admin/customers/{customer_id}/accounts"): RouteSpec(operator("read"), "A customer's logins",
                                                                  errors=(404,), tag="operator"),
    ("POST", "/nodes/{node_id}/heartbeat"): RouteSpec(NODE_ONLY, "A hosting node reports it is alive",
                                                      errors=(404,), tag="node"),
    # --- personal data (R02, R03, R05, R07, R08) ---
    ("GET", "/me"): RouteSpec(ANY_CUSTOMER, "R02/R03/R08: your profile (a beneficiary: its own login only)",
                              tag="account"),
    ("PATCH", "/me"): RouteSpec(SUBSCRIBER_ONLY, "R02: change your contact email (no other field)",
                                body="chalicelib.contracts.privacy_v1:ContactEmailChangeV1", errors=(400, 409),
                                tag="account"),
    ("POST", "/me/identity-changes"): RouteSpec(
        SUBSCRIBER_ONLY, "R02: change identity data with the document that justifies it",
        body="chalicelib.contracts.privacy_v1:IdentityChangeV1", errors=(400, 409, 422), tag="account"),
    ("POST", "/me/verification-documents"): RouteSpec(
        SUBSCRIBER_ONLY, "R03: send a document for the open verification request", ok=201,
        body="chalicelib.contracts.privacy_v1:VerificationDocumentV1", errors=(400, 409, 422), tag="account"),
    ("PUT", "/me/reference-consent"): RouteSpec(
        SUBSCRIBER_ONLY, "R08: consent (or not) to be cited as a commercial reference",
        body="chalicelib.contracts.privacy_v1:ReferenceConsentV1", errors=(400, 409), tag="account"),
    ("GET", "/me/export"): RouteSpec(SUBSCRIBER_ONLY, "R07: everything held about you (JSON; logged)",
                                     tag="account"),
    ("POST", "/me/erasure"): RouteSpec(SUBSCRIBER_ONLY, "R07: erase your personal data (no contract running, "
                                       "nothing owed); 202, done by the erasure worker", ok=202, errors=(409,),
                                       tag="account"),
    ("POST", "/admin/customers/{customer_id}/identity-changes"): RouteSpec(
        operator("customers"), "R02: record an identity change with its justification",
        body="chalicelib.contracts.privacy_v1:IdentityChangeV1", errors=(400, 404, 409, 422), tag="operator"),
    ("POST", "/admin/customers/{customer_id}/verification-requests"): RouteSpec(
        operator("customers"), "R03: request documents with a deadline (suspension if none accepted)", ok=201,
        body="chalicelib.contracts.privacy_v1:VerificationRequestV1", errors=(400, 404, 409), tag="operator"),
    ("POST", "/admin/customers/{customer_id}/verification-requests/{request_id}/decision"): RouteSpec(
        operator("customers"), "R03: accept (lifts the suspension) or refuse the documents received",
        body="chalicelib.contracts.privacy_v1:VerificationDecisionV1", errors=(400, 404, 409), tag="operator"),
    ("GET", "/admin/customers/{customer_id}/export"): RouteSpec(
        operator("customers"), "R07: everything held about a customer (JSON; logged)", errors=(404,),
        tag="operator"),
    ("POST", "/admin/customers/{customer_id}/erasure"): RouteSpec(
        operator("customers"), "R07: erase a customer's personal data (pseudonymised legal records kept); 202",
        ok=202, errors=(404, 409), tag="operator"),
    # --- terms, assignment, changes (R55, R57, R58) ---
    ("GET", "/admin/contracts/{contract_id}/terms"): RouteSpec(
        operator("read"), "R58: the contract's effective terms, each value with its source document", errors=(404,),
        tag="operator"),
    ("GET", "/me/contracts/{contract_id}/terms"): RouteSpec(
        ANY_CUSTOMER, "R58: your contract's effective terms, each value with its source document", errors=(404,),
        tag="account"),
    ("POST", "/admin/contracts/{contract_id}/assignment"): RouteSpec(
        operator("contracts"), "R57: assign a contract in force to another customer (approval recorded)",
        body="chalicelib.contracts.terms_v1:AssignmentV1", errors=(400, 404, 409), tag="operator"),
    ("POST", "/me/contracts/{contract_id}/assignment-requests"): RouteSpec(
        SUBSCRIBER_ONLY, "R57: ask for an assignment; it waits for an operator's approval", ok=202,
        body="chalicelib.contracts.terms_v1:AssignmentRequestV1", errors=(400, 404, 409), tag="account"),
    ("POST", "/admin/plan-changes"): RouteSpec(
        operator("contracts"), "R55: announce a change of a plan; affected customers told when it removes an "
        "essential function", ok=201, body="chalicelib.contracts.terms_v1:PlanChangeV1", errors=(400, 422),
        tag="operator"),
    ("GET", "/me/plan-changes"): RouteSpec(ANY_CUSTOMER, "R55: the changes you were told about and their "
                                           "objection deadlines", tag="account"),
    ("POST", "/me/plan-changes/{change_id}/objection"): RouteSpec(
        SUBSCRIBER_ONLY, "R55: object to a change before its deadline", ok=201,
        body="chalicelib.contracts.terms_v1:ObjectionV1", errors=(400, 404, 409), tag="account", text_body=True),
    ("POST", "/admin/contracts/{contract_id}/renewal-refusal"): RouteSpec(
        operator("contracts"), "R55: refuse the next renewal of a contract whose customer objected to a change",
        body="chalicelib.contracts.terms_v1:RenewalRefusalV1", errors=(400, 404, 409), tag="operator"),
    ("POST", "/me/contracts/{contract_id}/plan-change-requests"): RouteSpec(
        SUBSCRIBER_ONLY, "R55 (21.3): ask for another plan: an offer, or no change",
        body="chalicelib.contracts.terms_v1:PlanChangeRequestV1", errors=(400, 404, 409, 422), tag="account"),
    # --- abuse (issue 5) ---
    ("POST", "/abuse-reports"): RouteSpec(
        PUBLIC, "R48: report an abuse (spam, illegal content, copyright, defamation, phishing/malware); the same "
        "202 whatever the target; evidence files through the pre-signed uploads of the answer", ok=202,
        body="chalicelib.contracts.abuse_v1:AbuseReportV1", errors=(400, 429), tag="abuse"),
    ("POST", "/admin/abuse-reports"): RouteSpec(
        operator("abuse"), "R48 (1.20): enter a court or authority order or a third party's written claim", ok=201,
        body="chalicelib.contracts.abuse_v1:AdminAbuseReportV1", errors=(400, 404, 409), tag="operator"),
    ("GET", "/me/abuse-cases"): RouteSpec(SUBSCRIBER_ONLY, "R48: the complaints about your services (never who "
                                          "complained) and the measures taken", tag="account"),
    ("POST", "/me/abuse-cases/{case_id}/answer"): RouteSpec(
        SUBSCRIBER_ONLY, "R48: answer a complaint before its deadline",
        body="chalicelib.contracts.abuse_v1:AbuseAnswerV1", errors=(400, 404, 409), tag="account"),
    ("GET", "/admin/abuse-cases"): RouteSpec(operator("abuse"), "R48/R49: abuse cases (?status=), the open ones first",
                                             errors=(400,), tag="operator"),
    ("GET", "/admin/abuse-cases/{case_id}"): RouteSpec(
        operator("abuse"), "R48/R49: a case with its reports, reporter contacts, evidence links and measures",
        errors=(404,), tag="operator"),
    ("POST", "/admin/abuse-cases/{case_id}/severity"): RouteSpec(
        operator("abuse"), "R49: qualify the severity (manifestly illegal: suspended at once)",
        body="chalicelib.contracts.abuse_v1:AbuseSeverityV1", errors=(400, 404, 409), tag="operator"),
    ("POST", "/admin/abuse-cases/{case_id}/measure"): RouteSpec(
        operator("abuse"), "R49: apply the matrix's measure now, or another with its reason",
        body="chalicelib.contracts.abuse_v1:AbuseMeasureV1", errors=(400, 404, 409, 422), tag="operator"),
    ("POST", "/admin/abuse-cases/{case_id}/close"): RouteSpec(
        operator("abuse"), "Close a case: resolved, or dismissed (no abuse)",
        body="chalicelib.contracts.abuse_v1:AbuseCloseV1", errors=(400, 404, 409), tag="operator"),
    ("POST", "/admin/abuse-cases/{case_id}/lift"): RouteSpec(
        operator("abuse"), "R49: lift the contract's abuse hold (never another reason's)",
        body="chalicelib.contracts.abuse_v1:AbuseLiftV1", errors=(400, 404, 409), tag="operator"),
    # --- tickets (issue 5) ---
    ("POST", "/me/tickets"): RouteSpec(
        ANY_CUSTOMER, "R43/R45: open a support ticket or report an incident; taken into account within 48 "
        "business hours (Paris); Idempotency-Key honoured", ok=201, body="chalicelib.contracts.tickets_v1:TicketV1",
        errors=(400, 404, 409, 422), tag="support"),
    ("GET", "/me/tickets"): RouteSpec(ANY_CUSTOMER, "R43: your tickets, newest first (a beneficiary: its own)",
                                      tag="support"),
    ("GET", "/me/tickets/{ticket_id}"): RouteSpec(ANY_CUSTOMER, "R43: one of your tickets with its messages",
                                                  errors=(404,), tag="support"),
    ("POST", "/me/tickets/{ticket_id}/messages"): RouteSpec(
        ANY_CUSTOMER, "R43: write on one of your tickets", ok=201,
        body="chalicelib.contracts.tickets_v1:TicketMessageV1", errors=(400, 404, 409, 422), tag="support"),
    ("GET", "/admin/tickets"): RouteSpec(
        operator("customers"), "R43: tickets not yet taken into account (?state=open), soonest deadline first, "
        "with breach flags", errors=(400,), tag="operator"),
    ("GET", "/admin/tickets/{ticket_id}"): RouteSpec(operator("customers"), "R43/R45: a ticket and its messages",
                                                     errors=(404,), tag="operator"),
    ("POST", "/admin/tickets/{ticket_id}/taken-into-account"): RouteSpec(
        operator("customers"), "R43: record a ticket taken into account (who, when; on time or late)",
        errors=(404, 409), tag="operator"),
    ("POST", "/admin/tickets/{ticket_id}/messages"): RouteSpec(
        operator("customers"), "R43: answer a ticket (mailed to the customer; takes an open ticket into account)",
        ok=201, body="chalicelib.contracts.tickets_v1:TicketMessageV1", errors=(400, 404, 409, 422),
        tag="operator"),
    ("POST", "/admin/tickets/{ticket_id}/resolution"): RouteSpec(
        operator("customers"), "R45: resolve a ticket with its cause; the customer is told when it lies outside "
        "the provider", body="chalicelib.contracts.tickets_v1:TicketResolutionV1", errors=(400, 404, 409, 422),
        tag="operator"),
    # --- domains (issue 4) ---
    ("GET", "/domains/availability"): RouteSpec(
        PUBLIC, "R35/R36: is this domain name available? (?name=); validated and routed to its registry first; "
        "the answer is no guarantee of availability", errors=(400, 422, 429),
        query="chalicelib.contracts.domains_v1:AvailabilityQueryV1", tag="public"),
    ("GET", "/me/contracts/{contract_id}/domain"): RouteSpec(
        ANY_CUSTOMER, "Issue 4: your contract's domain: status, expiry, the registry operation in progress",
        errors=(404,), tag="account"),
    ("POST", "/me/contracts/{contract_id}/domain/transfer-out"): RouteSpec(
        SUBSCRIBER_ONLY, "R39: move the domain to another provider before the contract's end (202 with its auth "
        "code); refused while a sum is owed (retention right)", ok=202, errors=(404, 409, 422), tag="account",
        text_body=True),
    ("POST", "/me/contracts/{contract_id}/domain/cancel-order"): RouteSpec(
        SUBSCRIBER_ONLY, "R37/R38: cancel the order after a refused registration or a failed transfer (the "
        "solution credited and refunded, the dossier fees due)", ok=201, errors=(404, 409), tag="account",
        text_body=True),
    ("GET", "/me/contracts/{contract_id}/domain/dns-records"): RouteSpec(
        ANY_CUSTOMER, "R40: the domain's zone in force (yours, or the default one pointing at your hosting)",
        errors=(404,), tag="account"),
    ("PUT", "/me/contracts/{contract_id}/domain/dns-records"): RouteSpec(
        SUBSCRIBER_ONLY, "R40: replace the domain's zone (validated, then set on the hosting node)",
        body="chalicelib.contracts.domains_v1:DnsZoneV1", errors=(400, 404, 409, 422), tag="account"),
    ("GET", "/admin/domains/{domain_name}"): RouteSpec(
        operator("read"), "Issue 4: a domain, its registry operation in progress, transfer-out and decision",
        errors=(400, 404, 422), tag="operations"),
    ("POST", "/admin/domains/{domain_name}/decisions"): RouteSpec(
        operator("domains"), "R42: record a court/administrative/dispute-resolution decision or the holder's "
        "request (cancel or transfer); executed at the registry, the customer informed", ok=202,
        body="chalicelib.contracts.domains_v1:DomainDecisionV1", errors=(400, 404, 409, 422), tag="operations"),
    ("POST", "/admin/domains/{domain_name}/retry"): RouteSpec(
        operator("domains"), "Issue 4: retry a registry operation stalled after its tries", ok=202,
        errors=(404, 409), tag="operations", text_body=True),
    # --- availability (issue 5) ---
    ("GET", "/admin/contracts/{contract_id}/availability"): RouteSpec(
        operator("read"), "R44: the month's availability of the hosting space (?month=YYYY-MM) vs 99.8 %",
        errors=(400, 404), tag="operator"),
    ("GET", "/me/contracts/{contract_id}/availability"): RouteSpec(
        ANY_CUSTOMER, "R44: your hosting space's availability for a month (?month=YYYY-MM)", errors=(400, 404),
        tag="account"),
    ("POST", "/admin/maintenance-windows"): RouteSpec(
        operator("provisioning"), "R44: announce a maintenance window (beforehand, or as an emergency)", ok=201,
        body="chalicelib.contracts.availability_v1:MaintenanceWindowV1", errors=(400, 422), tag="operator"),
    ("GET", "/admin/maintenance-windows"): RouteSpec(
        operator("read"), "R44: the announced maintenance windows (?month=YYYY-MM)", errors=(400,), tag="operator"),
    ("POST", "/admin/force-majeure"): RouteSpec(
        operator("contracts"), "R50: declare a force majeure event over a period and services", ok=201,
        body="chalicelib.contracts.availability_v1:ForceMajeureV1", errors=(400, 422), tag="operator"),
    ("GET", "/admin/force-majeure"): RouteSpec(
        operator("read"), "R50: the force majeure events (?month=YYYY-MM)", errors=(400,), tag="operator"),
    ("POST", "/admin/force-majeure/{event_id}/end"): RouteSpec(
        operator("contracts"), "R50: record the end of a force majeure event",
        body="chalicelib.contracts.availability_v1:ForceMajeureEndV1", errors=(400, 404, 409), tag="operator"),
    ("POST", "/admin/contracts/{contract_id}/force-majeure-termination"): RouteSpec(
        operator("contracts"), "R50: terminate a contract after more than 30 days of force majeure",
        body="chalicelib.contracts.availability_v1:ForceMajeureTerminationV1", errors=(400, 404, 409, 422),
        tag="operator"),
    ("POST", "/me/contracts/{contract_id}/force-majeure-termination"): RouteSpec(
        SUBSCRIBER_ONLY, "R50: terminate your contract after more than 30 days of force majeure",
        body="chalicelib.contracts.availability_v1:ForceMajeureTerminationV1", errors=(400, 404, 409, 422),
        tag="account"),
    # --- disputes (issue 5) ---
    ("POST", "/admin/claims"): RouteSpec(
        operator("contracts"), "R46/R47: record a claim; filed more than a year after its event it is time-barred",
        ok=201, body="chalicelib.contracts.disputes_v1:ClaimV1", errors=(400, 404, 422), tag="operator"),
    ("POST", "/admin/claims/{claim_id}/decision"): RouteSpec(
        operator("contracts"), "R46: decide a claim; compensation capped at the yearly price unless gross fault",
        body="chalicelib.contracts.disputes_v1:ClaimDecisionV1", errors=(400, 404, 409, 422), tag="operator"),
    ("GET", "/me/claims"): RouteSpec(SUBSCRIBER_ONLY, "R46/R47: your claims and their decisions", tag="account"),
    ("POST", "/me/claims"): RouteSpec(
        SUBSCRIBER_ONLY, "R47: file a claim about one of your contracts (time-barred after one year)", ok=201,
        body="chalicelib.contracts.disputes_v1:CustomerClaimV1", errors=(400, 404, 422), tag="account"),
    ("POST", "/admin/contracts/{contract_id}/settlement-cases"): RouteSpec(
        operator("contracts"), "R51: open a settlement case for a breach neither illegal nor a payment default",
        ok=201, body="chalicelib.contracts.disputes_v1:SettlementCaseV1", errors=(400, 404, 409, 422),
        tag="operator"),
    ("POST", "/admin/settlement-cases/{settlement_id}/outcome"): RouteSpec(
        operator("contracts"), "R51: a settlement case settled or failed",
        body="chalicelib.contracts.disputes_v1:SettlementOutcomeV1", errors=(400, 404, 409), tag="operator"),
    ("POST", "/admin/contracts/{contract_id}/formal-notices"): RouteSpec(
        operator("contracts"), "R52: serve (or record the customer's) formal notice for a gross breach", ok=201,
        body="chalicelib.contracts.disputes_v1:FormalNoticeV1", errors=(400, 404, 409, 422), tag="operator"),
    ("POST", "/admin/formal-notices/{formal_notice_id}/remedied"): RouteSpec(
        operator("contracts"), "R52: the breach was remedied: no termination on this notice",
        body="chalicelib.contracts.disputes_v1:RemedyV1", errors=(400, 404, 409), tag="operator"),
    ("POST", "/admin/contracts/{contract_id}/termination"): RouteSpec(
        operator("contracts"), "R52: terminate for gross breach once the formal notice's month is over",
        body="chalicelib.contracts.disputes_v1:BreachTerminationV1", errors=(400, 404, 409, 422), tag="operator"),
    ("GET", "/admin/contracts/{contract_id}/disputes"): RouteSpec(
        operator("read"), "A contract's claims, settlement cases, formal notices, early termination", errors=(404,),
        tag="operator"),
    ("POST", "/me/contracts/{contract_id}/early-termination"): RouteSpec(
        SUBSCRIBER_ONLY, "R53: end your contract early; outside the allowed cases the remaining sums are owed",
        ok=201, body="chalicelib.contracts.disputes_v1:EarlyTerminationV1", errors=(400, 404, 409, 422),
        tag="account"),
    # Local mode only (404 on a real stage)
    ("GET", "/dev/clock"): RouteSpec(DEV, "The business clock (local mode)", tag="development"),
    ("POST", "/dev/clock"): RouteSpec(DEV, "Move the business clock forward (local mode)", body=f"{ADM}:ClockMoveV1",
                                      errors=(400, 409), tag="development"),
    ("GET", "/dev/mail"): RouteSpec(DEV, "Mails sent to an address (local mode)", errors=(400,), tag="development"),
}


def route_spec(method: str, path: str) -> Optional[RouteSpec]:
    return ROUTES.get((method.upper(), path))


def check_catalogue(app_routes: dict[str, dict]) -> None:
    """Every route of the app is in ROUTES and every entry of ROUTES is a route of the app;
    raises RuntimeError naming the differences (the app refuses to start)."""
    served = {(method.upper(), path) for path, methods in app_routes.items() for method in methods}
    missing, stale = served - set(ROUTES), set(ROUTES) - served
    if missing or stale:
        raise RuntimeError(f"route catalogue out of step: not in ROUTES {sorted(missing)}; "
                           f"in ROUTES but not served {sorted(stale)} (chalicelib/entrypoints/routes.py)")


def routes_needing(kinds: Iterable[str]) -> list[tuple[str, str]]:
    wanted = set(kinds)
    return sorted(key for key, spec in ROUTES.items() if spec.access.kind in wanted)


__all__ = ["ROUTES", "RouteSpec", "check_catalogue", "route_spec", "routes_needing", "ANY_CUSTOMER",
           "SUBSCRIBER_ONLY", "NODE_ONLY"]
