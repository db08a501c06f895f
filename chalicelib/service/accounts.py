"""Customer accounts (R04, R06): credentials, sessions, revocation, beneficiaries.

- An account (login) is created with its customer when the order is placed, without a password.
  At conclusion (the first payment) a `credentials_issued` notice is decided in the payment's
  own transaction. The password is generated only when that notice is delivered, stored as an
  argon2id hash, sent to the contact address, and masked in the stored copy of the mail: a
  password is never written anywhere in clear (R04).
- POST /auth/login opens a session: a short-lived access token (JWT HS256) and a refresh token
  (stored as its SHA-256). Both carry the account's epoch; logout, a password change and
  "credentials lost or stolen" raise it, so every token and session of the account fails at once.
- A reset (forgotten password) puts a new password next to the current one until it is first
  used, so a reset asked by someone else never locks the customer out; the mail goes only to the
  contact address. Sending credentials to another address is an operator action recorded with an
  identity document reference.
- Login and reset are rate-limited per identifier and per client address, and answer the same
  for an unknown login and a wrong password.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, Optional

from ..adapters.dynamo_store import Effect, new_id
from ..adapters.models import AccountModel, CustomerModel, SessionModel
from ..bootstrap import Services
from ..domain import accounts as rules
from ..domain.access import BENEFICIARY, CUSTOMER, SUBSCRIBER, Principal
from ..domain.calendar import utc_iso
from ..domain.credentials import ARGON2_PARAMETERS
from ..domain.errors import AuthenticationError, ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from ..domain.evidence import EvidenceEntry
from . import throttle
from .effects import commit

CREDENTIALS_TEMPLATE = "credentials_issued"
WRONG_CREDENTIALS = "the login or the password is wrong"
_DUMMY_HASH: list[str] = []


def _hasher() -> Any:
    from argon2 import PasswordHasher
    return PasswordHasher(**ARGON2_PARAMETERS)


def _verify(password_hash: Optional[str], password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
    if not password_hash:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _burn_verify(password: str) -> None:
    """An unknown login costs the same argon2 work as a wrong password (no login enumeration)."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(_hasher().hash(secrets.token_urlsafe(16)))
    _verify(_DUMMY_HASH[0], password)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def get_account(login: str) -> Optional[AccountModel]:
    try:
        return AccountModel.get(login, consistent_read=True)
    except AccountModel.DoesNotExist:
        return None


def accounts_of_customer(customer_id: str) -> list[AccountModel]:
    return list(AccountModel.by_customer.query(customer_id))


def subscriber_account(customer_id: str, now: datetime, email: str) -> AccountModel:
    """R04: the subscriber login of a new customer, without a password until conclusion."""
    return AccountModel(login=rules.new_login(), account_id=new_id("acc"), customer_id=customer_id,
                        role=SUBSCRIBER, email=email, status="pending", epoch=0, contract_ids=[],
                        created_at=utc_iso(now))


def credentials_notice(account: AccountModel, reason: str, now: datetime, *, to: str,
                       correlation_id: Optional[str] = None, key: Optional[str] = None) -> Any:
    """The notice that carries a login and a new password (generated at delivery, R04)."""
    from .notices import new_notice
    return new_notice(
        notice_key=key or f"credentials#{account.login}#{reason}#{new_id('c')}", customer_id=account.customer_id,
        to=to, template=CREDENTIALS_TEMPLATE, now=now, correlation_id=correlation_id,
        context={"login": account.login, "reason": reason, "slot": rules.SLOT_BY_REASON[reason],
                 "role": account.role})


def initial_credentials_notice(contract: Any, to: str, now: datetime,
                               correlation_id: Optional[str] = None) -> Optional[Any]:
    """R04: at conclusion, the credentials notice of the login made with the order (the contract
    carries it, so the payment reads nothing more), to the contact address the invoice was made
    out to; None for a contract without one. Its key is fixed per login: the payment's write
    stores it once, and its delivery gives the login its first password."""
    if not contract.customer_login:
        return None
    account = AccountModel(login=contract.customer_login, customer_id=contract.customer_id, role=SUBSCRIBER)
    return credentials_notice(account, rules.INITIAL, now, to=to, correlation_id=correlation_id,
                              key=f"credentials#{contract.customer_login}#initial")


