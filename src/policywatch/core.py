"""The pipeline behind the commands. No terminal, no sys.argv: callers pass options in and get reports back."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from policywatch import clausetext
from policywatch.classify import Rulebook, assess
from policywatch.config import Config, PolicySpec
from policywatch.diff import diff_clauses
from policywatch.fetch import (
    BLOCKED,
    BOT_WALL_MAX_TEXT,
    EMPTY,
    NOT_A_POLICY,
    SUSPICIOUS,
    Fetcher,
    FetchError,
    FetchResult,
    Validators,
    blocked_error,
    looks_blocked,
    read_source,
)
from policywatch.models import HEADING, Change, Clause, ExitStatus, Finding, ScannedClause, Severity
from policywatch.normalize import NORMALIZER_VERSION, NormalizeError, normalize
from policywatch.parallel import Processing, processes_for
from policywatch.maintenance import record_upgrade
from policywatch.store import FailedBody, PolicyState, Store, StoreError, VersionMeta, sha256, version_id

# Policy statuses in reports and JSON.
NEW = "new"
UNCHANGED = "unchanged"
CHANGED = "changed"
ERROR = "error"
STATUSES = (NEW, UNCHANGED, CHANGED, ERROR, SUSPICIOUS)

# Bodies processed in-process before spawned worker processes start (see Processing).
IN_PROCESS_FIRST = 8

# When to report a policy's error: when it begins or ends (default), or on every run.
REPORT_ERRORS_ON_CHANGE = "changes"
REPORT_ERRORS_ALWAYS = "always"


@dataclass(frozen=True, slots=True)
class Failure:
    kind: str  # network, http-<code>, blocked, empty, too-large, not-a-policy, suspicious, store
    message: str
    hint: str


@dataclass(slots=True)
class PolicyReport:
    id: str
    name: str
    url: str
    status: str
    changes: list[Change] = field(default_factory=list)
    failure: Failure | None = None
    version: str | None = None  # the version recorded by this run, if any
    previous_version: str | None = None
    clauses: int = 0
    error_is_new: bool = True  # False when the same error was already reported by an earlier run
    recovered_from: str | None = None  # the error kind this run recovered from
    set_aside: str | None = None  # where a suspicious capture was kept

    def findings(self) -> list[Finding]:
        return [finding for change in self.changes for finding in change.findings]


def failing(findings: Iterable[Finding], threshold: Severity | None) -> list[Finding]:
    """The findings that fail a run at this threshold (None: none do)."""
    if threshold is None:
        return []
    return [finding for finding in findings if finding.fails and finding.severity >= threshold]


@dataclass(slots=True)
class CheckReport:
    policies: list[PolicyReport]
    threshold: Severity | None  # None: never fail on findings

    def failing_findings(self) -> list[Finding]:
        return failing((f for policy in self.policies for f in policy.findings()), self.threshold)

    @property
    def exit_status(self) -> ExitStatus:
        if self.failing_findings():
            return ExitStatus.RISK
        if any(policy.status in (ERROR, SUSPICIOUS) for policy in self.policies):
            return ExitStatus.FAILED
        return ExitStatus.OK


@dataclass(slots=True)
class CompareReport:
    old: str
    new: str
    changes: list[Change]
    threshold: Severity | None

    @property
    def exit_status(self) -> ExitStatus:
        findings = (f for change in self.changes for f in change.findings)
        return ExitStatus.RISK if failing(findings, self.threshold) else ExitStatus.OK


@dataclass(frozen=True, slots=True)
class CheckOptions:
    update: bool = True  # False: compare without writing anything to the store
    threshold: Severity | None = Severity.HIGH
    report_errors: str = REPORT_ERRORS_ON_CHANGE
    accept: tuple[str, ...] = ()  # policy ids whose suspicious capture the user vouches for
    workers: int = 10
    per_host: int = 2
    delay: float = 0.0
    retries: int = 2
    backoff: float = 1.0


@dataclass(frozen=True, slots=True)
class Known:
    """What the store holds of a policy before its fetch, read once (on the fetch thread that asks for it)."""

    state: PolicyState
    latest: VersionMeta | None
    failed: FailedBody | None = None  # the body the last run failed on, if the settings it failed under hold
    damage: str | None = None  # why the newest version's metadata cannot be read

    @classmethod
    def read(cls, store: Store, spec: PolicySpec) -> Known:
        state = store.state(spec.id)
        failed = state.failed_body if state.failed_body and state.failed_body.settings == body_settings(spec) else None
        try:
            return cls(state, store.latest(spec.id), failed)
        except StoreError as error:  # reported by processing, as for any other answer
            return cls(state, None, failed, str(error))
        except OSError as error:  # a versions folder that cannot be listed (permissions)
            return cls(state, None, failed, f"{store.policy_dir(spec.id)}: cannot read ({error.strerror or error})")

    @property
    def validators(self) -> Validators | None:
        """Ask whether the failing body is still served, else whether the latest version's body is."""
        if self.failed is not None:
            return Validators(self.failed.etag, self.failed.last_modified) if self.failed.etag or self.failed.last_modified else None
        if self.latest is None or not (self.state.etag or self.state.last_modified):
            return None
        return Validators(self.state.etag, self.state.last_modified)


