"""Snapshot cases of the normalizer, kept as data files in normalize_cases/ (like black's test data).

Each input `NAME.EXT` may have `NAME.args.json` (`content_type`, `select`, `remove`); what it must give is
`NAME.clauses.md` (the clauses in the stored clause-text format) or `NAME.error` (the NormalizeError kind).
To add a case, write the input and run `POLICYWATCH_UPDATE_CASES=1 python -m pytest tests/test_normalize_cases.py`,
then read the expected file it wrote as a reviewer would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from policywatch import clausetext
from policywatch.normalize import NormalizeError, normalize

CASES = Path(__file__).parent / "normalize_cases"
EXPECTED_CLAUSES = ".clauses.md"
EXPECTED_ERROR = ".error"
ARGUMENTS = ".args.json"
UPDATE = os.environ.get("POLICYWATCH_UPDATE_CASES") == "1"


def _inputs() -> list[Path]:
    return sorted(
        path for path in CASES.iterdir() if not path.name.endswith((EXPECTED_CLAUSES, EXPECTED_ERROR, ARGUMENTS))
    )


def _sibling(source: Path, suffix: str) -> Path:
    return source.with_name(source.stem + suffix)


def _run(source: Path) -> str:
    """The case's output as text: the clause file, or `error: KIND`."""
    arguments_file = _sibling(source, ARGUMENTS)
    arguments = json.loads(arguments_file.read_text()) if arguments_file.exists() else {}
    try:
        clauses = normalize(source.read_bytes(), url=source.name, **arguments)
    except NormalizeError as error:
        return f"error: {error.kind}\n"
    assert clausetext.load(clausetext.dump(clauses)) == clauses
    return clausetext.dump(clauses)


@pytest.mark.parametrize("source", _inputs(), ids=lambda path: path.name)
def test_case(source: Path) -> None:
    actual = _run(source)
    clauses_file, error_file = _sibling(source, EXPECTED_CLAUSES), _sibling(source, EXPECTED_ERROR)
    if UPDATE:
        clauses_file.unlink(missing_ok=True)
        error_file.unlink(missing_ok=True)
        if actual.startswith("error: "):
            error_file.write_text(actual.removeprefix("error: "))
        else:
            clauses_file.write_text(actual)
    expected = f"error: {error_file.read_text()}" if error_file.exists() else clauses_file.read_text()
    assert actual == expected
    assert _run(source) == actual  # deterministic


def test_markup_churn_gives_identical_clauses() -> None:
    assert _run(CASES / "markup-churn-a.html") == _run(CASES / "markup-churn-b.html")


def test_every_case_has_an_expectation() -> None:
    for source in _inputs():
        assert _sibling(source, EXPECTED_CLAUSES).exists() or _sibling(source, EXPECTED_ERROR).exists(), source.name
