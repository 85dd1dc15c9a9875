import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest

from policywatch import clausetext
from policywatch.models import HEADING, ITEM, Clause
from policywatch.store import FailedBody, PolicyState, Store, StoreError, VersionMeta, atomic_write, sha256

CLAUSES = clausetext.attach_leads(
    [
        Clause("Data we collect", HEADING),
        Clause("We may collect:", section=("Data we collect",)),
        Clause("your fingerprints", ITEM, ("Data we collect",)),
    ]
)


def meta_for(text: str, raw: bytes, version="2026-11-25T07-00-00Z", policy_id="acme") -> VersionMeta:
    return VersionMeta(
        version=version,
        policy_id=policy_id,
        fetched_at="2026-11-25T07:00:00+00:00",
        url="https://acme.example/privacy",
        final_url="https://acme.example/privacy",
        http_status=200,
        content_type="text/html",
        etag=None,
        last_modified=None,
        raw_sha256=sha256(raw),
        raw_bytes=len(raw),
        text_sha256=sha256(text.encode()),
        text_bytes=len(text.encode()),
        clauses=3,
        sections=1,
        normalizer_version="test",
    )


def test_versions_are_kept_in_order_and_latest_md_follows(tmp_path):
    store = Store(tmp_path)
    text = clausetext.dump(CLAUSES)
    first = store.add_version(meta_for(text, b"<html>1</html>"), text, b"<html>1</html>")
    second_text = text + "\nOne more sentence.\n"
    second = store.add_version(meta_for(second_text, b"<html>2</html>"), second_text, b"<html>2</html>")
    assert first.version == "2026-11-25T07-00-00Z"
    assert second.version == "2026-11-25T07-00-00Z-01"  # same second: a suffix that sorts after
    assert [m.version for m in store.versions("acme")] == [first.version, second.version]
    assert store.latest("acme") == second
    assert (tmp_path / "acme" / "latest.md").read_text() == second_text
    assert store.load_clauses(first) == CLAUSES
    assert store.load_raw(first) == b"<html>1</html>"
    assert store.policy_ids() == ["acme"]


def test_hand_edited_snapshot_is_reported_with_its_path(tmp_path):
    store = Store(tmp_path)
    text = clausetext.dump(CLAUSES)
    meta = store.add_version(meta_for(text, b"x"), text, b"x")
    target = tmp_path / "acme" / "versions" / meta.version / "text.md"
    target.write_text(text.replace("fingerprints", "photos"))
    with pytest.raises(StoreError, match=str(target)):
        store.load_text(meta)


def test_state_round_trips_and_a_broken_state_is_only_a_cache_miss(tmp_path):
    store = Store(tmp_path)
    failed = FailedBody("f00d", "settings", "empty", "too little text", "open it in a browser", etag='"e1"')
    state = PolicyState(status="error", etag='"abc"', error_kind="http-500", error_since="then", failed_body=failed)
    store.save_state("acme", state)
    # last_checked is when the state was saved, kept as the per-run file's modification time.
    read = store.state("acme")
    assert read == dataclasses.replace(state, last_checked=read.last_checked)
    assert abs(datetime.fromisoformat(read.last_checked) - datetime.now(timezone.utc)) < timedelta(minutes=1)
    # The error state (committed with the store) and the per-run state (git-ignored) are separate files.
    assert json.loads((tmp_path / "acme" / "state.json").read_text()) == {"error_kind": "http-500", "error_message": None, "error_since": "then"}
    (tmp_path / "acme" / "state.json").write_text("{broken")
    assert store.state("acme") == PolicyState(last_checked=read.last_checked, status="error", etag='"abc"', failed_body=failed)
    per_run = json.loads((tmp_path / "acme" / ".check.json").read_text())
    (tmp_path / "acme" / ".check.json").write_text(json.dumps({**per_run, "failed_body": {"raw_sha256": "only"}}))
    assert store.state("acme").failed_body is None and store.state("acme").etag == '"abc"'  # damaged: forgotten
    (tmp_path / "acme" / ".check.json").write_text("[]")
    assert store.state("acme") == PolicyState()


