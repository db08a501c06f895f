"""The node's FTP server (R28): one account per hosting space, login = the domain, home = its htdocs.

Accounts are read from the spaces themselves (space.json), so a command that changes a space
changes its account at once: a deleted or deprovisioned space has no account (R13, R20), a
suspended one refuses the login (R19, R23, R49), a restricted one logs in read-only (R23, R49).
Passwords are checked against the argon2 hash the back office sent; the node never holds one.
The first login and the first upload of a space are reported once each (R32) through the
store's outbox, which the agent sends: nothing here waits on SQS.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Callable, Optional

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.exceptions import AuthenticationFailed
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import ThreadedFTPServer

from .spaces import FtpAccount, SpaceStore

log = logging.getLogger("nodeagent.ftp")

READ_PERMS = "elr"               # CWD, LIST/NLST/SIZE/MDTM..., RETR
ALL_PERMS = READ_PERMS + "adfmwMT"  # + APPE, DELE/RMD, RNFR/RNTO, MKD, STOR/STOU, SITE CHMOD, MFMT
LOGIN_FAILED = "Authentication failed."


def _now() -> datetime:
    return datetime.now(timezone.utc)


def verify_password(password_hash: Optional[str], password: str) -> bool:
    """True when `password` matches the argon2 `password_hash` (None or a malformed hash: False)."""
    if not password_hash:
        return False
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError
    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class SpaceAuthorizer(DummyAuthorizer):
    """pyftpdlib's authorizer over the spaces on disk, read again at every check, so a suspension
    or a deletion applies to sessions already open."""

    def __init__(self, store: SpaceStore) -> None:
        super().__init__()
        self.store = store

    def _account(self, username: str) -> Optional[FtpAccount]:
        return self.store.ftp_account(username)

    def validate_authentication(self, username: str, password: str, handler) -> None:
        account = self._account(username)
        if account is None or not verify_password(account.password_hash, password):
            raise AuthenticationFailed(LOGIN_FAILED)
        if account.state == "suspended":  # told only to whoever knows the password
            raise AuthenticationFailed("This hosting space is suspended.")

    def get_home_dir(self, username: str) -> str:
        account = self._account(username)
        if account is None:
            raise AuthenticationFailed(LOGIN_FAILED)
        return str(account.htdocs.resolve())

    def has_user(self, username: str) -> bool:
        return self._account(username) is not None

    def get_perms(self, username: str) -> str:
        account = self._account(username)
        if account is None or account.state == "suspended":
            return ""
        return READ_PERMS if account.state == "restricted" else ALL_PERMS

    def has_perm(self, username: str, perm: str, path: Optional[str] = None) -> bool:
        return perm in self.get_perms(username)

    def get_msg_login(self, username: str) -> str:
        account = self._account(username)
        if account is not None and account.state == "restricted":
            return "Login successful. This hosting space is restricted: read-only."
        return "Login successful."

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."


class SpaceFTPServer(ThreadedFTPServer):
    """A thread per connection (an argon2 check takes tens of milliseconds and must not stall the
    other sessions), with its own stop flag and IO loop so several servers can live in one process."""

    def __init__(self, address, handler) -> None:
        self._lock = threading.Lock()
        self._exit = threading.Event()
        super().__init__(address, handler, ioloop=IOLoop())

    @property
    def server_address(self) -> tuple[str, int]:
        return self.address


def make_ftp_server(store: SpaceStore, host: str, port: int, *, clock: Callable[[], datetime] = _now,
                    auth_failed_delay: float = 3.0) -> SpaceFTPServer:
    """The node's FTP server on (host, port); port 0 takes a free one (see `server_address`).
    `auth_failed_delay` slows password guessing (the answer to a wrong password waits that long)."""

    class SpaceFTPHandler(FTPHandler):
        authorizer = SpaceAuthorizer(store)
        banner = "soho-node FTP ready."
        auth_failed_timeout = auth_failed_delay

        def _report(self, usage: str) -> None:
            account = store.ftp_account(self.username)
            if account is None:
                return
            try:
                if store.record_first_use(account.domain, usage, clock()):
                    log.info("first use of %s: %s", account.domain, usage)
            except OSError as exc:  # never break the session for the report; the next use retries it
                log.warning("first use of %s not recorded: %s", account.domain, exc)

        def on_login(self, username: str) -> None:
            self._report("ftp_login")

        def on_file_received(self, file: str) -> None:
            self._report("ftp_upload")

    return SpaceFTPServer((host, port), SpaceFTPHandler)


class FtpService:
    """Runs an FTP server in a background thread until `stop()`."""

    def __init__(self, server: SpaceFTPServer) -> None:
        self.server = server
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="node-ftp", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address

    def start(self) -> "FtpService":
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            while not self._stopping.is_set():
                self.server.serve_forever(timeout=0.2, blocking=False, handle_exit=False)
        finally:
            self.server.close_all()

    def stop(self, timeout: float = 10) -> None:
        self._stopping.set()
        self._thread.join(timeout)
