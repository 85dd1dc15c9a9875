"""Store maintenance behind `verify` and `reprocess`. No terminal: callers get dataclasses back.

verify reads every file of the store and says what does not add up, with its path; it never repairs.
reprocess rebuilds a policy's newest text from its stored raw body after a normalizer, rules or
select/remove change. History is never rewritten: the rebuilt text becomes a new version on top, flagged
`upgrade: true` with `source_version` naming the version whose body it re-read, so the next check diffs
against it and the technical change is never reported as a change of the policy.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from policywatch import clausetext
from policywatch.config import Config
from policywatch.models import HEADING, Clause
from policywatch.normalize import NORMALIZER_VERSION, NormalizeError, normalize
from policywatch.store import LAST_CHECK, LATEST, STATE, SUSPICIOUS, Store, StoreError, VersionMeta, sha256, version_id


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    message: str
    repaired_by_check: bool = False  # a trace of an interrupted run, which the next check's recovery undoes


@dataclass(slots=True)
class VerifyReport:
    policies: int = 0
    versions: int = 0
    problems: list[Problem] = field(default_factory=list)


def verify(store: Store, ids: Sequence[str] = ()) -> VerifyReport:
    """Check hashes, metadata, version order and latest.md of every (or the given) policy in the store."""
    report = VerifyReport()
    known = store.policy_ids()
    selected = [policy_id for policy_id in known if policy_id in ids] if ids else known
    for policy_id in ids:
        if policy_id not in known:
            report.problems.append(Problem(store.policy_dir(policy_id), "no such policy in the store"))
    for path in store.stray_temp_paths():
        if not ids or any(store.policy_dir(policy_id) in path.parents for policy_id in selected):
            report.problems.append(Problem(path, "temporary file of an interrupted run (the next `check` removes it)", repaired_by_check=True))
    for policy_id in selected:
        report.policies += 1
        report.versions += _verify_policy(store, policy_id, report.problems)
    if any(problem.repaired_by_check for problem in report.problems):
        store.expect_recovery()  # keep the promise even when the last run ended normally (a hand-made mess)
    return report


def _verify_policy(store: Store, policy_id: str, problems: list[Problem]) -> int:
    versions: list[VersionMeta] = []
    folders = store.version_folders(policy_id)
    for folder in folders:
        meta = _verify_folder(store, policy_id, folder, problems)
        if meta is not None:
            versions.append(meta)
    for folder in store.version_folders(policy_id, SUSPICIOUS):
        _verify_folder(store, policy_id, folder, problems)
    for before, after in zip(versions, versions[1:]):
        if _moment(after.fetched_at) < _moment(before.fetched_at):
            problems.append(
                Problem(store.version_path(policy_id, after.version), f"fetched before the version ahead of it ({before.version}): history is out of order")
            )
    _verify_latest(store, policy_id, versions, problems)
    for state in (store.policy_dir(policy_id) / name for name in (STATE, LAST_CHECK)):
        if state.exists():
            try:
                json.loads(state.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                problems.append(Problem(state, f"unreadable ({error}); the next check starts its tracking afresh"))
    return len(folders)


def _verify_folder(store: Store, policy_id: str, folder: Path, problems: list[Problem]) -> VersionMeta | None:
    """Check one version (or suspicious capture) folder; returns its metadata when that is readable."""
    missing = [name for name in ("meta.json", "text.md", "raw.gz") if not (folder / name).is_file()]
    if missing:
        problems.append(Problem(folder, f"incomplete version: {', '.join(missing)} missing"))
        if "meta.json" in missing:
            return None
    try:
        meta = store.read_meta(folder)
    except StoreError:
        problems.append(Problem(folder / "meta.json", "unreadable version metadata (not JSON, or fields missing)"))
        return None
    if meta.version != folder.name or meta.policy_id != policy_id:
        problems.append(Problem(folder / "meta.json", f"names version {meta.version!r} of {meta.policy_id!r}, but lies in {policy_id}/{folder.parent.name}/{folder.name}"))
    if "text.md" not in missing:
        _verify_text(folder / "text.md", meta, problems)
    if "raw.gz" not in missing:
        _verify_raw(folder / "raw.gz", meta, problems)
    return meta


def _verify_text(path: Path, meta: VersionMeta, problems: list[Problem]) -> None:
    data = path.read_bytes()
    if sha256(data) != meta.text_sha256:
        problems.append(Problem(path, "does not match the hash in meta.json (edited or corrupted)"))
        return
    try:
        clauses = clausetext.load(data.decode("utf-8"))
    except (UnicodeDecodeError, clausetext.ClauseTextError) as error:
        problems.append(Problem(path, f"not in the clause text format: {error}"))
        return
    if len(clauses) != meta.clauses:
        problems.append(Problem(path, f"holds {len(clauses)} clauses, meta.json says {meta.clauses}"))


def _verify_raw(path: Path, meta: VersionMeta, problems: list[Problem]) -> None:
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as error:
        problems.append(Problem(path, f"not a readable gzip file ({error})"))
        return
    if sha256(raw) != meta.raw_sha256:
        problems.append(Problem(path, "the body does not match the hash in meta.json (edited or corrupted)"))


def _verify_latest(store: Store, policy_id: str, versions: list[VersionMeta], problems: list[Problem]) -> None:
    path = store.policy_dir(policy_id) / LATEST
    if not versions:
        return
    if not path.is_file():
        problems.append(Problem(path, f"missing (a run was interrupted; the next check restores it from {versions[-1].version})", repaired_by_check=True))
        return
    current = sha256(path.read_bytes())
    if current == versions[-1].text_sha256:
        return
    older = [meta.version for meta in versions[:-1] if meta.text_sha256 == current]
    if older:
        problems.append(Problem(path, f"holds version {older[-1]}, not the newest {versions[-1].version} (a run was interrupted; the next check repairs it)", repaired_by_check=True))
    else:
        problems.append(Problem(path, f"matches no stored version (hand-edited?); the newest is {versions[-1].version}"))


def _moment(iso: str) -> datetime:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- reprocess -----------------------------------------------------------------------------------------

REBUILT = "rebuilt"
UP_TO_DATE = "up-to-date"
NO_VERSIONS = "no-versions"
FAILED = "error"


@dataclass(frozen=True, slots=True)
class Reprocessed:
    policy_id: str
    outcome: str  # REBUILT, UP_TO_DATE, NO_VERSIONS or FAILED
    source: VersionMeta | None = None  # the version whose raw body was normalized again
    version: VersionMeta | None = None  # the upgrade version recorded
    message: str = ""


def reprocess(store: Store, config: Config, ids: Sequence[str] = ()) -> list[Reprocessed]:
    """Normalize each selected policy's newest raw body again with its current select/remove and record
    the result as an upgrade version when the text differs. The caller holds the store's lock."""
    results = []
    for spec in config.select(list(ids)):
        try:
            results.append(_reprocess_one(store, spec.id, spec.select, spec.remove))
        except StoreError as error:
            results.append(Reprocessed(spec.id, FAILED, message=str(error)))
    return results


