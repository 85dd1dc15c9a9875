"""Setting up policies.yaml: the commented starter file, adding policies as text, previewing a page's clauses.

policies.yaml is a file people write by hand, with comments that explain their choices, so new entries are
inserted as text after the last policy instead of re-dumping the YAML (which would drop every comment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from policywatch.config import Config, ConfigError, PolicySpec, check_id, parse_config
from policywatch.fetch import Fetcher, FetchError
from policywatch.models import Clause
from policywatch.normalize import NormalizeError, normalize
from policywatch.store import atomic_write

STARTER = """\
# policies.yaml: the privacy policies and terms that policywatch watches.
# Check it with `policywatch validate`; add a page with `policywatch add URL` (it previews the text first).

defaults:                 # inherited by every policy below (a policy may override them)
  timeout: 30             # seconds to wait for a page
  remove: [nav, footer, "[role=navigation]"]   # CSS selectors dropped from every page (site chrome)
  # headers:
  #   User-Agent: "policywatch (+https://example.org/contact)"

policies:
  # id:     unique safe slug (lowercase letters, digits, - and _); names the folder under snapshots/
  # name:   shown in reports
  # url:    the page to fetch (http or https)
  # select: CSS selectors of the policy body (optional: without it, main-content heuristics pick the text)
  # remove: CSS selectors dropped from this page, added to the defaults' own
  - id: x-privacy
    name: X Privacy Policy
    url: https://x.com/en/privacy
    select: ["#twtr-main"]

  - id: wikimedia-privacy
    name: Wikimedia Foundation Privacy Policy
    url: https://foundation.wikimedia.org/wiki/Policy:Privacy_policy
    select: ["#mw-content-text"]

# Notifications (needs `pip install 'policywatch[notify]'`): any Apprise URL, sent when a policy changed or
# started or stopped failing. https://github.com/caronc/apprise/wiki
# notify:
#   - mailto://user:app-password@gmail.com
#   - ntfys://ntfy.sh/my-policy-alerts
#   - json://hooks.example.org/policywatch

# Your own rules and accepted findings: see "Risk rulebook" in the README.
rules: {}
ignore: []
"""

_POLICIES_LINE = re.compile(r"^policies:\s*(\[\s*\]|~|null)?\s*(#.*)?$", re.MULTILINE)
_COUNTRY_SECOND_LEVEL = {"co", "com", "org", "net", "gov", "ac", "edu"}  # bbc.co.uk → bbc
_LANGUAGE_SEGMENT = re.compile(r"^[a-z]{2}([-_][a-z]{2})?$", re.IGNORECASE)  # /en/, /en-us/


@dataclass(frozen=True, slots=True)
class NewPolicy:
    """A policy to append to policies.yaml; `comments` become YAML comment lines above the entry."""

    id: str
    url: str
    name: str
    select: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()


def write_starter(path: Path, force: bool = False) -> None:
    if path.exists() and not force:
        raise ConfigError("already exists; pass --force to overwrite it", path)
    atomic_write(path, STARTER.encode("utf-8"))


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def slug_from_url(url: str) -> str:
    """A readable policy id from a URL: the site's name and the page's name (x.com/en/privacy → x-privacy)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    labels = host.split(".")
    if host.replace(".", "").isdigit() or len(labels) < 2:
        site = host
    elif len(labels) >= 3 and labels[-2] in _COUNTRY_SECOND_LEVEL:
        site = labels[-3]
    else:
        site = labels[-2]
    segments = [s for s in parts.path.split("/") if s and not _LANGUAGE_SEGMENT.match(s)]
    page = segments[-1].rsplit(".", 1)[0] if segments else ""
    slug = slugify(f"{site} {page}")[:100].strip("-")
    return slug or "policy"


class _EntryDumper(yaml.SafeDumper):
    """Selector lists on one line (`select: [main]`), as people write them."""


_EntryDumper.add_representer(list, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True))


def render_entries(policies: list[NewPolicy], indent: int) -> str:
    """YAML text of policy entries, indented to stand in a `policies:` list, one blank line between them."""
    blocks = []
    for policy in policies:
        entry: dict = {"id": policy.id, "name": policy.name, "url": policy.url}
        if policy.select:
            entry["select"] = list(policy.select)
        if policy.remove:
            entry["remove"] = list(policy.remove)
        keys = yaml.dump(entry, Dumper=_EntryDumper, sort_keys=False, default_flow_style=False, width=1000, allow_unicode=True)
        lines = [f"# {comment}" for comment in policy.comments]
        lines += [("- " if number == 0 else "  ") + line for number, line in enumerate(keys.splitlines())]
        blocks.append("".join(" " * indent + line + "\n" for line in lines))
    return "\n".join(blocks)


def _last_leaf(node: yaml.Node) -> yaml.Node:
    while isinstance(node, yaml.MappingNode) and node.value:
        node = node.value[-1][1]
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _last_leaf(node.value[-1])
    return node


def with_policies(text: str, path: Path, policies: list[NewPolicy]) -> tuple[str, Config]:
    """The config text with `policies` appended to its `policies:` list, and that config validated."""
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        document = None  # parse_config below names the broken line
    if text and not text.endswith("\n"):
        text += "\n"
    sequence = None
    if isinstance(document, yaml.MappingNode):
        sequence = next((value for key, value in document.value if key.value == "policies"), None)
    if isinstance(sequence, yaml.SequenceNode) and sequence.value and not sequence.flow_style:
        end = _last_leaf(sequence.value[-1]).end_mark
        at = end.index if end.column == 0 else text.find("\n", end.index) + 1 or len(text)
        before = "" if text[:at].endswith("\n\n") else "\n"
        after = "\n" if text[at:] and not text[at:].startswith("\n") else ""
        new_text = text[:at] + before + render_entries(policies, sequence.start_mark.column) + after + text[at:]
    elif sequence is None:
        new_text = text + ("\n" if text else "") + "policies:\n" + render_entries(policies, 2)
    else:
        line = _POLICIES_LINE.search(text)
        if line is None:
            raise ConfigError("the policies list is written in flow style ([...]); add the entry by hand", path)
        new_text = text[: line.start()] + "policies:\n" + render_entries(policies, 2) + text[line.end() + 1 :]
    return new_text, parse_config(new_text, path)


def append_policies(path: Path, policies: list[NewPolicy]) -> Config:
    """Append the policies to the config file (atomically, keeping its comments); returns the new config."""
    new_text, config = with_policies(path.read_text(encoding="utf-8"), path, policies)
    atomic_write(path, new_text.encode("utf-8"))
    return config


def known_ids(config: Config) -> set[str]:
    return {policy.id for policy in config.policies}


def check_new_id(config: Config, policy_id: str) -> None:
    problem = check_id(policy_id)
    if problem:
        raise ConfigError(f"{problem}; choose another with --id", config.path)
    if policy_id in known_ids(config):
        raise ConfigError(f"a policy with id {policy_id!r} already exists; choose another with --id", config.path)


def preview(spec: PolicySpec) -> list[Clause]:
    """Fetch the page and extract its clauses exactly as `check` would, without storing anything."""
    with Fetcher(workers=1, retries=1) as fetcher:
        result = fetcher.fetch(spec)
    try:
        return normalize(result.body, content_type=result.content_type, url=result.final_url, select=spec.select, remove=spec.remove)
    except NormalizeError as error:
        hint = f"{error.hint}; check the page with another --select" if spec.select else error.hint
        raise FetchError(error.kind, f"{spec.url}: {error}", hint) from None
