"""compare, scan and the general CLI contract: real subprocesses, a real pseudo-terminal, and CliRunner where
a command runs many times (--help of every command, the corpus pairs)."""

import json
import os
import subprocess
import sys

import click
import pytest
import yaml
from click.testing import CliRunner

from helpers import CORPUS, run_cli
from policywatch import __version__
from policywatch.cli import cli
from test_cli_check import V1, V2


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from _command_paths(command, prefix + (name,))


def test_version_and_help_of_the_real_program():
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"policywatch, version {__version__}"
    usage = run_cli("check", "--help")
    assert usage.returncode == 0 and usage.stdout.startswith("Usage: policywatch check")


def test_help_quiet_and_verbose_on_every_command():
    paths = list(_command_paths(cli))
    assert len(paths) >= 15  # the walk reaches the commands of every module, and the `rules` subcommands
    for path in paths:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and result.output.startswith(f"Usage: cli {' '.join(path)}"), path
        if path != ("rules",):  # a group only dispatches
            assert "--quiet" in result.output and "--verbose" in result.output, path


def test_a_usage_error_exits_2_before_anything_runs(tmp_path):
    result = run_cli("check", "--fail-on", "sometimes", cwd=tmp_path)
    assert result.returncode == 2 and "--fail-on" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_compare_two_local_files(tmp_path):
    (tmp_path / "old.html").write_text(V1)
    (tmp_path / "new.html").write_text(V2)
    result = run_cli("compare", str(tmp_path / "old.html"), str(tmp_path / "new.html"), "-f", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert set(data) >= {"schema", "changes"}
    assert {f["category"] for c in data["changes"] for f in c["findings"]} >= {"biometric", "ai-training"}


def test_compare_urls_and_unreadable_source(tmp_path, server):
    old = server.page("/v1", V1)
    new = server.page("/v2", V2)
    assert run_cli("compare", old, new).returncode == 1
    missing = run_cli("compare", old, str(tmp_path / "missing.html"))
    assert missing.returncode == 3 and "cannot read" in missing.stderr


TEXT_V1 = "Acme Privacy Policy\n\nWe collect your name and email address.\nWe do not sell your personal information.\n"
TEXT_V2 = TEXT_V1 + "\nWe may use your content to train our artificial intelligence models.\n"


def test_compare_plain_text_from_a_url_and_a_file(tmp_path, server):
    old = server.page("/terms", TEXT_V1, content_type="text/plain; charset=utf-8")
    (tmp_path / "new.txt").write_text(TEXT_V2)
    result = run_cli("compare", old, str(tmp_path / "new.txt"), "--format", "markdown")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("## policywatch compare")
    assert "`ai-training` | new-risk" in result.stdout


def test_compare_markdown_churn_is_no_change_and_exits_0(tmp_path):
    (tmp_path / "old.md").write_text("# Acme\n\nWe collect your name.\n\n* cookies\n* logs\n")
    (tmp_path / "new.md").write_text("# Acme\n\nWe   collect your\nname.\n\n- cookies\n- logs\n")
    result = run_cli("compare", str(tmp_path / "old.md"), str(tmp_path / "new.md"), "-f", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changes"] == []


def test_scan_a_url(server):
    url = server.page("/privacy", V2)
    result = run_cli("scan", url)
    assert result.returncode == 0, result.stderr
    assert "biometric" in result.stdout and "ai-training" in result.stdout


def test_scan_lists_risky_and_protective_clauses(tmp_path):
    (tmp_path / "policy.html").write_text(V2)
    data = json.loads(run_cli("scan", str(tmp_path / "policy.html"), "-f", "json").stdout)
    found = {(f["category"], f["polarity"]) for c in data["clauses"] for f in c["findings"]}
    assert ("biometric", "risk") in found
    assert ("data-sale", "protection") in found
    assert all({"section", "text", "findings"} <= set(c) for c in data["clauses"])


@pytest.fixture
def x_pair(corpus):
    return corpus / "versions" / "x-privacy-2023"


def test_compare_on_the_real_x_2023_change(x_pair):
    result = run_cli("compare", str(x_pair / "before.md"), str(x_pair / "after.md"), "-f", "json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    added = {f["category"] for c in data["changes"] if c["kind"] == "added" for f in c["findings"] if f["event"] == "new-risk"}
    assert {"biometric", "employment-education", "ai-training"} <= added
    # Clauses whose only edit is the Twitter → X rename: modified (not removed + added), and no finding at all.
    renames = [c for c in data["changes"] if c["old"] and c["new"] and c["old"].replace("Twitter", "X") == c["new"]]
    assert len(renames) >= 20
    assert {c["kind"] for c in renames} == {"modified"}
    assert [c for c in renames if c["findings"]] == []


CASES = yaml.safe_load((CORPUS / "versions" / "cases.yaml").read_text()) if (CORPUS / "versions" / "cases.yaml").is_file() else {}
# A case whose notes say a category must NOT be read as a risk (Zoom's walk-back adds a protective promise).
MUST_NOT_FAIL = {"zoom-terms-2023-walkback": {"ai-training"}}


@pytest.mark.parametrize("case", sorted(CASES) or ["(corpus absent)"])
def test_real_version_pairs_report_the_categories_of_cases_yaml(case, corpus):
    pair = corpus / "versions" / case
    result = CliRunner().invoke(cli, ["compare", str(pair / "before.md"), str(pair / "after.md"), "-f", "json", "--fail-on", "low"])
    changes = json.loads(result.stdout)["changes"]
    failing = {f["category"] for c in changes for f in c["findings"] if f["event"] in ("new-risk", "changed-risk", "lost-protection")}
    assert set(CASES[case]["must"]) <= failing, CASES[case]["notes"]
    assert not failing & MUST_NOT_FAIL.get(case, set()), CASES[case]["notes"]
    assert result.exit_code == (1 if failing else 0)


def run_on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """Run the real program with a pseudo-terminal as its stdout and stderr; returns what the terminal got."""
    pty = pytest.importorskip("pty")
    controller, terminal = pty.openpty()
    clean_env = {name: value for name, value in os.environ.items() if name not in ("NO_COLOR", "FORCE_COLOR")}
    process = subprocess.Popen(
        [sys.executable, "-m", "policywatch", *args],
        stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env={**clean_env, "TERM": "xterm-256color", **env},
    )
    os.close(terminal)
    received = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not chunk:
            break
        received.append(chunk)
    process.wait(timeout=60)
    os.close(controller)
    return b"".join(received).decode("utf-8", "replace")


@pytest.mark.parametrize("no_color, coloured", [(None, True), ("1", False), ("", True)])
def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path, no_color, coloured):
    (tmp_path / "old.html").write_text(V1)
    (tmp_path / "new.html").write_text(V2)
    env = {} if no_color is None else {"NO_COLOR": no_color}
    shown = run_on_a_terminal("compare", str(tmp_path / "old.html"), str(tmp_path / "new.html"), env=env)
    assert "biometric" in shown
    assert ("\x1b[" in shown) is coloured  # an empty NO_COLOR does not count (https://no-color.org)


def test_an_effective_date_in_the_header_of_main_is_part_of_the_policy(tmp_path):
    page = (
        "<html><body><header><a href='/'>Home</a></header><main><header><h1>Privacy Policy</h1>"
        "<p>Effective: {date}.</p></header><p>We collect your name and email address when you register.</p>"
        "</main><footer>Acme</footer></body></html>"
    )
    (tmp_path / "old.html").write_text(page.format(date="May 1, 2023"))
    (tmp_path / "new.html").write_text(page.format(date="September 29, 2023"))
    result = CliRunner().invoke(cli, ["compare", str(tmp_path / "old.html"), str(tmp_path / "new.html"), "-f", "json"])
    assert [change["kind"] for change in json.loads(result.stdout)["changes"]] == ["modified"]
