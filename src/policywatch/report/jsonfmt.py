"""Machine-readable JSON: one object per run with a `schema` version (documented in the README)."""

from __future__ import annotations

from policywatch.core import CheckReport, CompareReport
from policywatch.models import ScannedClause
from policywatch.report.base import (
    SCHEMA,
    Reporter,
    change_data,
    check_summary,
    json_text,
    match_data,
    policy_data,
    severity_counts,
)


class JsonReporter(Reporter):
    def check(self, report: CheckReport) -> str:
        return json_text({"schema": SCHEMA, "policies": [policy_data(p) for p in report.policies], "summary": check_summary(report)})

    def compare(self, report: CompareReport) -> str:
        findings = [f for c in report.changes for f in c.findings if f.fails]
        return json_text(
            {
                "schema": SCHEMA,
                "old": report.old,
                "new": report.new,
                "changes": [change_data(c) for c in report.changes],
                "summary": {
                    "changes": len(report.changes),
                    "findings": severity_counts(findings),
                    "exit_code": int(report.exit_status),
                },
            }
        )

    def scan(self, location: str, clauses: list[ScannedClause]) -> str:
        return json_text(
            {
                "schema": SCHEMA,
                "source": location,
                "clauses": [
                    {"section": list(s.clause.section), "text": s.clause.text, "findings": [match_data(m) for m in s.matches]}
                    for s in clauses
                    if s.matches
                ],
            }
        )
