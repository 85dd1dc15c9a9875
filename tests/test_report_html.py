"""`policywatch report --html` and `--format html`: one self-contained page, escaped, checked in a real
headless Chromium (skipped where there is none; .ci/run installs Debian's `chromium`)."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from helpers import REPO, run_cli
from policywatch.classify import Rulebook
from policywatch.core import CHANGED, ERROR, SUSPICIOUS, UNCHANGED, CheckReport, CompareReport, Failure, PolicyReport
from policywatch.history import History
from policywatch.models import ADDED, MODIFIED, Change, Clause, Finding, Severity
from policywatch.report.base import ReportStyle
from policywatch.report.html import HtmlReporter
from policywatch.report.markdown import MarkdownReporter
from policywatch.store import Store
from test_cli_check import V1, V2
from test_history import build_store

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or (Path("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else None)


class Page(HTMLParser):
    """Every tag with its attributes, the text, and the inline style sheets of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)


def write_report(tmp_path, *args) -> tuple[Path, str]:
    if not (tmp_path / "snapshots").is_dir():
        build_store(tmp_path / "snapshots")
    out = tmp_path / "report.html"
    result = run_cli("report", "--html", str(out), "--store", str(tmp_path / "snapshots"), *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stderr and not result.stdout
    return out, out.read_text(encoding="utf-8")


def test_report_is_self_contained_and_escapes_policy_text(tmp_path):
    _, html = write_report(tmp_path, "--since", "2026-01-01")
    page = Page(html)
    names = [tag for tag, _ in page.tags]
    assert not {"script", "link", "img", "iframe", "object", "embed", "base"} & set(names)
    assert all(not key.startswith("on") for _, attrs in page.tags for key in attrs)
    assert not re.search(r"url\(|@import|@font-face", "".join(page.styles))
    hrefs = [attrs["href"] for tag, attrs in page.tags if "href" in attrs]
    assert all(h.startswith("#") or h == "http://127.0.0.1:9/privacy" for h in hrefs)
    assert any(tag == "meta" and "default-src 'none'" in attrs.get("content", "") for tag, attrs in page.tags)
    assert "@media print" in "".join(page.styles)
    # The hostile clause arrives as text, its angle brackets escaped.
    assert "<script>alert(1)</script>" in "".join(page.text) and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_shows_latest_change_by_default_and_everything_since_a_date(tmp_path):
    _, latest = write_report(tmp_path)
    sections = re.findall(r'<section class="policy" id="p\d+">', latest)
    assert len(sections) == 1 and "data-sale" in latest and "Baseline recorded" not in latest
    assert '<span class="badge high">1 high</span>' in latest  # the lost no-sale promise
    _, since = write_report(tmp_path, "acme", "--since", "2026-01-01")
    assert len(re.findall(r'<section class="policy"', since)) == 3  # baseline, then two changes
    assert "Baseline recorded" in since
    marks = re.findall(r'<mark class="risk" title="([^"]+)">([^<]+)</mark>', since)
    assert any(title.startswith("biometric (high, new-risk)") and "biometric" in text.lower() for title, text in marks)
    assert any(title.startswith("data-sale") for title, _ in marks)
    assert '<span class="why">' in since  # each finding's category explained


def test_every_report_format_includes_html(tmp_path):
    (tmp_path / "old.html").write_text(V1)
    (tmp_path / "new.html").write_text(V2)
    compared = run_cli("compare", str(tmp_path / "old.html"), str(tmp_path / "new.html"), "--format", "html")
    assert compared.returncode == 1 and compared.stdout.startswith("<!DOCTYPE html>")
    assert '<mark class="risk"' in compared.stdout and "<ins>" in compared.stdout
    scanned = run_cli("scan", str(tmp_path / "new.html"), "--format", "html")
    assert scanned.returncode == 0 and '<mark class="protection"' in scanned.stdout
    build_store(tmp_path / "snapshots")
    diffed = run_cli("diff", "acme", "--store", str(tmp_path / "snapshots"), "--from", "1", "-f", "html", cwd=tmp_path)
    assert diffed.returncode == 1 and "2026-01-10 08:00 UTC → 2026-06-20 08:00 UTC" in diffed.stdout


def test_unchanged_policies_of_a_run_get_a_row_but_no_section():
    changed = PolicyReport("acme", "Acme", "https://acme.test/privacy", CHANGED,
                           [Change(ADDED, None, Clause("We sell data to <b>brokers</b>."))])
    quiet = PolicyReport("calm", "Calm Corp", "javascript:alert(1)", UNCHANGED)
    html = HtmlReporter().check(CheckReport([changed, quiet], Severity.HIGH))
    assert html.count('<section class="policy"') == 1 and "<td>Calm Corp</td>" in html
    assert "javascript:" not in html and "&lt;b&gt;brokers&lt;/b&gt;" in html
    verbose = HtmlReporter(ReportStyle(verbose=True)).check(CheckReport([changed, quiet], Severity.HIGH))
    assert verbose.count('<section class="policy"') == 2


# A probe the test adds to a copy of the page (the report itself has no scripts): it records what the
# rendered page shows, so the assertions are about layout, not just markup.
PROBE = """<script>
const visible = (el) => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none" && s.color !== s.backgroundColor; };
const out = document.createElement("pre"); out.id = "probe";
out.textContent = JSON.stringify({
  marks: [...document.querySelectorAll("mark.risk")].filter(visible).map((m) => m.textContent),
  why: [...document.querySelectorAll(".why")].filter(visible).length,
  badges: [...document.querySelectorAll(".badge.high")].filter(visible).length,
  markBackground: getComputedStyle(document.querySelector("mark.risk")).backgroundColor,
});
document.body.appendChild(out);
</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it on CI)")
def test_findings_are_visible_in_a_real_browser_and_the_page_prints(tmp_path):
    out, html = write_report(tmp_path, "--since", "2026-01-01")
    probed = tmp_path / "probed.html"
    probed.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html).replace("</body>", PROBE + "</body>"))
    dom = chromium(tmp_path, "--dump-dom", probed.as_uri())
    probe = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S).group(1).replace("&amp;", "&").replace("&quot;", '"'))
    # Every finding whose evidence stands in its clause is visibly marked, and every finding is explained.
    steps = History(Store(tmp_path / "snapshots")).timeline([], Rulebook.load(), None).policies
    findings = [(change, f) for step in steps for change in step.changes for f in change.findings]
    # (A mark that straddles a word-level change is drawn in pieces: adjacent pieces are joined back.)
    shown = " ".join("".join(probe["marks"]).lower().split())
    for change, finding in findings:
        clause = " ".join((change.old if finding.event == "lost-protection" else change.new).text.lower().split())
        for piece in finding.evidence.lower().split("…"):  # evidence may be several pieces of the clause
            if " ".join(piece.split()) in clause:
                assert " ".join(piece.split()) in shown, finding
    assert {"biometric", "ai-training", "data-sale"} <= {f.category for _, f in findings}
    assert "biometric" in shown
    assert probe["why"] == sum(1 for _, f in findings if f.explanation) >= 3
    assert probe["badges"] >= 3
    assert probe["markBackground"] == "rgb(255, 214, 168)"  # the inline style sheet applied

    # The page itself, untouched: it renders offline from a file:// URL, and a screenshot is kept.
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    chromium(tmp_path, "--window-size=1280,2200", f"--screenshot={shot}", out.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = chromium(tmp_path, "--dump-dom", out.as_uri()).stdout
    assert "data-sale" in dom and '<mark class="risk"' in dom

    # Printed: every version step starts a page of its own after the summary.
    pdf = ARTIFACTS / "report.pdf"
    pdf.unlink(missing_ok=True)
    chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", out.as_uri())
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))
    assert pages >= 4


def test_a_modified_clause_is_shown_side_by_side_with_word_changes_and_evidence_marked():
    change = Change(MODIFIED, Clause("We keep your data for 18 months."),
                    Clause("We keep your data for 18 months and use it to train our machine learning models."),
                    findings=[Finding("ai-training", Severity.HIGH, "new-risk", "train our machine learning", "AI training.")])
    html = HtmlReporter().compare(CompareReport("old.html", "new.html", [change], Severity.HIGH))
    before, after = re.search(r'<div class="sides"><div><h4>Before</h4>(.*?)</div><div><h4>After</h4>(.*?)</div></div>', html).groups()
    assert "<ins>" not in before and "<del>" not in before  # nothing was taken away
    assert '<mark class="risk" title="ai-training (high, new-risk)">train our machine learning</mark>' in after
    assert re.search(r"<ins>[^<]*and use it to </ins>", after)


def test_a_failed_or_suspicious_policy_says_why_and_where_the_capture_went():
    failed = PolicyReport("gone", "Gone", "https://gone.test/p", ERROR, failure=Failure("http-404", "HTTP 404", "find its new URL"))
    aside = "snapshots/acme/suspicious/2026-05-01T00-00-00Z"
    odd = PolicyReport("acme", "Acme", "https://acme.test/p", SUSPICIOUS, version="2026-04-01T00-00-00Z", clauses=40,
                       failure=Failure("suspicious", "lost 80% of its text", "inspect it"), set_aside=aside)
    html = HtmlReporter().check(CheckReport([failed, odd], Severity.HIGH))
    assert "<b>http-404</b>: HTTP 404" in html and " 0 clauses" not in html  # nothing was fetched, nothing counted
    assert f"kept aside in <code>{aside}</code>" in html and "40 clauses" in html
    markdown = MarkdownReporter().check(CheckReport([failed, odd], Severity.HIGH))
    assert "**http-404**: HTTP 404" in markdown and f"kept aside in `{aside}`" in markdown
