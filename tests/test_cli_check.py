"""`policywatch check` end to end against a real HTTP server on 127.0.0.1: as real subprocesses where the process
itself matters (exit codes, stdout/stderr, cron, the working directory), in-process for runs that repeat."""

import json
import shutil
import subprocess

import pytest
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


def run_in_process(*args: str) -> subprocess.CompletedProcess:
    """The same command line through click's CliRunner: a second or third run costs no interpreter start."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


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
    markdown = tmp_path / "report.md"
    second = run_cli("check", "--config", str(config), "--format", "json", "--markdown-output", str(markdown))
    assert second.returncode == 1, second.stderr
    report = json.loads(second.stdout)
    assert_check_schema(report)
    (policy,) = report["policies"]
    assert policy["status"] == "changed"
    categories = {f["category"] for c in policy["changes"] for f in c["findings"] if f["event"] == "new-risk"}
    assert {"biometric", "ai-training"} <= categories
    assert all("cookie" not in (c["new"] or "").lower() for c in policy["changes"])
    assert "exit 1" in second.stderr  # the human summary goes to stderr, JSON alone to stdout
    assert markdown.read_text().startswith("## policywatch report")
    assert "| Severity | Category |" in markdown.read_text() and "`biometric`" in markdown.read_text()

    third = run_cli("check", "--config", str(config), "--format", "json")
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["policies"][0]["status"] == "unchanged"
    # The third fetch was conditional and the server answered 304.
    assert server.requests[-1][1].get("If-None-Match")
    assert len(list((tmp_path / "snapshots" / "acme" / "versions").iterdir())) == 2


def test_failed_fetch_keeps_the_snapshot_reports_once_and_recovery(tmp_path, server):
    config = setup_policy(tmp_path, server)
    assert run_in_process("check", "-c", str(config)).returncode == 0
    latest = (tmp_path / "snapshots" / "acme" / "latest.md").read_text()

    server.page("/privacy", "oops", status=500, content_type="text/plain")
    failed = run_in_process("check", "-c", str(config), "-q")
    assert failed.returncode == 3
    assert "http-500" in failed.stdout
    again = run_cli("check", "-c", str(config), "-q")
    assert (again.returncode, again.stdout, again.stderr) == (3, "", "")  # cron mails the same error only once
    at_a_terminal = run_in_process("check", "-c", str(config))
    assert at_a_terminal.returncode == 3 and "http-500" not in at_a_terminal.stdout
    assert "still failing since an earlier run, not repeated: acme (-v shows them)" in at_a_terminal.stderr
    assert "http-500" in run_in_process("check", "-c", str(config), "-v").stdout
    assert "http-500" in run_in_process("check", "-c", str(config), "-q", "--report-errors", "always").stdout
    assert (tmp_path / "snapshots" / "acme" / "latest.md").read_text() == latest

    server.page("/privacy", V1)
    recovered = run_in_process("check", "-c", str(config), "-q")
    assert recovered.returncode == 0
    assert "recovered" in recovered.stdout


def test_every_policy_is_attempted_when_one_fails(tmp_path, server):
    good = server.page("/good", V1)
    write_config(
        tmp_path / "policies.yaml",
        [{"id": "down", "url": "http://127.0.0.1:9/nothing-listens-here"}, {"id": "good", "url": good}],
    )
    result = run_cli("check", "-c", str(tmp_path / "policies.yaml"), "--format", "json", "--retries", "0")
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


def assert_check_schema(report: dict) -> None:
    """The JSON contract of README's "Output contract" section."""
    assert report["schema"] == "policywatch/1"
    assert set(report) == {"schema", "policies", "summary"}
    assert report["policies"] and report["policies"][0]["changes"]
    for policy in report["policies"]:
        assert {"id", "url", "status", "changes"} <= set(policy)
        assert policy["status"] in {"new", "unchanged", "changed", "suspicious", "error"}
        for change in policy["changes"]:
            assert {"kind", "section", "old", "new", "findings"} <= set(change)
            assert change["kind"] in {"added", "removed", "modified", "moved"}
            assert isinstance(change["section"], list)
            for finding in change["findings"]:
                assert {"category", "severity", "event", "evidence"} <= set(finding)
                assert finding["severity"] in {"low", "medium", "high"}
                assert finding["event"] in {"new-risk", "changed-risk", "lost-protection", "added-protection"}
    assert {"policies", "statuses", "changes", "findings", "exit_code"} <= set(report["summary"])
    assert report["summary"]["exit_code"] in (0, 1, 2, 3)


def test_output_is_plain_when_not_a_terminal(tmp_path, server, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)  # only the missing terminal may turn colour off here
    config = setup_policy(tmp_path, server)
    result = CliRunner().invoke(cli, ["check", "-c", str(config)])
    assert result.exit_code == 0
    assert "\x1b[" not in result.output


@pytest.mark.parametrize("text", ["policies: []\n", "# everything commented out\n"])
def test_a_config_without_policies_is_an_error_even_when_quiet(tmp_path, text):
    (tmp_path / "policies.yaml").write_text(text)
    result = run_cli("check", "-q", cwd=tmp_path)  # cron runs it quietly: silence would pass for a quiet day
    assert result.returncode == 2
    assert "policies.yaml: no policies to check" in result.stderr


def test_unknown_policy_id_is_a_usage_error(tmp_path, server):
    config = setup_policy(tmp_path, server)
    result = run_cli("check", "-c", str(config), "nope")
    assert result.returncode == 2 and "unknown policy id" in result.stderr


