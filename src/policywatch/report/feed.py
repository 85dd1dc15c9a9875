"""An Atom feed (RFC 4287) of policy changes: one entry per changed policy version, newest first.

Entry ids are tag URIs built from the policy id and the version id, so an entry keeps its id across
runs and a feed reader shows each change once, however often the feed is regenerated.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from policywatch import __version__
from policywatch.core import CHANGED, CheckReport, PolicyReport
from policywatch.history import version_time
from policywatch.report.base import Reporter, ReportStyle
from policywatch.report.html import changes_html

ATOM_NS = "http://www.w3.org/2005/Atom"
TAG_AUTHORITY = "tag:policywatch,2026:"
# Entries of huge rewrites stay readable in a feed reader: the clauses with findings come first anyway.
MAX_ENTRY_CHANGES = 60
# Characters XML 1.0 cannot carry at all; policy text is untrusted and may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def entry_id(policy_id: str, version: str) -> str:
    return f"{TAG_AUTHORITY}{policy_id}/{version}"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attributes)
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def _title(policy: PolicyReport) -> str:
    failing = [f for f in policy.findings() if f.fails]
    if not failing:
        return f"{policy.name} changed: {len(policy.changes)} clause(s), no risk findings"
    categories = ", ".join(dict.fromkeys(f.category for f in failing))
    return f"{policy.name} changed: {len(failing)} risk finding(s) ({categories})"


class FeedReporter(Reporter):
    """Renders the changed policies of a check-shaped report (see history.History.timeline) as Atom."""

    def __init__(
        self,
        style: ReportStyle = ReportStyle(),
        title: str = "policywatch: policy changes",
        self_url: str | None = None,
        limit: int | None = None,
    ):
        super().__init__(style)
        self.title, self.self_url, self.limit = title, self_url, limit

    def check(self, report: CheckReport) -> str:
        dated = [
            (moment, policy)
            for policy in report.policies
            if policy.status == CHANGED and policy.version and (moment := version_time(policy.version))
        ]
        dated.sort(key=lambda item: (item[0], item[1].id), reverse=True)
        dated = dated[: self.limit]
        ET.register_namespace("", ATOM_NS)
        feed = ET.Element(f"{{{ATOM_NS}}}feed")
        _add(feed, "id", self.self_url or f"{TAG_AUTHORITY}feed")
        _add(feed, "title", self.title)
        _add(feed, "updated", _rfc3339(dated[0][0] if dated else datetime.now(timezone.utc)))
        _add(_add(feed, "author"), "name", "policywatch")
        _add(feed, "generator", "policywatch", version=__version__)
        if self.self_url:
            _add(feed, "link", rel="self", href=self.self_url)
        for moment, policy in dated:
            self._entry(feed, moment, policy)
        ET.indent(feed)
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"

    @staticmethod
    def _entry(feed: ET.Element, moment: datetime, policy: PolicyReport) -> None:
        entry = _add(feed, "entry")
        _add(entry, "id", entry_id(policy.id, policy.version))
        _add(entry, "title", _title(policy))
        _add(entry, "updated", _rfc3339(moment))
        _add(entry, "published", _rfc3339(moment))
        if policy.url.startswith(("http://", "https://")):
            _add(entry, "link", rel="alternate", href=policy.url)
        _add(entry, "category", term=policy.id)
        summary = f"{policy.id}: version {policy.version} (previous {policy.previous_version}), {len(policy.changes)} changed clause(s)"
        _add(entry, "summary", summary)
        _add(entry, "content", changes_html(policy.changes, limit=MAX_ENTRY_CHANGES), type="html")
