"""Use cases of domain names (R35-R42): availability, registration and transfer-in after the first
payment, registry answers read by poll, renewal, transfer-out, decisions, management stop.

Every call to a registry is an *operation* stored on the domain row (`pending_operation`, shown on
the contract) and run by a timer (`domain_operation`), so nothing is lost between two steps:

- the first payment writes the operation and its timer in its own transaction;
- the timer's handler makes the EPP call; what the registry answered and the domain's move commit
  with the timer's done mark, with an evidence entry per registry interaction (R56);
- a transport error (the outcome is unknown) schedules the next try with backoff; after the
  configured tries the operation is `stalled`, an operator is alerted and may retry it;
- a call repeated after a crash finds what the first one did (a create answered 2302 is looked up
  with `info`: ours means it was ours), so it changes nothing twice.

The registries answer registrations and transfers later: a schedule polls each registry, puts
each message on the `registry-events` queue and acknowledges it; `on_registry_event` applies it
under conditions on the domain's status, so a duplicate or late message changes nothing.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Optional
from urllib.parse import urlparse

from ..adapters.dynamo_store import Effect, TransactionConflict, new_alert, new_id
from ..adapters.models import ContractModel, DomainModel, InvoiceModel, TimerModel
from ..bootstrap import Services
from ..domain.calendar import PARIS, parse_iso, utc_iso
from ..domain.domains import (AFNIC, AVAILABILITY_DISCLAIMER, AVAILABILITY_DISCLAIMER_FR, DECISION_ACTIONS,
                              DECISION_KINDS, NETWORK_SOLUTIONS, SUBCONTRACTOR, TRANSFER_APPROVED,
                              TRANSFER_FAILED_STATUSES, DomainEvent, DomainStatus, SumOwed, check_transfer_out,
                              check_transfer_window, domain_statuses_accepting, dossier_missing, next_domain_status,
                              normalise_domain, registry_for, renewal_action, renewed_by_provider,
                              retry_delay_seconds)
from ..domain.errors import (ConflictError, InvalidInputError, NotFoundError, RegistryUnavailableError,
                             RuleViolationError)
from ..domain.evidence import state_change
from ..domain.registrar import (ACTION_PENDING, INVALID_AUTHORIZATION_INFORMATION, OBJECT_DOES_NOT_EXIST,
                                OBJECT_EXISTS, OBJECT_NOT_PENDING_TRANSFER, OBJECT_PENDING_TRANSFER, Contact,
                                CommandResult, RegistrarGateway, RegistryCommandError, RegistryTransportError)
from ..observability import logger
from .timers import schedule, send_now, timer_handler, timer_row

OPERATION_TIMER = "domain_operation"
EXPIRY_TIMER = "domain_expiry"
TRANSFER_TIMEOUT_TIMER = "domain_transfer_timeout"
DOSSIER_FEES = "dossier_fees"
REGISTRY_LABELS = {AFNIC: "Afnic", "eurid": "EURid", NETWORK_SOLUTIONS: "Network Solutions",
                   SUBCONTRACTOR: "notre sous-traitant"}
_registrars_cache: dict[int, Any] = {}


# ---- the gateway ------------------------------------------------------------------------------------
def registrar(services: Services, registry: str) -> RegistrarGateway:
    """The gateway of one registry: the injected one (tests), else EPP over TLS (adapters/epp.py)."""
    registrars = services.registrars
    if registrars is None:
        key = id(services.settings)
        if key not in _registrars_cache:
            from ..adapters.epp import EppRegistrars
            _registrars_cache[key] = EppRegistrars(services.settings)
        registrars = _registrars_cache[key]
    return registrars.gateway(registry)


def _actor(registry: str) -> str:
    return f"registry:{registry}"


def _registry_entry(domain: DomainModel, now: datetime, command: str, *, code: Optional[int] = None,
                    message: Optional[str] = None, **details: Any):
    """R56: one registry interaction (command, result code, message) in the customer's evidence."""
    status = domain.status or DomainStatus.ORDERED.value
    return state_change(domain.customer_id, now, _actor(domain.registry), "domain", domain.domain_name, status,
                        status, action=f"registry.{command}", contract_id=domain.contract_id,
                        **({"result_code": code} if code is not None else {}),
                        **({"registry_message": message} if message else {}), **details)


# ---- R35: availability ------------------------------------------------------------------------------
def check_availability(name: str, services: Services) -> dict[str, Any]:
    """R35 + R36: the name is validated and routed before any registry call; the answer says it is
    no guarantee of availability."""
    ascii_name = normalise_domain(name)
    registry = registry_for(ascii_name)
    try:
        [result] = registrar(services, registry).check([ascii_name])
    except RegistryTransportError as exc:
        raise RegistryUnavailableError(f"the {REGISTRY_LABELS.get(registry, registry)} registry did not answer; "
                                       f"retry in a minute ({exc})") from None
    return {"domain": ascii_name, "unicode": _unicode(ascii_name), "registry": registry,
            "available": result.available, "reason": result.reason,
            "checked_at": utc_iso(services.clock.now()), "guarantee": False,
            "notice": AVAILABILITY_DISCLAIMER, "notice_fr": AVAILABILITY_DISCLAIMER_FR}


def _unicode(ascii_name: str) -> str:
    import idna
    try:
        return idna.decode(ascii_name)
    except idna.IDNAError:
        return ascii_name


# ---- R38: the order-time transfer check ---------------------------------------------------------------
def verify_transfer_in(ascii_name: str, registry: str, auth_code: str, services: Services) -> dict[str, Any]:
    """R38: a transfer-in is accepted at order time only inside its windows (>= 45 days before the
    expiry, >= 60 days after the creation), read from the registry's `info` with the auth code."""
    if not auth_code:
        raise InvalidInputError("a transfer needs the domain's auth code (domain.auth_code) from its current "
                                "registrar", code="missing_auth_code", fields={"domain.auth_code": "required"})
    gateway = registrar(services, registry)
    try:
        info = gateway.info(ascii_name, auth_code=auth_code)
    except RegistryTransportError as exc:
        raise RegistryUnavailableError(f"the registry did not answer the transfer check; retry ({exc})") from None
    except RegistryCommandError as exc:
        if exc.code == OBJECT_DOES_NOT_EXIST:
            raise RuleViolationError(f"{ascii_name} is not registered: order it with domain.action = register",
                                     code="domain_not_registered", fields={"domain.action": "use register"}) from None
        if exc.code == INVALID_AUTHORIZATION_INFORMATION:
            raise RuleViolationError("the auth code is not the domain's: ask its current registrar for it",
                                     code="invalid_auth_code", fields={"domain.auth_code": "wrong code"}) from None
        raise RuleViolationError(f"the registry refused the transfer check: {exc.message}",
                                 code="transfer_check_refused", fields={"domain.name": exc.message}) from None
    if info.registrar != gateway.client_id and info.auth_code != auth_code:
        # the registry answers a non-sponsor's info without confirming a wrong code (or with 2202)
        raise RuleViolationError("the auth code is not the domain's: ask its current registrar for it",
                                 code="invalid_auth_code", fields={"domain.auth_code": "wrong code"})
    if info.registrar == gateway.client_id:
        raise ConflictError(f"{ascii_name} is already managed by us", code="domain_already_here",
                            fields={"domain.name": "already ours"})
    today = services.clock.now().astimezone(PARIS).date()
    if info.expires_at is None:
        raise RuleViolationError("the registry gives no expiry date for this domain; contact support",
                                 code="transfer_check_refused", fields={"domain.name": "no expiry"})
    check_transfer_window(info.created_at.astimezone(PARIS).date(), info.expires_at.astimezone(PARIS).date(),
                          today)
    return {"created_at": utc_iso(info.created_at), "expires_at": utc_iso(info.expires_at),
            "registrar": info.registrar}


# ---- operations: start, run, retry ---------------------------------------------------------------------
def _operation(kind: str, now: datetime, **params: Any) -> dict[str, Any]:
    return {"op_id": new_id("dop"), "kind": kind, "state": "queued", "requested_at": utc_iso(now), "attempts": 0,
            **params}


def _operation_timer(domain_name: str, customer_id: str, op: dict, due: datetime, now: datetime) -> TimerModel:
    """One try of an operation: `<domain>#<op id>#<round>.<try>`. The tries are counted on the
    operation itself (`attempts`); an operator's retry starts a new round."""
    try_id = f"{int(op.get('round', 0))}.{int(op.get('attempts', 0))}"
    return timer_row(OPERATION_TIMER, f"{domain_name}#{op['op_id']}#{try_id}", customer_id, due, now)


