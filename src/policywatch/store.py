"""The snapshot store: every accepted version of every policy, written atomically, never overwritten.

Layout (one folder per policy id, so stores of several runners merge without conflict):

    <store>/<id>/latest.md                    the newest accepted version's text (stable path for `git diff`)
    <store>/<id>/versions/<version>/text.md   normalized clause text (clausetext format)
    <store>/<id>/versions/<version>/raw.gz    the response body as fetched, gzip-compressed
    <store>/<id>/versions/<version>/meta.json fetch metadata and hashes
    <store>/<id>/suspicious/<version>/        captures kept aside instead of becoming a version
    <store>/<id>/state.json                   error state (changes only when an error begins or ends)
    <store>/<id>/.check.json                  last check, status, HTTP validators (per run; not for git)
    <store>/.gitignore                        keeps the per-run files out of a repository that commits the store

A version folder is built under a temporary name and renamed into place in one step, so a run killed at
any moment leaves either the whole version or none of it; `recover` (run by `check` under the lock) removes
the temporary leftovers and brings latest.md up to date when a run died between the two steps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from policywatch import clausetext
from policywatch.models import Clause

LATEST = "latest.md"
VERSIONS = "versions"
SUSPICIOUS = "suspicious"
STATE = "state.json"
LAST_CHECK = ".check.json"
# zlib's fast levels (1-3) compress policy HTML at about twice the speed of level 6 for a tenth more bytes
# (corpus: 3.6× vs 4.0× smaller); on a cold check of 1,000 pages level 6 alone cost ~3 CPU s.
RAW_COMPRESSLEVEL = 3
GITIGNORE = ".gitignore"
LOCK = ".lock"
_TMP_PREFIX = ".tmp-"


class StoreError(Exception):
    """The store is unreadable, corrupted or busy; the message names the path."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class VersionMeta:
    version: str  # sortable id from the fetch time, e.g. 2026-11-25T07-15-00Z
    policy_id: str
    fetched_at: str  # ISO 8601 UTC
    url: str
    final_url: str
    http_status: int
    content_type: str | None
    etag: str | None
    last_modified: str | None
    raw_sha256: str
    raw_bytes: int
    text_sha256: str
    text_bytes: int
    clauses: int
    sections: int
    normalizer_version: str
    upgrade: bool = False  # rebuilt from the raw body by a newer normalizer: not a change of the policy
    source_version: str = ""  # for an upgrade: the version whose raw body was normalized again
    changes: int = 0  # changed clauses against the previous version
    findings: int = 0  # failing findings against the previous version
    reason: str = ""  # why a capture was set aside (suspicious versions)

    @classmethod
    def from_json(cls, data: dict) -> VersionMeta:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclass(frozen=True, slots=True)
class FailedBody:
    """A body that failed processing (a bot wall, an empty page…), remembered so that while the site keeps
    serving it, the next runs ask for it conditionally and skip parsing it again."""

    raw_sha256: str
    settings: str  # fingerprint of what processing depends on (normalizer, URL, selectors): a change re-parses
    kind: str
    message: str
    hint: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyState:
    """What the last check of a policy saw; drives conditional requests and error-state reporting."""

    last_checked: str | None = None  # when the per-run file was last saved (its modification time)
    status: str | None = None  # new / unchanged / changed / suspicious / error
    error_kind: str | None = None
    error_message: str | None = None
    error_since: str | None = None
    etag: str | None = None  # validators of the body the latest version was built from
    last_modified: str | None = None
    raw_sha256: str | None = None
    failed_body: FailedBody | None = None  # the body the last run could not process, if that was the error

    # Only the error state goes in state.json: it changes when an error begins or ends, so a job that commits
    # the store makes no commit on a quiet run. The rest changes every run (or with every rotating token).
    ERROR_FIELDS = ("error_kind", "error_message", "error_since")

    @classmethod
    def from_json(cls, data: dict) -> PolicyState:
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {key: value for key, value in data.items() if key in names}
        fields["failed_body"] = _failed_body_from_json(fields.get("failed_body"))
        return cls(**fields)


def _failed_body_from_json(data: object) -> FailedBody | None:
    """A damaged record is forgotten: it only saves a parse."""
    try:
        return FailedBody(**data) if isinstance(data, dict) else None
    except TypeError:
        return None


