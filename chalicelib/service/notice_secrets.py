"""Secrets a notice carries (R04 login password, R28 FTP password): made at delivery, given to
that one rendering for SES, and masked in the notice row and its stored copy of the mail, so no
password is ever written in clear in the database."""
from __future__ import annotations

from typing import Any

from ..bootstrap import Services

MASKED = "•••••• (envoyé une seule fois, jamais conservé)"
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "credentials_issued": ("password",),  # R04: generated at delivery, its argon2id hash stored
    "space_ready": ("ftp_password",),      # R28: derived from the FTP secret and the contract id
}


def masked_secrets(template: str) -> dict[str, str]:
    """What a template shows in place of its secrets when they are not given (the stored copy)."""
    return {field: MASKED for field in SECRET_FIELDS.get(template, ())}


def reveal_secrets(notice: Any, services: Services) -> dict[str, str]:
    """The secrets of one delivery of `notice` (none for most templates)."""
    if notice.template == "credentials_issued":
        from .accounts import reveal_password
        return reveal_password(notice, services)
    if notice.template == "space_ready":
        from ..domain.credentials import ftp_password
        return {"ftp_password": ftp_password(services.settings.ftp_password_secret, notice.contract_id)}
    return {}
