"""Plain text → blocks: blank lines separate paragraphs, bullets start items, a few lines are headings."""

from __future__ import annotations

import re

from policywatch.models import HEADING, ITEM, PARAGRAPH
from policywatch.normalize.blocks import Block
from policywatch.normalize.chars import clean_text

_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_BULLET = re.compile(r"[^\S\n]*(?:[-*\u2022]|\d{1,3}[.)])[^\S\n]+(?=\S)")
# A heading is one short line standing alone before more text: ALL CAPS, or without closing punctuation.
MAX_HEADING_LINE = 100
_SENTENCE_PUNCTUATION = tuple(".,;:!?")


def _heading_level(line: str) -> int:
    """1 for an ALL-CAPS line, 2 for another heading-like line, 0 for a line that is not a heading."""
    line = line.strip()
    if len(line) > MAX_HEADING_LINE or not any(char.isalpha() for char in line):
        return 0
    if line.upper() == line and line.lower() != line:
        return 1
    if _BULLET.match(line) or line.endswith(_SENTENCE_PUNCTUATION):
        return 0
    return 2


def extract_text_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []

    def add(kind: str, lines: list[str]) -> None:
        cleaned = clean_text(" ".join(lines))
        if cleaned:
            blocks.append(Block(kind, cleaned))

    chunks = [chunk for chunk in _BLANK_LINE.split(text.replace("\r\n", "\n").replace("\r", "\n")) if chunk.strip()]
    for number, chunk in enumerate(chunks, start=1):
        lines = [line for line in chunk.split("\n") if line.strip()]
        level = _heading_level(lines[0]) if len(lines) == 1 and number < len(chunks) else 0
        if level:
            blocks.append(Block(HEADING, clean_text(lines[0]), level))
            continue
        kind, current = PARAGRAPH, []
        for line in lines:
            bullet = _BULLET.match(line)
            if bullet:
                add(kind, current)
                kind, current = ITEM, [line[bullet.end() :]]
            else:
                current.append(line)  # a continuation line joins the item or paragraph it follows
        add(kind, current)
    return blocks