def start_operation(effect: Effect, domain: DomainModel, kind: str, services: Services, now: datetime,
                    *, actor: str = "system", label: str = "domain", extra_actions: Optional[list] = None,
                    **params: Any) -> dict[str, Any]:
    """Store a registry operation on the domain (only when none is in progress) and its first try
    as a timer due now; after the commit the timer is sent at once (the sweep would find it too)."""
    op = _operation(kind, now, **params)
    guard = DomainModel.operation_id.does_not_exist() & (DomainModel.contract_id == domain.contract_id)
    effect.update(label, DomainModel(domain_name=domain.domain_name),
                  [DomainModel.operation_id.set(op["op_id"]), DomainModel.pending_operation.set(op),
                   DomainModel.updated_at.set(utc_iso(now)), *(extra_actions or [])], guard)
    timer = _operation_timer(domain.domain_name, domain.customer_id, op, now, now)
    schedule(effect, timer)
    effect.evidence.append(state_change(
        domain.customer_id, now, actor, "domain", domain.domain_name, domain.status or DomainStatus.ORDERED.value,
        domain.status or DomainStatus.ORDERED.value, action=f"domain.operation_requested", kind=kind,
        op_id=op["op_id"], contract_id=domain.contract_id,
        **{k: v for k, v in params.items() if k not in ("auth_code",)}))
    effect.after_commit.append(lambda: send_now(timer.timer_id, services))
    return op


def start_on_first_payment(effect: Effect, contract: ContractModel, now: datetime, services: Services) -> None:
    """R37/R38: the first payment completes the dossier's payment: the domain's acquisition (a
    registration or a transfer-in, as ordered) starts, written in the payment's own transaction
    without reading the domain (its first try reads it)."""
    domain = DomainModel(domain_name=contract.domain_name, contract_id=contract.contract_id,
                         customer_id=contract.customer_id, registry="", action="")
    start_operation(effect, domain, "acquire", services, now, actor="system", label="domain_operation")


def _run_acquire(effect: Effect, domain: DomainModel, op: dict, gateway: RegistrarGateway, services: Services,
                 now: datetime) -> None:
    """The first try of an acquisition: a registration (R37) or a transfer-in (R38), as ordered."""
    op["kind"] = "transfer_in" if domain.action == "transfer" else "register"
    RUNNERS[op["kind"]](effect, domain, op, gateway, services, now)


@timer_handler(OPERATION_TIMER)
def on_operation_due(timer: TimerModel, services: Services) -> Optional[Effect]:
    """Run one try of a domain's registry operation (see the module docstring)."""
    name, op_id, _try = timer.target_id.rsplit("#", 2)
    domain = _get_domain(name)
    if domain is None or domain.operation_id != op_id or not domain.pending_operation:
        return None
    op = dict(domain.pending_operation)
    if op.get("state") not in ("queued", "retrying"):
        return None
    now = services.clock.now()
    effect = Effect()
    gateway = registrar(services, domain.registry)
    try:
        RUNNERS[op["kind"]](effect, domain, op, gateway, services, now)
    except RegistryTransportError as exc:
        return _transport_failure(domain, op, str(exc), services, now)
    except RegistryCommandError as exc:
        return _command_failure(domain, op, exc, now)
    return effect


def _command_failure(domain: DomainModel, op: dict, exc: RegistryCommandError, now: datetime) -> Effect:
    """A registry refusal no step of the operation expected (e.g. the name vanished between two
    calls): the operation ends with the registry's answer and an operator is alerted, rather than
    its timer going round until the dead-letter queue."""
    effect = Effect()
    _finish(effect, domain, op, now, "registry_error", reason=exc.message, result_code=exc.code)
    effect.evidence.append(_registry_entry(domain, now, f"{op['kind']}.refused", code=exc.code, message=exc.message))
    effect.save("alert", new_alert(
        "registry_operation_failed", f"{op['kind']} of {domain.domain_name} at {domain.registry}: EPP {exc.code} "
        f"{exc.message}", now, alert_key=f"registry_failed#{op['op_id']}", domain=domain.domain_name,
        contract_id=domain.contract_id))
    return effect


def _transport_failure(domain: DomainModel, op: dict, error: str, services: Services, now: datetime) -> Effect:
    """The outcome is unknown: the next try comes with backoff; past the last, the operation is
    stalled and an operator is alerted (it stays on the domain, shown on the contract)."""
    effect = Effect()
    tries = int(op.get("attempts", 0)) + 1
    op = {**op, "attempts": tries, "last_error": error[:300], "last_try_at": utc_iso(now)}
    if tries < services.settings.registry_retry_attempts:
        due = now + timedelta(seconds=retry_delay_seconds(tries))
        op.update(state="retrying", next_try_at=utc_iso(due))
        schedule(effect, _operation_timer(domain.domain_name, domain.customer_id, op, due, now))
    else:
        op.update(state="stalled")
        effect.save("alert", new_alert(
            "registry_operation_stalled", f"{op['kind']} of {domain.domain_name} at {domain.registry} failed "
            f"{tries} times ({error[:200]}); retry it with POST /admin/domains/{domain.domain_name}/retry", now,
            alert_key=f"registry_stalled#{op['op_id']}", domain=domain.domain_name, contract_id=domain.contract_id))
    effect.update("domain", DomainModel(domain_name=domain.domain_name),
                  [DomainModel.pending_operation.set(op), DomainModel.updated_at.set(utc_iso(now))],
                  DomainModel.operation_id == op["op_id"])
    effect.evidence.append(_registry_entry(domain, now, f"{op['kind']}.transport_error", error=error[:300],
                                           attempt=tries, next_try_at=op.get("next_try_at")))
    logger.warning("registry call failed", domain=domain.domain_name, kind=op["kind"], attempt=tries, error=error)
    return effect


def retry_operation(domain_name: str, services: Services, operator: str) -> dict[str, Any]:
    """An operator retries a stalled operation: a new round of tries from now."""
    domain = _require_domain(domain_name)
    op = dict(domain.pending_operation or {})
    if op.get("state") != "stalled":
        raise ConflictError(f"{domain_name} has no stalled registry operation "
                            f"({op.get('kind', 'none')} is {op.get('state', 'absent')})",
                            code="no_stalled_operation", fields={"domain": op.get("state", "none")})
    now = services.clock.now()
    op.update(state="retrying", attempts=0, round=int(op.get("round", 0)) + 1, retried_by=f"operator:{operator}",
              retried_at=utc_iso(now))
    effect = Effect().update("domain", DomainModel(domain_name=domain_name),
                             [DomainModel.pending_operation.set(op), DomainModel.updated_at.set(utc_iso(now))],
                             DomainModel.operation_id == op["op_id"])
    timer = _operation_timer(domain_name, domain.customer_id, op, now, now)
    schedule(effect, timer)
    effect.evidence.append(state_change(domain.customer_id, now, f"operator:{operator}", "domain", domain_name,
                                        domain.status, domain.status, action="domain.operation_retried",
                                        kind=op["kind"], contract_id=domain.contract_id))
    _commit(effect, services, "the domain changed meanwhile; read it again")
    send_now(timer.timer_id, services)
    return domain_view(_get_domain(domain_name))


def _finish(effect: Effect, domain: DomainModel, op: dict, now: datetime, outcome: str, *,
            status_event: Optional[DomainEvent] = None, actions: Optional[list] = None, **details: Any) -> None:
    """The operation is over (`outcome`): the domain moves (if an event is given), the operation
    becomes `last_operation`, in one conditional update."""
    done = {"op_id": op["op_id"], "kind": op["kind"], "outcome": outcome, "requested_at": op.get("requested_at"),
            "finished_at": utc_iso(now), **{k: v for k, v in details.items() if v is not None}}
    updates = [DomainModel.operation_id.remove(), DomainModel.pending_operation.remove(),
               DomainModel.last_operation.set(done), DomainModel.updated_at.set(utc_iso(now)), *(actions or [])]
    condition = DomainModel.operation_id == op["op_id"]
    if status_event is not None:
        target = next_domain_status(domain.status, status_event)
        updates.append(DomainModel.status.set(target.value))
        effect.evidence.append(state_change(
            domain.customer_id, now, _actor(domain.registry), "domain", domain.domain_name,
            domain.status or DomainStatus.ORDERED.value, target.value, contract_id=domain.contract_id,
            kind=op["kind"], outcome=outcome, **{k: v for k, v in details.items() if v is not None}))
    effect.update("domain", DomainModel(domain_name=domain.domain_name), updates, condition)


