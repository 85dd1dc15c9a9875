"""A cheap first pass that tells which categories could match a clause at all.

Running every category's regular expressions over every clause costs far too much (most clauses match
nothing). Instead, each pattern is analysed once at load for the literal strings its matches must
contain ("sell … personal data" needs one of sell/sold/… and one of data/information/…). Looking those
strings up in the clause's words then rules out every category none of whose patterns has all its
requirements met. It never changes what matches: it only skips work.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache, reduce
from itertools import islice
from operator import and_, itemgetter, or_

try:
    from re import _parser as _regex_parser  # Python 3.11+
except ImportError:  # Python 3.10
    import sre_parse as _regex_parser

_MAX_SPELLINGS = 32  # a run of literals with more spellings than this is not worth enumerating
_MIN_LENGTH = 3  # shorter strings occur in nearly every clause and decide nothing

Requirement = frozenset[str]  # at least one of these strings occurs in every match


@lru_cache(maxsize=4096)
def _parsed(pattern: str):
    """The pattern parsed (without flags: ignoring case changes no item), for the analyses below, which only read it;
    patterns are long and parsing them in Python is most of what analysing them costs."""
    return _regex_parser.parse(pattern, 0)
Requirements = "tuple[tuple[Requirement, ...], ...] | None"  # per pattern, all of its requirements


@lru_cache(maxsize=4096)  # most of a load: every rulebook of a process (user rules, tests) shares the built-in ones
def required_literals(pattern: str) -> tuple[Requirement, ...]:
    """Requirements that every match of the pattern, ignoring case, meets (lower-case strings), possibly none."""
    try:
        return tuple(_sequence_requirements(_parsed(pattern)))
    except (re.error, RecursionError):
        return ()


def requirements_of(patterns: Sequence[str]) -> tuple[tuple[Requirement, ...], ...] | None:
    """The requirements of each pattern; None when a pattern has none (its category is always tried)."""
    result = tuple(required_literals(pattern) for pattern in patterns)
    return None if any(not requirements for requirements in result) else result


def folds_like_ascii_text(pattern: str) -> bool:
    """Whether the pattern matches ASCII text ignoring case exactly where, without IGNORECASE, it matches that
    text lower-cased (same length, same positions), which it searches faster: it has no upper-case ASCII
    letter (escapes such as \\W aside), no character that ignoring case matches an ASCII one, no inline flag."""
    try:
        parsed = _parsed(pattern)
    except (re.error, RecursionError):
        return False
    return parsed.state.flags == re.UNICODE and _folds_sequence(parsed)


def _folds_sequence(sequence) -> bool:
    return all(_folds_item(op, value) for op, value in sequence)


def _folds_item(op, value) -> bool:
    kind = str(op)
    if kind in ("LITERAL", "NOT_LITERAL"):
        return _folds_char(value)
    if kind == "RANGE":
        low, high = value
        return high - low <= 256 and all(_folds_char(char) for char in range(low, high + 1))
    if kind == "IN":
        return all(_folds_item(inner_op, inner) for inner_op, inner in value)
    if kind in ("NEGATE", "CATEGORY", "AT", "ANY", "GROUPREF"):
        return True
    if kind == "BRANCH":
        return all(_folds_sequence(branch) for branch in value[1])
    if kind == "SUBPATTERN":
        return not value[1] and not value[2] and _folds_sequence(value[3])  # no (?i:…) or (?-i:…)
    if kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return _folds_sequence(value[2])
    if kind in ("ASSERT", "ASSERT_NOT"):
        return _folds_sequence(value[1])
    if kind == "ATOMIC_GROUP":
        return _folds_sequence(value)
    if kind == "GROUPREF_EXISTS":
        return _folds_sequence(value[1]) and (value[2] is None or _folds_sequence(value[2]))
    return False


@lru_cache(maxsize=4096)
def leading_strings(pattern: str) -> frozenset[str] | None:
    """Strings (ASCII, lower-cased, of _MIN_LENGTH to _LEADING_LENGTH characters) one of which begins every match
    of the pattern ignoring case, when there are such strings; else None."""
    try:
        strings = _leading(_parsed(pattern))
    except (re.error, RecursionError):
        return None
    if not strings or min(map(len, strings)) < _MIN_LENGTH or not all(map(str.isascii, strings)):
        return None
    return frozenset(strings)


# A few characters of each are enough to skip to where a match may begin, and fewer, shorter strings compile faster.
_LEADING_LENGTH = 8
_MAX_LEADING = 64


def _leading(sequence) -> set[str]:
    """Strings one of which begins every match of the sequence: its finite items spelt out as far as they go, at
    most _LEADING_LENGTH characters of each, or fewer to keep at most _MAX_LEADING."""
    begun = {""}
    for item in sequence:
        spellings = _spellings(item)
        complete = spellings is not None
        if not complete:
            spellings = _item_leading(item)
            if spellings is None:
                return begun
        joined = {(a + b)[:_LEADING_LENGTH] for a in begun for b in spellings}
        if len(joined) > _MAX_LEADING:  # too many: what is known so far, or that much of each string
            return begun if min(map(len, begun)) >= _MIN_LENGTH else _at_most(_MAX_LEADING, joined)
        begun = joined
        if not complete or min(map(len, begun)) >= _LEADING_LENGTH:
            return begun
    return begun


def _at_most(limit: int, strings: set[str]) -> set[str]:
    """The strings, or as many characters of each as keep them at most `limit` different strings."""
    length = max(map(len, strings), default=0)
    while len(strings) > limit:
        length -= 1
        strings = {string[:length] for string in strings}
    return strings


def _item_leading(item: tuple) -> set[str] | None:
    op, value = item
    kind = str(op)
    if kind == "SUBPATTERN":
        return _leading(value[-1])
    if kind == "BRANCH":
        return _at_most(_MAX_LEADING, set().union(*map(_leading, value[1])))
    if kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and value[0] >= 1:
        return _leading(value[2])
    return None


def can_match_empty(pattern: str, flags: int = 0) -> bool:
    """Whether the pattern has a match of no characters (somewhere)."""
    return _regex_parser.parse(pattern, flags).getwidth()[0] == 0


def split_leading_assertion(pattern: str, assertion: str, flags: int = 0) -> str | None:
    """The rest of the pattern when it is `assertion` (one zero-width item such as \\b) followed by that rest, with
    the same meaning as the two in a row (not "\\bfoo|bar", whose \\b belongs to one branch); else None."""
    rest = pattern.removeprefix(assertion)
    if rest == pattern:
        return None
    try:
        whole, lead, tail = (_regex_parser.parse(part, flags) for part in (pattern, assertion, rest))
    except re.error:
        return None
    same = repr(list(whole)) == repr([*lead, *tail]) and whole.state.flags == tail.state.flags
    return rest if same and len(lead) == 1 and lead.getwidth() == (0, 0) else None


@lru_cache(maxsize=None)
def _folds_char(code: int) -> bool:
    if code < 128:
        return not 65 <= code <= 90
    # "ſ" matches "s" ignoring case, and the Kelvin sign "k": such a character would miss the lower-cased text.
    ignoring_case = re.compile(re.escape(chr(code)), re.IGNORECASE)
    return not any(ignoring_case.fullmatch(chr(ascii_code)) for ascii_code in range(128))


class TriggerIndex:
    """Tells which patterns of which categories may match a lower-cased text.

    Scanning every position of every clause for every string cost more than the rest of classifying. Instead
    the text's words (its runs without white space) are looked up: a string without white space occurs within
    one word, and each distinct word's strings are found once, with a trie-shaped regex, and remembered (a
    policy repeats its vocabulary). A string with white space ("personal data") spans words: the text holds it
    only if two neighbouring words hold two neighbouring parts of it ("…personal" then "data…"), which is
    looked up the same way, as what each word ends with, is, or starts with. Requirements are then bits, and the
    check is arithmetic on integers; a requirement with white space that the bits say is met (they may be wrong:
    "sell" from "sell data" and "information" from "share information") is confirmed by searching the text.

    Only the patterns whose most selective requirement (their anchor) the text meets are checked at all.
    """

    def __init__(self, all_requirements: Iterable[tuple[tuple[Requirement, ...], ...] | None]):
        self._always: list[int] = []  # categories with a pattern that has no requirement
        patterns: list[tuple[int, int, tuple[Requirement, ...]]] = []  # (category, pattern, its requirements)
        for category, requirements in enumerate(all_requirements):
            if requirements is None:
                self._always.append(category)
                continue
            patterns += [(category, number, tuple(filter(_by_words, own))) for number, own in enumerate(requirements)]
        anchors = [max(own, key=_checked_selectivity, default=None) for _, _, own in patterns]
        # Anchors take the lowest bits: the anchors a text meets are then read from a small number.
        bit_of = {anchor: 1 << bit for bit, anchor in enumerate(dict.fromkeys(filter(None, anchors)))}
        self._anchor_mask = (1 << len(bit_of)) - 1
        for _, _, own in patterns:
            for requirement in own:
                bit_of.setdefault(requirement, 1 << len(bit_of))
        # A requirement with white space met by the bits is confirmed: it is met for sure when a word holds one
        # of its strings without white space (a bit of its own), else the text is searched for the others.
        spaced = {requirement for requirement in bit_of if any(map(_has_space, requirement))}
        sure_bit = {requirement: 1 << (len(bit_of) + number) for number, requirement in enumerate(spaced)}
        confirm = {requirement: _Confirmation(sure_bit[requirement], requirement) for requirement in spaced}
        # the anchor's bit (0: none) → (category, pattern, the bits of its requirements, their confirmations)
        self._anchored: dict[int, list[tuple[int, int, int, tuple[_Confirmation, ...]]]] = defaultdict(list)
        for (category, number, own), anchor in zip(patterns, anchors):
            need = reduce(or_, map(bit_of.get, own), 0)
            confirmations = tuple(confirm[requirement] for requirement in own if requirement in confirm)
            self._anchored[bit_of.get(anchor, 0)].append((category, number, need, confirmations))
        self._words = _WordBits(bit_of, sure_bit)

    def candidates(self, lowered: str) -> dict[int, frozenset[int] | None]:
        """Category (by position) → the numbers of its patterns that may match the text (None: all may)."""
        met = self._words.met(lowered)
        confirmed: dict[_Confirmation, bool] = {}
        possible: dict[int, set[int]] = {}
        for anchor in (0, *_bits_of(met & self._anchor_mask)):
            for category, pattern, need, confirmations in self._anchored.get(anchor, ()):
                if met & need == need and all(confirmation.holds(lowered, met, confirmed) for confirmation in confirmations):
                    possible.setdefault(category, set()).add(pattern)
        answer: dict[int, frozenset[int] | None] = dict.fromkeys(self._always)
        if not possible:  # most clauses
            return answer
        answer.update((category, frozenset(patterns)) for category, patterns in possible.items())
        return dict(sorted(answer.items()))


def _bits_of(mask: int) -> list[int]:
    """Each bit set in the mask, as a number."""
    bits = []
    while mask:
        bit = mask & -mask
        bits.append(bit)
        mask ^= bit
    return bits


class _Confirmation:
    """Whether a text meets a requirement with white space, which its words' bits only suggest."""

    def __init__(self, sure_bit: int, requirement: Requirement):
        self._sure_bit = sure_bit
        self._spaced = tuple(filter(_has_space, requirement))

    def holds(self, lowered: str, met: int, known: dict[_Confirmation, bool]) -> bool:
        """`met`: the text's bits; `known`: the confirmations made in this text."""
        if self not in known:
            known[self] = bool(met & self._sure_bit) or any(string in lowered for string in self._spaced)
        return known[self]


