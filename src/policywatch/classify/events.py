"""Diff events: what each change between two versions of a policy means for each risk category.

Per clause and category the rulebook gives a state: risk (any risk match), else protection, else none.
A change's findings are the transitions between the old and the new clause's states. Words that only
travelled (a sentence merged into its neighbour, or split) are not news: a risk whose evidence left the
old version in the same diff is carried over, not new, and a protection whose evidence arrived in the
new version is not lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from policywatch.classify.rulebook import Rulebook
from policywatch.models import (
    ADDED,
    ADDED_PROTECTION,
    CHANGED_RISK,
    LOST_PROTECTION,
    MODIFIED,
    MOVED,
    NEW_RISK,
    PROTECTION,
    REMOVED,
    RISK,
    Change,
    Clause,
    Finding,
    Match,
)

EVIDENCE_SEPARATOR = " … "


@dataclass(frozen=True)
class CategoryState:
    polarity: str  # RISK or PROTECTION
    matches: tuple[Match, ...]  # the matches of that polarity

    @property
    def evidence(self) -> frozenset[str]:
        return frozenset(_comparable(match.evidence) for match in self.matches)


def category_states(matches: Sequence[Match]) -> dict[str, CategoryState]:
    """Category → state; a risk anywhere in the clause outweighs a protection of the same category."""
    states: dict[str, CategoryState] = {}
    for category in dict.fromkeys(match.category for match in matches):
        own = [match for match in matches if match.category == category]
        polarity = RISK if any(match.polarity == RISK for match in own) else PROTECTION
        states[category] = CategoryState(polarity, tuple(match for match in own if match.polarity == polarity))
    return states


def assess(changes: Sequence[Change], rulebook: Rulebook, policy_id: str | None = None) -> list[Change]:
    """The same changes, each with its findings filled in (the input changes are not modified)."""
    cache: dict[Clause, dict[str, CategoryState]] = {}

    def states_of(clause: Clause | None) -> dict[str, CategoryState]:
        if clause is None:
            return {}
        if clause not in cache:
            cache[clause] = category_states(rulebook.classify(clause, policy_id))
        return cache[clause]

    departed = _evidence_pool(states_of(c.old) for c in changes if c.kind in (REMOVED, MODIFIED))
    arrived = _evidence_pool(states_of(c.new) for c in changes if c.kind in (ADDED, MODIFIED))
    return [
        Change(change.kind, change.old, change.new, _findings(change, states_of, departed, arrived))
        for change in changes
    ]


def _evidence_pool(states: Iterable[dict[str, CategoryState]]) -> set[tuple[str, str, str]]:
    """(category, polarity, evidence) of the given clause states."""
    return {
        (category, state.polarity, evidence)
        for clause_states in states
        for category, state in clause_states.items()
        for evidence in state.evidence
    }


def _findings(change: Change, states_of: Callable, departed: set, arrived: set) -> list[Finding]:
    if change.kind == MOVED:
        return []  # the same words elsewhere change nothing the reader agreed to
    old = states_of(change.old) if change.kind != ADDED else {}
    new = states_of(change.new) if change.kind != REMOVED else {}
    findings: list[Finding] = []
    for category in dict.fromkeys([*new, *old]):
        event, matches = _event(old.get(category), new.get(category))
        if event in (NEW_RISK, CHANGED_RISK):
            matches = [m for m in matches if (category, RISK, _comparable(m.evidence)) not in departed]
            if any(entry[:2] == (category, RISK) for entry in departed):
                event = CHANGED_RISK  # the old version had this risk too, in words that are now gone
        elif event == LOST_PROTECTION and old[category].polarity == PROTECTION and category not in new:
            matches = [m for m in matches if (category, PROTECTION, _comparable(m.evidence)) not in arrived]
        if event is None or not matches:
            continue
        findings.append(
            Finding(
                category,
                matches[0].severity,  # the category's, as the rulebook gave it to every match
                event,
                EVIDENCE_SEPARATOR.join(dict.fromkeys(match.evidence for match in matches)),
                matches[0].explanation,
            )
        )
    return findings


def _event(before: CategoryState | None, after: CategoryState | None) -> tuple[str | None, Sequence[Match]]:
    """The event for one category, and the matches that show it."""
    if after is not None and after.polarity == RISK:
        if before is None:
            return NEW_RISK, after.matches
        if before.polarity == PROTECTION:
            return LOST_PROTECTION, before.matches  # the negation was dropped or emptied: show the lost promise
        reworded = [match for match in after.matches if _comparable(match.evidence) not in before.evidence]
        # Same (or fewer) risky words: the edit was elsewhere in the sentence, e.g. "Twitter" → "X".
        return (CHANGED_RISK, reworded) if reworded else (None, ())
    if after is not None:
        return (ADDED_PROTECTION, after.matches) if before is None or before.polarity == RISK else (None, ())
    if before is not None and before.polarity == PROTECTION:
        return LOST_PROTECTION, before.matches
    return None, ()  # a removed risk is not a failing event


def _comparable(evidence: str) -> str:
    return " ".join(evidence.lower().split())
