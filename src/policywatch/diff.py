"""Align two clause lists into added / removed / modified / moved changes.

Alignment is patience-style: clauses whose text is unique on both sides anchor the match (longest
increasing run), and the gaps between anchors are matched recursively, with difflib only inside small
gaps. That keeps policies with thousands of identical or near-identical clauses from going quadratic.
Unmatched clauses are then paired: the same text elsewhere is a move, a similar text nearby a modification.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict, deque
from difflib import SequenceMatcher

from policywatch.models import ADDED, MODIFIED, MOVED, REMOVED, Change, Clause

SIMILARITY_THRESHOLD = 0.5  # share of words two clause versions must have in common to be "modified"
_SMALL_GAP = 64  # gaps up to this size (each side) are matched exhaustively with difflib
_PAIRING_WINDOW = 40  # in large gaps, a new clause is compared with the old ones this close in position
_CLEARLY_SAME = 0.8  # in large gaps, the nearest match this close ends the search for a clause
_TOKEN = re.compile(r"\w+|[^\w\s]+|\s+")


def diff_clauses(old: list[Clause], new: list[Clause]) -> list[Change]:
    old_keys = [c.text for c in old]
    new_keys = [c.text for c in new]
    matches = _align(old_keys, new_keys)
    changes: list[Change] = []
    unmatched_old: dict[str, deque[int]] = defaultdict(deque)
    matched_old = set(i for i, _ in matches)
    for i, key in enumerate(old_keys):
        if i not in matched_old:
            unmatched_old[key].append(i)
    # Same text elsewhere: a move, decided before similarity pairing so a move is never a modification.
    moved_from: dict[int, int] = {}
    matched_new = set(j for _, j in matches)
    for j, key in enumerate(new_keys):
        if j not in matched_new and unmatched_old.get(key):
            moved_from[j] = unmatched_old[key].popleft()
    moved_old = set(moved_from.values())

    bounds = [(-1, -1), *matches, (len(old), len(new))]
    for (old_start, new_start), (old_end, new_end) in zip(bounds, bounds[1:]):
        gap_old = [i for i in range(old_start + 1, old_end) if i not in moved_old]
        gap_new = [j for j in range(new_start + 1, new_end) if j not in moved_from]
        pairs = _pair_similar(gap_old, gap_new, old_keys, new_keys)
        paired_old = set(pairs.values())
        removed = deque(i for i in gap_old if i not in paired_old)
        # For each new clause, the old index of the next paired clause after it (removals before it go first).
        next_paired: dict[int, int] = {}
        upcoming = len(old)
        for j in range(new_end - 1, new_start, -1):
            next_paired[j] = upcoming
            if j in pairs:
                upcoming = pairs[j]
        for j in range(new_start + 1, new_end):
            if j in moved_from:
                changes.append(Change(MOVED, old[moved_from[j]], new[j]))
            elif j in pairs:
                # Removals that stood before this clause's old version are reported before it.
                while removed and removed[0] < pairs[j]:
                    changes.append(Change(REMOVED, old[removed.popleft()], None))
                changes.append(Change(MODIFIED, old[pairs[j]], new[j]))
            else:
                while removed and removed[0] < next_paired[j]:
                    changes.append(Change(REMOVED, old[removed.popleft()], None))
                changes.append(Change(ADDED, None, new[j]))
        changes.extend(Change(REMOVED, old[i], None) for i in removed)
    return changes


def _align(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """Pairs (i, j) of equal keys, increasing in both i and j."""
    result: list[tuple[int, int]] = []
    _align_range(old, new, 0, len(old), 0, len(new), result)
    return result


def _align_range(old, new, old_lo, old_hi, new_lo, new_hi, out: list[tuple[int, int]]) -> None:
    # Work-list instead of recursion: adversarial inputs can nest deeply.
    stack = [(old_lo, old_hi, new_lo, new_hi)]
    while stack:
        old_lo, old_hi, new_lo, new_hi = stack.pop()
        # Equal prefix and suffix are matched directly (handles runs of identical clauses linearly).
        while old_lo < old_hi and new_lo < new_hi and old[old_lo] == new[new_lo]:
            out.append((old_lo, new_lo))
            old_lo, new_lo = old_lo + 1, new_lo + 1
        while old_lo < old_hi and new_lo < new_hi and old[old_hi - 1] == new[new_hi - 1]:
            out.append((old_hi - 1, new_hi - 1))
            old_hi, new_hi = old_hi - 1, new_hi - 1
        if old_lo == old_hi or new_lo == new_hi:
            continue
        if old_hi - old_lo <= _SMALL_GAP and new_hi - new_lo <= _SMALL_GAP:
            matcher = SequenceMatcher(None, old[old_lo:old_hi], new[new_lo:new_hi], autojunk=False)
            for block in matcher.get_matching_blocks():
                out.extend((old_lo + block.a + k, new_lo + block.b + k) for k in range(block.size))
            continue
        anchors = _unique_anchors(old, new, old_lo, old_hi, new_lo, new_hi)
        if not anchors:
            continue  # nothing unique to anchor on: leave the gap to pairing
        bounds = [(old_lo - 1, new_lo - 1), *anchors, (old_hi, new_hi)]
        out.extend(anchors)
        for (a_i, a_j), (b_i, b_j) in zip(bounds, bounds[1:]):
            if b_i - a_i > 1 and b_j - a_j > 1:
                stack.append((a_i + 1, b_i, a_j + 1, b_j))
    out.sort()


def _unique_anchors(old, new, old_lo, old_hi, new_lo, new_hi) -> list[tuple[int, int]]:
    """Keys that occur once in each range, kept in the longest order-preserving run."""
    old_counts = Counter(old[old_lo:old_hi])
    new_counts = Counter(new[new_lo:new_hi])
    old_index = {old[i]: i for i in range(old_lo, old_hi) if old_counts[old[i]] == 1}
    candidates = [
        (old_index[new[j]], j) for j in range(new_lo, new_hi) if new_counts[new[j]] == 1 and new[j] in old_index
    ]
    return _longest_increasing(candidates)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest subsequence of pairs (already increasing in j) that is increasing in i: O(n log n)."""
    tails: list[int] = []  # smallest old index ending a run of each length
    tail_at: list[int] = []  # position in pairs of that run's last element
    previous = [-1] * len(pairs)
    for position, (i, _) in enumerate(pairs):
        length = bisect.bisect_left(tails, i)
        if length == len(tails):
            tails.append(i)
            tail_at.append(position)
        else:
            tails[length] = i
            tail_at[length] = position
        previous[position] = tail_at[length - 1] if length else -1
    run: list[tuple[int, int]] = []
    position = tail_at[-1] if tail_at else -1
    while position != -1:
        run.append(pairs[position])
        position = previous[position]
    return run[::-1]


