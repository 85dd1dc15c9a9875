"""How the rulebook reads one clause: polarity, emptying exceptions, who acts, not-practices, opt-out links,
list lead-ins and headings. The cases are data (tests/data/classify_cases.yaml); each states the whole
outcome for its clause, so a rule that starts flagging something else fails it too."""

from pathlib import Path

import pytest
import yaml

from policywatch.classify import Rulebook
from policywatch.classify.events import category_states
from policywatch.models import HEADING, PROTECTION, RISK, Clause
from policywatch.normalize import normalize_text

CASES_FILE = Path(__file__).parent / "data" / "classify_cases.yaml"
CASES = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
PARAMS = [
    pytest.param(case, id=f"{behaviour}-{number}")
    for behaviour, cases in CASES.items()
    for number, case in enumerate(cases, start=1)
]


@pytest.fixture(scope="module")
def rulebook() -> Rulebook:
    return Rulebook.load()


def clause_of(case: dict) -> Clause:
    if "text" in case:
        return Clause(case["text"])
    clauses = normalize_text(case["markdown"], fmt="markdown")
    chosen = [clause for clause in clauses if clause.text == case["clause"]]
    assert len(chosen) == 1, f"the document has no single clause {case['clause']!r}: {clauses}"
    return chosen[0]


@pytest.mark.parametrize("case", PARAMS)
def test_clause_reading(rulebook, case):
    clause = clause_of(case)
    matches = rulebook.classify(clause)
    states = {category: state.polarity for category, state in category_states(matches).items()}
    expected = {category: RISK for category in case.get("risk", ())}
    expected |= {category: PROTECTION for category in case.get("protection", ())}
    assert states == expected, [(m.category, m.polarity, m.evidence, m.explanation) for m in matches]
    if "why" in case:
        assert any(case["why"] in match.explanation for match in matches), [m.explanation for m in matches]


def test_every_behaviour_has_cases_on_both_sides():
    # A behaviour tested only with risks (or only with quiet clauses) could be a rule that always fires.
    for behaviour, cases in CASES.items():
        outcomes = {bool(case.get("risk")) for case in cases}
        assert outcomes == {True, False}, behaviour


def test_cases_name_only_known_categories(rulebook):
    known = {category.id for category in rulebook.categories}
    named = {c for cases in CASES.values() for case in cases for c in (*case.get("risk", ()), *case.get("protection", ()))}
    assert named <= known


def test_a_heading_is_never_a_finding_but_gives_its_clauses_their_section(rulebook):
    clauses = normalize_text("## Biometric data\n\nWe may collect your face geometry.\n", fmt="markdown")
    heading, sentence = clauses
    assert heading.kind == HEADING and rulebook.classify(heading) == []
    assert sentence.section == ("Biometric data",)
    assert [m.category for m in rulebook.classify(sentence)] == ["biometric"]


def test_a_match_names_its_rule_and_the_words_it_matched(rulebook):
    (match,) = rulebook.classify(Clause("We may sell your personal information to data partners."))
    assert (match.category, match.polarity, match.evidence) == ("data-sale", RISK, "sell your personal information")
    assert match.rule.startswith("data-sale/pattern/") and match.severity.label == "high"
    assert "exchanged for value" in match.explanation


def test_curly_quotes_and_apostrophes_read_like_straight_ones(rulebook):
    (match,) = rulebook.classify(Clause("We don’t sell your personal information."))
    assert match.polarity == PROTECTION and match.evidence == "sell your personal information"
