"""Blocks (what a format reader finds) → clauses (what the rest of the pipeline stores and diffs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from policywatch.clausetext import MAX_HEADING_DEPTH, attach_leads
from policywatch.models import HEADING, PARAGRAPH, Clause
from policywatch.normalize.sentences import split_sentences

# A "heading" longer than this is a paragraph in heading markup (it happens); as a section name it would
# repeat on every clause below it.
MAX_HEADING_CHARS = 200


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph, list item, table row or heading, with clean one-line text."""

    kind: str
    text: str
    level: int = 0  # heading level as the source wrote it (h1 = 1); the depth is derived from the stack


def clauses_from_blocks(blocks: Iterable[Block]) -> list[Clause]:
    """Give every block its section path, split paragraphs into sentences and attach leads."""
    clauses: list[Clause] = []
    open_headings: list[tuple[int, str]] = []  # (level, text) of the headings above, outermost first
    section: tuple[str, ...] = ()
    for block in blocks:
        if block.kind == HEADING and len(block.text) <= MAX_HEADING_CHARS:
            while open_headings and open_headings[-1][0] >= block.level:
                open_headings.pop()
            del open_headings[MAX_HEADING_DEPTH - 1 :]
            section = tuple(text for _, text in open_headings)
            clauses.append(Clause(block.text, HEADING, section))
            open_headings.append((block.level, block.text))
            section = (*section, block.text)
        elif block.kind in (HEADING, PARAGRAPH):
            for index, sentence in enumerate(split_sentences(block.text)):
                clauses.append(Clause(sentence, PARAGRAPH, section, continues=index > 0))
        else:
            clauses.append(Clause(block.text, block.kind, section))
    return attach_leads(clauses)
