"""SES: send one plain-text email (R54). botocore errors are translated here, once, into MailError."""
from __future__ import annotations

import threading
from typing import Any


class MailError(Exception):
    """SES refused or failed to take a message. `code` is SES's error code (e.g. MessageRejected,
    Throttling) or the exception's class name when no answer came back."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class SesMailer:
    """`ses.send_email` from one verified sender. The boto3 client is made on first use (boto3
    honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SES, so devstack points it at moto or LocalStack)."""

    def __init__(self, region: str, sender: str) -> None:
        self.region, self.sender = region, sender
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3  # imported where used: keeps the API's cold start light
                self._client = boto3.client("ses", region_name=self.region)
            return self._client

    def send(self, *, to: str, subject: str, body: str) -> str:
        """Send and return SES's message id; raise MailError when SES does not take it."""
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            answer = self.client.send_email(
                Source=self.sender, Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                         "Body": {"Text": {"Data": body, "Charset": "UTF-8"}}})
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise MailError(error.get("Code") or "ClientError", error.get("Message") or str(exc)) from exc
        except BotoCoreError as exc:  # no answer: endpoint unreachable, timeout, credentials
            raise MailError(type(exc).__name__, str(exc)) from exc
        return answer["MessageId"]
