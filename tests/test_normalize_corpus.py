"""The normalizer on real pages: ../shared/corpus (336 captured policy pages and real Markdown versions).

A fresh clone has no corpus beside it: then these tests skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policywatch import clausetext
from policywatch.models import ITEM, PARAGRAPH, Clause
from policywatch.normalize import NormalizeError, normalize, normalize_text

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
PAGES = CORPUS / "pages"
VERSIONS = CORPUS / "versions"
# Some captures are a 404, a redirect stub or a JavaScript shell; most must still give clauses.
MIN_SHARE_WITH_CLAUSES = 0.9


def _require(path: Path) -> Path:
    if not path.is_dir():
        pytest.skip(f"{path} is not present (a fresh clone has no ../shared/corpus)")
    return path


def test_every_page_gives_clauses_or_a_normalize_error() -> None:
    pages = sorted(_require(PAGES).glob("*.html"))
    with_clauses = without_clauses = 0
    for page in pages:
        body = page.read_bytes()
        try:
            clauses = normalize(body, content_type="text/html", url=page.name)
        except NormalizeError as error:
            assert error.kind == "empty", (page.name, error)  # all the pages are HTML
            without_clauses += bool(body.strip())
            continue
        assert clausetext.load(clausetext.dump(clauses)) == clauses, page.name
        with_clauses += 1
    assert with_clauses >= MIN_SHARE_WITH_CLAUSES * (with_clauses + without_clauses)


def test_pages_normalize_the_same_way_twice() -> None:
    for page in sorted(_require(PAGES).glob("*.html"))[::25]:
        body = page.read_bytes()
        try:
            first = clausetext.dump(normalize(body, url=page.name))
        except NormalizeError:
            continue
        assert clausetext.dump(normalize(body, url=page.name)) == first, page.name


def test_truncated_and_mislabelled_pages_give_clauses_or_a_normalize_error() -> None:
    for page in sorted(_require(PAGES).glob("*.html"))[::20]:
        body = page.read_bytes()
        for variant, content_type in [
            (body[: len(body) // 3], "text/html"),
            (body[: len(body) // 2 + 1], "text/html; charset=utf-16"),
            (body.replace(b"<", b"<<", 50), "text/html; charset=windows-1252"),
        ]:
            try:
                clauses = normalize(variant, content_type=content_type)
            except NormalizeError:
                continue
            assert clausetext.load(clausetext.dump(clauses)) == clauses, page.name


@pytest.mark.parametrize("side", ["before", "after"])
def test_real_markdown_versions_round_trip(side: str) -> None:
    for case in sorted(_require(VERSIONS).iterdir()):
        if case.is_dir():
            clauses = normalize_text((case / f"{side}.md").read_text(encoding="utf-8"), fmt="markdown")
            assert clausetext.load(clausetext.dump(clauses)) == clauses, case.name


def test_x_2023_additions_are_clauses_of_their_own() -> None:
    case = _require(VERSIONS) / "x-privacy-2023"
    before = normalize_text((case / "before.md").read_text(encoding="utf-8"), fmt="markdown")
    after = normalize_text((case / "after.md").read_text(encoding="utf-8"), fmt="markdown")
    before_texts = {clause.text for clause in before}
    added = [clause for clause in after if clause.text not in before_texts]

    def the_clause(words: str) -> Clause:
        matches = [clause for clause in added if words in clause.text]
        assert len(matches) == 1, (words, matches)
        return matches[0]

    biometric = the_clause("Biometric Information")
    jobs = the_clause("Job Applications")
    training = the_clause("train our machine learning or artificial intelligence models")
    assert biometric.kind == ITEM and biometric.text.startswith("Biometric Information.")
    assert jobs.kind == ITEM and jobs.text.startswith("Job Applications / Recommendations.")
    assert training.kind == PARAGRAPH and training.text.startswith("We may use the information we collect")
    assert biometric.section[-1] == "1.1 Information you provide us."
