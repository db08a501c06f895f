"""Abuse cases (R48, R49, R56): a report matched to a contract in force opens a case (or joins the
open one of the same contract and category), the customer is told what is complained about and
until when to answer; without an answer by the deadline the sanction matrix's measure is applied
(a timer); a manifestly illegal activity is suspended at once, without notice before. Operators
qualify the severity, apply a measure now, close or dismiss the case, and lift the abuse hold.

Every change is one DynamoDB transaction (an Effect): the case (conditioned on its status and
revision), the report, the contract's `abuse` hold with its node command (lifecycle.set_hold), the
notice (R54), the deadline timer and the evidence entries (R56). The reporter never appears in the
evidence log nor in anything the customer sees (R48: filing reveals nothing, and the customer never
learns who complained).
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from ..adapters.dynamo_store import Effect, TransactionConflict
from ..adapters.models import AbuseCaseModel, AbuseReportModel, ContractModel, DomainModel, TimerModel
from ..bootstrap import Services
from ..domain.abuse import (CATEGORY_LABELS_FR, FINAL, JOINABLE, MEASURE_LABELS_FR, MEASURE_LEVEL,
                            TARGET_LABELS_FR, CaseEvent, CaseStatus, Sanction, SanctionMatrix, answer_deadline,
                            excerpt, load_matrix, match_candidates, next_case_status, recurrence, stronger_level)
from ..domain.access import Principal, owns_customer
from ..domain.calendar import utc_iso
from ..domain.contracts import IN_FORCE, HoldLevel, HoldReason, strongest_hold
from ..domain.errors import ConflictError, NotFoundError, RuleViolationError
from ..domain.evidence import state_change
from .lifecycle import add_notice, issue_node_command, set_hold
from .timers import schedule, timer_handler, timer_row
from .effects import commit

ANSWER_DEADLINE = "abuse_answer_deadline"  # R48 timer kind, target: the case id
SANCTIONS_PATH = Path(__file__).resolve().parent.parent / "data" / "sanctions.json"
ABUSE = HoldReason.ABUSE
S = CaseStatus
MAX_CASES_PER_SLOT = 1000  # cases of one contract and category (a guard against a runaway loop)
RETRIES = 5


# ---- the matrix (R49) ------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _matrix_of(text: str) -> SanctionMatrix:
    import json
    from ..domain.abuse import SanctionMatrixError
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SanctionMatrixError(f"the sanction matrix is not JSON: {exc}") from None
    return load_matrix(document)


def sanction_matrix(services: Services) -> SanctionMatrix:
    """R49: the configured matrix (SOHO_ABUSE_SANCTIONS_JSON, else chalicelib/data/sanctions.json),
    validated when first read: an incomplete matrix fails loudly, never silently picks no measure."""
    return _matrix_of(services.settings.abuse_sanctions_json or SANCTIONS_PATH.read_text(encoding="utf-8"))


def recurrence_of(customer_id: str, case_id: str, services: Services, now: datetime) -> str:
    """R49: `repeat` when another case of the customer had a measure applied within
    `abuse_recurrence_days` before now (any measure, a warning included), else `first`."""
    previous = [datetime.fromisoformat(c.measure_applied_at) for c in AbuseCaseModel.by_customer.query(customer_id)
                if c.case_id != case_id and c.measure_applied_at]
    return recurrence(previous, now, services.settings.abuse_recurrence_days)


def decide(case: AbuseCaseModel, services: Services, now: datetime,
           severity: Optional[str] = None) -> tuple[Sanction, str]:
    """R49: the matrix's measure for the case now (at `severity` when given), and the recurrence."""
    seen = recurrence_of(case.customer_id, case.case_id, services, now)
    return sanction_matrix(services).decide(case.category, severity or case.severity, seen), seen


# ---- reading -----------------------------------------------------------------------------------------

def case_id_for(contract_id: str, category: str, n: int) -> str:
    """The n-th case of a contract and category: deterministic, so two reports processed at the same
    time open one case (the second write finds the first and joins it)."""
    digest = hashlib.sha256(f"{contract_id}|{category}".encode()).hexdigest()[:20]
    return f"abc_{digest}_{n:03d}"


