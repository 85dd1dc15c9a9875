"""Unit tests of the normalize stage: sentences, characters, encodings, formats, HTML structure and errors."""

from __future__ import annotations

import pickle

import pytest

from policywatch import clausetext
from policywatch.models import HEADING, ITEM, PARAGRAPH, ROW, Clause
from policywatch.normalize import (
    NORMALIZER_VERSION,
    NormalizeError,
    check_selector,
    decode,
    normalize,
    normalize_text,
    split_sentences,
)
from policywatch.normalize.chars import clean_text


def texts(clauses: list[Clause]) -> list[str]:
    return [clause.text for clause in clauses]


def html(body: str, **options: object) -> list[Clause]:
    return normalize(f"<html><body>{body}</body></html>".encode(), content_type="text/html", **options)


# --- sentences ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("We sell data. We keep it.", ["We sell data.", "We keep it."]),
        ("We use providers, e.g. Google, and i.e. others.", ["We use providers, e.g. Google, and i.e. others."]),
        ("E.g. This stays. Really.", ["E.g. This stays.", "Really."]),
        ("We are in the U.S. Government agencies may ask.", ["We are in the U.S. Government agencies may ask."]),
        ("Acme, Inc. (the Company) is here.", ["Acme, Inc. (the Company) is here."]),
        ('Acme, Inc. ("Acme") is here.', ['Acme, Inc. ("Acme") is here.']),
        ("Run by Acme, Inc. We comply.", ["Run by Acme, Inc.", "We comply."]),
        ("See No. 5 and Art. 6 GDPR.", ["See No. 5 and Art. 6 GDPR."]),
        ("Mr. Smith and Dr. Jones agree.", ["Mr. Smith and Dr. Jones agree."]),
        ("It costs $3.50. That is 3.5 percent.", ["It costs $3.50.", "That is 3.5 percent."]),
        ("We collect logs, cookies, etc. and more.", ["We collect logs, cookies, etc. and more."]),
        ("We collect logs, cookies, etc. We keep them.", ["We collect logs, cookies, etc.", "We keep them."]),
        ("Wait... Then go. Wait... and go.", ["Wait...", "Then go.", "Wait... and go."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("(See Section 5.) We agree.", ["(See Section 5.)", "We agree."]),
        ("Done. (This is required.) Yes.", ["Done.", "(This is required.)", "Yes."]),
        ("Really?! Yes! Sure?", ["Really?!", "Yes!", "Sure?"]),
        ("1. Scope. These terms apply.", ["1. Scope.", "These terms apply."]),
        ("(a) Data. We collect it.", ["(a) Data.", "We collect it."]),
        ("Visit www.acme.example. We reply.", ["Visit www.acme.example.", "We reply."]),
        ("At 5 p.m. We close.", ["At 5 p.m. We close."]),
        ("Stand: 1. Mai 2004. Neu.", ["Stand: 1. Mai 2004.", "Neu."]),
        ("Wir speichern Daten. Über uns.", ["Wir speichern Daten.", "Über uns."]),
        ("当社は情報を取り扱います。個人情報を保護します。", ["当社は情報を取り扱います。", "個人情報を保護します。"]),
        ("نحن نجمع البيانات. هل توافق؟ نعم.", ["نحن نجمع البيانات.", "هل توافق؟", "نعم."]),
        ("  spaced \n  out.  Next  ", ["spaced out.", "Next"]),
        ("", []),
        ("No final stop", ["No final stop"]),
    ],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


# --- characters ----------------------------------------------------------------------------------------------------


PERSIAN_WITH_ZWNJ = "\u0645\u06cc\u200c\u06af\u0630\u0627\u0631\u06cc\u0645"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\u201cquoted\u201d and \u2018single\u2019", "\"quoted\" and 'single'"),
        ("a \u2013 b \u2014 c \u2012 d \u2212 e \u2011f", "a - b - c - d - e -f"),
        ("no\u00a0break\u202fnarrow\u2009thin", "no break narrow thin"),
        ("zero\u200bwidth soft\u00adhyphen\ufeff", "zerowidth softhyphen"),
        ("\u200e\u202bdirection\u202c marks", "direction marks"),
        ("\uff21\uff22\uff23 \ufb01ne \u2026", "ABC fine ..."),
        ("data\u00b9 m\u00b2 Acme\u2122 \u00bd", "data\u00b9 m\u00b2 Acme\u2122 \u00bd"),
        (PERSIAN_WITH_ZWNJ, PERSIAN_WITH_ZWNJ),
        ("\uff8a\uff9f\uff7d\uff9c\uff70\uff84\uff9e", "\u30d1\u30b9\u30ef\u30fc\u30c9"),
        ("  tabs\tand\nnewlines\r\n  ", "tabs and newlines"),
        ("bell\x07 del\x7f nul\x00 c1\x85end", "bell del nul c1 end"),
        ("lone \ud800 surrogate", "lone surrogate"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


# --- encodings -----------------------------------------------------------------------------------------------------

PAGE = "<p>Caf\u00e9 r\u00e9sum\u00e9 \u2014 \u201cna\u00efve\u201d Soci\u00e9t\u00e9 G\u00e9n\u00e9rale</p>"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (PAGE.encode("utf-8"), "text/html; charset=utf-8"),
        (PAGE.encode("utf-8"), "text/html; charset=ISO-8859-1"),  # the common mislabel
        (PAGE.encode("cp1252"), "text/html; charset=utf-8"),
        (PAGE.encode("cp1252"), "text/html; charset=windows-1252"),
        (PAGE.encode("cp1252"), None),
        (b'<meta charset="windows-1252">' + PAGE.encode("cp1252"), None),
        (codecs_bom := b"\xef\xbb\xbf" + PAGE.encode("utf-8"), None),
        (PAGE.encode("utf-16"), None),
        (PAGE.encode("utf-16-le"), "text/html; charset=utf-16le"),
    ],
)
def test_decode(body: bytes, content_type: str | None) -> None:
    assert PAGE in decode(body, content_type)


