"""The prefilter (classify/prefilter.py) and the searches it shapes only save work: they must never hide a pattern
that matches, nor change where it matches."""

import re
from pathlib import Path

import pytest

from policywatch.classify import Rulebook
from policywatch.classify.engine import FLAGS, AssertedRegex, ClauseReading
from policywatch.classify.evaluate import load_labelled
from policywatch.classify.prefilter import TriggerIndex, leading_strings, required_literals
from policywatch.models import HEADING, Clause

DATA = Path(__file__).parent / "data"
# Texts the labelled sentences do not have: case, typography, white space and word edges the searches must respect.
EDGE_TEXTS = [
    "WE SELL YOUR PERSONAL DATA TO DATA BROKERS.",
    "We may share   personal\tdata with advertisers; non-children’s data stays here.",
    "Kids' photos, KİDS and kelvin (\u212a) signs: children under 13 may use the Services.",
    "personal data",
    " personal data ",
]


@pytest.fixture(scope="module")
def rulebook() -> Rulebook:
    return Rulebook.load()


@pytest.fixture(scope="module")
def readings(rulebook) -> list[ClauseReading]:
    clauses = [entry.clause for name in ("labelled_clauses.yaml", "heldout_clauses.yaml") for entry in load_labelled(DATA / name)]
    return [ClauseReading(clause, rulebook._cues) for clause in clauses]


def test_every_pattern_that_matches_is_a_candidate(rulebook, readings):
    for reading in readings:
        candidates = rulebook._triggers.candidates(reading.lowered)
        for index, rules in enumerate(rulebook._rules):
            numbering = dict(rules.kinds)  # kind → the numbers of its patterns; a match's group is p<its place>
            matched = {numbering[kind].start + int(match.lastgroup[1:]) for match, kind in rules._matches(reading, None)}
            if matched:
                assert index in candidates, (reading.text, rules.category)
                assert candidates[index] is None or matched <= candidates[index], (reading.text, rules.category, matched)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("personal data", True),  # a string with a space, as the whole text
        ("we sell your personal data", True),
        ("we sell your personal  data", False),  # the words' bits say yes, the confirmation in the text no
        ("personal information and data", False),
        ("impersonal database", True),  # strings are found inside words, at both ends of the space
        ("personaldata", False),
    ],
)
def test_a_string_with_a_space_is_met_by_neighbouring_words(text, expected):
    index = TriggerIndex([(required_literals(r"personal data"),)])
    assert (0 in index.candidates(text)) is expected


def test_a_requirement_is_not_met_by_the_parts_of_two_different_strings():
    # "sell data" and "share information": the words "sell information" hold a left part and a right part
    index = TriggerIndex([(required_literals(r"(?:sell data|share information)"),)])
    assert 0 not in index.candidates("we sell information")
    assert 0 in index.candidates("we sell data") and 0 in index.candidates("we share information")


@pytest.mark.parametrize(
    "pattern, expected",
    [
        (r"(?:child(?:ren)?|kids?|minor)\s+data", {"child", "children", "kid", "kids", "minor"}),
        (r"(?:your )?(?:name|face)\w*", {"your nam", "your fac", "name", "face"}),  # at most 8 characters
        (r"(?:sell|rent)(?! unions)\w* data", {"sell", "rent"}),  # a lookahead is not part of the text
        (r"(?:ai|ml)\w* training", None),  # a string shorter than three characters skips to nowhere in particular
        (r"\w+ data", None),
        (r"(?:résumé|cv) data", None),  # ASCII only: lower-casing other letters may change their number
    ],
)
def test_leading_strings(pattern, expected):
    assert leading_strings(pattern) == (None if expected is None else frozenset(expected))


def test_too_many_leading_strings_are_cut_to_prefixes():
    words = "|".join(f"w{i:03}" for i in range(300))
    strings = leading_strings(rf"(?:{words}) data")
    assert strings and len(strings) <= 64 and all(any(f"w{i:03}".startswith(s) for i in range(300)) for s in strings)


def _searches(rulebook):
    """Every regex searched with leading strings, the category patterns' and the cues', as (name, fast, whole)."""
    for rules in rulebook._rules:
        for number, source in enumerate(rules.sources):
            for flags in (FLAGS, 0):
                fast = rules._regex(number, folded=not flags)
                if fast is not None:
                    yield f"{rules.category}/{number}/{flags}", fast, re.compile(source, flags)


def test_searching_from_the_leading_strings_finds_the_same_matches(rulebook, readings):
    texts = [text for reading in readings for text in (reading.normalized, reading.lowered)] + EDGE_TEXTS
    texts += [text.lower() for text in EDGE_TEXTS]
    for name, fast, whole in _searches(rulebook):
        for text in texts:
            expected, found = whole.search(text), fast.search(text)
            assert (found and found.span()) == (expected and expected.span()), (name, text)


def test_the_searches_use_leading_strings(rulebook):
    # Most category patterns start with an alternation of words: if none got leading strings, the test above
    # would compare a search with itself.
    assert sum(isinstance(fast, AssertedRegex) and fast._starts is not None for _, fast, _ in _searches(rulebook)) > 300


def test_the_patterns_are_analysed_on_the_first_clause_classified_not_at_load():
    # The README promises that a check with nothing to classify never pays for the analysis.
    rulebook = Rulebook.load()
    rulebook.classify(Clause("We sell your data", kind=HEADING))  # a heading is context, never classified
    assert "_triggers" not in vars(rulebook)
    assert rulebook.classify(Clause("We sell your personal data to data brokers."))
    assert "_triggers" in vars(rulebook)
