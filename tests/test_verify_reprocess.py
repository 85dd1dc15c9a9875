"""`policywatch verify` and `policywatch reprocess`, and `check` in front of a damaged store: each command as a real
subprocess where its exit code and streams are checked, repeated runs in-process (CliRunner) to save start-ups."""

import gzip
import json
import shutil

import pytest

from helpers import PolicyServer, run_cli, write_config
from policywatch.store import Store
from test_cli_check import V1, V2, run_in_process

# The same policy with an extra section that a narrower `select` leaves out.
WITH_ASIDE = V1.replace("</main>", "</main><aside><h2>Our newsletter</h2><p>Sign up to hear about new features every week.</p></aside>")


DAMAGED = ("text", "raw", "gzip", "meta", "missing", "latest", "stale", "temp", "order", "misplaced")


def record_two_versions(root, site, ids):
    """A store under `root` holding two versions (V1, then V2) of each policy in `ids`."""
    for policy_id in ids:
        site.page(f"/{policy_id}", V1)
    config = write_config(root / "policies.yaml", [{"id": i, "url": site.url(f"/{i}"), "select": "main"} for i in ids])
    assert run_in_process("check", "-c", str(config)).returncode == 0
    for policy_id in ids:
        site.page(f"/{policy_id}", V2)
    assert run_in_process("check", "-c", str(config), "--fail-on", "none").returncode == 0
    return config, Store(root / "snapshots")


@pytest.fixture(scope="module")
def site():
    instance = PolicyServer()
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory, site):
    return record_two_versions(tmp_path_factory.mktemp("template"), site, DAMAGED + ("other",))[0].parent


@pytest.fixture
def recorded(tmp_path, template):
    """A fresh copy of the recorded store (and its config) for one test to damage."""
    shutil.copytree(template, tmp_path, dirs_exist_ok=True)
    return tmp_path / "policies.yaml", Store(tmp_path / "snapshots")


def verify_output(config, *ids):
    result = run_in_process("verify", "-c", str(config), *ids)
    return result.returncode, result.stdout


def test_verify_is_clean_after_normal_runs(recorded):
    config, _ = recorded
    result = run_cli("verify", "-c", str(config))
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""
    assert f"verified {2 * len(DAMAGED) + 2} versions of {len(DAMAGED) + 1} policies" in result.stderr
    assert "0 problems" in result.stderr


def first_version(store, policy_id):
    return store.root / policy_id / "versions" / store.versions(policy_id)[0].version


def damage(store, kind):
    """Damage policy `kind` in one way; returns the path verify must name and what it must say."""
    folder, latest = first_version(store, kind), store.root / kind / "latest.md"
    if kind == "text":
        (folder / "text.md").write_text((folder / "text.md").read_text().replace("email address", "postal address"))
        return folder / "text.md", "does not match the hash"
    if kind == "raw":
        (folder / "raw.gz").write_bytes(gzip.compress(b"<html>something else</html>"))
        return folder / "raw.gz", "body does not match the hash"
    if kind == "gzip":
        (folder / "raw.gz").write_bytes(b"not gzip")
        return folder / "raw.gz", "not a readable gzip file"
    if kind == "meta":
        (folder / "meta.json").write_text("{truncated")
        return folder / "meta.json", "unreadable version metadata"
    if kind == "missing":
        (folder / "text.md").unlink()
        return folder, "incomplete version: text.md missing"
    if kind == "latest":
        latest.write_text(latest.read_text() + "\nA sentence nobody published.\n")
        return latest, "matches no stored version"
    if kind == "stale":
        latest.write_text((folder / "text.md").read_text())
        return latest, "a run was interrupted"
    if kind == "temp":
        (folder.parent / ".tmp-abc123").mkdir()
        (folder.parent / ".tmp-abc123" / "text.md").write_text("half")
        return folder.parent / ".tmp-abc123", "temporary file of an interrupted run"
    second = store.root / kind / "versions" / store.versions(kind)[1].version
    data = json.loads((second / "meta.json").read_text())
    if kind == "order":
        data["fetched_at"] = "1999-01-01T00:00:00+00:00"
        (second / "meta.json").write_text(json.dumps(data))
        return second, "out of order"
    data["policy_id"] = "other"  # misplaced
    (second / "meta.json").write_text(json.dumps(data))
    return second / "meta.json", f"but lies in {kind}/versions/"


def test_verify_names_each_kind_of_damage_with_its_path(recorded):
    config, store = recorded
    expected = {kind: damage(store, kind) for kind in DAMAGED}
    status, output = verify_output(config)
    assert status == 3
    lines = output.splitlines()
    for kind, (path, message) in expected.items():
        assert any(line.startswith(f"{path}: ") and message in line for line in lines), (kind, output)
    assert len(lines) == len(DAMAGED)  # one problem each, nothing else
    # Verifying some policies looks at those alone.
    assert verify_output(config, "other") == (0, "")
    status, output = verify_output(config, "raw", "temp")
    assert status == 3 and len(output.splitlines()) == 2


