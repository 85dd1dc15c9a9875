"""Noise stays quiet: consecutive real captures of four pages, served in turn from 127.0.0.1 and checked
after each one (fetch → normalize → diff → classify → store; in process for speed, and one sequence through the
real program as cron runs it).

Most captures differ from the one before only in page chrome or markup (cookie banners, promotions,
tokens); a few hold real edits. What each sequence reports is written down here, so a normalizer or diff
change that lets chrome through, or loses a real edit, fails this test.
"""

import pytest

from helpers import run_cli, write_config
from test_cli_check import run_in_process
from policywatch.classify import Rulebook
from policywatch.config import Config, PolicySpec
from policywatch.core import CHANGED, NEW, UNCHANGED, CheckOptions, run_check
from policywatch.maintenance import verify
from policywatch.models import Severity
from policywatch.store import Store

OPTIONS = CheckOptions(threshold=None, retries=0)


def replay(corpus, server, tmp_path, page, select):
    """Serve each capture of `page` in turn and check after each; returns [(capture, PolicyReport)]."""
    captures = sorted((corpus / "history" / page).iterdir())
    spec = PolicySpec(id="policy", url=server.url("/policy"), name=page, select=select)
    config, store, rulebook = Config(path=tmp_path / "policies.yaml", policies=(spec,)), Store(tmp_path / "snapshots"), Rulebook.load()
    runs = []
    for capture in captures:
        server.page("/policy", capture.read_bytes(), etag=False)  # no validators: every capture is read
        (report,) = run_check(config, store, rulebook, options=OPTIONS).policies
        runs.append((capture.stem, report))
    assert verify(store).problems == []
    return runs, store


def changed_runs(runs):
    return [capture for capture, report in runs if report.status == CHANGED]


def edits(report):
    return sorted((change.kind, change.old.text if change.old else None, change.new.text if change.new else None) for change in report.changes)


def high_findings(runs):
    return [(capture, f.category) for capture, report in runs for f in report.findings() if f.severity >= Severity.HIGH]


@pytest.mark.parametrize("select", [("article",), ()], ids=["article", "default-heuristics"])
def test_1password_reports_only_the_april_2021_edit(corpus, server, tmp_path, select):
    runs, store = replay(corpus, server, tmp_path, "1password-terms-of-service", select)
    assert [r.status for _, r in runs] == [NEW] + [UNCHANGED] * 16 + [CHANGED] + [UNCHANGED] * 2
    (capture,) = changed_runs(runs)
    assert capture == "2021-04-30T14-44-57"
    report = dict(runs)[capture]
    assert edits(report) == [  # the new address shares too few words with the old one to pair as modified
        ("added", None, "2021-04-15: We changed our office address."),
        ("added", None, "4711 Yonge St, 10th Floor, Toronto, Ontario, M2N 6K8 Canada"),
        ("modified", "Last updated: April 23, 2019", "Last updated: April 15, 2021"),
        ("removed", "Suite 303, 49 Spadina Ave Toronto, Ontario M5V 2J1, Canada", None),
    ]
    assert high_findings(runs) == []
    assert len(store.versions("policy")) == 2


@pytest.mark.parametrize(
    "page, select, captures",
    [
        ("23andme-privacy-policy", ("main",), 30),
        ("23andme-privacy-policy", (), 30),
        ("academia-privacy-policy", (), 8),  # its selected body: test_the_real_program_replays_a_capture_sequence_quietly
    ],
    ids=["23andme-main", "23andme-default", "academia-default"],
)
def test_chrome_churn_alone_is_never_a_change(corpus, server, tmp_path, page, select, captures):
    runs, store = replay(corpus, server, tmp_path, page, select)
    assert [r.status for _, r in runs] == [NEW] + [UNCHANGED] * (captures - 1)
    assert high_findings(runs) == []
    assert len(store.versions("policy")) == 1


def test_the_real_program_replays_a_capture_sequence_quietly(corpus, server, tmp_path):
    """The same replay through `policywatch check -q`, as cron runs it: silent after the baseline. The first and
    last runs are real processes, the ones between run in-process (CliRunner) to save start-ups."""
    captures = sorted((corpus / "history" / "academia-privacy-policy").iterdir())
    url = server.page("/policy", captures[0].read_bytes(), etag=False)
    config = write_config(tmp_path / "policies.yaml", [{"id": "academia", "url": url, "select": ".static-page-padded-content"}])
    outputs = []
    for number, capture in enumerate(captures):
        server.page("/policy", capture.read_bytes(), etag=False)
        run = run_cli if number in (0, len(captures) - 1) else run_in_process
        result = run("check", "-c", str(config), "-q", "--retries", "0")
        assert result.returncode == 0, (capture.name, result.stdout + result.stderr)
        outputs.append(result.stdout)
    assert "baseline recorded" in outputs[0] and outputs[1:] == [""] * (len(captures) - 1)
    assert len(Store(tmp_path / "snapshots").versions("academia")) == 1


def test_500px_real_edits_are_reported_and_an_empty_capture_is_never_recorded(corpus, server, tmp_path):
    """500px's captures are successive real versions of the policy (markup stripped, so no selector), then
    an empty response: five real changes, and the empty page is an `empty` error, not a version."""
    runs, store = replay(corpus, server, tmp_path, "500px-privacy-policy", ())
    statuses = [report.status for _, report in runs]
    assert statuses == [NEW, CHANGED, UNCHANGED, CHANGED, CHANGED, CHANGED, CHANGED, "error"]
    assert runs[-1][1].failure.kind == "empty"
    assert len(store.versions("policy")) == 6
    last_change = dict(runs)["2020-10-05T13-49-33"]
    assert ("modified", "Keeping Information Secure", "Keeping Information And Our Website Secure") in edits(last_change)
    assert any("reCAPTCHA" in (new or "") for kind, _, new in edits(last_change) if kind == "added")
    # The real edits add protections (children, no sale of data): high severity, but good news only.
    findings = [f for _, report in runs for f in report.findings() if f.severity >= Severity.HIGH]
    assert findings and not [f for f in findings if f.fails]