def _has_space(string: str) -> bool:
    return any(char.isspace() for char in string)


def _by_words(requirement: Requirement) -> bool:
    """Whether the words of a text tell if it meets the requirement: its strings have no white space other than
    single spaces (two spaces or a tab would not be the edge of two neighbouring words)."""
    return all("  " not in string and all(char == " " or not char.isspace() for char in string) for string in requirement)


def _checked_selectivity(requirement: Requirement) -> tuple[int, float]:
    """_selectivity of what a text is checked for: a string with spaces only by two neighbouring parts of it."""
    return _selectivity(frozenset(map(_checked, requirement)))


def _checked(string: str) -> str:
    """What a text is checked for to tell whether it holds the string."""
    string = string.strip()
    return " ".join(_neighbours(string)[:2]) if " " in string else string


def _neighbours(string: str) -> tuple[str, str, int]:
    """Of a string with spaces, the two neighbouring parts that neighbouring words of a text holding it must
    hold, the most selective (the longest, and of equal ones the last: in phrases the words that carry the
    meaning come last, "for a fee"), and where they are: the first part is a word's end (0 or both) and the
    last a word's start (1 or both); any other part is a whole word."""
    parts = string.split(" ")
    pairs = range(len(parts) - 1)
    left = max(pairs, key=lambda at: (min(len(parts[at]), len(parts[at + 1])), len(parts[at]) + len(parts[at + 1]), at))
    return parts[left], parts[left + 1], (left == 0) | (left + 2 == len(parts)) << 1


