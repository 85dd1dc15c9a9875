"""One self-contained HTML page: a summary table, then each policy's clause diffs with risky spans marked.

No network at all (inline CSS, system fonts, no scripts; a Content-Security-Policy forbids loading
anything), readable printed (one policy per page, colours kept, links spelled out). Policy text is
untrusted: every piece of text goes through html.escape and only http(s) URLs become links.
"""

from __future__ import annotations

import re
from collections import Counter
from html import escape

from policywatch.core import CHANGED, ERROR, NEW, SUSPICIOUS, UNCHANGED, CheckReport, CompareReport, PolicyReport
from policywatch.diff import word_diff
from policywatch.history import version_time
from policywatch.models import (
    ADDED_PROTECTION,
    LOST_PROTECTION,
    MODIFIED,
    MOVED,
    PROTECTION,
    REMOVED,
    RISK,
    Change,
    Finding,
    ScannedClause,
)
from policywatch.report.base import Reporter, first_sight_note, section_label, severity_counts

_CSS = """
:root { --high: #b3261e; --medium: #b25c00; --low: #1f5fa8; --good: #1e7b34; --line: #d7d7db; --muted: #5f6368; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1b1b1f; margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { font-size: 1.3em; margin: 0 0 4px; }
.meta, .section, .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 12px 0 20px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { font-size: .85em; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
section.policy { border-top: 3px solid #1b1b1f; padding-top: 14px; margin-top: 28px; }
.badge { display: inline-block; border-radius: 4px; padding: 0 6px; font-size: .8em; font-weight: 700; color: #fff; white-space: nowrap; }
.badge.high { background: var(--high); } .badge.medium { background: var(--medium); }
.badge.low { background: var(--low); } .badge.good { background: var(--good); }
.status { font-weight: 600; } .status.changed { color: #7a1fa2; } .status.error, .status.suspicious { color: var(--high); }
.change { border: 1px solid var(--line); border-left: 5px solid var(--line); border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.change.added { border-left-color: var(--good); } .change.removed { border-left-color: var(--high); }
.change.modified { border-left-color: var(--medium); } .change.flagged { background: #fffaf3; }
.change header { font-size: .9em; margin-bottom: 6px; } .kind { font-weight: 700; text-transform: uppercase; margin-right: 8px; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
.sides h4 { margin: 0; font-size: .75em; text-transform: uppercase; color: var(--muted); }
.clause { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
del { background: #fde2e1; color: #7d1a13; text-decoration: line-through; }
ins { background: #dcf3e1; color: #114d21; text-decoration: underline; }
mark { border-radius: 3px; padding: 0 1px; font-weight: 600; }
mark.risk { background: #ffd6a8; outline: 2px solid var(--high); } mark.protection { background: #c9efd3; outline: 2px solid var(--good); }
ul.findings { list-style: none; padding: 0; margin: 8px 0 0; }
ul.findings li { margin: 6px 0; } .why { display: block; color: var(--muted); font-size: .9em; margin-left: 4px; }
.failure { border: 1px solid var(--high); border-radius: 6px; padding: 8px 12px; background: #fff5f5; }
@media (max-width: 720px) { .sides { grid-template-columns: 1fr; } }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section.policy { break-before: page; border-top: none; margin-top: 0; }
  .change, tr { break-inside: avoid; }
  a { color: inherit; } section.policy h2 a[href]::after { content: " (" attr(href) ")"; font-size: .7em; font-weight: 400; }
  details { display: none; }
}
"""

_KIND_LABEL = {CHANGED: "changed", NEW: "baseline", UNCHANGED: "unchanged", ERROR: "error", SUSPICIOUS: "suspicious"}


def _link(text: str, url: str) -> str:
    if url.startswith(("http://", "https://")):
        return f'<a href="{escape(url)}">{escape(text)}</a>'
    return escape(text)


def _when(version: str | None) -> str:
    if not version:
        return ""
    moment = version_time(version)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else version


def _badge(finding: Finding) -> str:
    if finding.event == ADDED_PROTECTION:
        return '<span class="badge good">PROTECTION</span>'
    level = finding.severity.label
    return f'<span class="badge {level}">{level.upper()}</span>'


def _count_badges(findings: list[Finding]) -> str:
    counts = severity_counts([f for f in findings if f.fails])
    badges = [f'<span class="badge {level}">{count} {level}</span>' for level, count in counts.items() if count]
    good = sum(1 for f in findings if f.event == ADDED_PROTECTION)
    if good:
        badges.append(f'<span class="badge good">{good} protection</span>')
    return " ".join(badges) or '<span class="muted">none</span>'


def _spans_of(text: str, evidence: str) -> list[tuple[int, int]]:
    """Where the evidence stands in the clause (any case, any run of whitespace). Evidence of several
    pieces ("biometric … face geometry") is marked piece by piece."""
    spans = []
    for piece in evidence.split("…"):
        words = piece.split()
        if words:
            pattern = re.compile(r"\s+".join(map(re.escape, words)), re.IGNORECASE)
            spans += [match.span() for match in pattern.finditer(text)]
    return spans


