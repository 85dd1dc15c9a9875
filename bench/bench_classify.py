"""Time classifying a 200 KB policy with the built-in rulebook (figures only; tests never time).

    python bench/bench_classify.py

Two documents of 200 KB of clause text: real policy text (the new versions of the corpus pairs, X, LinkedIn
and Zoom, read in turn) when ../shared/corpus is present, and the labelled sentences repeated (dense with
risky language: a worst case; this one needs no corpus). Prints ms per policy and MB/s (median of runs), and
the first run apart: it also compiles the patterns the document needs and meets the document's words for the
first time (the prefilter remembers what it found in each distinct word; a `check` of many policies shares
them), so a CLI run pays load + first run. "New words" is a run of a new rulebook whose patterns are all
compiled already: what meeting a document's words for the first time costs by itself.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from itertools import cycle
from pathlib import Path

from policywatch.classify import Rulebook
from policywatch.classify.evaluate import load_labelled
from policywatch.models import Clause

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "labelled_clauses.yaml"
CORPUS = ROOT.parent / "shared" / "corpus" / "versions"
TARGET_BYTES = 200 * 1024
RUNS = 7


def repeat_to_size(clauses: list[Clause]) -> tuple[list[Clause], int]:
    """The clauses repeated to TARGET_BYTES of text, and its size in bytes (a newline after each clause)."""
    document: list[Clause] = []
    size = 0
    for clause in cycle(clauses):
        if size >= TARGET_BYTES:
            return document, size
        document.append(clause)
        size += len(clause.text.encode("utf-8")) + 1


def corpus_clauses() -> list[Clause]:
    from policywatch.normalize import normalize_text

    clauses: list[Clause] = []
    for after in sorted(CORPUS.glob("*/after.md")):
        clauses += normalize_text(after.read_text(encoding="utf-8"), fmt="markdown")
    return clauses


def cpu_time(scan: Callable[[list[Clause]], object], document: list[Clause]) -> float:
    started = time.process_time()
    scan(document)
    return time.process_time() - started


def measure(name: str, rulebook: Rulebook, clauses: list[Clause]) -> None:
    document, size = repeat_to_size(clauses)
    first = cpu_time(rulebook.scan, document)
    fresh = Rulebook.load()
    fresh.check_patterns()
    new_words = cpu_time(fresh.scan, document)
    walls, cpus = [], []
    for _ in range(RUNS):
        wall, cpu = time.perf_counter(), time.process_time()
        scanned = rulebook.scan(document)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    matched = sum(1 for s in scanned if s.matches)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    # CPU time too: on a busy machine the wall clock also counts the time other processes had the core.
    print(
        f"{name}: {size / 1024:.0f} KB, {len(document)} clauses ({matched} with matches): "
        f"{wall * 1000:.1f} ms per policy ({cpu * 1000:.1f} ms CPU; medians of {RUNS}), "
        f"{size / wall / 1e6:.2f} MB/s ({size / cpu / 1e6:.2f} MB/s of CPU); first run {first * 1000:.1f} ms CPU, "
        f"new words {new_words * 1000:.1f} ms CPU"
    )


def main() -> int:
    started, cpu = time.perf_counter(), time.process_time()
    rulebook = Rulebook.load()
    print(
        f"Rulebook.load(): {(time.perf_counter() - started) * 1000:.1f} ms ({(time.process_time() - cpu) * 1000:.1f} ms "
        "CPU; patterns are compiled on first use)"
    )
    if CORPUS.is_dir():
        measure("real policy text (corpus)", rulebook, corpus_clauses())
    else:
        print(f"real policy text: skipped, {CORPUS} not found")
    measure("generated (labelled sentences repeated)", rulebook, [entry.clause for entry in load_labelled(LABELLED)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