def _await_registry(effect: Effect, domain: DomainModel, op: dict, now: datetime, event: DomainEvent,
                    result: CommandResult, extra: Optional[list] = None) -> None:
    """1001: the registry will answer by poll; the operation waits for it (shown on the contract)."""
    op = {**op, "state": "awaiting_registry", "sent_at": utc_iso(now), "server_trid": result.server_trid}
    target = next_domain_status(domain.status, event)
    effect.update("domain", DomainModel(domain_name=domain.domain_name),
                  [DomainModel.pending_operation.set(op), DomainModel.status.set(target.value),
                   DomainModel.updated_at.set(utc_iso(now)), *(extra or [])],
                  DomainModel.operation_id == op["op_id"])
    effect.evidence.append(state_change(domain.customer_id, now, _actor(domain.registry), "domain",
                                        domain.domain_name, domain.status or DomainStatus.ORDERED.value, target.value,
                                        contract_id=domain.contract_id, kind=op["kind"], result_code=result.code))


# ---- R37: registration -------------------------------------------------------------------------------
def _contact_id(customer_id: str) -> str:
    """Our contact object at the registries for a customer (EPP ids are 3-16 characters)."""
    return "SH" + hashlib.sha256(customer_id.encode()).hexdigest()[:12].upper()


def _run_register(effect: Effect, domain: DomainModel, op: dict, gateway: RegistrarGateway, services: Services,
                  now: datetime) -> None:
    """R37: register as the customer's agent once the dossier is complete: the holder's contact,
    then the create; 1001 waits for the registry's answer by poll."""
    customer = services.store.get_customer(domain.customer_id)
    missing = dossier_missing(domain.registry, kind=customer.kind, siren=customer.siren, email=customer.email,
                              phone=customer.phone, address=customer.address)
    if missing:
        _dossier_incomplete(effect, domain, op, missing, services, now)
        return
    contact_id = domain.registrant_contact_id or _contact_id(customer.customer_id)
    name = customer.legal_name or f"{customer.first_name} {customer.last_name}"
    address = customer.address or {}
    contact = Contact(contact_id=contact_id, name=name, email=customer.email, phone=_epp_phone(customer.phone),
                      street=address.get("line1", ""), city=address.get("city", ""),
                      postcode=address.get("postcode", ""), country=address.get("country", "FR"),
                      organisation=customer.legal_name if customer.kind == "professional" else None,
                      siren=customer.siren)
    try:
        created = gateway.create_contact(contact)
        effect.evidence.append(_registry_entry(domain, now, "contact_create", code=created.code,
                                               message=created.message, contact_id=contact_id))
    except RegistryCommandError as exc:
        if exc.code != OBJECT_EXISTS:
            _failed(effect, domain, op, services, now, reason=f"{exc.message}" + (f" ({exc.reason})" if exc.reason
                                                                                  else ""), code=exc.code)
            return
    contact_action = [DomainModel.registrant_contact_id.set(contact_id)]
    try:
        result = gateway.create(domain.domain_name, registrant=contact_id, auth_code=_new_auth_code(),
                                client_trid=op["op_id"])
    except RegistryCommandError as exc:
        effect.evidence.append(_registry_entry(domain, now, "create", code=exc.code, message=exc.message))
        if exc.code == OBJECT_EXISTS:
            _reconcile_create(effect, domain, op, gateway, services, now, contact_action)
            return
        _failed(effect, domain, op, services, now, reason=exc.message + (f" ({exc.reason})" if exc.reason else ""),
                code=exc.code, actions=contact_action)
        return
    effect.evidence.append(_registry_entry(domain, now, "create", code=result.code, message=result.message,
                                           server_trid=result.server_trid))
    if result.pending:
        _await_registry(effect, domain, op, now, DomainEvent.REGISTRATION_SENT, result, contact_action)
    else:
        _now_active(effect, domain, op, services, now, expires_at=result.expires_at, how="registration",
                    actions=contact_action)


def _reconcile_create(effect: Effect, domain: DomainModel, op: dict, gateway: RegistrarGateway,
                      services: Services, now: datetime, actions: list) -> None:
    """A create answered 'exists': ours when an earlier try of this very operation got through
    (its answer was lost); anyone else's means the name is taken (R37 refusal)."""
    info = gateway.info(domain.domain_name)
    effect.evidence.append(_registry_entry(domain, now, "info", code=1000, registrar=info.registrar,
                                           statuses=list(info.statuses)))
    if info.registrar != gateway.client_id:
        _failed(effect, domain, op, services, now, reason="the name is already registered by someone else",
                code=OBJECT_EXISTS, actions=actions)
    elif "pendingCreate" in info.statuses:
        _await_registry(effect, domain, op, now, DomainEvent.REGISTRATION_SENT,
                        CommandResult(code=ACTION_PENDING, message="create pending (found by info)"), actions)
    else:
        _now_active(effect, domain, op, services, now, expires_at=info.expires_at, how="registration",
                    actions=actions)


def _epp_phone(phone: str) -> str:
    """EPP wants +CC.NUMBER; French numbers given nationally become +33."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if digits.startswith("+"):
        return f"{digits[:3]}.{digits[3:]}"
    if digits.startswith("0"):
        return f"+33.{digits[1:]}"
    return f"+33.{digits}"


def _new_auth_code() -> str:
    return secrets.token_urlsafe(12)


def _dossier_incomplete(effect: Effect, domain: DomainModel, op: dict, missing: list[str], services: Services,
                        now: datetime) -> None:
    """R37 (D10.4): the registration waits for a complete dossier: the customer and operators know."""
    from .lifecycle import add_notice
    _finish(effect, domain, op, now, "dossier_incomplete", missing=missing)
    contract = services.store.get_contract(domain.contract_id)
    add_notice(effect, services, key=f"domain_dossier_incomplete#{domain.domain_name}#{op['op_id']}",
               contract=contract, template="domain_dossier_incomplete", now=now,
               context={"domain": domain.domain_name, "contract_id": domain.contract_id, "missing": missing})
    effect.save("alert", new_alert("domain_dossier_incomplete", f"{domain.domain_name}: the registration waits "
                                   f"for {', '.join(missing)}", now, domain=domain.domain_name,
                                   contract_id=domain.contract_id))


# ---- R38: transfer-in --------------------------------------------------------------------------------
def _run_transfer_in(effect: Effect, domain: DomainModel, op: dict, gateway: RegistrarGateway, services: Services,
                     now: datetime) -> None:
    """R38: ask for the transfer with the customer's auth code; it completes only when the losing
    side approves (answered by poll), and fails on rejection or after the timeout."""
    try:
        result = gateway.transfer_request(domain.domain_name, auth_code=domain.auth_code or "",
                                          client_trid=op["op_id"])
    except RegistryCommandError as exc:
        effect.evidence.append(_registry_entry(domain, now, "transfer_request", code=exc.code, message=exc.message))
        if exc.code == OBJECT_PENDING_TRANSFER:
            status = gateway.transfer_query(domain.domain_name)
            if status.requesting_registrar == gateway.client_id and status.status == "pending":
                _await_transfer(effect, domain, op, services, now,
                                CommandResult(code=ACTION_PENDING, message="transfer pending (found by query)"))
                return
        _failed(effect, domain, op, services, now, reason=exc.message + (f" ({exc.reason})" if exc.reason else ""),
                code=exc.code)
        return
    effect.evidence.append(_registry_entry(domain, now, "transfer_request", code=result.code,
                                           message=result.message, server_trid=result.server_trid))
    if result.pending:
        _await_transfer(effect, domain, op, services, now, result)
    else:
        _now_active(effect, domain, op, services, now, expires_at=result.expires_at, how="transfer")


def _await_transfer(effect: Effect, domain: DomainModel, op: dict, services: Services, now: datetime,
                    result: CommandResult) -> None:
    _await_registry(effect, domain, op, now, DomainEvent.TRANSFER_SENT, result)
    due = now + timedelta(days=services.settings.transfer_in_timeout_days)
    schedule(effect, timer_row(TRANSFER_TIMEOUT_TIMER, f"{domain.domain_name}#{op['op_id']}", domain.customer_id,
                               due, now))


@timer_handler(TRANSFER_TIMEOUT_TIMER)
def on_transfer_timeout(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R38: a transfer the losing side did not approve in time has failed (dossier fees, order
    cancelled on request); the registry is asked once more first, in case its answer was missed."""
    name, op_id = timer.target_id.rsplit("#", 1)
    domain = _get_domain(name)
    if domain is None or domain.operation_id != op_id or domain.status != DomainStatus.TRANSFER_PENDING.value:
        return None
    now, effect = services.clock.now(), Effect()
    gateway = registrar(services, domain.registry)
    op = dict(domain.pending_operation)
    try:
        status = gateway.transfer_query(name)
        effect.evidence.append(_registry_entry(domain, now, "transfer_query", code=1000, transfer_status=status.status))
    except RegistryCommandError as exc:
        effect.evidence.append(_registry_entry(domain, now, "transfer_query", code=exc.code, message=exc.message))
        status = None
    if status is not None and status.status in TRANSFER_APPROVED and status.requesting_registrar == gateway.client_id:
        _now_active(effect, domain, op, services, now, expires_at=status.expires_at, how="transfer")
    else:
        _failed(effect, domain, op, services, now, reason="the current manager did not approve the transfer in "
                f"{services.settings.transfer_in_timeout_days} days", code=None)
    return effect


