"""The Markdown report (PR comments, issues, $GITHUB_STEP_SUMMARY) on check, compare and diff."""

import re

from helpers import run_cli
from policywatch.classify import Rulebook
from policywatch.core import CHANGED, NEW, UNCHANGED, CheckReport, CompareReport, PolicyReport
from policywatch.history import History
from policywatch.models import ADDED, MODIFIED, Change, Clause, Severity
from policywatch.report.markdown import MAX_FULL_DIFF, MAX_FULL_DIFF_CHARS, MarkdownReporter, escape
from test_cli_check import V1, V2, setup_policy
from test_history import build_store


def diff_markdown(tmp_path, old="2", new="3") -> str:
    history = History(build_store(tmp_path / "snapshots"))
    return MarkdownReporter().check(history.diff("acme", old, new, Rulebook.load(), Severity.HIGH))


def test_diff_markdown_has_link_findings_table_highlights_and_folded_full_diff(tmp_path):
    text = diff_markdown(tmp_path, "1", "2")
    assert "### [acme](<http://127.0.0.1:9/privacy>) — changed" in text
    assert "Version `2026-01-10T08-00-00Z` → `2026-03-05T08-00-00Z`" in text
    table = [line for line in text.splitlines() if line.startswith("| 🔴 high |")]
    assert {"`biometric`", "`ai-training`"} <= {cell.strip() for line in table for cell in line.split("|")}
    assert all(line.count(" | ") == 4 for line in table)  # five cells, whatever the evidence holds
    assert re.search(r"^- `biometric`: \w+", text, re.M), "each category is explained under the table"
    flagged, full = text.split("<details>")
    assert "**Clauses with findings**" in flagged
    assert "train our machine learning" in flagged and "🔴 high `ai-training` new-risk" in flagged
    assert full.startswith("<summary>Full diff: ") and "</details>" in full


def test_untrusted_policy_text_cannot_inject_markup_or_mention_anyone(tmp_path):
    text = diff_markdown(tmp_path)
    assert "lost-protection" in text and "`data-sale`" in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "@acme-legal" not in text and "@\u2060acme-legal" in text
    assert not re.search(r"(?<!\\)\]\(javascript:", text) and r"\[terms\]" in text
    assert "**now**" not in text and r"\*\*now\*\*" in text
    assert escape("a | b\nc") == r"a \| b c"
    assert "<del>" in text  # the dropped promise is struck through


def test_modified_clauses_get_word_level_highlights():
    change = Change(MODIFIED, Clause("We keep your data for 18 months."), Clause("We keep your data for as long as we need it."))
    text = MarkdownReporter().compare(CompareReport("old.md", "new.md", [change], Severity.HIGH))
    assert "We keep your data for <del>18</del><ins>as</ins> <del>months</del><ins>long as we need it</ins>." in text


def test_full_diff_is_cut_short_for_comment_size_limits():
    changes = [Change(ADDED, None, Clause(f"Clause number {i}.")) for i in range(MAX_FULL_DIFF + 7)]
    text = MarkdownReporter().compare(CompareReport("old.html", "new.html", changes, Severity.HIGH))
    assert f"Full diff: {MAX_FULL_DIFF + 7} changed clause(s)" in text
    assert f"Clause number {MAX_FULL_DIFF - 1}." in text and f"Clause number {MAX_FULL_DIFF}." not in text
    assert "… and 7 more" in text
    long_clauses = [Change(ADDED, None, Clause(f"{i} " + "word " * 400)) for i in range(40)]
    text = MarkdownReporter().compare(CompareReport("old.html", "new.html", long_clauses, Severity.HIGH))
    shown = text.count("\n- **added**")
    assert 0 < shown < 40 and f"… and {40 - shown} more" in text
    assert len(text) < MAX_FULL_DIFF_CHARS + 1000


def test_markdown_on_check_and_compare_from_the_command_line(tmp_path, server):
    config = setup_policy(tmp_path, server)
    first = run_cli("check", "-c", str(config), "-f", "markdown")
    assert first.returncode == 0 and "Baseline recorded" in first.stdout
    server.page("/privacy", V2)
    second = run_cli("check", "-c", str(config), "-f", "markdown")
    assert second.returncode == 1
    assert second.stdout.startswith("## policywatch report")
    assert re.search(r"^\| \[acme\]\(<http[^|]+/privacy>\) \| changed \| \d+ \| 🔴 [2-9] high", second.stdout, re.M)
    assert "<summary>Full diff:" in second.stdout
    (tmp_path / "old.html").write_text(V1)
    (tmp_path / "new.html").write_text(V2)
    compared = run_cli("compare", str(tmp_path / "old.html"), str(tmp_path / "new.html"), "-f", "markdown")
    assert compared.returncode == 1 and "`biometric`" in compared.stdout


def test_a_run_over_many_policies_still_fits_a_comment():
    """Full diffs share one budget across the report; unchanged policies and baselines fold into one line."""
    def changed(number: int) -> PolicyReport:
        changes = [Change(ADDED, None, Clause(f"Policy {number} clause {i} " + "word " * 60)) for i in range(40)]
        return PolicyReport(f"p{number}", f"Policy {number}", "https://example.org/p", CHANGED, changes,
                            version="2026-05-01T00-00-00Z", previous_version="2026-04-01T00-00-00Z")

    quiet = [
        PolicyReport(f"q{n}", f"Quiet {n}", "https://example.org/q", UNCHANGED if n % 2 else NEW, version="2026-05-01T00-00-00Z")
        for n in range(1000)
    ]
    text = MarkdownReporter().check(CheckReport([changed(n) for n in range(30)] + quiet, Severity.HIGH))
    assert len(text) < 65_536
    assert text.count("<details>") == 30 and "… and 40 more" in text  # the last policies' diffs are left to the JSON
    assert "And 500 new, 500 unchanged (the JSON report lists every policy)." in text and "Quiet 1" not in text
    few = MarkdownReporter().check(CheckReport([changed(1), *quiet[:3]], Severity.HIGH))
    assert "| [Quiet 1](<https://example.org/q>) | unchanged | 0 | — |" in few and "Baseline recorded" in few