def test_no_update_never_claims_a_baseline_was_recorded(tmp_path, server):
    config = setup_policy(tmp_path, server)
    result = run_cli("check", "-c", str(config), "--no-update")
    assert result.returncode == 0 and not (tmp_path / "snapshots" / "acme").exists()
    assert "recorded" not in result.stdout and "no baseline stored (--no-update)" in result.stdout
    markdown = run_cli("check", "-c", str(config), "--no-update", "-f", "markdown")
    assert "Baseline recorded" not in markdown.stdout and "no baseline stored" in markdown.stdout


def test_default_config_and_store_are_in_the_working_directory_and_store_can_move(tmp_path, server):
    setup_policy(tmp_path, server)
    assert run_cli("check", cwd=tmp_path).returncode == 0  # ./policies.yaml, ./snapshots/
    assert (tmp_path / "snapshots" / "acme" / "latest.md").is_file()
    elsewhere = tmp_path / "archive" / "store"
    assert run_cli("check", "--store", str(elsewhere), cwd=tmp_path).returncode == 0
    assert (elsewhere / "acme" / "latest.md").read_text() == (tmp_path / "snapshots" / "acme" / "latest.md").read_text()


def test_a_risky_finding_outranks_a_failing_policy(tmp_path, server):
    url = server.page("/privacy", V1)
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main"}, {"id": "down", "url": server.url("/gone")}])
    assert run_in_process("check", "-c", str(config)).returncode == 3  # acme: baseline; down: http-404
    server.page("/privacy", V2)
    result = run_in_process("check", "-c", str(config), "-f", "json")
    assert result.returncode == 1
    statuses = {p["id"]: p["status"] for p in json.loads(result.stdout)["policies"]}
    assert statuses == {"acme": "changed", "down": "error"}


V_MEDIUM = PAGE.format(banner="", extra_items="<li>your job history and education, to show you relevant job ads</li>", extra_use="")


def test_fail_on_levels_and_no_update(tmp_path, server):
    config = setup_policy(tmp_path, server)
    run_in_process("check", "-c", str(config))
    server.page("/privacy", V_MEDIUM)
    levels = ("none", "high", "medium", "low")
    exits = {level: run_in_process("check", "-c", str(config), "--no-update", "--fail-on", level).returncode for level in levels}
    assert exits == {"none": 0, "high": 0, "medium": 1, "low": 1}
    # --no-update wrote nothing, so every run above saw the same change.
    assert len(list((tmp_path / "snapshots" / "acme" / "versions").iterdir())) == 1


def test_quiet_day_prints_nothing_and_verbose_lists_moved_clauses(tmp_path, server):
    config = setup_policy(tmp_path, server)
    run_in_process("check", "-c", str(config))
    quiet = run_cli("check", "-c", str(config), "-q")  # what cron mails: nothing at all when nothing changed
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert "acme  unchanged" in run_in_process("check", "-c", str(config)).stdout

    sharing = "<p>We do not sell your personal information.</p>\n<p>We share information with service providers who process it on our behalf.</p>"
    swapped = "<p>We share information with service providers who process it on our behalf.</p>\n<p>We do not sell your personal information.</p>"
    server.page("/privacy", V1.replace(sharing, swapped))
    brief = run_in_process("check", "-c", str(config), "--no-update")
    assert brief.returncode == 0 and "moved without changing (-v lists them)" in brief.stdout
    assert "added" not in brief.stdout and "removed" not in brief.stdout  # a move is never remove + add
    detailed = run_in_process("check", "-c", str(config), "--no-update", "-v")
    assert "moved in Acme Privacy Policy › Sharing" in detailed.stdout


def committed_baseline(tmp_path, server):
    """A git repository whose first commit holds the store after a baseline check; returns (config, git)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    command = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org"]

    def git(*args: str) -> str:
        return subprocess.run([*command, *args], capture_output=True, text=True, check=True).stdout

    config = setup_policy(tmp_path, server)
    git("init", "-q")
    run_in_process("check", "-c", str(config))
    git("add", "snapshots")
    git("commit", "-q", "-m", "baseline")
    return config, git


def test_git_diff_of_a_committed_store_reads_like_the_policy_diff(tmp_path, server):
    config, git = committed_baseline(tmp_path, server)
    server.page("/privacy", V2)
    run_in_process("check", "-c", str(config))
    diff = git("diff", "--", "snapshots/acme/latest.md")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == [
        "+- biometric information, such as face geometry and fingerprints",
        "+We may use the information we collect to train our machine learning and artificial intelligence models.",
    ]
    assert "## How we use information" in diff  # the hunk's context names the section


def test_a_run_without_changes_leaves_a_committed_store_untouched(tmp_path, server):
    config, git = committed_baseline(tmp_path, server)
    assert run_in_process("check", "-c", str(config)).returncode == 0
    assert git("status", "--porcelain", "--", "snapshots") == ""
    # A page whose markup changes on every request (a rotating token) but whose text does not.
    server.page("/privacy", V1.replace("</main>", "<input type=hidden value=token-2></main>"))
    assert run_in_process("check", "-c", str(config)).returncode == 0
    assert git("status", "--porcelain", "--", "snapshots") == ""
    # An error is history worth a commit when it begins (the next runs stay quiet) and when it ends.
    server.page("/privacy", "down", status=500)
    assert run_in_process("check", "-c", str(config), "--retries", "0").returncode == 3
    assert git("status", "--porcelain", "--", "snapshots") == "?? snapshots/acme/state.json\n"  # first error ever
    git("add", "snapshots")
    git("commit", "-q", "-m", "acme is down")
    assert run_in_process("check", "-c", str(config), "--retries", "0").returncode == 3
    assert git("status", "--porcelain", "--", "snapshots") == ""
    server.page("/privacy", V1)
    assert run_in_process("check", "-c", str(config)).returncode == 0
    assert git("status", "--porcelain", "--", "snapshots") == " M snapshots/acme/state.json\n"
