"""`policywatch rules …`: look into the risk rulebook."""

from __future__ import annotations

from pathlib import Path

import click

from policywatch import core
from policywatch.classify import evaluate
from policywatch.cli import cli, command, emit, load_rulebook, open_config, style_for
from policywatch.environment import Environment
from policywatch.models import ExitStatus
from policywatch.normalize import normalize_text
from policywatch.report import FORMATS, reporter
from policywatch.report.rules import CATEGORY_FORMATS

_CONFIG_HELP = "Include the rules and ignore list of this config."


@cli.group()
def rules() -> None:
    """Show the risk rulebook and explain how it reads a clause."""


@rules.command("list")
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), help=_CONFIG_HELP)
@click.option("--format", "-f", "fmt", type=click.Choice(sorted(CATEGORY_FORMATS)), default="text", show_default=True, help="Output format.")
@command
def list_rules(env: Environment, config_path, fmt):
    """Every risk category: id, default severity, what it means and where the concern comes from."""
    rulebook = load_rulebook(open_config(config_path) if config_path else None)
    env.write(CATEGORY_FORMATS[fmt](rulebook.categories))
    return ExitStatus.OK


@rules.command("test")
@click.argument("source")
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), help=_CONFIG_HELP)
@click.option("--format", "-f", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True, help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE instead of stdout.")
@command
def test_rules(env: Environment, source, config_path, fmt, output):
    """Show which clauses of SOURCE (a file, a URL or literal text) match which rule, and why."""
    rulebook = load_rulebook(open_config(config_path) if config_path else None)
    if source.startswith(("http://", "https://")) or Path(source).is_file():
        clauses, label = core.load_document(source), source
    else:
        clauses, label = normalize_text(source, fmt="text"), "(text)"
    emit(env, reporter(fmt, style_for(env, output)).scan(label, rulebook.scan(clauses)), output)
    return ExitStatus.OK


@rules.command("eval")
@click.argument("labelled", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), help=_CONFIG_HELP)
@command
def eval_rules(env: Environment, labelled, config_path):
    """Precision and recall per category on a labelled sentence set (e.g. tests/data/labelled_clauses.yaml)."""
    rulebook = load_rulebook(open_config(config_path) if config_path else None)
    result = evaluate(rulebook, Path(labelled))
    env.write(result.table())
    if env.verbose:
        for miss in result.misclassified:
            env.write("\n" + miss.describe())
    env.note(f"{result.sentences} labelled sentences")
    return ExitStatus.OK