def test_a_policy_that_never_failed_has_no_error_state_file(tmp_path):
    store = Store(tmp_path)
    store.save_state("acme", PolicyState(status="new", etag='"abc"'))
    assert not (tmp_path / "acme" / "state.json").exists()
    store.save_state("acme", PolicyState(status="error", error_kind="network"))
    store.save_state("acme", PolicyState(status="unchanged"))  # recovered: the file now records no error
    assert json.loads((tmp_path / "acme" / "state.json").read_text()) == {"error_kind": None, "error_message": None, "error_since": None}


def test_a_quiet_run_rewrites_no_committed_file_and_the_store_ignores_its_per_run_files(tmp_path):
    store = Store(tmp_path)
    with store.lock():
        store.save_state("acme", PolicyState(last_checked="1", error_kind="network"))
    committed = tmp_path / "acme" / "state.json"
    written = committed.stat().st_mtime_ns
    with store.lock():
        store.save_state("acme", PolicyState(last_checked="2", error_kind="network", etag="e2"))
    assert committed.stat().st_mtime_ns == written and store.state("acme").etag == "e2"
    # Nothing at all changed: the per-run file is only touched, so that it still tells when the check ran.
    per_run = tmp_path / "acme" / ".check.json"
    os.utime(per_run, (0, 0))
    inode = per_run.stat().st_ino
    with store.lock():
        store.save_state("acme", PolicyState(last_checked="3", error_kind="network", etag="e2"))
    assert per_run.stat().st_ino == inode and per_run.stat().st_mtime > 0
    assert (tmp_path / ".gitignore").read_text().splitlines()[1:] == [".lock", ".check.json", ".tmp-*"]
    (tmp_path / ".gitignore").write_text("mine\n")
    with store.lock():
        pass
    assert (tmp_path / ".gitignore").read_text() == "mine\n"


def test_suspicious_capture_is_kept_aside_until_its_text_is_accepted(tmp_path):
    store = Store(tmp_path)
    text = clausetext.dump(CLAUSES)
    meta = dataclasses.replace(meta_for(text, b"x"), reason="shrank")
    path = store.put_aside(meta, text, b"x")
    assert store.versions("acme") == []
    assert path.is_dir()
    (kept,) = store.suspicious("acme")
    assert kept.reason == "shrank"
    store.discard_suspicious("acme", sha256(b"another text"))
    assert store.suspicious("acme") == [kept]
    store.discard_suspicious("acme", kept.text_sha256)
    assert store.suspicious("acme") == []
    assert list((tmp_path / "acme" / "suspicious").iterdir()) == []  # no half folder, no temp name left


def test_second_run_is_refused_while_the_first_holds_the_lock(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from policywatch.store import Store
                with Store({str(tmp_path)!r}).lock():
                    print("locked", flush=True)
                    time.sleep(30)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match=f"pid {holder.pid}"):
            with Store(tmp_path).lock(wait=0.3):
                pass
    finally:
        holder.kill()
        holder.wait()
    # The holder was SIGKILLed: its lock file is stale and must not block the next run.
    assert (tmp_path / ".lock").exists()
    with Store(tmp_path).lock():
        assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())


def store_with_two_versions(tmp_path) -> tuple[Store, VersionMeta, str]:
    """A store whose policy has two versions; returns it, the first version and the newer text."""
    store = Store(tmp_path)
    text = clausetext.dump(CLAUSES)
    first = store.add_version(meta_for(text, b"1"), text, b"1")
    newer = text + "\nOne more sentence.\n"
    store.add_version(meta_for(newer, b"2", version="2026-11-26T07-00-00Z"), newer, b"2")
    return store, first, newer


def test_recover_removes_leftovers_and_brings_latest_md_up_to_date(tmp_path):
    store, first, newer = store_with_two_versions(tmp_path)
    # What a run killed at the worst moments leaves: latest.md one version behind, half-built folders.
    (tmp_path / "acme" / "latest.md").write_text(store.load_text(first))
    staging = tmp_path / "acme" / "versions" / ".tmp-x1"
    (staging / "deeper").mkdir(parents=True)
    (tmp_path / "acme" / ".tmp-state").write_text("{")
    assert store.stray_temp_paths() == [tmp_path / "acme" / ".tmp-state", staging]

    repaired = store.recover()
    assert set(repaired) == {staging, tmp_path / "acme" / ".tmp-state", tmp_path / "acme" / "latest.md"}
    assert (tmp_path / "acme" / "latest.md").read_text() == newer
    assert store.stray_temp_paths() == []
    assert store.recover() == []


