"""The risk rulebook: classify clauses into risk categories and turn diffs into findings.

The built-in rules are data (rules.yaml); users extend them with `rules:` and `ignore:` in policies.yaml.
"""

from policywatch.classify.evaluate import EvalReport, evaluate
from policywatch.classify.events import assess
from policywatch.classify.rulebook import Category, RuleError, Rulebook

__all__ = ["Category", "EvalReport", "RuleError", "Rulebook", "assess", "evaluate"]
