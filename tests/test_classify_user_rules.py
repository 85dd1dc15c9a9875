"""User control over the rulebook from policies.yaml: `rules:` (new categories, more patterns, severity
overrides) and `ignore:` (a reason, an optional expiry; expired entries warn), and clear errors that name
the file and the line through the real `validate` and `check` commands."""

from datetime import date

import pytest

from helpers import run_cli, write_config
from policywatch.classify import RuleError, Rulebook
from policywatch.models import RISK, Clause, Severity

PAY_TO_OPT_OUT = {
    "id": "pay-to-opt-out",
    "name": "Privacy costs extra",
    "severity": "high",
    "explanation": "Opting out of tracking requires a paid subscription.",
    "patterns": ["(?:subscri\\w+|pay\\w*){gap}(?:ad-free|without (?:ads|tracking))"],
}
SALE = Clause("We sell your personal information to data brokers.")


def test_a_user_category_is_classified_like_a_built_in_one():
    rulebook = Rulebook.load({"categories": [PAY_TO_OPT_OUT]})
    (match,) = rulebook.classify(Clause("You can subscribe to an ad-free plan to use the service without tracking."))
    assert (match.category, match.polarity, match.severity) == ("pay-to-opt-out", RISK, Severity.HIGH)
    assert rulebook.category("pay-to-opt-out").source == "policies.yaml"
    assert rulebook.classify(Clause("You cannot subscribe to an ad-free plan."))[0].polarity == "protection"


def test_a_user_can_add_patterns_to_a_built_in_category():
    clause = Clause("We feed the posts you share into our recommendation models.")
    assert Rulebook.load().classify(clause) == []
    rulebook = Rulebook.load({"categories": [{"id": "ai-training", "patterns": ["feed\\w*{gap}{model}"]}]})
    assert [m.category for m in rulebook.classify(clause)] == ["ai-training"]
    assert [m.category for m in rulebook.classify(Clause("We may use your content to train our AI models."))] == ["ai-training"]


def test_severity_override_changes_the_matches_and_the_listing():
    rulebook = Rulebook.load({"severity": {"data-sale": "low"}})
    assert rulebook.classify(SALE)[0].severity == Severity.LOW
    assert rulebook.category("data-sale").severity == Severity.LOW
    assert Rulebook.load().category("data-sale").severity == Severity.HIGH


def test_ignore_entry_silences_only_what_it_names():
    rulebook = Rulebook.load(ignore=[{"category": "data-sale", "contains": "DATA BROKERS", "reason": "accepted in review #12"}])
    assert rulebook.classify(SALE) == []
    assert [m.category for m in rulebook.classify(Clause("We sell your personal information to advertisers."))] == ["data-sale", "ad-sharing"]


def test_an_expired_ignore_entry_warns_and_no_longer_applies():
    entries = [
        {"category": "data-sale", "reason": "until the new policy ships", "expires": date(2026, 1, 31)},
        {"category": "ad-sharing", "reason": "vendor contract", "expires": "2027-06-30"},
    ]
    rulebook = Rulebook.load(ignore=entries, today=date(2026, 3, 1))
    assert [m.category for m in rulebook.classify(Clause("We sell your personal information to advertisers."))] == ["data-sale"]
    assert rulebook.warnings == ("ignore entry 1 for data-sale expired on 2026-01-31: until the new policy ships",)


