"""The command line: thin click wrappers that parse options, call the core and hand reports to reporters."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from policywatch import __version__
from policywatch.classify import RuleError, Rulebook
from policywatch.config import Config, ConfigError, line_of, load_config
from policywatch import core, notify
from policywatch.core import REPORT_ERRORS_ALWAYS, REPORT_ERRORS_ON_CHANGE, CheckOptions, PolicyReport, run_check
from policywatch.environment import Environment
from policywatch.fetch import FetchError
from policywatch.models import ExitStatus, Severity
from policywatch.report import FORMATS, ReportStyle, reporter
from policywatch.report.base import Reporter, summary_line
from policywatch.report.sarif import SarifReporter
from policywatch.shard import ShardParam
from policywatch.store import Store, StoreError, atomic_write

FAIL_ON = ("low", "medium", "high", "none")


class Abort(Exception):
    """A user-facing failure with its exit status; the message goes to stderr."""

    def __init__(self, message: str, status: ExitStatus):
        super().__init__(message)
        self.status = status


def threshold_of(fail_on: str) -> Severity | None:
    return None if fail_on == "none" else Severity.parse(fail_on)


def load_rulebook(config: Config | None) -> Rulebook:
    if config is None:
        return Rulebook.load()
    try:
        return Rulebook.load(overrides=config.rules, ignore=config.ignore)
    except RuleError as error:
        raise ConfigError(str(error), config.path, line_of(error.where)) from None


def open_config(config_path: str | None) -> Config:
    return load_config(Path(config_path) if config_path else Path("policies.yaml"))


def rulebook_for(config_path: str | None) -> Rulebook:
    """The built-in rulebook, plus the rules and ignore list of the config when one is given."""
    return load_rulebook(open_config(config_path) if config_path else None)


# Options several commands share, spelled once.
rules_config_option = click.option(
    "--config", "-c", "config_path", type=click.Path(dir_okay=False), help="Use the rules and ignore list of this config."
)
output_option = click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE instead of stdout.")


def format_option(choices=FORMATS, help: str = "Report format.") -> Callable:
    return click.option("--format", "-f", "fmt", type=click.Choice(sorted(choices)), default="text", show_default=True, help=help)


def emit(env: Environment, text: str, output: str | None) -> None:
    if output:
        atomic_write(Path(output), text.encode("utf-8"))
    else:
        env.write(text)


def command(function: Callable) -> Callable:
    """Shared options and error handling for every command: -q/-v, and errors mapped to exit statuses."""

    @click.option("-q", "--quiet", is_flag=True, help="Only print what needs attention; no summary or progress.")
    @click.option("-v", "--verbose", is_flag=True, help="More detail: moved clauses, repeated errors, explanations.")
    @click.pass_obj
    @functools.wraps(function)
    def wrapper(env: Environment, quiet: bool, verbose: bool, **kwargs):
        env.quiet, env.verbose = quiet, verbose
        try:
            status = function(env, **kwargs)
        except ConfigError as error:
            env.error(str(error))
            status = ExitStatus.USAGE
        except RuleError as error:
            env.error(str(error))
            status = ExitStatus.USAGE
        except (StoreError, FetchError) as error:
            env.error(str(error))
            status = ExitStatus.FAILED
        except Abort as error:
            env.error(str(error))
            status = error.status
        except KeyboardInterrupt:
            # Not click's "Aborted!" with exit 1, which a CI script would read as a risky finding.
            env.error("interrupted: the store holds every version completed before the interrupt")
            status = ExitStatus.INTERRUPTED
        sys.exit(int(status or ExitStatus.OK))

    return wrapper


# Formats that can also be written to a file of their own in the same run (--json-output FILE…).
EXTRA_OUTPUT_FORMATS = ("json", "markdown", "sarif")
_EXTRA_OUTPUTS = "policywatch.extra_outputs"


def format_options(command_function: Callable) -> Callable:
    """--format/--output/--fail-on and the --FORMAT-output files; commands render them with emit_reports."""

    @functools.wraps(command_function)
    def with_extra_outputs(**kwargs):
        # The extra files travel in the click context, so commands keep their (fmt, output, fail_on) parameters.
        extra = {name: kwargs.pop(f"{name}_output") for name in EXTRA_OUTPUT_FORMATS}
        click.get_current_context().meta[_EXTRA_OUTPUTS] = {name: path for name, path in extra.items() if path}
        return command_function(**kwargs)

    function = with_extra_outputs
    for name in reversed(EXTRA_OUTPUT_FORMATS):
        function = click.option(
            f"--{name}-output",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help=f"Also write the {name} report to FILE (atomically), whatever --format is.",
        )(function)
    function = click.option(
        "--fail-on",
        type=click.Choice(FAIL_ON),
        default="high",
        show_default=True,
        help="Exit 1 when a new-risk, changed-risk or lost-protection finding has at least this severity.",
    )(function)
    return format_option()(output_option(function))


def style_for(env: Environment, output: str | None) -> ReportStyle:
    return ReportStyle(color=env.stdout_color and not output, verbose=env.verbose, quiet=env.quiet)


def reporter_for(fmt: str, style: ReportStyle, rulebook: Rulebook, store: Store | None = None) -> Reporter:
    """SARIF also gets the store, to point each finding at the clause's line in the stored text, and the run's
    categories, to describe each rule."""
    return SarifReporter(style, store, rulebook.categories) if fmt == "sarif" else reporter(fmt, style)


def emit_reports(
    env: Environment, fmt: str, output: str | None, render: Callable[[Reporter], str], rulebook: Rulebook, store: Store | None = None
) -> None:
    """The --format report (stdout or --output) and every --FORMAT-output file of format_options."""
    emit(env, render(reporter_for(fmt, style_for(env, output), rulebook, store)), output)
    for name, path in click.get_current_context().meta.get(_EXTRA_OUTPUTS, {}).items():
        emit(env, render(reporter_for(name, style_for(env, path), rulebook, store)), path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="policywatch")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Watch privacy policies and terms of service for changes, clause by clause, and flag risky new language.

    Exit codes: 0 nothing at or above --fail-on, 1 a risky finding at or above it, 2 usage or config
    error, 3 a policy could not be fetched or processed, 130 interrupted.
    """
    if ctx.obj is None:
        ctx.obj = Environment.from_system()


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), help="Config file  [default: policies.yaml]")
@click.option("--store", "store_path", type=click.Path(file_okay=False), help="Snapshot store  [default: snapshots/ next to the config]")
@click.option("--no-update", is_flag=True, help="Compare with the stored versions without writing anything.")
@format_options
@click.option(
    "--report-errors",
    type=click.Choice([REPORT_ERRORS_ON_CHANGE, REPORT_ERRORS_ALWAYS]),
    default=REPORT_ERRORS_ON_CHANGE,
    show_default=True,
    help="Report a failing policy when its error begins or ends, or on every run.",
)
@click.option("--accept", multiple=True, metavar="ID", help="Accept this policy's new capture even if it looks suspicious.")
@click.option("--workers", type=click.IntRange(1, 64), default=10, show_default=True, help="Concurrent fetches.")
@click.option("--per-host", type=click.IntRange(1, 16), default=2, show_default=True, help="Concurrent fetches per host.")
@click.option("--delay", type=click.FloatRange(0), default=0.0, show_default=True, help="Seconds between requests to one host.")
@click.option("--wait", "lock_wait", type=click.FloatRange(0), default=0.0, help="Seconds to wait for another run holding the store.")
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True, help="Retries of a fetch after a network error, 429 or 502/503/504.")
@click.option("--backoff", type=click.FloatRange(0), default=1.0, show_default=True, help="Seconds before the first retry; doubled for each next one (Retry-After wins).")
@click.option("--shard", type=ShardParam(), help="Check only shard K of N (1-based): a stable split of the policies by id, for N runners.")
@command
def check(env: Environment, ids, config_path, store_path, no_update, fmt, output, fail_on, report_errors, accept, workers, per_host, delay, lock_wait, retries, backoff, shard):
    """Fetch the configured policies (or only IDS), report what changed and record the new versions."""
    config = open_config(config_path)
    if not config.policies:  # an emptied config must not pass for a quiet day under cron
        raise ConfigError("no policies to check: add one with `policywatch add URL`", config.path)
    rulebook = load_rulebook(config)
    for warning in rulebook.warnings:
        env.note(f"warning: {warning}", style="yellow")
    unknown_accept = set(accept) - {p.id for p in config.policies}
    if unknown_accept:
        raise ConfigError(f"--accept names unknown policy id(s): {', '.join(sorted(unknown_accept))}", config.path)
    store = Store(Path(store_path) if store_path else config.default_store)
    if shard is not None:  # the other shards' policies are left to their own runners
        total = len(config.select(list(ids)))
        config, ids = shard.restrict(config, ids), ()
        env.note(f"shard {shard}: {len(config.policies)} of {total} policies")
    options = CheckOptions(
        update=not no_update,
        threshold=threshold_of(fail_on),
        report_errors=report_errors,
        accept=tuple(accept),
        workers=workers,
        per_host=per_host,
        delay=delay,
        retries=retries,
        backoff=backoff,
    )
    selected = config.select(list(ids))
    with store.lock(wait=lock_wait), _progress(env, len(selected)) as advance:
        report = run_check(config, store, rulebook, ids, options, progress=advance)
    emit_reports(env, fmt, output, lambda formatter: formatter.check(report), rulebook, store)
    env.note(summary_line(report))
    repeated = [policy.id for policy in report.policies if policy.failure is not None and not policy.error_is_new]
    if repeated and not env.verbose:  # the report leaves them out: say why the exit code is still 3
        env.note(f"still failing since an earlier run, not repeated: {', '.join(repeated)} (-v shows them)")
    if config.notify and not no_update:  # --no-update would repeat the same news on every run
        try:
            notify.send(config.notify, report)
        except notify.NotifyError as error:  # the check itself is done: say so loudly, keep its exit code
            env.error(f"notifications not sent: {error}")
    return report.exit_status


