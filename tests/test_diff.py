from policywatch.diff import diff_clauses, word_diff
from policywatch.models import ADDED, HEADING, ITEM, MODIFIED, MOVED, REMOVED, Clause


def paragraphs(*texts, section=("Policy",)):
    return [Clause(t, section=section) for t in texts]


def kinds(changes):
    return [(c.kind, c.old.text if c.old else None, c.new.text if c.new else None) for c in changes]


def test_identical_lists_have_no_changes():
    clauses = paragraphs("A one.", "B two.", "C three.")
    assert diff_clauses(clauses, list(clauses)) == []


def test_added_removed_and_modified():
    old = paragraphs("We collect your name.", "We keep logs for 18 months.", "Contact us at privacy@example.com.")
    new = paragraphs(
        "We collect your name and your employment history.",
        "Contact us at privacy@example.com.",
        "We may use your data to train our AI models.",
    )
    assert kinds(diff_clauses(old, new)) == [
        (MODIFIED, "We collect your name.", "We collect your name and your employment history."),
        (REMOVED, "We keep logs for 18 months.", None),
        (ADDED, None, "We may use your data to train our AI models."),
    ]


def test_same_clause_in_a_new_place_is_a_move_not_remove_and_add():
    old = paragraphs("First.", "Second.", "Third.", "Fourth.")
    new = paragraphs("First.", "Third.", "Fourth.", "Second.")
    assert kinds(diff_clauses(old, new)) == [(MOVED, "Second.", "Second.")]


def test_rename_inside_a_sentence_is_modified_with_word_diff():
    old = paragraphs("Twitter may share your information with partners.")
    new = paragraphs("X may share your information with partners.")
    (change,) = diff_clauses(old, new)
    assert change.kind == MODIFIED
    assert word_diff(change.old.text, change.new.text) == [
        ("delete", "Twitter"),
        ("insert", "X"),
        ("equal", " may share your information with partners."),
    ]


def test_heading_rename_is_one_change_and_clauses_below_are_unchanged():
    old = [Clause("Twitter data", HEADING), Clause("We collect data.", section=("Twitter data",))]
    new = [Clause("X data", HEADING), Clause("We collect data.", section=("X data",))]
    assert kinds(diff_clauses(old, new)) == [(MODIFIED, "Twitter data", "X data")]


def test_dissimilar_replacement_is_remove_plus_add():
    old = paragraphs("We honour Do Not Track signals.")
    new = paragraphs("Arbitration is mandatory for every dispute.")
    assert [c.kind for c in diff_clauses(old, new)] == [REMOVED, ADDED]


def test_repeated_identical_clauses_align_without_spurious_changes():
    old = paragraphs(*["Yes."] * 50, "Tail.")
    new = paragraphs(*["Yes."] * 49, "Tail.", "New clause here.")
    assert kinds(diff_clauses(old, new)) == [(REMOVED, "Yes.", None), (ADDED, None, "New clause here.")]


def test_list_item_insertion_in_long_document():
    items = [Clause(f"Item number {i} about data category {i}.", ITEM) for i in range(500)]
    new = items[:250] + [Clause("Biometric information such as face geometry.", ITEM)] + items[250:]
    assert kinds(diff_clauses(items, new)) == [(ADDED, None, "Biometric information such as face geometry.")]


def test_large_near_identical_gap_stays_linear_and_pairs_neighbours():
    old = paragraphs(*[f"Clause {i} says the same words as the others." for i in range(1000)])
    new = paragraphs(*[f"Clause {i} says the same words as the others, changed." for i in range(1000)])
    changes = diff_clauses(old, new)
    assert len(changes) == 1000
    assert all(c.kind == MODIFIED and c.old.text.split()[1] == c.new.text.split()[1] for c in changes[:50])