def contact_address(account: AccountModel, services: Services) -> str:
    """R04: a subscriber's credentials go to the customer's contact email on file (R02 lets the
    customer change it); a beneficiary's to the address the subscriber gave for it."""
    if account.role == SUBSCRIBER:
        customer = services.store.get_customer(account.customer_id)
        if customer is not None and customer.email:
            return customer.email
    return account.email


# ---- delivery-time secret (called by service.notices.deliver_notice) -----------------------------

def reveal_password(notice: Any, services: Services) -> dict[str, str]:
    """Generate the password a credentials notice carries, store its argon2id hash in the slot
    the notice names (`password`: replaces; `pending`: next to the current one), and return it for
    this one rendering. A redelivery generates another one (the earlier mail never arrived, or
    its password is replaced)."""
    context = notice.context or {}
    password = rules.new_password()
    hashed = _hasher().hash(password)
    now = utc_iso(services.clock.now())
    actions = ([AccountModel.pending_password_hash.set(hashed)] if context.get("slot") == "pending" else
               [AccountModel.password_hash.set(hashed), AccountModel.pending_password_hash.remove(),
                AccountModel.status.set("active"), AccountModel.password_changed_at.set(now)])
    AccountModel(login=context["login"]).update(
        actions=actions + [AccountModel.updated_at.set(now)],
        condition=AccountModel.login.exists() & (AccountModel.status != "closed"))
    return {"password": password}


# ---- sessions ---------------------------------------------------------------------------------

def _access_token(account: AccountModel, session_id: str, services: Services, now: datetime) -> str:
    import jwt
    claims = rules.access_claims(account.login, account.customer_id, session_id, int(account.epoch or 0), now,
                                 services.settings.access_token_minutes)
    return jwt.encode(claims.to_jwt(), services.settings.auth_token_secret, algorithm="HS256")


def _tokens(account: AccountModel, session: SessionModel, refresh_token: Optional[str], services: Services,
            now: datetime) -> dict[str, Any]:
    view = {"token_type": "Bearer", "access_token": _access_token(account, session.session_id, services, now),
            "expires_in": services.settings.access_token_minutes * 60, "role": account.role,
            "customer_id": account.customer_id, "session_id": session.session_id}
    if refresh_token:
        view["refresh_token"] = refresh_token
    return view


def login(login_id: Any, password: Any, services: Services, *, client_ip: str) -> dict[str, Any]:
    """R04: open a session. 401 `invalid_credentials` for an unknown login, a wrong password or an
    account without credentials, all alike; 429 past the failed-attempt limits."""
    if not isinstance(login_id, str) or not isinstance(password, str) or not login_id or not password \
            or len(login_id) > 64 or len(password) > rules.PASSWORD_MAX:
        raise InvalidInputError("send {\"login\": \"sh-...\", \"password\": \"...\"}", code="invalid_login_request",
                                fields={"login": "required string", "password": "required string"})
    s, now = services.settings, services.clock.wall()  # sessions and rate limits run on real time
    login_id = login_id.strip().lower()
    window = timedelta(minutes=s.throttle_window_minutes)
    message = "too many failed sign-ins; wait before trying again"
    throttle.refuse_over("login-id", login_id, s.login_attempts_per_login, now=now, window=window, message=message)
    throttle.refuse_over("login-ip", client_ip, s.login_attempts_per_address, now=now, window=window,
                         message=message)
    account = get_account(login_id)
    usable = account is not None and account.status == "active"
    if not usable:
        _burn_verify(password)
    current = usable and _verify(account.password_hash, password)
    pending = usable and not current and _verify(account.pending_password_hash, password)
    if not (current or pending):
        throttle.record("login-id", login_id, now=now, window=window)
        throttle.record("login-ip", client_ip, now=now, window=window)
        raise AuthenticationError(WRONG_CREDENTIALS)
    if pending:  # R04: a reissued password is used: it replaces the former one
        AccountModel(login=account.login).update(actions=[
            AccountModel.password_hash.set(account.pending_password_hash),
            AccountModel.pending_password_hash.remove(), AccountModel.password_changed_at.set(utc_iso(now))])
    refresh_secret = secrets.token_urlsafe(32)
    session = SessionModel(session_id=new_id("ses"), login=account.login, customer_id=account.customer_id,
                           epoch=int(account.epoch or 0), refresh_token_hash="", created_at=utc_iso(now),
                           expires_at=utc_iso(now + timedelta(days=s.session_days)),
                           expires_epoch=int((now + timedelta(days=s.session_days)).timestamp()), client_ip=client_ip)
    refresh_token = f"{session.session_id}.{refresh_secret}"
    session.refresh_token_hash = _sha256(refresh_token)
    session.save()
    return _tokens(account, session, refresh_token, services, now)


