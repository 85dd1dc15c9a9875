from pathlib import Path

import pytest

from policywatch.config import DEFAULT_USER_AGENT, ConfigError, load_config, parse_config

GOOD = """\
defaults:
  timeout: 12
  remove: [nav, footer]
  headers:
    Accept-Language: en
policies:
  - id: x-privacy
    name: X Privacy Policy
    url: https://x.com/en/privacy
    select: main
    remove: [".cookie"]
  - id: zoom_terms
    url: https://explore.zoom.us/en/terms/
    timeout: 5
"""


def parse(text: str):
    return parse_config(text, Path("policies.yaml"))


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return caught.value


def test_defaults_are_inherited_and_merged():
    config = parse(GOOD)
    x, zoom = config.policies
    assert x.select == ("main",)
    assert x.remove == ("nav", "footer", ".cookie")
    assert x.timeout == 12 and zoom.timeout == 5
    assert dict(x.headers) == {"Accept-Language": "en", "User-Agent": DEFAULT_USER_AGENT}
    assert zoom.name == "zoom_terms"
    assert config.default_store == Path("snapshots")


def test_select_keeps_config_order_and_rejects_unknown_ids():
    config = parse(GOOD)
    assert [p.id for p in config.select(["zoom_terms", "x-privacy"])] == ["x-privacy", "zoom_terms"]
    with pytest.raises(ConfigError, match="unknown policy id"):
        config.select(["nope"])


@pytest.mark.parametrize(
    "text, line, message, policy",
    [
        ("policies:\n  - id: a\n    url: https://a.example\n    colour: red\n", 4, "unknown key 'colour'", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n  - id: a\n    url: https://b.example\n", 4, "duplicate id", "a"),
        ("policies:\n  - id: ../x\n    url: https://a.example\n", 2, "not a safe slug", "../x"),
        ("policies:\n  - id: /etc\n    url: https://a.example\n", 2, "not a safe slug", "/etc"),
        ("policies:\n  - id: con\n    url: https://a.example\n", 2, "reserved name", "con"),
        ("policies:\n  - id: a\n    url: ftp://a.example/x\n", 3, "http:// or https://", "a"),
        ("policies:\n  - id: a\n    url: https://\n", 3, "has no host", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    timeout: -1\n", 4, "positive number", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    select: 'div[[['\n", 4, "invalid CSS selector", "a"),
        ("policies:\n  - id: a\n", 2, "needs both `id` and `url`", "a"),
        ("defaults:\n  url: https://a.example\npolicies: []\n", 2, "unknown key 'url' in defaults", None),
        ("polices: []\n", 1, "unknown key 'polices'", None),
        ("policies:\n  - id: a\n    url: https://a.example\n    url: https://b.example\n", 4, "duplicate key 'url'", None),
    ],
)
def test_errors_name_file_line_and_policy(text, line, message, policy):
    error = error_of(text)
    assert error.line == line
    assert message in error.message
    assert error.policy == policy
    assert str(error).startswith(f"policies.yaml:{line}")


def test_broken_yaml_names_the_line():
    error = error_of("policies:\n  - id: a\n    url: [unclosed\n  - id: b\n")
    assert error.line is not None and error.line >= 3
    assert "invalid YAML" in error.message


@pytest.mark.parametrize(
    "url", ["https://bücher.example/datenschutz", "http://[::1]:8080/privacy", "http://127.0.0.1:8080/x", "HTTPS://A.example/p?q=1#s"]
)
def test_urls_that_are_fine(url):
    (policy,) = parse(f"policies:\n  - id: a\n    url: '{url}'\n").policies
    assert policy.url == url


def test_a_control_character_names_its_line():
    error = error_of("policies:\n  - id: a\n    url: 'https://a.example/\x01'\n")
    assert error.line == 3 and "control character U+0001 is not allowed" in error.message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "policies.yaml")


def test_empty_file_is_an_empty_config():
    assert parse("").policies == ()


def test_starter_config_in_the_repo_is_valid():
    repo_config = Path(__file__).resolve().parents[1] / "policies.yaml"
    config = load_config(repo_config)
    assert len(config.policies) >= 10
    assert {"x-privacy"} <= {p.id for p in config.policies}


