"""Notifications through Apprise, received by a real JSON webhook on 127.0.0.1 (Apprise's json:// service)."""

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from helpers import REPO, run_cli, write_config
from policywatch.core import CHANGED, ERROR, CheckReport, Failure, PolicyReport
from policywatch.models import ADDED, Change, Clause, Finding, Severity
from policywatch.notify import MAX_BODY, notification_for
from test_cli_check import V1, V2, run_in_process


class Receiver:
    """A webhook endpoint recording every POSTed JSON body; `status` is what it answers."""

    def __init__(self):
        self.posts: list[dict] = []
        self.status = 200
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 - stdlib signature
                pass

            def do_POST(self):  # noqa: N802 - stdlib name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.posts.append({"path": self.path, **json.loads(body)})
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver():
    instance = Receiver()
    yield instance
    instance.server.shutdown()
    instance.server.server_close()


def _config(tmp_path, server, receiver):
    url = server.page("/privacy", V1)
    return write_config(tmp_path / "policies.yaml", [{"id": "acme", "name": "Acme Privacy", "url": url, "select": "main"}],
                        extra=f"notify:\n  - {receiver.url}\n"), url


def test_notified_once_per_change_and_per_error_state_change(tmp_path, server, receiver):
    config, url = _config(tmp_path, server, receiver)
    assert run_cli("check", "-c", str(config)).returncode == 0
    assert receiver.posts == []  # a baseline is not news

    server.page("/privacy", V2)
    assert run_cli("check", "-c", str(config)).returncode == 1
    (post,) = receiver.posts
    assert post["path"] == "/hook" and post["type"] == "failure"
    assert "1 changed" in post["title"] and "risky" in post["title"]
    assert "Acme Privacy (acme)" in post["message"] and url in post["message"]
    assert "high new-risk biometric" in post["message"] and "ai-training" in post["message"]

    assert run_cli("check", "-c", str(config)).returncode == 0
    assert len(receiver.posts) == 1  # unchanged: silence

    server.page("/privacy", "gone", status=404)
    assert run_cli("check", "-c", str(config)).returncode == 3
    assert run_cli("check", "-c", str(config)).returncode == 3
    assert len(receiver.posts) == 2  # the error began once
    assert "1 failing" in receiver.posts[1]["title"] and "http-404" in receiver.posts[1]["message"]

    server.page("/privacy", V2)
    assert run_cli("check", "-c", str(config)).returncode == 0
    assert len(receiver.posts) == 3 and "recovered (was failing: http-404)" in receiver.posts[2]["message"]


def test_no_update_sends_nothing_and_a_failing_receiver_keeps_the_exit_code(tmp_path, server, receiver):
    config, _ = _config(tmp_path, server, receiver)
    assert run_in_process("check", "-c", str(config)).returncode == 0
    server.page("/privacy", V2)
    assert run_cli("check", "-c", str(config), "--no-update").returncode == 1
    assert receiver.posts == []

    receiver.status = 500
    result = run_cli("check", "-c", str(config), "-q")
    assert result.returncode == 1  # the risk decides the exit code, not the webhook
    assert len(receiver.posts) == 1
    assert "notifications not sent" in result.stderr


def test_missing_apprise_is_said_on_every_run(tmp_path, server, receiver):
    config, _ = _config(tmp_path, server, receiver)
    # A real interpreter in which `import apprise` fails, as on an install without the [notify] extra.
    hide = tmp_path / "no-apprise" / "apprise"
    hide.mkdir(parents=True)
    (hide / "__init__.py").write_text("raise ImportError('No module named apprise')\n")
    env = {"PYTHONPATH": str(hide.parent)}
    result = run_cli("check", "-c", str(config), env=env)
    assert result.returncode == 0
    assert "Apprise is not installed" in result.stderr and "policywatch[notify]" in result.stderr
    validate = run_cli("validate", "-c", str(config), env=env)
    assert validate.returncode == 0 and "Apprise is not installed" in validate.stderr


def test_validate_rejects_a_notify_url_apprise_cannot_use(tmp_path, server, receiver):
    config, _ = _config(tmp_path, server, receiver)
    config.write_text(config.read_text() + "  - nosuchservice://token@host\n")
    result = run_cli("validate", "-c", str(config))
    assert result.returncode == 2
    assert "nosuchservice://…" in result.stderr and "token" not in result.stderr


def test_cron_wrapper_is_silent_unless_there_is_news(tmp_path, server):
    script = REPO / "examples" / "cron.sh"
    watch = tmp_path / "watch"
    watch.mkdir()
    shutil.copy(script, watch / "cron.sh")
    write_config(watch / "policies.yaml", [{"id": "acme", "url": server.page("/privacy", V1), "select": "main"}])
    # The wrapper calls `policywatch` from PATH: the one installed next to this interpreter.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}

    def cron():
        return subprocess.run(["sh", str(watch / "cron.sh")], env=env, capture_output=True, text=True, timeout=120)

    baseline = cron()
    assert (baseline.returncode, baseline.stderr) == (0, "")
    assert "baseline" in baseline.stdout  # the first run says what it recorded
    assert cron().stdout == ""  # nothing new: nothing for cron to mail
    server.page("/privacy", V2)
    risky = cron()
    assert risky.returncode == 1 and risky.stdout.startswith("RISK:") and "biometric" in risky.stdout
    server.page("/privacy", "gone", status=404)
    failing = cron()
    assert failing.returncode == 3 and "404" in failing.stdout
    still = cron()
    assert (still.returncode, still.stdout) == (3, "")  # already reported once
    (watch / "policies.yaml").write_text("policies: [oops\n")
    for _ in range(2):  # a config error is mailed on every run until it is fixed
        broken = cron()
        assert broken.returncode == 2 and broken.stdout.startswith("policywatch could not run (exit 2):")
        assert "policies.yaml" in broken.stdout


def test_a_large_run_fits_a_chat_message_with_the_risky_news_first():
    def policy(number: int, severity: Severity | None) -> PolicyReport:
        findings = [Finding("biometric", severity, "new-risk", "face geometry")] if severity else []
        changes = [Change(ADDED, None, Clause(f"Clause {i}."), list(findings)) for i in range(15)]
        return PolicyReport(f"p{number}", f"Policy {number}", f"https://example.org/{number}", CHANGED, changes)

    quiet = [policy(n, None) for n in range(40)]
    risky = policy(99, Severity.HIGH)
    down = PolicyReport("down", "Down", "https://down.test/", ERROR, failure=Failure("http-500", "HTTP 500", "later"))
    notification = notification_for(CheckReport([*quiet, down, risky], Severity.HIGH))
    body = notification.body
    assert len(body) <= MAX_BODY
    assert body.startswith("Policy 99 (p99): 15 changed clause(s)\nhttps://example.org/99\n- high new-risk biometric")
    assert body.index("Down (down): http-500") < body.index("Policy 0 (p0)")
    assert body.splitlines()[-1].startswith("… ") and "policywatch diff ID" in body.splitlines()[-1]
    assert notification.title == "policywatch: 41 changed, 15 risky finding(s), 1 failing"
    small = notification_for(CheckReport([risky], Severity.HIGH)).body
    assert small.count("- high new-risk biometric") == 15 and "cut to fit" not in small