def test_check_repairs_what_a_killed_run_left_and_then_verify_is_clean(recorded):
    config, store = recorded
    damage(store, "stale")
    damage(store, "temp")
    assert verify_output(config, "stale", "temp")[0] == 3
    for kind in DAMAGED:
        if kind not in ("stale", "temp"):
            shutil.rmtree(store.root / kind)
    # The damage was made by hand after a run that ended normally: verify, having promised that the next
    # check repairs it, makes that check scan the store as after an interrupted run.
    assert run_in_process("check", "-c", str(config), "stale", "temp", "--fail-on", "none").returncode == 0
    assert verify_output(config) == (0, "")


def test_check_refuses_to_diff_against_a_corrupted_latest_version_and_never_overwrites_it(recorded, site):
    config, store = recorded
    latest = store.versions("raw")[-1]
    path = store.root / "raw" / "versions" / latest.version / "text.md"
    edited = path.read_text().replace("biometric", "harmless")
    path.write_text(edited)

    site.page("/raw", V2.replace("We do not sell", "We never sell"))  # a real change to diff
    try:
        result = run_cli("check", "-c", str(config), "raw", "other", "-f", "json")
        assert result.returncode == 3, result.stderr
        policies = {p["id"]: p for p in json.loads(result.stdout)["policies"]}
        error = policies["raw"]["error"]
        assert policies["raw"]["status"] == "error" and error["kind"] == "store"
        assert str(path) in error["message"] and "verify" in error["hint"]
        assert policies["other"]["status"] == "unchanged"  # the other policies are still checked
        assert path.read_text() == edited  # the damaged file is left for a person to look at
        assert len(store.versions("raw")) == 2

        broken_meta = store.root / "raw" / "versions" / latest.version / "meta.json"
        broken_meta.write_text("{")
        again = run_in_process("check", "-c", str(config), "raw", "-f", "json", "--report-errors", "always")
        (policy,) = json.loads(again.stdout)["policies"]
        assert policy["error"]["kind"] == "store" and str(broken_meta) in policy["error"]["message"]
        assert policy["error"]["new"]  # the same kind of error again, reported anyway: --report-errors always
    finally:
        site.page("/raw", V2)


def test_a_hand_edited_latest_md_is_reported_and_never_overwritten(recorded, site):
    config, store = recorded
    path, _ = damage(store, "latest")
    edited = path.read_text()
    site.page("/latest", V2.replace("We do not sell", "We never sell"))  # a real change that would rewrite latest.md
    try:
        result = run_cli("check", "-c", str(config), "latest", "other", "-f", "json")
        assert result.returncode == 3, result.stderr
        policies = {p["id"]: p for p in json.loads(result.stdout)["policies"]}
        error = policies["latest"]["error"]
        assert error["kind"] == "store" and error["message"].startswith(f"{path}: matches no stored version"), error
        assert policies["other"]["status"] == "unchanged"
        assert path.read_text() == edited and len(store.versions("latest")) == 2
        refused = run_in_process("reprocess", "-c", str(config), "latest")
        assert refused.returncode == 3 and f"latest: error: {path}" in refused.stdout

        # Deleting it, as the message says, lets the next check rewrite it and record the change.
        path.unlink()
        again = run_in_process("check", "-c", str(config), "latest", "-f", "json", "--fail-on", "none")
        assert again.returncode == 0, again.stdout + again.stderr
        assert json.loads(again.stdout)["policies"][0]["status"] == "changed"
        assert path.read_text() == store.load_text(store.versions("latest")[-1])
        assert verify_output(config, "latest") == (0, "")
    finally:
        site.page("/latest", V2)


