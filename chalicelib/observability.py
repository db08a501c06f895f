"""One Powertools logger for the whole app (structured JSON, correlation ids)."""
from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="soho-backoffice")