def usable_key(text: Optional[str]) -> bool:
    """A string DynamoDB can take as a key: not empty, UTF-8, at most 1024 bytes."""
    try:
        return bool(text) and len(text.encode("utf-8")) <= 1024
    except UnicodeEncodeError:
        return False


def get_case(case_id: str, services: Services) -> AbuseCaseModel:
    """The case, or 404 (an id that cannot be a key is unknown too)."""
    if not usable_key(case_id):
        raise NotFoundError("no such abuse case", code="abuse_case_not_found")
    try:
        return AbuseCaseModel.get(case_id, consistent_read=True)
    except AbuseCaseModel.DoesNotExist:
        raise NotFoundError(f"no abuse case {case_id}", code="abuse_case_not_found") from None


def reports_of(case_id: str) -> list[AbuseReportModel]:
    return list(AbuseReportModel.by_case.query(case_id))


def _contract(case: AbuseCaseModel, services: Services) -> ContractModel:
    contract = services.store.get_contract(case.contract_id)
    if contract is None:
        raise NotFoundError(f"no contract {case.contract_id}", code="contract_not_found")
    return contract


# ---- writing the case ----------------------------------------------------------------------------------

def _write_case(effect: Effect, case: AbuseCaseModel, changes: dict[str, Any], now: datetime, *, new: bool = False,
                accepting: tuple[str, ...] = ()) -> None:
    """Save a new case, or update one on condition that its status is one of `accepting` and its
    revision the one read (two concurrent changes cannot overwrite each other)."""
    changes = {**changes, "updated_at": utc_iso(now)}
    if new:
        for name, value in changes.items():
            setattr(case, name, value)
        effect.save("case", case, AbuseCaseModel.case_id.does_not_exist())
        return
    revision = int(case.revision or 0)
    unchanged = (AbuseCaseModel.revision == revision) if revision else (
        AbuseCaseModel.revision.does_not_exist() | (AbuseCaseModel.revision == 0))
    actions = [getattr(AbuseCaseModel, name).set(value) if value is not None else getattr(AbuseCaseModel, name).remove()
               for name, value in changes.items()]
    effect.update("case", AbuseCaseModel(case_id=case.case_id), actions + [AbuseCaseModel.revision.set(revision + 1)],
                  unchanged & AbuseCaseModel.status.is_in(*(accepting or (case.status,))))


def _entry(effect: Effect, case: AbuseCaseModel, now: datetime, actor: str, before: Optional[str], after: str,
           action: str, correlation_id: Optional[str] = None, **details: Any) -> None:
    """R56: one entry in the customer's evidence log. Never the reporter's identity or contact."""
    effect.evidence.append(state_change(case.customer_id, now, actor, "abuse_case", case.case_id, before, after,
                                        action=action, contract_id=case.contract_id, correlation_id=correlation_id,
                                        category=case.category, **details))


def _commit(effect: Effect, services: Services) -> None:
    commit(effect, services, ConflictError("the abuse case or its contract changed meanwhile; read it again and "
                                           "retry", code="abuse_case_changed"))


def _notify_complaint(effect: Effect, case: AbuseCaseModel, report: AbuseReportModel, contract: ContractModel,
                      services: Services, now: datetime, actor: str) -> dict[str, Any]:
    """R48: the customer is told what is complained about (category, target, an excerpt: never
    who complained) and until when to answer; a timer applies the measure if no answer comes."""
    deadline_on, deadline = answer_deadline(now, services.settings.abuse_answer_days)
    add_notice(effect, services, key=f"abuse_complaint#{case.case_id}", contract=contract, template="abuse_complaint",
               now=now, context={
                   "domain": contract.domain_name, "case_id": case.case_id,
                   "category": CATEGORY_LABELS_FR[case.category],
                   "target_kind": TARGET_LABELS_FR.get(report.target_kind or "domain", "domaine"),
                   "target": report.target or contract.domain_name, "excerpt": excerpt(report.description),
                   "answer_deadline_on": deadline_on})
    schedule(effect, timer_row(ANSWER_DEADLINE, case.case_id, case.customer_id, deadline, now))
    _entry(effect, case, now, actor, S.OPEN.value, S.CUSTOMER_NOTIFIED.value, "abuse_case.customer_notified",
           answer_deadline=utc_iso(deadline), answer_deadline_on=deadline_on.isoformat())
    return {"status": S.CUSTOMER_NOTIFIED.value, "notified_at": utc_iso(now), "answer_deadline": utc_iso(deadline),
            "answer_deadline_on": deadline_on.isoformat()}


