"""The prefilter (classify/prefilter.py) only saves work: it must never hide a pattern that matches."""

from pathlib import Path

import pytest

from policywatch.classify import Rulebook
from policywatch.classify.engine import ClauseReading
from policywatch.classify.evaluate import load_labelled

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def readings() -> list[ClauseReading]:
    cues = Rulebook.load()._cues
    clauses = [entry.clause for name in ("labelled_clauses.yaml", "heldout_clauses.yaml") for entry in load_labelled(DATA / name)]
    return [ClauseReading(clause, cues) for clause in clauses]


def test_every_pattern_that_matches_is_a_candidate(readings):
    rulebook = Rulebook.load()
    for reading in readings:
        candidates = rulebook._triggers.candidates(reading.lowered)
        for index, rules in enumerate(rulebook._rules):
            numbering = dict(rules.kinds)  # kind → the numbers of its patterns; a match's group is p<its place>
            matched = {numbering[kind].start + int(match.lastgroup[1:]) for match, kind in rules._matches(reading, None)}
            if matched:
                assert index in candidates, (reading.text, rules.category)
                assert candidates[index] is None or matched <= candidates[index], (reading.text, rules.category, matched)
