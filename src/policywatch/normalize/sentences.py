"""An abbreviation-aware sentence splitter, tuned for the register of privacy policies and terms."""

from __future__ import annotations

import re

# A sentence ends at . ! ? (or the Arabic, Urdu and Devanagari stops), possibly repeated ("...", "?!"),
# possibly followed by closing quotes or brackets, then whitespace. The CJK full stop needs no space after it.
# The lookahead skips, cheaply, the candidates that an ASCII lower-case word follows ("e.g. the").
_SENTENCE_END = re.compile(r"""[.!?\u061f\u06d4\u0964]+["')\]}\u00bb]*(?=\s\(?["'\u00ab\u00bf\u00a1]*(?![a-z])\w)""")
_CJK_FULL_STOP = "\u3002"
# Only for text that has one: the alternation makes the scan of all other text twice as slow.
_SENTENCE_END_OR_CJK = re.compile(f"{_SENTENCE_END.pattern}|{_CJK_FULL_STOP}[\u300d\u300f\uff09\"')\\]]*")

# Abbreviations that (almost) never end a sentence in a policy: titles, references, Latin, months.
# "Inc.", "Ltd." and "etc." are missing on purpose: they often do end one, and then a capital follows.
_NON_FINAL_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft hon gen col lt sgt rev
    no nos art arts sec secs ss para paras cl fig figs vol vols ch chap pp p pg ed eds op
    cf vs v e.g i.e eg ie viz al approx ca incl esp dept est ref refs resp seq ibid
    jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)
_DOTTED_INITIALS = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]|[^\W\d_]")  # "U.S", "a.m", "J"
# A sentence that is only an enumerator ("1.", "(b)", "IV.", "2.1.") is the label of the next one.
_ENUMERATOR = re.compile(r"[(\[]?(?:\d{1,3}(?:\.\d{1,3})*|[ivxlcdm]{1,6}|[IVXLCDM]{1,6}|[^\W\d_])[.)\]]*")
# German writes ordinal dates with a period: "Stand: 1. Mai 2004".
_ORDINAL_DATE = re.compile(
    r"\d{1,2}\. (?:Januar|J\u00e4nner|Februar|M\u00e4rz|April|Mai|Juni|Juli|August|September|Oktober|November"
    r"|Dezember)\b"
)
_OPENING_PUNCTUATION = ("\"", "'", "\u00ab", "\u00bf", "\u00a1")
_LEADING_PUNCTUATION = "\"'([{\u00ab"


def _starts_sentence(text: str, position: int) -> bool:
    """Whether the text at `position` (just after the whitespace) can begin a new sentence."""
    if text.startswith("(", position):
        position += 1
        if text.startswith(_OPENING_PUNCTUATION, position):  # 'Acme, Inc. ("Acme")' defines a term
            return False
    while position < len(text) and text[position] in _OPENING_PUNCTUATION:
        position += 1
    if position == len(text):
        return False
    first = text[position]
    # Upper case, a digit or a letter of a script without case (CJK, Arabic, Hebrew…); not a lower-case word.
    return first.isdigit() or (first.isalpha() and not first.islower())


def _ends_with_abbreviation(text: str, start: int, period: int) -> bool:
    word_start = text.rfind(" ", start, period) + 1
    word = text[word_start:period].lstrip(_LEADING_PUNCTUATION)
    return (
        word.lower() in _NON_FINAL_ABBREVIATIONS
        or _DOTTED_INITIALS.fullmatch(word) is not None
        or _ORDINAL_DATE.match(text, word_start) is not None
    )


def split_sentences(text: str) -> list[str]:
    """Split `text` (whitespace is collapsed first) into sentences; never returns empty strings."""
    text = " ".join(text.split())
    sentences: list[str] = []
    start = 0
    ends = _SENTENCE_END_OR_CJK if _CJK_FULL_STOP in text else _SENTENCE_END
    for end_mark in ends.finditer(text):
        end = end_mark.end()
        next_start = end + 1 if end < len(text) and text[end] == " " else end
        if next_start >= len(text):
            break
        if end_mark.group().startswith(_CJK_FULL_STOP):
            is_boundary = True
        else:
            single_period = end_mark.group().rstrip("\"')]}\u00bb") == "."
            is_boundary = _starts_sentence(text, next_start) and not (
                single_period and _ends_with_abbreviation(text, start, end_mark.start())
            )
        if is_boundary and not _ENUMERATOR.fullmatch(text[start:end]):
            sentences.append(text[start:end])
            start = next_start
    if start < len(text):
        sentences.append(text[start:])
    return sentences