def _reprocess_one(store: Store, policy_id: str, select: tuple[str, ...], remove: tuple[str, ...]) -> Reprocessed:
    latest = store.latest(policy_id)
    if latest is None:
        return Reprocessed(policy_id, NO_VERSIONS)
    store.load_text(latest)  # refuse to build on a damaged version or a hand-edited latest.md: verify names them
    store.ensure_latest_md_intact(latest)
    raw = store.load_raw(latest)
    try:
        clauses = normalize(raw, content_type=latest.content_type, url=latest.final_url, select=select, remove=remove)
    except NormalizeError as error:
        path = store.version_path(policy_id, latest.version) / "raw.gz"
        return Reprocessed(policy_id, FAILED, latest, message=f"{path}: the stored body yields no policy text now ({error.kind}: {error}); {error.hint}")
    upgraded = record_upgrade(store, latest, clauses, raw)
    return Reprocessed(policy_id, UP_TO_DATE if upgraded is None else REBUILT, latest, upgraded)


def record_upgrade(store: Store, source: VersionMeta, clauses: list[Clause], raw: bytes) -> VersionMeta | None:
    """Add `clauses`, read again from `source`'s raw body `raw`, as an upgrade version on top of the history.

    None when the text is what `source` already holds. The upgrade keeps the source's fetch metadata and
    body (it is the same capture) and counts no changes or findings.
    """
    text = clausetext.dump(clauses)
    encoded = text.encode("utf-8")
    if sha256(encoded) == source.text_sha256:
        return None
    meta = dataclasses.replace(
        source,
        version=version_id(datetime.now(timezone.utc)),
        text_sha256=sha256(encoded),
        text_bytes=len(encoded),
        clauses=len(clauses),
        sections=sum(1 for clause in clauses if clause.kind == HEADING),
        normalizer_version=NORMALIZER_VERSION,
        upgrade=True,
        source_version=source.source_version or source.version,
        changes=0,
        findings=0,
        reason="",
    )
    return store.add_version(meta, text, raw)