_INSIDE, _AS_LEFT, _AS_RIGHT = itemgetter(0), itemgetter(1), itemgetter(2)


class _Remembered(dict):
    """A function's value for each key, computed on first use."""

    def __init__(self, function: Callable[[str], tuple[int, int, int]]):
        super().__init__()
        self._function = function

    def __missing__(self, key: str) -> tuple[int, int, int]:
        value = self[key] = self._function(key)
        return value


class _WordBits:
    """What each word contributes to the requirements a text meets, found on first use and remembered: the bits
    of the requirements one of whose strings it contains, and for their strings with spaces, the bits of those
    one of whose strings' left part it holds (ends with, or is) and of those whose right part it holds (starts
    with, or is). One string's left part and another's right part can meet a requirement too: a requirement
    with white space met by the bits is to be confirmed in the text."""

    _LIMIT = 1 << 16  # a policy uses a few thousand distinct words; many policies share most

    def __init__(self, bit_of: dict[Requirement, int], sure_bit: dict[Requirement, int]):
        inside: dict[str, int] = defaultdict(int)
        # (part, whether it may be a word's end or start rather than the whole word) → bits
        self._ends: dict[tuple[str, bool], int] = defaultdict(int)
        self._starts: dict[tuple[str, bool], int] = defaultdict(int)
        for requirement, bit in bit_of.items():
            for string in requirement:
                # A text holding "data " holds "data": a space at an edge is left to the confirmation.
                stripped = string.strip()
                if _has_space(stripped):
                    left, right, at_edges = _neighbours(stripped)
                    self._ends[left, bool(at_edges & 1)] |= bit
                    self._starts[right, bool(at_edges & 2)] |= bit
                else:
                    inside[stripped] |= bit | (0 if _has_space(string) else sure_bit.get(requirement, 0))
        self._inside = _PrefixScan(inside)
        self._holds = _Remembered(self._traits)  # word → (inside, as a left part, as a right part)

    def met(self, lowered: str) -> int:
        """The bits of the requirements the text meets, and possibly a few more: those with white space are met
        by neighbouring words that hold the left part of one of its strings and the right part of another."""
        if len(self._holds) >= self._LIMIT:
            self._holds.clear()
        # map, reduce and itemgetter loop in C: this runs for every clause, and a clause has many words
        traits = list(map(self._holds.__getitem__, lowered.split()))
        met = reduce(or_, map(_INSIDE, traits), 0)
        return reduce(or_, map(and_, map(_AS_LEFT, traits), map(_AS_RIGHT, islice(traits, 1, None))), met)

    def _traits(self, word: str) -> tuple[int, int, int]:
        ends, starts = self._ends, self._starts
        left = ends.get((word, False), 0) | reduce(or_, (ends.get((word[at:], True), 0) for at in range(len(word) + 1)))
        right = starts.get((word, False), 0) | reduce(or_, (starts.get((word[:at], True), 0) for at in range(len(word) + 1)))
        return self._inside.bits(word), left, right


