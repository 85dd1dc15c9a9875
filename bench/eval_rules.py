"""Precision and recall of the built-in rulebook on the labelled sentence set, per category.

    python bench/eval_rules.py [LABELLED_YAML] [--misses]

Prints a Markdown table (paste into the README) and, with --misses, every misclassified sentence.
"""

from __future__ import annotations

import sys
from pathlib import Path

from policywatch.classify import Rulebook, evaluate

DEFAULT_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "labelled_clauses.yaml"


def _labels(categories: frozenset[str]) -> str:
    return ", ".join(sorted(categories)) or "-"


def main(argv: list[str]) -> int:
    paths = [arg for arg in argv if not arg.startswith("--")]
    report = evaluate(Rulebook.load(), Path(paths[0]) if paths else DEFAULT_SET)
    print(f"{report.sentences} labelled sentences, {len(report.misclassified)} misclassified\n")
    print(report.table())
    if "--misses" in argv:
        for miss in report.misclassified:
            print(f"- {miss.clause.text}")
            print(f"    risk: expected {_labels(miss.expected_risk)}; got {_labels(miss.predicted_risk)}")
            if miss.expected_protection != miss.predicted_protection:
                print(
                    f"    protection: expected {_labels(miss.expected_protection)}; "
                    f"got {_labels(miss.predicted_protection)}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
