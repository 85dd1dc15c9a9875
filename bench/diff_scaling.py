"""Diff scaling: a 1 MB policy, and adversarial clause lists at 1k / 10k / 100k clauses.

    python bench/diff_scaling.py [--sizes 1000,10000,100000]

Each case times diff_clauses on generated old/new clause lists; a linear (or n log n) algorithm shows about
10× the time for 10× the clauses, a quadratic one 100×.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable

from policywatch.diff import diff_clauses, word_diff
from policywatch.models import HEADING, MODIFIED, Clause

_WORDS = (
    "we may collect use share store process disclose personal information data about you your device account "
    "services partners advertising location contacts cookies analytics law request delete access retain period "
    "third parties affiliates security purposes consent rights marketing content messages payment identifiers"
).split()


def sentence(rng: random.Random, words: int = 18) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def edited(rng: random.Random, clauses: list[Clause], share: float) -> list[Clause]:
    """A new version: `share` of the clauses reworded, half as many added and removed."""
    new: list[Clause] = []
    for clause in clauses:
        roll = rng.random()
        if roll < share:
            words = clause.text.split()
            words[rng.randrange(len(words))] = "biometric"
            new.append(Clause(" ".join(words), clause.kind, clause.section))
        elif roll < share * 1.5:
            continue
        else:
            new.append(clause)
        if rng.random() < share / 2:
            new.append(Clause(sentence(rng), section=clause.section))
    return new


def policy_of_size(rng: random.Random, size: int) -> list[Clause]:
    clauses: list[Clause] = []
    section: tuple[str, ...] = ()
    total = 0
    while total < size:
        if len(clauses) % 25 == 0:
            heading = f"{len(clauses) // 25 + 1}. {sentence(rng, 4)[:-1]}"
            clauses.append(Clause(heading, HEADING))
            section = (heading,)
        clauses.append(Clause(sentence(rng), section=section))
        total += len(clauses[-1].text) + 1
    return clauses


def _unique(n: int, rng: random.Random) -> tuple[list[Clause], list[Clause]]:
    old = [Clause(f"{i}: {sentence(rng, 12)}") for i in range(n)]
    return old, edited(rng, old, 0.01)


def _identical(n: int, rng: random.Random) -> tuple[list[Clause], list[Clause]]:
    old = [Clause("We may share your information with our partners.")] * n
    return old, edited(rng, old, 0.01)


def _near_identical(n: int, rng: random.Random) -> tuple[list[Clause], list[Clause]]:
    old = [Clause(f"Clause {i} says the same words as the others.") for i in range(n)]
    return old, [Clause(f"Clause {i} says the same words as the others, changed.") for i in range(n)]


def _few_distinct(n: int, rng: random.Random) -> tuple[list[Clause], list[Clause]]:
    texts = [sentence(rng) for _ in range(10)]
    old = [Clause(rng.choice(texts)) for _ in range(n)]
    return old, edited(rng, old, 0.01)


def _shuffled(n: int, rng: random.Random) -> tuple[list[Clause], list[Clause]]:
    old = [Clause(f"{i}: {sentence(rng, 8)}") for i in range(n)]
    new = list(old)
    rng.shuffle(new)
    return old, new


CASES: dict[str, Callable[[int, random.Random], tuple[list[Clause], list[Clause]]]] = {
    "unique, 1% edited": _unique,
    "all identical, 1% edited": _identical,
    "near-identical, all edited": _near_identical,
    "10 distinct texts repeated": _few_distinct,
    "shuffled (all moved)": _shuffled,
}


def timed(function: Callable, *args):
    """(CPU seconds, result): the diff is single-threaded, and CPU time does not count other work on the machine."""
    start = time.process_time()
    result = function(*args)
    return time.process_time() - start, result


def megabyte_policy() -> tuple[int, int, int, float, float]:
    """(bytes, clauses, changes, diff seconds, diff + inline word-diff seconds) for two versions of a 1 MB policy."""
    rng = random.Random(1)
    old = policy_of_size(rng, 1_000_000)
    new = edited(rng, old, 0.02)
    seconds, changes = timed(diff_clauses, old, new)
    words, _ = timed(lambda: [word_diff(c.old.text, c.new.text) for c in changes if c.kind == MODIFIED])
    size = sum(len(c.text) + 1 for c in old)
    return size, len(old), len(changes), seconds, seconds + words


def scaling(sizes: list[int]) -> list[tuple[str, list[tuple[float, int]]]]:
    """Per case, (seconds, changes) at each size."""
    rows = []
    for name, make in CASES.items():
        cells = []
        for n in sizes:
            old, new = make(n, random.Random(n))
            seconds, changes = timed(diff_clauses, old, new)
            cells.append((seconds, len(changes)))
        rows.append((name, cells))
    return rows


def report(sizes: list[int]) -> str:
    size, clauses, changes, seconds, with_words = megabyte_policy()
    lines = [
        f"Two versions of a {size / 1e6:.2f} MB policy ({clauses} clauses, {changes} changes): "
        f"diff {seconds:.3f} s, with inline word diffs {with_words:.3f} s (target < 1 s; CPU seconds)",
        "",
        "| case (CPU time of diff_clauses) | " + " | ".join(f"{n:,} clauses" for n in sizes) + " | growth per 10× |",
        "|---|" + "---:|" * len(sizes) + "---:|",
    ]
    for name, cells in scaling(sizes):
        growth = ""
        if len(cells) > 1 and cells[0][0] > 0:
            steps = max(1.0, math.log10(sizes[-1] / sizes[0]))
            growth = f"{(cells[-1][0] / cells[0][0]) ** (1 / steps):.1f}×"
        lines.append(f"| {name} | " + " | ".join(f"{s * 1000:,.0f} ms" for s, _ in cells) + f" | {growth} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated clause counts")
    args = parser.parse_args()
    print(report([int(n) for n in args.sizes.split(",")]))


if __name__ == "__main__":
    main()