# ---- outcomes: active, failed -----------------------------------------------------------------------------
def _now_active(effect: Effect, domain: DomainModel, op: dict, services: Services, now: datetime, *,
                expires_at: Optional[datetime], how: str, actions: Optional[list] = None) -> None:
    """R37/R38 accepted: the name is ours to manage (R40): fees spent (R13), its zone on the node,
    its renewal timers (R41), the customer told."""
    from .lifecycle import add_notice
    event = DomainEvent.REGISTERED if how == "registration" else DomainEvent.TRANSFERRED_IN
    at = utc_iso(now)
    extra = [DomainModel.fees_spent_at.set(domain.fees_spent_at or at), DomainModel.registered_at.set(at),
             DomainModel.auth_code.remove(), *(actions or [])]
    if expires_at is not None:
        extra.append(DomainModel.expires_at.set(utc_iso(expires_at)))
    contract = services.store.get_contract(domain.contract_id)
    if contract is not None:
        extra += send_zone(effect, domain, contract, services, now)
    _finish(effect, domain, op, now, "registered" if how == "registration" else "transferred_in",
            status_event=event, actions=extra, expires_at=utc_iso(expires_at) if expires_at else None)
    if contract is not None:
        add_notice(effect, services, key=f"domain_registered#{domain.domain_name}#{op['op_id']}", contract=contract,
                   template="domain_registered", now=now, context={
                       "domain": domain.domain_name, "contract_id": domain.contract_id,
                       "registry_label": REGISTRY_LABELS.get(domain.registry, domain.registry), "how": how,
                       "expires_on": _paris_day(expires_at) if expires_at else None})
    if expires_at is not None:
        schedule_expiry_timers(effect, domain, expires_at, services, now)


def _failed(effect: Effect, domain: DomainModel, op: dict, services: Services, now: datetime, *, reason: str,
            code: Optional[int], actions: Optional[list] = None) -> None:
    """R37/R38 refused: the customer is told why; the dossier fees are invoiced once; the order is
    cancelled only if the customer asks (POST /me/contracts/{id}/domain/cancel-order)."""
    from .billing_cycle import issue_contract_invoice
    from .lifecycle import add_notice
    from ..domain.billing import InvoiceLine, draft_invoice
    how = "transfer" if op["kind"] == "transfer_in" else "registration"
    event = DomainEvent.TRANSFER_REJECTED if how == "transfer" else DomainEvent.REFUSED
    contract = services.store.get_contract(domain.contract_id)
    first = services.store.get_invoice(contract.invoice_id)
    s, today = services.settings, now.astimezone(PARIS).date()
    draft = draft_invoice(
        [InvoiceLine(DOSSIER_FEES, f"Frais de dossier - {'transfert' if how == 'transfer' else 'enregistrement'} "
                     f"du nom de domaine {domain.domain_name}", 1, s.dossier_fees_cents)],
        vat_rate=s.vat_rate, currency=services.catalog.currency, issue_date=today, due_date=today + timedelta(days=15),
        late_penalty_rate_percent=s.late_penalty_rate_percent, professional=bool((first.bill_to or {}).get("siren")))
    invoice = issue_contract_invoice(effect, services, draft, contract, first.bill_to, now, purpose=DOSSIER_FEES)
    _finish(effect, domain, op, now, "refused" if how == "registration" else "transfer_failed", status_event=event,
            actions=[DomainModel.dossier_invoice_id.set(invoice.invoice_id), DomainModel.auth_code.remove(),
                     *(actions or [])], reason=reason, result_code=code)
    add_notice(effect, services, key=f"domain_refused#{domain.domain_name}#{op['op_id']}", contract=contract,
               template="domain_refused", now=now, context={
                   "domain": domain.domain_name, "contract_id": domain.contract_id, "how": how, "reason": reason,
                   "dossier_fees_cents": s.dossier_fees_cents, "invoice_number": invoice.number,
                   "cancel_path": f"/me/contracts/{domain.contract_id}/domain/cancel-order"})


def _paris_day(moment: Optional[datetime]) -> Optional[str]:
    return moment.astimezone(PARIS).date().isoformat() if moment else None


# ---- R40: the zone on the node -------------------------------------------------------------------------------
def _node_ipv4(services: Services, contract: ContractModel) -> Optional[str]:
    import ipaddress
    node = services.store.get_node(services.settings.node_pool, contract.node_id) if contract.node_id else None
    host = urlparse(node.http_address).hostname if node is not None and node.http_address else None
    try:
        return str(ipaddress.IPv4Address(host)) if host else None
    except ValueError:
        return None


def zone_records(domain: DomainModel, contract: ContractModel, services: Services) -> Optional[list[dict]]:
    """R40: the zone in force: the customer's records, else the default zone pointing at the
    contract's node (None while the contract has no node)."""
    from ..domain.dns_zones import default_zone
    if domain.dns_records:
        return list(domain.dns_records)
    ipv4 = _node_ipv4(services, contract)
    if not contract.node_id or ipv4 is None:
        return None
    return [{"name": r.name, "type": r.type, "value": r.value, "ttl": r.ttl,
             **({"priority": r.priority} if r.priority is not None else {})}
            for r in default_zone(contract.domain_name, ipv4)]


def send_zone(effect: Effect, domain: DomainModel, contract: ContractModel, services: Services,
              now: datetime) -> list:
    """R40: the domain's zone is set on the node by a command (a serial above the last one sent).
    Returns the domain row's actions recording the serial (for the caller's one update of the
    row), or [] when the contract has no node (yet)."""
    from ..domain.dns_zones import zone_serial
    from .lifecycle import issue_node_command
    records = zone_records(domain, contract, services)
    if not contract.node_id or records is None:
        return []
    serial = zone_serial(now, after=int(domain.zone_serial) if domain.zone_serial else None)
    issue_node_command(effect, contract, services, "SetDnsZone", now, records=records, serial=serial)
    return [DomainModel.zone_serial.set(serial)]


