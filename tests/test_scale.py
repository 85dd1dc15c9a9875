"""What keeps large runs cheap, checked through the real program: keep-alive on 304s, a progress bar only for people."""

import os
import pty
import subprocess
import sys

from helpers import run_cli, write_config

PAGE = b"""<html><body><main><h1>Example privacy policy</h1>
<p>We collect your email address to run the service.</p><p>We keep server logs for thirty days.</p></main></body></html>"""
ETAG = '"v1"'


def test_a_warm_run_of_304s_reuses_one_connection(tmp_path, server):
    client_ports = []

    def page_with_etag(request):
        client_ports.append(request.client_address[1])
        if request.headers.get("If-None-Match") == ETAG:
            request.send_response(304)
            request.send_header("ETag", ETAG)
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.send_header("ETag", ETAG)
        request.send_header("Content-Length", str(len(PAGE)))
        request.end_headers()
        request.wfile.write(PAGE)

    ids = ["a", "b", "c", "d"]
    for i in ids:
        server.page(f"/{i}", b"", handler=page_with_etag)
    config = write_config(tmp_path / "policies.yaml", [{"id": i, "url": server.url(f"/{i}")} for i in ids])
    assert run_cli("check", "-c", str(config), "--workers", "1").returncode == 0
    client_ports.clear()

    warm = run_cli("check", "-c", str(config), "--workers", "1", "-f", "json")
    assert warm.returncode == 0, warm.stderr
    assert '"unchanged": 4' in warm.stdout
    assert len(client_ports) == 4
    # An unread 304 closed its connection, and every request of a warm run opened a new one.
    assert len(set(client_ports)) == 1


def check_with_stderr_on_a_terminal(config) -> str:
    """Run check with stderr on a pseudo-terminal (stdout piped); what the terminal received."""
    controller, terminal = pty.openpty()
    # Without NO_COLOR: environment.py then treats stderr as no terminal at all (reported, not ours to fix).
    env = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "COLUMNS": "120", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "policywatch", "check", "-c", str(config)], stdout=subprocess.PIPE, stderr=terminal, env=env
    )
    os.close(terminal)
    received = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the program exited and the terminal closed
            break
        if not chunk:
            break
        received += chunk
    process.communicate(timeout=60)
    os.close(controller)
    return received.decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_and_never_in_a_pipe(tmp_path, server):
    ids = [f"site-{n}" for n in range(3)]
    for i in ids:
        server.page(f"/{i}", PAGE)
    config = write_config(tmp_path / "policies.yaml", [{"id": i, "url": server.url(f"/{i}")} for i in ids])

    assert "checking" in check_with_stderr_on_a_terminal(config)

    piped = run_cli("check", "-c", str(config))
    assert piped.returncode == 0, piped.stderr
    assert "checking" not in piped.stderr and "checking" not in piped.stdout
    assert "3 policies" in piped.stderr  # the summary line still comes: only the bar is for terminals