class _progress:
    """A rich progress bar on stderr for people; nothing at all for pipes, cron and CI.

    Redrawn as policies finish, at most every REDRAW seconds, rather than by rich's refresh thread: a large
    check forks its worker processes after the bar has started, and forking while another thread may hold a
    lock (stderr's, the console's) can leave a worker waiting forever on it.
    """

    REDRAW = 0.1

    def __init__(self, env: Environment, total: int):
        self.env, self.total, self.bar = env, total, None
        self._drawn = 0.0

    def __enter__(self) -> Callable[[PolicyReport], None]:
        if not self.env.interactive or self.total < 2:
            return lambda report: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
            console=self.env.error_console(), transient=True, auto_refresh=False,
        )
        self.bar.start()
        task = self.bar.add_task("", total=self.total)

        def advance(report: PolicyReport) -> None:
            self.bar.update(task, advance=1, description=report.id)
            if time.monotonic() - self._drawn >= self.REDRAW:
                self.bar.refresh()
                self._drawn = time.monotonic()

        return advance

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


@cli.command()
@click.argument("old")
@click.argument("new")
@rules_config_option
@format_options
@command
def compare(env: Environment, old, new, config_path, fmt, output, fail_on):
    """Diff two files or URLs (HTML, Markdown or text) without any store."""
    rulebook = rulebook_for(config_path)
    report = core.compare(old, new, rulebook, threshold_of(fail_on))
    emit_reports(env, fmt, output, lambda formatter: formatter.compare(report), rulebook)
    return report.exit_status


