"""`--format github`: GitHub Actions workflow commands, one per failing finding or policy error, safely escaped."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import REPO, run_cli, write_config
from policywatch.core import CHANGED, ERROR, CheckReport, Failure, PolicyReport
from policywatch.models import ADDED, Change, Clause, Finding, Severity
from policywatch.report.github import GithubReporter, escape_data, escape_property, workflow_command
from test_cli_check import V1, V2, run_in_process

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
    assert run_in_process("check", "-c", str(config)).returncode == 0
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



def test_the_most_important_annotations_come_first_and_a_hidden_remainder_is_announced():
    """GitHub shows 10 annotations of each level per step: high findings before failures, medium before low."""
    def finding(severity: Severity, number: int) -> Change:
        return Change(ADDED, None, Clause(f"Clause {number}."), [Finding(f"cat{number}", severity, "new-risk", f"Clause {number}")])

    busy = PolicyReport("busy", "Busy", "https://busy.test/p", CHANGED,
                        [finding(Severity.LOW, n) for n in range(3)] + [finding(Severity.HIGH, n) for n in range(3, 15)]
                        + [finding(Severity.MEDIUM, 15)])
    down = PolicyReport("down", "Down", "https://down.test/p", ERROR, failure=Failure("http-500", "HTTP 500", "later"))
    commands = _commands(GithubReporter().check(CheckReport([down, busy], Severity.HIGH)))
    errors = [title for level, title, _ in commands if level == "error"]
    assert len(errors) == 12 + 1 + 1  # every finding and the failure stay in the log, plus one notice of the hidden ones
    assert all("(high)" in title for title in errors[:9])
    assert errors[9] == "policywatch%3A 4 more errors in the log"  # the 10th, the last one GitHub shows
    assert errors[-1] == "down%3A http-500"  # a failure ranks after the findings of its level
    warnings = [title for level, title, _ in commands if level == "warning"]
    assert warnings == ["busy%3A new-risk cat15 (medium)"] + [f"busy%3A new-risk cat{n} (low)" for n in range(3)]


WORKFLOW = REPO / "examples" / "github-workflow.yml"
_STEP_OUTPUT = re.compile(r"\$\{\{\s*steps\.(\w+)\.outputs\.(\w+)\s*\}\}")


def _expression(condition: str, outputs: dict, cwd: Path) -> bool:
    """Evaluate the few GitHub expressions the example uses: always(), step outputs, ==/!=, &&/||, hashFiles."""
    python = re.sub(r"\bsteps\.(\w+)\.outputs\.(\w+)", lambda m: repr(outputs.get(m.group(1), {}).get(m.group(2), "")), condition)
    python = python.replace("always()", "True").replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"hashFiles\('([^']+)'\)", lambda m: repr("h" if (cwd / m.group(1)).exists() else ""), python)
    return bool(eval(python, {"__builtins__": {}}))  # noqa: S307 - our own example's expressions only


class Workflow:
    """Runs the `run:` steps of examples/github-workflow.yml the way a runner does (bash -eo pipefail, the
    GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, `if:` conditions); `uses:` steps and the install are skipped."""

    def __init__(self, repo: Path):
        self.repo = repo
        self.document = yaml.safe_load(WORKFLOW.read_text())
        (self.steps,) = [job["steps"] for job in self.document["jobs"].values()]

    def run(self) -> dict:
        outputs: dict[str, dict] = {}
        summary, output_file = self.repo.parent / "summary.md", self.repo.parent / "output"
        summary.write_text("")
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1",
               "GITHUB_STEP_SUMMARY": str(summary)}
        failed_step = None
        for step in self.steps:
            condition = step.get("if")
            if condition is None:
                if failed_step:  # a failed step skips every later step without `if: always()`
                    continue
            elif not _expression(condition, outputs, self.repo):
                continue
            if "run" not in step or step["name"].startswith("Install"):
                continue
            output_file.write_text("")
            script = _STEP_OUTPUT.sub(lambda m: outputs.get(m.group(1), {}).get(m.group(2), ""), step["run"])
            result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=self.repo,
                                    env={**env, "GITHUB_OUTPUT": str(output_file)}, capture_output=True, text=True, timeout=120)
            if "id" in step:
                outputs[step["id"]] = dict(line.split("=", 1) for line in output_file.read_text().splitlines())
            if result.returncode != 0:
                failed_step = failed_step or (step["name"], result.returncode, result.stdout)
        return {"outputs": outputs, "failed": failed_step, "summary": summary.read_text()}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_example_workflow_commits_versions_and_fails_on_risk(tmp_path, server):
    document = yaml.safe_load(WORKFLOW.read_text())
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers

    remote, repo = tmp_path / "remote.git", tmp_path / "repo"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(tmp_path, "clone", "-q", str(remote), str(repo))
    git(repo, "config", "user.email", "t@example.org")
    git(repo, "config", "user.name", "t")
    write_config(repo / "policies.yaml", [{"id": "acme", "url": server.page("/privacy", V1), "select": "main"}])
    git(repo, "add", "policies.yaml")
    git(repo, "commit", "-q", "-m", "watch acme")
    git(repo, "push", "-q", "-u", "origin", "HEAD")  # the workflow's plain `git push` needs an upstream, as on a runner
    workflow = Workflow(repo)

    def pushed() -> list[str]:
        return git(remote, "log", "--format=%s").splitlines()

    baseline = workflow.run()
    assert baseline["outputs"]["check"]["status"] == "0" and baseline["failed"] is None
    assert pushed()[0].startswith("policywatch: new policy versions") and "## policywatch report" in baseline["summary"]
    assert git(remote, "ls-tree", "-r", "--name-only", "HEAD", "snapshots/acme/").count("text.md") == 1

    server.page("/privacy", V2)
    risky = workflow.run()
    assert risky["outputs"]["check"]["status"] == "1"
    step, code, stdout = risky["failed"]
    assert (step, code) == ("Fail on new risky clauses or newly failing policies", 1) and "new risky clauses" in stdout
    assert len(pushed()) == 3  # the risky version is committed all the same
    assert "biometric" in risky["summary"] and "<details>" in risky["summary"]

    server.page("/privacy", "gone", status=404)
    started = workflow.run()
    assert started["outputs"]["check"]["status"] == "3" and "1 policies started failing" in started["failed"][2]
    still = workflow.run()
    assert still["outputs"]["check"]["status"] == "3" and still["failed"] is None  # reported once, not every day

    (repo / "policies.yaml").write_text("policies: [oops\n")
    broken = workflow.run()
    assert broken["failed"][:2] == ("Check policies", 2) and "commit" not in broken["outputs"]