class _PrefixScan:
    """The bits of the strings (each with its bits) that occur in a text, with one regex scan: at each position
    the trie yields the longest string starting there, whose bits include those of its prefixes in the set."""

    def __init__(self, string_bits: dict[str, int]):
        self._bits = {
            string: reduce(or_, (string_bits.get(string[:end], 0) for end in range(1, len(string) + 1)))
            for string in string_bits
        }
        self._scan = re.compile(f"(?=({trie_pattern(string_bits)}))") if string_bits else None

    def bits(self, text: str) -> int:
        met = 0
        if self._scan is not None:
            for string in set(self._scan.findall(text)):
                met |= self._bits[string]
        return met


def trie_pattern(strings: Iterable[str]) -> str:
    trie: dict = {}
    for string in strings:
        node = trie
        for char in string:
            node = node.setdefault(char, {})
        node[""] = {}
    return _node_pattern(trie)


def _node_pattern(node: dict) -> str:
    branches = [re.escape(char) + _node_pattern(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:  # a string ends here: what follows is optional, and tried first (longest wins)
        return body + "?" if len(branches) == 1 and len(body) == 1 else f"(?:{body})?"
    return body


def _spellings(item: tuple) -> set[str] | None:
    """Every string a small, finite item can match ("" for zero-width ones), or None."""
    op, value = item
    kind = str(op)
    if kind == "LITERAL":
        return {chr(value).lower()}
    if kind in ("AT", "ASSERT", "ASSERT_NOT"):
        return {""}
    if kind == "IN":
        if not all(str(inner) == "LITERAL" for inner, _ in value):
            return None
        return {chr(char).lower() for _, char in value}
    if kind == "SUBPATTERN":
        return _sequence_spellings(value[-1])
    if kind == "BRANCH":
        branches = [_sequence_spellings(branch) for branch in value[1]]
        return None if any(b is None for b in branches) else set().union(*branches)
    if kind in ("MAX_REPEAT", "MIN_REPEAT") and value[:2] == (0, 1):  # optional: "under (?:the age of )?1[0-8]"
        spellings = _sequence_spellings(value[2])
        return None if spellings is None else spellings | {""}
    return None  # other repeats and classes end a run: they have too many spellings


def _sequence_spellings(sequence) -> set[str] | None:
    spellings = {""}
    for item in sequence:
        item_spellings = _spellings(item)
        if item_spellings is None:
            return None
        spellings = {a + b for a in spellings for b in item_spellings}
        if len(spellings) > _MAX_SPELLINGS:
            return None
    return spellings


def _sequence_requirements(sequence) -> list[Requirement]:
    """Every requirement found in a sequence: runs of finite items, and requirements of the others."""
    found: list[set[str]] = []
    run = {""}  # the spellings of the current run of finite items
    for item in sequence:
        item_spellings = _spellings(item)
        if item_spellings is not None:
            joined = {a + b for a in run for b in item_spellings}
            if len(joined) <= _MAX_SPELLINGS:
                run = joined
                continue
        found.append(run)
        run = {""}
        found.extend(_item_requirements(item))
    found.append(run)
    return [frozenset(r) for r in found if r and min(map(len, r)) >= _MIN_LENGTH]


def _item_requirements(item: tuple) -> list[set[str]]:
    op, value = item
    kind = str(op)
    if kind == "SUBPATTERN":
        return list(_sequence_requirements(value[-1]))
    if kind == "BRANCH":
        # Any one requirement per branch, joined, is met by every match. Joining each branch's most selective,
        # then its second (or again its last), … gives several such requirements: a clause must meet them all.
        ranked = [sorted(_sequence_requirements(branch), key=_selectivity, reverse=True) for branch in value[1]]
        if not all(ranked):
            return []
        joined = [set().union(*(r[min(depth, len(r) - 1)] for r in ranked)) for depth in range(max(map(len, ranked)))]
        return [set(r) for r in dict.fromkeys(frozenset(r) for r in joined)]
    if kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and value[0] >= 1:
        return list(_sequence_requirements(value[2]))
    return []


def _selectivity(requirement: Requirement) -> tuple[int, float]:
    """Longer strings occur in fewer clauses: the shortest string's length, then the average length."""
    return min(map(len, requirement)), sum(map(len, requirement)) / len(requirement)
