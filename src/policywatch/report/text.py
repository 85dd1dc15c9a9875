"""The human report: coloured with rich on a terminal, plain text otherwise."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from policywatch.core import CHANGED, ERROR, NEW, SUSPICIOUS, UNCHANGED, CheckReport, CompareReport, PolicyReport
from policywatch.diff import word_diff
from policywatch.models import ADDED, ADDED_PROTECTION, MODIFIED, MOVED, PROTECTION, REMOVED, Change, ScannedClause, Severity
from policywatch.report.base import Reporter, first_sight_note, section_label

_SEVERITY_STYLE = {Severity.HIGH: "bold red", Severity.MEDIUM: "yellow", Severity.LOW: "cyan"}
_STATUS_STYLE = {NEW: "blue", UNCHANGED: "dim", CHANGED: "bold magenta", ERROR: "bold red", SUSPICIOUS: "bold yellow"}
_CHANGE_MARK = {ADDED: ("+", "green"), REMOVED: ("-", "red"), MODIFIED: ("~", "yellow"), MOVED: ("↕", "blue")}


class TextReporter(Reporter):
    def _console(self) -> tuple[Console, io.StringIO]:
        buffer = io.StringIO()
        console = Console(
            file=buffer,
            force_terminal=self.style.color,
            no_color=not self.style.color,
            color_system="standard" if self.style.color else None,
            width=100,
            highlight=False,
            soft_wrap=False,
        )
        return console, buffer

    def check(self, report: CheckReport) -> str:
        console, buffer = self._console()
        for policy in report.policies:
            if self._worth_showing(policy):
                self._policy(console, policy)
        return buffer.getvalue()

    def _worth_showing(self, policy: PolicyReport) -> bool:
        if policy.status in (CHANGED, NEW) or policy.recovered_from:
            return True
        if policy.status in (ERROR, SUSPICIOUS):
            return policy.error_is_new or self.style.verbose
        return not self.style.quiet

    def _policy(self, console: Console, policy: PolicyReport) -> None:
        header = Text()
        header.append(policy.id, style="bold")
        header.append("  ")
        header.append(policy.status, style=_STATUS_STYLE.get(policy.status, ""))
        if policy.name != policy.id:
            header.append(f"  {policy.name}")
        console.print(header)
        console.print(f"  {escape(policy.url)}", style="dim")
        if policy.recovered_from:
            console.print(f"  recovered (was failing: {policy.recovered_from})", style="green")
        if policy.failure is not None:
            console.print(f"  {policy.failure.kind}: {escape(policy.failure.message)}", style="red")
            console.print(f"  hint: {escape(policy.failure.hint)}", style="dim")
            if policy.set_aside:
                console.print(f"  capture kept aside in {escape(policy.set_aside)}", style="dim")
        if policy.status == NEW:
            console.print(f"  {first_sight_note(policy).lower()}", style="blue")
        self._changes(console, policy.changes)
        console.print()

    def _changes(self, console: Console, changes: list[Change]) -> None:
        moved = [c for c in changes if c.kind == MOVED]
        for change in changes:
            if change.kind == MOVED and not self.style.verbose:
                continue
            mark, colour = _CHANGE_MARK[change.kind]
            console.print(f"  {mark} {change.kind} in {escape(section_label(change.section))}", style=colour)
            console.print(self._clause_text(change), soft_wrap=True)
            for finding in change.findings:
                line = Text("      ")
                if finding.event == ADDED_PROTECTION:
                    line.append("✓ protection added", style="green")
                else:
                    line.append(f"▲ {finding.severity.label.upper()}", style=_SEVERITY_STYLE[finding.severity])
                line.append(f" {finding.category} ", style="bold")
                line.append(f"({finding.event}) ")
                line.append(f"“{finding.evidence}”", style="italic")
                if finding.explanation and (self.style.verbose or finding.fails):
                    line.append(f" — {finding.explanation}", style="dim")
                console.print(line, soft_wrap=True)
        if moved and not self.style.verbose:
            console.print(f"  ↕ {len(moved)} clause(s) moved without changing (-v lists them)", style="blue")

    @staticmethod
    def _clause_text(change: Change) -> Text:
        text = Text("      ")
        if change.kind == MODIFIED:
            for op, segment in word_diff(change.old.text, change.new.text):
                if op == "equal":
                    text.append(segment)
                elif op == "delete":
                    text.append(f"[-{segment}-]", style="red strike")
                else:
                    text.append(f"{{+{segment}+}}", style="green")
        else:
            clause = change.new if change.new is not None else change.old
            text.append(clause.text, style="strike" if change.kind == REMOVED else "")
        return text

    def compare(self, report: CompareReport) -> str:
        console, buffer = self._console()
        console.print(Text(f"{report.old} → {report.new}", style="bold"))
        if not report.changes:
            console.print("  no changes", style="dim")
        self._changes(console, report.changes)
        return buffer.getvalue()

    def scan(self, location: str, clauses: list[ScannedClause]) -> str:
        console, buffer = self._console()
        console.print(Text(location, style="bold"))
        matched = [s for s in clauses if s.matches]
        if not matched:
            console.print("  no risky or protective clauses found", style="dim")
        for scanned in matched:
            console.print(f"  in {escape(section_label(scanned.clause.section))}", style="dim")
            console.print(Text("      " + scanned.clause.text), soft_wrap=True)
            for match in scanned.matches:
                line = Text("      ")
                if match.polarity == PROTECTION:
                    line.append("✓ protection", style="green")
                else:
                    line.append(f"▲ {match.severity.label.upper()}", style=_SEVERITY_STYLE[match.severity])
                line.append(f" {match.category} ", style="bold")
                line.append(f"“{match.evidence}”", style="italic")
                if match.explanation:
                    line.append(f" — {match.explanation}", style="dim")
                line.append(f" [rule {match.rule}]", style="dim")
                console.print(line, soft_wrap=True)
        return buffer.getvalue()
