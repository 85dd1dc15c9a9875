"""Reporters: every output format behind one interface, each rendering a report to a string."""

from __future__ import annotations

from policywatch.report.base import Reporter, ReportStyle
from policywatch.report.github import GithubReporter
from policywatch.report.html import HtmlReporter
from policywatch.report.jsonfmt import JsonReporter
from policywatch.report.markdown import MarkdownReporter
from policywatch.report.sarif import SarifReporter
from policywatch.report.text import TextReporter

FORMATS: dict[str, type[Reporter]] = {
    "text": TextReporter,
    "json": JsonReporter,
    "markdown": MarkdownReporter,
    "html": HtmlReporter,
    "github": GithubReporter,
    "sarif": SarifReporter,
}


def reporter(name: str, style: ReportStyle) -> Reporter:
    return FORMATS[name](style)


__all__ = ["FORMATS", "Reporter", "ReportStyle", "reporter"]
