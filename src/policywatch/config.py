"""policies.yaml: load, validate and resolve defaults. Every error names the file, the line and the policy."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_SHRINK_LIMIT = 0.5
DEFAULT_USER_AGENT = "policywatch (+https://github.com/policywatch/policywatch)"

_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
# Names that a store folder must never take (Windows device names and our own bookkeeping files).
_RESERVED_IDS = {"con", "prn", "aux", "nul", "lock", "state"} | {f"com{i}" for i in range(10)} | {
    f"lpt{i}" for i in range(10)
}
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # tab is allowed inside a value
# A DNS name (letters of any script, digits, '-', '_'), an IPv4 address, or an IPv6 address without its brackets.
_HOST = re.compile(r"^[\w.-]+$|^[0-9a-f:.]+(%[\w.-]+)?$")
_TOP_KEYS = {"defaults", "policies", "rules", "ignore", "notify"}
_POLICY_KEYS = {"id", "url", "name", "select", "remove", "headers", "timeout", "max_bytes", "shrink_limit"}
_DEFAULT_KEYS = _POLICY_KEYS - {"id", "url", "name"}


class ConfigError(Exception):
    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None, policy: str | None = None):
        self.message, self.path, self.line, self.policy = message, path, line, policy
        where = str(path) if path is not None else "<config>"
        if line is not None:
            where += f":{line}"
        if policy:
            where += f" (policy {policy!r})"
        super().__init__(f"{where}: {message}")


class YamlMap(dict):
    """A YAML mapping that remembers its line and the line of each key (1-based)."""

    line: int | None = None
    key_lines: dict

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


class YamlList(list):
    line: int | None = None
    item_lines: list


# libyaml's parser when PyYAML was built with it: 5× faster on a config of 1,000 policies, same nodes and marks.
class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> YamlMap:
    loader.flatten_mapping(node)
    mapping = YamlMap()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise ConfigError("mapping keys must be plain strings", line=key_node.start_mark.line + 1)
        if key in mapping:
            raise ConfigError(f"duplicate key {key!r}", line=key_node.start_mark.line + 1)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> YamlList:
    sequence = YamlList(loader.construct_object(child, deep=True) for child in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def line_of(node: object) -> int | None:
    return getattr(node, "line", None)


@dataclass(frozen=True, slots=True)
class PolicySpec:
    id: str
    url: str
    name: str
    select: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    shrink_limit: float = DEFAULT_SHRINK_LIMIT  # a new version shorter by more than this share is suspicious


@dataclass(frozen=True)
class Config:
    path: Path
    policies: tuple[PolicySpec, ...]
    rules: Mapping = field(default_factory=dict)  # raw `rules:` mapping, validated by the rulebook
    ignore: tuple = ()  # raw `ignore:` entries, validated by the rulebook
    notify: tuple[str, ...] = ()

    @property
    def default_store(self) -> Path:
        return self.path.parent / "snapshots"

    def select(self, ids: tuple[str, ...] | list[str]) -> tuple[PolicySpec, ...]:
        """The policies named by ids (all when none), in config order; unknown ids are a ConfigError."""
        if not ids:
            return self.policies
        known = {policy.id for policy in self.policies}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ConfigError(f"unknown policy id(s): {', '.join(unknown)}", self.path)
        wanted = set(ids)
        return tuple(policy for policy in self.policies if policy.id in wanted)


def check_url(url: object) -> str | None:
    """The reason a URL cannot be watched, or None."""
    if not isinstance(url, str) or not url.strip():
        return "url must be a non-empty string"
    url = url.strip()
    if _URL_FORBIDDEN.search(url):
        return f"url {url!r} contains spaces or control characters (percent-encode them, e.g. %20)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it is what validates it
    except ValueError as error:  # an unclosed [IPv6] bracket, a port out of range
        return f"url {url!r} is malformed: {error}"
    if parts.scheme not in ("http", "https"):
        return f"url {url!r} must start with http:// or https://"
    if not parts.hostname:
        return f"url {url!r} has no host"
    if not _HOST.match(parts.hostname):
        return f"url {url!r} has an invalid host {parts.hostname!r}"
    return None


def check_id(policy_id: object) -> str | None:
    """The reason a policy id is not a safe store folder name, or None."""
    if not isinstance(policy_id, str):
        return "id must be a string"
    if not _ID_PATTERN.match(policy_id):
        return (
            f"id {policy_id!r} is not a safe slug (lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit, at most 100 characters)"
        )
    if policy_id in _RESERVED_IDS:
        return f"id {policy_id!r} is a reserved name"
    return None


class _Validator:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, message: str, node: object = None, policy: str | None = None, line: int | None = None):
        raise ConfigError(message, self.path, line if line is not None else line_of(node), policy)

    def string_list(self, value: object, key: str, owner: YamlMap, policy: str | None) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f"{key} must be a CSS selector or a list of them", line=owner.line_of(key), policy=policy)
        from policywatch.normalize import check_selector

        for selector in value:
            try:
                check_selector(selector)
            except ValueError as error:
                self.fail(f"{key}: invalid CSS selector {selector!r}: {error}", line=owner.line_of(key), policy=policy)
        return tuple(value)

    def headers(self, value: object, owner: YamlMap, policy: str | None) -> dict[str, str]:
        line = owner.line_of("headers")
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, (str, int)) for k, v in value.items()):
            self.fail("headers must be a mapping of header names to strings", line=line, policy=policy)
        for name, header_value in value.items():
            # Caught here, a bad header is a config error (exit 2) instead of a failed fetch on every run.
            where = value.line_of(name) if isinstance(value, YamlMap) else line
            if not _HEADER_NAME.match(name):
                self.fail(f"header name {name!r} is not a valid HTTP header name", line=where, policy=policy)
            if _HEADER_VALUE_FORBIDDEN.search(str(header_value)):
                self.fail(f"header {name!r} has a line break or control character in its value", line=where, policy=policy)
        return {name: str(header_value).strip() for name, header_value in value.items()}

    def number(self, value: object, key: str, owner: YamlMap, policy: str | None, *, integer: bool = False):
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        # YAML's .inf would wait forever and .nan compares false with everything: neither is a setting.
        if isinstance(value, bool) or not ok or not math.isfinite(value) or value <= 0:
            kind = "a positive whole number" if integer else "a positive number"
            self.fail(f"{key} must be {kind}", line=owner.line_of(key), policy=policy)
        return value

    def settings(self, entry: YamlMap, policy: str | None) -> dict:
        """The per-policy settings of a policy or of `defaults:`, validated and converted."""
        out: dict = {}
        for key, value in entry.items():
            if key in ("select", "remove"):
                out[key] = self.string_list(value, key, entry, policy)
            elif key == "headers":
                out[key] = self.headers(value, entry, policy)
            elif key == "timeout":
                out[key] = float(self.number(value, key, entry, policy))
            elif key == "max_bytes":
                out[key] = self.number(value, key, entry, policy, integer=True)
            elif key == "shrink_limit":
                self.number(value, key, entry, policy)
                if value >= 1:
                    self.fail("shrink_limit must be a share below 1 (e.g. 0.5)", line=entry.line_of(key), policy=policy)
                out[key] = float(value)
        return out

    def unknown_keys(self, entry: YamlMap, allowed: set[str], what: str, policy: str | None = None):
        for key in entry:
            if key not in allowed:
                self.fail(
                    f"unknown key {key!r} in {what} (allowed: {', '.join(sorted(allowed))})",
                    line=entry.line_of(key),
                    policy=policy,
                )


def parse_config(text: str, path: Path) -> Config:
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except ConfigError as error:
        raise ConfigError(error.message, path, error.line) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"invalid YAML: {error.problem or error}", path, line) from None
    except yaml.reader.ReaderError as error:  # a control character: it knows its offset, not its line
        line = text.count("\n", 0, error.position) + 1
        raise ConfigError(f"invalid YAML: the control character U+{error.character:04X} is not allowed", path, line) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"invalid YAML: {error}", path) from None
    check = _Validator(path)
    if document is None:
        document = YamlMap(policies=YamlList())
        document.key_lines = {}
    if not isinstance(document, YamlMap):
        check.fail("the top level must be a mapping with a `policies:` list", line=1)
    check.unknown_keys(document, _TOP_KEYS, "the top level")

    defaults_node = document.get("defaults", YamlMap())
    if not isinstance(defaults_node, YamlMap):
        check.fail("defaults must be a mapping", line=document.line_of("defaults"))
    check.unknown_keys(defaults_node, _DEFAULT_KEYS, "defaults")
    defaults = check.settings(defaults_node, None)

    policies_node = document.get("policies", YamlList())
    if not isinstance(policies_node, YamlList):
        check.fail("policies must be a list", line=document.line_of("policies"))
    policies: list[PolicySpec] = []
    seen: dict[str, int | None] = {}
    for index, entry in enumerate(policies_node):
        entry_line = policies_node.item_lines[index]
        if not isinstance(entry, YamlMap):
            check.fail(f"policy #{index + 1} must be a mapping with id and url", line=entry_line)
        raw_id = entry.get("id")
        label = raw_id if isinstance(raw_id, str) else f"#{index + 1}"
        check.unknown_keys(entry, _POLICY_KEYS, "a policy", label)
        if "id" not in entry or "url" not in entry:
            check.fail("a policy needs both `id` and `url`", line=entry.line, policy=label)
        problem = check_id(raw_id)
        if problem:
            check.fail(problem, line=entry.line_of("id"), policy=label)
        if raw_id in seen:
            check.fail(f"duplicate id (first defined on line {seen[raw_id]})", line=entry.line_of("id"), policy=raw_id)
        seen[raw_id] = entry.line_of("id")
        problem = check_url(entry["url"])
        if problem:
            check.fail(problem, line=entry.line_of("url"), policy=raw_id)
        name = entry.get("name", raw_id)
        if not isinstance(name, str) or not name.strip():  # reports lead with it: a blank one hides the policy
            check.fail("name must be a non-empty string (or left out: the id stands in)", line=entry.line_of("name"), policy=raw_id)
        own = check.settings(entry, raw_id)
        headers = {**defaults.get("headers", {}), **own.get("headers", {})}
        if not any(key.lower() == "user-agent" for key in headers):
            headers["User-Agent"] = DEFAULT_USER_AGENT
        policies.append(
            PolicySpec(
                id=raw_id,
                url=entry["url"].strip(),
                name=name.strip(),
                select=own.get("select", defaults.get("select", ())),
                # Removal selectors accumulate: the defaults' chrome plus the policy's own.
                remove=tuple(dict.fromkeys(defaults.get("remove", ()) + own.get("remove", ()))),
                headers=tuple(sorted(headers.items())),
                timeout=own.get("timeout", defaults.get("timeout", DEFAULT_TIMEOUT)),
                max_bytes=own.get("max_bytes", defaults.get("max_bytes", DEFAULT_MAX_BYTES)),
                shrink_limit=own.get("shrink_limit", defaults.get("shrink_limit", DEFAULT_SHRINK_LIMIT)),
            )
        )

    rules = document.get("rules", YamlMap())
    if not isinstance(rules, dict):
        check.fail("rules must be a mapping", line=document.line_of("rules"))
    ignore = document.get("ignore", YamlList())
    if not isinstance(ignore, list):
        check.fail("ignore must be a list", line=document.line_of("ignore"))
    notify = document.get("notify", [])
    if isinstance(notify, str):
        notify = [notify]
    if not isinstance(notify, list) or not all(isinstance(n, str) for n in notify):
        check.fail("notify must be a notification URL or a list of them", line=document.line_of("notify"))
    return Config(path=path, policies=tuple(policies), rules=rules, ignore=tuple(ignore), notify=tuple(notify))


def load_config(path: Path | str) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found (create one with `policywatch init`)", path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config: {error}", path) from None
    return parse_config(text, path)
