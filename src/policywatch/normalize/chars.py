"""Character-level cleanup: the same words always come out as the same string, whatever the markup or typography."""

from __future__ import annotations

import re
import unicodedata

# NFKC folds width variants, ligatures, no-break spaces and "…" into plain forms, but it would also turn
# footnote marks, "™", fractions, circled numbers and Korean compatibility jamo into other text: keep those.
_KEEP_FROM_NFKC = re.compile(
    "([\u00b2\u00b3\u00b9\u00bc-\u00be\u2070-\u209f\u2120\u2122\u2150-\u218f\u2460-\u24ff\u3130-\u318f\u3200-\u33ff]+)"
)

_STRAIGHT = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
}
_QUOTE_OR_DASH = re.compile(f"[{''.join(_STRAIGHT)}]")  # a regex finds the few of them faster than str.translate
# Deleted: control characters, lone surrogates (they cannot be written out as UTF-8) and the invisible
# characters that markup churn adds and removes (soft hyphen, zero-width space, word joiner, BOM, direction
# marks and embeddings). ZWJ/ZWNJ stay: they change how Persian and Indic words are spelled.
# They go before NFKC, so that the characters around them compose as if they had never been there.
_DELETED = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff\u00ad\u180e\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]+"
)
_ASCII_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f]")


def _nfkc(text: str) -> str:
    if not _KEEP_FROM_NFKC.search(text):
        return unicodedata.normalize("NFKC", text)
    pieces = _KEEP_FROM_NFKC.split(text)  # odd indexes are the kept runs
    return "".join(piece if index % 2 else unicodedata.normalize("NFKC", piece) for index, piece in enumerate(pieces))


def _straighten(match: re.Match[str]) -> str:
    return _STRAIGHT[match.group()]


def clean_text(text: str) -> str:
    """Unicode-normalize `text`, straighten quotes and dashes, drop invisible characters and collapse whitespace."""
    if not text.isascii():
        text = _QUOTE_OR_DASH.sub(_straighten, _nfkc(_DELETED.sub("", text)))
    text = " ".join(text.split())
    if not text.isprintable():  # rare: an ASCII control character, a private-use icon glyph…
        text = " ".join(_ASCII_CONTROL.sub("", text).split())
    return text