def _render(text: str, spans: list[tuple[int, int, str, str]]) -> str:
    """Escaped text with (start, end, open tag, close tag) spans applied; earlier spans nest outside later ones."""
    cuts = sorted({0, len(text), *(s for s, _, _, _ in spans), *(e for _, e, _, _ in spans)})
    out = []
    for start, end in zip(cuts, cuts[1:]):
        active = [span for span in spans if span[0] <= start and end <= span[1]]
        out.append("".join(o for _, _, o, _ in active) + escape(text[start:end]) + "".join(c for _, _, _, c in reversed(active)))
    return "".join(out)


def _marks(text: str, evidence: str, polarity: str, title: str) -> list[tuple[int, int, str, str]]:
    opening = f'<mark class="{polarity}" title="{escape(title)}">'
    return [(start, end, opening, "</mark>") for start, end in _spans_of(text, evidence)]


def _evidence_spans(text: str, findings: list[Finding]) -> list[tuple[int, int, str, str]]:
    """A lost protection is marked as a risk: the promise that went away is what the reader must see."""
    spans = []
    for finding in findings:
        polarity = PROTECTION if finding.event == ADDED_PROTECTION else RISK
        spans += _marks(text, finding.evidence, polarity, f"{finding.category} ({finding.severity.label}, {finding.event})")
    return spans


def _word_spans(change: Change) -> tuple[list[tuple[int, int, str, str]], list[tuple[int, int, str, str]]]:
    """Word-level <del> spans in the old text and <ins> spans in the new one."""
    old_spans, new_spans = [], []
    old_at = new_at = 0
    for op, segment in word_diff(change.old.text, change.new.text):
        if op in ("equal", "delete"):
            if op == "delete":
                old_spans.append((old_at, old_at + len(segment), "<del>", "</del>"))
            old_at += len(segment)
        if op in ("equal", "insert"):
            if op == "insert":
                new_spans.append((new_at, new_at + len(segment), "<ins>", "</ins>"))
            new_at += len(segment)
    return old_spans, new_spans


def _change_html(change: Change) -> str:
    old_findings = [f for f in change.findings if f.event == LOST_PROTECTION]
    new_findings = [f for f in change.findings if f.event != LOST_PROTECTION]
    flagged = " flagged" if change.findings else ""
    head = f'<header><span class="kind">{change.kind}</span><span class="section">{escape(section_label(change.section))}</span></header>'
    if change.kind == MODIFIED:
        old_spans, new_spans = _word_spans(change)
        old = _render(change.old.text, old_spans + _evidence_spans(change.old.text, old_findings))
        new = _render(change.new.text, new_spans + _evidence_spans(change.new.text, new_findings))
        body = f'<div class="sides"><div><h4>Before</h4><p class="clause">{old}</p></div><div><h4>After</h4><p class="clause">{new}</p></div></div>'
    else:
        clause = change.new if change.new is not None else change.old
        wrap = ("<del>", "</del>") if change.kind == REMOVED else ("<ins>", "</ins>")
        spans = [(0, len(clause.text), *wrap), *_evidence_spans(clause.text, change.findings)]
        body = f'<p class="clause">{_render(clause.text, spans)}</p>'
    return f'<article class="change {change.kind}{flagged}">{head}{body}{_findings_html(change.findings)}</article>'


def _findings_html(findings: list[Finding]) -> str:
    if not findings:
        return ""
    items = []
    for finding in findings:
        why = f'<span class="why">{escape(finding.explanation)}</span>' if finding.explanation else ""
        items.append(
            f'<li>{_badge(finding)} <b>{escape(finding.category)}</b> <span class="muted">{escape(finding.event)}</span>'
            f" — “{escape(finding.evidence)}”{why}</li>"
        )
    return f'<ul class="findings">{"".join(items)}</ul>'


def changes_html(changes: list[Change], limit: int | None = None) -> str:
    """Changes with findings first (the reason to read this), then the rest; moves folded away."""
    shown = [c for c in changes if c.kind != MOVED]
    ordered = [c for c in shown if c.findings] + [c for c in shown if not c.findings]
    parts = [_change_html(c) for c in ordered[:limit]]
    if limit is not None and len(ordered) > limit:
        parts.append(f"<p>… and {len(ordered) - limit} more changed clause(s) not shown here.</p>")
    moved = [c for c in changes if c.kind == MOVED]
    if moved:
        items = "".join(f"<li>{escape(c.new.text)}</li>" for c in moved)
        parts.append(f"<details><summary>{len(moved)} clause(s) moved without changing</summary><ul>{items}</ul></details>")
    return "".join(parts)


def _policy_count(report: CheckReport) -> str:
    """How many policies the report covers: a history report may hold several steps of one policy."""
    count = len({policy.id for policy in report.policies})
    return f"{count} polic{'y' if count == 1 else 'ies'}"


