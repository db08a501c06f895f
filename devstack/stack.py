"""The whole system on one machine: AWS emulator, API, event runner, one hosting node.

Used by `make run` (python -m devstack) and by the e2e tests. Every process it starts is a
child it stops by PID.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .processes import stop_group

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WEBHOOK_SECRET = "whsec_local_dev_secret"
DEFAULT_OPERATOR_KEY = "op_local_dev_key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str, proc: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def http_ok(url: str, headers: Optional[dict] = None) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as answer:
            return answer.status == 200
    except urllib.error.HTTPError:
        return False


@dataclass
class Stack:
    workdir: Path
    api_port: int = 8000
    node_http_port: int = 8080
    node_ftp_port: int = 0                   # the node's FTP server (R28); 0: a free port chosen at start
    node_dns_port: int = 0                   # the node's DNS server, UDP+TCP (R40); 0: a free port chosen at start
    registry_port: int = 0                   # the local EPP registry (issue 4); 0: a free port chosen at start
    registry_control_port: int = 0           # its control API; 0: a free port chosen at start
    endpoint: Optional[str] = None          # an existing AWS-compatible endpoint; None starts moto server
    dynamodb_endpoint: Optional[str] = None  # e.g. DynamoDB Local, paired with endpoint
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    operator_key: str = DEFAULT_OPERATOR_KEY
    node_id: str = "node-local-1"
    resource_prefix: str = "soho-dev"
    node_fail_domains: str = ""
    node_retry_base_seconds: int = 1
    node_max_receive_count: Optional[int] = None
    python: str = sys.executable
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    moto: Optional[Any] = None  # the MotoServer this stack started, if any
    env: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def node_url(self) -> str:
        return f"http://127.0.0.1:{self.node_http_port}"

    @property
    def ftp_address(self) -> tuple[str, int]:
        """(host, port) of the node's FTP server: login = the domain, password from the space-ready mail."""
        return "127.0.0.1", self.node_ftp_port

    @property
    def dns_address(self) -> tuple[str, int]:
        """(host, port) of the node's authoritative DNS server (UDP and TCP) for the managed zones (R40)."""
        return "127.0.0.1", self.node_dns_port

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / "logs" / f"{name}.log", "ab")
        proc = subprocess.Popen([self.python, *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.processes[name] = proc
        return proc

    def start(self, timeout: float = 90) -> "Stack":
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        if not self.node_ftp_port:
            self.node_ftp_port = free_port()
        if not self.node_dns_port:
            self.node_dns_port = free_port()
        if self.endpoint is None:
            from .backends import MotoServer
            self.moto = MotoServer(self.workdir, start_timeout=60).start()
            self.endpoint = self.moto.endpoint
        self.env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-3"),
            "SOHO_STAGE": "local", "SOHO_LOCAL_MODE": "1", "SOHO_RESOURCE_PREFIX": self.resource_prefix,
            "PAYMENT_WEBHOOK_SECRET": self.webhook_secret, "OPERATOR_API_KEY": self.operator_key,
            "SOHO_NODE_HEARTBEAT_STALE_SECONDS": "15", "PYTHONUNBUFFERED": "1",
            # issue 4: the registries' messages read every 2 s locally (every 5 minutes on AWS)
            "DEVSTACK_SCHEDULE_SECONDS": "poll_registries=2",
            "SOHO_FTP_HOST": "{}:{}".format(*self.ftp_address),  # named in the space-ready notice (R28)
        }
        if self.dynamodb_endpoint:
            self.env["AWS_ENDPOINT_URL_DYNAMODB"] = self.dynamodb_endpoint
        self._start_registry(timeout)  # issue 4: before the api/runner, which read SOHO_REGISTRY_*
        args = ["-m", "devstack.bootstrap_resources", "--node-id", self.node_id,
                "--node-http-address", self.node_url]
        if self.node_max_receive_count:
            args += ["--node-max-receive-count", str(self.node_max_receive_count)]
        out = subprocess.run([self.python, *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                             timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"resource bootstrap failed:\n{out.stderr}")
        queues = json.loads(out.stdout.strip().splitlines()[-1])
        api = self._spawn("api", ["-m", "devstack.api", "--port", str(self.api_port)])
        self._spawn("runner", ["-m", "devstack.runner"])
        node_root = self.workdir / "node" / self.node_id
        self._spawn("node", [
            "-m", "nodeagent", "--node-id", self.node_id, "--commands-queue-url", queues["node_commands"],
            "--results-queue-url", queues["node_results"], "--root", str(node_root),
            "--http-port", str(self.node_http_port), "--ftp-port", str(self.node_ftp_port),
            "--dns-port", str(self.node_dns_port),  # R40: the managed domains' zones
            "--retry-base-seconds", str(self.node_retry_base_seconds),
            "--heartbeat-seconds", "2", "--wait-seconds", "2", "--fail-domains", self.node_fail_domains,
            "--probe-seconds", "2"])  # R44: probe rounds every 2 s (issue 5 availability)
        wait_for(lambda: http_ok(f"{self.api_url}/health"), timeout, "GET /health", api)
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.workdir}/logs/{name}.log")

    def _start_registry(self, timeout: float) -> None:
        """Issue 4: the local EPP test registry (devstack/epp_registry.py), every profile pointed at it."""
        self.registry_port = self.registry_port or free_port()
        self.registry_control_port = self.registry_control_port or free_port()
        state_dir = self.workdir / "epp-registry"
        proc = self._spawn("epp-registry", [
            "-m", "devstack.epp_registry", "--state-dir", str(state_dir),
            "--port", str(self.registry_port), "--control-port", str(self.registry_control_port),
            "--back-office-clock"])  # the registry's dates follow the back office's clock (time travel)
        wait_for(lambda: http_ok(f"{self.registry_control_url}/control/health"), timeout,
                 "EPP registry /control/health", proc)
        self.env.update({
            "SOHO_REGISTRY_ENDPOINT": f"127.0.0.1:{self.registry_port}",
            "SOHO_REGISTRY_CA_FILE": str(state_dir / "ca.pem"),
            "SOHO_REGISTRY_PASSWORDS": json.dumps({"*": "epp-local-dev"}),
        })

    @property
    def registry_control_url(self) -> str:
        """The local EPP registry's control API (issue 4): refusals, seeded domains, transfers, faults."""
        return f"http://127.0.0.1:{self.registry_control_port}"

    def pids(self) -> dict[str, int]:
        """Every process this stack started, by component."""
        started = {name: proc.pid for name, proc in self.processes.items()}
        if self.moto is not None and self.moto.proc is not None:
            started["moto"] = self.moto.proc.pid
        return started

    def stop(self) -> None:
        """Stop every child by PID, the emulator last: SIGTERM to its process group, SIGKILL after a
        grace period."""
        for name in list(self.processes):
            stop_group(self.processes.pop(name))
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
