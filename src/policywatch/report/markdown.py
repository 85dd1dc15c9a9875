"""GitHub-flavoured Markdown for PR comments, issues and $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from policywatch.core import CHANGED, ERROR, NEW, SUSPICIOUS, CheckReport, CompareReport, PolicyReport
from policywatch.diff import word_diff
from policywatch.models import ADDED_PROTECTION, MODIFIED, MOVED, REMOVED, Change, ScannedClause
from policywatch.report.base import Reporter, section_label, summary_line

_ICON = {"high": "🔴", "medium": "🟠", "low": "🔵"}


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _inline(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _clause_markdown(change: Change) -> str:
    """The clause with word-level highlights: <del> for removed words, <ins> for added ones."""
    if change.kind == MODIFIED:
        parts = []
        for op, segment in word_diff(change.old.text, change.new.text):
            segment = _inline(segment)
            if op == "equal":
                parts.append(segment)
            elif op == "delete":
                parts.append(f"<del>{segment}</del>")
            else:
                parts.append(f"<ins>{segment}</ins>")
        return "".join(parts)
    clause = change.new if change.new is not None else change.old
    text = _inline(clause.text)
    return f"<del>{text}</del>" if change.kind == REMOVED else text


def _findings_table(changes: list[Change]) -> list[str]:
    rows = [(c, f) for c in changes for f in c.findings]
    if not rows:
        return []
    lines = ["| Severity | Category | Event | Evidence | Section |", "|---|---|---|---|---|"]
    for change, finding in rows:
        icon = "🟢" if finding.event == ADDED_PROTECTION else _ICON[finding.severity.label]
        lines.append(
            f"| {icon} {finding.severity.label} | `{finding.category}` | {finding.event} | "
            f"{_cell(finding.evidence)} | {_cell(section_label(change.section))} |"
        )
    return lines + [""]


def _changes_block(changes: list[Change], open_details: bool = True) -> list[str]:
    visible = [c for c in changes if c.kind != MOVED]
    lines = _findings_table(changes)
    if not visible and not changes:
        return lines
    lines.append(f"<details{' open' if open_details else ''}><summary>{len(visible)} changed clause(s)"
                 f"{f', {len(changes) - len(visible)} moved' if len(changes) > len(visible) else ''}</summary>")
    lines.append("")
    for change in visible:
        lines.append(f"- **{change.kind}** in _{_cell(section_label(change.section))}_: {_clause_markdown(change)}")
    lines += ["", "</details>", ""]
    return lines


class MarkdownReporter(Reporter):
    def check(self, report: CheckReport) -> str:
        lines = ["## policywatch report", "", summary_line(report), ""]
        lines += ["| Policy | Status | Changes | Failing findings |", "|---|---|---|---|"]
        for policy in report.policies:
            failing = sum(1 for f in policy.findings() if f.fails)
            lines.append(
                f"| [{_cell(policy.name)}]({policy.url}) | {policy.status} | {len(policy.changes)} | {failing} |"
            )
        lines.append("")
        for policy in report.policies:
            lines += self._policy(policy)
        return "\n".join(lines)

    def _policy(self, policy: PolicyReport) -> list[str]:
        if policy.status not in (CHANGED, ERROR, SUSPICIOUS, NEW) and not policy.recovered_from:
            return []
        lines = [f"### [{_cell(policy.name)}]({policy.url}) — {policy.status}", ""]
        if policy.recovered_from:
            lines += [f"Recovered (was failing: `{policy.recovered_from}`).", ""]
        if policy.failure is not None:
            lines += [f"**{policy.failure.kind}**: {_inline(policy.failure.message)}  ", f"_Hint: {_inline(policy.failure.hint)}_", ""]
        if policy.status == NEW:
            lines += [f"Baseline recorded ({policy.clauses} clauses).", ""]
        return lines + _changes_block(policy.changes)

    def compare(self, report: CompareReport) -> str:
        lines = [f"## policywatch compare", "", f"`{report.old}` → `{report.new}`", ""]
        if not report.changes:
            lines += ["No changes.", ""]
        return "\n".join(lines + _changes_block(report.changes))

    def scan(self, location: str, clauses: list[ScannedClause]) -> str:
        lines = [f"## policywatch scan: `{location}`", ""]
        matched = [(s, m) for s in clauses for m in s.matches]
        if not matched:
            return "\n".join(lines + ["No risky or protective clauses found.", ""])
        lines += ["| Severity | Category | Polarity | Clause | Section |", "|---|---|---|---|---|"]
        for scanned, match in matched:
            icon = "🟢" if match.polarity == "protection" else _ICON[match.severity.label]
            lines.append(
                f"| {icon} {match.severity.label} | `{match.category}` | {match.polarity} | "
                f"{_cell(scanned.clause.text)} | {_cell(section_label(scanned.clause.section))} |"
            )
        return "\n".join(lines + [""])
