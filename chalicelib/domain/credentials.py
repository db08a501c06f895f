"""Hosting space credentials (R28): the FTP password is derived from a secret, never stored.

The back office can give the customer the same password at any time (the space-ready notice)
from the secret and the contract id; the node only ever receives an argon2 hash of it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

FTP_PASSWORD_LENGTH = 20  # base32 characters: 100 bits

# argon2id at OWASP's lower-memory setting (19 MiB, 2 passes, 1 lane): about 25 ms here, and it
# fits a 128 MB Lambda; the parameters travel inside the hash, so the node verifies any setting.
ARGON2_PARAMETERS = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}


def ftp_password(secret: str, contract_id: str) -> str:
    """R28: the FTP password of a contract's space: HMAC-SHA256(secret, contract id), base32,
    lower case, 20 characters. Deterministic; another contract or another secret gives another one."""
    if not secret or not contract_id:
        raise ValueError("an FTP password needs the secret and the contract id")
    digest = hmac.new(secret.encode(), f"ftp#{contract_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:FTP_PASSWORD_LENGTH]


def ftp_password_hash(password: str) -> str:
    """The argon2id hash of `password`, salted, as the node stores it (ProvisionSpace)."""
    from argon2 import PasswordHasher  # imported where used: only the first payment pays for it
    return PasswordHasher(**ARGON2_PARAMETERS).hash(password)