def test_decode_keeps_a_declared_legacy_charset() -> None:
    page = '<meta charset="shift_jis"><p>\u500b\u4eba\u60c5\u5831\u3092\u4fdd\u8b77\u3057\u307e\u3059</p>'
    assert decode(page.encode("shift_jis"), None) == page
    assert decode(page.encode("shift_jis"), "text/html; charset=Shift_JIS") == page


def test_decode_treats_a_few_broken_bytes_as_utf8() -> None:
    body = PAGE.encode("utf-8") + b"\xff" + PAGE.encode("utf-8")
    assert decode(body, "text/html; charset=windows-1252").startswith(PAGE)


@pytest.mark.parametrize("content_type", [None, "text/html; charset=bogus", "text/html; charset=", "charset=utf-16"])
@pytest.mark.parametrize("body", [b"", b"\x00" * 9, bytes(range(256)) * 4, b"\xff\xfe\x00", b"<p>\x81\x8d\x8f</p>"])
def test_decode_never_raises(body: bytes, content_type: str | None) -> None:
    assert isinstance(decode(body, content_type), str)


# --- formats and errors ----------------------------------------------------------------------------------------------

MARKDOWN = b"# Title\n\n- *your* email address\n- your phone number\n"


@pytest.mark.parametrize(
    ("content_type", "url", "kinds"),
    [
        ("text/markdown; charset=utf-8", None, [HEADING, ITEM, ITEM]),
        (None, "https://example.org/policy.md", [HEADING, ITEM, ITEM]),
        ("text/plain", "https://raw.example.org/policy.markdown?x=1", [HEADING, ITEM, ITEM]),
        ("text/plain", None, [HEADING, ITEM, ITEM]),  # as plain text: "# Title" alone before more text
        ("text/html", None, [PARAGRAPH]),  # read as HTML, the Markdown is one paragraph
    ],
)
def test_format_is_chosen_from_content_type_then_suffix(content_type, url, kinds) -> None:
    clauses = normalize(MARKDOWN, content_type=content_type, url=url)
    assert [clause.kind for clause in clauses] == kinds


def test_format_is_sniffed_without_type_or_suffix() -> None:
    assert texts(normalize(b"  <!DOCTYPE html><p>We sell your data to brokers.</p>")) == [
        "We sell your data to brokers."
    ]
    assert texts(normalize(b"We sell <your> data.\n\nTo brokers of all kinds.")) == [
        "We sell <your> data.",
        "To brokers of all kinds.",
    ]
    assert texts(normalize(b"Intro text\n<div>We sell your data to brokers.</div>")) == [
        "Intro text",
        "We sell your data to brokers.",
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (b"", "text/html", "empty"),
        (b" \n\t ", None, "empty"),
        (b"<html><body><p>Hi.</p></body></html>", "text/html", "empty"),
        (b"<html><head><script>app()</script></head><body><div id=root></div></body></html>", None, "empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", None, "not-a-policy"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "text/html", "not-a-policy"),
        (b"<html>fine</html>", "image/png", "not-a-policy"),
        (b"GIF89a" + bytes(200), None, "not-a-policy"),
        (bytes(range(256)) * 20, None, "not-a-policy"),
        (b"\x1f\x8b\x08\x00" + bytes(100), "text/html", "not-a-policy"),
    ],
)
def test_normalize_errors(body: bytes, content_type: str | None, kind: str) -> None:
    with pytest.raises(NormalizeError) as caught:
        normalize(body, content_type=content_type)
    assert caught.value.kind == kind
    assert caught.value.hint and "\n" not in caught.value.hint


