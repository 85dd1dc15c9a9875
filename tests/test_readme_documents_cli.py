"""Every command and every option of the CLI is documented in README.md (like sqlite-utils checks its docs)."""

import re

import click
import pytest

from helpers import REPO
from policywatch.cli import cli

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        path = prefix + (name,)
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


COMMANDS = list(_commands(cli))


def test_the_walk_finds_the_known_commands():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"check", "compare", "scan", "init", "add", "validate", "import-ota"} <= names


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=" ".join)
def test_command_is_documented(path):
    assert f"policywatch {' '.join(path)}" in README, f"README.md never shows `policywatch {' '.join(path)}`"


OPTIONS = sorted(
    {
        (" ".join(path), option)
        for path, command in COMMANDS
        for parameter in command.params
        if isinstance(parameter, click.Option)
        for option in parameter.opts + parameter.secondary_opts
        if option.startswith("--")
    }
)


@pytest.mark.parametrize("command_path,option", OPTIONS, ids=[f"{c} {o}" for c, o in OPTIONS])
def test_option_is_documented(command_path, option):
    # The long name as a whole word: `--output` must not pass because `--json-output` is documented.
    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", README), f"{option} of `policywatch {command_path}` is not in README.md"