def set_dns_records(contract_id: str, records: list[dict], services: Services, *, actor: str,
                    correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R40: the customer changes its domain's zone during the contract: validated, stored, sent to
    the node (SetDnsZone, newest serial wins there). Only while we manage the name."""
    from ..domain.dns_zones import DnsRecord, validate_records
    contract = services.store.get_contract(contract_id)
    domain = _get_domain(contract.domain_name) if contract else None
    if contract is None or domain is None or domain.contract_id != contract_id:
        raise NotFoundError(f"no managed domain on contract {contract_id}", code="domain_not_found")
    if domain.status != DomainStatus.ACTIVE.value or not contract.node_id:
        raise ConflictError(f"{domain.domain_name} is {domain.status or 'ordered'}: its zone is managed here only "
                            "once it is registered and while management runs (D10.8)", code="domain_not_managed",
                            fields={"domain": domain.status or "ordered"})
    validate_records(domain.domain_name, [DnsRecord(**r) for r in records])
    now = services.clock.now()
    effect = Effect()
    domain.dns_records = records
    serial_actions = send_zone(effect, domain, contract, services, now)
    effect.update("domain", DomainModel(domain_name=domain.domain_name),
                  [DomainModel.dns_records.set(records), DomainModel.updated_at.set(utc_iso(now)), *serial_actions],
                  (DomainModel.status == DomainStatus.ACTIVE.value) & (DomainModel.contract_id == contract_id))
    effect.evidence.append(state_change(contract.customer_id, now, actor, "domain", domain.domain_name, domain.status,
                                        domain.status, action="domain.dns_changed", records=len(records),
                                        contract_id=contract_id, correlation_id=correlation_id))
    _commit(effect, services, "the domain changed meanwhile; read it again")
    return dns_view(_get_domain(domain.domain_name), contract, services)


def dns_view(domain: DomainModel, contract: ContractModel, services: Services) -> dict[str, Any]:
    """R40: the zone in force and where it comes from."""
    return {"domain": domain.domain_name, "managed": domain.status == DomainStatus.ACTIVE.value,
            "source": "customer" if domain.dns_records else "default",
            "serial": int(domain.zone_serial) if domain.zone_serial else None,
            "records": zone_records(domain, contract, services) or []}


def _remove_zone(effect: Effect, contract: Optional[ContractModel], services: Services, now: datetime,
                 reason: str) -> None:
    from .lifecycle import issue_node_command
    if contract is not None and contract.node_id:
        issue_node_command(effect, contract, services, "RemoveDnsZone", now, reason=reason)


# ---- R41: renewal ------------------------------------------------------------------------------------------------
def schedule_expiry_timers(effect: Effect, domain: DomainModel, expires_at: datetime, services: Services,
                           now: datetime) -> None:
    """R41: timers before the domain's expiry (the reminder days, and the renewal lead time)."""
    expiry_day = _paris_day(expires_at)
    for d in _expiry_days(services):
        due = expires_at - timedelta(days=d)
        schedule(effect, timer_row(EXPIRY_TIMER, f"{domain.domain_name}#{expiry_day}#{d}", domain.customer_id,
                                   max(due, now), now))


def _expiry_days(services: Services) -> list[int]:
    """R41: the days before the expiry a timer looks at the name: the reminders and the lead time."""
    s = services.settings
    return sorted({int(d) for d in s.domain_reminder_days.split(",") if d.strip()} | {s.domain_renewal_lead_days},
                  reverse=True)


@timer_handler(EXPIRY_TIMER)
def on_expiry_timer(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R41: `d` days before the expiry: renew it ourselves (Afnic, Network Solutions, customer up to
    date), remind the customer to pay (ours, but a sum is overdue), or remind the customer to renew
    it (any other registrar). Nothing once management stopped (R40/R19) or the expiry moved."""
    from .billing_cycle import unpaid_past_due
    from .lifecycle import add_notice
    name, expiry_day, days = timer.target_id.rsplit("#", 2)
    domain = _get_domain(name)
    if domain is None or not domain.expires_at or _paris_day(parse_iso(domain.expires_at)) != expiry_day:
        return None
    now = services.clock.now()
    today = now.astimezone(PARIS).date()
    expires_at = parse_iso(domain.expires_at)
    days_left = (expires_at.astimezone(PARIS).date() - today).days
    contract = services.store.get_contract(domain.contract_id)
    up_to_date = contract is not None and unpaid_past_due(contract.contract_id, services, today) is None
    managed = domain.status == DomainStatus.ACTIVE.value
    if days_left < 0:  # the name already expired (a timer fired late): nothing left to renew or remind
        managed = False
    if any(days_left <= d for d in _expiry_days(services) if d < int(days)):
        return None  # a later timer is due as well (a late sweep, time travel): it speaks, once
    action = renewal_action(domain.registry, up_to_date=up_to_date, managed=managed, days_left=days_left,
                            lead_days=services.settings.domain_renewal_lead_days,
                            solution_covers=contract is not None and _solution_covers(contract, expires_at, services))
    effect = Effect()
    effect.evidence.append(state_change(domain.customer_id, now, "system", "domain", name, domain.status,
                                        domain.status, action="domain.expiry_check", decision=action,
                                        days_left=days_left, contract_id=domain.contract_id))
    if action == "renew":
        if domain.operation_id:
            return effect  # another operation runs; the next timer (or its end) decides again
        start_operation(effect, domain, "renew", services, now, current_expiry=expiry_day)
    elif action in ("remind", "remind_payment", "remind_solution") and contract is not None:
        add_notice(effect, services, key=f"domain_renewal_reminder#{name}#{expiry_day}#{days}", contract=contract,
                   template="domain_renewal_reminder", now=now, context={
                       "domain": name, "expires_on": expiry_day, "days_left": days_left,
                       "registry_label": REGISTRY_LABELS.get(domain.registry, domain.registry),
                       "reason": {"remind": "customer_renews", "remind_payment": "payment_overdue",
                                  "remind_solution": "solution_not_renewed"}[action]})
    return effect


def _solution_covers(contract: ContractModel, expires_at: datetime, services: Services) -> bool:
    """R41 + R40 (D10.8): the name is managed for the solution's duration: it is renewed by us when
    the contract, or its paid renewal (R18), runs past the domain's expiry."""
    if contract.ends_on > _paris_day(expires_at):
        return True
    renewal = services.store.get_contract(contract.renewal_contract_id) if contract.renewal_contract_id else None
    return renewal is not None and renewal.status in ("scheduled", "active") and renewal.ends_on > _paris_day(expires_at)


def _run_renew(effect: Effect, domain: DomainModel, op: dict, gateway: RegistrarGateway, services: Services,
               now: datetime) -> None:
    """R41: renew for a year at the registry; a repeated try finds the expiry already moved."""
    from .lifecycle import add_notice
    current = date.fromisoformat(op["current_expiry"])
    try:
        result = gateway.renew(domain.domain_name, current_expiry=current, client_trid=op["op_id"])
        new_expiry = result.expires_at
        effect.evidence.append(_registry_entry(domain, now, "renew", code=result.code, message=result.message,
                                               expires_at=utc_iso(new_expiry) if new_expiry else None))
    except RegistryCommandError as exc:
        effect.evidence.append(_registry_entry(domain, now, "renew", code=exc.code, message=exc.message))
        info = gateway.info(domain.domain_name)
        if info.expires_at is not None and info.expires_at.astimezone(PARIS).date() > current:
            new_expiry = info.expires_at  # an earlier try renewed it; its answer was lost
        else:
            _finish(effect, domain, op, now, "renewal_refused", reason=exc.message, result_code=exc.code)
            effect.save("alert", new_alert("domain_renewal_refused", f"{domain.domain_name}: renewal refused by "
                                           f"{domain.registry}: {exc.message}", now, domain=domain.domain_name,
                                           contract_id=domain.contract_id))
            return
    if new_expiry is None:
        new_expiry = gateway.info(domain.domain_name).expires_at
    _finish(effect, domain, op, now, "renewed", actions=[DomainModel.expires_at.set(utc_iso(new_expiry))],
            expires_at=utc_iso(new_expiry))
    schedule_expiry_timers(effect, domain, new_expiry, services, now)
    contract = services.store.get_contract(domain.contract_id)
    if contract is not None:
        add_notice(effect, services, key=f"domain_renewed#{domain.domain_name}#{_paris_day(new_expiry)}",
                   contract=contract, template="domain_renewed", now=now,
                   context={"domain": domain.domain_name, "expires_on": _paris_day(new_expiry)})


# ---- R39: transfer-out ------------------------------------------------------------------------------------------
def owed_sums(customer_id: str, services: Services) -> list[SumOwed]:
    """R39 (D10.11): every invoice of the customer issued and not paid, due or not."""
    return [SumOwed(i.number, int(i.total_cents), date.fromisoformat(i.due_date))
            for i in InvoiceModel.by_customer.query(customer_id)
            if getattr(i, "kind", "invoice") == "invoice" and i.status == "issued"]


def request_transfer_out(contract_id: str, services: Services, *, actor: str,
                         correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R39: the customer asks to move the domain to another provider before the contract's end.
    Refused while it owes any sum (the refusal and its reason are recorded); accepted, it gets the
    domain's auth code and a transfer request from the new registrar will be approved (at once if
    one is already waiting)."""
    contract = services.store.get_contract(contract_id)
    domain = _get_domain(contract.domain_name) if contract else None
    if contract is None or domain is None or domain.contract_id != contract_id:
        raise NotFoundError(f"no managed domain on contract {contract_id}", code="domain_not_found")
    if domain.status not in (DomainStatus.ACTIVE.value, DomainStatus.UNMANAGED.value):
        raise ConflictError(f"{domain.domain_name} is {domain.status or 'ordered'}: only a registered domain can "
                            "be transferred out", code="domain_not_transferable", fields={"domain": domain.status})
    now = services.clock.now()
    today = now.astimezone(PARIS).date()
    owed = owed_sums(contract.customer_id, services)
    pending_request = (domain.transfer_out or {}).get("state") == "registry_request"
    try:
        check_transfer_out(contract.status, date.fromisoformat(contract.ends_on), today, owed)
    except RuleViolationError as refusal:
        effect = Effect()
        record = {"state": "refused", "requested_at": utc_iso(now), "reason": refusal.message,
                  "owed_cents": sum(s.total_cents for s in owed), "by": actor}
        refused = [DomainModel.transfer_out.set({**(domain.transfer_out or {}), **record})]
        if pending_request and not domain.operation_id:  # the waiting registry request is rejected, with the reason
            start_operation(effect, domain, "transfer_out_reject", services, now, extra_actions=refused,
                            reason=refusal.message, owed_cents=record["owed_cents"])
        else:
            effect.update("domain", DomainModel(domain_name=domain.domain_name),
                          [*refused, DomainModel.updated_at.set(utc_iso(now))], DomainModel.contract_id == contract_id)
        effect.evidence.append(state_change(contract.customer_id, now, actor, "domain", domain.domain_name,
                                            domain.status, domain.status, action="domain.transfer_out_refused",
                                            reason=refusal.code, detail=refusal.message, contract_id=contract_id,
                                            correlation_id=correlation_id))
        _commit(effect, services, "the domain changed meanwhile; ask again")
        raise
    gateway = registrar(services, domain.registry)
    try:
        info = gateway.info(domain.domain_name)
    except RegistryTransportError as exc:
        raise RegistryUnavailableError(f"the registry did not answer; ask again in a minute ({exc})") from None
    effect = Effect()
    record = {"state": "requested", "requested_at": utc_iso(now), "by": actor}
    accepted = [DomainModel.transfer_out.set({**(domain.transfer_out or {}), **record})]
    approving = pending_request and not domain.operation_id
    if approving:  # the new registrar already asked: approve now
        start_operation(effect, domain, "transfer_out_approve", services, now, extra_actions=accepted)
    else:
        effect.update("domain", DomainModel(domain_name=domain.domain_name),
                      [*accepted, DomainModel.updated_at.set(utc_iso(now))], DomainModel.contract_id == contract_id)
    effect.evidence.append(_registry_entry(domain, now, "info", code=1000, purpose="auth_code_for_transfer_out"))
    effect.evidence.append(state_change(contract.customer_id, now, actor, "domain", domain.domain_name, domain.status,
                                        domain.status, action="domain.transfer_out_accepted",
                                        contract_id=contract_id, correlation_id=correlation_id))
    _commit(effect, services, "the domain changed meanwhile; ask again")
    return {"domain": domain.domain_name, "state": "approving" if approving else "accepted",
            "auth_code": info.auth_code, "message": "give this auth code to your new registrar; its transfer request "
            "will be approved" if not approving else "the waiting transfer request is being approved"}


def _run_transfer_out(effect: Effect, domain: DomainModel, op: dict, gateway: RegistrarGateway,
                      services: Services, now: datetime) -> None:
    """R39/R42: answer a transfer another registrar requested: approve or reject it at the registry."""
    approve = op["kind"] == "transfer_out_approve"
    try:
        result = (gateway.transfer_approve if approve else gateway.transfer_reject)(
            domain.domain_name, client_trid=op["op_id"])
        effect.evidence.append(_registry_entry(domain, now, op["kind"], code=result.code, message=result.message,
                                               reason=op.get("reason")))
    except RegistryCommandError as exc:
        effect.evidence.append(_registry_entry(domain, now, op["kind"], code=exc.code, message=exc.message))
        if exc.code != OBJECT_NOT_PENDING_TRANSFER:
            _finish(effect, domain, op, now, "refused_by_registry", reason=exc.message, result_code=exc.code)
            return
        _finish(effect, domain, op, now, "no_pending_transfer")
        return
    if approve:
        _transferred_out(effect, domain, op, services, now,
                         to_registrar=(domain.transfer_out or {}).get("requesting_registrar", "another registrar"))
    else:
        _finish(effect, domain, op, now, "rejected", reason=op.get("reason"),
                actions=[DomainModel.transfer_out.set({**(domain.transfer_out or {}), "state": "rejected",
                                                       "rejected_at": utc_iso(now), "reason": op.get("reason")})])
        contract = services.store.get_contract(domain.contract_id)
        if contract is not None:
            from .lifecycle import add_notice
            add_notice(effect, services, key=f"domain_transfer_out_refused#{domain.domain_name}#{op['op_id']}",
                       contract=contract, template="domain_transfer_out_refused", now=now, context={
                           "domain": domain.domain_name, "contract_id": domain.contract_id,
                           "reason": op.get("reason") or "", "owed_cents": int(op.get("owed_cents") or 0)})


def _transferred_out(effect: Effect, domain: DomainModel, op: Optional[dict], services: Services, now: datetime,
                     *, to_registrar: str) -> None:
    """R39/R42: the name left us: management ends (zone removed, no renewal), the customer told."""
    from .lifecycle import add_notice
    record = {**(domain.transfer_out or {}), "state": "completed", "completed_at": utc_iso(now), "to": to_registrar}
    actions = [DomainModel.transfer_out.set(record), DomainModel.management_stopped_at.set(utc_iso(now))]
    if op is not None:
        _finish(effect, domain, op, now, "transferred_out", status_event=DomainEvent.TRANSFERRED_OUT, actions=actions,
                to_registrar=to_registrar)
    else:
        _move(effect, domain, DomainEvent.TRANSFERRED_OUT, now, actions, to_registrar=to_registrar)
    contract = services.store.get_contract(domain.contract_id)
    _remove_zone(effect, contract, services, now, "transferred_out")
    if contract is not None:
        add_notice(effect, services, key=f"domain_transferred_out#{domain.domain_name}#{utc_iso(now)[:10]}",
                   contract=contract, template="domain_transferred_out", now=now, context={
                       "domain": domain.domain_name, "contract_id": domain.contract_id, "to_registrar": to_registrar,
                       "at": now})


def _move(effect: Effect, domain: DomainModel, event: DomainEvent, now: datetime, actions: list,
          actor: Optional[str] = None, **details: Any) -> None:
    """A move with no operation of ours (a registry message, a lifecycle hook), on the status read."""
    target = next_domain_status(domain.status, event)
    effect.update("domain", DomainModel(domain_name=domain.domain_name),
                  [DomainModel.status.set(target.value), DomainModel.updated_at.set(utc_iso(now)), *actions],
                  DomainModel.status == (domain.status or DomainStatus.ORDERED.value))
    effect.evidence.append(state_change(domain.customer_id, now, actor or _actor(domain.registry), "domain",
                                        domain.domain_name, domain.status, target.value,
                                        contract_id=domain.contract_id, **details))


# ---- R42: decisions and holder requests --------------------------------------------------------------------------
def record_decision(domain_name: str, body: dict[str, Any], services: Services, operator: str,
                    correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R42: a court, administrative or dispute-resolution decision, or the holder's own request,
    cancels or transfers the domain; the provider executes it (the retention right does not apply)
    and informs the customer."""
    from .lifecycle import add_notice
    kind, action = body.get("kind"), body.get("action")
    if kind not in DECISION_KINDS or action not in DECISION_ACTIONS:
        raise InvalidInputError(f"kind is one of {', '.join(DECISION_KINDS)}; action is cancel or transfer",
                                code="invalid_decision", fields={"kind": str(kind), "action": str(action)})
    domain = _require_domain(normalise_domain(domain_name))
    if domain.status not in (DomainStatus.ACTIVE.value, DomainStatus.UNMANAGED.value):
        raise ConflictError(f"{domain.domain_name} is {domain.status or 'ordered'}: a decision applies to a "
                            "registered domain", code="domain_not_registered_here", fields={"domain": domain.status})
    if domain.operation_id:
        raise ConflictError(f"{domain.domain_name} has a registry operation in progress "
                            f"({(domain.pending_operation or {}).get('kind')}); retry once it is over",
                            code="domain_operation_in_progress", fields={"domain": "busy"})
    now = services.clock.now()
    actor = f"operator:{operator}"
    decision = {"kind": kind, "action": action, "reference": body["reference"], "document_ref": body["document_ref"],
                "recorded_at": utc_iso(now), "recorded_by": actor, "state": "executing"}
    effect = Effect()
    pending_request = (domain.transfer_out or {}).get("state") == "registry_request"
    if action == "cancel":
        start_operation(effect, domain, "delete", services, now, actor=actor,
                        extra_actions=[DomainModel.decision.set(decision)], decision_kind=kind)
    elif pending_request:
        start_operation(effect, domain, "transfer_out_approve", services, now, actor=actor,
                        extra_actions=[DomainModel.decision.set(decision)], decision_kind=kind)
    else:
        decision["state"] = "awaiting_transfer_request"
        effect.update("domain", DomainModel(domain_name=domain.domain_name),
                      [DomainModel.decision.set(decision), DomainModel.updated_at.set(utc_iso(now))],
                      DomainModel.operation_id.does_not_exist())
    effect.evidence.append(state_change(domain.customer_id, now, actor, "domain", domain.domain_name, domain.status,
                                        domain.status, action="domain.decision_recorded", decision_kind=kind,
                                        decision_action=action, reference=body["reference"],
                                        document_ref=body["document_ref"], contract_id=domain.contract_id,
                                        correlation_id=correlation_id))
    contract = services.store.get_contract(domain.contract_id)
    if contract is not None:
        add_notice(effect, services, key=f"domain_decision#{domain.domain_name}#{utc_iso(now)}", contract=contract,
                   template="domain_decision", now=now, context={
                       "domain": domain.domain_name, "contract_id": domain.contract_id, "kind": kind,
                       "action": action, "reference": body["reference"]})
    _commit(effect, services, "the domain changed meanwhile; read it again")
    return domain_view(_get_domain(domain.domain_name))


def _run_delete(effect: Effect, domain: DomainModel, op: dict, gateway: RegistrarGateway, services: Services,
                now: datetime) -> None:
    """R42: a decision cancels the name: deleted at the registry, management over."""
    try:
        result = gateway.delete(domain.domain_name, client_trid=op["op_id"])
        effect.evidence.append(_registry_entry(domain, now, "delete", code=result.code, message=result.message))
    except RegistryCommandError as exc:
        effect.evidence.append(_registry_entry(domain, now, "delete", code=exc.code, message=exc.message))
        if exc.code != OBJECT_DOES_NOT_EXIST:
            _finish(effect, domain, op, now, "refused_by_registry", reason=exc.message, result_code=exc.code)
            effect.save("alert", new_alert("domain_decision_failed", f"{domain.domain_name}: the registry refused "
                                           f"the deletion: {exc.message}", now, domain=domain.domain_name))
            return
    decision = {**(domain.decision or {}), "state": "executed", "executed_at": utc_iso(now)}
    _finish(effect, domain, op, now, "deleted", status_event=DomainEvent.DELETED,
            actions=[DomainModel.decision.set(decision), DomainModel.management_stopped_at.set(utc_iso(now))])
    _remove_zone(effect, services.store.get_contract(domain.contract_id), services, now, "decision")


RUNNERS: dict[str, Callable[..., None]] = {
    "acquire": _run_acquire, "register": _run_register, "transfer_in": _run_transfer_in, "renew": _run_renew,
    "transfer_out_approve": _run_transfer_out, "transfer_out_reject": _run_transfer_out, "delete": _run_delete,
}


# ---- registry messages (poll) ----------------------------------------------------------------------------------------
def poll_registries(services: Services, max_messages: int = 50) -> dict[str, int]:
    """Read each registry's message queue: every message goes to the registry-events queue, then is
    acknowledged (a crash in between sends it again: applying it is idempotent)."""
    import json

    from ..contracts.registry_events import RegistryEventV1
    counts: dict[str, int] = {}
    queue = services.settings.queue_name("registry-events")
    for registry in (AFNIC, "eurid", NETWORK_SOLUTIONS, SUBCONTRACTOR):
        gateway, read = registrar(services, registry), 0
        try:
            while read < max_messages:
                message = gateway.poll()
                if message is None:
                    break
                event = RegistryEventV1.from_poll(registry, gateway.client_id, message)
                services.queues.send(queue_name=queue, body=event.model_dump_json())
                gateway.poll_ack(message.message_id)
                read += 1
        except (RegistryTransportError, RegistryCommandError) as exc:
            logger.warning("registry poll failed", registry=registry, error=str(exc))
        counts[registry] = read
    return counts


class RegistryMessageTooEarly(Exception):
    """A registry message about a call whose sending is not recorded yet (its timer's commit is
    still to come), or that an operation in progress must answer: it goes back to its queue and is
    applied on a later delivery, never dropped."""


def on_registry_event(event: Any, services: Services) -> str:
    """Apply one registry message, once: every move is conditioned on the status it starts from."""
    domain = _get_domain(event.domain) if event.domain else None
    if domain is None:
        logger.info("registry message about no domain of ours", registry=event.registry, domain=event.domain,
                    kind=event.kind)
        if event.kind == "create" and event.result:
            # registered for an order that ended meanwhile (a withdrawal released the claim): the name is
            # held by us at the registry with no contract; an operator decides (delete it or keep it)
            now = services.clock.now()
            services.store.put_alert(new_alert(
                "registered_without_contract", f"{event.domain} was registered at {event.registry} after its "
                "order ended; delete it at the registry or keep it", now,
                alert_key=f"orphan_registration#{event.domain}#{event.message_id}", domain=event.domain))
            return "alerted"
        return "ignored"
    now = services.clock.now()
    effect = Effect()
    effect.evidence.append(_registry_entry(domain, now, "poll_message", message=event.text[:300],
                                           message_id=event.message_id, kind=event.kind,
                                           transfer_status=event.transfer.status if event.transfer else None))
    op = dict(domain.pending_operation or {})
    status = domain.status or DomainStatus.ORDERED.value
    if event.kind in ("create", "transfer") and op.get("state") in ("queued", "retrying") \
            and op.get("kind") in ("acquire", "register", "transfer_in"):
        # the registry answered before the try that asked recorded its sending (1001)
        raise RegistryMessageTooEarly(f"{event.kind} message {event.message_id} for {domain.domain_name} before "
                                      f"its {op['kind']} was recorded as sent")
    if event.kind == "create" and status == DomainStatus.REGISTRATION_PENDING.value and op.get("kind") == "register":
        if event.result:
            _now_active(effect, domain, op, services, now, how="registration",
                        expires_at=event.expires_at or _expiry_from_info(effect, domain, services, now))
        else:
            _failed(effect, domain, op, services, now, reason=event.text or "refused by the registry", code=None)
    elif event.kind == "transfer" and event.transfer is not None:
        if not _apply_transfer_message(effect, domain, op, event, services, now):
            return _commit_or_ignore(effect, services, "recorded")
    else:
        return _commit_or_ignore(effect, services, "recorded")
    return _commit_or_ignore(effect, services, "applied")


def _expiry_from_info(effect: Effect, domain: DomainModel, services: Services, now: datetime) -> Optional[datetime]:
    """The registry's expiry when its message did not carry it (a transport error raises: the
    message goes back to its queue and is applied later)."""
    info = registrar(services, domain.registry).info(domain.domain_name)
    effect.evidence.append(_registry_entry(domain, now, "info", code=1000, expires_at=utc_iso(info.expires_at)
                                           if info.expires_at else None))
    return info.expires_at


def _apply_transfer_message(effect: Effect, domain: DomainModel, op: dict, event: Any, services: Services,
                            now: datetime) -> bool:
    t, ours = event.transfer, event.client_id
    status = domain.status or DomainStatus.ORDERED.value
    if t.requesting_registrar == ours and status == DomainStatus.TRANSFER_PENDING.value \
            and op.get("kind") == "transfer_in":
        if t.status in TRANSFER_APPROVED:  # R38: the losing side approved
            _now_active(effect, domain, op, services, now, how="transfer",
                        expires_at=t.expires_at or _expiry_from_info(effect, domain, services, now))
            return True
        if t.status in TRANSFER_FAILED_STATUSES:
            _failed(effect, domain, op, services, now, code=None,
                    reason="the current manager of the name did not approve the transfer" if t.status ==
                    "clientRejected" else f"the transfer was cancelled ({t.status})")
            return True
        return False
    if t.requesting_registrar == ours and status == DomainStatus.TRANSFER_FAILED.value and t.status in TRANSFER_APPROVED:
        # R38: approved after we gave up (timeout): the name is ours at the registry, unmanaged here
        effect.save("alert", new_alert(
            "late_transfer_approval", f"{domain.domain_name}: the transfer was approved at {domain.registry} after "
            "it was recorded as failed; decide whether to manage the name or release it", now,
            alert_key=f"late_transfer#{domain.domain_name}#{event.message_id}", domain=domain.domain_name,
            contract_id=domain.contract_id))
        return True
    if t.losing_registrar != ours or status not in (DomainStatus.ACTIVE.value, DomainStatus.UNMANAGED.value):
        return False
    if t.status == "pending":
        return _transfer_out_requested(effect, domain, event, services, now)
    if t.status in TRANSFER_APPROVED and not domain.operation_id:
        _transferred_out(effect, domain, None, services, now, to_registrar=t.requesting_registrar)
        return True
    return False


def _transfer_out_requested(effect: Effect, domain: DomainModel, event: Any, services: Services,
                            now: datetime) -> bool:
    """R39/R42: another registrar asked for the name. A decision to transfer is executed; a customer
    who asked is approved unless it owes a sum (retention right: rejected with the reason); without
    the customer's request, the customer is asked to confirm before the registry's deadline."""
    from .lifecycle import add_notice
    t = event.transfer
    record = {**(domain.transfer_out or {}), "requesting_registrar": t.requesting_registrar,
              "registry_requested_at": utc_iso(t.requested_at), "deadline": utc_iso(t.action_deadline)}
    if domain.operation_id:  # answered once the operation in progress is over (the message is retried)
        raise RegistryMessageTooEarly(f"transfer request for {domain.domain_name} while its "
                                      f"{(domain.pending_operation or {}).get('kind')} runs")
    decision = domain.decision or {}
    if decision.get("action") == "transfer" and decision.get("state") == "awaiting_transfer_request":
        start_operation(effect, domain, "transfer_out_approve", services, now,
                        extra_actions=[DomainModel.transfer_out.set(record),
                                       DomainModel.decision.set({**decision, "state": "executing"})])
        return True
    if (domain.transfer_out or {}).get("state") == "requested":
        owed = owed_sums(domain.customer_id, services)
        if owed:
            total = sum(s.total_cents for s in owed)
            reason = (f"retention right (D10.11): {total} cents are owed "
                      f"({', '.join(s.number for s in owed)})")
            start_operation(effect, domain, "transfer_out_reject", services, now, reason=reason, owed_cents=total,
                            extra_actions=[DomainModel.transfer_out.set({**record, "state": "requested"})])
        else:
            start_operation(effect, domain, "transfer_out_approve", services, now,
                            extra_actions=[DomainModel.transfer_out.set(record)])
        return True
    record["state"] = "registry_request"
    effect.update("domain", DomainModel(domain_name=domain.domain_name),
                  [DomainModel.transfer_out.set(record), DomainModel.updated_at.set(utc_iso(now))],
                  DomainModel.operation_id.does_not_exist())
    contract = services.store.get_contract(domain.contract_id)
    if contract is not None:
        add_notice(effect, services, key=f"domain_transfer_out_requested#{domain.domain_name}#{event.message_id}",
                   contract=contract, template="domain_transfer_out_requested", now=now, context={
                       "domain": domain.domain_name, "contract_id": domain.contract_id,
                       "requesting_registrar": t.requesting_registrar, "deadline": t.action_deadline})
    return True


def _commit_or_ignore(effect: Effect, services: Services, outcome: str) -> str:
    try:
        services.store.apply(effect)
    except TransactionConflict as conflict:
        if "sequence" in conflict.failed:
            raise  # another invoice took the number (the dossier fees): the message is applied again
        logger.info("registry message changed nothing", failed=sorted(conflict.failed))
        return "ignored"
    for follow_up in effect.after_commit:
        follow_up()
    return outcome


def _commit(effect: Effect, services: Services, message: str) -> None:
    from .effects import commit
    commit(effect, services, conflict=ConflictError(message, code="domain_changed"))


# ---- R40/R19: management stops and resumes ----------------------------------------------------------------------------
def stop_management(effect: Effect, contract: ContractModel, services: Services, now: datetime, reason: str) -> None:
    """R40 (D10.8): when the solution is not renewed or a due payment is missed, management of the
    name stops without further notice: no more renewals, its zone removed from the node."""
    domain = _get_domain(contract.domain_name)
    if domain is None or domain.contract_id != contract.contract_id or domain.status != DomainStatus.ACTIVE.value:
        return
    effect.update("domain_management", DomainModel(domain_name=domain.domain_name),
                  [DomainModel.status.set(DomainStatus.UNMANAGED.value),
                   DomainModel.management_stopped_at.set(utc_iso(now)), DomainModel.updated_at.set(utc_iso(now))],
                  DomainModel.status == DomainStatus.ACTIVE.value)
    effect.evidence.append(state_change(contract.customer_id, now, "system", "domain", domain.domain_name,
                                        domain.status, DomainStatus.UNMANAGED.value, reason=reason,
                                        contract_id=contract.contract_id))
    _remove_zone(effect, contract, services, now, reason)


def resume_management(effect: Effect, contract: ContractModel, services: Services, now: datetime, reason: str) -> None:
    """R40: the overdue sums were paid (the non-payment suspension lifted): management resumes."""
    domain = _get_domain(contract.domain_name)
    if domain is None or domain.contract_id != contract.contract_id or domain.status != DomainStatus.UNMANAGED.value \
            or (domain.transfer_out or {}).get("state") == "completed":
        return
    serial_actions = send_zone(effect, domain, contract, services, now)
    effect.update("domain_management", DomainModel(domain_name=domain.domain_name),
                  [DomainModel.status.set(DomainStatus.ACTIVE.value), DomainModel.management_stopped_at.remove(),
                   DomainModel.updated_at.set(utc_iso(now)), *serial_actions],
                  DomainModel.status == DomainStatus.UNMANAGED.value)
    effect.evidence.append(state_change(contract.customer_id, now, "system", "domain", domain.domain_name,
                                        domain.status, DomainStatus.ACTIVE.value, reason=reason,
                                        contract_id=contract.contract_id))


# ---- R37/R38: the order cancelled on request ------------------------------------------------------------------------
def cancel_after_domain_failure(contract_id: str, services: Services, *, actor: str,
                                correlation_id: Optional[str] = None) -> tuple[dict[str, Any], bool]:
    """R37/R38: after a refused registration or a failed transfer, the customer may ask for the
    order to be cancelled: the contract ends, the solution's invoice is credited and refunded, the
    space removed; the dossier fees stay due."""
    from .withdrawal import cancel_order_effect_for_domain
    contract = services.store.get_contract(contract_id)
    domain = _get_domain(contract.domain_name) if contract else None
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    if contract.status == "cancelled" and contract.ended_reason == "domain_failure":
        return cancel_order_effect_for_domain(contract, domain, services, actor=actor)  # the same outcome again
    if domain is None or domain.contract_id != contract_id or domain.status not in (
            DomainStatus.REGISTRATION_REFUSED.value, DomainStatus.TRANSFER_FAILED.value):
        raise ConflictError("the order can be cancelled this way only after the registration was refused or the "
                            "transfer failed", code="domain_not_failed",
                            fields={"domain": (domain.status if domain else None) or "ordered"})
    return cancel_order_effect_for_domain(contract, domain, services, actor=actor, correlation_id=correlation_id)


# ---- reading ------------------------------------------------------------------------------------------------------------------
def _get_domain(name: str) -> Optional[DomainModel]:
    try:
        return DomainModel.get(name, consistent_read=True)
    except DomainModel.DoesNotExist:
        return None


def _require_domain(name: str) -> DomainModel:
    domain = _get_domain(name)
    if domain is None:
        raise NotFoundError(f"no domain {name} is managed here", code="domain_not_found")
    return domain


def domain_view(domain: Optional[DomainModel], *, operator: bool = False) -> Optional[dict[str, Any]]:
    """The domain as the contract shows it: its status, expiry and the registry operation in
    progress (never an unknown state), without the auth code."""
    if domain is None:
        return None
    op = domain.pending_operation
    view = {
        "name": domain.domain_name, "unicode": _unicode(domain.domain_name), "registry": domain.registry,
        "action": domain.action, "status": domain.status or DomainStatus.ORDERED.value,
        "expires_at": domain.expires_at, "registered_at": domain.registered_at,
        "managed": domain.status == DomainStatus.ACTIVE.value,
        "renewed_by": "provider" if renewed_by_provider(domain.registry) else "customer",
        "pending_operation": None if not op else {
            k: op.get(k) for k in ("kind", "state", "requested_at", "attempts", "last_error", "next_try_at",
                                   "sent_at") if op.get(k) is not None},
        "last_operation": domain.last_operation,
        "transfer_out": domain.transfer_out, "decision": domain.decision,
        "management_stopped_at": domain.management_stopped_at,
        "dossier_invoice_id": domain.dossier_invoice_id,
    }
    if operator:
        view.update(contract_id=domain.contract_id, customer_id=domain.customer_id,
                    registrant_contact_id=domain.registrant_contact_id, operation_id=domain.operation_id)
    return view


def admin_domain(name: str) -> dict[str, Any]:
    return domain_view(_require_domain(normalise_domain(name)), operator=True)


def _register_dossier_fees_handler() -> None:
    from .payments import payment_handler

    @payment_handler(DOSSIER_FEES)
    def on_dossier_fees_paid(effect: Effect, payment: Any, invoice: InvoiceModel, contract: ContractModel,
                             services: Services, now: datetime, correlation_id: Optional[str]) -> None:
        """R37/R38: the dossier fees are paid: recorded with the payment; nothing else changes."""
        return None


_register_dossier_fees_handler()
