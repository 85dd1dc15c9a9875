"""`policywatch check` end to end: real subprocesses against a real HTTP server on 127.0.0.1."""

import json

from click.testing import CliRunner

from helpers import run_cli, write_config
from policywatch.cli import cli

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Acme privacy</title></head><body>
<nav><a href="/">Home</a> <a href="/blog">Blog</a></nav>
<div id="cookie-banner">We use cookies. {banner}</div>
<main>
<h1>Acme Privacy Policy</h1>
<h2>Information we collect</h2>
<p>We collect information you give us when you create an account. This includes your name and email address.</p>
<p>We may collect the following information:</p>
<ul><li>your name and contact details</li>{extra_items}</ul>
<h2>How we use information</h2>
<p>We use information to provide and improve the service.{extra_use}</p>
<h2>Sharing</h2>
<p>We do not sell your personal information.</p>
<p>We share information with service providers who process it on our behalf.</p>
</main>
<footer>© Acme</footer>
</body></html>"""

V1 = PAGE.format(banner="Accept all?", extra_items="", extra_use="")
V2 = PAGE.format(
    banner="Accept all cookies now!",  # chrome outside <main>: must not count as a change
    extra_items="<li>biometric information, such as face geometry and fingerprints</li>",
    extra_use=" We may use the information we collect to train our machine learning and artificial intelligence models.",
)


def setup_policy(tmp_path, server, body=V1, **extra):
    url = server.page("/privacy", body)
    return write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main", **extra}])


def test_baseline_then_risky_change_then_unchanged(tmp_path, server):
    config = setup_policy(tmp_path, server)

    first = run_cli("check", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "baseline recorded" in first.stdout
    assert (tmp_path / "snapshots" / "acme" / "latest.md").is_file()

    server.page("/privacy", V2)
    second = run_cli("check", "--config", str(config), "--format", "json")
    assert second.returncode == 1, second.stderr
    report = json.loads(second.stdout)
    (policy,) = report["policies"]
    assert policy["status"] == "changed"
    categories = {f["category"] for c in policy["changes"] for f in c["findings"] if f["event"] == "new-risk"}
    assert {"biometric", "ai-training"} <= categories
    assert all("cookie" not in (c["new"] or "").lower() for c in policy["changes"])
    assert "exit 1" in second.stderr  # the human summary goes to stderr, JSON alone to stdout

    third = run_cli("check", "--config", str(config), "--format", "json")
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["policies"][0]["status"] == "unchanged"
    # The third fetch was conditional and the server answered 304.
    assert server.requests[-1][1].get("If-None-Match")
    assert len(list((tmp_path / "snapshots" / "acme" / "versions").iterdir())) == 2


def test_fail_on_threshold_and_none(tmp_path, server):
    config = setup_policy(tmp_path, server)
    assert run_cli("check", "-c", str(config)).returncode == 0
    server.page("/privacy", V2)
    result = run_cli("check", "-c", str(config), "--no-update", "--fail-on", "none")
    assert result.returncode == 0
    assert "biometric" in result.stdout
    # --no-update wrote nothing, so the same change is still there to fail on.
    assert run_cli("check", "-c", str(config), "--no-update", "--fail-on", "high").returncode == 1
    assert len(list((tmp_path / "snapshots" / "acme" / "versions").iterdir())) == 1


def test_failed_fetch_keeps_the_snapshot_reports_once_and_recovery(tmp_path, server):
    config = setup_policy(tmp_path, server)
    assert run_cli("check", "-c", str(config)).returncode == 0
    latest = (tmp_path / "snapshots" / "acme" / "latest.md").read_text()

    server.page("/privacy", "oops", status=500, content_type="text/plain")
    failed = run_cli("check", "-c", str(config), "-q")
    assert failed.returncode == 3
    assert "http-500" in failed.stdout
    again = run_cli("check", "-c", str(config), "-q")
    assert again.returncode == 3
    assert again.stdout == ""  # the same error is not reported again
    assert "http-500" in run_cli("check", "-c", str(config), "-q", "--report-errors", "always").stdout
    assert (tmp_path / "snapshots" / "acme" / "latest.md").read_text() == latest

    server.page("/privacy", V1)
    recovered = run_cli("check", "-c", str(config), "-q")
    assert recovered.returncode == 0
    assert "recovered" in recovered.stdout


def test_every_policy_is_attempted_when_one_fails(tmp_path, server):
    good = server.page("/good", V1)
    write_config(
        tmp_path / "policies.yaml",
        [{"id": "down", "url": "http://127.0.0.1:9/nothing-listens-here"}, {"id": "good", "url": good}],
    )
    result = run_cli("check", "-c", str(tmp_path / "policies.yaml"), "--format", "json")
    assert result.returncode == 3
    statuses = {p["id"]: p for p in json.loads(result.stdout)["policies"]}
    assert statuses["down"]["status"] == "error" and statuses["down"]["error"]["kind"] == "network"
    assert statuses["good"]["status"] == "new"


def test_config_error_exits_2_and_names_the_line(tmp_path):
    config = tmp_path / "policies.yaml"
    config.write_text("policies:\n  - id: a\n    url: https://a.example\n    selct: main\n")
    result = run_cli("check", "-c", str(config))
    assert result.returncode == 2
    assert f"{config}:4" in result.stderr and "selct" in result.stderr
    assert not (tmp_path / "snapshots").exists()


def test_json_schema_of_check(tmp_path, server):
    config = setup_policy(tmp_path, server)
    run_cli("check", "-c", str(config))
    server.page("/privacy", V2)
    report = json.loads(run_cli("check", "-c", str(config), "-f", "json").stdout)
    assert report["schema"] == "policywatch/1"
    assert set(report) == {"schema", "policies", "summary"}
    policy = report["policies"][0]
    assert {"id", "url", "status", "changes"} <= set(policy)
    for change in policy["changes"]:
        assert {"kind", "section", "old", "new", "findings"} <= set(change)
        assert change["kind"] in {"added", "removed", "modified", "moved"}
        for finding in change["findings"]:
            assert {"category", "severity", "event", "evidence"} <= set(finding)
            assert finding["severity"] in {"low", "medium", "high"}
    assert report["summary"]["exit_code"] == 1


def test_markdown_format(tmp_path, server):
    config = setup_policy(tmp_path, server)
    run_cli("check", "-c", str(config))
    server.page("/privacy", V2)
    markdown = run_cli("check", "-c", str(config), "-f", "markdown").stdout
    assert markdown.startswith("## policywatch report")
    assert "| Severity | Category |" in markdown and "`biometric`" in markdown


def test_output_is_plain_when_not_a_terminal(tmp_path, server):
    config = setup_policy(tmp_path, server)
    result = CliRunner().invoke(cli, ["check", "-c", str(config)])
    assert result.exit_code == 0
    assert "\x1b[" not in result.output


def test_unknown_policy_id_is_a_usage_error(tmp_path, server):
    config = setup_policy(tmp_path, server)
    result = run_cli("check", "-c", str(config), "nope")
    assert result.returncode == 2 and "unknown policy id" in result.stderr
