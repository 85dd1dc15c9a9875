"""Diff events: what a change between two versions means per risk category (new-risk, changed-risk,
lost-protection, added-protection), from real normalized text through the real diff. The cases are data
(tests/data/classify_cases_events.yaml); the CLI tests check that the events decide the exit code."""

import json
from pathlib import Path

import pytest
import yaml

from helpers import run_cli
from policywatch.classify import Rulebook, assess
from policywatch.diff import diff_clauses
from policywatch.models import ADDED, REMOVED, Change, Clause
from policywatch.normalize import normalize_text

CASES = yaml.safe_load((Path(__file__).parent / "data" / "classify_cases_events.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rulebook() -> Rulebook:
    return Rulebook.load()


def findings_of(rulebook: Rulebook, before: str, after: str):
    changes = diff_clauses(normalize_text(before, fmt="markdown"), normalize_text(after, fmt="markdown"))
    return [finding for change in assess(changes, rulebook) for finding in change.findings]


@pytest.mark.parametrize("name", list(CASES))
def test_diff_event(rulebook, name):
    case = CASES[name]
    findings = findings_of(rulebook, case["before"], case["after"])
    described = sorted(f"{f.event} {f.category} {f.severity.label}" for f in findings)
    assert described == sorted(case["findings"]), [(f.event, f.category, f.evidence) for f in findings]
    assert any(f.fails for f in findings) is case["fails"]


def test_events_cover_every_kind_of_finding():
    events = {entry.split()[0] for case in CASES.values() for entry in case["findings"]}
    assert events == {"new-risk", "changed-risk", "lost-protection", "added-protection"}


def test_lost_protection_shows_the_promise_that_went(rulebook):
    (finding,) = findings_of(
        rulebook,
        "We keep your search history for a maximum of 18 months.\n",
        "We keep your search history.\n",
    )
    assert finding.evidence == "keep your search history for a maximum of 18 months"
    assert finding.explanation


def test_assess_leaves_its_input_alone(rulebook):
    changes = [Change(ADDED, None, Clause("We sell your personal information.")), Change(REMOVED, Clause("Hi."), None)]
    assessed = assess(changes, rulebook)
    assert [c.findings for c in changes] == [[], []]
    assert [len(c.findings) for c in assessed] == [1, 0]


def test_ignore_list_applies_to_diff_events():
    rulebook = Rulebook.load(ignore=[{"category": "data-sale", "reason": "reviewed by legal", "policy": "acme"}])
    changes = [Change(ADDED, None, Clause("We sell your personal information to data brokers."))]
    assert assess(changes, rulebook, "acme")[0].findings == []
    assert [f.category for f in assess(changes, rulebook, "other")[0].findings] == ["data-sale"]


# Enough neutral text around the clauses under test for a page to count as a policy.
PREAMBLE = (
    "# Privacy Policy\n\nThis policy explains what information we collect when you use our services, how we use it, "
    "and the choices you have. We keep your account secure with encryption in transit and at rest. "
    "You can contact our support team with any question about this policy.\n\n"
)


def _compare(tmp_path: Path, before: str, after: str, *options: str):
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    old.write_text(PREAMBLE + before, encoding="utf-8")
    new.write_text(PREAMBLE + after, encoding="utf-8")
    return run_cli("compare", str(old), str(new), "-f", "json", *options)


def test_compare_fails_on_a_lost_protection_and_names_it(tmp_path):
    result = _compare(tmp_path, "We never sell your personal data.\n\nWe keep it safe.\n", "We keep it safe.\n")
    assert result.returncode == 1, result.stderr
    findings = [f for change in json.loads(result.stdout)["changes"] for f in change["findings"]]
    assert [(f["event"], f["category"], f["severity"]) for f in findings] == [("lost-protection", "data-sale", "high")]


def test_compare_never_fails_on_an_added_protection(tmp_path):
    before = "We use your content to provide the service.\n"
    after = before + "\nWe do not use your content to train our artificial intelligence models.\n"
    result = _compare(tmp_path, before, after, "--fail-on", "low")
    assert result.returncode == 0, result.stdout
    assert '"added-protection"' in result.stdout


def test_a_medium_lost_protection_fails_only_at_that_threshold(tmp_path):
    before = "We keep log data for up to 90 days.\n"
    after = "We keep log data.\n"
    assert _compare(tmp_path, before, after).returncode == 0
    assert _compare(tmp_path, before, after, "--fail-on", "medium").returncode == 1


def test_a_finding_has_the_severity_the_config_gives_its_category():
    base = "# Privacy\n\nWe use your email address to send you receipts for your orders.\n"
    rulebook = Rulebook.load({"severity": {"data-sale": "low"}})
    (finding,) = findings_of(rulebook, base, base + "\nWe sell your personal information.\n")
    assert (finding.category, finding.event, finding.severity.label) == ("data-sale", "new-risk", "low")
