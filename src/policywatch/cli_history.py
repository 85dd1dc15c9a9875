"""Commands over the snapshot store: history, diff, show, list, report --html and feed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from policywatch.cli import (
    Abort,
    cli,
    command,
    emit,
    emit_reports,
    format_options,
    load_rulebook,
    open_config,
    style_for,
    threshold_of,
)
from policywatch.config import Config
from policywatch.core import CheckReport
from policywatch.environment import Environment
from policywatch.history import History, HistoryError, parse_moment
from policywatch.models import ExitStatus
from policywatch.report.base import ReportStyle, summary_line
from policywatch.report.feed import FeedReporter
from policywatch.report.html import HtmlReporter
from policywatch.report.listing import LISTING_FORMATS
from policywatch.store import Store

DEFAULT_CONFIG = Path("policies.yaml")
REFERENCE_HELP = "N (1 = oldest, -1 = newest), an ISO date or time (the version in force then), or a version id"


def store_options(function: Callable) -> Callable:
    function = click.option(
        "--store", "store_path", type=click.Path(file_okay=False), help="Snapshot store  [default: snapshots/ next to the config]"
    )(function)
    return click.option(
        "--config", "-c", "config_path", type=click.Path(dir_okay=False),
        help="Config file for names, URLs and rules  [default: policies.yaml; optional with --store]",
    )(function)


def listing_format_options(function: Callable) -> Callable:
    function = click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")(function)
    return click.option(
        "--format", "-f", "fmt", type=click.Choice(sorted(LISTING_FORMATS)), default="text", show_default=True, help="Output format."
    )(function)


def open_history(config_path: str | None, store_path: str | None) -> tuple[History, Config | None]:
    """The store and, when there is one, the config (required unless --store names the store)."""
    config: Config | None = None
    if config_path or not store_path or DEFAULT_CONFIG.is_file():
        config = open_config(config_path)
    store_root = Path(store_path) if store_path else config.default_store
    return History(Store(store_root), config), config


@contextlib.contextmanager
def history_errors() -> Iterator[None]:
    """A reference that names no policy or version is a usage error: nothing ran (exit 2)."""
    try:
        yield
    except HistoryError as error:
        raise Abort(str(error), ExitStatus.USAGE) from None


def damage_status(env: Environment, timeline: CheckReport) -> ExitStatus:
    """Policies whose stored versions could not be read were left out (or shown as errors): say so, exit 3."""
    for policy in timeline.policies:
        if policy.failure is not None:
            env.error(f"{policy.id}: {policy.failure.message}; {policy.failure.hint}")
    return timeline.exit_status


def since_option(function: Callable) -> Callable:
    return click.option(
        "--since", metavar="DATE", help="Only versions recorded since DATE (ISO date or time; a date counts from its start, UTC)."
    )(function)


@cli.command()
@click.argument("policy_id", metavar="ID")
@store_options
@listing_format_options
@command
def history(env: Environment, policy_id, config_path, store_path, fmt, output):
    """List the stored versions of policy ID: number, date, size, hash, changes and findings."""
    store_history, _ = open_history(config_path, store_path)
    with history_errors():
        versions = store_history.policy(policy_id)
    emit(env, LISTING_FORMATS[fmt](style_for(env, output)).history(versions), output)
    return ExitStatus.OK


@cli.command()
@click.argument("policy_id", metavar="ID")
@click.option("--from", "from_ref", metavar="DATE|N", help=f"Old version: {REFERENCE_HELP}.  [default: the version before --to's last change]")
@click.option("--to", "to_ref", metavar="DATE|N", help=f"New version: {REFERENCE_HELP}.  [default: the newest]")
@store_options
@format_options
@command
def diff(env: Environment, policy_id, from_ref, to_ref, config_path, store_path, fmt, output, fail_on):
    """Diff two stored versions of policy ID (default: its last change), with the same formats and exit codes as compare."""
    store_history, config = open_history(config_path, store_path)
    with history_errors():
        rulebook = load_rulebook(config)
        report = store_history.diff(policy_id, from_ref, to_ref, rulebook, threshold_of(fail_on))
    emit_reports(env, fmt, output, lambda formatter: formatter.check(report), rulebook, store_history.store)
    (step,) = report.policies
    if step.previous_version > step.version:  # allowed (what did an undo take away?), but say so
        env.note("note: --from names a newer version than --to, so this diff runs backwards in time", style="yellow")
    env.note(f"{policy_id}: {step.previous_version} → {step.version}; {summary_line(report)}")
    return report.exit_status


@cli.command()
@click.argument("policy_id", metavar="ID")
@click.option("--at", "at_ref", metavar="DATE|N", help=f"Which version: {REFERENCE_HELP}.  [default: the newest]")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the text to FILE instead of stdout.")
@store_options
@command
def show(env: Environment, policy_id, at_ref, output, config_path, store_path):
    """Print the normalized text of policy ID as it stood at a date (one clause per line)."""
    store_history, _ = open_history(config_path, store_path)
    with history_errors():
        meta, text = store_history.text_at(policy_id, at_ref)
    emit(env, text, output)
    env.note(f"{policy_id} version {meta.version} (fetched {meta.fetched_at}, {meta.clauses} clauses)")
    return ExitStatus.OK


@cli.command("list")
@store_options
@listing_format_options
@command
def list_policies(env: Environment, config_path, store_path, fmt, output):
    """List every configured policy with its last check, status and last change."""
    store_history, _ = open_history(config_path, store_path)
    rows = store_history.listing()
    if not rows:
        env.note("no policies: the config lists none and the store holds none; add one with `policywatch add URL`")
    emit(env, LISTING_FORMATS[fmt](style_for(env, output)).policies(rows), output)
    for row in rows:
        if row.damage:
            env.error(f"{row.id}: {row.damage}")
    return ExitStatus.FAILED if any(row.damage for row in rows) else ExitStatus.OK


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--html", "html_path", required=True, type=click.Path(dir_okay=False), help="Write a self-contained HTML report to FILE.")
@since_option
@store_options
@command
def report(env: Environment, ids, html_path, since, config_path, store_path):
    """Render the stored history as one HTML page that works offline and prints cleanly.

    Without --since: the latest change of each policy (or IDS). With --since: every version recorded since.
    """
    store_history, config = open_history(config_path, store_path)
    with history_errors():
        moment = parse_moment(since, day_end=False) if since else None
        timeline = store_history.timeline(ids, load_rulebook(config), None, since=moment, latest_only=moment is None)
    emit(env, HtmlReporter(ReportStyle(verbose=env.verbose)).check(timeline), html_path)
    shown = [p for p in timeline.policies if p.version]
    policies = len({p.id for p in shown})
    env.note(f"wrote {html_path}: {len(shown)} version(s) of {policies} {'policy' if policies == 1 else 'policies'}")
    return damage_status(env, timeline)


@cli.command()
@click.argument("ids", nargs=-1)
@since_option
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="At most this many entries, newest first.")
@click.option("--title", default="policywatch: policy changes", show_default=True, help="The feed's title.")
@click.option("--self-url", metavar="URL", help="Where the feed will be published (its id and rel=self link).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the feed to FILE instead of stdout.")
@store_options
@command
def feed(env: Environment, ids, since, limit, title, self_url, output, config_path, store_path):
    """Write an Atom feed of policy changes: one entry per changed version, ids stable across runs."""
    store_history, config = open_history(config_path, store_path)
    with history_errors():
        moment = parse_moment(since, day_end=False) if since else None
        timeline = store_history.timeline(ids, load_rulebook(config), None, since=moment, newest=limit)
    emit(env, FeedReporter(title=title, self_url=self_url, limit=limit).check(timeline), output)
    return damage_status(env, timeline)
