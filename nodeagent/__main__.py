"""python -m nodeagent --node-id ID --commands-queue-url URL --results-queue-url URL --root DIR --http-port N
--ftp-port N --dns-port N"""
from __future__ import annotations

import argparse
import logging
import os
import signal
from pathlib import Path

import boto3

from .agent import NodeAgent
from .dns_zones import DEFAULT_PRIMARY_NS
from .ftp_server import FtpService, make_ftp_server
from .http_server import make_server, serve_in_background
from .spaces import SpaceStore


def main(argv: list[str] | None = None) -> None:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="nodeagent", description=__doc__)
    p.add_argument("--node-id", default=env("NODEAGENT_NODE_ID"), required=not env("NODEAGENT_NODE_ID"))
    p.add_argument("--commands-queue-url", default=env("NODEAGENT_COMMANDS_QUEUE_URL"))
    p.add_argument("--results-queue-url", default=env("NODEAGENT_RESULTS_QUEUE_URL"))
    p.add_argument("--root", default=env("NODEAGENT_ROOT", "/var/lib/soho-node"))
    p.add_argument("--http-host", default=env("NODEAGENT_HTTP_HOST", "127.0.0.1"))
    p.add_argument("--http-port", type=int, default=int(env("NODEAGENT_HTTP_PORT", "8080")))
    p.add_argument("--ftp-host", default=env("NODEAGENT_FTP_HOST", "127.0.0.1"))
    p.add_argument("--ftp-port", type=int, default=int(env("NODEAGENT_FTP_PORT", "2121")),
                   help="the spaces' FTP server (R28); 0 takes a free port")
    p.add_argument("--dns-host", default=env("NODEAGENT_DNS_HOST", "127.0.0.1"))
    p.add_argument("--dns-port", type=int, default=int(env("NODEAGENT_DNS_PORT", "0")),
                   help="R40: the managed domains' DNS server, UDP and TCP; 0 takes a free port (printed as "
                        "'nodeagent dns HOST:PORT' on standard output), -1 runs none")
    p.add_argument("--dns-primary-ns", default=env("NODEAGENT_DNS_PRIMARY_NS", DEFAULT_PRIMARY_NS),
                   help="R40: the name server named in the SOA and NS of every zone this node writes")
    p.add_argument("--retry-base-seconds", type=int, default=int(env("NODEAGENT_RETRY_BASE_SECONDS", "5")))
    p.add_argument("--heartbeat-seconds", type=int, default=int(env("NODEAGENT_HEARTBEAT_SECONDS", "60")))
    p.add_argument("--wait-seconds", type=int, default=int(env("NODEAGENT_WAIT_SECONDS", "20")))
    p.add_argument("--fail-domains", default=env("NODEAGENT_FAIL_DOMAINS", ""),
                   help="comma-separated glob patterns of domains whose commands fail (drills and tests)")
    p.add_argument("--probe-seconds", type=float, default=float(env("NODEAGENT_PROBE_SECONDS", "60")),
                   help="R44: probe every served site this often (0: no probing)")
    args = p.parse_args(argv)
    if not args.commands_queue_url or not args.results_queue_url:
        p.error("--commands-queue-url and --results-queue-url are required")
    if not -1 <= args.dns_port <= 65535:
        p.error("--dns-port is a port, 0 (a free one) or -1 (no DNS server)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s nodeagent %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    store = SpaceStore(Path(args.root), fail_domains=args.fail_domains.split(","), primary_ns=args.dns_primary_ns)
    server = make_server(store, args.http_host, args.http_port)
    serve_in_background(server)
    ftp = FtpService(make_ftp_server(store, args.ftp_host, args.ftp_port)).start()
    dns = None
    if args.dns_port >= 0:  # R40: the zones of the managed domains, over UDP and TCP
        from .dns_server import DnsService
        dns = DnsService(store.zones, args.dns_host, args.dns_port).start()
        print("nodeagent dns {}:{}".format(*dns.address), flush=True)  # the chosen port, for tests and tools
    agent = NodeAgent(node_id=args.node_id, sqs=boto3.client("sqs"), commands_url=args.commands_queue_url,
                      results_url=args.results_queue_url, store=store,
                      http_address=f"http://{args.http_host}:{server.server_address[1]}",
                      retry_base_seconds=args.retry_base_seconds, heartbeat_seconds=args.heartbeat_seconds,
                      wait_seconds=args.wait_seconds)
    signal.signal(signal.SIGTERM, lambda *_: agent.stopping.set())
    if args.probe_seconds > 0:  # R44: the availability prober (nodeagent/prober.py)
        from .prober import Prober
        Prober(node_id=args.node_id, store=store, host=args.http_host, port=server.server_address[1],
               send=agent.reply, interval=args.probe_seconds, stopping=agent.stopping).start()
    try:
        agent.run(on_ready=lambda: logging.info("node %s serving sites on %s, FTP on %s:%d, DNS on %s",
                                                args.node_id, agent.http_address, *ftp.address,
                                                "{}:{} (udp+tcp)".format(*dns.address) if dns else "none"))
    except KeyboardInterrupt:
        pass
    finally:
        agent.stopping.set()
        server.shutdown()
        ftp.stop()
        if dns is not None:
            dns.stop()


if __name__ == "__main__":
    main()
