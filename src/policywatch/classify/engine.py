"""The generic matching engine: compiled cues and category patterns, and how a match gets its polarity.

Nothing here knows a category; everything it knows about language comes from the rule file.
A clause is read as one context string (a list item behind its lead-in sentence), cut into segments
at the segment-break cues. A category pattern match is a risk unless a negation cue is in scope (from
the start of its segment to the end of the match, or a passive negation right after it); a negated
match is a protection unless an emptying exception follows the negation, which makes it a conditional
risk. Protections silence their category's pattern matches in the same segment; exclusions silence the
category in the segment they match.
"""

from __future__ import annotations

import bisect
import re
import sys
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from policywatch.classify.prefilter import (
    Requirements,
    can_match_empty,
    folds_like_ascii_text,
    leading_strings,
    requirements_of,
    split_leading_assertion,
    trie_pattern,
)
from policywatch.models import ITEM, PROTECTION, RISK, ROW, Clause

FLAGS = re.IGNORECASE
_TERM_REFERENCE = re.compile(r"\{([a-z_]+)\}")
# Same-length replacements, so that spans found in the normalized text index the original text too.
_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " "})


def _straightened(text: str) -> str:
    # Every typographic character is outside ASCII: an ASCII text (most are) needs no translating.
    return text if text.isascii() else text.translate(_TYPOGRAPHY)


PATTERN = "pattern"
PROTECTION_RULE = "protection"
ALWAYS_RISK = "always-risk"
RULE_KINDS = {"patterns": PATTERN, "protections": PROTECTION_RULE, "always_risk": ALWAYS_RISK}


class PatternError(ValueError):
    """A pattern that does not compile or names an unknown term; `pattern` is the text as written."""

    def __init__(self, message: str, pattern: str):
        super().__init__(message)
        self.pattern = pattern


def expand_terms(pattern: str, terms: Mapping[str, str]) -> str:
    def replace(reference: re.Match) -> str:
        name = reference.group(1)
        if name not in terms:
            raise PatternError(f"unknown term {{{name}}} in pattern {pattern!r}", pattern)
        return terms[name]

    return _TERM_REFERENCE.sub(replace, pattern)


def compile_terms(raw_terms: Mapping[str, str]) -> dict[str, str]:
    """Expand each term with the terms defined before it, and check that it compiles on its own."""
    terms: dict[str, str] = {}
    for name, pattern in raw_terms.items():
        terms[name] = expand_terms(pattern, terms)
        check_pattern(terms[name], pattern)
    return terms


def check_pattern(expanded: str, written: str) -> None:
    try:
        re.compile(expanded, FLAGS)
    except re.error as error:
        raise PatternError(f"bad regular expression {written!r}: {error}", written) from None


def _compile_all(combined: str, expanded: Sequence[str], written: Sequence[str]) -> re.Pattern:
    try:
        return re.compile(combined, FLAGS)
    except re.error:
        for pattern, as_written in zip(expanded, written):  # name the culprit
            check_pattern(pattern, as_written)
        raise


_WORD_START = r"(?<![\w-])"


def _phrases(numbered: Iterable[tuple[int, str]]) -> str:
    """One regex for some phrases of a list; group `p<i>` tells which phrase matched. Whole words only."""
    alternatives = "|".join(f"(?P<p{i}>{p})" for i, p in numbered)
    return rf"{_WORD_START}(?:{alternatives})(?!\w)"


