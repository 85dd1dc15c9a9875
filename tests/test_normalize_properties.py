"""Properties of the normalizer over generated input: it round-trips, is deterministic and never crashes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policywatch import clausetext
from policywatch.models import Clause
from policywatch.normalize import NormalizeError, normalize, normalize_text, split_sentences
from policywatch.normalize.chars import clean_text

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that stresses the clause format: markup look-alikes, escapes, odd whitespace, non-Latin scripts.
WORDS = st.sampled_from(
    [
        "We", "sell", "your", "data.", "e.g.", "Inc.", "U.S.", "No.", "3.5", "...", "?", "!", "-", "#", "|", "||",
        "\\", "*", "**", "_", "`", "<", ">", "&amp;", "&nbsp;", "&#8203;", "\u00ad", "\u201cquote\u201d", "\u2014",
        "\u00a0", "\t", "\n", "\r\n", "\u2028", "\u3002", "\u5f53\u793e", "\u0645\u0627", "\ufeff", "1.", "(a)",
        "[link](http://x)", "- item", "| cell |", "# head", "\\-", "  ",
    ]
)  # fmt: skip
PROSE = st.sampled_from(["We collect your email address.", "You agree to arbitration", "Cookies", "Privacy Policy"])
TEXT = st.lists(PROSE | PROSE | WORDS | st.text(max_size=8), max_size=12).map(" ".join)
BLOCK_TAGS = st.sampled_from(
    ["p", "div", "section", "article", "main", "li", "ul", "ol", "h1", "h2", "h3", "h5", "table", "tr", "td", "th",
     "blockquote", "pre", "dl", "dt", "dd", "details", "summary", "caption", "center", "x-widget"]
)  # fmt: skip
INLINE_TAGS = st.sampled_from(["span", "b", "strong", "em", "a", "i", "code", "font", "sup", "br", "wbr", "img"])
JUNK_TAGS = st.sampled_from(
    ["script", "style", "noscript", "template", "svg", "iframe", "button", "select", "header", "footer", "nav", "form"]
)
ATTRIBUTES = st.sampled_from(
    ["", "", "", "", "", "", " hidden", ' aria-hidden="true"', ' style="display:none"',
     ' role="heading" aria-level="4"', ' class="cookie-banner"', ' id="onetrust-banner-sdk"', ' role="main"', ' class="content"', ' role="presentation"']
)  # fmt: skip


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    tag = st.one_of(BLOCK_TAGS, BLOCK_TAGS, INLINE_TAGS, JUNK_TAGS)
    def element(name: str, attributes: str, inner: list[str], closed: bool) -> str:
        return f"<{name}{attributes}>{''.join(inner)}" + (f"</{name}>" if closed else "")

    return st.builds(
        element,
        tag,
        ATTRIBUTES,
        st.lists(children, max_size=4),
        st.booleans(),
    )


HTML = st.lists(st.recursive(TEXT, _element, max_leaves=12), min_size=1, max_size=6).map(
    lambda parts: f"<html><body>{''.join(parts)}</body></html>"
)
MARKDOWN_LINES = st.sampled_from(
    ["# Title", "## Section", "Setext", "===", "---", "* item", "- item", "+ item", "1. item", "    indented",
     "> quote", "| a | b |", "| --- | --- |", "```", "<div>html</div>", "**bold** and _em_", "[x](y)", "\\# hash", ""]
)  # fmt: skip
MARKDOWN = st.lists(MARKDOWN_LINES | TEXT, max_size=25).map("\n".join)
PLAIN_TEXT = st.lists(st.sampled_from(["", "TITLE", "- item", "1. item", "\u2022 item"]) | TEXT, max_size=25).map(
    "\n".join
)
CONTENT_TYPES = st.sampled_from(
    [None, "text/html", "text/html; charset=utf-8", "text/html; charset=windows-1252", "text/plain", "text/markdown",
     "application/octet-stream", "application/pdf", "text/html; charset=utf-16", "text/html; charset=nonsense"]
)  # fmt: skip


def assert_well_formed(clauses: list[Clause]) -> None:
    """What every output promises: it round-trips through the stored format and has clean one-line texts."""
    assert clauses
    assert clausetext.load(clausetext.dump(clauses)) == clauses
    for clause in clauses:
        assert clause.text and clause.text == clause.text.strip() and "\n" not in clause.text


def check(produce, *kinds: str) -> None:
    """`produce()` gives well-formed clauses, the same twice, or a NormalizeError of one of `kinds`."""
    try:
        clauses = produce()
    except NormalizeError as error:
        assert error.kind in kinds and error.hint, error
        return
    assert_well_formed(clauses)
    assert produce() == clauses


DOCUMENTS = st.one_of(
    HTML.map(lambda page: ("html", page)),
    MARKDOWN.map(lambda text: ("markdown", text)),
    PLAIN_TEXT.map(lambda text: ("text", text)),
)
# Bytes as they come off the network: random, or a generated page in some (maybe wrongly declared) encoding.
BODIES = st.one_of(
    st.binary(max_size=3000),
    st.builds(
        lambda page, encoding: page.encode(encoding, "replace"), HTML, st.sampled_from(["utf-8", "cp1252", "utf-16"])
    ),
)


@SETTINGS
@given(DOCUMENTS)
def test_documents_round_trip_and_are_deterministic(document: tuple[str, str]) -> None:
    fmt, text = document
    check(lambda: normalize_text(text, fmt=fmt), "empty")  # from text, "not-a-policy" would be a bug caught


@SETTINGS
@given(BODIES, CONTENT_TYPES, st.sampled_from([None, "x.html", "x.md", "x.txt", "x.pdf"]))
def test_any_body_gives_clauses_or_a_normalize_error(body: bytes, content_type: str | None, url: str | None) -> None:
    check(lambda: normalize(body, content_type=content_type, url=url), "empty", "not-a-policy")


@SETTINGS
@given(st.text())
def test_split_sentences_loses_nothing(text: str) -> None:
    sentences = split_sentences(text)
    assert " ".join(sentences) == " ".join(text.split())
    assert all(sentence and sentence == sentence.strip() for sentence in sentences)


@SETTINGS
@given(st.text())
def test_clean_text_is_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    assert "\n" not in cleaned and cleaned == cleaned.strip()