def version_id(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A failed write (disk full, permissions) is a StoreError naming the path, not a traceback."""
    try:
        yield
    except OSError as error:
        raise StoreError(f"{path}: cannot write ({error.strerror or error})") from None


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Write via a synced temp file in the same folder and rename, so readers see old or new, never half.

    durable=False skips the fsyncs, for caches whose loss after a power cut costs nothing but a refetch.
    """
    with _writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(fd, _mode_for(path))
                handle.write(data)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    if durable:
        _fsync_dir(path.parent)


# mkstemp creates owner-only files; a replaced file keeps its mode and a new one gets the usual umask mode, so
# reports can be served and a shared store read. Read once: os.umask can only be read by setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


# What the lock file holds once a run has ended normally (while held, it holds the holder's pid), and what it
# holds when a run found traces of an earlier interrupted one that the next check must still repair.
_FINISHED = "finished\n"
_RECOVERY_DUE = "recovery due\n"


class Store:
    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._last_run_finished = False  # set by lock(): whether the previous holder ended normally
        self._recovery_due = False  # set by expect_recovery(): the next run must scan even so

    # --- locking -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the store's lock; wait up to `wait` seconds for another run, else StoreError naming its pid.

        An flock dies with its process, so a lock file left by a killed run never blocks the next one.
        """
        path = self.root / LOCK
        with _writing(path):
            self.root.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+")
            self._write_gitignore()
        deadline = time.monotonic() + wait
        try:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "unknown"
                        raise StoreError(
                            f"{path}: another policywatch run (pid {holder}) is using this store; "
                            "wait for it or pass --wait SECONDS"
                        ) from None
                    time.sleep(0.1)
            handle.seek(0)
            self._last_run_finished = handle.read() == _FINISHED
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
            # Only reached when the block ended without an exception: nothing can be half written.
            handle.seek(0)
            handle.truncate()
            handle.write(_RECOVERY_DUE if self._recovery_due else _FINISHED)
            handle.flush()
        finally:
            handle.close()

    def _write_gitignore(self) -> None:
        """Keep the lock, per-run state and temp leftovers out of git; a .gitignore the user wrote is left alone."""
        path = self.root / GITIGNORE
        if not path.exists():
            atomic_write(path, f"# Written by policywatch: per-run files, not history.\n{LOCK}\n{LAST_CHECK}\n{_TMP_PREFIX}*\n".encode())

    # --- reading -------------------------------------------------------------------------------------

    def policy_dir(self, policy_id: str) -> Path:
        return self.root / policy_id

    def policy_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def version_folders(self, policy_id: str, kind: str = VERSIONS) -> list[Path]:
        """The folders of accepted versions (or of suspicious captures), oldest first."""
        folder = self.policy_dir(policy_id) / kind
        try:
            with os.scandir(folder) as entries:  # scandir knows the entry types: no stat per version
                names = sorted(entry.name for entry in entries if entry.is_dir() and not entry.name.startswith("."))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [folder / name for name in names]

    def versions(self, policy_id: str) -> list[VersionMeta]:
        """Every accepted version, oldest first."""
        return [self.read_meta(folder) for folder in self.version_folders(policy_id)]

    def latest(self, policy_id: str) -> VersionMeta | None:
        folders = self.version_folders(policy_id)
        return self.read_meta(folders[-1]) if folders else None

    def read_meta(self, folder: Path) -> VersionMeta:
        path = folder / "meta.json"
        try:
            return VersionMeta.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as error:
            raise StoreError(f"{path}: unreadable version metadata ({error}); run `policywatch verify`") from None

    def version_path(self, policy_id: str, version: str) -> Path:
        return self.policy_dir(policy_id) / VERSIONS / version

    def load_text(self, meta: VersionMeta) -> str:
        path = self.version_path(meta.policy_id, meta.version) / "text.md"
        try:
            data = path.read_bytes()
        except OSError as error:
            raise StoreError(f"{path}: cannot read ({error.strerror or error})") from None
        if sha256(data) != meta.text_sha256:
            raise StoreError(f"{path}: content does not match its recorded hash (edited or corrupted); run `policywatch verify`")
        return data.decode("utf-8")

    def load_clauses(self, meta: VersionMeta) -> list[Clause]:
        text = self.load_text(meta)
        try:
            return clausetext.load(text)
        except clausetext.ClauseTextError as error:
            path = self.version_path(meta.policy_id, meta.version) / "text.md"
            raise StoreError(f"{path}: {error}") from None

    def load_raw(self, meta: VersionMeta) -> bytes:
        path = self.version_path(meta.policy_id, meta.version) / "raw.gz"
        try:
            data = gzip.decompress(path.read_bytes())
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise StoreError(f"{path}: unreadable raw body ({error})") from None
        if sha256(data) != meta.raw_sha256:
            raise StoreError(f"{path}: raw body does not match its recorded hash")
        return data

    def state(self, policy_id: str) -> PolicyState:
        """The last check's state: state.json (error state; older stores kept everything there) + .check.json."""
        data: dict = {}
        for name in (STATE, LAST_CHECK):
            path = self.policy_dir(policy_id) / name
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
                if name == LAST_CHECK and isinstance(saved, dict):
                    checked = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                    saved["last_checked"] = checked.isoformat(timespec="seconds")
                data.update(saved)
            except (OSError, ValueError, TypeError, AttributeError):
                # Missing or damaged: a cache of the last check, whose loss costs one unconditional fetch and
                # error report, nothing more.
                pass
        return PolicyState.from_json(data)

    # --- writing -------------------------------------------------------------------------------------

    def save_state(self, policy_id: str, state: PolicyState) -> None:
        """Save what a check saw; the check's time is the moment of saving (state.last_checked is not stored)."""
        fields = dataclasses.asdict(state)
        del fields["last_checked"]  # the per-run file's modification time: a quiet run rewrites no file
        errors = {name: fields.pop(name) for name in PolicyState.ERROR_FIELDS}
        committed = self.policy_dir(policy_id) / STATE
        if any(errors.values()) or committed.exists():  # never an error: no file (it reads as no error)
            self._write_json_if_changed(committed, errors)
        # The per-run state is a cache (see state()): not worth an fsync per policy on every run.
        per_run = self.policy_dir(policy_id) / LAST_CHECK
        if not self._write_json_if_changed(per_run, fields, durable=False):
            with _writing(per_run):
                os.utime(per_run)

    @staticmethod
    def _write_json_if_changed(path: Path, data: dict, durable: bool = True) -> bool:
        """Write data unless the file already holds exactly it; returns whether it wrote."""
        encoded = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")
        try:
            if path.read_bytes() == encoded:
                return False
        except OSError:
            pass
        atomic_write(path, encoded, durable)
        return True

    def add_version(self, meta: VersionMeta, text: str, raw: bytes) -> VersionMeta:
        """Record a new accepted version and point latest.md at it. Returns the meta as stored."""
        meta = self._write_version_folder(self.policy_dir(meta.policy_id) / VERSIONS, meta, text, raw)
        atomic_write(self.policy_dir(meta.policy_id) / LATEST, text.encode("utf-8"))
        return meta

    def put_aside(self, meta: VersionMeta, text: str, raw: bytes) -> Path:
        """Keep a suspicious capture for inspection without making it a version."""
        return self.suspicious_path(self._write_version_folder(self.policy_dir(meta.policy_id) / SUSPICIOUS, meta, text, raw))

    def suspicious_path(self, meta: VersionMeta) -> Path:
        return self.policy_dir(meta.policy_id) / SUSPICIOUS / meta.version

    def suspicious(self, policy_id: str) -> list[VersionMeta]:
        return [self.read_meta(folder) for folder in self.version_folders(policy_id, SUSPICIOUS)]

    def discard_suspicious(self, policy_id: str, text_sha256: str) -> None:
        """Drop the set-aside captures of this text once it was accepted as a version."""
        for meta in self.suspicious(policy_id):
            if meta.text_sha256 == text_sha256:
                self._discard(self.suspicious_path(meta))

    @staticmethod
    def _discard(folder: Path) -> None:
        """Remove a folder so that a kill midway leaves a temp name (cleaned later), never a half folder."""
        doomed = folder.with_name(f"{_TMP_PREFIX}{folder.name}")
        os.rename(folder, doomed)
        shutil.rmtree(doomed)

    def _write_version_folder(self, parent: Path, meta: VersionMeta, text: str, raw: bytes) -> VersionMeta:
        with _writing(parent):
            parent.mkdir(parents=True, exist_ok=True)
            meta = dataclasses.replace(meta, version=self._free_version_name(parent, meta.version))
            staging = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=parent))
            try:
                _write_synced(staging / "text.md", text.encode("utf-8"))
                _write_synced(staging / "raw.gz", gzip.compress(raw, compresslevel=RAW_COMPRESSLEVEL, mtime=0))
                meta_json = json.dumps(dataclasses.asdict(meta), indent=2, sort_keys=True) + "\n"
                _write_synced(staging / "meta.json", meta_json.encode("utf-8"))
                _fsync_dir(staging)
                os.rename(staging, parent / meta.version)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        _fsync_dir(parent)
        return meta

    @staticmethod
    def _free_version_name(parent: Path, name: str) -> str:
        """Versions fetched within the same second get -01, -02… (still sorting after the first)."""
        candidate, counter = name, 0
        while (parent / candidate).exists():
            counter += 1
            candidate = f"{name}-{counter:02d}"
        return candidate

    def stray_temp_paths(self) -> list[Path]:
        """Temp files and folders that only a killed run leaves behind (outermost first).

        The store writes temp names in four places only (the root, a policy folder, its versions/ and its
        suspicious/ folder), so those are the ones looked at: not every file of every version on every run.
        """
        if not self.root.is_dir():
            return []
        places = ("", "*/", f"*/{VERSIONS}/", f"*/{SUSPICIOUS}/")
        found = sorted({path for place in places for path in self.root.glob(place + _TMP_PREFIX + "*")})
        return [path for path in found if not any(part.startswith(_TMP_PREFIX) for part in path.relative_to(self.root).parts[:-1])]

    def clean_staging(self) -> list[Path]:
        """Remove temp files and folders left by killed runs; returns what was removed. Hold the lock."""
        removed = self.stray_temp_paths()
        for path in removed:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return removed

    def latest_md_source(self, policy_id: str) -> VersionMeta | None:
        """The stored version whose text latest.md holds (newest first); None when it is missing or holds
        a text no version has (hand-edited, or a merge conflict)."""
        path = self.policy_dir(policy_id) / LATEST
        if not path.is_file():
            return None
        current = sha256(path.read_bytes())
        for folder in reversed(self.version_folders(policy_id)):
            meta = self.read_meta(folder)
            if meta.text_sha256 == current:
                return meta
        return None

    def ensure_latest_md_intact(self, newest: VersionMeta) -> None:
        """Refuse to go on (StoreError naming the path) when latest.md holds a text no version has, so that
        a hand-edited file is reported and never silently overwritten."""
        path = self.policy_dir(newest.policy_id) / LATEST
        if not path.is_file() or sha256(path.read_bytes()) == newest.text_sha256:
            return  # the usual case, settled without reading the older versions
        if self.latest_md_source(newest.policy_id) is None:
            raise StoreError(
                f"{path}: matches no stored version (hand-edited?); it is left as it is: "
                "delete it and the next check rewrites it from the newest version"
            )

    def expect_recovery(self) -> None:
        """Make the next run holding the lock scan the whole store, as after an interrupted run."""
        self._recovery_due = True

    def stale_latest(self, policy_id: str) -> VersionMeta | None:
        """The newest version when latest.md is missing or still holds an older version's text (a run died
        between writing the version and latest.md). A latest.md matching no version is left for `verify`."""
        newest = self.latest(policy_id)
        if newest is None:
            return None
        path = self.policy_dir(policy_id) / LATEST
        if not path.exists():
            return newest
        if path.is_file() and sha256(path.read_bytes()) == newest.text_sha256:
            return None  # the usual case, settled without listing and reading the versions again
        source = self.latest_md_source(policy_id)
        return newest if source is not None and source.version != newest.version else None

    def recover(self) -> list[Path]:
        """Undo what a killed run left half done: temp leftovers go, latest.md catches up. Hold the lock.

        After a run that ended normally nothing is half done: only a latest.md deleted by hand is rewritten,
        and the store is not read through (0.35 s at 1,000 policies).
        """
        if self._last_run_finished:
            repaired: list[Path] = []
            policy_ids = [policy_id for policy_id in self.policy_ids() if not (self.policy_dir(policy_id) / LATEST).exists()]
        else:
            repaired = self.clean_staging()
            policy_ids = self.policy_ids()
        for policy_id in policy_ids:
            try:
                newest = self.stale_latest(policy_id)
                if newest is not None:
                    atomic_write(self.policy_dir(policy_id) / LATEST, self.load_text(newest).encode("utf-8"))
                    repaired.append(self.policy_dir(policy_id) / LATEST)
            except StoreError:
                continue  # a damaged policy is reported by its own check and by `verify`, not repaired here
        return repaired
