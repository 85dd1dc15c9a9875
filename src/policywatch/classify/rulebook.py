"""The rulebook: the built-in rules.yaml plus the user's `rules:` and `ignore:` from policies.yaml.

Everything is validated in `Rulebook.load`; the built-in category patterns are compiled on first use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, lru_cache
from importlib import resources

import yaml

from policywatch.classify.prefilter import TriggerIndex
from policywatch.classify.engine import RULE_KINDS, CategoryRules, ClauseReading, Cues, PatternError, compile_terms
from policywatch.models import HEADING, Clause, Match, ScannedClause, Severity

_CATEGORY_ID = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_DESCRIPTION_KEYS = ("name", "severity", "explanation", "source")
_PATTERN_KEYS = tuple(RULE_KINDS)
_EXTRA_KEYS = ("exclude",)
_USER_RULES_KEYS = {"severity", "categories"}
_IGNORE_KEYS = {"category", "policy", "contains", "reason", "expires"}
USER_SOURCE = "policies.yaml"


class RuleError(ValueError):
    """A rule or ignore entry that cannot be used; `where` is the offending YAML mapping or list."""

    def __init__(self, message: str, where: object | None = None):
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    severity: Severity
    explanation: str
    source: str


@dataclass(frozen=True)
class IgnoreEntry:
    category: str
    reason: str
    policy: str | None = None
    contains: str | None = None  # lower-cased
    expires: date | None = None

    def covers(self, category: str, clause: Clause, policy_id: str | None) -> bool:
        if category != self.category or (self.policy is not None and self.policy != policy_id):
            return False
        return self.contains is None or self.contains in clause.text.lower() or self.contains in clause.lead.lower()


@lru_cache(maxsize=1)
def _builtin_rules() -> dict:
    text = resources.files(__package__).joinpath("rules.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when installed


class Rulebook:
    def __init__(
        self,
        categories: Sequence[Category],
        rules: Sequence[CategoryRules],
        cues: Cues,
        ignore: Sequence[IgnoreEntry] = (),
        warnings: Sequence[str] = (),
    ):
        self.categories = tuple(categories)
        self.warnings = tuple(warnings)
        self._by_id = {category.id: category for category in self.categories}
        self._rules = tuple(rules)
        self._cues = cues
        self._ignore = tuple(ignore)

    @classmethod
    def load(
        cls, overrides: Mapping | None = None, ignore: Sequence[Mapping] | None = None, today: date | None = None
    ) -> Rulebook:
        builtin = _builtin_rules()
        try:
            terms = compile_terms(builtin["terms"])
            cues = Cues.compile(builtin["cues"], terms)
        except PatternError as error:
            raise RuleError(f"built-in rules: {error}") from None
        entries = {entry["id"]: _category_entry(entry, builtin=True) for entry in builtin["categories"]}
        severities: Mapping = {}
        if overrides:
            if not isinstance(overrides, Mapping):
                raise RuleError("rules must be a mapping", overrides)
            _check_keys(overrides, _USER_RULES_KEYS, "rules")
            _merge_user_categories(entries, overrides.get("categories") or [])
            severities = overrides.get("severity") or {}
        _check_severity_overrides(severities, entries)
        categories = [_apply_severity(entry["category"], severities) for entry in entries.values()]
        trusted = {pattern for entry in builtin["categories"] for key in (*_PATTERN_KEYS, *_EXTRA_KEYS) for pattern in entry.get(key, ())}
        rules = [_compile_category(entry, terms, trusted) for entry in entries.values()]
        ignore_entries, warnings = _ignore_entries(ignore or [], set(entries), today or date.today())
        return cls(categories, rules, cues, ignore_entries, warnings)

    @cached_property
    def _triggers(self) -> TriggerIndex:
        # Built on the first clause classified: a check with nothing to classify (a baseline, no change)
        # never analyses the patterns, which is most of a load (about 0.2 s).
        return TriggerIndex(rules.requirements for rules in self._rules)

    def category(self, category_id: str) -> Category:
        return self._by_id[category_id]

    def classify(self, clause: Clause, policy_id: str | None = None) -> list[Match]:
        if clause.kind == HEADING:
            return []  # a heading is context for the clauses below it, never a finding by itself
        reading = ClauseReading(clause, self._cues)
        candidates = self._triggers.candidates(reading.lowered)
        if not candidates or self._cues.states_no_practice(clause):
            return []
        matches: list[Match] = []
        seen: set[tuple[str, str, str]] = set()
        for index, possible in candidates.items():
            rules = self._rules[index]
            if any(entry.covers(rules.category, clause, policy_id) for entry in self._ignore):
                continue
            category = self._by_id[rules.category]
            for hit in rules.hits(reading, possible):
                key = (hit.category, hit.polarity, hit.evidence.lower())
                if key in seen:
                    continue
                seen.add(key)
                explanation = f"{category.explanation} ({hit.reason})" if hit.reason else category.explanation
                matches.append(Match(hit.category, category.severity, hit.polarity, hit.evidence, hit.rule, explanation))
        return matches

    def check_patterns(self) -> int:
        """Compile every category pattern now rather than on first use (raising re.error for a broken one); how
        many patterns there are."""
        return sum(rules.compile_all() for rules in self._rules)

    def scan(self, clauses: Sequence[Clause], policy_id: str | None = None) -> list[ScannedClause]:
        return [ScannedClause(clause, tuple(self.classify(clause, policy_id))) for clause in clauses]


def _check_keys(mapping: Mapping, allowed: set[str] | Sequence[str], what: str) -> None:
    unknown = sorted(str(key) for key in mapping if key not in allowed)
    if unknown:
        raise RuleError(f"{what}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})", mapping)


def _parse_severity(value: object, what: str, where: object) -> Severity:
    try:
        return Severity.parse(value) if isinstance(value, str) else Severity.parse(repr(value))
    except ValueError as error:
        raise RuleError(f"{what}: {error}", where) from None


def _string_list(entry: Mapping, key: str, what: str) -> list[str]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise RuleError(f"{what}: {key} must be a list of non-empty strings", entry)
    return list(value)


def _category_entry(entry: object, builtin: bool) -> dict:
    """A validated category definition: its Category and its pattern lists."""
    if not isinstance(entry, Mapping):
        raise RuleError("rules.categories: each entry must be a mapping", entry)
    category_id = entry.get("id")
    if not isinstance(category_id, str) or not _CATEGORY_ID.match(category_id):
        raise RuleError(f"rules.categories: id must be a lower-case name like 'pay-to-opt-out', not {category_id!r}", entry)
    what = f"category {category_id!r}"
    _check_keys(entry, {"id", *_DESCRIPTION_KEYS, *_PATTERN_KEYS, *_EXTRA_KEYS}, what)
    required = ("name", "severity", "explanation", "source") if builtin else ("name", "severity", "explanation", "patterns")
    missing = [key for key in required if not entry.get(key)]
    if missing:
        raise RuleError(f"{what}: missing {', '.join(missing)}", entry)
    for key in ("name", "explanation", "source"):
        if key in entry and not isinstance(entry[key], str):
            raise RuleError(f"{what}: {key} must be a string", entry)
    category = Category(
        category_id,
        entry["name"],
        _parse_severity(entry["severity"], what, entry),
        " ".join(entry["explanation"].split()),
        entry.get("source") or USER_SOURCE,
    )
    lists = {key: _string_list(entry, key, what) for key in (*_PATTERN_KEYS, *_EXTRA_KEYS)}
    return {"category": category, "where": entry, **lists}


def _merge_user_categories(entries: dict[str, dict], user_categories: object) -> None:
    if not isinstance(user_categories, list):
        raise RuleError("rules.categories must be a list", user_categories)
    for raw in user_categories:
        category_id = raw.get("id") if isinstance(raw, Mapping) else None
        if category_id not in entries:
            new = _category_entry(raw, builtin=False)
            entries[new["category"].id] = new
            continue
        # A built-in category can gain patterns; what it means and how severe it is stay one place each.
        what = f"category {category_id!r}"
        fixed = sorted(str(key) for key in raw if key not in {"id", *_PATTERN_KEYS, *_EXTRA_KEYS})
        if fixed:
            raise RuleError(
                f"{what} is built in: only patterns, protections, always_risk and exclude can be added, not "
                f"{', '.join(fixed)} (change its severity under rules.severity)",
                raw,
            )
        existing = entries[category_id]
        for key in (*_PATTERN_KEYS, *_EXTRA_KEYS):
            existing[key] = existing[key] + _string_list(raw, key, what)
        existing["where"] = raw


def _apply_severity(category: Category, severities: Mapping) -> Category:
    if category.id not in severities:
        return category
    severity = _parse_severity(severities[category.id], f"rules.severity.{category.id}", severities)
    return Category(category.id, category.name, severity, category.explanation, category.source)


def _check_severity_overrides(severities: object, entries: Mapping[str, dict]) -> None:
    if not isinstance(severities, Mapping):
        raise RuleError("rules.severity must be a mapping of category id to low, medium or high", severities)
    unknown = sorted(str(key) for key in severities if key not in entries)
    if unknown:
        raise RuleError(f"rules.severity: unknown category id(s) {', '.join(unknown)}", severities)


def _compile_category(entry: dict, terms: Mapping[str, str], trusted: set[str]) -> CategoryRules:
    category_id = entry["category"].id
    try:
        return CategoryRules.compile(category_id, entry, terms, trusted)
    except PatternError as error:
        raise RuleError(f"category {category_id!r}: {error}", entry["where"]) from None


def _ignore_entries(raw_entries: object, known: set[str], today: date) -> tuple[list[IgnoreEntry], list[str]]:
    if not isinstance(raw_entries, (list, tuple)):
        raise RuleError("ignore must be a list", raw_entries)
    entries: list[IgnoreEntry] = []
    warnings: list[str] = []
    for number, raw in enumerate(raw_entries, start=1):
        what = f"ignore entry {number}"
        if not isinstance(raw, Mapping):
            raise RuleError(f"{what}: must be a mapping with category and reason", raw)
        _check_keys(raw, _IGNORE_KEYS, what)
        category = raw.get("category")
        if category not in known:
            raise RuleError(f"{what}: unknown category {category!r}", raw)
        reason = raw.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise RuleError(f"{what}: a reason is required", raw)
        for key in ("policy", "contains"):
            if key in raw and not (isinstance(raw[key], str) and raw[key]):
                raise RuleError(f"{what}: {key} must be a non-empty string", raw)
        expires = _expiry(raw.get("expires"), what, raw)
        if expires is not None and expires < today:
            warnings.append(f"{what} for {category} expired on {expires.isoformat()}: {reason.strip()}")
            continue
        contains = raw.get("contains")
        entries.append(IgnoreEntry(category, reason.strip(), raw.get("policy"), contains.lower() if contains else None, expires))
    return entries, warnings


def _expiry(value: object, what: str, where: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RuleError(f"{what}: expires must be a date like 2027-01-31, not {value!r}", where) from None
