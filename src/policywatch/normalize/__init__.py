"""The normalize stage: a fetched page (HTML, Markdown or plain text) → ordered clauses.

Every output goes through `clausetext.attach_leads` and round-trips through `clausetext.dump` / `load`.
The same input always gives the same clauses; bump NORMALIZER_VERSION whenever that output changes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from policywatch.models import HEADING, Clause
from policywatch.normalize.blocks import Block, clauses_from_blocks
from policywatch.normalize.css import check_selector
from policywatch.normalize.encoding import decode
from policywatch.normalize.errors import EMPTY, NOT_A_POLICY, NormalizeError
from policywatch.normalize.html import extract_blocks
from policywatch.normalize.plaintext import extract_text_blocks
from policywatch.normalize.sentences import split_sentences

__all__ = [
    "NORMALIZER_VERSION",
    "NormalizeError",
    "check_selector",
    "decode",
    "normalize",
    "normalize_text",
    "split_sentences",
]

NORMALIZER_VERSION = "1"

FORMATS = ("html", "markdown", "text")
_FORMAT_OF_TYPE = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
}
_FORMAT_OF_SUFFIX = {
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}
_UNREADABLE_TYPES = re.compile(
    r"application/(?:pdf|zip|gzip|x-gzip|x-tar|x-7z-compressed|x-rar-compressed|msword|vnd\.[\w.+-]+|json"
    r"|javascript|x-shockwave-flash)|(?:image|audio|video|font)/[\w.+-]+|text/(?:css|javascript)"
)
_MAGIC_NUMBERS = (
    b"%PDF-", b"\x89PNG", b"GIF87a", b"GIF89a", b"\xff\xd8\xff", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x1f\x8b",
    b"RIFF", b"OggS", b"ID3", b"wOFF", b"wOF2", b"\x7fELF", b"7z\xbc\xaf", b"Rar!", b"\x00\x00\x01\x00",
)  # fmt: skip
_MARKUP_START = re.compile(
    r"\s*<(?:!doctype|html|head|body|\?xml|!--|meta|title|link|script|style|div|p|h[1-6]|main|article|section"
    r"|table|ul|ol|span|a|header|nav|form|center|font|b|br)[\s>/]",
    re.IGNORECASE,
)
_MARKUP_INSIDE = re.compile(r"<(?:html|body|p|div|br)[\s>/]", re.IGNORECASE)
# Share of control characters and U+FFFD (undecodable bytes) above which a body is binary junk.
MAX_JUNK_SHARE = 0.1
_JUNK_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1f\x7f\ufffd]")
_JUNK_SAMPLE = 20_000
# Fewer letters and digits than this outside headings is no policy (a redirect, an error page, a bare title).
MIN_TEXT_CHARS = 20


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _suffix(url: str | None) -> str:
    if not url:
        return ""
    try:
        path = urlsplit(url).path or url
    except ValueError:
        path = url
    return PurePosixPath(path).suffix.lower()


def _not_a_policy(what: str) -> NormalizeError:
    return NormalizeError(NOT_A_POLICY, f"the content is {what}, not an HTML, Markdown or text page")


def _choose_format(body: bytes, content_type: str | None, url: str | None) -> str:
    media_type = _media_type(content_type)
    head = body[:1024].lstrip()
    if head.startswith(_MAGIC_NUMBERS) or _UNREADABLE_TYPES.fullmatch(media_type):
        raise _not_a_policy(f"binary ({media_type or 'by its first bytes'})")
    by_suffix = _FORMAT_OF_SUFFIX.get(_suffix(url))
    by_type = _FORMAT_OF_TYPE.get(media_type)
    if by_type == "text" and by_suffix == "markdown":
        return "markdown"  # raw file hosts send text/plain for everything
    return by_type or by_suffix or ""


def _sniff_format(text: str) -> str:
    return "html" if _MARKUP_START.match(text) or _MARKUP_INSIDE.search(text, 0, 2048) else "text"


def _check_not_junk(text: str) -> None:
    sample = text[:_JUNK_SAMPLE]
    if sample and len(_JUNK_CHARACTERS.findall(sample)) > MAX_JUNK_SHARE * len(sample):
        raise _not_a_policy("binary data")


def _blocks(text: str, fmt: str, select: Sequence[str], remove: Sequence[str]) -> list[Block]:
    if fmt == "html":
        return extract_blocks(text, select=select, remove=remove)
    if fmt == "markdown":
        # Imported here: markdown-it costs 50 ms at every start-up and few policies are Markdown.
        from policywatch.normalize.markdown import extract_markdown_blocks

        return extract_markdown_blocks(text, select=select, remove=remove)
    return extract_text_blocks(text)


def _has_enough_text(clauses: list[Clause]) -> bool:
    letters = 0
    for clause in clauses:
        if clause.kind != HEADING:
            letters += sum(char.isalnum() for char in clause.text)
        if letters >= MIN_TEXT_CHARS:
            return True
    return False


def _clauses(text: str, fmt: str, select: Sequence[str], remove: Sequence[str]) -> list[Clause]:
    """The shared pipeline; turns any failure into clauses or a NormalizeError."""
    try:
        clauses = clauses_from_blocks(_blocks(text, fmt, select, remove))
    except NormalizeError:
        raise
    except Exception as error:  # RecursionError, MemoryError, a bug: never let one page stop the run
        raise NormalizeError(
            NOT_A_POLICY,
            f"the page could not be read ({type(error).__name__}: {error})",
            "this is a policywatch bug or a pathological page: please report it with the page attached",
        ) from error
    if not _has_enough_text(clauses):
        raise NormalizeError(EMPTY, "the selected part of the page has no text" if select else "")
    return clauses


def _check_selectors(select: Sequence[str], remove: Sequence[str]) -> None:
    if isinstance(select, str) or isinstance(remove, str):
        raise TypeError("select and remove are sequences of CSS selectors, not one string")
    for selector in (*select, *remove):
        check_selector(selector)


def normalize(
    body: bytes,
    *,
    content_type: str | None = None,
    url: str | None = None,
    select: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> list[Clause]:
    """The clauses of a fetched body. Raises NormalizeError about the content, ValueError for a bad selector."""
    _check_selectors(select, remove)
    if not body or not body.strip():
        raise NormalizeError(EMPTY, "the page is empty")
    try:
        fmt = _choose_format(body, content_type, url)
        text = decode(body, content_type)
        _check_not_junk(text)
    except NormalizeError:
        raise
    except Exception as error:
        raise _not_a_policy(f"unreadable ({type(error).__name__})") from error
    return _clauses(text, fmt or _sniff_format(text), select, remove)


def normalize_text(text: str, *, fmt: str) -> list[Clause]:
    """The clauses of already-decoded text; `fmt` is "html", "markdown" or "text"."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return _clauses(text, fmt, (), ())
