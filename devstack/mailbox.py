"""The mails an AWS emulator really sent through SES, read from the emulator itself.

A notice's stored copy masks its secrets (R04: a password is never stored), so tests and a
developer read a credentials mail as sent here: LocalStack keeps them at `GET /_aws/ses`, moto
server in `GET /moto-api/data.json` (ses.Message).

    python -m devstack.mailbox --to jeanne@dupont.fr     # uses AWS_ENDPOINT_URL
"""
from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from typing import Any


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def sent_mails(endpoint: str, to: str) -> list[dict[str, str]]:
    """Every mail sent to `to`, oldest first: {"subject", "body"}."""
    endpoint = endpoint.rstrip("/")
    try:
        messages = _get(f"{endpoint}/_aws/ses")["messages"]  # LocalStack
        return [{"subject": m.get("Subject") or "", "body": (m.get("Body") or {}).get("text_part") or ""}
                for m in messages if to in (m.get("Destination") or {}).get("ToAddresses", [])]
    except (urllib.error.HTTPError, KeyError, ValueError):
        pass
    # moto server: only the SES models (devstack/moto_server.py; a plain moto server ignores it and dumps all)
    messages = _get(f"{endpoint}/moto-api/data.json?service=ses").get("ses", {}).get("Message", [])
    return [{"subject": m.get("subject") or "", "body": m.get("body") or ""}
            for m in messages if to in (m.get("destinations") or {}).get("ToAddresses", [])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", required=True)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"))
    args = parser.parse_args()
    for mail in sent_mails(args.endpoint, args.to):
        print(f"{mail['subject']}\n{mail['body']}\n{'-' * 72}")


if __name__ == "__main__":
    main()
