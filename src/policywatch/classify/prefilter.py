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
from collections.abc import Iterable, Sequence
from functools import lru_cache, reduce
from operator import or_

try:
    from re import _parser as _regex_parser  # Python 3.11+
except ImportError:  # Python 3.10
    import sre_parse as _regex_parser

_MAX_SPELLINGS = 32  # a run of literals with more spellings than this is not worth enumerating
_MIN_LENGTH = 3  # shorter strings occur in nearly every clause and decide nothing

Requirement = frozenset[str]  # at least one of these strings occurs in every match
Requirements = "tuple[tuple[Requirement, ...], ...] | None"  # per pattern, all of its requirements


@lru_cache(maxsize=4096)  # most of a load: every rulebook of a process (user rules, tests) shares the built-in ones
def required_literals(pattern: str) -> tuple[Requirement, ...]:
    """Requirements that every match of the pattern, ignoring case, meets (lower-case strings), possibly none."""
    try:
        return tuple(_sequence_requirements(_regex_parser.parse(pattern, re.IGNORECASE)))
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
        parsed = _regex_parser.parse(pattern, 0)
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
    policy repeats its vocabulary). A requirement with white space ("personal data" or "your data") is met only
    if the words hold the parts of one of its strings: its words must meet the requirements made of a part of
    each string ("personal" or "your", "data" or "data"); only then, unless the words hold one of its strings
    without white space, is the text searched for its strings with white space.

    Every word requirement has a bit. Only the patterns whose most selective word requirement (their anchor) the
    words meet are checked at all.
    """

    def __init__(self, all_requirements: Iterable[tuple[tuple[Requirement, ...], ...] | None]):
        self._always: list[int] = []  # categories with a pattern that has no requirement
        # (category, pattern, its word requirements, its requirements with white space)
        patterns: list[tuple[int, int, list[Requirement], tuple[Requirement, ...]]] = []
        for category, requirements in enumerate(all_requirements):
            if requirements is None:
                self._always.append(category)
                continue
            for number, own in enumerate(requirements):
                phrases = tuple(requirement for requirement in own if any(map(_has_space, requirement)))
                words = [requirement for requirement in own if requirement not in phrases]
                words += [part for phrase in phrases for part in _part_requirements(phrase)]
                patterns.append((category, number, words, phrases))
        anchors = [max(words, key=_selectivity, default=None) for _, _, words, _ in patterns]
        # Anchors take the lowest bits: the anchors a text meets are then read from a small number.
        bit_of = {anchor: 1 << bit for bit, anchor in enumerate(dict.fromkeys(filter(None, anchors)))}
        self._anchor_mask = (1 << len(bit_of)) - 1
        for _, _, words, _ in patterns:
            for requirement in words:
                bit_of.setdefault(requirement, 1 << len(bit_of))
        # A phrase requirement is met at once when the words hold one of its strings without white space: those
        # strings get a bit too, which no pattern needs. Only its strings with white space are searched for.
        shortcut = {}
        for _, _, _, phrases in patterns:
            for phrase in phrases:
                in_words = frozenset(string for string in phrase if not _has_space(string))
                shortcut[phrase] = bit_of.setdefault(in_words, 1 << len(bit_of)) if in_words else 0
        # the anchor's bit (0: none) → (category, pattern, the bits of its word requirements, its phrases as
        # (shortcut bit, strings with white space))
        self._anchored: dict[int, list[tuple[int, int, int, tuple[_Phrase, ...]]]] = defaultdict(list)
        for (category, number, words, phrases), anchor in zip(patterns, anchors):
            need = reduce(or_, map(bit_of.get, words), 0)
            searched = tuple((shortcut[phrase], tuple(filter(_has_space, phrase))) for phrase in phrases)
            self._anchored[bit_of.get(anchor, 0)].append((category, number, need, searched))
        string_bits: dict[str, int] = defaultdict(int)
        for requirement, bit in bit_of.items():
            for string in requirement:
                string_bits[string] |= bit
        self._words = _WordBits(_PrefixScan(string_bits))

    def candidates(self, lowered: str) -> dict[int, frozenset[int] | None]:
        """Category (by position) → the numbers of its patterns that may match the text (None: all may)."""
        # map and reduce loop in C: a clause has many words (a set of them costs more than repeated lookups)
        met = reduce(or_, map(self._words.__getitem__, lowered.split()), 0)
        found: dict[_Phrase, bool] = {}  # requirement with white space → whether the text meets it
        possible: dict[int, set[int]] = {}
        for anchor in (0, *_bits_of(met & self._anchor_mask)):
            for category, pattern, need, phrases in self._anchored.get(anchor, ()):
                if met & need == need and all(_meets(met, lowered, phrase, found) for phrase in phrases):
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


def _has_space(string: str) -> bool:
    return any(char.isspace() for char in string)


def _part_requirements(phrase: Requirement) -> list[Requirement]:
    """Word requirements that a text meeting the requirement meets: one part of each of its strings, the longest
    (of equal ones the last: in phrases the words that carry the meaning come last, "for a fee"), then the
    second longest (or again the last), and so on. None when a string is white space only."""
    ranked = [sorted(reversed(string.split()), key=len, reverse=True) for string in phrase]
    if not all(ranked):
        return []
    joined = (frozenset(parts[min(depth, len(parts) - 1)] for parts in ranked) for depth in range(max(map(len, ranked))))
    return list(dict.fromkeys(joined))


_Phrase = tuple[int, tuple[str, ...]]  # a requirement with white space: (shortcut bit, strings with white space)


def _meets(met: int, lowered: str, phrase: _Phrase, found: dict[_Phrase, bool]) -> bool:
    if phrase not in found:
        shortcut, spaced = phrase
        found[phrase] = bool(met & shortcut) or any(string in lowered for string in spaced)
    return found[phrase]


class _WordBits(dict):
    """Word → the bits of the strings it contains, each found on first use and remembered."""

    _LIMIT = 1 << 16  # a policy uses a few thousand distinct words; many policies share most

    def __init__(self, strings: _PrefixScan):
        super().__init__()
        self._strings = strings

    def __missing__(self, word: str) -> int:
        if len(self) >= self._LIMIT:
            self.clear()
        bits = self[word] = self._strings.bits(word)
        return bits


class _PrefixScan:
    """The bits of the strings (each with its bits) that occur in a text, with one regex scan: at each position
    the trie yields the longest string starting there, whose bits include those of its prefixes in the set."""

    def __init__(self, string_bits: dict[str, int]):
        self._bits = {
            string: reduce(or_, (string_bits.get(string[:end], 0) for end in range(1, len(string) + 1)))
            for string in string_bits
        }
        self._scan = re.compile(f"(?=({_trie_pattern(string_bits)}))") if string_bits else None

    def bits(self, text: str) -> int:
        met = 0
        if self._scan is not None:
            for string in set(self._scan.findall(text)):
                met |= self._bits[string]
        return met


def _trie_pattern(strings: Iterable[str]) -> str:
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
    return None  # repeats and classes end a run: enumerating optional parts multiplies the strings


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
