"""Serves every hosting space over HTTP, choosing the site by the Host header."""
from __future__ import annotations

import html
import json
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .spaces import Site, SpaceStore

# Shown for every path of a suspended space (R19, R23, R49). It names the domain only: the reason
# (unpaid invoice, complaint) is the customer's business, not the visitors'.
SUSPENDED_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{domain} : site suspendu</title></head>
<body><h1>{domain} : site suspendu</h1>
<p>Ce site est temporairement suspendu. Son contenu est conserv&eacute; et sera de nouveau accessible
d&egrave;s la lev&eacute;e de la suspension.</p></body></html>
"""
SUSPENDED_RETRY_AFTER_SECONDS = 3600
# Read-only space status for the operator on the node (and the devstack): never on a site's Host.
STATUS_PREFIX = "/_node/spaces/"
ZONE_PREFIX = "/_node/zones/"  # R40: the zone file a managed domain is served from, same access rule
LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


def make_server(store: SpaceStore, host: str, port: int) -> ThreadingHTTPServer:
    class SiteHandler(BaseHTTPRequestHandler):
        server_version = "soho-node/1"

        def _resolve(self, site: Site) -> Path | None:
            relative = unquote(urlsplit(self.path).path).lstrip("/")
            target = (site.htdocs / relative).resolve()
            if site.htdocs.resolve() not in (target, *target.parents):
                return None
            if target.is_dir():
                target = target / "index.html"
            return target if target.is_file() else None

        def _send(self, status: int, body: bytes, kind: str, with_body: bool, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def _node_status(self, site: Site | None, with_body: bool) -> bool:
            """GET /_node/spaces/<domain>: the space's state as applied here (R49: restricted,
            suspended, outgoing mail blocked), read-only, as JSON; GET /_node/zones/<domain>: its DNS
            zone file (R40), as text. Answered only on the node's own address (a Host that is no
            site) and to a client on this machine. False: not for us."""
            path = urlsplit(self.path).path
            if site is not None or not path.startswith((STATUS_PREFIX, ZONE_PREFIX)):
                return False
            if self.client_address[0] not in LOOPBACK:
                self._send(403, b"forbidden\n", "text/plain; charset=utf-8", with_body)
                return True
            if path.startswith(ZONE_PREFIX):  # R40: GET /_node/zones/<domain>, the zone as text
                zone = store.zone_text(unquote(path[len(ZONE_PREFIX):]))
                if zone is None:
                    self._send(404, b"not found\n", "text/plain; charset=utf-8", with_body)
                else:
                    self._send(200, zone.encode(), "text/plain; charset=utf-8", with_body,
                               {"Cache-Control": "no-store"})
                return True
            status = store.status(unquote(path[len(STATUS_PREFIX):]))
            if status is None:
                self._send(404, b"not found\n", "text/plain; charset=utf-8", with_body)
                return True
            self._send(200, json.dumps(status).encode(), "application/json", with_body,
                       {"Cache-Control": "no-store"})
            return True

        def _answer(self, with_body: bool) -> None:
            site = store.site((self.headers.get("Host") or "").rsplit(":", 1)[0])
            if self._node_status(site, with_body):
                return
            if site is not None and site.state == "suspended":
                page = SUSPENDED_PAGE.format(domain=html.escape(site.domain)).encode()
                self._send(503, page, "text/html; charset=utf-8", with_body,
                           {"Retry-After": str(SUSPENDED_RETRY_AFTER_SECONDS), "Cache-Control": "no-store"})
                return
            target = self._resolve(site) if site is not None else None
            try:
                body = target.read_bytes() if target is not None else None
            except OSError:  # the space was deleted meanwhile
                body = None
            if body is None:
                self._send(404, b"not found\n", "text/plain; charset=utf-8", with_body)
                return
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self._send(200, body, kind + ("; charset=utf-8" if kind.startswith("text/") else ""), with_body)

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
