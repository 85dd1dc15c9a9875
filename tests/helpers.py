"""Test helpers: a real HTTP server on 127.0.0.1 whose pages tests change between runs, CLI runs, corpus paths."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True  # send an ETag and answer If-None-Match with 304
    # Full control for misbehaving pages: called with the request handler instead of the above.
    handler: Callable[[http.server.BaseHTTPRequestHandler], None] | None = None


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def do_GET(self):  # noqa: N802 - stdlib name
        owner = self.server.owner
        owner.requests.append((self.path, dict(self.headers)))
        route = owner.routes.get(self.path)
        if route is None:
            self._send(404, b"not found", "text/plain", {})
            return
        if route.handler is not None:
            route.handler(self)
            return
        headers = dict(route.headers)
        if route.etag and route.status == 200:
            tag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            if self.headers.get("If-None-Match") == tag:
                self._send(304, b"", None, headers)
                return
        self._send(route.status, route.body, route.content_type, headers)

    def _send(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str]):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: "PolicyServer"


class PolicyServer:
    """A real HTTP server on 127.0.0.1 serving whatever the test puts in `routes`."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict]] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def page(self, path: str, body: str | bytes, **route) -> str:
        self.routes[path] = Route(body=body.encode("utf-8") if isinstance(body, str) else body, **route)
        return self.url(path)

    def close(self):
        self._server.shutdown()
        self._server.server_close()


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real `policywatch` program as a subprocess (python -m policywatch, same interpreter)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "policywatch", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_config(path: Path, policies: list[dict], extra: str = "") -> Path:
    """A policies.yaml listing `policies` (each a mapping of keys to YAML-ready scalars or lists)."""
    import yaml

    path.write_text(yaml.safe_dump({"policies": policies}, sort_keys=False) + extra, encoding="utf-8")
    return path
