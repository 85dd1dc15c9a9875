"""GitHub-flavoured Markdown for PR comments, issues and $GITHUB_STEP_SUMMARY.

Per policy: its link and versions, a table of findings with what each category means, the clauses that
carry findings with word-level highlights, then the full diff folded in a <details> block. Policy text is
untrusted: it is escaped so that it can neither inject markup nor @-mention people in a PR comment.
"""

from __future__ import annotations

import re
from collections import Counter

from policywatch.core import CHANGED, ERROR, NEW, SUSPICIOUS, UNCHANGED, CheckReport, CompareReport, PolicyReport
from policywatch.diff import word_diff
from policywatch.models import ADDED_PROTECTION, MODIFIED, MOVED, PROTECTION, REMOVED, Change, Finding, ScannedClause
from policywatch.report.base import Reporter, first_sight_note, section_label, severity_counts, summary_line

_ICON = {"high": "🔴", "medium": "🟠", "low": "🔵"}
_PROTECTION_ICON = "🟢"
# A GitHub comment holds at most 65,536 characters: a policy's full diff stops at this many clauses, and
# the full diffs of a whole report share this many characters (a run may change many policies at once).
MAX_FULL_DIFF = 150
MAX_FULL_DIFF_CHARS = 30_000
# Above this many unchanged policies and baselines, the summary table names only those that need attention.
MAX_QUIET_ROWS = 20
_SPECIAL = re.compile(r"([\\`*_\[\]{}<>|~#!])")
_MENTION = re.compile(r"@(?=\w)")


def escape(text: str) -> str:
    """Untrusted text as literal Markdown on one line: no markup, no HTML, no @-mentions or #-references."""
    text = text.replace("&", "&amp;").replace("\r", " ").replace("\n", " ")
    text = _SPECIAL.sub(lambda m: "&lt;" if m.group(1) == "<" else "&gt;" if m.group(1) == ">" else "\\" + m.group(1), text)
    return _MENTION.sub("@\u2060", text)  # a word joiner after @ keeps GitHub from notifying anyone


def _code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _link(name: str, url: str) -> str:
    if url.startswith(("http://", "https://")):
        return f"[{escape(name)}](<{url.replace('>', '%3E').replace(' ', '%20')}>)"
    return escape(name)


def _icon(finding: Finding) -> str:
    return _PROTECTION_ICON if finding.event == ADDED_PROTECTION else _ICON[finding.severity.label]


def _clause_markdown(change: Change) -> str:
    """The clause with word-level highlights: <del> for removed words, <ins> for added ones."""
    if change.kind == MODIFIED:
        parts = []
        for op, segment in word_diff(change.old.text, change.new.text):
            segment = escape(segment)
            if op == "equal":
                parts.append(segment)
            elif op == "delete":
                parts.append(f"<del>{segment}</del>")
            else:
                parts.append(f"<ins>{segment}</ins>")
        return "".join(parts)
    clause = change.new if change.new is not None else change.old
    text = escape(clause.text)
    return f"<del>{text}</del>" if change.kind == REMOVED else text


def _change_item(change: Change) -> str:
    return f"- **{change.kind}** in _{escape(section_label(change.section))}_: {_clause_markdown(change)}"


def _findings_table(changes: list[Change]) -> list[str]:
    rows = [(c, f) for c in changes for f in c.findings]
    if not rows:
        return []
    lines = ["| Severity | Category | Event | Evidence | Section |", "|---|---|---|---|---|"]
    for change, finding in rows:
        lines.append(
            f"| {_icon(finding)} {finding.severity.label} | `{finding.category}` | {finding.event} | "
            f"{escape(finding.evidence)} | {escape(section_label(change.section))} |"
        )
    explained = {f.category: f.explanation for _, f in rows if f.explanation}
    if explained:
        lines += ["", "<sub>", ""]
        lines += [f"- `{category}`: {escape(explanation)}" for category, explanation in explained.items()]
        lines += ["", "</sub>"]
    return lines + [""]


class _Budget:
    """Characters left for the folded full diffs of one report."""

    def __init__(self) -> None:
        self.chars = MAX_FULL_DIFF_CHARS