def test_reprocess_after_a_select_change_adds_an_upgrade_version_that_is_never_a_change(tmp_path, server):
    url = server.page("/privacy", WITH_ASIDE)
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": ["main", "aside"]}])
    assert run_in_process("check", "-c", str(config)).returncode == 0
    store = Store(tmp_path / "snapshots")
    (original,) = store.versions("acme")
    assert "newsletter" in store.load_text(original)

    # The user narrows the selection: without reprocess, the next check would report the newsletter as removed.
    write_config(config, [{"id": "acme", "url": url, "select": "main"}])
    result = run_cli("reprocess", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert "acme: rebuilt as upgrade version" in result.stdout and original.version in result.stdout
    first, upgrade = store.versions("acme")
    assert first == original  # history is never rewritten
    assert upgrade.upgrade and upgrade.source_version == original.version
    assert upgrade.raw_sha256 == original.raw_sha256 and upgrade.fetched_at == original.fetched_at
    assert upgrade.changes == 0 and upgrade.findings == 0
    assert "newsletter" not in store.load_text(upgrade)
    assert (tmp_path / "snapshots" / "acme" / "latest.md").read_text() == store.load_text(upgrade)

    check = run_in_process("check", "-c", str(config), "-f", "json")
    assert check.returncode == 0
    (policy,) = json.loads(check.stdout)["policies"]
    assert policy["status"] == "unchanged" and policy["changes"] == []
    assert run_in_process("reprocess", "-c", str(config)).stdout == "acme: up to date (%s)\n" % upgrade.version
    assert run_in_process("verify", "-c", str(config)).returncode == 0

    # A real change after the upgrade is diffed against the upgrade version: only the real edit shows.
    server.page("/privacy", WITH_ASIDE.replace("We do not sell", "We never sell"))
    changed = json.loads(run_in_process("check", "-c", str(config), "-f", "json").stdout)["policies"][0]
    assert changed["status"] == "changed" and changed["previous_version"] == upgrade.version
    assert [c["kind"] for c in changed["changes"]] == ["modified"]


def test_same_body_read_by_a_newer_normalizer_is_a_silent_upgrade(tmp_path, server):
    """A stored version made by an older normalizer: the unchanged page must not be reported as changed."""
    url = server.page("/privacy", V1, etag=False)  # no validators: the body is fetched and read again
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main"}])
    assert run_in_process("check", "-c", str(config)).returncode == 0
    store = Store(tmp_path / "snapshots")
    (old,) = store.versions("acme")
    folder = store.root / "acme" / "versions" / old.version
    # What the older normalizer made of the page: two sentences it did not split.
    text = (folder / "text.md").read_text().replace("create an account.\nThis includes", "create an account. This includes")
    assert text != (folder / "text.md").read_text()
    (folder / "text.md").write_text(text)
    meta = json.loads((folder / "meta.json").read_text())
    from policywatch.store import sha256

    meta.update(normalizer_version="0-older", text_sha256=sha256(text.encode()), text_bytes=len(text.encode()))
    meta["clauses"] -= 1
    (folder / "meta.json").write_text(json.dumps(meta))
    (store.root / "acme" / "latest.md").write_text(text)

    result = run_cli("check", "-c", str(config), "-f", "json")
    assert result.returncode == 0, result.stderr
    (policy,) = json.loads(result.stdout)["policies"]
    assert policy["status"] == "unchanged" and policy["changes"] == []
    first, upgrade = store.versions("acme")
    assert upgrade.upgrade and upgrade.source_version == first.version and upgrade.normalizer_version != "0-older"
    assert run_in_process("verify", "-c", str(config)).returncode == 0


def test_reprocess_refuses_a_damaged_version_and_a_selector_that_matches_nothing(recorded):
    config, store = recorded
    damage(store, "text")  # the first version: reprocess reads only the newest, which is intact
    assert run_in_process("reprocess", "-c", str(config), "text").returncode == 0

    newest = store.versions("other")[-1]
    target = store.root / "other" / "versions" / newest.version / "text.md"
    target.write_text("# edited\n")
    broken = run_cli("reprocess", "-c", str(config), "other")
    assert broken.returncode == 3
    assert f"other: error: {target}" in broken.stdout

    text = config.read_text().replace("select: main", "select: '#nothing-here'")
    config.write_text(text)
    empty = run_in_process("reprocess", "-c", str(config), "raw")
    assert empty.returncode == 3 and "raw: error:" in empty.stdout and "empty" in empty.stdout
    assert len(store.versions("raw")) == 2  # nothing recorded from a failed rebuild


def test_a_mistyped_store_is_a_usage_error_and_an_unwritable_one_is_named(tmp_path, server):
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": server.page("/privacy", V1)}])
    for command in ("verify", "reprocess"):
        result = run_cli(command, "-c", str(config), "--store", str(tmp_path / "snapshtos"))
        assert result.returncode == 2, (command, result.stderr)
        assert f"{tmp_path / 'snapshtos'}: no snapshot store here" in result.stderr
    assert not (tmp_path / "snapshtos").exists()  # never created by a command that only reads or repairs

    (tmp_path / "file").write_text("not a folder")
    blocked = run_cli("check", "-c", str(config), "--store", str(tmp_path / "file" / "snapshots"))
    assert blocked.returncode == 3
    assert blocked.stderr.strip() == f"policywatch: error: {tmp_path / 'file' / 'snapshots' / '.lock'}: cannot write (Not a directory)"
