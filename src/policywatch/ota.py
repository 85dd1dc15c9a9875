"""Open Terms Archive interoperability: their service declarations as policies.yaml entries.

A declaration is one JSON file per service (https://docs.opentermsarchive.org, "Service declaration"):
`{"name": ..., "terms": {"<terms type>": {"fetch", "select", "remove", "filter", "executeClientScripts",
"combine"}}}` (`documents` in declarations older than 2024). What maps and what does not:

- `fetch`, and the CSS selector strings of `select` and `remove`, map directly;
- range selectors (`startBefore`/`startAfter`/`endBefore`/`endAfter`) have no equivalent: they are dropped
  and reported (a `select` left empty falls back to main-content heuristics, a lost `remove` keeps more text);
- `filter` functions are JavaScript and are not applied (reported);
- `executeClientScripts` pages need a browser; the entry is kept (many still serve their text) and reported;
- a multi-page `combine` becomes one policy per page (`<id>-1`, `<id>-2`…), since policywatch watches one
  page per policy; the shared `select`/`remove` of the terms apply to each page, as in Open Terms Archive;
- PDF documents are skipped (policywatch reads HTML, Markdown and text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from policywatch.config import ConfigError, check_url
from policywatch.normalize import check_selector
from policywatch.starter import NewPolicy, slugify

HEADER = "# Imported from Open Terms Archive declarations by `policywatch import-ota`.\n"
_SHARED_KEYS = ("select", "remove", "filter", "executeClientScripts")
_RANGE_KEYS = {"startBefore", "startAfter", "endBefore", "endAfter"}


@dataclass
class Imported:
    policies: list[NewPolicy] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be mapped, one line each


def declaration_files(paths: list[Path]) -> list[Path]:
    """The declaration files among `paths` (folders are searched; history and filter files are not declarations)."""
    files: list[Path] = []
    for path in paths:
        candidates = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        files += [p for p in candidates if not p.name.endswith(".history.json")]
    return files


class _Mapper:
    def __init__(self, source: Path, imported: Imported, taken: set[str]):
        self.source, self.imported, self.taken = source, imported, taken

    def problem(self, where: str, message: str) -> None:
        self.imported.problems.append(f"{self.source.name}: {where}: {message}")

    def selectors(self, value: object, key: str, where: str) -> tuple[str, ...]:
        """The CSS selectors of a select/remove value; range selectors and unsupported CSS are reported."""
        items = value if isinstance(value, list) else [value]
        kept: list[str] = []
        for item in items:
            if isinstance(item, dict) and set(item) & _RANGE_KEYS:
                self.problem(where, f"{key}: range selector {json.dumps(item)} has no policywatch equivalent, dropped")
            elif isinstance(item, str) and item.strip():
                try:
                    check_selector(item)
                except ValueError as error:
                    self.problem(where, f"{key}: selector {item!r} is not supported ({error}), dropped")
                else:
                    kept.append(item)
            else:
                self.problem(where, f"{key}: {json.dumps(item)} is not a selector, dropped")
        if key == "select" and items and not kept:
            self.problem(where, "select: nothing left; policywatch's main-content heuristics will pick the text")
        return tuple(kept)

    def unique_id(self, base: str) -> str:
        candidate, counter = base, 1
        while candidate in self.taken:
            counter += 1
            candidate = f"{base}-{counter}"
        self.taken.add(candidate)
        return candidate

    def page(self, page: dict, policy_id: str, name: str, where: str) -> None:
        url = page.get("fetch")
        problem = check_url(url)
        if problem:
            self.problem(where, f"fetch: {problem}; skipped")
            return
        if urlpath_is_pdf(url):
            self.problem(where, f"{url} is a PDF, which policywatch does not read; skipped")
            return
        if page.get("filter"):
            names = [f if isinstance(f, str) else next(iter(f), "?") for f in page["filter"]]
            self.problem(where, f"filter functions {', '.join(names)} are JavaScript and are not applied")
        if page.get("executeClientScripts"):
            self.problem(where, "executeClientScripts: the page needs a browser; check it with `policywatch add URL --dry-run`")
        select = self.selectors(page["select"], "select", where) if "select" in page else ()
        remove = self.selectors(page["remove"], "remove", where) if "remove" in page else ()
        comment = f"{name} (Open Terms Archive: {self.source.name})"
        self.imported.policies.append(NewPolicy(self.unique_id(policy_id), url, name, select, remove, (comment,)))

    def terms(self, service: str, terms_type: str, declaration: object) -> None:
        where = f"{service} / {terms_type}"
        if not isinstance(declaration, dict):
            self.problem(where, "not a terms declaration object; skipped")
            return
        # The file name stands in for a service name with no ASCII letters in it.
        base_id = slugify(f"{service} {terms_type}")[:96].strip("-") or slugify(f"{self.source.stem} {terms_type}")[:96].strip("-")
        name = f"{service} {terms_type}"
        pages = declaration.get("combine")
        if pages is None:
            self.page(declaration, base_id, name, where)
            return
        if not isinstance(pages, list) or not pages:
            self.problem(where, "combine must be a list of pages; skipped")
            return
        shared = {key: declaration[key] for key in _SHARED_KEYS if key in declaration}
        self.problem(where, f"combines {len(pages)} pages: imported as {len(pages)} policies, one per page")
        for number, page in enumerate(pages, start=1):
            if not isinstance(page, dict):
                self.problem(where, f"combine page {number} is not an object; skipped")
                continue
            self.page({**shared, **page}, f"{base_id}-{number}", f"{name} (part {number})", f"{where} part {number}")


def urlpath_is_pdf(url: str) -> bool:
    return url.split("?", 1)[0].split("#", 1)[0].lower().endswith(".pdf")


def import_declarations(paths: list[Path]) -> Imported:
    """Map every declaration under `paths`, with ids unique among themselves."""
    imported = Imported()
    taken: set[str] = set()
    files = declaration_files(paths)
    if not files:
        raise ConfigError("no Open Terms Archive declaration (*.json) found", paths[0] if paths else None)
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ConfigError(f"not a readable JSON declaration: {error}", path) from None
        terms = data.get("terms", data.get("documents")) if isinstance(data, dict) else None
        if not isinstance(terms, dict) or not isinstance(data.get("name"), str):
            raise ConfigError("not an Open Terms Archive declaration (needs `name` and `terms`)", path)
        mapper = _Mapper(path, imported, taken)
        for terms_type, declaration in terms.items():
            mapper.terms(data["name"], terms_type, declaration)
    return imported
