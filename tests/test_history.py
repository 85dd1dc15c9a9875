"""`history`, `diff`, `show` and `list` over a real store: versions written with the Store API at chosen
dates (so that date references can be tested), and end to end after real `check` runs."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from helpers import run_cli, write_config
from policywatch import clausetext
from policywatch.classify import Rulebook, assess
from policywatch.config import load_config
from policywatch.diff import diff_clauses
from policywatch.history import History, HistoryError, parse_moment
from policywatch.models import HEADING
from policywatch.normalize import NORMALIZER_VERSION, normalize
from policywatch.store import PolicyState, Store, VersionMeta, sha256, version_id
from test_cli_check import V1, V2, run_in_process

URL = "http://127.0.0.1:9/privacy"  # never fetched: these tests read the store only
# The third version drops a promise and adds text that tries to inject markup into reports.
HOSTILE = "Write to @acme-legal about &lt;script&gt;alert(1)&lt;/script&gt; or [terms](javascript:alert(1)) **now** | x."
V3 = V2.replace("<p>We do not sell your personal information.</p>", f"<p>{HOSTILE}</p>")
DATES = ("2026-01-10T08:00:00", "2026-03-05T08:00:00", "2026-06-20T08:00:00")


def add_version(store: Store, policy_id: str, moment: str, page: str, previous: list | None, **extra) -> list:
    """Store `page` as a version fetched at `moment` (UTC), with the change counts `check` would record."""
    raw = page.encode("utf-8")
    clauses = normalize(raw, content_type="text/html", url=URL, select=("main",))
    text = clausetext.dump(clauses)
    changes = assess(diff_clauses(previous, clauses), Rulebook.load(), policy_id) if previous is not None else []
    fetched = datetime.fromisoformat(moment).replace(tzinfo=timezone.utc)
    meta = VersionMeta(
        version=version_id(fetched), policy_id=policy_id, fetched_at=fetched.isoformat(timespec="seconds"), url=URL,
        final_url=URL, http_status=200, content_type="text/html", etag=None, last_modified=None,
        raw_sha256=sha256(raw), raw_bytes=len(raw), text_sha256=sha256(text.encode()), text_bytes=len(text.encode()),
        clauses=len(clauses), sections=sum(c.kind == HEADING for c in clauses), normalizer_version=NORMALIZER_VERSION,
        changes=len(changes), findings=sum(f.fails for c in changes for f in c.findings), **extra,
    )
    store.add_version(meta, text, raw)
    return clauses


def build_store(root: Path, policy_id: str = "acme") -> Store:
    """acme: baseline V1, then V2 (biometric + AI training added), then V3 (the no-sale promise dropped)."""
    store = Store(root)
    previous = None
    for moment, page in zip(DATES, (V1, V2, V3)):
        previous = add_version(store, policy_id, moment, page, previous)
    store.save_state(policy_id, PolicyState(last_checked="2026-06-21T08:00:00+00:00", status="unchanged"))
    return store


@pytest.fixture
def dated(tmp_path) -> Path:
    """A config with acme (three stored versions) and never-checked; returns the config path."""
    build_store(tmp_path / "snapshots")
    return write_config(tmp_path / "policies.yaml", [
        {"id": "acme", "name": "Acme Privacy Policy", "url": URL},
        {"id": "never-checked", "url": "http://127.0.0.1:9/terms"},
    ])


def cli_json(*args):
    result = run_cli(*args)
    assert result.returncode in (0, 1), result.stderr
    return result, json.loads(result.stdout)


def test_history_lists_every_version_with_its_summary(dated):
    result, data = cli_json("history", "acme", "-c", str(dated), "--format", "json")
    assert (data["schema"], data["id"], data["name"], data["url"]) == ("policywatch/1", "acme", "Acme Privacy Policy", URL)
    versions = data["versions"]
    assert [v["number"] for v in versions] == [1, 2, 3]
    assert [v["fetched_at"][:10] for v in versions] == ["2026-01-10", "2026-03-05", "2026-06-20"]
    assert versions[0]["changes"] == 0 and versions[1]["changes"] >= 2 and versions[1]["findings"] >= 2
    assert all(len(v["text_sha256"]) == 64 and v["text_bytes"] > 0 and v["upgrade"] is False for v in versions)

    text = run_cli("history", "acme", "-c", str(dated))
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert "Acme Privacy Policy" in lines[0]
    assert any(line.split()[:2] == ["1", "2026-01-10T08-00-00Z"] and "baseline" in line for line in lines)
    assert any(line.split()[:2] == ["3", "2026-06-20T08-00-00Z"] for line in lines)


def test_diff_defaults_to_the_last_change_with_compare_exit_codes(dated):
    result, data = cli_json("diff", "acme", "-c", str(dated), "-f", "json")
    (policy,) = data["policies"]
    assert (policy["previous_version"], policy["version"]) == ("2026-03-05T08-00-00Z", "2026-06-20T08-00-00Z")
    lost = [f for c in policy["changes"] for f in c["findings"] if f["event"] == "lost-protection"]
    assert [f["category"] for f in lost] == ["data-sale"]
    assert result.returncode == 1 and data["summary"]["exit_code"] == 1
    assert "2026-03-05T08-00-00Z → 2026-06-20T08-00-00Z" in result.stderr
    assert run_in_process("diff", "acme", "-c", str(dated), "--fail-on", "none").returncode == 0


@pytest.mark.parametrize(
    "old, new",
    [("1", "2"), ("-3", "-2"), ("2026-01-31", "2026-03-05"), ("2026-03-05T07:59Z", "2026-03-05T09:00:00+01:00"),
     ("2026-01-10T08-00-00Z", "2026-03-05T08-00-00Z")],
)
def test_diff_picks_versions_by_number_date_or_id(dated, old, new):
    # In-process: the references are the subject here; the exit codes are checked on real processes above and below.
    result = run_in_process("diff", "acme", "-c", str(dated), "--from", old, "--to", new, "-f", "json")
    (policy,) = json.loads(result.stdout)["policies"]
    assert (policy["previous_version"], policy["version"]) == ("2026-01-10T08-00-00Z", "2026-03-05T08-00-00Z")
    added = {f["category"] for c in policy["changes"] for f in c["findings"] if f["event"] == "new-risk"}
    assert {"biometric", "ai-training"} <= added


@pytest.mark.parametrize(
    "query, message",
    [
        (lambda h: h.diff("acme", "0", None, Rulebook.load(), None), "1…3 (1 = oldest)"),
        (lambda h: h.diff("acme", None, "4", Rulebook.load(), None), "has 3 version(s)"),
        (lambda h: h.diff("acme", None, "1", Rulebook.load(), None), "no version before"),
        (lambda h: h.text_at("acme", "2025-12-31"), "no version of acme was stored by 2025-12-31"),
        (lambda h: h.text_at("acme", "last tuesday"), "neither a version number nor an ISO date"),
        (lambda h: h.policy("nope"), "unknown policy id 'nope'"),
        (lambda h: h.policy("never-checked"), "no stored versions of 'never-checked' yet"),
        (lambda h: h.policy("../snapshots/acme"), "not a policy id"),  # an id cannot reach outside the store
        (lambda h: h.text_at("/etc", None), "not a policy id"),
        (lambda h: h.timeline(["acme", "nope"], Rulebook.load(), None), "unknown policy id 'nope'"),
    ],
    ids=["from-0", "to-past-the-end", "nothing-before", "before-the-first", "not-a-date", "unknown-id", "never-checked",
         "relative-path", "absolute-path", "report-of-an-unknown-id"],
)
def test_references_that_name_nothing(dated, query, message):
    with pytest.raises(HistoryError) as error:
        query(History(Store(dated.parent / "snapshots"), load_config(dated)))
    assert message in str(error.value)


@pytest.mark.parametrize(
    "args",
    [("history", "nope"), ("diff", "acme", "--from", "0"), ("show", "acme", "--at", "last tuesday"),
     ("report", "--html", "out.html", "--since", "soon"), ("feed", "--since", "soon")],
    ids=" ".join,
)
def test_every_command_makes_a_bad_reference_a_usage_error(dated, args):
    result = run_cli(*args, "-c", str(dated))
    assert result.returncode == 2 and result.stderr.startswith("policywatch: error: ") and not result.stdout


def test_show_prints_the_text_in_force_at_a_date(dated):
    store = dated.parent / "snapshots" / "acme" / "versions"
    before = run_cli("show", "acme", "-c", str(dated), "--at", "2026-03-04")
    assert before.returncode == 0
    assert before.stdout == (store / "2026-01-10T08-00-00Z" / "text.md").read_text()
    assert "biometric" not in before.stdout and "2026-01-10T08-00-00Z" in before.stderr
    # A date alone means the end of that day: the version fetched that morning was in force.
    same_day = run_in_process("show", "acme", "-c", str(dated), "--at", "2026-03-05")
    assert "biometric information" in same_day.stdout and "We do not sell" in same_day.stdout
    newest = run_in_process("show", "acme", "-c", str(dated))
    assert newest.stdout == (dated.parent / "snapshots" / "acme" / "latest.md").read_text()
    out = dated.parent / "v2.md"
    assert run_in_process("show", "acme", "-c", str(dated), "--at", "2", "-o", str(out)).returncode == 0
    assert out.read_text() == same_day.stdout


def test_list_shows_every_configured_policy_and_its_state(dated):
    store = Store(dated.parent / "snapshots")
    add_version(store, "old-one", "2026-02-01T00:00:00", V1, None)
    store.save_state("old-one", PolicyState(last_checked="2026-02-02T00:00:00+00:00", status="error",
                                            error_kind="http-404", error_message="gone", error_since="2026-02-02T00:00:00+00:00"))
    result, data = cli_json("list", "-c", str(dated), "--format", "json")
    rows = {row["id"]: row for row in data["policies"]}
    assert list(rows) == ["acme", "never-checked", "old-one"]
    assert rows["acme"]["status"] == "unchanged" and rows["acme"]["versions"] == 3
    assert rows["acme"]["last_change"]["version"] == "2026-06-20T08-00-00Z"
    assert rows["never-checked"]["status"] is None and rows["never-checked"]["versions"] == 0
    assert rows["old-one"]["configured"] is False and rows["old-one"]["error"]["kind"] == "http-404"
    assert rows["old-one"]["last_change"] is None

    text = run_cli("list", "-c", str(dated)).stdout
    assert "never checked" in text and "http-404 since 2026-02-02" in text and "not in the config" in text
    assert "2026-06-20 08:00" in text


def test_store_alone_without_a_config(dated, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("history", "acme", "--store", str(dated.parent / "snapshots"), "-f", "json", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "acme"  # no config: the id stands in for the name
    assert run_cli("history", "acme", cwd=elsewhere).returncode == 2  # neither a config nor --store


def test_a_normalizer_rebuild_is_not_the_last_change(tmp_path):
    """`reprocess` adds an upgrade version rebuilt from the newest body: diff and the report look past it."""
    store = build_store(tmp_path / "snapshots")
    newest = store.versions("acme")[-1]
    add_version(store, "acme", "2026-07-01T00:00:00", V3, store.load_clauses(newest), upgrade=True)
    history = History(store)
    report = history.diff("acme", None, None, Rulebook.load(), None)
    (step,) = report.policies
    assert (step.previous_version, step.version) == ("2026-03-05T08-00-00Z", "2026-07-01T00-00-00Z")
    (latest,) = history.timeline([], Rulebook.load(), None, latest_only=True).policies
    assert latest.version == "2026-06-20T08-00-00Z"
    assert [row.last_change.version for row in history.listing()] == ["2026-06-20T08-00-00Z"]
    text = run_cli("history", "acme", "--store", str(tmp_path / "snapshots"), cwd=tmp_path).stdout
    assert text.splitlines()[-1].split()[:2] == ["4", "2026-07-01T00-00-00Z"] and "upgrade" in text.splitlines()[-1]


def test_timeline_steps_and_since(tmp_path):
    history = History(build_store(tmp_path / "snapshots"))
    everything = history.timeline(["acme"], Rulebook.load(), None).policies
    assert [(p.status, p.previous_version) for p in everything] == [
        ("new", None), ("changed", "2026-01-10T08-00-00Z"), ("changed", "2026-03-05T08-00-00Z")]
    recent = history.timeline(["acme"], Rulebook.load(), None, since=parse_moment("2026-03-05", day_end=False)).policies
    assert [p.version for p in recent] == ["2026-03-05T08-00-00Z", "2026-06-20T08-00-00Z"]
    with pytest.raises(HistoryError):
        history.timeline(["missing"], Rulebook.load(), None)


def test_parse_moment():
    assert parse_moment("2026-03-05", day_end=True) == datetime(2026, 3, 5, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert parse_moment("2026-03-05", day_end=False) == datetime(2026, 3, 5, tzinfo=timezone.utc)
    assert parse_moment("2026-03-05T10:00+02:00", day_end=True) == datetime(2026, 3, 5, 8, tzinfo=timezone.utc)
    assert parse_moment("2026-03-05T10:00", day_end=True) == datetime(2026, 3, 5, 10, tzinfo=timezone.utc)
    with pytest.raises(HistoryError):
        parse_moment("05/03/2026", day_end=True)


def test_end_to_end_after_real_checks(tmp_path, server):
    url = server.page("/privacy", V1)
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main"}])
    assert run_in_process("check", "-c", str(config)).returncode == 0
    server.page("/privacy", V2)
    assert run_in_process("check", "-c", str(config)).returncode == 1
    result, data = cli_json("history", "acme", "-c", str(config), "-f", "json")
    assert [v["number"] for v in data["versions"]] == [1, 2]
    diffed = run_cli("diff", "acme", "-c", str(config), "-f", "markdown")
    assert diffed.returncode == 1
    assert "biometric" in diffed.stdout and f"]({url})" in diffed.stdout.replace("<", "").replace(">", "")
    listed = cli_json("list", "-c", str(config), "-f", "json")[1]["policies"]
    assert listed[0]["status"] == "changed" and listed[0]["last_change"]["version"] == data["versions"][1]["version"]


def test_a_backwards_diff_says_so_and_an_empty_list_says_what_to_do(dated, tmp_path):
    backwards = run_cli("diff", "acme", "-c", str(dated), "--from", "3", "--to", "1", "-f", "json")
    (policy,) = json.loads(backwards.stdout)["policies"]
    assert (policy["previous_version"], policy["version"]) == ("2026-06-20T08-00-00Z", "2026-01-10T08-00-00Z")
    assert "runs backwards in time" in backwards.stderr
    assert "backwards" not in run_in_process("diff", "acme", "-c", str(dated), "--from", "1", "--to", "3").stderr
    (tmp_path / "fresh").mkdir()
    empty = write_config(tmp_path / "fresh" / "policies.yaml", [])
    listed = run_cli("list", "-c", str(empty))
    assert listed.returncode == 0 and "add one with `policywatch add URL`" in listed.stderr


def test_the_newest_changes_across_policies_without_diffing_the_rest(tmp_path):
    store = build_store(tmp_path / "snapshots")
    previous = add_version(store, "beta", "2026-02-01T00:00:00", V1, None)
    add_version(store, "beta", "2026-07-01T00:00:00", V2, previous)
    history = History(store)
    everything = history.timeline([], Rulebook.load(), None).policies
    assert len(everything) == 5  # two baselines, three changes
    newest = history.timeline([], Rulebook.load(), None, newest=2).policies
    assert [(p.id, p.version) for p in newest] == [("acme", "2026-06-20T08-00-00Z"), ("beta", "2026-07-01T00-00-00Z")]
    assert [p.changes for p in newest] == [p.changes for p in everything if p.version in {s.version for s in newest}]
    recent = history.timeline(["acme"], Rulebook.load(), None, newest=5, since=parse_moment("2026-04-01", day_end=False))
    assert [p.version for p in recent.policies] == ["2026-06-20T08-00-00Z"]


def test_a_damaged_policy_does_not_hide_the_others(tmp_path):
    store = build_store(tmp_path / "snapshots")
    previous = add_version(store, "beta", "2026-02-01T00:00:00", V1, None)
    add_version(store, "beta", "2026-07-01T00:00:00", V2, previous)
    (tmp_path / "snapshots" / "acme" / "versions" / "2026-01-10T08-00-00Z" / "meta.json").write_text("{")
    options = ("--store", str(tmp_path / "snapshots"))
    listed = run_cli("list", *options, "-f", "json", cwd=tmp_path)
    assert listed.returncode == 3 and "acme: " in listed.stderr and "meta.json" in listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)["policies"]}
    assert "unreadable version metadata" in rows["acme"]["damage"]
    assert rows["beta"]["damage"] is None and rows["beta"]["last_change"]["version"] == "2026-07-01T00-00-00Z"
    feed = run_cli("feed", *options, cwd=tmp_path)
    assert feed.returncode == 3 and "acme: " in feed.stderr
    assert "tag:policywatch,2026:beta/2026-07-01T00-00-00Z" in feed.stdout and "tag:policywatch,2026:acme" not in feed.stdout
    report = run_cli("report", "--html", str(tmp_path / "r.html"), *options, cwd=tmp_path)
    assert report.returncode == 3 and "wrote" in report.stderr
    html = (tmp_path / "r.html").read_text()
    assert "<b>store</b>: " in html and "biometric" in html  # acme's damage shown, beta's change reported
    assert run_cli("history", "acme", *options, cwd=tmp_path).returncode == 3  # asked for by name: the error itself
