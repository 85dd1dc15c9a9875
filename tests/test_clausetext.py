import pytest

from policywatch.clausetext import ClauseTextError, attach_leads, dump, load
from policywatch.models import HEADING, ITEM, PARAGRAPH, ROW, Clause

CLAUSES = attach_leads(
    [
        Clause("Privacy", HEADING),
        Clause("We collect the following:", PARAGRAPH, ("Privacy",)),
        Clause("It continues here.", PARAGRAPH, ("Privacy",), continues=True),
        Clause("your fingerprints", ITEM, ("Privacy",)),
        Clause("# not a heading", ITEM, ("Privacy",)),
        Clause("- a paragraph that starts like a list item", PARAGRAPH, ("Privacy",)),
        Clause("Sale", HEADING, ("Privacy",)),
        Clause("Category | Sold?", ROW, ("Privacy", "Sale")),
        Clause("Biometric information | No", ROW, ("Privacy", "Sale")),
        Clause("| looks like a row |", PARAGRAPH, ("Privacy", "Sale")),
    ]
)


def test_round_trip_with_leads_sections_and_escapes():
    assert load(dump(CLAUSES)) == CLAUSES
    assert CLAUSES[3].lead == CLAUSES[4].lead == "It continues here."
    assert CLAUSES[8].lead == "Category | Sold?"
    assert dump([]) == "" and load("") == []


def test_the_stored_form_is_pinned_line_by_line():
    # Users commit these files: any change to the form turns every stored policy into a diff.
    assert dump(CLAUSES) == (
        "# Privacy\n"
        "\n"
        "We collect the following:\n"
        "It continues here.\n"
        "\n"
        "- your fingerprints\n"
        "- # not a heading\n"
        "\n"
        "\\- a paragraph that starts like a list item\n"
        "\n"
        "## Sale\n"
        "\n"
        "| Category | Sold? |\n"
        "| Biometric information | No |\n"
        "\n"
        "\\| looks like a row |\n"
    )


@pytest.mark.parametrize("text", ["### skipped\n", " indented\n", "|bad\n", "# \n"])
def test_malformed_files_are_errors(text):
    with pytest.raises(ClauseTextError):
        load(text)
