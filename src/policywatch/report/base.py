"""The reporter interface and the plain-data view of reports that machine formats share."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from policywatch.core import CheckReport, CompareReport, PolicyReport
from policywatch.models import Change, Finding, Match, ScannedClause, Severity

SCHEMA = "policywatch/1"


@dataclass(frozen=True, slots=True)
class ReportStyle:
    color: bool = False
    verbose: bool = False  # also list unchanged policies' details and moved clauses in full
    quiet: bool = False  # only what needs attention: changes, new errors, recoveries


class Reporter:
    """Subclasses render each kind of report; machine formats render everything, human ones may summarise."""

    def __init__(self, style: ReportStyle = ReportStyle()):
        self.style = style

    def check(self, report: CheckReport) -> str:
        raise NotImplementedError

    def compare(self, report: CompareReport) -> str:
        raise NotImplementedError

    def scan(self, location: str, clauses: list[ScannedClause]) -> str:
        raise NotImplementedError


def json_text(data: dict) -> str:
    """A JSON document as every machine format writes it: indented, UTF-8 kept readable, a final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def section_label(section: tuple[str, ...]) -> str:
    return " › ".join(section) if section else "(top)"


def first_sight_note(policy: PolicyReport) -> str:
    """What a first sight did: recorded the baseline, or (under --no-update) only looked."""
    if policy.version is None:
        return f"First sight ({policy.clauses} clauses); no baseline stored (--no-update)"
    return f"Baseline recorded ({policy.clauses} clauses)"


def finding_data(finding: Finding) -> dict:
    return {
        "category": finding.category,
        "severity": finding.severity.label,
        "event": finding.event,
        "evidence": finding.evidence,
        "explanation": finding.explanation,
    }


def match_data(match: Match) -> dict:
    return {
        "category": match.category,
        "severity": match.severity.label,
        "polarity": match.polarity,
        "evidence": match.evidence,
        "rule": match.rule,
        "explanation": match.explanation,
    }


def change_data(change: Change) -> dict:
    return {
        "kind": change.kind,
        "section": list(change.section),
        "old": change.old.text if change.old is not None else None,
        "new": change.new.text if change.new is not None else None,
        "findings": [finding_data(f) for f in change.findings],
    }


def policy_data(policy: PolicyReport) -> dict:
    failure = policy.failure
    return {
        "id": policy.id,
        "name": policy.name,
        "url": policy.url,
        "status": policy.status,
        "version": policy.version,
        "previous_version": policy.previous_version,
        "clauses": policy.clauses,
        "error": None
        if failure is None
        else {"kind": failure.kind, "message": failure.message, "hint": failure.hint, "new": policy.error_is_new},
        "recovered_from": policy.recovered_from,
        "set_aside": policy.set_aside,
        "changes": [change_data(c) for c in policy.changes],
    }


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {severity.label: counts.get(severity, 0) for severity in sorted(Severity, reverse=True)}


def check_summary(report: CheckReport) -> dict:
    statuses = Counter(policy.status for policy in report.policies)
    findings = [f for policy in report.policies for f in policy.findings() if f.fails]
    return {
        "policies": len(report.policies),
        "statuses": {status: statuses.get(status, 0) for status in ("new", "unchanged", "changed", "suspicious", "error")},
        "changes": sum(len(policy.changes) for policy in report.policies),
        "findings": severity_counts(findings),
        "failing": len(report.failing_findings()),
        "fail_on": report.threshold.label if report.threshold else "none",
        "exit_code": int(report.exit_status),
    }


def summary_line(report: CheckReport) -> str:
    """One line for stderr: what was checked and why the exit code is what it is."""
    summary = check_summary(report)
    statuses = ", ".join(f"{count} {status}" for status, count in summary["statuses"].items() if count)
    risky = ", ".join(f"{count} {level}" for level, count in summary["findings"].items() if count)
    line = f"{summary['policies']} {'policy' if summary['policies'] == 1 else 'policies'}: {statuses or 'none'}"
    line += f"; risk findings: {risky}" if risky else "; no risk findings"
    return line + f"; fail-on {summary['fail_on']} → exit {summary['exit_code']}"