class AssertedRegex:
    """A regex that starts with a zero-width assertion (a word-start lookbehind, \\b), searched faster with the same
    matches. `re` skips quickly to where a regex can match only when it starts with a literal or a set of
    characters, not with an assertion, nor with an alternation of groups ({minor}), which it tries at every
    position. So the strings that begin every match, when there are several (found by analysing the regex),
    are searched for as one trie-shaped alternation, which `re` skips to quickly; the rest is matched where one
    begins, and the assertion checked there. Without such strings, the rest is searched alone."""

    def __init__(self, assertion: str, rest: str, flags: int, leading: frozenset[str] | None):
        """`leading`: the leading strings of the rest (see prefilter.leading_strings)."""
        self._assertion = re.compile(assertion, flags)
        self._rest = re.compile(rest, flags)
        self._starts = _trie_regex(leading, flags) if leading and len(leading) > 1 else None

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match | None:
        if self._starts is None:
            found = self._rest.search(text, pos, endpos)
            while found is not None and not self._assertion.match(text, found.start(), endpos):
                found = self._rest.search(text, found.start() + 1, endpos)
            return found
        start = self._starts.search(text, pos, endpos)
        while start is not None:
            at = start.start()
            if self._assertion.match(text, at, endpos) and (found := self._rest.match(text, at, endpos)):
                return found
            start = self._starts.search(text, at + 1, endpos)
        return None


@lru_cache(maxsize=1024)  # patterns that begin with the same term ({authority}) share it
def _trie_regex(strings: frozenset[str], flags: int) -> re.Pattern:
    return re.compile(trie_pattern(strings), flags)


Searchable = re.Pattern | AssertedRegex


def _folded(text: str) -> str | None:
    """The text lower-cased when that keeps every position (ASCII), for case-free patterns; else None."""
    return text.lower() if text.isascii() else None


def _phrases_regex(source: str, flags: int, leading: frozenset[str] | None) -> AssertedRegex:
    return AssertedRegex(_WORD_START, source.removeprefix(_WORD_START), flags, leading)


def _cue_regex(pattern: str, flags: int) -> Searchable:
    rest = split_leading_assertion(pattern, r"\b", flags)
    return re.compile(pattern, flags) if rest is None else AssertedRegex(r"\b", rest, flags, leading_strings(rest))


_RECURRING_REMEMBERED = 1 << 12


class Cue:
    """A cue's patterns, searched one by one for the matches of their alternation (leftmost; at the same start, the
    first pattern). One alternation of anchored patterns, patterns that start with a literal and patterns that
    start with \\b is tried at every position; apart, `re` skips ahead in most. A case-free pattern searches an
    ASCII text lower-cased, without IGNORECASE, which skips faster still."""

    def __init__(self, patterns: Sequence[str], terms: Mapping[str, str]):
        expanded = [expand_terms(p, terms) for p in patterns]
        self._recurring: dict[str, bool] = {}
        self._alternation = _compile_all("|".join(f"(?:{p})" for p in expanded) or r"(?!)", expanded, patterns)
        # finditer has rules of its own for empty matches: a cue that can match empty keeps the alternation.
        self._apart: list[tuple[Searchable, Searchable | None]] | None = (
            None
            if any(can_match_empty(p, FLAGS) for p in expanded)
            else [(_cue_regex(p, FLAGS), _cue_regex(p, 0) if folds_like_ascii_text(p) else None) for p in expanded]
        )

    def finditer(self, text: str, folded: str | None) -> Iterator[re.Match]:
        """The matches in a text, `folded` its lower-cased form or None; a match's text may be the folded one."""
        if self._apart is None:
            return self._alternation.finditer(text)
        return _leftmost_first(self._searches(text, folded))

    def search(self, text: str) -> bool:
        if self._apart is None:
            return self._alternation.search(text) is not None
        return any(regex.search(searched) for regex, searched in self._searches(text, _folded(text)))

    def search_recurring(self, text: str) -> bool:
        """`search`, remembered: for texts that many clauses share (their headings, a list's lead-in)."""
        if text not in self._recurring:
            if len(self._recurring) >= _RECURRING_REMEMBERED:
                self._recurring.clear()
            self._recurring[text] = self.search(text)
        return self._recurring[text]

    def match(self, text: str, pos: int, endpos: int) -> re.Match | None:
        return self._alternation.match(text, pos, endpos)

    def _searches(self, text: str, folded: str | None) -> list[tuple[Searchable, str]]:
        return [(fast, folded) if fast is not None and folded is not None else (regex, text) for regex, fast in self._apart]