def body_settings(spec: PolicySpec) -> str:
    """Fingerprint of what turning a body into clauses depends on: a failure under other settings is stale."""
    settings = [NORMALIZER_VERSION, spec.url, list(spec.select), list(spec.remove)]
    return sha256(json.dumps(settings).encode("utf-8"))[:16]


# Failures that depend only on the body and the settings it was read with (see FailedBody).
BODY_FAILURES = (BLOCKED, EMPTY, NOT_A_POLICY)


def run_check(
    config: Config,
    store: Store,
    rulebook: Rulebook,
    ids: Sequence[str] = (),
    options: CheckOptions = CheckOptions(),
    progress: Callable[[PolicyReport], None] | None = None,
) -> CheckReport:
    """Fetch, normalize, diff, classify and (unless options.update is False) store every selected policy."""
    specs = config.select(list(ids))
    if options.update:  # the caller holds the store's lock: finish what a killed run left half done
        store.recover()
    known: dict[str, Known] = {}

    def validators(spec: PolicySpec) -> Validators | None:
        known[spec.id] = Known.read(store, spec)  # on a fetch thread: reading overlaps the network
        return known[spec.id].validators

    reports: dict[str, PolicyReport] = {}
    fetcher = Fetcher(
        workers=options.workers,
        per_host=options.per_host,
        delay=options.delay,
        retries=options.retries,
        backoff=options.backoff,
    )
    # Bodies are processed in worker processes on large runs, so that parsing never competes with fetching for
    # the GIL; failures, 304s and bodies already seen cost less than sending them to a worker.
    # Two workers per CPU: storing a version waits on fsync about as long as normalizing it takes (profiles in
    # BENCHMARKS.md). Where workers must be spawned, the first few bodies are done here (see Processing).
    workers = processes_for(len(specs), per_cpu=2)
    processing = Processing(_check_one, (store, rulebook, options), workers, in_process_first=IN_PROCESS_FIRST)
    with fetcher, processing:
        fetched = ((spec, known.pop(spec.id), outcome) for spec, outcome in fetcher.fetch_many(specs, validators))
        for report in processing.map(fetched, light=_nothing_to_parse):
            reports[report.id] = report
            if progress is not None:
                progress(report)
    return CheckReport([reports[spec.id] for spec in specs], options.threshold)


def _nothing_to_parse(spec: PolicySpec, known: Known, outcome: FetchResult | FetchError) -> bool:
    if isinstance(outcome, FetchError) or outcome.not_modified or not outcome.body:
        return True
    if known.latest is None and known.failed is None:
        return False  # nothing to compare with (a first sight): no hash here, the worker computes it anyway
    # A server that ignores conditional requests resends bodies already read: they are settled by their hash.
    raw_hash = sha256(outcome.body)
    if known.failed is not None and raw_hash == known.failed.raw_sha256:
        return True
    return known.latest is not None and _same_body(known.latest, known.state, raw_hash)


