"""compare, scan, demo and the general CLI contract, as real subprocesses."""

import json

import pytest

from helpers import run_cli
from test_cli_check import V1, V2


def test_version_and_help_on_every_command():
    from policywatch import __version__
    from policywatch.cli import cli

    assert run_cli("--version").stdout.strip().endswith(__version__)
    for name in cli.commands:
        result = run_cli(name, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout, name


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


def test_scan_lists_risky_and_protective_clauses(tmp_path):
    (tmp_path / "policy.html").write_text(V2)
    data = json.loads(run_cli("scan", str(tmp_path / "policy.html"), "-f", "json").stdout)
    found = {(f["category"], f["polarity"]) for c in data["clauses"] for f in c["findings"]}
    assert ("biometric", "risk") in found
    assert ("data-sale", "protection") in found
    assert all({"section", "text", "findings"} <= set(c) for c in data["clauses"])


def test_demo_runs_offline_and_shows_the_risky_additions():
    result = run_cli("demo")
    assert result.returncode == 0, result.stderr
    assert "baseline recorded" in result.stdout
    for category in ("biometric", "employment-education", "ai-training"):
        assert category in result.stdout


@pytest.fixture
def x_pair(corpus):
    return corpus / "versions" / "x-privacy-2023"


def test_compare_on_the_real_x_2023_change(x_pair):
    result = run_cli("compare", str(x_pair / "before.md"), str(x_pair / "after.md"), "-f", "json")
    data = json.loads(result.stdout)
    added = {f["category"] for c in data["changes"] if c["kind"] == "added" for f in c["findings"]}
    assert {"biometric", "employment-education", "ai-training"} <= added
    renames = [
        c for c in data["changes"] if c["kind"] == "modified" and "Twitter" in (c["old"] or "") and "X" in (c["new"] or "")
    ]
    assert renames, "the Twitter → X rename should show as modified clauses"
    assert any(not c["findings"] for c in renames)
    assert result.returncode == 1