@cli.command()
@click.argument("source")
@rules_config_option
@format_option()
@output_option
@command
def scan(env: Environment, source, config_path, fmt, output):
    """Classify every clause of one document: what risky clauses does this policy contain today?"""
    rulebook = rulebook_for(config_path)
    emit(env, reporter_for(fmt, style_for(env, output), rulebook).scan(source, core.scan(source, rulebook)), output)
    return ExitStatus.OK


@cli.command()
@format_option()
@command
def demo(env: Environment, fmt):
    """Offline demo: serve two versions of a sample policy locally and run a real check on each."""
    from policywatch.demo.run import run_demo

    style = ReportStyle(color=env.stdout_color, verbose=env.verbose, quiet=False)
    runs = list(run_demo())
    broken = any(policy.failure is not None for _, report in runs for policy in report.policies)
    if fmt != "text":  # machine formats are one document each: the run after the update (the first is a baseline)
        runs = runs[-1:]
    for title, report in runs:
        if fmt == "text":
            env.write(f"\n== {title} ==\n\n")
        env.write(reporter(fmt, style).check(report))
        env.note(summary_line(report))
    if broken:  # a demo that could not reach its own sample site showed nothing: it must not pass
        env.error("the demo could not check its sample policy on 127.0.0.1 (see the error in the report)")
        return ExitStatus.FAILED
    env.note("This was a demo: a real `policywatch check` would have exited with the code above.")
    return ExitStatus.OK


def main() -> None:
    cli(prog_name="policywatch")


# Commands that live in their own modules register themselves on `cli` when imported (one import each).
from policywatch import cli_store  # noqa: E402,F401
from policywatch import cli_history  # noqa: E402,F401
from policywatch import cli_setup  # noqa: E402,F401
from policywatch import cli_rules  # noqa: E402,F401