@pytest.mark.parametrize(
    "text, line, message, policy",
    [
        ("policies:\n  - id: 5\n    url: https://a.example\n", 2, "id must be a string", "#1"),
        ("policies:\n  - id: Acme\n    url: https://a.example\n", 2, "not a safe slug", "Acme"),
        ("policies:\n  - id: ..\n    url: https://a.example\n", 2, "not a safe slug", ".."),
        ("policies:\n  - id: " + "a" * 101 + "\n    url: https://a.example\n", 2, "at most 100 characters", "a" * 101),
        ("policies:\n  - id: lock\n    url: https://a.example\n", 2, "reserved name", "lock"),
        ("policies:\n  - id: a\n    url: javascript:alert(1)\n", 3, "http:// or https://", "a"),
        ("policies:\n  - id: a\n    url: 5\n", 3, "url must be a non-empty string", "a"),
        ("policies:\n  - id: a\n    url: 'http://[::1'\n", 3, "malformed: Invalid IPv6 URL", "a"),
        ("policies:\n  - id: a\n    url: 'https://a.example:99999/'\n", 3, "malformed: Port out of range", "a"),
        ("policies:\n  - id: a\n    url: 'https://a.example/pri vacy'\n", 3, "spaces or control characters", "a"),
        ("policies:\n  - id: a\n    url: \"https://a.example/\\0\"\n", 3, "spaces or control characters", "a"),
        ("policies:\n  - id: a\n    url: 'https://a<b.example/'\n", 3, "invalid host", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    select: 5\n", 4, "CSS selector or a list", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    remove: ['p:::x']\n", 4, "invalid CSS selector", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    max_bytes: 1.5\n", 4, "positive whole number", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    max_bytes: true\n", 4, "positive whole number", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    timeout: fast\n", 4, "positive number", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    timeout: .inf\n", 4, "positive number", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    shrink_limit: .nan\n", 4, "positive number", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    shrink_limit: 1\n", 4, "share below 1", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    name: [x]\n", 4, "name must be a non-empty string", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    name: ' '\n", 4, "name must be a non-empty string", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    headers: [a]\n", 4, "headers must be a mapping", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    headers:\n      X-A: \"a\\nb\"\n", 5, "line break", "a"),
        ("policies:\n  - id: a\n    url: https://a.example\n    headers:\n      Bad Name: x\n", 5, "not a valid HTTP header name", "a"),
        ("defaults:\n  headers:\n    'X:Y': x\npolicies: []\n", 3, "not a valid HTTP header name", None),
        ("policies:\n  a: 1\n", 1, "policies must be a list", None),
        ("policies:\n  - https://a.example\n", 2, "must be a mapping with id and url", None),
        ("defaults:\n  select: 'a[[['\npolicies: []\n", 2, "invalid CSS selector", None),
        ("policies:\n  - &x {id: a, url: 'https://a.example'}\n  - *x\n", 2, "duplicate id", "a"),
    ],
)
def test_wrong_types_and_unsafe_values_name_file_line_and_policy(text, line, message, policy):
    test_errors_name_file_line_and_policy(text, line, message, policy)


# Starter policies whose selectors were chosen on a real capture in ../shared/corpus/pages: the capture,
# the first clause the policy must start with, and text that only the site's chrome carries.
STARTER_CAPTURES = {
    "google-privacy": ("google-privacy-policy", "Google Privacy Policy", "Sign in"),
    "reddit-privacy": ("reddit-privacy-policy", "Reddit Privacy Policy", "Audience Breakdown"),
    "microsoft-privacy": ("microsoftstore-privacy-policy", "Your privacy is important to us.", "Expand All"),
    "apple-privacy": ("apple-privacy-policy", "Apple Privacy Policy", "Shopping Bag"),
    "tiktok-privacy-us": ("tiktok-terms-of-service", "If you are a user having your usual residence in the US", "Impressum"),
    "amazon-privacy": ("amazonalexa-terms-of-service", "Alexa Terms of Use", "Find more solutions"),
}


@pytest.mark.parametrize("policy_id", sorted(STARTER_CAPTURES))
def test_starter_selectors_catch_the_policy_on_real_captures(policy_id, corpus):
    from policywatch.normalize import normalize

    page, first_clause, chrome = STARTER_CAPTURES[policy_id]
    spec = {p.id: p for p in load_config(Path(__file__).resolve().parents[1] / "policies.yaml").policies}[policy_id]
    assert spec.select, "a starter policy checked on a capture should pin its selector"
    body = (corpus / "pages" / f"{page}.html").read_bytes()
    chrome_on_page = chrome.encode() in body  # the capture does carry the chrome the selector must leave out
    clauses = normalize(body, content_type="text/html", url=spec.url, select=spec.select, remove=spec.remove)
    texts = [clause.text for clause in clauses]
    assert texts[0].startswith(first_clause)
    assert len(clauses) > 100
    assert chrome_on_page and not any(chrome in text for text in texts)


def test_the_readme_example_is_a_valid_config_that_means_what_it_says():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Configuration: policies.yaml") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    example = section[start : section.index("```", start)]
    (policy,) = parse(example).policies
    assert (policy.id, policy.select, policy.remove) == ("x-privacy", ("main",), ("nav", "footer", ".cookie"))
    assert (policy.timeout, policy.max_bytes, policy.shrink_limit) == (20, 10485760, 0.5)
    assert dict(policy.headers) == {"User-Agent": "policywatch/0.1"}
