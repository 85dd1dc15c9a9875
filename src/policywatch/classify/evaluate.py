"""Measure the rulebook on a labelled sentence set: precision, recall and F1 per category.

A labelled entry names the categories a careful reader flags as a risk (`risk`) and those where the
sentence is a promise (`protection`). A category counts as predicted when its state for the clause is
the same one `assess` uses (risk outweighs protection).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from policywatch.classify.events import category_states
from policywatch.classify.rulebook import Rulebook
from policywatch.models import CLAUSE_KINDS, PARAGRAPH, PROTECTION, RISK, Clause

_ENTRY_KEYS = {"text", "risk", "protection", "kind", "lead", "section", "note"}
OVERALL = "overall"
PROTECTIONS = "protections"


@dataclass(frozen=True)
class Score:
    label: str  # a category id, OVERALL (micro-average of the risk scores) or PROTECTIONS
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def labelled(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.labelled if self.labelled else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class Miss:
    clause: Clause
    expected_risk: frozenset[str]
    predicted_risk: frozenset[str]
    expected_protection: frozenset[str]
    predicted_protection: frozenset[str]

    def describe(self) -> str:
        """The sentence, and what was expected and found, on two lines."""
        return (
            f"- {self.clause.text}\n"
            f"  risk expected {sorted(self.expected_risk)}, found {sorted(self.predicted_risk)}; "
            f"protection expected {sorted(self.expected_protection)}, found {sorted(self.predicted_protection)}\n"
        )


@dataclass(frozen=True)
class EvalReport:
    categories: tuple[Score, ...]  # risk detection, one per category of the rulebook
    overall: Score
    protections: Score  # protection detection, all categories together (lost-protection depends on it)
    misclassified: tuple[Miss, ...]
    sentences: int

    def table(self) -> str:
        """A Markdown table of the figures."""
        lines = [
            "| Category | Risk sentences | Precision | Recall | F1 |",
            "|---|---:|---:|---:|---:|",
        ]
        for score in (*self.categories, self.overall, self.protections):
            label = f"**{score.label}**" if score.label in (OVERALL, PROTECTIONS) else f"`{score.label}`"
            lines.append(
                f"| {label} | {score.labelled} | {score.precision:.2f} | {score.recall:.2f} | {score.f1:.2f} |"
            )
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Labelled:
    """One labelled sentence: the category it was written to test, and what a careful reader flags."""

    topic: str
    clause: Clause
    risk: frozenset[str]
    protection: frozenset[str]


def load_labelled(path: Path) -> list[Labelled]:
    """The entries of a labelled YAML file: a mapping of topic (a category id) to a list of sentences."""
    groups = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(groups, Mapping):
        raise ValueError(f"{path}: expected a mapping of category id to a list of labelled sentences")
    labelled = []
    for topic, entries in groups.items():
        for number, entry in enumerate(entries or [], start=1):
            where = f"{path}: {topic} entry {number}"
            if not isinstance(entry, Mapping) or not isinstance(entry.get("text"), str):
                raise ValueError(f"{where} needs a text")
            unknown = set(entry) - _ENTRY_KEYS
            kind = entry.get("kind", PARAGRAPH)
            if unknown or kind not in CLAUSE_KINDS:
                raise ValueError(f"{where}: unknown keys {sorted(unknown)} or kind {kind!r}")
            clause = Clause(entry["text"], kind, tuple(entry.get("section", ())), entry.get("lead", ""))
            labelled.append(Labelled(topic, clause, frozenset(entry.get("risk", ())), frozenset(entry.get("protection", ()))))
    return labelled


def evaluate(rulebook: Rulebook, labelled_path: Path) -> EvalReport:
    known = [category.id for category in rulebook.categories]
    counts = {label: [0, 0, 0] for label in (*known, PROTECTIONS)}
    misses: list[Miss] = []
    labelled = load_labelled(Path(labelled_path))
    for entry in labelled:
        clause, expected_risk, expected_protection = entry.clause, entry.risk, entry.protection
        unknown = ({entry.topic} | expected_risk | expected_protection) - set(known)
        if unknown:
            raise ValueError(f"{labelled_path}: unknown categories {sorted(unknown)} for {clause.text!r}")
        states = category_states(rulebook.classify(clause))
        predicted_risk = frozenset(c for c, state in states.items() if state.polarity == RISK)
        predicted_protection = frozenset(c for c, state in states.items() if state.polarity == PROTECTION)
        for category in known:
            _count(counts[category], category in expected_risk, category in predicted_risk)
            _count(counts[PROTECTIONS], category in expected_protection, category in predicted_protection)
        if predicted_risk != expected_risk or predicted_protection != expected_protection:
            misses.append(Miss(clause, expected_risk, predicted_risk, expected_protection, predicted_protection))
    scores = tuple(Score(category, *counts[category]) for category in known)
    overall = Score(OVERALL, *(sum(score_counts) for score_counts in zip(*(counts[c] for c in known))))
    return EvalReport(scores, overall, Score(PROTECTIONS, *counts[PROTECTIONS]), tuple(misses), len(labelled))


def _count(tally: list[int], expected: bool, predicted: bool) -> None:
    if expected and predicted:
        tally[0] += 1
    elif predicted:
        tally[1] += 1
    elif expected:
        tally[2] += 1
