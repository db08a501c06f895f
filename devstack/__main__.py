"""make run: the whole system locally on its embedded default. Ctrl-C stops everything."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from .stack import DEFAULT_OPERATOR_KEY, DEFAULT_WEBHOOK_SECRET, ROOT, Stack


def main() -> None:
    env = os.environ.get
    stack = Stack(
        workdir=Path(env("DEVSTACK_DIR", str(ROOT / ".devstack"))),
        api_port=int(env("API_PORT", "8000")), node_http_port=int(env("NODE_HTTP_PORT", "8080")),
        node_ftp_port=int(env("NODE_FTP_PORT", "2121")), node_dns_port=int(env("NODEAGENT_DNS_PORT", "0")),
        endpoint=env("AWS_ENDPOINT_URL") or None, dynamodb_endpoint=env("AWS_ENDPOINT_URL_DYNAMODB") or None,
        webhook_secret=env("PAYMENT_WEBHOOK_SECRET", DEFAULT_WEBHOOK_SECRET),
        operator_key=env("OPERATOR_API_KEY", DEFAULT_OPERATOR_KEY),
        node_fail_domains=env("NODEAGENT_FAIL_DOMAINS", ""))
    started_emulator = stack.endpoint is None
    print("starting soho-backoffice devstack ...", flush=True)
    def interrupt(*_):
        raise KeyboardInterrupt

    # Explicit handlers: a shell may start us with SIGINT ignored (background jobs), yet Ctrl-C and
    # kill must still stop every child.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        stack.start()
        dynamodb = f"\n  DynamoDB endpoint   {stack.dynamodb_endpoint}" if stack.dynamodb_endpoint else ""
        print(f"""
soho-backoffice is running
  API                 {stack.api_url}   (GET /health, GET /catalog, POST /orders)
  hosting node        {stack.node_url}   (sites by Host header)
  node FTP            ftp://{stack.ftp_address[0]}:{stack.ftp_address[1]}   (login: the domain; password: space-ready mail)
  node DNS            {stack.dns_address[0]}:{stack.dns_address[1]}   (udp+tcp; the zones of managed domains, R40)
  EPP registry        {stack.env.get('SOHO_REGISTRY_ENDPOINT', '')}   (local test registry, TLS; CA {stack.env.get('SOHO_REGISTRY_CA_FILE', '')})
  registry control    {stack.registry_control_url}/control   (refuse, domains, transfers, faults)
  AWS endpoint        {stack.endpoint}{'   (moto server started here)' if started_emulator else ''}{dynamodb}
  operator key        {stack.operator_key}   (Authorization: Bearer ...)
  webhook secret      {stack.webhook_secret}
  logs                {stack.workdir / 'logs'}
  processes           {' '.join(f'{name}={pid}' for name, pid in stack.pids().items())}
  pay an invoice      API_PORT={stack.api_port} .venv/bin/python -m devstack.pay <invoice_id>
  mails as sent       AWS_ENDPOINT_URL={stack.endpoint} .venv/bin/python -m devstack.mailbox --to <address>
  API document        {stack.api_url}/openapi.json
Ctrl-C stops everything.""", flush=True)
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(1)
        print("a component exited; stopping (see logs)", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    main()