def refresh(refresh_token: Any, services: Services) -> dict[str, Any]:
    """A new access token for a session still valid (same epoch as its account, not expired)."""
    now = services.clock.wall()
    session_id, _, secret = refresh_token.partition(".") if isinstance(refresh_token, str) else ("", "", "")
    if not session_id or not secret or len(refresh_token) > 200:
        raise AuthenticationError("the refresh token is not valid", code="invalid_token")
    try:
        session = SessionModel.get(session_id, consistent_read=True)
    except SessionModel.DoesNotExist:
        raise AuthenticationError("the refresh token is not valid", code="invalid_token") from None
    account = get_account(session.login)
    if (not hmac.compare_digest(session.refresh_token_hash, _sha256(refresh_token)) or session.ended_at
            or session.expires_at <= utc_iso(now) or account is None
            or rules.token_still_valid(int(session.epoch), int(account.epoch or 0), account.status)):
        raise AuthenticationError("this session ended; sign in again", code="invalid_token")
    return _tokens(account, session, None, services, now)


def principal_from_access_token(token: str, services: Services) -> Principal:
    """R04/R06: the customer login a token names, if the token verifies, has not expired and its
    epoch is still the account's (one read of the account)."""
    import jwt
    try:
        # Expiry is checked below against the services' real-time clock (the one that issued it).
        claims = jwt.decode(token, services.settings.auth_token_secret, algorithms=["HS256"],
                            options={"require": ["exp", "sub", "sid", "ep"], "verify_exp": False,
                                     "verify_iat": False, "verify_nbf": False})
    except jwt.PyJWTError:
        return Principal(problem="the access token does not verify")
    if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str):
        return Principal(problem="the access token does not verify")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= services.clock.wall().timestamp():
        return Principal(problem="the access token expired; refresh it or sign in again")
    account = get_account(claims["sub"])
    if account is None:
        return Principal(problem="the access token does not verify")
    problem = rules.token_still_valid(claims.get("ep"), int(account.epoch or 0), account.status)
    if problem:
        return Principal(problem=problem)
    return Principal(kind=CUSTOMER, customer_id=account.customer_id, login=account.login, role=account.role,
                     contract_ids=tuple(account.contract_ids or ()), session_id=claims.get("sid"))


# ---- revocation, password change, reissue -------------------------------------------------------

def _revoke(effect: Effect, account: AccountModel, now: datetime, *, clear_passwords: bool = False,
            password_hash: Optional[str] = None) -> None:
    """Raise the epoch (conditioned on the one read): every token and session of the login fails."""
    epoch = int(account.epoch or 0)
    actions = [AccountModel.epoch.set(epoch + 1), AccountModel.updated_at.set(utc_iso(now))]
    if clear_passwords:
        actions += [AccountModel.password_hash.remove(), AccountModel.pending_password_hash.remove()]
    if password_hash:
        actions += [AccountModel.password_hash.set(password_hash), AccountModel.pending_password_hash.remove(),
                    AccountModel.password_changed_at.set(utc_iso(now))]
    condition = (AccountModel.epoch == epoch) if epoch else (AccountModel.epoch.does_not_exist()
                                                             | (AccountModel.epoch == 0))
    effect.update("account", AccountModel(login=account.login), actions, condition)


def _evidence(account: AccountModel, now: datetime, actor: str, action: str, after: dict[str, Any],
              correlation_id: Optional[str]) -> EvidenceEntry:
    return EvidenceEntry(customer_id=account.customer_id, at=now, actor=actor, action=action, entity_type="account",
                         entity_id=account.login, after=after, correlation_id=correlation_id)


def _commit(effect: Effect, services: Services) -> None:
    commit(effect, services, ConflictError("the account changed meanwhile; try again", code="account_changed"))


def _account_of(principal: Principal) -> AccountModel:
    account = get_account(principal.login or "")
    if account is None:
        raise AuthenticationError("sign in again", code="invalid_token")
    return account


