"""The rulebook on real policy changes (../shared/corpus/versions), through the real `policywatch compare`:
every category cases.yaml asks for is found, the Zoom walk-back does not fail a run, and every other high
finding is one listed, with a careful reader's verdict, in tests/data/classify_cases_corpus.yaml."""

import json
from pathlib import Path

import pytest
import yaml

from helpers import CORPUS, run_cli

VERSIONS = CORPUS / "versions"
EXPECTED_OTHERS = yaml.safe_load((Path(__file__).parent / "data" / "classify_cases_corpus.yaml").read_text(encoding="utf-8"))
FAILING = {"new-risk", "changed-risk", "lost-protection"}


@pytest.fixture(scope="module")
def pairs() -> dict:
    """Pair name → (its cases.yaml entry, compare's exit code, every finding with its clause)."""
    if not VERSIONS.is_dir():
        pytest.skip("../shared/corpus is not present (a fresh clone has none)")
    results = {}
    for name, case in yaml.safe_load((VERSIONS / "cases.yaml").read_text(encoding="utf-8")).items():
        result = run_cli("compare", str(VERSIONS / name / "before.md"), str(VERSIONS / name / "after.md"), "-f", "json")
        assert result.returncode in (0, 1), result.stderr
        findings = [
            {**finding, "clause": change["new"] or change["old"]}
            for change in json.loads(result.stdout)["changes"]
            for finding in change["findings"]
        ]
        results[name] = (case, result.returncode, findings)
    return results


def test_every_category_a_case_asks_for_is_a_failing_finding(pairs):
    for name, (case, _, findings) in pairs.items():
        found = {f["category"] for f in findings if f["event"] in FAILING}
        assert set(case["must"]) <= found, f"{name}: missing {set(case['must']) - found}"


def test_x_2023_findings_point_at_the_new_clauses(pairs):
    _, status, findings = pairs["x-privacy-2023"]
    assert status == 1
    new_risks = {(f["category"], f["clause"]) for f in findings if f["event"] == "new-risk"}

    def flagged(category: str, words: str) -> bool:
        return any(c == category and words in clause for c, clause in new_risks)

    assert flagged("biometric", "we may collect and use your biometric information")
    assert flagged("ai-training", "train our machine learning or artificial intelligence models")
    assert flagged("employment-education", "employment history, educational history")


def test_the_zoom_walk_back_does_not_fail_a_run(pairs):
    _, status, findings = pairs["zoom-terms-2023-walkback"]
    assert status == 0
    assert not [f for f in findings if f["event"] in FAILING and f["severity"] == "high"]
    assert [f["event"] for f in findings if f["category"] == "ai-training"] == ["added-protection"]


def test_every_other_high_finding_is_listed_with_a_verdict(pairs):
    for name, (case, _, findings) in pairs.items():
        others = sorted(
            (f["category"], f["event"], f["clause"])
            for f in findings
            if f["severity"] == "high" and f["category"] not in case["must"]
        )
        expected = sorted((e["category"], e["event"], e["clause"]) for e in EXPECTED_OTHERS.get(name, []))
        assert len(others) == len(expected), f"{name}: {others}"
        for (category, event, clause), (want_category, want_event, start) in zip(others, expected):
            assert (category, event) == (want_category, want_event) and clause.startswith(start), (name, clause)
