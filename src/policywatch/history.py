"""Queries over the snapshot store: a policy's versions, a version by number or date, diffs between any two.

Diffs are recomputed from the stored clause text with the current rulebook and returned as the same
CheckReport that `check` produces, so every report format renders them. No terminal here.

Version references (`--from`, `--to`, `--at`):
  N     the N-th version as `history` numbers them, 1 = the oldest; -1 = the newest, -2 the one before…
  DATE  an ISO date or time: the version in force at that moment (a date alone means the end of that
        day, UTC, so a version fetched that day counts); times without an offset are UTC
  the version id itself, as `history` prints it (e.g. 2026-11-25T07-15-00Z)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timezone
from functools import lru_cache

from policywatch.classify import Rulebook, assess
from policywatch.config import Config, check_id
from policywatch.core import CHANGED, ERROR, NEW, UNCHANGED, CheckReport, Failure, PolicyReport
from policywatch.diff import diff_clauses
from policywatch.models import Clause, Severity
from policywatch.store import PolicyState, Store, StoreError, VersionMeta

_INDEX = re.compile(r"^-?\d+$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAMAGE_HINT = "left out of this report; the other policies are shown as usual"


class HistoryError(Exception):
    """A policy id or version reference that names nothing in the store: a usage error."""


@dataclass(frozen=True, slots=True)
class PolicyHistory:
    id: str
    name: str
    url: str
    versions: list[VersionMeta]  # oldest first: versions[0] is number 1


@dataclass(frozen=True, slots=True)
class PolicyListing:
    """One line of `list`: a policy, what its last check saw and when its text last changed."""

    id: str
    name: str
    url: str
    configured: bool  # False: found in the store but no longer in the config
    state: PolicyState
    versions: int
    first_version: VersionMeta | None
    last_change: VersionMeta | None  # newest version that changed the policy (not the baseline, not an upgrade)
    damage: str | None = None  # why its stored versions could not be read (`policywatch verify` says more)


def parse_moment(text: str, *, day_end: bool) -> datetime:
    """An ISO date or time as an aware UTC datetime; a bare date means its start, or its end when day_end."""
    value = text.strip()
    try:
        if _DATE_ONLY.match(value):
            day = datetime.fromisoformat(value).date()
            return datetime.combine(day, time.max if day_end else time.min, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise HistoryError(f"{text!r} is neither a version number nor an ISO date or time (e.g. 2026-11-25 or 2026-11-25T07:15Z)") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def version_time(version: str) -> datetime | None:
    """The fetch time a version id encodes (ids are made by store.version_id, maybe with a -NN suffix)."""
    try:
        return datetime.strptime(version[:20], "%Y-%m-%dT%H-%M-%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def fetched_at(meta: VersionMeta) -> datetime:
    return parse_moment(meta.fetched_at, day_end=False)


def change_indexes(history: PolicyHistory) -> list[int]:
    """The versions that changed the policy: all but the baseline and rebuilds by a newer normalizer."""
    return [index for index, meta in enumerate(history.versions) if index > 0 and not meta.upgrade]


class History:
    """Read-only queries over one store, with names and URLs from the config when there is one."""

    def __init__(self, store: Store, config: Config | None = None):
        self.store = store
        self.specs = {spec.id: spec for spec in config.policies} if config is not None else {}

    def policy(self, policy_id: str) -> PolicyHistory:
        problem = check_id(policy_id)
        if problem:  # an id names a folder of the store: `../x` must not read outside it
            raise HistoryError(f"not a policy id: {problem}")
        history = self._history(policy_id)
        if not history.versions:
            if policy_id in self.specs:
                raise HistoryError(f"no stored versions of {policy_id!r} yet: run `policywatch check {policy_id}` first")
            raise HistoryError(f"unknown policy id {policy_id!r}: it is neither in the config nor in {self.store.root}")
        return history

    def _history(self, policy_id: str) -> PolicyHistory:
        versions = self.store.versions(policy_id)
        name, url = self._configured_label(policy_id)
        if policy_id not in self.specs and versions:
            url = versions[-1].url  # no longer configured: the URL it was last fetched from
        return PolicyHistory(policy_id, name, url, versions)

    def pick(self, history: PolicyHistory, reference: str) -> VersionMeta:
        """The version a reference names (see the module docstring)."""
        versions = history.versions
        for meta in versions:
            if meta.version == reference:
                return meta
        if _INDEX.match(reference.strip()):
            number = int(reference)
            if number == 0 or abs(number) > len(versions):
                raise HistoryError(
                    f"{history.id} has {len(versions)} version(s): use 1…{len(versions)} (1 = oldest) or -1…-{len(versions)} (-1 = newest)"
                )
            return versions[number - 1] if number > 0 else versions[number]
        moment = parse_moment(reference, day_end=True)
        in_force = [meta for meta in versions if fetched_at(meta) <= moment]
        if not in_force:
            raise HistoryError(f"no version of {history.id} was stored by {reference} (the first is from {versions[0].fetched_at})")
        return in_force[-1]

    def text_at(self, policy_id: str, reference: str | None) -> tuple[VersionMeta, str]:
        """The normalized text of the version in force at `reference` (default: the newest)."""
        history = self.policy(policy_id)
        meta = self.pick(history, reference) if reference else history.versions[-1]
        return meta, self.store.load_text(meta)

    def diff(
        self,
        policy_id: str,
        old_reference: str | None,
        new_reference: str | None,
        rulebook: Rulebook,
        threshold: Severity | None,
    ) -> CheckReport:
        """Diff two stored versions; by default the newest against the version before its last change."""
        history = self.policy(policy_id)
        new = self.pick(history, new_reference) if new_reference else history.versions[-1]
        if old_reference:
            old = self.pick(history, old_reference)
        else:
            old = self._before(history, new)
        return CheckReport([self._step(history, old, new, rulebook, self.store.load_clauses)], threshold)

    def _before(self, history: PolicyHistory, new: VersionMeta) -> VersionMeta:
        """The newest earlier version built from a different page body: a rebuild of the same capture
        by `reprocess` is no change of the policy, so it is skipped."""
        earlier = [meta for meta in history.versions if meta.version < new.version]
        if not earlier:
            raise HistoryError(f"{history.id} has no version before {new.version} to compare with (see `policywatch history {history.id}`)")
        different = [meta for meta in earlier if meta.raw_sha256 != new.raw_sha256]
        return different[-1] if different else earlier[-1]

    def _step(
        self,
        history: PolicyHistory,
        old: VersionMeta | None,
        new: VersionMeta,
        rulebook: Rulebook,
        load: Callable[[VersionMeta], list[Clause]],
    ) -> PolicyReport:
        report = PolicyReport(history.id, history.name, history.url, NEW, version=new.version, clauses=new.clauses)
        if old is None:
            return report
        changes = assess(diff_clauses(load(old), load(new)), rulebook, history.id)
        report.status = CHANGED if changes else UNCHANGED
        report.previous_version = old.version
        report.changes = changes
        return report

    def timeline(
        self,
        ids: Sequence[str],
        rulebook: Rulebook,
        threshold: Severity | None,
        since: datetime | None = None,
        latest_only: bool = False,
        newest: int | None = None,
    ) -> CheckReport:
        """The recorded steps of each policy's history, oldest first: its baseline (status new), then each
        change. `latest_only` keeps only the newest change (the baseline if it never changed); `since`
        drops steps recorded before that moment; `newest` keeps only the N most recent changes of all the
        policies together, without baselines. Only the steps kept are diffed, so a feed of a long history
        costs N diffs, not one per version ever stored. Without ids: every policy that has a version."""
        damaged: dict[str, PolicyReport] = {}  # one error per policy, however many of its steps fail
        if ids:
            histories = [self.policy(policy_id) for policy_id in ids]
        else:  # everything: a damaged policy is reported as an error step, the others as usual
            histories = []
            for policy_id in self.policy_ids():
                try:
                    histories.append(self._history(policy_id))
                except StoreError as error:
                    damaged[policy_id] = self._damaged(policy_id, error)
            histories = [history for history in histories if history.versions]
        chosen: list[tuple[PolicyHistory, int]] = []
        for history in histories:
            indexes = [0, *change_indexes(history)]
            if latest_only:
                indexes = indexes[-1:]
            chosen += [(history, index) for index in indexes if since is None or fetched_at(history.versions[index]) >= since]
        if newest is not None:
            changes = [(history, index) for history, index in chosen if index > 0]
            changes.sort(key=lambda step: fetched_at(step[0].versions[step[1]]), reverse=True)
            chosen = changes[:newest][::-1]
        steps = []
        # Consecutive steps share a version (one step's new is the next one's old): each is read and parsed once.
        load = lru_cache(maxsize=2)(self.store.load_clauses)
        for history, index in chosen:
            try:
                steps.append(self._step(history, history.versions[index - 1] if index > 0 else None, history.versions[index], rulebook, load))
            except StoreError as error:
                damaged.setdefault(history.id, self._damaged(history.id, error))
        return CheckReport(steps + list(damaged.values()), threshold)

    def _configured_label(self, policy_id: str) -> tuple[str, str]:
        """Name and URL from the config; a policy only found in the store goes by its id."""
        spec = self.specs.get(policy_id)
        return (spec.name, spec.url) if spec is not None else (policy_id, "")

    def _damaged(self, policy_id: str, error: StoreError) -> PolicyReport:
        name, url = self._configured_label(policy_id)
        return PolicyReport(policy_id, name, url, ERROR, failure=Failure("store", str(error), _DAMAGE_HINT))

    def policy_ids(self) -> list[str]:
        """Configured policies in config order, then any others found in the store."""
        stored = self.store.policy_ids()
        return [*self.specs, *(policy_id for policy_id in stored if policy_id not in self.specs)]

    def listing(self) -> list[PolicyListing]:
        rows = []
        for policy_id in self.policy_ids():
            try:
                history = self._history(policy_id)
            except StoreError as error:  # one damaged policy must not hide the others
                name, url = self._configured_label(policy_id)
                rows.append(PolicyListing(policy_id, name, url, policy_id in self.specs, self.store.state(policy_id),
                                          0, None, None, damage=str(error)))
                continue
            versions = history.versions
            changes = change_indexes(history)
            rows.append(
                PolicyListing(
                    id=policy_id,
                    name=history.name,
                    url=history.url,
                    configured=policy_id in self.specs,
                    state=self.store.state(policy_id),
                    versions=len(versions),
                    first_version=versions[0] if versions else None,
                    last_change=versions[changes[-1]] if changes else None,
                )
            )
        return rows
