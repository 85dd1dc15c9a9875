"""The offline demo: a real `check`, twice, against a sample policy served from 127.0.0.1."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from policywatch.classify import Rulebook
from policywatch.config import load_config
from policywatch.core import CheckOptions, CheckReport, run_check
from policywatch.store import Store

POLICY_ID = "chirper-privacy"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature is the stdlib's
        pass


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve `root` over HTTP on a free loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _no_proxy_for_loopback() -> Iterator[None]:
    """The sample site is on this machine: an http_proxy of the environment (a company network, CI) must not get
    the demo's requests, and nothing else in the process should see a change once the demo is over."""
    names = ("no_proxy", "NO_PROXY")
    saved = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ[name] = ",".join(filter(None, (saved[name], "127.0.0.1")))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _publish(sample: str, target: Path, age_seconds: int) -> None:
    with resources.as_file(resources.files("policywatch.demo") / sample) as source:
        shutil.copyfile(source, target)
    # Distinct modification times, so Last-Modified / If-Modified-Since see the update.
    moment = time.time() - age_seconds
    os.utime(target, (moment, moment))


def run_demo() -> Iterator[tuple[str, CheckReport]]:
    """Yield (title, report) for the baseline run and for the run after the quiet update."""
    with tempfile.TemporaryDirectory(prefix="policywatch-demo-") as tmp:
        work = Path(tmp)
        site = work / "site"
        site.mkdir()
        page = site / "privacy.html"
        _publish("policy_v1.html", page, age_seconds=3600)
        with serve_directory(site) as base_url, _no_proxy_for_loopback():
            config_path = work / "policies.yaml"
            config_path.write_text(
                "policies:\n"
                f"  - id: {POLICY_ID}\n"
                "    name: Chirper Privacy Policy (demo)\n"
                f"    url: {base_url}/privacy.html\n"
                "    select: [main]\n",
                encoding="utf-8",
            )
            config = load_config(config_path)
            store = Store(config.default_store)
            rulebook = Rulebook.load()
            yield "Run 1: first sight of the policy", run_check(config, store, rulebook, options=CheckOptions(retries=0))
            _publish("policy_v2.html", page, age_seconds=0)
            yield "Run 2: after a quiet update", run_check(config, store, rulebook, options=CheckOptions(retries=0))