def apply_measure(effect: Effect, case: AbuseCaseModel, contract: ContractModel, measure: str, services: Services,
                  now: datetime, actor: str, *, sanction: Sanction, recurrence_seen: str, severity: str,
                  reason: Optional[str] = None, before: Optional[str] = None) -> dict[str, Any]:
    """R49: execute a measure. The contract's `abuse` hold goes to the measure's level (never lower
    than the abuse hold already in place) through set_hold, which issues the node command when the
    strongest hold changes (RestrictSpace / SuspendSpace); `restrict_mail` also sends a RestrictSpace
    with block_outgoing_mail when the space ends up restricted (a suspended space sends no mail
    anyway). The customer is informed of every measure by email (17.4), after it when immediate.
    Returns the case's changes (status measure_applied)."""
    level = MEASURE_LEVEL[measure]
    holds = dict(contract.holds or {})
    if level is not None and contract.status not in [st.value for st in IN_FORCE]:
        raise ConflictError(f"contract {contract.contract_id} is {contract.status}: no measure can be executed on it",
                            code="contract_not_in_force")
    current = holds.get(ABUSE.value)
    wanted = stronger_level(current, level)
    if wanted != current:
        set_hold(effect, "contract", contract, ABUSE, HoldLevel(wanted), services, now, actor, case_id=case.case_id,
                 measure=measure)
        holds[ABUSE.value] = wanted
    if measure == "restrict_mail" and contract.node_id and strongest_hold(holds) == HoldLevel.RESTRICTED:
        issue_node_command(effect, contract, services, "RestrictSpace", now, actor, reason=ABUSE.value,
                           block_outgoing_mail=True)
    measures = list(case.measures or [])
    entry = {"measure": measure, "level": wanted, "at": utc_iso(now), "by": actor, "immediate": sanction.immediate,
             "recurrence": recurrence_seen, "severity": severity, "matrix_measure": sanction.measure,
             "reason": reason}
    measures.append(entry)
    add_notice(effect, services, key=f"abuse_measure#{case.case_id}#{len(measures)}", contract=contract,
               template="abuse_measure", now=now, context={
                   "domain": contract.domain_name, "case_id": case.case_id,
                   "category": CATEGORY_LABELS_FR[case.category], "measure": measure,
                   "measure_label": MEASURE_LABELS_FR[measure], "since": now, "immediate": sanction.immediate,
                   "repeat": recurrence_seen == "repeat"})
    _entry(effect, case, now, actor, before or case.status, S.MEASURE_APPLIED.value, "abuse_case.measure_applied",
           measure=measure, level=wanted, immediate=sanction.immediate, recurrence=recurrence_seen, severity=severity,
           matrix_measure=sanction.measure, reason=reason)
    return {"status": S.MEASURE_APPLIED.value, "measures": measures, "measure_applied_at": utc_iso(now)}


# ---- from a report to a case (R48) ------------------------------------------------------------------------

def match_contract(report: AbuseReportModel, services: Services) -> Optional[ContractModel]:
    """The contract in force a report is about: the one an operator named, or the one managing the
    reported host's domain (www.shop.acme.fr is served by the contract of acme.fr, R34)."""
    in_force = [st.value for st in IN_FORCE]
    if report.requested_contract_id:
        contract = services.store.get_contract(report.requested_contract_id)
        return contract if contract is not None and contract.status in in_force else None
    for name in match_candidates(report.target_domain or ""):
        try:
            domain = DomainModel.get(name, consistent_read=True)
        except DomainModel.DoesNotExist:
            continue
        contract = services.store.get_contract(domain.contract_id)
        if contract is not None and contract.status in in_force:
            return contract
    return None


