"""The stored text form of a clause list: a strict, git-diff-friendly Markdown subset.

One clause per line. Headings are `#` lines (depth = section depth), list items `- ` lines, table rows
`| … |` lines; sentences of one paragraph sit on consecutive lines and blocks are separated by a blank
line. A paragraph line that would read as markup is escaped with a backslash. `load(dump(c)) == c` for
every clause list the normalizer produces (leads are derived by `attach_leads`, the same rule on both sides).
"""

from __future__ import annotations

import re
from dataclasses import replace

from policywatch.models import HEADING, ITEM, PARAGRAPH, ROW, Clause

MAX_HEADING_DEPTH = 6
_MARKUP_START = re.compile(r"^[-#|\\]")
_HEADING_LINE = re.compile(r"^(#{1,6}) (.*)$")


class ClauseTextError(ValueError):
    """A stored clause file that does not follow the format (hand-edited or corrupted)."""


def attach_leads(clauses: list[Clause]) -> list[Clause]:
    """Give each list item the paragraph sentence just before its list, and each table row its header row."""
    result: list[Clause] = []
    lead = ""
    header = ""
    previous: Clause | None = None
    for clause in clauses:
        if clause.kind == ITEM:
            if previous is None or previous.kind != ITEM:
                lead = previous.text if previous is not None and previous.kind == PARAGRAPH else ""
            clause = replace(clause, lead=lead)
        elif clause.kind == ROW:
            if previous is None or previous.kind != ROW:
                header = clause.text
                clause = replace(clause, lead="")
            else:
                clause = replace(clause, lead=header)
        elif clause.lead:
            clause = replace(clause, lead="")
        result.append(clause)
        previous = clause
    return result


def _row_line(text: str) -> str:
    return "| " + text + " |"


def dump(clauses: list[Clause]) -> str:
    lines: list[str] = []
    previous: Clause | None = None
    for clause in clauses:
        same_block = previous is not None and (
            (clause.kind == PARAGRAPH and clause.continues and previous.kind == PARAGRAPH)
            or (clause.kind == ITEM and previous.kind == ITEM)
            or (clause.kind == ROW and previous.kind == ROW)
        )
        if previous is not None and not same_block:
            lines.append("")
        if clause.kind == HEADING:
            depth = min(len(clause.section) + 1, MAX_HEADING_DEPTH)
            lines.append("#" * depth + " " + clause.text)
        elif clause.kind == ITEM:
            lines.append("- " + clause.text)
        elif clause.kind == ROW:
            lines.append(_row_line(clause.text))
        else:
            text = clause.text
            lines.append("\\" + text if _MARKUP_START.match(text) else text)
        previous = clause
    return "\n".join(lines) + "\n" if lines else ""


def load(text: str) -> list[Clause]:
    clauses: list[Clause] = []
    headings: list[str] = []
    previous_line_blank = True
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            previous_line_blank = True
            continue
        if line != line.strip():
            raise ClauseTextError(f"line {number}: leading or trailing whitespace")
        heading = _HEADING_LINE.match(line)
        section = tuple(headings)
        if heading:
            depth = len(heading.group(1))
            if depth > len(headings) + 1:
                raise ClauseTextError(f"line {number}: heading skips a level")
            del headings[depth - 1 :]
            clause = Clause(heading.group(2), HEADING, tuple(headings))
            headings.append(heading.group(2))
        elif line.startswith("- "):
            clause = Clause(line[2:], ITEM, section)
        elif line.startswith("| ") and line.endswith(" |") and len(line) >= 4:
            clause = Clause(line[2:-2], ROW, section)
        elif line.startswith("#") or line.startswith("|"):
            raise ClauseTextError(f"line {number}: malformed heading or table row")
        else:
            body = line[1:] if line.startswith("\\") else line
            continues = not previous_line_blank and bool(clauses) and clauses[-1].kind == PARAGRAPH
            clause = Clause(body, PARAGRAPH, section, continues=continues)
        if not clause.text:
            raise ClauseTextError(f"line {number}: empty clause")
        clauses.append(clause)
        previous_line_blank = False
    return attach_leads(clauses)
