"""python -m devstack.bootstrap_resources: create tables/queues and register the local node.
Prints the node's command queue URL and the results queue URL as JSON."""
from __future__ import annotations

import argparse
import json

from chalicelib.config import settings

from .resources import ensure_all, register_node


def main() -> None:
    parser = argparse.ArgumentParser(prog="devstack.bootstrap_resources")
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--node-capacity-mb", type=int, default=1_048_576)
    parser.add_argument("--node-http-address", required=True)
    parser.add_argument("--node-max-receive-count", type=int, default=None)
    parser.add_argument("--node-visibility-timeout", type=int, default=None)
    args = parser.parse_args()
    s = settings()
    queues = ensure_all(s)
    overrides = {k: v for k, v in (("max_receive_count", args.node_max_receive_count),
                                   ("visibility_timeout", args.node_visibility_timeout)) if v is not None}
    node_queue = register_node(s, args.node_id, args.node_capacity_mb, args.node_http_address, overrides)
    print(json.dumps({"node_commands": node_queue, "node_results": queues["node-results"]}))


if __name__ == "__main__":
    main()
