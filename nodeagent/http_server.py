"""Serves every hosting space over HTTP, choosing the site by the Host header."""
from __future__ import annotations

import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .spaces import SpaceStore


def make_server(store: SpaceStore, host: str, port: int) -> ThreadingHTTPServer:
    class SiteHandler(BaseHTTPRequestHandler):
        server_version = "soho-node/1"

        def _resolve(self) -> Path | None:
            site = store.site_root((self.headers.get("Host") or "").rsplit(":", 1)[0])
            if site is None:
                return None
            relative = unquote(urlsplit(self.path).path).lstrip("/")
            target = (site / relative).resolve()
            if site.resolve() not in (target, *target.parents):
                return None
            if target.is_dir():
                target = target / "index.html"
            return target if target.is_file() else None

        def _answer(self, with_body: bool) -> None:
            target = self._resolve()
            if target is None:
                body = b"not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            else:
                body = target.read_bytes()
                self.send_response(200)
                kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                self.send_header("Content-Type", kind + ("; charset=utf-8" if kind.startswith("text/") else ""))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(False)

        def log_message(self, fmt: str, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, port), SiteHandler)
    server.daemon_threads = True
    return server


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="node-http", daemon=True)
    thread.start()
    return thread
