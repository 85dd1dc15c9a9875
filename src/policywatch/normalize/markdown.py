"""Markdown → blocks: render with markdown-it (CommonMark + tables), then read the HTML like a page."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from markdown_it import MarkdownIt

from policywatch.normalize.blocks import Block
from policywatch.normalize.html import extract_blocks

# Converters (Open Terms Archive's among them) leave "**" that CommonMark cannot pair, e.g. "**  \nUsage.**".
_UNPAIRED_STRONG = re.compile(r"\*{2,}")


@functools.lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    # Parsing keeps its state per call, so one configured instance serves every call (and thread).
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def markdown_to_html(text: str) -> str:
    renderer = _renderer()
    tokens = renderer.parse(text)
    for token in tokens:
        for child in token.children or ():
            if child.type == "text" and "**" in child.content:
                child.content = _UNPAIRED_STRONG.sub("", child.content)
    return renderer.renderer.render(tokens, renderer.options, {})


def extract_markdown_blocks(text: str, *, select: Sequence[str] = (), remove: Sequence[str] = ()) -> list[Block]:
    return extract_blocks(markdown_to_html(text), select=select, remove=remove, whole_document=True)
