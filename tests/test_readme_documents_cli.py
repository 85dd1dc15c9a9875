"""Every command and every option of the CLI is documented in README.md (like sqlite-utils checks its docs):
each command in a shell example, each option and each of its choices in the part of the README that
documents that command, so that `--output` of one command does not pass because another documents it."""

import re

import click
import pytest

from helpers import REPO
from policywatch.cli import cli

README = (REPO / "README.md").read_text(encoding="utf-8")

# Where each command's options are documented: README headings (## or ###; a section runs to the next one).
# "## Commands" also holds what every command shares (-q/-v, --help, --output to a file).
DOCUMENTED_IN = {
    "check": ["### check", "## Reliability"],
    # The check table documents the report options that compare, scan and demo share with check.
    "compare": ["### compare and scan", "### check"],
    "scan": ["### compare and scan", "### check"],
    "demo": ["## Quick start", "### check"],
    "init": ["### init, add and validate"],
    "add": ["### init, add and validate"],
    "validate": ["### init, add and validate"],
    "import-ota": ["## Open Terms Archive"],
    "verify": ["## Reliability"],
    "reprocess": ["## Reliability"],
    **{name: ["## History and reports"] for name in ("history", "diff", "show", "list", "report", "feed")},
    **{name: ["## Risk rulebook"] for name in ("rules", "rules list", "rules test", "rules eval")},
}
SHARED = "## Commands"


def _sections(text: str) -> dict[str, str]:
    sections: dict[str, str] = {}
    heading = ""
    for line in text.splitlines(keepends=True):
        if re.match(r"#{2,3} ", line):
            heading = line.strip()
        sections[heading] = sections.get(heading, "") + line
    return sections


def _shell_lines(text: str) -> list[str]:
    """The lines of the README's ```sh (and ```cron) blocks: its examples."""
    lines, language = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            language = line[3:].strip() if language is None else None
        elif language in ("sh", "cron"):
            lines.append(line)
    return lines


SECTIONS = _sections(README)
EXAMPLES = _shell_lines(README)


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        path = prefix + (name,)
        yield " ".join(path), command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


COMMANDS = dict(_commands(cli))


def _word(option: str) -> re.Pattern:
    """The name as a whole word: `--output` must not match inside `--json-output`."""
    return re.compile(rf"(?<![\w-]){re.escape(option)}(?![\w-])")


def test_the_walk_finds_the_known_commands():
    assert {"check", "compare", "scan", "init", "add", "validate", "import-ota", "history", "diff", "show", "list",
            "report", "feed"} <= set(COMMANDS)


def test_every_command_has_a_place_in_the_readme():
    assert set(COMMANDS) <= set(DOCUMENTED_IN), "add the new command's README section(s) to DOCUMENTED_IN"
    for name, headings in DOCUMENTED_IN.items():
        assert all(heading in SECTIONS for heading in headings), (name, headings)


@pytest.mark.parametrize("name", sorted(name for name, command in COMMANDS.items() if not isinstance(command, click.Group)))
def test_command_has_an_example(name):
    shown = re.compile(rf"\bpolicywatch {re.escape(name)}(?![\w-])")
    assert any(shown.search(line) for line in EXAMPLES), f"README.md has no shell example of `policywatch {name}`"
    assert f"policywatch {name}" in SECTIONS[SHARED], f"the Commands table has no row for `policywatch {name}`"


OPTIONS = sorted(
    ((name, parameter, option)
    for name, command in COMMANDS.items()
    for parameter in command.params
    if isinstance(parameter, click.Option)
    for option in parameter.opts + parameter.secondary_opts
    if option.startswith("--")),
    key=lambda item: (item[0], item[2]),
)


def _documentation(name: str) -> str:
    return "".join(SECTIONS.get(heading, "") for heading in [*DOCUMENTED_IN.get(name, []), SHARED])


@pytest.mark.parametrize("name,parameter,option", OPTIONS, ids=[f"{name} {option}" for name, _, option in OPTIONS])
def test_option_and_its_choices_are_documented_with_the_command(name, parameter, option):
    documentation = _documentation(name)
    assert _word(option).search(documentation), f"{option} of `policywatch {name}` is not in its README section(s)"
    if isinstance(parameter.type, click.Choice):
        missing = [choice for choice in parameter.type.choices if not _word(choice).search(documentation)]
        assert not missing, f"{option} of `policywatch {name}`: choices {missing} are not in its README section(s)"