def _slot(contract: ContractModel, category: str) -> tuple[Optional[AbuseCaseModel], str]:
    """The open case of (contract, category) to join, or the id of the next one to open."""
    for n in range(MAX_CASES_PER_SLOT):
        case_id = case_id_for(contract.contract_id, category, n)
        try:
            case = AbuseCaseModel.get(case_id, consistent_read=True)
        except AbuseCaseModel.DoesNotExist:
            return None, case_id
        if case.status in JOINABLE:
            return case, case_id
    raise ConflictError(f"contract {contract.contract_id} has {MAX_CASES_PER_SLOT} {category} cases",
                        code="too_many_abuse_cases")


def process_report(report_id: str, services: Services, actor: str = "system",
                   correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R48: match a stored report to a contract in force and open or join its case, once (the
    report moves from `received` on condition, so a redelivered message changes nothing). A report
    about no contract of ours is kept `unmatched` and purged after the retention period."""
    for _ in range(RETRIES):
        try:
            report = AbuseReportModel.get(report_id, consistent_read=True)
        except AbuseReportModel.DoesNotExist:
            return {"report_id": report_id, "status": "unknown"}
        if report.status != "received":
            return {"report_id": report_id, "status": report.status, "case_id": report.case_id}
        now = services.clock.now()
        effect = Effect()
        received = AbuseReportModel.status == "received"
        contract = match_contract(report, services)
        if contract is None:
            purge = int(now.timestamp()) + services.settings.abuse_unmatched_retention_days * 86400
            effect.update("report", AbuseReportModel(report_id=report_id),
                          [AbuseReportModel.status.set("unmatched"), AbuseReportModel.processed_at.set(utc_iso(now)),
                           AbuseReportModel.purge_epoch.set(purge)], received)
            try:
                services.store.apply(effect)
            except TransactionConflict:
                continue
            return {"report_id": report_id, "status": "unmatched", "case_id": None}
        case, case_id = _slot(contract, report.category)
        effect.update("report", AbuseReportModel(report_id=report_id),
                      [AbuseReportModel.status.set("matched"), AbuseReportModel.case_id.set(case_id),
                       AbuseReportModel.contract_id.set(contract.contract_id),
                       AbuseReportModel.customer_id.set(contract.customer_id),
                       AbuseReportModel.processed_at.set(utc_iso(now)), AbuseReportModel.purge_epoch.remove()],
                      received)
        if case is None:
            _open_case(effect, case_id, report, contract, services, now, actor)
        else:
            _entry(effect, case, now, actor, case.status, case.status, "abuse_case.report_joined",
                   correlation_id=correlation_id, report_id=report_id, source=report.source,
                   target_kind=report.target_kind, target=report.target)
            _write_case(effect, case, {"report_count": int(case.report_count or 0) + 1}, now, accepting=JOINABLE)
        try:
            services.store.apply(effect)
        except TransactionConflict:
            continue  # another delivery processed it, or the case or contract changed: read them again
        for follow_up in effect.after_commit:
            follow_up()
        return {"report_id": report_id, "status": "matched", "case_id": case_id}
    raise ConflictError(f"report {report_id} could not be processed after {RETRIES} tries (concurrent changes)",
                        code="abuse_report_busy")


def _open_case(effect: Effect, case_id: str, report: AbuseReportModel, contract: ContractModel, services: Services,
               now: datetime, actor: str) -> None:
    """A new case: told to the customer with its answer deadline (R48), or, for a manifestly
    illegal activity, the matrix's immediate measure at once without notice before (R49, 17.1)."""
    matrix = sanction_matrix(services)
    severity = report.requested_severity or matrix.severity_for(report.category)
    case = AbuseCaseModel(case_id=case_id, customer_id=contract.customer_id, contract_id=contract.contract_id,
                          domain_name=contract.domain_name, category=report.category, severity=severity,
                          status=S.OPEN.value, report_count=1, created_at=utc_iso(now), revision=0)
    _entry(effect, case, now, actor, None, S.OPEN.value, "abuse_case.opened", report_id=report.report_id,
           source=report.source, target_kind=report.target_kind, target=report.target, severity=severity)
    sanction, seen = decide(case, services, now, severity)
    if sanction.immediate:
        changes = apply_measure(effect, case, contract, sanction.measure, services, now, actor, sanction=sanction,
                                recurrence_seen=seen, severity=severity, before=S.OPEN.value)
    else:
        changes = _notify_complaint(effect, case, report, contract, services, now, actor)
    _write_case(effect, case, changes, now, new=True)


# ---- the customer (R48) ---------------------------------------------------------------------------------

def my_case(case_id: str, principal: Principal, services: Services) -> AbuseCaseModel:
    """A case of the caller's customer; another customer's case answers 404 as an unknown one."""
    case = get_case(case_id, services)
    if not owns_customer(principal, case.customer_id):
        raise NotFoundError(f"no abuse case {case_id}", code="abuse_case_not_found")
    return case


def answer(case_id: str, principal: Principal, message: str, services: Services,
           correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R48: the customer answers the complaint. Before the deadline it stops the automatic measure
    (an operator decides: a measure or closing the case); after a measure it is recorded for the
    operator. An answer after the deadline, before the measure, is refused (409)."""
    case = my_case(case_id, principal, services)
    target = next_case_status(case.status, CaseEvent.ANSWER)
    now = services.clock.now()
    if case.status == S.CUSTOMER_NOTIFIED.value and case.answer_deadline \
            and now >= datetime.fromisoformat(case.answer_deadline):
        raise ConflictError(f"the answer deadline of case {case_id} passed on {case.answer_deadline_on}; the measure "
                            "follows, you may answer once it is notified", code="answer_deadline_passed")
    answers = list(case.answers or []) + [{"at": utc_iso(now), "by": principal.actor, "message": message}]
    effect = Effect()
    _write_case(effect, case, {"status": target.value, "answers": answers}, now)
    _entry(effect, case, now, principal.actor, case.status, target.value, "abuse_case.answered",
           correlation_id=correlation_id, message=message[:1000])
    _commit(effect, services)
    return customer_view(get_case(case_id, services))


# ---- operators (R48, R49) ----------------------------------------------------------------------------------

def set_severity(case_id: str, severity: str, note: Optional[str], services: Services, *, actor: str,
                 correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R49: an operator qualifies the severity. When the matrix makes it immediate (a manifestly
    illegal activity), the suspension is applied at once, without notice before (17.1)."""
    case = get_case(case_id, services)
    next_case_status(case.status, CaseEvent.QUALIFY)
    if severity == case.severity:
        return operator_view(case, services)
    now = services.clock.now()
    history = list(case.severity_history or []) + [
        {"at": utc_iso(now), "by": actor, "from": case.severity, "to": severity, "note": note}]
    changes: dict[str, Any] = {"severity": severity, "severity_history": history}
    effect = Effect()
    _entry(effect, case, now, actor, case.status, case.status, "abuse_case.severity_set", correlation_id=correlation_id,
           severity_before=case.severity, severity=severity, note=note)
    sanction, seen = decide(case, services, now, severity)
    if sanction.immediate:
        contract = _contract(case, services)
        already = (contract.holds or {}).get(ABUSE.value) == HoldLevel.SUSPENDED.value
        if case.status != S.MEASURE_APPLIED.value or not already:
            changes.update(apply_measure(effect, case, contract, sanction.measure, services, now, actor,
                                         sanction=sanction, recurrence_seen=seen, severity=severity,
                                         reason=note or "manifestly illegal"))
    _write_case(effect, case, changes, now)
    _commit(effect, services)
    return operator_view(get_case(case_id, services), services)


def measure_now(case_id: str, measure: Optional[str], reason: Optional[str], services: Services, *, actor: str,
                correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R49: an operator applies a measure now: the matrix's (by the case's category, severity and
    the customer's recurrence) or another one with its reason (422 without)."""
    case = get_case(case_id, services)
    next_case_status(case.status, CaseEvent.MEASURE)
    now = services.clock.now()
    sanction, seen = decide(case, services, now)
    chosen = measure or sanction.measure
    if chosen != sanction.measure and not (reason or "").strip():
        raise RuleViolationError(f"the matrix gives {sanction.measure} for this case ({case.category}, "
                                 f"{case.severity}, {seen}); give the reason for applying {chosen} instead",
                                 code="reason_required",
                                 fields={"reason": "required when the measure is not the matrix's"})
    effect = Effect()
    changes = apply_measure(effect, case, _contract(case, services), chosen, services, now, actor,
                            sanction=Sanction(sanction.measure, immediate=False) if chosen != sanction.measure
                            else sanction, recurrence_seen=seen, severity=case.severity, reason=reason)
    _write_case(effect, case, changes, now)
    _commit(effect, services)
    return operator_view(get_case(case_id, services), services)


def close(case_id: str, outcome: str, note: str, services: Services, *, actor: str,
          correlation_id: Optional[str] = None) -> dict[str, Any]:
    """An operator closes a case: `resolved`, or `dismissed` (no abuse; not once a measure was applied:
    lift it, then close the case as resolved). Closing never lifts a hold (see `lift`)."""
    case = get_case(case_id, services)
    target = next_case_status(case.status, CaseEvent.CLOSE if outcome == "resolved" else CaseEvent.DISMISS)
    now = services.clock.now()
    effect = Effect()
    _write_case(effect, case, {"status": target.value, "outcome": outcome, "closed_at": utc_iso(now),
                               "close_note": note}, now)
    _entry(effect, case, now, actor, case.status, target.value, f"abuse_case.{target.value}",
           correlation_id=correlation_id, outcome=outcome, note=note)
    _commit(effect, services)
    return operator_view(get_case(case_id, services), services)


def lift(case_id: str, note: str, services: Services, *, actor: str,
         correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R49: an operator lifts the contract's `abuse` hold (whatever case set it: holds are per
    reason). Only that reason is lifted: a non-payment or unverified-identity hold stays, and the
    space stays restricted or suspended for it. The customer is told."""
    case = get_case(case_id, services)
    contract = _contract(case, services)
    if ABUSE.value not in (contract.holds or {}):
        raise ConflictError(f"contract {contract.contract_id} has no abuse hold to lift", code="no_abuse_hold")
    now = services.clock.now()
    effect = Effect()
    state = set_hold(effect, "contract", contract, ABUSE, None, services, now, actor, case_id=case_id, note=note)
    _write_case(effect, case, {"lifted_at": utc_iso(now), "lifted_by": actor}, now,
                accepting=tuple(st.value for st in S))
    _entry(effect, case, now, actor, case.status, case.status, "abuse_case.hold_lifted", correlation_id=correlation_id,
           note=note, contract_status=state.value, holds_left=sorted(h for h in (contract.holds or {}) if h != "abuse"))
    add_notice(effect, services, key=f"abuse_lifted#{case_id}#{len(case.measures or [])}#{utc_iso(now)}",
               contract=contract, template="abuse_lifted", now=now, context={
                   "domain": contract.domain_name, "case_id": case_id, "since": now,
                   "still_held": state.value != "active"})
    _commit(effect, services)
    return operator_view(get_case(case_id, services), services)


# ---- the deadline (R48 -> R49) -----------------------------------------------------------------------------

@timer_handler(ANSWER_DEADLINE)
def on_answer_deadline(timer: TimerModel, services: Services) -> Optional[Effect]:
    """R48/R49: the deadline passed without an answer: the case is `deadline_passed` and the
    matrix's measure is applied in the same write. An answer before it (or a closed case) leaves
    nothing to do. A contract no longer in force gets no measure (the case waits for an operator)."""
    try:
        case = AbuseCaseModel.get(timer.target_id, consistent_read=True)
    except AbuseCaseModel.DoesNotExist:
        return None
    if case.status != S.CUSTOMER_NOTIFIED.value:
        return None
    now, effect = services.clock.now(), Effect()
    passed = next_case_status(case.status, CaseEvent.DEADLINE)
    _entry(effect, case, now, "system", case.status, passed.value, "abuse_case.deadline_passed",
           answer_deadline=case.answer_deadline)
    changes: dict[str, Any] = {"status": passed.value}
    contract = services.store.get_contract(case.contract_id)
    sanction, seen = decide(case, services, now)
    needs_hold = MEASURE_LEVEL[sanction.measure] is not None
    if contract is not None and (contract.status in [st.value for st in IN_FORCE] or not needs_hold):
        next_case_status(passed, CaseEvent.MEASURE)
        changes.update(apply_measure(effect, case, contract, sanction.measure, services, now, "system",
                                     sanction=sanction, recurrence_seen=seen, severity=case.severity,
                                     before=passed.value))
    _write_case(effect, case, changes, now, accepting=(S.CUSTOMER_NOTIFIED.value,))
    return effect


# ---- views -----------------------------------------------------------------------------------------------------

def _complaint(report: AbuseReportModel) -> dict[str, Any]:
    """What the customer may know of a report (R48): never who filed it."""
    return {"received_at": report.created_at, "source": report.source, "target_kind": report.target_kind,
            "target": report.target, "excerpt": excerpt(report.description)}


def _case_fields(case: AbuseCaseModel) -> dict[str, Any]:
    return {"case_id": case.case_id, "contract_id": case.contract_id, "domain": case.domain_name,
            "category": case.category, "severity": case.severity, "status": case.status,
            "report_count": int(case.report_count or 0), "opened_at": case.created_at, "updated_at": case.updated_at,
            "notified_at": case.notified_at, "answer_deadline": case.answer_deadline,
            "answer_deadline_on": case.answer_deadline_on, "answers": case.answers or [],
            "measures": [{k: m.get(k) for k in ("measure", "level", "at", "immediate")} for m in case.measures or []],
            "lifted_at": case.lifted_at, "outcome": case.outcome, "closed_at": case.closed_at}


def customer_view(case: AbuseCaseModel) -> dict[str, Any]:
    """R48: a case as its customer sees it: what is complained about, never who complained."""
    return {**_case_fields(case), "complaints": [_complaint(r) for r in reports_of(case.case_id)]}


def cases_of_customer(customer_id: str) -> list[dict[str, Any]]:
    """GET /me/abuse-cases: the customer's cases, newest first."""
    cases = list(AbuseCaseModel.by_customer.query(customer_id, scan_index_forward=False))
    return [customer_view(case) for case in cases]


def operator_view(case: AbuseCaseModel, services: Services) -> dict[str, Any]:
    """A case with its reports (reporter contact, document reference, evidence files with download
    links), its measures in full, the severity history and the contract's holds."""
    from .abuse_intake import report_view
    contract = services.store.get_contract(case.contract_id)
    return {**_case_fields(case), "measures": case.measures or [], "severity_history": case.severity_history or [],
            "lifted_by": case.lifted_by, "close_note": case.close_note,
            "contract": None if contract is None else {"status": contract.status, "holds": contract.holds or {}},
            "reports": [report_view(r, services) for r in reports_of(case.case_id)]}


ORDER = [S.OPEN, S.CUSTOMER_NOTIFIED, S.ANSWERED, S.DEADLINE_PASSED, S.MEASURE_APPLIED, S.CLOSED, S.DISMISSED]
LIST_LIMIT = 200


def cases_for_operators(status: Optional[str]) -> list[dict[str, Any]]:
    """GET /admin/abuse-cases: the cases of one status, or all, those still open first (oldest
    first within a status, so the longest waiting comes first); at most LIST_LIMIT."""
    wanted = [S(status)] if status else ORDER
    found: list[dict[str, Any]] = []
    for state in wanted:
        newest_first = state in FINAL  # closed ones: the recent first
        for case in AbuseCaseModel.by_status.query(state.value, scan_index_forward=not newest_first,
                                                   limit=LIST_LIMIT - len(found)):
            found.append(_case_fields(case))
            if len(found) >= LIST_LIMIT:
                return found
    return found