@dataclass(frozen=True)
class Cues:
    negation: Cue
    not_negation: Cue
    negation_after: Cue
    segment_break: Cue
    emptying_exception: Cue
    kept_condition: Cue
    enumeration: Cue
    not_practice: Cue
    lead_in: Cue
    definition_section: Cue
    answer_no: Cue

    @classmethod
    def compile(cls, raw: Mapping[str, Sequence[str]], terms: Mapping[str, str]) -> Cues:
        return cls(**{name: Cue(raw[name], terms) for name in cls.__dataclass_fields__})

    def states_no_practice(self, clause: Clause) -> bool:
        if clause.kind == ROW:
            answers = clause.text.split("|")[1:]
            return bool(answers) and all(self.answer_no.search(cell) for cell in answers)
        text = _straightened(clause.text)
        return self.not_practice.search(text) or any(map(self.definition_section.search_recurring, clause.section))


@dataclass(frozen=True)
class Hit:
    """A category rule matching a span of a clause's context, with the polarity it was given and why."""

    category: str
    polarity: str
    evidence: str
    rule: str
    reason: str  # empty for a plain risk; otherwise the cue that decided the polarity


class ClauseReading:
    """One clause's context and its segments, negations and exceptions, computed once and on demand."""

    def __init__(self, clause: Clause, cues: Cues):
        self.cues = cues
        if clause.kind == ITEM and cues.lead_in.search_recurring(clause.lead):
            # The lead-in sentence is context: "We do not collect:" negates the item that follows.
            self.text = clause.lead.rstrip(" :;,-\u2013\u2014") + " " + clause.text
        else:
            self.text = clause.text
        self.normalized = _straightened(self.text)
        self.lowered = self.normalized.lower()
        # Lower-casing ASCII keeps every position; case-free patterns search it without IGNORECASE, faster.
        self.folded = self.lowered if self.normalized.isascii() else None

    @cached_property
    def _breaks(self) -> tuple[list[int], list[int]]:
        spans = [m.span() for m in self.cues.segment_break.finditer(self.normalized, self.folded)]
        return [start for start, _ in spans], [end for _, end in spans]

    @cached_property
    def _enumerations(self) -> list[int]:
        return [m.start() for m in self.cues.enumeration.finditer(self.normalized, self.folded)]

    def segment(self, position: int) -> tuple[int, int]:
        """The part of the sentence a position belongs to."""
        starts, ends = self._breaks
        index = bisect.bisect_right(ends, position)
        segment_start = ends[index - 1] if index else 0
        segment_end = starts[index] if index < len(starts) else len(self.normalized)
        return segment_start, max(segment_end, position)

    def scope(self, position: int) -> list[tuple[int, int]]:
        """The segment of a position, and for an enumerated item also the segment that introduces the
        enumeration ("you will not: (i) …; (ii) …"), which is context for every item."""
        own = self.segment(position)
        enumeration = bisect.bisect_right(self._enumerations, position)
        if not enumeration:
            return [own]
        intro = self.segment(self._enumerations[enumeration - 1])
        return [own] if intro == own else [intro, own]

    @cached_property
    def _negations(self) -> list[tuple[int, int]]:
        ignored = [m.span() for m in self.cues.not_negation.finditer(self.normalized, self.folded)]
        return [
            m.span()
            for m in self.cues.negation.finditer(self.normalized, self.folded)
            if not any(start <= m.start() < end for start, end in ignored)
        ]

    @cached_property
    def _exceptions(self) -> list[int]:
        kept = {m.start() for m in self.cues.kept_condition.finditer(self.normalized, self.folded)}
        return [m.start() for m in self.cues.emptying_exception.finditer(self.normalized, self.folded) if m.start() not in kept]

    def negation(self, start: int, end: int, segment_end: int | None) -> str | None:
        """The negation in scope of a match at [start, end), if any; the passive form after it only
        when segment_end is given."""
        *intro, (segment_start, _) = self.scope(start)
        for negation_start, negation_end in self._negations:
            if segment_start <= negation_start < end or any(a <= negation_start < b for a, b in intro):
                return self.normalized[negation_start:negation_end]
        if segment_end is None:
            return None
        after = self.cues.negation_after.match(self.normalized, end, segment_end)
        return after.group().strip() if after else None

    def exception_after(self, position: int) -> str | None:
        for exception in self._exceptions:
            if exception >= position:
                return self.normalized[exception : exception + 40].strip()
        return None

    def search(self, pattern: AssertedRegex, text: str, position: int) -> bool:
        """Whether the pattern occurs in the scope of a position; `text` is the clause's, normalized or folded."""
        return any(pattern.search(text, start, end) for start, end in self.scope(position))


