import pytest

from policywatch.clausetext import ClauseTextError, attach_leads, dump, load
from policywatch.models import HEADING, ITEM, PARAGRAPH, ROW, Clause


def test_round_trip_with_leads_sections_and_escapes():
    clauses = attach_leads(
        [
            Clause("Privacy", HEADING),
            Clause("We collect the following:", PARAGRAPH, ("Privacy",)),
            Clause("It continues here.", PARAGRAPH, ("Privacy",), continues=True),
            Clause("your fingerprints", ITEM, ("Privacy",)),
            Clause("your job history", ITEM, ("Privacy",)),
            Clause("- a paragraph that starts like a list item", PARAGRAPH, ("Privacy",)),
            Clause("Sale", HEADING, ("Privacy",)),
            Clause("Category | Sold?", ROW, ("Privacy", "Sale")),
            Clause("Biometric information | No", ROW, ("Privacy", "Sale")),
        ]
    )
    assert clausetext_round_trip(clauses) == clauses
    assert clauses[3].lead == "It continues here."
    assert clauses[8].lead == "Category | Sold?"
    text = dump(clauses)
    assert "## Sale" in text and "\\- a paragraph" in text and "| Biometric information | No |" in text


def clausetext_round_trip(clauses):
    return load(dump(clauses))


@pytest.mark.parametrize("text", ["### skipped\n", " indented\n", "|bad\n", "# \n"])
def test_malformed_files_are_errors(text):
    with pytest.raises(ClauseTextError):
        load(text)
