"""Precision and recall of the built-in rulebook on the labelled sentence set, per category.

    python bench/eval_rules.py [LABELLED_YAML] [--misses]

Prints a Markdown table (paste into the README) and, with --misses, every misclassified sentence.
"""

from __future__ import annotations

import sys
from pathlib import Path

from policywatch.classify import Rulebook, evaluate

DEFAULT_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "labelled_clauses.yaml"


def main(argv: list[str]) -> int:
    paths = [arg for arg in argv if not arg.startswith("--")]
    report = evaluate(Rulebook.load(), Path(paths[0]) if paths else DEFAULT_SET)
    print(f"{report.sentences} labelled sentences, {len(report.misclassified)} misclassified\n")
    print(report.table())
    if "--misses" in argv:
        for miss in report.misclassified:
            print(miss.describe(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