def logout(principal: Principal, services: Services, correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R04: end every session of the login at once (tokens already issued fail from now on)."""
    now = services.clock.now()
    account = _account_of(principal)
    effect = Effect()
    _revoke(effect, account, now)
    effect.evidence.append(_evidence(account, now, principal.actor, "account.logout", {"sessions": "revoked"},
                                     correlation_id))
    _commit(effect, services)
    return {"sessions_revoked": True}


def change_password(principal: Principal, current: Any, new: Any, services: Services,
                    correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R04: the logged-in customer changes the password (the current one is asked again); every
    session ends, the customer signs in again with the new one."""
    now = services.clock.now()
    account = _account_of(principal)
    if not isinstance(current, str) or not _verify(account.password_hash, current):
        raise AuthenticationError("the current password is wrong", code="wrong_current_password")
    new_password = rules.check_new_password(new, account.login)
    effect = Effect()
    _revoke(effect, account, now, password_hash=_hasher().hash(new_password))
    effect.evidence.append(_evidence(account, now, principal.actor, "account.password_changed",
                                     {"sessions": "revoked"}, correlation_id))
    _commit(effect, services)
    return {"password_changed": True, "sessions_revoked": True}


def report_lost(principal: Principal, services: Services, correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R04: credentials lost or stolen: every session and the password are revoked at once, and
    new credentials go to the contact address on file."""
    now = services.clock.now()
    account = _account_of(principal)
    effect = Effect()
    _revoke(effect, account, now, clear_passwords=True)
    _reissue(effect, account, rules.LOST, contact_address(account, services), services, now, correlation_id)
    effect.evidence.append(_evidence(account, now, principal.actor, "account.credentials_lost",
                                     {"sessions": "revoked", "password": "revoked", "new_credentials_to": "contact"},
                                     correlation_id))
    _commit(effect, services)
    return {"sessions_revoked": True, "new_credentials": "sent to the contact address on file"}


def _reissue(effect: Effect, account: AccountModel, reason: str, to: str, services: Services, now: datetime,
             correlation_id: Optional[str]) -> None:
    from ..adapters.models import NoticeModel
    from .notices import queue_notice
    notice = credentials_notice(account, reason, now, to=to, correlation_id=correlation_id)
    effect.save("notice", notice, NoticeModel.notice_id.does_not_exist())
    effect.after_commit.append(lambda: queue_notice(notice, services))


def request_reset(login_id: Any, services: Services, *, client_ip: str,
                  correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R04: a forgotten password. The same 202 whether the login exists or not; when it does, a
    new password is sent to the contact address on file (valid next to the current one until
    first used). Rate-limited per identifier and per client address."""
    if not isinstance(login_id, str) or not login_id or len(login_id) > 64:
        raise InvalidInputError("send {\"login\": \"sh-...\"}", code="invalid_reset_request",
                                fields={"login": "required string"})
    s, now = services.settings, services.clock.wall()
    login_id = login_id.strip().lower()
    window = timedelta(minutes=s.throttle_window_minutes)
    message = "too many credential requests; wait before asking again"
    throttle.take("reset-id", login_id, s.reset_requests_per_login, now=now, window=window, message=message)
    throttle.take("reset-ip", client_ip, s.login_attempts_per_address, now=now, window=window, message=message)
    answer = {"accepted": True, "message": "if this login exists, new credentials were sent to its contact address"}
    account = get_account(login_id)
    if account is None or account.status != "active":
        return answer
    effect, now = Effect(), services.clock.now()  # business time for the notice and the evidence
    _reissue(effect, account, rules.RESET, contact_address(account, services), services, now, correlation_id)
    effect.evidence.append(_evidence(account, now, "anonymous", "account.credentials_reset",
                                     {"new_credentials_to": "contact", "client_ip": client_ip}, correlation_id))
    _commit(effect, services)
    return answer


def deliver_elsewhere(customer_id: str, email: str, identity_document_ref: str, operator: str, services: Services,
                      *, login_id: Optional[str] = None, correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R04: an operator sends new credentials to an address other than the one on file, after
    checking an identity document (its reference is recorded). Revokes every session first."""
    now = services.clock.now()
    customer = services.store.get_customer(customer_id)
    if customer is None or customer.erased_at:
        raise NotFoundError(f"no customer {customer_id}", code="customer_not_found")
    account = get_account(login_id or customer.login or "")
    if account is None or account.customer_id != customer_id:
        raise NotFoundError(f"customer {customer_id} has no such login", code="account_not_found")
    effect = Effect()
    _revoke(effect, account, now, clear_passwords=True)
    _reissue(effect, account, rules.OPERATOR_DELIVERY, email, services, now, correlation_id)
    effect.evidence.append(_evidence(account, now, f"operator:{operator}", "account.credentials_sent_elsewhere",
                                     {"to": email, "identity_document_ref": identity_document_ref,
                                      "sessions": "revoked"}, correlation_id))
    _commit(effect, services)
    return {"login": account.login, "sent_to": email, "identity_document_ref": identity_document_ref,
            "sessions_revoked": True}


# ---- beneficiaries (R06) ------------------------------------------------------------------------

def add_beneficiary(principal: Principal, contract_id: str, email: str, name: Optional[str], services: Services,
                    correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R06: the subscriber names a beneficiary of one of its contracts: a login of its own (role
    beneficiary, that contract only) whose credentials go to the beneficiary's address."""
    from ..adapters.models import NoticeModel
    from .notices import queue_notice
    if principal.role != SUBSCRIBER:
        raise ForbiddenError("R06: only the subscriber names beneficiaries", code="beneficiary_cannot_administer")
    contract = services.store.get_contract(contract_id)
    if contract is None or contract.customer_id != principal.customer_id:
        raise NotFoundError(f"no contract {contract_id}", code="contract_not_found")
    now = services.clock.now()
    account = AccountModel(login=rules.new_login(), account_id=new_id("acc"), customer_id=principal.customer_id,
                           role=BENEFICIARY, email=email, name=name, contract_ids=[contract_id], status="pending",
                           epoch=0, created_at=utc_iso(now))
    notice = credentials_notice(account, rules.INITIAL, now, to=email, correlation_id=correlation_id,
                                key=f"credentials#{account.login}#initial")
    effect = Effect()
    effect.save("account", account, AccountModel.login.does_not_exist())
    effect.save("notice", notice, NoticeModel.notice_id.does_not_exist())
    effect.evidence.append(EvidenceEntry(
        customer_id=principal.customer_id, at=now, actor=principal.actor, action="account.beneficiary_added",
        entity_type="account", entity_id=account.login, after={"role": BENEFICIARY, "contract_id": contract_id},
        correlation_id=correlation_id, contract_id=contract_id))
    effect.after_commit.append(lambda: queue_notice(notice, services))
    _commit(effect, services)
    return account_view(account)


def remove_beneficiary(principal: Principal, login_id: str, services: Services,
                       correlation_id: Optional[str] = None) -> dict[str, Any]:
    """R06: the subscriber closes a beneficiary's login; its sessions end at once."""
    account = get_account(login_id)
    if account is None or account.customer_id != principal.customer_id or account.role != BENEFICIARY:
        raise NotFoundError(f"no beneficiary {login_id}", code="beneficiary_not_found")
    now = services.clock.now()
    effect = Effect()
    _revoke(effect, account, now, clear_passwords=True)
    effect.updates[-1][2].append(AccountModel.status.set("closed"))
    effect.evidence.append(_evidence(account, now, principal.actor, "account.beneficiary_removed",
                                     {"status": "closed"}, correlation_id))
    _commit(effect, services)
    return {"login": login_id, "status": "closed"}


def account_view(account: AccountModel) -> dict[str, Any]:
    """What a customer sees of a login (never a hash)."""
    return {"login": account.login, "role": account.role, "status": account.status, "email": account.email,
            "name": account.name, "contract_ids": list(account.contract_ids or ()), "created_at": account.created_at,
            "password_changed_at": account.password_changed_at}


def customer_accounts_view(customer_id: str) -> list[dict[str, Any]]:
    return [account_view(a) for a in accounts_of_customer(customer_id)]


__all__ = ["CustomerModel", "login", "refresh", "logout", "change_password", "report_lost", "request_reset",
           "deliver_elsewhere", "add_beneficiary", "remove_beneficiary", "principal_from_access_token",
           "reveal_password", "subscriber_account", "initial_credentials_notice"]
