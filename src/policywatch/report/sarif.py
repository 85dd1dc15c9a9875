"""SARIF 2.1.0, so that findings show in GitHub code scanning next to the stored policy text.

A result of `check` points at the clause's line in the snapshot store: an added or modified clause at its
line in `<store>/<id>/latest.md` (the version this run recorded; for a `diff` to an older version, that
version's `text.md`), a removed clause at its line in the previous version's `text.md`. URIs are relative to the store's parent folder (the repository root when
policies.yaml and snapshots/ sit at the top). With `--no-update` a new clause is not stored anywhere, so its
result names latest.md without a line. `compare` and `scan` point at their local input file, with a line
only when that file is in the stored text format; URLs get no location.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from policywatch import __version__, clausetext
from policywatch.core import CheckReport, CompareReport, PolicyReport
from policywatch.models import REMOVED, RISK, Change, Clause, ScannedClause, Severity
from policywatch.report.base import Reporter, ReportStyle, json_text, section_label
from policywatch.store import LATEST, Store

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
_LEVEL = {Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}


def _clause_key(clause: Clause) -> tuple:
    return clause.kind, clause.section, clause.text


class ClauseLocator:
    """Maps a clause to its 1-based line in a stored text file (one clause per non-blank line)."""

    def __init__(self, base: Path):
        self.base = base.resolve()
        self._lines: dict[Path, dict[tuple, int]] = {}

    def line_of(self, path: Path, clause: Clause) -> int | None:
        if path not in self._lines:
            self._lines[path] = self._index(path)
        return self._lines[path].get(_clause_key(clause))

    @staticmethod
    def _index(path: Path) -> dict[tuple, int]:
        try:
            text = path.read_text(encoding="utf-8")
            clauses = clausetext.load(text)
        except (OSError, UnicodeDecodeError, clausetext.ClauseTextError):
            return {}
        numbers = [number for number, line in enumerate(text.split("\n"), start=1) if line]
        index: dict[tuple, int] = {}
        for number, clause in zip(numbers, clauses):
            index.setdefault(_clause_key(clause), number)
        return index

    def uri(self, path: Path) -> str:
        resolved = path.resolve()
        if resolved.is_relative_to(self.base):
            return resolved.relative_to(self.base).as_posix()
        return resolved.as_uri()

    def location(self, path: Path, clause: Clause | None) -> dict:
        physical: dict = {"artifactLocation": {"uri": self.uri(path)}}
        line = self.line_of(path, clause) if clause is not None else None
        if line is not None:
            physical["region"] = {"startLine": line}
        return {"physicalLocation": physical}


def _local_file(location: str) -> Path | None:
    if location.startswith(("http://", "https://")):
        return None
    path = Path(location.removeprefix("file://"))
    return path if path.is_file() else None


class SarifReporter(Reporter):
    def __init__(self, style: ReportStyle = ReportStyle(), store: Store | None = None, categories: Sequence | None = None):
        """`categories`: the run's rulebook categories (with the config's own and its overrides); the rules list
        names them all, so that it is complete even when a run finds nothing. Default: the built-in ones."""
        super().__init__(style)
        if categories is None:
            from policywatch.classify import Rulebook

            categories = Rulebook.load().categories
        self.categories = {category.id: category for category in categories}
        self.store = store
        self.locator = ClauseLocator(store.root.parent if store is not None else Path.cwd())

    def check(self, report: CheckReport) -> str:
        results = []
        for policy in report.policies:
            new_file, old_file = self._stored_files(policy)
            for change in policy.changes:
                if change.kind == REMOVED:
                    locations = [self.locator.location(old_file, change.old)] if old_file is not None else []
                else:  # without a recorded version (--no-update) the new clause is stored nowhere yet: no line
                    locations = [self.locator.location(new_file, change.new if policy.version else None)] if new_file else []
                results += [self._result(change, finding, policy.id, locations) for finding in change.findings if finding.fails]
        notifications = [
            {"level": "error", "message": {"text": f"{policy.id}: {policy.failure.kind}: {policy.failure.message} ({policy.failure.hint})"}}
            for policy in report.policies
            if policy.failure is not None
        ]
        return _document(results, notifications, self.categories)

    def _stored_files(self, policy: PolicyReport) -> tuple[Path | None, Path | None]:
        """The stored texts holding the new and the old clauses: latest.md (a stable path) for the newest version."""
        if self.store is None:
            return None, None
        latest = self.store.latest(policy.id)
        if policy.version is None or (latest is not None and latest.version == policy.version):
            new_file = self.store.policy_dir(policy.id) / LATEST
        else:  # `diff` between older versions
            new_file = self.store.version_path(policy.id, policy.version) / "text.md"
        old_file = self.store.version_path(policy.id, policy.previous_version) / "text.md" if policy.previous_version else None
        return new_file, old_file

    def compare(self, report: CompareReport) -> str:
        results = []
        for change in report.changes:
            source = report.old if change.kind == REMOVED else report.new
            clause = change.old if change.kind == REMOVED else change.new
            path = _local_file(source)
            locations = [self.locator.location(path, clause)] if path is not None else []
            results += [self._result(change, finding, report.new, locations) for finding in change.findings if finding.fails]
        return _document(results, [], self.categories)

    def scan(self, location: str, clauses: list[ScannedClause]) -> str:
        path = _local_file(location)
        results = [
            {
                "ruleId": match.category,
                "level": _LEVEL[match.severity],
                "message": {"text": f"{section_label(scanned.clause.section)}: {scanned.clause.text}\nevidence: {match.evidence}"},
                "locations": [self.locator.location(path, scanned.clause)] if path is not None else [],
                "properties": {"source": location, "rule": match.rule, "severity": match.severity.label},
            }
            for scanned in clauses
            for match in scanned.matches
            if match.polarity == RISK
        ]
        return _document(results, [], self.categories)

    @staticmethod
    def _result(change: Change, finding, subject: str, locations: list[dict]) -> dict:
        clause = change.new if change.new is not None else change.old
        text = clause.text if clause is not None else ""
        message = f"{finding.event}: {finding.category} ({finding.severity.label}) in {change.kind} clause of {subject}, " \
                  f"{section_label(change.section)}: {text}\nevidence: {finding.evidence}"
        # Stable across runs and line shifts, so code scanning tracks one alert per risky clause.
        fingerprint = hashlib.sha256(f"{subject}\0{finding.category}\0{finding.event}\0{text}".encode()).hexdigest()
        return {
            "ruleId": finding.category,
            "level": _LEVEL[finding.severity],
            "message": {"text": message},
            "locations": locations,
            "partialFingerprints": {"policywatchClause/v1": fingerprint},
            "properties": {
                "policy": subject,
                "event": finding.event,
                "severity": finding.severity.label,
                "change": change.kind,
                "section": list(change.section),
                "evidence": finding.evidence,
            },
        }


def _rules(results: list[dict], known: dict) -> list[dict]:
    rules = [
        {
            "id": category.id,
            "name": category.name,
            "shortDescription": {"text": category.name},
            "fullDescription": {"text": category.explanation},
            "help": {"text": f"{category.explanation} Source: {category.source}" if category.source else category.explanation},
            "defaultConfiguration": {"level": _LEVEL[category.severity]},
            "properties": {"tags": ["privacy", "policywatch"]},
        }
        for category in known.values()
    ]
    for category_id in sorted({result["ruleId"] for result in results} - set(known)):
        rules.append(
            {
                "id": category_id,
                "name": category_id,
                "shortDescription": {"text": f"{category_id} (a category of policies.yaml's own rules)"},
                "defaultConfiguration": {"level": "warning"},
                "properties": {"tags": ["privacy", "policywatch"]},
            }
        )
    return rules


def _document(results: list[dict], notifications: list[dict], categories: dict) -> str:
    run = {
        "tool": {
            "driver": {
                "name": "policywatch",
                "version": __version__,
                "informationUri": "https://github.com/policywatch/policywatch",
                "rules": _rules(results, categories),
            }
        },
        "invocations": [{"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}],
        "results": results,
    }
    return json_text({"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]})
