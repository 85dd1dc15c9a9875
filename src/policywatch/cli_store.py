"""`verify` and `reprocess`: the store's integrity check and the rebuild after a normalizer or rules upgrade."""

from __future__ import annotations

from pathlib import Path

import click

from policywatch import maintenance
from policywatch.cli import Abort, cli, command, open_config
from policywatch.environment import Environment
from policywatch.models import ExitStatus
from policywatch.store import Store


def _store_options(function):
    """IDS, --config, --store and --wait, as `check` takes them."""
    function = click.option("--wait", "lock_wait", type=click.FloatRange(0), default=0.0, help="Seconds to wait for a run holding the store.")(function)
    function = click.option("--store", "store_path", type=click.Path(file_okay=False), help="Snapshot store  [default: snapshots/ next to the config]")(function)
    function = click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), help="Config file  [default: policies.yaml]")(function)
    return click.argument("ids", nargs=-1)(function)


@cli.command()
@_store_options
@command
def verify(env: Environment, ids, config_path, store_path, lock_wait):
    """Check the store (or only IDS): hashes, metadata, version order, latest.md, leftovers of killed runs.

    Lists each problem with its path and repairs nothing. Exit 0 when clean, 3 when a problem was found.
    """
    store = _existing(Store(Path(store_path)) if store_path else Store(open_config(config_path).default_store))
    with store.lock(wait=lock_wait):
        report = maintenance.verify(store, ids)
    for problem in report.problems:
        env.write(f"{problem.path}: {problem.message}\n")
    env.note(f"verified {report.versions} versions of {report.policies} policies in {store.root}: {len(report.problems)} problems")
    return ExitStatus.FAILED if report.problems else ExitStatus.OK


@cli.command()
@_store_options
@command
def reprocess(env: Environment, ids, config_path, store_path, lock_wait):
    """Rebuild each policy's (or only IDS') newest text from its stored raw body, after an upgrade of
    policywatch or a change of select/remove.

    A differing text is recorded as a new version flagged `upgrade`, which the next check diffs against
    and which is never reported as a change of the policy. Older versions are left as they were.
    """
    config = open_config(config_path)
    store = _existing(Store(Path(store_path) if store_path else config.default_store))
    with store.lock(wait=lock_wait):
        store.recover()
        results = maintenance.reprocess(store, config, ids)
    for result in results:
        env.write(f"{result.policy_id}: {_describe(result)}\n")
    failed = [result for result in results if result.outcome == maintenance.FAILED]
    rebuilt = sum(1 for result in results if result.outcome == maintenance.REBUILT)
    env.note(f"reprocessed {len(results)} policies: {rebuilt} rebuilt, {len(failed)} failed")
    return ExitStatus.FAILED if failed else ExitStatus.OK


def _existing(store: Store) -> Store:
    """Maintenance never creates a store: a mistyped path is a usage error, not an empty, clean store."""
    if not store.root.is_dir():
        raise Abort(f"{store.root}: no snapshot store here (pass --store DIR, or run `policywatch check` first)", ExitStatus.USAGE)
    return store


def _describe(result: maintenance.Reprocessed) -> str:
    if result.outcome == maintenance.REBUILT:
        source, version = result.source, result.version
        return (
            f"rebuilt as upgrade version {version.version} from the body of {source.version} "
            f"(normalizer {source.normalizer_version} → {version.normalizer_version}, {source.clauses} → {version.clauses} clauses)"
        )
    if result.outcome == maintenance.UP_TO_DATE:
        return f"up to date ({result.source.version})"
    if result.outcome == maintenance.NO_VERSIONS:
        return "no stored version yet"
    return f"error: {result.message}"
