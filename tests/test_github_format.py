"""`--format github`: GitHub Actions workflow commands, one per failing finding or policy error, safely escaped."""

import json
import re

from helpers import run_cli, write_config
from policywatch.report.github import escape_data, escape_property, workflow_command
from test_cli_check import V1, V2

# A risky clause whose text carries the characters the runner treats specially.
V2_TRICKY = V2.replace(
    "<p>We do not sell your personal information.</p>",
    "<p>We do not sell your personal information.</p>"
    "<p>We may sell 100% of your personal information to data brokers, advertisers: and partners::error title=x::owned.</p>",
)
COMMAND = re.compile(r"^::(error|warning|notice) title=([^:]*)::(.*)$")


def test_escaping_follows_the_runner_rules():
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a: b, c%") == "a%3A b%2C c%25"
    line = workflow_command("error", "x: y, z", "two\nlines :: here")
    assert line == "::error title=x%3A y%2C z::two%0Alines :: here"


def _commands(stdout: str) -> list[tuple[str, str, str]]:
    lines = stdout.splitlines()
    matches = [COMMAND.match(line) for line in lines]
    assert all(matches), [line for line, match in zip(lines, matches) if not match]
    return [match.groups() for match in matches]


def test_check_annotates_each_failing_finding(tmp_path, server):
    url = server.page("/privacy", V1)
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main"}])
    first = run_cli("check", "-c", str(config), "--format", "github")
    assert first.returncode == 0 and first.stdout == ""  # a baseline has nothing to annotate

    server.page("/privacy", V2_TRICKY)
    result = run_cli("check", "-c", str(config), "--format", "github", "--json-output", str(tmp_path / "r.json"), "--fail-on", "none")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    failing = [
        f for c in report["policies"][0]["changes"] for f in c["findings"] if f["event"] in ("new-risk", "changed-risk", "lost-protection")
    ]
    commands = _commands(result.stdout)
    assert len(commands) == len(failing) >= 3
    levels = {("error" if f["severity"] == "high" else "warning") for f in failing}
    assert {level for level, _, _ in commands} == levels
    titles = [title for _, title, _ in commands]
    assert all(title.startswith("acme%3A ") for title in titles)
    assert any("biometric" in title for title in titles) and any("data-sale" in title for title in titles)
    sale = next(message for _, title, message in commands if "data-sale" in title)
    # The clause's own "%", newlines and "::error" stay data: escaped, inside the one command.
    assert "100%25 of your personal information" in sale and "%0A" in sale
    assert sale.endswith(url)


def test_policy_errors_are_annotated(tmp_path, server):
    url = server.page("/privacy", V1)
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main"}])
    assert run_cli("check", "-c", str(config)).returncode == 0
    server.page("/privacy", "gone", status=404)
    first = run_cli("check", "-c", str(config), "--format", "github")
    assert first.returncode == 3
    ((level, title, message),) = _commands(first.stdout)
    assert (level, title) == ("error", "acme%3A http-404")
    assert "hint%3A" not in message and "hint: " in message
    again = run_cli("check", "-c", str(config), "--format", "github")
    assert again.returncode == 3
    assert [(level, title) for level, title, _ in _commands(again.stdout)] == [("warning", "acme%3A http-404 (still failing)")]
    server.page("/privacy", V1)
    recovered = run_cli("check", "-c", str(config), "--format", "github")
    assert recovered.returncode == 0
    assert [(level, title) for level, title, _ in _commands(recovered.stdout)] == [("notice", "acme%3A recovered")]


def test_compare_and_scan_in_github_format(tmp_path):
    (tmp_path / "old.html").write_text(V1)
    (tmp_path / "new.html").write_text(V2)
    compare = run_cli("compare", str(tmp_path / "old.html"), str(tmp_path / "new.html"), "--format", "github")
    assert compare.returncode == 1
    commands = _commands(compare.stdout)
    assert any(level == "error" and "biometric" in title for level, title, _ in commands)
    scan = run_cli("scan", str(tmp_path / "new.html"), "--format", "github")
    assert scan.returncode == 0
    assert any("ai-training" in title for _, title, _ in _commands(scan.stdout))
