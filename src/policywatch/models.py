"""Typed objects that flow one way through the pipeline: fetch → normalize → store → diff → classify → report."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ExitStatus(enum.IntEnum):
    """The process exit codes; users' CI scripts depend on these numbers."""

    OK = 0  # nothing at or above the --fail-on threshold
    RISK = 1  # a new-risk / changed-risk / lost-protection finding at or above the threshold
    USAGE = 2  # usage or config error: nothing ran
    FAILED = 3  # one or more policies could not be fetched or processed (and no risky finding)
    INTERRUPTED = 130  # stopped by Ctrl-C / SIGINT (128 + the signal, as shells report it)


class Severity(enum.IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {value!r} (expected low, medium or high)") from None


# Clause kinds.
HEADING = "heading"
PARAGRAPH = "paragraph"
ITEM = "item"
ROW = "row"
CLAUSE_KINDS = (HEADING, PARAGRAPH, ITEM, ROW)


@dataclass(frozen=True, slots=True)
class Clause:
    """One unit of policy text: a heading, a sentence of a paragraph, a list item or a table row.

    `section` is the path of headings above the clause (for a heading: above the heading itself).
    `lead` is the sentence that introduces a list ("We may collect: …") or the header row of a table,
    so that "your fingerprints" can be read in context. `continues` marks a sentence that belongs to the
    same paragraph as the clause before it (only layout: it never makes two clauses differ).
    """

    text: str
    kind: str = PARAGRAPH
    section: tuple[str, ...] = ()
    lead: str = ""
    continues: bool = False


# Polarity of a rule match.
RISK = "risk"
PROTECTION = "protection"

# Diff events of a finding. `added-protection` is good news and never fails a run.
NEW_RISK = "new-risk"
CHANGED_RISK = "changed-risk"
LOST_PROTECTION = "lost-protection"
ADDED_PROTECTION = "added-protection"
FAILING_EVENTS = (NEW_RISK, CHANGED_RISK, LOST_PROTECTION)


@dataclass(frozen=True, slots=True)
class Match:
    """A rule of the rulebook matching one clause (what `scan` reports)."""

    category: str
    severity: Severity
    polarity: str  # RISK or PROTECTION
    evidence: str  # the matched span of the clause text
    rule: str  # id of the rule that matched
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """A risk event caused by a change between two versions."""

    category: str
    severity: Severity
    event: str  # NEW_RISK, CHANGED_RISK, LOST_PROTECTION or ADDED_PROTECTION
    evidence: str
    explanation: str = ""

    @property
    def fails(self) -> bool:
        return self.event in FAILING_EVENTS


# Change kinds.
ADDED = "added"
REMOVED = "removed"
MODIFIED = "modified"
MOVED = "moved"


@dataclass(slots=True)
class Change:
    kind: str  # ADDED, REMOVED, MODIFIED or MOVED
    old: Clause | None
    new: Clause | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def section(self) -> tuple[str, ...]:
        clause = self.new if self.new is not None else self.old
        return clause.section if clause is not None else ()


@dataclass(frozen=True, slots=True)
class ScannedClause:
    clause: Clause
    matches: tuple[Match, ...]
