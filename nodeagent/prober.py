"""R44: the node's availability prober. Every `interval` seconds it probes every space the node
serves (active, restricted or suspended alike: the back office excludes held periods) with a real
HTTP GET of its home page on the node's own HTTP server (Host header = the domain), and sends the
round's results as one `SiteProbes` event (several for a large node) on the results queue.

A site is up when the server answers below 500: a 404 is the customer's content, a 5xx, a refused
connection or a timeout is down (the 503 of a suspended space too; R44 excludes suspensions).

Drills and tests: the file `<root>/probe-fail-domains` (one glob pattern per line, read each round)
makes the probes of the matching domains fail as a connection failure would (error "drill"), so an
outage can be started and stopped without touching the site.
"""
from __future__ import annotations

import fnmatch
import http.client
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from chalicelib.contracts.node_messages import ProbeResult, SiteProbes

from .spaces import SpaceStore

log = logging.getLogger("nodeagent.prober")
DRILL_FILE = "probe-fail-domains"
RESULTS_PER_MESSAGE = 200   # well under the SQS message size limit
TIMEOUT_SECONDS = 5.0


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Prober:
    def __init__(self, *, node_id: str, store: SpaceStore, host: str, port: int, send: Callable[[Any], None],
                 interval: float = 60, stopping: Optional[threading.Event] = None,
                 clock: Callable[[], datetime] = _now, timeout: float = TIMEOUT_SECONDS, workers: int = 8) -> None:
        self.node_id, self.store, self.send = node_id, store, send
        self.host = "127.0.0.1" if host in ("", "0.0.0.0") else host  # nosec B104: the node's own server
        self.port, self.interval, self.timeout, self.workers = port, interval, timeout, workers
        self.stopping = stopping or threading.Event()
        self.clock = clock

    # ---- one round -------------------------------------------------------------------------------

    def spaces(self) -> list[tuple[str, str]]:
        """(contract id, domain) of every space provisioned here (its space.json names them)."""
        found = []
        for directory in sorted(self.store.sites.iterdir()):
            try:
                meta = json.loads((directory / "space.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if meta.get("contract_id") and meta.get("domain"):
                found.append((meta["contract_id"], meta["domain"]))
        return found

    def drilled(self) -> tuple[str, ...]:
        try:
            text = (Path(self.store.root) / DRILL_FILE).read_text(encoding="utf-8")
        except OSError:
            return ()
        return tuple(line.strip() for line in text.splitlines() if line.strip())

    def probe(self, contract_id: str, domain: str, drilled: tuple[str, ...] = ()) -> ProbeResult:
        started = time.monotonic()
        status: Optional[int] = None
        error: Optional[str] = None
        if any(fnmatch.fnmatch(domain, pattern) for pattern in drilled):
            error = "drill"
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                connection.request("GET", "/", headers={"Host": domain, "User-Agent": "soho-prober/1"})
                answer = connection.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"[:200]
            finally:
                connection.close()
        latency = int((time.monotonic() - started) * 1000)
        return ProbeResult(contract_id=contract_id, domain=domain, up=status is not None and status < 500,
                           status=status, latency_ms=latency, error=error)

    def run_round(self) -> list[SiteProbes]:
        """Probe every space once and send the results; returns the messages sent."""
        probed_at, spaces, drilled = self.clock(), self.spaces(), self.drilled()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            results = list(pool.map(lambda space: self.probe(*space, drilled), spaces))
        messages = []
        for offset in range(0, len(results), RESULTS_PER_MESSAGE):
            message = SiteProbes(node_id=self.node_id, round_id=uuid.uuid4().hex, probed_at=probed_at,
                                 results=results[offset:offset + RESULTS_PER_MESSAGE])
            self.send(message)
            messages.append(message)
        down = [r.domain for r in results if not r.up]
        if down:
            log.info("probe round: %d site(s), down: %s", len(results), ", ".join(down[:20]))
        return messages

    # ---- the loop ----------------------------------------------------------------------------------

    def run(self) -> None:
        """Probe at a fixed rate until stopped; a failed round (queue unreachable) is logged and the
        next one comes at its time."""
        next_at = time.monotonic()
        while not self.stopping.is_set():
            try:
                self.run_round()
            except Exception as exc:
                log.warning("probe round failed: %s", exc)
            next_at += self.interval
            self.stopping.wait(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at, time.monotonic() - self.interval)  # never bursts to catch up

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="node-prober", daemon=True)
        thread.start()
        return thread
