"""Customer credentials (R04) and account roles (R06): pure rules, no storage.

- A login identifier is generated (`sh-xxxx-xxxx-xxxx`, 60 random bits): it says nothing about
  the customer and is sent, with the password, only to the contact address on file.
- A generated password has 100 random bits. A password the customer chooses has 12 to 128
  characters and is not the login.
- An access token lives `access_token_minutes`; it carries the account's `epoch`, and raising the
  epoch (logout, password change, credentials lost or stolen) makes every earlier token and
  session fail at once.
"""
from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from .errors import InvalidInputError

LOGIN_PREFIX = "sh-"
PASSWORD_MIN, PASSWORD_MAX = 12, 128

# Why credentials are sent (the `reason` of a credentials notice) and where the new password goes:
# "password" replaces the current one; "pending" stands next to it until first used (R04 reset: a
# reset someone else asked for never locks the customer out).
INITIAL, RESET, LOST, OPERATOR_DELIVERY = "initial", "reset", "lost", "operator_delivery"
SLOT_BY_REASON = {INITIAL: "password", RESET: "pending", LOST: "password", OPERATOR_DELIVERY: "password"}


def _base32(nbytes: int) -> str:
    return base64.b32encode(secrets.token_bytes(nbytes)).decode().lower().rstrip("=")


def new_login() -> str:
    """R04: `sh-` and 12 base32 characters in groups of four, e.g. `sh-k3p9-x2mq-7rta`."""
    raw = _base32(8)[:12]
    return LOGIN_PREFIX + "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def new_password() -> str:
    """R04: a generated password, 20 base32 characters (100 bits), grouped for reading."""
    raw = _base32(13)[:20]
    return "-".join(raw[i:i + 5] for i in range(0, 20, 5))


def check_new_password(password: Any, login: str) -> str:
    """R04: a password the customer chooses; InvalidInputError says what to fix."""
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInputError(f"the new password must have {PASSWORD_MIN} to {PASSWORD_MAX} characters",
                                code="weak_password", fields={"new_password": "12 to 128 characters"})
    if password.strip().lower() == login.lower():
        raise InvalidInputError("the new password cannot be the login", code="weak_password",
                                fields={"new_password": "differs from the login"})
    return password


@dataclass(frozen=True)
class AccessClaims:
    login: str
    customer_id: str
    session_id: str
    epoch: int
    issued_at: datetime
    expires_at: datetime

    def to_jwt(self) -> dict[str, Any]:
        return {"sub": self.login, "cid": self.customer_id, "sid": self.session_id, "ep": self.epoch,
                "iat": int(self.issued_at.timestamp()), "exp": int(self.expires_at.timestamp()), "typ": "access"}


def access_claims(login: str, customer_id: str, session_id: str, epoch: int, now: datetime,
                  minutes: int) -> AccessClaims:
    return AccessClaims(login, customer_id, session_id, epoch, now, now + timedelta(minutes=minutes))


def token_still_valid(token_epoch: Any, account_epoch: int, account_status: str) -> Optional[str]:
    """None when a token of epoch `token_epoch` still opens the account; else why not (R04)."""
    if account_status != "active":
        return "this account is closed or has no credentials yet"
    if not isinstance(token_epoch, int) or token_epoch != account_epoch:
        return "this token was revoked (logout, password change or credentials reported lost)"
    return None
