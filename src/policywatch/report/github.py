"""GitHub Actions workflow commands: one `::error`/`::warning` annotation per failing finding or policy error.

GitHub shows these on the workflow run's summary page. Data is escaped per the runner's rules (`%`, CR and
LF in messages; also `:` and `,` in properties), so a policy text can never inject a second command.
"""

from __future__ import annotations

from policywatch.core import CheckReport, CompareReport, PolicyReport
from policywatch.models import RISK, Change, Finding, ScannedClause, Severity
from policywatch.report.base import Reporter, section_label

_MAX_CLAUSE = 300  # characters of clause text in a message; the Markdown summary has the full text


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(level: str, title: str, message: str) -> str:
    return f"::{level} title={escape_property(title)}::{escape_data(message)}"


def level_of(severity: Severity) -> str:
    return "error" if severity >= Severity.HIGH else "warning"


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_CLAUSE else text[: _MAX_CLAUSE - 1] + "…"


def _finding_command(subject: str, change: Change, finding: Finding, link: str) -> str:
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
    return workflow_command(level_of(finding.severity), title, "\n".join(lines))


def _changes_commands(subject: str, changes: list[Change], link: str) -> list[str]:
    return [_finding_command(subject, change, finding, link) for change in changes for finding in change.findings if finding.fails]


def _policy_commands(policy: PolicyReport) -> list[str]:
    commands = _changes_commands(policy.id, policy.changes, policy.url)
    if policy.failure is not None:
        # A continuing error still fails the run (exit 3), so it is annotated, but only a new one as an error.
        level = "error" if policy.error_is_new else "warning"
        title = f"{policy.id}: {policy.failure.kind}" + ("" if policy.error_is_new else " (still failing)")
        message = f"{policy.failure.message}\nhint: {policy.failure.hint}\n{policy.url}"
        commands.append(workflow_command(level, title, message))
    if policy.recovered_from:
        commands.append(workflow_command("notice", f"{policy.id}: recovered", f"was failing: {policy.recovered_from}\n{policy.url}"))
    return commands


def _lines(commands: list[str]) -> str:
    return "".join(command + "\n" for command in commands)


class GithubReporter(Reporter):
    def check(self, report: CheckReport) -> str:
        return _lines([command for policy in report.policies for command in _policy_commands(policy)])

    def compare(self, report: CompareReport) -> str:
        return _lines(_changes_commands(f"compare {report.new}", report.changes, f"{report.old} → {report.new}"))

    def scan(self, location: str, clauses: list[ScannedClause]) -> str:
        commands = [
            workflow_command(
                level_of(match.severity),
                f"{match.category} ({match.severity.label})",
                f"{section_label(scanned.clause.section)}:\n{_shorten(scanned.clause.text)}\nevidence: {match.evidence}\n{location}",
            )
            for scanned in clauses
            for match in scanned.matches
            if match.polarity == RISK
        ]
        return _lines(commands)