def _check_one(spec: PolicySpec, known: Known, outcome, store: Store, rulebook: Rulebook, options: CheckOptions) -> PolicyReport:
    report = PolicyReport(spec.id, spec.name, spec.url, UNCHANGED)
    kept = known.state  # saved once at the end, with the validators of the body accepted (each save is two fsyncs)
    try:
        if isinstance(outcome, FetchError):
            raise outcome
        kept = _process(spec, outcome, known, store, rulebook, options, report)
    except Exception as error:  # one broken policy must never stop the others
        report.failure = _failure(error)
        report.status = SUSPICIOUS if report.failure.kind == SUSPICIOUS else ERROR
        report.changes = []
        if isinstance(outcome, FetchResult) and not outcome.not_modified and report.failure.kind in BODY_FAILURES:
            kept = dataclasses.replace(kept, failed_body=_failed_body(spec, outcome, report.failure))
    _update_error_state(report, kept, store, options)
    return report


def _failed_body(spec: PolicySpec, result: FetchResult, failure: Failure) -> FailedBody:
    return FailedBody(
        sha256(result.body), body_settings(spec), failure.kind, failure.message, failure.hint, result.etag, result.last_modified
    )


def _failure(error: Exception) -> Failure:
    if isinstance(error, FetchError):
        return Failure(error.kind, error.message, error.hint)
    if isinstance(error, StoreError):  # a damaged stored version is named and left alone, never diffed or replaced
        return Failure("store", str(error), "run `policywatch verify`; restore the file from a backup or move the damaged version aside")
    return Failure("internal", f"{type(error).__name__}: {error}", "please report this as a policywatch bug")


def _process(
    spec: PolicySpec,
    result: FetchResult,
    known: Known,
    store: Store,
    rulebook: Rulebook,
    options: CheckOptions,
    report: PolicyReport,
) -> PolicyState:
    """Process a fetched body into the report; returns the policy's state with the validators to remember."""
    if known.damage is not None:
        raise StoreError(known.damage)
    state, latest, failed = known.state, known.latest, known.failed
    report.previous_version = latest.version if latest else None
    if failed is not None and (result.not_modified or sha256(result.body) == failed.raw_sha256):
        raise FetchError(failed.kind, failed.message, failed.hint)  # still the body that failed: no parse
    if result.not_modified:
        if latest is None:
            raise FetchError("http-304", "the server answered 304 Not Modified with no stored version", "run again")
        report.clauses = latest.clauses
        return state
    raw_hash = sha256(result.body)
    if latest is not None and spec.id not in options.accept and _same_body(latest, state, raw_hash):
        report.clauses = latest.clauses
        return _with_validators(state, result, raw_hash)
    if latest is not None:  # from here on latest.md may be rewritten: never over a hand-edited one
        store.ensure_latest_md_intact(latest)
    try:
        clauses = normalize(result.body, content_type=result.content_type, url=result.final_url, select=spec.select, remove=spec.remove)
    except NormalizeError as error:
        if looks_blocked(result.body):
            raise blocked_error("no policy text on the page") from None
        raise FetchError(error.kind, str(error), error.hint) from None
    text = clausetext.dump(clauses)
    if sum(len(c.text) for c in clauses) < BOT_WALL_MAX_TEXT and looks_blocked(result.body):
        raise blocked_error("the page is short and reads like a challenge")
    report.clauses = len(clauses)
    if latest is not None and raw_hash == latest.raw_sha256 and latest.normalizer_version != NORMALIZER_VERSION:
        # The very body of the latest version, read by a newer normalizer: a technical upgrade, not a change.
        if options.update:
            record_upgrade(store, latest, clauses, result.body)
        return _with_validators(state, result, raw_hash)
    meta = _version_meta(spec, result, text, clauses, raw_hash)
    if latest is None:
        report.status = NEW
        if options.update:
            report.version = store.add_version(meta, text, result.body).version
        return _with_validators(state, result, raw_hash)
    if meta.text_sha256 == latest.text_sha256:
        return _with_validators(state, result, raw_hash)
    old_text = store.load_text(latest)
    changes = assess(diff_clauses(clausetext.load(old_text), clauses), rulebook, spec.id)
    if not changes:  # only layout differs (e.g. a sentence joined to its paragraph): nothing to record
        return _with_validators(state, result, raw_hash)
    report.changes = changes
    reason = _suspicion(old_text, text, latest, meta, spec.shrink_limit)
    if reason and spec.id not in options.accept:
        report.status = SUSPICIOUS
        if options.update:
            kept = [m for m in store.suspicious(spec.id) if m.text_sha256 == meta.text_sha256]
            path = store.suspicious_path(kept[0]) if kept else store.put_aside(dataclasses.replace(meta, reason=reason), text, result.body)
            report.set_aside = str(path)
        raise FetchError(SUSPICIOUS, f"{reason}; the previous version is kept", f"inspect the capture, then `policywatch check --accept {spec.id}` if it is right")
    report.status = CHANGED
    if options.update:
        failing = sum(1 for change in changes for finding in change.findings if finding.fails)
        meta = dataclasses.replace(meta, changes=len(changes), findings=failing)
        report.version = store.add_version(meta, text, result.body).version
        if spec.id in options.accept:  # the capture set aside is now a version: no longer pending
            store.discard_suspicious(spec.id, meta.text_sha256)
    return _with_validators(state, result, raw_hash)