def _leftmost_first(searches: Sequence[tuple[Searchable, str]]) -> Iterator[re.Match]:
    """The matches that one alternation of the regexes would find (leftmost; at the same start, the first
    regex in order; never overlapping), without compiling that alternation for each subset of patterns.
    Each regex searches its own text: the clause, or the same clause lower-cased."""
    if len(searches) == 1:  # most often: then there is nothing to merge
        [(regex, text)] = searches
        match = regex.search(text)
        while match is not None:
            yield match
            match = regex.search(text, max(match.end(), match.start() + 1))
        return
    upcoming = [regex.search(text) for regex, text in searches]
    position = 0
    while True:
        best = None
        for index, match in enumerate(upcoming):
            if match is not None and match.start() < position:  # overlapped by a match already given
                regex, text = searches[index]
                match = upcoming[index] = regex.search(text, position)
            if match is not None and (best is None or match.start() < best.start()):
                best = match
        if best is None:
            return
        yield best
        position = max(best.end(), best.start() + 1)


@dataclass(frozen=True)
class CategoryRules:
    """A category's rules, each compiled on first use (a run meets a third of them; compiling them all cost
    most of a load). Its patterns of all kinds are numbered in one sequence (patterns, then protections,
    then always_risk), the numbering its `requirements` and the prefilter's answers use."""

    category: str
    kinds: tuple[tuple[str, range], ...]  # (kind, the numbers of its patterns)
    sources: tuple[str, ...]  # the regular expression of each pattern, by number
    exclude_source: str | None
    expanded: tuple[str, ...]  # each pattern with its terms expanded, by number
    _compiled: dict[tuple[int | None, bool], AssertedRegex | None] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def compile(
        cls, category: str, raw: Mapping[str, Sequence[str]], terms: Mapping[str, str], trusted: Container[str] = ()
    ) -> CategoryRules:
        """`trusted` patterns (the built-in ones) are compiled on first use; any other is compiled here, so that
        a bad pattern in policies.yaml is reported at load."""
        kinds, sources, expanded = [], [], []
        for name, kind in RULE_KINDS.items():
            written = raw.get(name, ())
            kinds.append((kind, range(len(sources), len(sources) + len(written))))
            for number, pattern in enumerate(written):
                expanded.append(expand_terms(pattern, terms))
                sources.append(_phrases([(number, expanded[-1])]))
                if pattern not in trusted:
                    _compile_all(sources[-1], expanded[-1:], [pattern])
        exclude = raw.get("exclude", ())
        exclude_expanded = [expand_terms(pattern, terms) for pattern in exclude]
        exclude_source = _phrases(enumerate(exclude_expanded)) if exclude else None
        if any(pattern not in trusted for pattern in exclude):
            _compile_all(exclude_source, exclude_expanded, exclude)
        return cls(category, tuple(kinds), tuple(sources), exclude_source, tuple(expanded))

    @property
    def requirements(self) -> Requirements:
        """What a clause must contain for each pattern to match (analysed when first asked: most of a load)."""
        return requirements_of(self.expanded)

    def _regex(self, number: int | None, folded: bool = False) -> AssertedRegex | None:
        """Pattern `number`'s regex, or (None) the exclusions'; `folded`: the one for lower-cased ASCII text,
        None when the pattern has none."""
        key = (number, folded)
        if key not in self._compiled:
            source = self.exclude_source if number is None else self.sources[number]
            # A pattern is analysed as written, terms expanded (the requirements' analysis, remembered): its
            # source adds no letter to fold nor a string to begin with.
            analysed = source if number is None else self.expanded[number]
            if folded and not folds_like_ascii_text(analysed):
                self._compiled[key] = None
            else:
                self._compiled[key] = _phrases_regex(source, 0 if folded else FLAGS, leading_strings(analysed))
        return self._compiled[key]

    def _search(self, number: int | None, reading: ClauseReading) -> tuple[AssertedRegex, str]:
        """The regex for pattern `number` (None: the exclusions) and the text of the clause it searches."""
        regex = self._regex(number, True) if reading.folded is not None else None
        return (regex, reading.folded) if regex is not None else (self._regex(number), reading.normalized)

    def compile_all(self) -> int:
        """Compile every regex first use would (raising re.error for a broken one); how many patterns there are."""
        for number in [*range(len(self.sources)), *([None] if self.exclude_source is not None else [])]:
            self._regex(number)
            self._regex(number, folded=True)
        return len(self.sources)

    def hits(self, reading: ClauseReading, possible: frozenset[int] | None = None) -> list[Hit]:
        """The category's hits in a clause; `possible` are the numbers of the only patterns that can match
        it (None: any may)."""
        found: list[tuple[int, tuple[int, int], str, Hit]] = []
        protected_segments: set[tuple[int, int]] = set()
        exclude = None if self.exclude_source is None else self._search(None, reading)
        for match, kind in self._matches(reading, possible):
            segment = reading.segment(match.start())
            if exclude is not None and reading.search(*exclude, match.start()):
                continue
            hit = self._judge(reading, match, kind, segment)
            if hit is None:
                continue
            if kind == PROTECTION_RULE and hit.polarity == PROTECTION:
                protected_segments.add(segment)
            found.append((match.start(), segment, kind, hit))
        found.sort(key=lambda entry: entry[0])
        # An explicit promise outweighs the practice it qualifies: "handled by your device" beats "fingerprint".
        return [
            hit
            for _, segment, kind, hit in found
            if not (kind == PATTERN and hit.polarity == RISK and segment in protected_segments)
        ]

    def _matches(self, reading: ClauseReading, possible: frozenset[int] | None) -> Iterable[tuple[re.Match, str]]:
        # Leaving out patterns that cannot match anywhere in the text changes no match of the others.
        for kind, numbers in self.kinds:
            chosen = [self._search(n, reading) for n in numbers if possible is None or n in possible]
            for match in _leftmost_first(chosen):
                yield match, kind

    def _judge(self, reading: ClauseReading, match: re.Match, kind: str, segment: tuple[int, int]) -> Hit | None:
        rule = f"{self.category}/{kind}/{int(match.lastgroup[1:]) + 1}"
        evidence = reading.text[match.start() : match.end()]
        if kind == ALWAYS_RISK:
            return Hit(self.category, RISK, evidence, rule, "")
        if kind == PROTECTION_RULE:
            # What follows a promise is usually more of it: "stays on your device and is never shared".
            if reading.negation(match.start(), match.start(), None) is not None:
                return None  # "we do not keep it for up to 90 days" promises nothing
            exception = reading.exception_after(match.end())
            if exception is not None:
                return Hit(self.category, RISK, evidence, rule, f"conditional: “{exception}…”")
            return Hit(self.category, PROTECTION, evidence, rule, "promise")
        negation = reading.negation(match.start(), match.end(), segment[1])
        if negation is None:
            return Hit(self.category, RISK, evidence, rule, "")
        exception = reading.exception_after(segment[0])
        if exception is not None:
            return Hit(self.category, RISK, evidence, rule, f"negated by “{negation}” but conditional: “{exception}…”")
        return Hit(self.category, PROTECTION, evidence, rule, f"negated by “{negation}”")
