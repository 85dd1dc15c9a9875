"""`policywatch feed`: valid Atom, one entry per changed version, entry ids stable across runs."""

import xml.etree.ElementTree as ET
from datetime import datetime

from helpers import run_cli
from policywatch.core import CHANGED, CheckReport, PolicyReport
from policywatch.models import ADDED, Change, Clause
from policywatch.report.feed import FeedReporter
from test_history import build_store

A = "{http://www.w3.org/2005/Atom}"


def feed_of(tmp_path, *args) -> ET.Element:
    if not (tmp_path / "snapshots").is_dir():
        build_store(tmp_path / "snapshots")
    result = run_cli("feed", "--store", str(tmp_path / "snapshots"), *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return ET.fromstring(result.stdout.encode("utf-8"))


def assert_rfc3339(value: str) -> None:
    assert value.endswith("Z")
    datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


def test_feed_is_atom_with_one_entry_per_changed_version(tmp_path):
    feed = feed_of(tmp_path)
    assert feed.tag == f"{A}feed"
    for required in ("id", "title", "updated"):
        assert (feed.findtext(f"{A}{required}") or "").strip(), required
    assert feed.findtext(f"{A}author/{A}name") == "policywatch"
    entries = feed.findall(f"{A}entry")
    # Two changes; the baseline is not a change.
    assert [e.findtext(f"{A}id") for e in entries] == [
        "tag:policywatch,2026:acme/2026-06-20T08-00-00Z",
        "tag:policywatch,2026:acme/2026-03-05T08-00-00Z",
    ]
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert (entry.findtext(f"{A}{required}") or "").strip(), required
        assert_rfc3339(entry.findtext(f"{A}updated"))
        assert entry.find(f"{A}link").get("href") == "http://127.0.0.1:9/privacy"
        assert entry.find(f"{A}content").get("type") == "html"
    assert feed.findtext(f"{A}updated") == "2026-06-20T08:00:00Z"  # the newest entry's time
    newest, older = entries
    assert "data-sale" in newest.findtext(f"{A}title")
    assert "biometric" in older.findtext(f"{A}title") and "biometric" in older.findtext(f"{A}content")
    # Content is escaped HTML: the hostile clause comes through as text, not as a script element.
    assert "&lt;script&gt;" in newest.findtext(f"{A}content")


def test_entry_ids_are_stable_and_options_filter(tmp_path):
    ids = [e.findtext(f"{A}id") for e in feed_of(tmp_path).findall(f"{A}entry")]
    titled = feed_of(tmp_path, "--since", "2026-04-01", "--title", "Acme watch", "--self-url", "https://example.org/feed.xml")
    assert [e.findtext(f"{A}id") for e in titled.findall(f"{A}entry")] == ids[:1]  # the same id in another run
    assert titled.findtext(f"{A}title") == "Acme watch"
    assert titled.findtext(f"{A}id") == "https://example.org/feed.xml"
    assert titled.find(f"{A}link[@rel='self']").get("href") == "https://example.org/feed.xml"
    out = tmp_path / "feed.xml"
    result = run_cli("feed", "--store", str(tmp_path / "snapshots"), "--limit", "1", "--output", str(out), cwd=tmp_path)
    assert result.returncode == 0 and not result.stdout
    written = ET.parse(out).getroot()
    assert [e.findtext(f"{A}id") for e in written.findall(f"{A}entry")] == ids[:1]  # newest first, then cut


def test_characters_xml_cannot_carry_are_dropped():
    clause = Clause("We may share data\x0b with partners\x00.")
    policy = PolicyReport("acme", "Acme", "https://acme.test/p", CHANGED, [Change(ADDED, None, clause)],
                          version="2026-05-01T00-00-00Z", previous_version="2026-04-01T00-00-00Z")
    feed = ET.fromstring(FeedReporter().check(CheckReport([policy], None)))
    assert "with partners." in feed.find(f"{A}entry").findtext(f"{A}content")
