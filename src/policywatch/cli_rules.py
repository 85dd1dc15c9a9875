"""`policywatch rules …`: look into the risk rulebook."""

from __future__ import annotations

from pathlib import Path

import click

from policywatch import core
from policywatch.classify import evaluate
from policywatch.cli import cli, command, emit, format_option, output_option, rulebook_for, rules_config_option, style_for
from policywatch.environment import Environment
from policywatch.models import ExitStatus
from policywatch.normalize import normalize_text
from policywatch.report import reporter
from policywatch.report.rules import CATEGORY_FORMATS

@cli.group()
def rules() -> None:
    """Show the risk rulebook and explain how it reads a clause."""


@rules.command("list")
@rules_config_option
@format_option(CATEGORY_FORMATS, help="Output format.")
@command
def list_rules(env: Environment, config_path, fmt):
    """Every risk category: id, default severity, what it means and where the concern comes from."""
    rulebook = rulebook_for(config_path)
    env.write(CATEGORY_FORMATS[fmt](rulebook.categories))
    return ExitStatus.OK


@rules.command("test")
@click.argument("source")
@rules_config_option
@format_option()
@output_option
@command
def test_rules(env: Environment, source, config_path, fmt, output):
    """Show which clauses of SOURCE (a file, a URL or literal text) match which rule, and why."""
    rulebook = rulebook_for(config_path)
    if source.startswith(("http://", "https://")) or _is_file(source):
        clauses, label = core.load_document(source), source
    else:
        clauses, label = normalize_text(source, fmt="text"), "(text)"
    emit(env, reporter(fmt, style_for(env, output)).scan(label, rulebook.scan(clauses)), output)
    return ExitStatus.OK


def _is_file(source: str) -> bool:
    try:
        return Path(source).is_file()
    except OSError:  # a paragraph of text is no file name (ENAMETOOLONG)
        return False


@rules.command("eval")
@click.argument("labelled", type=click.Path(exists=True, dir_okay=False))
@rules_config_option
@command
def eval_rules(env: Environment, labelled, config_path):
    """Precision and recall per category on a labelled sentence set (e.g. tests/data/labelled_clauses.yaml)."""
    rulebook = rulebook_for(config_path)
    result = evaluate(rulebook, Path(labelled))
    env.write(result.table())
    if env.verbose:
        for miss in result.misclassified:
            env.write("\n" + miss.describe())
    env.note(f"{result.sentences} labelled sentences")
    return ExitStatus.OK