def _words(text: str) -> list[str]:
    return text.lower().split()


def _pair_similar(gap_old: list[int], gap_new: list[int], old_keys, new_keys) -> dict[int, int]:
    """Pair each new clause with the most similar unpaired old clause of the same gap (new index → old index)."""
    if not gap_old or not gap_new:
        return {}
    old_words = {i: _words(old_keys[i]) for i in gap_old}
    scored: list[tuple[float, int, int]] = []
    exhaustive = len(gap_old) * len(gap_new) <= _PAIRING_WINDOW * _PAIRING_WINDOW * 4
    for position, j in enumerate(gap_new):
        new_words = _words(new_keys[j])
        if exhaustive:
            candidates = gap_old
        else:  # compare with old clauses near the proportional position only: linear in the gap size
            centre = min(position * len(gap_old) // len(gap_new), len(gap_old) - 1)
            nearby = range(max(0, centre - _PAIRING_WINDOW), min(len(gap_old), centre + _PAIRING_WINDOW + 1))
            candidates = [gap_old[k] for k in sorted(nearby, key=lambda k: abs(k - centre))]
        matcher = SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(new_words)
        for i in candidates:
            matcher.set_seq1(old_words[i])
            if matcher.real_quick_ratio() < SIMILARITY_THRESHOLD or matcher.quick_ratio() < SIMILARITY_THRESHOLD:
                continue
            ratio = matcher.ratio()
            if ratio >= SIMILARITY_THRESHOLD:
                scored.append((ratio, i, j))
                if not exhaustive and ratio >= _CLEARLY_SAME:
                    break  # an in-place edit: the nearest close match is the one
    pairs: dict[int, int] = {}
    used_old: set[int] = set()
    for _, i, j in sorted(scored, key=lambda item: (-item[0], item[2], item[1])):
        if j not in pairs and i not in used_old:
            pairs[j] = i
            used_old.add(i)
    return pairs


def word_diff(old_text: str, new_text: str) -> list[tuple[str, str]]:
    """Word-level inline diff as (op, text) segments, op in equal / delete / insert."""
    old_tokens = _TOKEN.findall(old_text)
    new_tokens = _TOKEN.findall(new_text)
    segments: list[tuple[str, str]] = []
    matcher = SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    for op, a_lo, a_hi, b_lo, b_hi in matcher.get_opcodes():
        if op == "equal":
            segments.append(("equal", "".join(old_tokens[a_lo:a_hi])))
            continue
        if a_hi > a_lo:
            segments.append(("delete", "".join(old_tokens[a_lo:a_hi])))
        if b_hi > b_lo:
            segments.append(("insert", "".join(new_tokens[b_lo:b_hi])))
    return segments
