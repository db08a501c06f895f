"""Serve the Chalice HTTP API locally (threaded, like `chalice local`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from chalice.config import Config
from chalice.local import create_local_server


def main() -> None:
    parser = argparse.ArgumentParser(prog="devstack.api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    from app import app
    config = Config.create(chalice_stage="local", app_name=app.app_name, chalice_app=app,
                           project_dir=str(Path(__file__).resolve().parent.parent))
    server = create_local_server(app, config, args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