def test_normalize_error_survives_pickling() -> None:
    error = NormalizeError("empty", "nothing here", "try select")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.kind, copy.message, copy.hint, str(copy)) == ("empty", "nothing here", "try select", "nothing here")
    assert NormalizeError("not-a-policy").hint  # a default hint for each kind


def test_normalize_text_formats() -> None:
    expected = ["Terms", "We sell your data to brokers."]
    assert texts(normalize_text("<h1>Terms</h1><p>We sell your data to brokers.</p>", fmt="html")) == expected
    assert texts(normalize_text("# Terms\n\nWe *sell* your data to brokers.", fmt="markdown")) == expected
    assert texts(normalize_text("Terms\n\nWe sell your data to brokers.", fmt="text")) == expected
    with pytest.raises(ValueError, match="unknown format"):
        normalize_text("x", fmt="pdf")
    with pytest.raises(NormalizeError):
        normalize_text("   ", fmt="markdown")


def test_normalizer_version_is_a_string() -> None:
    assert isinstance(NORMALIZER_VERSION, str) and NORMALIZER_VERSION


# --- selectors -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("selector", ["main", "#policy .body > p", "div[data-x='1'], article", "li:nth-child(2)"])
def test_check_selector_accepts(selector: str) -> None:
    check_selector(selector)


