"""Renderings of the rulebook itself (`policywatch rules list`)."""

from __future__ import annotations

from collections.abc import Sequence

from policywatch.classify import Category
from policywatch.report.base import SCHEMA, json_text


def categories_text(categories: Sequence[Category]) -> str:
    width = max((len(c.id) for c in categories), default=0)
    lines = []
    for category in categories:
        lines.append(f"{category.id.ljust(width)}  {category.severity.label:<6}  {category.name}")
        lines.append(f"{' ' * width}          {category.explanation}")
        lines.append(f"{' ' * width}          source: {category.source}")
    return "\n".join(lines) + "\n"


def categories_json(categories: Sequence[Category]) -> str:
    data = {
        "schema": SCHEMA,
        "categories": [
            {
                "id": c.id,
                "name": c.name,
                "severity": c.severity.label,
                "explanation": c.explanation,
                "source": c.source,
            }
            for c in categories
        ],
    }
    return json_text(data)


CATEGORY_FORMATS = {"text": categories_text, "json": categories_json}
