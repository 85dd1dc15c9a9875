"""Commands that set up policies.yaml: init, add, validate and import-ota."""

from __future__ import annotations

from pathlib import Path

import click

from policywatch import notify, ota, starter
from policywatch.cli import Abort, cli, command, load_rulebook, open_config
from policywatch.config import ConfigError, load_config
from policywatch.environment import Environment
from policywatch.fetch import FetchError
from policywatch.models import ExitStatus
from policywatch.report.base import section_label
from policywatch.store import atomic_write

_CONFIG_OPTION = click.option(
    "--config", "-c", "config_path", type=click.Path(dir_okay=False), help="Config file  [default: policies.yaml]"
)


def _warn(env: Environment, message: str) -> None:
    """Shown even with --quiet: these are things the user must act on."""
    env.error_console().print(f"warning: {message}", style="yellow", markup=False)


@cli.command()
@_CONFIG_OPTION
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@command
def init(env: Environment, config_path, force):
    """Write a commented starter policies.yaml."""
    path = Path(config_path or "policies.yaml")
    starter.write_starter(path, force)
    env.note(f"wrote {path}: add pages with `policywatch add URL`, then run `policywatch check`")
    return ExitStatus.OK


@cli.command()
@click.argument("url")
@_CONFIG_OPTION
@click.option("--id", "policy_id", help="Policy id  [default: derived from the URL, e.g. x-privacy]")
@click.option("--name", help="Name shown in reports  [default: the id]")
@click.option("--select", multiple=True, metavar="CSS", help="CSS selector of the policy body (repeatable).")
@click.option("--remove", multiple=True, metavar="CSS", help="CSS selector to drop from the page (repeatable).")
@click.option("--preview", "preview_count", type=click.IntRange(0), default=15, show_default=True, help="Clauses to show.")
@click.option("--dry-run", is_flag=True, help="Only fetch and preview; do not change the config.")
@command
def add(env: Environment, url, config_path, policy_id, name, select, remove, preview_count, dry_run):
    """Fetch URL, preview the clauses policywatch extracts from it, and add it to policies.yaml."""
    config = open_config(config_path)
    policy_id = policy_id or starter.slug_from_url(url)
    starter.check_new_id(config, policy_id)
    entry = starter.NewPolicy(policy_id, url, name or policy_id, tuple(select), tuple(remove))
    new_text, new_config = starter.with_policies(config.path.read_text(encoding="utf-8"), config.path, [entry])
    (spec,) = new_config.select([policy_id])
    try:
        clauses = starter.preview(spec)
    except FetchError as error:  # the hint says what to try next: another URL or another --select
        message = error.message if url in error.message else f"{url}: {error.message}"
        hint = error.hint.split("; it is retried on the next run")[0]  # a promise of `check`, not of `add`
        raise Abort(f"{message}; {hint}; {config.path} was not changed", ExitStatus.FAILED) from None
    sections = len({clause.section for clause in clauses})
    env.write(f"{policy_id}: {len(clauses)} clauses in {sections} section(s) from {url}\n")
    for clause in clauses[:preview_count]:
        env.write(f"  [{section_label(clause.section)}] {clause.text}\n")
    if len(clauses) > preview_count:
        env.write(f"  … {len(clauses) - preview_count} more\n")
    if dry_run:
        env.note("dry run: policies.yaml was not changed")
        return ExitStatus.OK
    atomic_write(config.path, new_text.encode("utf-8"))
    env.note(f"added {policy_id} to {config.path}; if the preview shows menus or banners, narrow it with --select/--remove")
    return ExitStatus.OK


@cli.command()
@_CONFIG_OPTION
@command
def validate(env: Environment, config_path):
    """Lint policies.yaml (policies, selectors, rules, ignore list, notify URLs); exit 2 on an error."""
    config = open_config(config_path)
    rulebook = load_rulebook(config)
    for warning in rulebook.warnings:
        _warn(env, warning)
    if config.notify:
        try:
            invalid = notify.invalid_urls(config.notify)
        except notify.NotifyError as error:
            _warn(env, str(error))
        else:
            if invalid:
                raise ConfigError(f"notify: Apprise does not understand {', '.join(invalid)}", config.path)
    env.write(f"{config.path}: OK ({len(config.policies)} policies, {len(config.notify)} notify URL(s))\n")
    return ExitStatus.OK


@cli.command("import-ota")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--append", "append_to", type=click.Path(dir_okay=False, exists=True), help="Append the policies to this policies.yaml instead of printing them."
)
@command
def import_ota(env: Environment, sources, append_to):
    """Turn Open Terms Archive declarations (files or folders of JSON) into policies.yaml entries."""
    imported = ota.import_declarations([Path(source) for source in sources])
    policies = imported.policies
    if append_to:
        existing = starter.known_ids(load_config(append_to))
        for policy in policies:
            if policy.id in existing:
                _warn(env, f"{policy.id}: already in {append_to}, skipped")
        policies = [policy for policy in policies if policy.id not in existing]
    for problem in imported.problems:
        _warn(env, problem)
    if not imported.policies:
        raise Abort("no declaration could be imported", ExitStatus.FAILED)
    if append_to and not policies:
        env.note(f"nothing new to add to {append_to}")
    elif append_to:
        starter.append_policies(Path(append_to), policies)
        env.note(f"added {len(policies)} policies to {append_to}")
    else:
        env.write(ota.HEADER + "policies:\n" + starter.render_entries(policies, 2))
    return ExitStatus.OK
