"""The rulebook measured on the labelled sentence sets: the targets of the issue (precision and recall at
least 0.95 overall, no category below 0.85) and enough sentences per category to make them mean something.
labelled_clauses.yaml is the set the rules were written against; heldout_clauses.yaml was written later in
rounds, each measured before any rule was changed for it (first-pass figures in the README)."""

from collections import Counter
from pathlib import Path

import pytest

from policywatch.classify import Rulebook, evaluate
from policywatch.classify.evaluate import load_labelled

DATA = Path(__file__).parent / "data"
# (file, risk sentences, safe-but-similar sentences) each category needs at least
SETS = [("labelled_clauses.yaml", 10, 5), ("heldout_clauses.yaml", 4, 2)]


@pytest.fixture(scope="module")
def rulebook() -> Rulebook:
    return Rulebook.load()


@pytest.mark.parametrize("name,min_risk,min_safe", SETS)
def test_every_category_has_risks_and_look_alikes(rulebook, name, min_risk, min_safe):
    entries = load_labelled(DATA / name)
    risks = Counter(category for entry in entries for category in entry.risk)
    look_alikes = Counter(entry.topic for entry in entries if entry.topic not in entry.risk)
    for category in rulebook.categories:
        assert risks[category.id] >= min_risk, (name, category.id, risks[category.id])
        assert look_alikes[category.id] >= min_safe, (name, category.id, look_alikes[category.id])


@pytest.mark.parametrize("name", [name for name, _, _ in SETS])
def test_the_rulebook_meets_the_targets(rulebook, name):
    report = evaluate(rulebook, DATA / name)
    assert report.overall.precision >= 0.95 and report.overall.recall >= 0.95, report.table()
    weak = [s.label for s in report.categories if s.precision < 0.85 or s.recall < 0.85]
    assert not weak, report.table()
    assert report.protections.precision >= 0.9 and report.protections.recall >= 0.9, report.table()


def test_held_out_sentences_are_not_copies_of_labelled_ones():
    def normalized(name: str) -> set[str]:
        return {" ".join(entry.clause.text.lower().split()) for entry in load_labelled(DATA / name)}

    assert not normalized("labelled_clauses.yaml") & normalized("heldout_clauses.yaml")