@pytest.mark.parametrize("selector", ["", "  ", "div[", "p::before", "<p>", "#", "div >", "p:unknown-pseudo"])
def test_check_selector_rejects_with_a_readable_message(selector: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_selector(selector)
    assert "selector" in str(caught.value)


def test_invalid_selector_in_normalize_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        html("<p>We sell your data.</p>", select=["div["])


def test_select_uses_matches_in_document_order_and_remove_first() -> None:
    page = (
        "<div id=b><p>Second block of policy text.</p><p class=ad>Buy now, it is on sale.</p></div>"
        "<div id=a><p>First block of policy text.</p></div>"
    )
    clauses = html(page, select=["#a", "#b"], remove=[".ad"])
    assert texts(clauses) == ["Second block of policy text.", "First block of policy text."]


def test_select_nested_matches_count_once() -> None:
    clauses = html("<div class=p><div class=p><p>Policy text that appears once.</p></div></div>", select=[".p"])
    assert texts(clauses) == ["Policy text that appears once."]


def test_select_matching_nothing_is_empty() -> None:
    with pytest.raises(NormalizeError) as caught:
        html("<p>We sell your data to brokers.</p>", select=["#policy"])
    assert caught.value.kind == "empty" and "#policy" in str(caught.value)


def test_selected_element_is_kept_even_if_it_looks_like_chrome() -> None:
    page = (
        "<main><p>Main text that is not the policy at all.</p></main>"
        "<footer><p>The legal text lives here.</p></footer>"
    )
    assert texts(html(page, select=["footer"])) == ["The legal text lives here."]


# --- structure -----------------------------------------------------------------------------------------------------


def test_sections_are_the_headings_above() -> None:
    clauses = html(
        "<h1>A</h1><p>One here.</p><h3>B</h3><p>Two here.</p><h2>C</h2><p>Three here.</p><h1>D</h1><p>4.</p>"
    )
    assert [(clause.text, clause.section) for clause in clauses] == [
        ("A", ()),
        ("One here.", ("A",)),
        ("B", ("A",)),
        ("Two here.", ("A", "B")),
        ("C", ("A",)),
        ("Three here.", ("A", "C")),
        ("D", ()),
        ("4.", ("D",)),
    ]


def test_heading_depth_is_capped_at_six() -> None:
    headings = "".join(f"<div role=heading aria-level={level}>H{level}</div>" for level in range(1, 10))
    clauses = html(headings + "<p>Deep down in the page, the text.</p>")
    assert max(len(clause.section) for clause in clauses) == 6
    assert clausetext.load(clausetext.dump(clauses)) == clauses


def test_bold_line_is_a_paragraph_not_a_heading() -> None:
    clauses = html("<p><b>Data we collect</b></p><p>We collect your name.</p>")
    assert [(clause.kind, clause.section) for clause in clauses] == [(PARAGRAPH, ()), (PARAGRAPH, ())]


def test_lead_in_sentence_and_items() -> None:
    clauses = html("<p>Intro. We may collect:</p><ul><li>your fingerprints</li><li>your face</li></ul>")
    items = [clause for clause in clauses if clause.kind == ITEM]
    assert [(item.text, item.lead) for item in items] == [
        ("your fingerprints", "We may collect:"),
        ("your face", "We may collect:"),
    ]


def test_nested_list_items_have_their_own_text() -> None:
    clauses = html("<ul><li>outer <b>item</b><ul><li>inner one</li><li>inner two</li></ul></li></ul>")
    assert texts(clauses) == ["outer item", "inner one", "inner two"]


def test_rows_join_cells_and_lead_with_the_header() -> None:
    clauses = html(
        "<table><tr><th>Data</th><th>Sold</th></tr><tr><td>Email</td><td>Yes</td></tr>"
        "<tr><td>Location</td><td><p>No</p></td></tr></table>"
    )
    assert [(clause.kind, clause.text, clause.lead) for clause in clauses] == [
        (ROW, "Data | Sold", ""),
        (ROW, "Email | Yes", "Data | Sold"),
        (ROW, "Location | No", "Data | Sold"),
    ]


def test_paragraph_sentences_continue() -> None:
    clauses = html("<p>One thing. Two things. Three things.</p><p>Another paragraph.</p>")
    assert [clause.continues for clause in clauses] == [False, True, True, False]


def test_inline_markup_never_splits_and_blocks_do() -> None:
    page = "<p>We <a href=#>sell</a> <span>your</span> <em>data</em> to bro<b>kers</b>.</p>"
    assert texts(html(page)) == ["We sell your data to brokers."]
    assert texts(html("<div>We sell<div>your personal data</div>to brokers</div>")) == [
        "We sell",
        "your personal data",
        "to brokers",
    ]


def test_cookie_banners_are_dropped_but_cookie_sections_are_not() -> None:
    page = (
        "<div class='cookie-banner'><p>We use cookies on this site. OK?</p></div>"
        "<div id='CybotCookiebotDialog'><p>Consent preferences for this site.</p></div>"
        "<section id='cookies'><h2>Cookies</h2><p>We use cookies to remember you.</p></section>"
    )
    assert texts(html(page)) == ["Cookies", "We use cookies to remember you."]


def test_hidden_text_is_dropped_unless_it_is_most_of_the_page() -> None:
    small = "<p>Visible policy text for everyone.</p><p hidden>Hidden tracking note.</p>"
    assert texts(html(small)) == ["Visible policy text for everyone."]
    collapsed = (
        "<p>Read the sections.</p><div aria-hidden=true><p>The whole policy text, collapsed by a script.</p></div>"
    )
    assert texts(html(collapsed)) == ["Read the sections.", "The whole policy text, collapsed by a script."]


def test_main_content_is_preferred() -> None:
    policy = "We sell your data to brokers. We keep it for ten years."
    page = f"<div class=promo><p>Big sale today on everything in the shop!</p></div><main><p>{policy}</p></main>"
    assert texts(html(page)) == split_sentences(policy)


@pytest.mark.parametrize(
    "page",
    [
        "<div>" * 10_000 + "<p>Deeply nested policy text.</p>" + "</div>" * 10_000,
        "<ul><li>item " * 10_000,
        "<table><tr><td>" * 3_000 + "cell text here",
        "<span>" * 10_000 + "inline nesting text" + "</span>" * 10_000,
        "<h2>" * 5_000 + "heading soup text",
        "<p>" + "<b><i>" * 10_000 + "unclosed everything",
    ],
)
def test_deep_nesting_gives_clauses_or_a_normalize_error(page: str) -> None:
    try:
        clauses = normalize(page.encode(), content_type="text/html")
    except NormalizeError:
        return
    assert clausetext.load(clausetext.dump(clauses)) == clauses


def test_deep_markdown_and_text_nesting() -> None:
    for fmt, text in [("markdown", "> " * 10_000 + "quoted"), ("markdown", "- " * 10_000 + "x"), ("text", "- x\n" * 5)]:
        try:
            clauses = normalize_text(text, fmt=fmt)
        except NormalizeError:
            continue
        assert clausetext.load(clausetext.dump(clauses)) == clauses
