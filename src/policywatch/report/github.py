"""GitHub Actions workflow commands: one `::error`/`::warning` annotation per failing finding or policy error.

GitHub shows these on the workflow run's summary page. Data is escaped per the runner's rules (`%`, CR and
LF in messages; also `:` and `,` in properties), so a policy text can never inject a second command.
"""

from __future__ import annotations

from dataclasses import dataclass

from policywatch.core import CheckReport, CompareReport, PolicyReport
from policywatch.models import RISK, Change, Finding, ScannedClause, Severity
from policywatch.report.base import Reporter, section_label

_MAX_CLAUSE = 300  # characters of clause text in a message; the Markdown summary has the full text
# GitHub shows at most this many annotations of each level per step (the job log keeps them all).
SHOWN_PER_LEVEL = 10
_LEVELS = ("error", "warning", "notice")
_AFTER_FINDINGS = 1  # policy errors and recoveries rank after every finding of their level


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(level: str, title: str, message: str) -> str:
    return f"::{level} title={escape_property(title)}::{escape_data(message)}"


def level_of(severity: Severity) -> str:
    return "error" if severity >= Severity.HIGH else "warning"


@dataclass(frozen=True, slots=True)
class Annotation:
    level: str  # error, warning or notice
    rank: int  # within a level, lower ranks are printed first: GitHub shows only the first few
    title: str
    message: str


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_CLAUSE else text[: _MAX_CLAUSE - 1] + "…"


def _finding_annotation(subject: str, change: Change, finding: Finding, link: str) -> Annotation:
    clause = change.new if change.new is not None else change.old
    title = f"{subject}: {finding.event} {finding.category} ({finding.severity.label})"
    lines = [
        f"{change.kind} clause in {section_label(change.section)}:",
        _shorten(clause.text) if clause is not None else "",
        f"evidence: {finding.evidence}",
    ]
    if finding.explanation:
        lines.append(finding.explanation)
    lines.append(link)
    return Annotation(level_of(finding.severity), -int(finding.severity), title, "\n".join(lines))


def _changes_annotations(subject: str, changes: list[Change], link: str) -> list[Annotation]:
    return [_finding_annotation(subject, change, finding, link) for change in changes for finding in change.findings if finding.fails]


def _policy_annotations(policy: PolicyReport) -> list[Annotation]:
    annotations = _changes_annotations(policy.id, policy.changes, policy.url)
    if policy.failure is not None:
        # A continuing error still fails the run (exit 3), so it is annotated, but only a new one as an error.
        level = "error" if policy.error_is_new else "warning"
        title = f"{policy.id}: {policy.failure.kind}" + ("" if policy.error_is_new else " (still failing)")
        message = f"{policy.failure.message}\nhint: {policy.failure.hint}\n{policy.url}"
        annotations.append(Annotation(level, _AFTER_FINDINGS, title, message))
    if policy.recovered_from:
        annotations.append(Annotation("notice", _AFTER_FINDINGS, f"{policy.id}: recovered", f"was failing: {policy.recovered_from}\n{policy.url}"))
    return annotations


def _lines(annotations: list[Annotation]) -> str:
    """The workflow commands, most important first within each level. GitHub shows only the first
    SHOWN_PER_LEVEL of a level per step and drops the rest silently, so when there are more, the last
    shown one says so (the others still stand in the job log)."""
    commands = []
    for level in _LEVELS:
        chosen = sorted((a for a in annotations if a.level == level), key=lambda a: a.rank)
        for number, annotation in enumerate(chosen, start=1):
            if number == SHOWN_PER_LEVEL and len(chosen) > SHOWN_PER_LEVEL:
                hidden = len(chosen) - SHOWN_PER_LEVEL + 1
                commands.append(workflow_command(
                    level, f"policywatch: {hidden} more {level}s in the log",
                    f"GitHub shows {SHOWN_PER_LEVEL} {level} annotations per step; the next {hidden} are in the job log, "
                    "and the Markdown summary and the JSON report have every finding.",
                ))
            commands.append(workflow_command(annotation.level, annotation.title, annotation.message))
    return "".join(command + "\n" for command in commands)


class GithubReporter(Reporter):
    def check(self, report: CheckReport) -> str:
        return _lines([annotation for policy in report.policies for annotation in _policy_annotations(policy)])

    def compare(self, report: CompareReport) -> str:
        return _lines(_changes_annotations(f"compare {report.new}", report.changes, f"{report.old} → {report.new}"))

    def scan(self, location: str, clauses: list[ScannedClause]) -> str:
        annotations = [
            Annotation(
                level_of(match.severity),
                -int(match.severity),
                f"{match.category} ({match.severity.label})",
                f"{section_label(scanned.clause.section)}:\n{_shorten(scanned.clause.text)}\nevidence: {match.evidence}\n{location}",
            )
            for scanned in clauses
            for match in scanned.matches
            if match.polarity == RISK
        ]
        return _lines(annotations)
