"""Reporters for the store listings (`history`, `list`): the Reporter interface plus two listing methods."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from policywatch.history import PolicyHistory, PolicyListing
from policywatch.report.base import SCHEMA, Reporter, json_text
from policywatch.report.jsonfmt import JsonReporter
from policywatch.report.text import TextReporter
from policywatch.store import VersionMeta

NEVER = "never checked"


class ListingReporter(Reporter):
    def history(self, history: PolicyHistory) -> str:
        raise NotImplementedError

    def policies(self, rows: list[PolicyListing]) -> str:
        raise NotImplementedError


def _size(count: int) -> str:
    return f"{count / 1024:.1f} kB" if count >= 1024 else f"{count} B"


def _short_time(iso: str | None) -> str:
    """2026-11-25T07:15:00+00:00 → 2026-11-25 07:15 (every stored time is UTC)."""
    return iso[:16].replace("T", " ") if iso else "—"


def version_data(number: int, meta: VersionMeta) -> dict:
    return {
        "number": number,
        "version": meta.version,
        "fetched_at": meta.fetched_at,
        "text_sha256": meta.text_sha256,
        "text_bytes": meta.text_bytes,
        "raw_sha256": meta.raw_sha256,
        "raw_bytes": meta.raw_bytes,
        "clauses": meta.clauses,
        "changes": meta.changes,
        "findings": meta.findings,
        "upgrade": meta.upgrade,
        "normalizer_version": meta.normalizer_version,
    }


def _aligned(headers: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    """Plain columns (no box drawing), so the listing greps and pipes as well as it reads."""
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(headers), *map(line, rows)]


class TextListingReporter(TextReporter, ListingReporter):
    @staticmethod
    def _print_table(console: Console, headers: tuple[str, ...], rows: list[tuple[str, ...]], alarming: list[bool], right: set[int]):
        header, *lines = _aligned(headers, rows, right)
        console.print(Text(header, style="bold"), soft_wrap=True)
        for line, alarm in zip(lines, alarming):
            console.print(Text(line, style="red" if alarm else ""), soft_wrap=True)

    def history(self, history: PolicyHistory) -> str:
        rows, alarming = [], []
        for number, meta in enumerate(history.versions, start=1):
            if number == 1:
                changes, findings = "baseline", ""
            elif meta.upgrade:
                changes, findings = "upgrade", ""  # rebuilt from a stored body by a newer normalizer
            else:
                changes, findings = str(meta.changes), str(meta.findings)
            rows.append((str(number), meta.version, _short_time(meta.fetched_at), str(meta.clauses), _size(meta.text_bytes),
                         meta.text_sha256[:12], changes, findings))
            alarming.append(findings not in ("", "0"))
        title = Text(history.id, style="bold")
        if history.name != history.id:
            title.append(f"  {history.name}")
        headers = ("#", "version", "fetched (UTC)", "clauses", "size", "sha256", "changes", "risk findings")
        console, buffer = self._console()
        console.print(title)
        console.print(Text(f"  {history.url}", style="dim"))
        self._print_table(console, headers, rows, alarming, right={0, 3, 4, 6, 7})
        return buffer.getvalue()

    def policies(self, rows: list[PolicyListing]) -> str:
        lines, alarming = [], []
        for row in rows:
            state = row.state
            notes = []
            if row.damage:
                notes.append(f"store damaged: {row.damage}")
            if state.error_kind:
                notes.append(f"{state.error_kind} since {_short_time(state.error_since)}")
            if not row.configured:
                notes.append("not in the config")
            if row.last_change is None and row.first_version is not None:
                notes.append(f"unchanged since the baseline of {_short_time(row.first_version.fetched_at)}")
            last_change = _short_time(row.last_change.fetched_at) if row.last_change else "—"
            lines.append((row.id, state.status or NEVER, _short_time(state.last_checked), str(row.versions), last_change, "; ".join(notes)))
            alarming.append(state.status in ("error", "suspicious") or bool(row.damage))
        headers = ("id", "status", "last check (UTC)", "versions", "last change (UTC)", "note")
        console, buffer = self._console()
        self._print_table(console, headers, lines, alarming, right={3})
        return buffer.getvalue()


class JsonListingReporter(JsonReporter, ListingReporter):
    def history(self, history: PolicyHistory) -> str:
        data = {
            "schema": SCHEMA,
            "id": history.id,
            "name": history.name,
            "url": history.url,
            "versions": [version_data(number, meta) for number, meta in enumerate(history.versions, start=1)],
        }
        return json_text(data)

    def policies(self, rows: list[PolicyListing]) -> str:
        policies = []
        for row in rows:
            state = row.state
            policies.append(
                {
                    "id": row.id,
                    "name": row.name,
                    "url": row.url,
                    "configured": row.configured,
                    "status": state.status,
                    "last_checked": state.last_checked,
                    "error": {"kind": state.error_kind, "message": state.error_message, "since": state.error_since}
                    if state.error_kind
                    else None,
                    "versions": row.versions,
                    "damage": row.damage,
                    "first_version": row.first_version.version if row.first_version else None,
                    "last_change": None
                    if row.last_change is None
                    else {"version": row.last_change.version, "fetched_at": row.last_change.fetched_at,
                          "changes": row.last_change.changes, "findings": row.last_change.findings},
                }
            )
        return json_text({"schema": SCHEMA, "policies": policies})


LISTING_FORMATS: dict[str, type[ListingReporter]] = {"text": TextListingReporter, "json": JsonListingReporter}
