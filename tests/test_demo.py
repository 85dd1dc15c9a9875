"""The offline demo: a real check, twice, against the sample policy served from 127.0.0.1."""

import contextlib
import json
import tempfile
from pathlib import Path

from click.testing import CliRunner

from helpers import run_cli
from policywatch.cli import cli
from policywatch.demo import run as demo_run
from policywatch.core import CHANGED, NEW
from policywatch.demo.run import POLICY_ID, run_demo
from policywatch.models import ADDED, NEW_RISK, ExitStatus


def test_demo_records_a_baseline_then_reports_the_x_style_additions_and_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the demo's site and store go
    runs = list(run_demo())
    assert list(tmp_path.iterdir()) == []
    assert len(runs) == 2
    (_, baseline), (_, update) = runs
    assert [p.status for p in baseline.policies] == [NEW] and baseline.exit_status == ExitStatus.OK
    (policy,) = update.policies
    assert policy.id == POLICY_ID and policy.status == CHANGED
    assert policy.previous_version == baseline.policies[0].version  # the second run diffed against the first
    added_risks = {f.category for c in policy.changes if c.kind == ADDED for f in c.findings if f.event == NEW_RISK}
    assert {"biometric", "employment-education", "ai-training"} <= added_risks
    assert update.exit_status == ExitStatus.RISK


def test_demo_command_shows_both_runs_and_exits_0_even_behind_a_proxy(tmp_path):
    # A proxy from the environment (company networks, CI) must not get the requests for the local sample site.
    behind_a_proxy = {"http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}
    result = run_cli("demo", cwd=tmp_path, env=behind_a_proxy)
    assert result.returncode == 0, result.stderr
    assert result.stdout.index("baseline recorded") < result.stdout.index("biometric")
    for category in ("biometric", "employment-education", "ai-training"):
        assert category in result.stdout
    assert "exit 1" in result.stderr  # what a real check would have returned, said on stderr
    assert list(Path(tmp_path).iterdir()) == []  # the demo writes nothing where it runs


def test_demo_json_is_one_document_about_the_update():
    result = run_cli("demo", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "policywatch/1"
    assert [p["status"] for p in report["policies"]] == ["changed"]
    assert report["summary"]["exit_code"] == 1


def test_a_demo_that_cannot_reach_its_sample_site_fails(monkeypatch):
    @contextlib.contextmanager
    def nothing_listens(root):
        yield "http://127.0.0.1:9"  # the discard port: connections are refused

    monkeypatch.setattr(demo_run, "serve_directory", nothing_listens)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == ExitStatus.FAILED
    assert "the demo could not check its sample policy" in result.stderr