@pytest.mark.parametrize(
    "rules,ignore,message",
    [
        ({"severity": {"data-sale": "urgent"}}, None, "unknown severity 'urgent'"),
        ({"severity": {"no-such-category": "high"}}, None, "unknown category id(s) no-such-category"),
        ({"categories": [{"id": "data-sale", "severity": "low"}]}, None, "is built in"),
        ({"categories": [{**PAY_TO_OPT_OUT, "patterns": ["(unclosed"]}]}, None, "bad regular expression '(unclosed'"),
        ({"categories": [{**PAY_TO_OPT_OUT, "patterns": ["{nope} data"]}]}, None, "unknown term {nope}"),
        ({"categories": [{"id": "data-sale", "exclude": ["ok", "(unclosed"]}]}, None, "bad regular expression '(unclosed'"),
        ({"categories": [{"id": "Bad Id", "patterns": ["x"]}]}, None, "id must be a lower-case name"),
        ({"categories": [{"id": "new-thing", "patterns": ["x"]}]}, None, "missing name, severity, explanation"),
        ({"colour": "red"}, None, "unknown key(s) colour"),
        (None, [{"category": "data-sale"}], "a reason is required"),
        (None, [{"category": "nope", "reason": "r"}], "unknown category 'nope'"),
        (None, [{"category": "data-sale", "reason": "r", "expires": "next year"}], "expires must be a date"),
    ],
)
def test_bad_user_rules_are_refused_with_a_reason(rules, ignore, message):
    with pytest.raises(RuleError) as error:
        Rulebook.load(rules, ignore)
    assert message in str(error.value)


BAD_CONFIGS = [
    # (the YAML after `policies:`, the line the error must name, words it must contain)
    ("rules:\n  severity:\n    data-sale: urgent\n", 6, "unknown severity"),
    ("rules:\n  categories:\n    - id: paywall\n      name: Paywall\n      severity: high\n      explanation: x\n"
     "      patterns: ['(oops']\n", 6, "bad regular expression"),
    ("ignore:\n  - category: data-sale\n    reason: reviewed\n  - category: ad-sharing\n", 7, "ignore entry 2: a reason is required"),
]


@pytest.mark.parametrize("extra,line,words", BAD_CONFIGS)
def test_validate_names_the_file_and_line_of_a_bad_rule(tmp_path, extra, line, words):
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": "http://127.0.0.1:9/privacy"}], extra)
    result = run_cli("validate", "-c", str(config))
    assert result.returncode == 2
    assert f"{config}:{line}" in result.stderr and words in result.stderr, result.stderr


def test_check_refuses_a_bad_rule_before_fetching_anything(tmp_path, server):
    url = server.page("/privacy", "<main><p>We sell your personal information.</p></main>")
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url}], BAD_CONFIGS[0][0])
    result = run_cli("check", "-c", str(config))
    assert result.returncode == 2 and f"{config}:6" in result.stderr, result.stderr
    assert server.requests == []


POLICY = (
    "<main><h1>Privacy Policy</h1><p>This policy explains what information we collect when you use our services, "
    "how we use it, and the choices you have. We protect your account with encryption in transit and at rest.</p>"
    "<p>{extra}</p></main>"
)


def test_check_reports_a_user_category_and_warns_about_expired_ignores(tmp_path, server):
    url = server.page("/privacy", POLICY.format(extra="You can contact our support team at any time."))
    extra = (
        "rules:\n  categories:\n"
        "    - id: pay-to-opt-out\n      name: Privacy costs extra\n      severity: high\n"
        "      explanation: Opting out of tracking requires a paid subscription.\n"
        "      patterns: ['(?:subscri\\w+|pay\\w*){gap}(?:ad-free|without (?:ads|tracking))']\n"
        "ignore:\n  - category: data-sale\n    reason: old review\n    expires: 2020-01-01\n"
    )
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url}], extra)
    first = run_cli("check", "-c", str(config))
    assert first.returncode == 0, first.stderr
    assert "ignore entry 1 for data-sale expired on 2020-01-01" in first.stderr
    server.page("/privacy", POLICY.format(extra="Pay for Premium to use the service without ads or tracking."))
    second = run_cli("check", "-c", str(config), "-f", "json")
    assert second.returncode == 1, second.stderr
    assert '"pay-to-opt-out"' in second.stdout and '"new-risk"' in second.stdout


def test_every_built_in_pattern_compiles():
    """Built-in patterns compile on first use, so a broken one would only fail on the clause that needs it."""
    assert Rulebook.load().check_patterns() > 200  # raises re.error for a broken pattern