def _same_body(latest: VersionMeta, state: PolicyState, raw_hash: str) -> bool:
    """The body is byte-identical to one already processed by this normalizer: skip parsing and diffing."""
    return latest.normalizer_version == NORMALIZER_VERSION and raw_hash in (latest.raw_sha256, state.raw_sha256)


def _suspicion(old_text: str, new_text: str, latest: VersionMeta, meta: VersionMeta, shrink_limit: float) -> str | None:
    if len(new_text) < len(old_text) * (1 - shrink_limit):
        return f"the text shrank from {len(old_text)} to {len(new_text)} characters"
    if latest.sections >= 4 and meta.sections < latest.sections / 2:
        return f"the number of sections fell from {latest.sections} to {meta.sections}"
    return None


def _version_meta(spec: PolicySpec, result: FetchResult, text: str, clauses: list[Clause], raw_hash: str) -> VersionMeta:
    encoded = text.encode("utf-8")
    return VersionMeta(
        version=version_id(result.fetched_at),
        policy_id=spec.id,
        fetched_at=result.fetched_at.isoformat(timespec="seconds"),
        url=spec.url,
        final_url=result.final_url,
        http_status=result.status,
        content_type=result.content_type,
        etag=result.etag,
        last_modified=result.last_modified,
        raw_sha256=raw_hash,
        raw_bytes=len(result.body),
        text_sha256=sha256(encoded),
        text_bytes=len(encoded),
        clauses=len(clauses),
        sections=sum(1 for c in clauses if c.kind == HEADING),
        normalizer_version=NORMALIZER_VERSION,
    )


def _with_validators(state: PolicyState, result: FetchResult, raw_hash: str) -> PolicyState:
    """The state after a body was read without failing: its validators, and no failed body any more."""
    return dataclasses.replace(state, etag=result.etag, last_modified=result.last_modified, raw_sha256=raw_hash, failed_body=None)


def _update_error_state(report: PolicyReport, state: PolicyState, store: Store, options: CheckOptions) -> None:
    """Report an error when it begins (or changes kind) and a recovery when it ends; remember it in the store."""
    failure = report.failure
    now = dataclasses.replace(state, last_checked=_now_iso(), status=report.status)
    if failure is not None:
        report.error_is_new = options.report_errors == REPORT_ERRORS_ALWAYS or state.error_kind != failure.kind
        if state.error_kind != failure.kind:
            now = dataclasses.replace(now, error_kind=failure.kind, error_message=failure.message, error_since=now.last_checked)
    elif state.error_kind is not None:
        report.recovered_from = state.error_kind
        now = dataclasses.replace(now, error_kind=None, error_message=None, error_since=None)
    if options.update:
        store.save_state(report.id, now)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load_document(location: str) -> list[Clause]:
    """Read and normalize a file or URL without any config (compare, scan, rules test)."""
    result = read_source(location)
    try:
        return normalize(result.body, content_type=result.content_type, url=result.final_url)
    except NormalizeError as error:
        raise FetchError(error.kind, f"{location}: {error}", error.hint) from None


def compare(old_location: str, new_location: str, rulebook: Rulebook, threshold: Severity | None) -> CompareReport:
    changes = assess(diff_clauses(load_document(old_location), load_document(new_location)), rulebook)
    return CompareReport(old_location, new_location, changes, threshold)


def scan(location: str, rulebook: Rulebook) -> list[ScannedClause]:
    return rulebook.scan(load_document(location))