def test_recovery_scan_runs_only_after_a_run_that_did_not_end_normally(tmp_path):
    store, first, newer = store_with_two_versions(tmp_path)
    latest = tmp_path / "acme" / "latest.md"
    stray = tmp_path / "acme" / ".tmp-x1"
    with pytest.raises(RuntimeError):
        with store.lock():  # a run that dies between a version and latest.md, and leaves a temp file
            latest.write_text(store.load_text(first))
            stray.write_text("half")
            raise RuntimeError("killed")
    with store.lock():
        assert set(store.recover()) == {latest, stray}
    # That run ended normally: the next one does not read the store through (a stale latest.md can only be
    # left by an interrupted run), but a latest.md deleted by hand is still rewritten.
    latest.write_text(store.load_text(first))
    with store.lock():
        assert store.recover() == []
    latest.unlink()
    with store.lock():
        assert store.recover() == [latest] and latest.read_text() == newer
def test_recover_leaves_a_hand_edited_latest_md_for_verify(tmp_path):
    store = Store(tmp_path)
    text = clausetext.dump(CLAUSES)
    store.add_version(meta_for(text, b"1"), text, b"1")
    (tmp_path / "acme" / "latest.md").write_text("my own notes\n")
    assert store.recover() == []
    assert (tmp_path / "acme" / "latest.md").read_text() == "my own notes\n"
    with pytest.raises(StoreError, match=f"{tmp_path / 'acme' / 'latest.md'}: matches no stored version"):
        store.ensure_latest_md_intact(store.latest("acme"))  # what check and reprocess call before writing
    (tmp_path / "acme" / "latest.md").unlink()
    assert store.recover() == [tmp_path / "acme" / "latest.md"]
    assert (tmp_path / "acme" / "latest.md").read_text() == text
    store.ensure_latest_md_intact(store.latest("acme"))


def test_a_write_that_fails_is_a_store_error_naming_the_path(tmp_path):
    store = Store(tmp_path)
    (tmp_path / "acme").write_text("a file where the policy folder should be")
    text = clausetext.dump(CLAUSES)
    with pytest.raises(StoreError, match=str(tmp_path / "acme")):
        store.add_version(meta_for(text, b"x"), text, b"x")
    with pytest.raises(StoreError, match="cannot write"):
        store.save_state("acme", PolicyState(status="new"))


def test_atomic_writes_keep_a_files_mode_and_give_new_files_the_umask_mode(tmp_path):
    config = tmp_path / "policies.yaml"
    config.write_text("policies: []\n")
    config.chmod(0o640)
    atomic_write(config, b"policies: []\n# more\n")
    assert config.stat().st_mode & 0o777 == 0o640
    umask = os.umask(0o027)
    os.umask(umask)
    atomic_write(tmp_path / "report.html", b"<p>")
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o666 & ~umask


def test_stray_temp_paths_are_found_wherever_the_store_writes_temp_names(tmp_path):
    # A store that itself lies under a temp-named folder: only names inside the store count.
    store = Store(tmp_path / ".tmp-workspace" / "snapshots")
    text = clausetext.dump(CLAUSES)
    store.add_version(meta_for(text, b"1"), text, b"1")
    root = store.root
    leftovers = [
        root / ".tmp-gitignore",  # atomic_write of the store's .gitignore
        root / "acme" / ".tmp-latest",  # atomic_write of latest.md, state.json, .check.json
        root / "acme" / "versions" / ".tmp-staging",  # a version folder being built
        root / "acme" / "suspicious" / ".tmp-2026-11-25T07-00-00Z",  # a capture being discarded
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half")
    (root / "acme" / "versions" / ".tmp-staging2" / ".tmp-inner").mkdir(parents=True)
    leftovers.append(root / "acme" / "versions" / ".tmp-staging2")
    assert store.stray_temp_paths() == sorted(leftovers)
    assert sorted(store.clean_staging()) == sorted(leftovers)
    assert store.stray_temp_paths() == [] and store.latest("acme") is not None
