"""python -m devstack.clock [advance P30D | set 2027-11-27T00:00:00+01:00]: read or move the local
stack's clock through its operator endpoint (local mode only); a move runs one timer sweep."""
from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request

from .stack import DEFAULT_OPERATOR_KEY


def call(api: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"{api}/dev/clock", method="POST" if body else "GET",
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def main() -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="devstack.clock", description=__doc__)
    parser.add_argument("action", nargs="?", choices=["advance", "set"])
    parser.add_argument("value", nargs="?", help="ISO 8601 duration (advance) or instant with offset (set)")
    parser.add_argument("--api", default=env("API_URL", f"http://127.0.0.1:{env('API_PORT', '8000')}"))
    args = parser.parse_args()
    if args.action and not args.value:
        parser.error(f"{args.action} needs a value")
    status, body = call(args.api, env("OPERATOR_API_KEY", DEFAULT_OPERATOR_KEY),
                        {args.action: args.value} if args.action else None)
    print(status, json.dumps(body))
    raise SystemExit(0 if status == 200 else 1)


if __name__ == "__main__":
    main()