def _changes_block(changes: list[Change], budget: _Budget) -> list[str]:
    """Findings table, the clauses that carry findings in full view, then the whole diff folded."""
    lines = _findings_table(changes)
    flagged = [c for c in changes if c.findings]
    if flagged:
        lines += ["**Clauses with findings**", ""]
        for change in flagged:
            lines.append(_change_item(change))
            lines += [f"  - {_icon(f)} {f.severity.label} `{f.category}` {f.event}: “{escape(f.evidence)}”" for f in change.findings]
        lines.append("")
    if not changes:
        return lines
    visible = [c for c in changes if c.kind != MOVED]
    moved = len(changes) - len(visible)
    summary = f"Full diff: {len(visible)} changed clause(s)" + (f", {moved} moved" if moved else "")
    lines += [f"<details><summary>{summary}</summary>", ""]
    shown = 0
    for change in visible[:MAX_FULL_DIFF]:
        item = _change_item(change)
        if len(item) > budget.chars:
            break
        budget.chars -= len(item)
        lines.append(item)
        shown += 1
    if shown < len(visible):
        lines.append(f"- … and {len(visible) - shown} more (the JSON report has them all)")
    return lines + ["", "</details>", ""]


def _risk_cell(policy: PolicyReport) -> str:
    counts = severity_counts([f for f in policy.findings() if f.fails])
    return ", ".join(f"{_ICON[level]} {count} {level}" for level, count in counts.items() if count) or "—"


def _is_quiet(policy: PolicyReport) -> bool:
    """Unchanged or a baseline: nothing for a reviewer to read."""
    return policy.status in (UNCHANGED, NEW) and not policy.recovered_from and not policy.changes


class MarkdownReporter(Reporter):
    def check(self, report: CheckReport) -> str:
        quiet = [policy for policy in report.policies if _is_quiet(policy)]
        folded = len(quiet) > MAX_QUIET_ROWS  # a first run over 1,000 policies is 1,000 baselines
        listed = [policy for policy in report.policies if not (folded and _is_quiet(policy))]
        lines = ["## policywatch report", "", summary_line(report), ""]
        lines += ["| Policy | Status | Changes | Risk findings |", "|---|---|---|---|"]
        for policy in listed:
            lines.append(f"| {_link(policy.name, policy.url)} | {policy.status} | {len(policy.changes)} | {_risk_cell(policy)} |")
        lines.append("")
        if folded:
            counts = Counter(policy.status for policy in quiet)
            lines += [f"And {', '.join(f'{n} {status}' for status, n in sorted(counts.items()))} "
                      "(the JSON report lists every policy).", ""]
        budget = _Budget()
        for policy in listed:
            lines += self._policy(policy, budget)
        return "\n".join(lines)

    def _policy(self, policy: PolicyReport, budget: _Budget) -> list[str]:
        if policy.status not in (CHANGED, ERROR, SUSPICIOUS, NEW) and not policy.recovered_from:
            return []
        lines = [f"### {_link(policy.name, policy.url)} — {policy.status}", ""]
        if policy.previous_version and policy.version:
            lines += [f"Version {_code(policy.previous_version)} → {_code(policy.version)}, {policy.clauses} clauses.", ""]
        if policy.recovered_from:
            lines += [f"Recovered (was failing: `{policy.recovered_from}`).", ""]
        if policy.failure is not None:
            lines += [f"**{policy.failure.kind}**: {escape(policy.failure.message)}  ", f"_Hint: {escape(policy.failure.hint)}_", ""]
        if policy.set_aside:
            lines += [f"The capture is kept aside in {_code(policy.set_aside)}.", ""]
        if policy.status == NEW:
            lines += [f"{first_sight_note(policy)}.", ""]
        return lines + _changes_block(policy.changes, budget)

    def compare(self, report: CompareReport) -> str:
        lines = ["## policywatch compare", "", f"{_code(report.old)} → {_code(report.new)}", ""]
        if not report.changes:
            lines += ["No changes.", ""]
        return "\n".join(lines + _changes_block(report.changes, _Budget()))

    def scan(self, location: str, clauses: list[ScannedClause]) -> str:
        lines = [f"## policywatch scan: {_code(location)}", ""]
        matched = [(s, m) for s in clauses for m in s.matches]
        if not matched:
            return "\n".join(lines + ["No risky or protective clauses found.", ""])
        lines += ["| Severity | Category | Polarity | Clause | Section |", "|---|---|---|---|---|"]
        for scanned, match in matched:
            icon = _PROTECTION_ICON if match.polarity == PROTECTION else _ICON[match.severity.label]
            lines.append(
                f"| {icon} {match.severity.label} | `{match.category}` | {match.polarity} | "
                f"{escape(scanned.clause.text)} | {escape(section_label(scanned.clause.section))} |"
            )
        return "\n".join(lines + [""])