def _headline(report: CheckReport) -> str:
    """What the page covers and, for a run with a threshold, the exit status it earned."""
    statuses = Counter(_KIND_LABEL.get(policy.status, policy.status) for policy in report.policies)
    line = f"{_policy_count(report)}: " + ", ".join(f"{n} {status}" for status, n in statuses.items())
    findings = [f for policy in report.policies for f in policy.findings()]
    line += f" · risk findings: {_count_badges(findings)}"
    if report.threshold is not None:
        line += f" · fail-on {report.threshold.label} → exit {int(report.exit_status)}"
    return line


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


class HtmlReporter(Reporter):
    def check(self, report: CheckReport) -> str:
        # A run over many policies gives the unchanged ones a summary row only (-v: a section too).
        sectioned = [
            self.style.verbose or len(report.policies) == 1 or policy.status != UNCHANGED or bool(policy.changes or policy.recovered_from)
            for policy in report.policies
        ]
        rows = []
        for number, (policy, has_section) in enumerate(zip(report.policies, sectioned), start=1):
            versions = " → ".join(filter(None, (_when(policy.previous_version), _when(policy.version))))
            name = f'<a href="#p{number}">{escape(policy.name)}</a>' if has_section else escape(policy.name)
            rows.append(
                f"<tr><td>{name}</td><td>{versions}</td>"
                f'<td><span class="status {policy.status}">{_KIND_LABEL.get(policy.status, policy.status)}</span></td>'
                f"<td>{len(policy.changes)}</td><td>{_count_badges(policy.findings())}</td></tr>"
            )
        summary = (
            f'<h1>policywatch report</h1><p class="meta">{_headline(report)}</p>'
            "<table><thead><tr><th>Policy</th><th>Versions</th><th>Status</th><th>Changed clauses</th>"
            f"<th>Risk findings</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        sections = [
            self._policy(number, policy)
            for number, (policy, has_section) in enumerate(zip(report.policies, sectioned), start=1)
            if has_section
        ]
        return _page(f"policywatch report: {_policy_count(report)}", summary + "".join(sections))

    def _policy(self, number: int, policy: PolicyReport) -> str:
        parts = [f'<section class="policy" id="p{number}"><h2>{_link(policy.name, policy.url)}</h2>']
        parts.append(f'<p class="meta">{escape(policy.id)} · <span class="status {policy.status}">{_KIND_LABEL.get(policy.status, policy.status)}</span>')
        if policy.previous_version and policy.version:
            parts.append(f" · {_when(policy.previous_version)} → {_when(policy.version)}")
        elif policy.version:
            parts.append(f" · {_when(policy.version)}")
        parts.append(f" · {policy.clauses} clauses</p>" if policy.version else "</p>")  # a failed fetch counted nothing
        if policy.recovered_from:
            parts.append(f"<p>Recovered (was failing: {escape(policy.recovered_from)}).</p>")
        if policy.failure is not None:
            parts.append(
                f'<p class="failure"><b>{escape(policy.failure.kind)}</b>: {escape(policy.failure.message)}'
                f'<br><span class="muted">Hint: {escape(policy.failure.hint)}</span></p>'
            )
        if policy.set_aside:
            parts.append(f'<p class="muted">The capture is kept aside in <code>{escape(policy.set_aside)}</code>.</p>')
        if policy.status == NEW:
            parts.append(f"<p>{escape(first_sight_note(policy))}.</p>")
        elif policy.status == UNCHANGED and not policy.changes:
            parts.append('<p class="muted">No changes.</p>')
        parts.append(changes_html(policy.changes))
        return "".join(parts) + "</section>"

    def compare(self, report: CompareReport) -> str:
        title = f"{report.old} → {report.new}"
        findings = [f for c in report.changes for f in c.findings]
        body = (
            f'<h1>policywatch compare</h1><p class="meta">{escape(title)}</p>'
            f"<p>{len(report.changes)} changed clause(s); risk findings: {_count_badges(findings)}</p>"
            f'<section class="policy">{changes_html(report.changes) or "<p class=muted>No changes.</p>"}</section>'
        )
        return _page(f"policywatch compare: {title}", body)

    def scan(self, location: str, clauses: list[ScannedClause]) -> str:
        rows = []
        for scanned in clauses:
            if not scanned.matches:
                continue
            text = scanned.clause.text
            spans = [
                span
                for match in scanned.matches
                for span in _marks(text, match.evidence, match.polarity, f"{match.category} ({match.severity.label}, {match.polarity})")
            ]
            labels = "".join(
                f'<li><span class="badge {"good" if match.polarity == PROTECTION else match.severity.label}">'
                f"{escape(match.polarity if match.polarity == PROTECTION else match.severity.label)}</span> "
                f'<b>{escape(match.category)}</b><span class="why">{escape(match.explanation)}</span></li>'
                for match in scanned.matches
            )
            rows.append(
                f'<tr><td class="section">{escape(section_label(scanned.clause.section))}</td>'
                f'<td class="clause">{_render(text, spans)}</td><td><ul class="findings">{labels}</ul></td></tr>'
            )
        table = (
            "<table><thead><tr><th>Section</th><th>Clause</th><th>Matches</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            if rows
            else '<p class="muted">No risky or protective clauses found.</p>'
        )
        return _page(f"policywatch scan: {location}", f'<h1>policywatch scan</h1><p class="meta">{escape(location)}</p>{table}')
