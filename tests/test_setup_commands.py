"""`policywatch init`, `add` and `validate`, as real subprocesses against a real local server."""

from pathlib import Path

import pytest

from helpers import run_cli
from policywatch.config import load_config
from policywatch.starter import NewPolicy, slug_from_url, with_policies
from test_cli_check import V1

HAND_WRITTEN = """\
# Our watch list. Keep the comments!
defaults:
  remove: [nav]   # menus

policies:
  # The first one we watched.
  - id: first
    url: https://example.org/privacy
    select: [main, "#content"]   # checked by hand
  # a comment between the policies and the rules

rules: {}
ignore: []
"""


def test_init_writes_a_starter_that_validates_and_never_overwrites(tmp_path):
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    starter = (tmp_path / "policies.yaml").read_text()
    assert starter.startswith("#") and "notify:" in starter
    validate = run_cli("validate", cwd=tmp_path)
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.strip() == "policies.yaml: OK (2 policies, 0 notify URL(s))"

    (tmp_path / "policies.yaml").write_text("policies: []\n")
    again = run_cli("init", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    assert (tmp_path / "policies.yaml").read_text() == "policies: []\n"
    assert run_cli("init", "--force", cwd=tmp_path).returncode == 0
    assert (tmp_path / "policies.yaml").read_text() == starter


def test_add_previews_then_appends_keeping_comments(tmp_path, server):
    config = tmp_path / "policies.yaml"
    config.write_text(HAND_WRITTEN)
    url = server.page("/legal/privacy", V1)

    dry = run_cli("add", url, "-c", str(config), "--select", "main", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert config.read_text() == HAND_WRITTEN
    assert dry.stdout.startswith("127-0-0-1-privacy: ")
    assert "[Acme Privacy Policy › Information we collect] We collect information you give us" in dry.stdout
    assert "cookie" not in dry.stdout.lower()  # the preview is what `check` will see: no banner

    added = run_cli("add", url, "-c", str(config), "--id", "acme", "--name", "Acme: privacy", "--select", "main", "--preview", "2")
    assert added.returncode == 0, added.stderr
    assert len([line for line in added.stdout.splitlines() if line.startswith("  [")]) == 2
    text = config.read_text()
    assert text.startswith(HAND_WRITTEN.split("  # a comment between")[0])  # everything before is untouched
    assert "# checked by hand" in text and "# a comment between the policies and the rules" in text
    policies = load_config(config).policies
    assert [p.id for p in policies] == ["first", "acme"]
    assert policies[1].name == "Acme: privacy" and policies[1].select == ("main",) and policies[1].remove == ("nav",)
    assert text.index("id: acme") < text.index("rules: {}")

    duplicate = run_cli("add", url, "-c", str(config), "--id", "acme")
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    assert run_cli("check", "-c", str(config), "acme").returncode == 0


def test_add_refuses_a_page_it_cannot_read_and_writes_nothing(tmp_path, server):
    config = tmp_path / "policies.yaml"
    config.write_text(HAND_WRITTEN)
    missing = run_cli("add", server.url("/nowhere"), "-c", str(config))
    assert missing.returncode == 3 and "404" in missing.stderr
    assert f"{server.url('/nowhere')}: HTTP 404" in missing.stderr and "policies.yaml was not changed" in missing.stderr
    refused = run_cli("add", "http://127.0.0.1:9/privacy", "-c", str(config))  # nothing listens on the discard port
    assert refused.returncode == 3 and "http://127.0.0.1:9/privacy: cannot connect" in refused.stderr
    assert "next run" not in refused.stderr  # `add` does not retry later, whatever `check` does
    nothing = run_cli("add", server.page("/p", V1), "-c", str(config), "--select", "#no-such-element")
    assert nothing.returncode == 3 and "--select" in nothing.stderr
    bad_selector = run_cli("add", server.page("/p", V1), "-c", str(config), "--select", "main[[")
    assert bad_selector.returncode == 2 and "invalid CSS selector" in bad_selector.stderr
    assert config.read_text() == HAND_WRITTEN


def test_validate_names_the_file_and_line(tmp_path):
    config = tmp_path / "policies.yaml"
    config.write_text(HAND_WRITTEN.replace("    url: https://example.org/privacy\n", "    url: ftp://example.org/privacy\n"))
    result = run_cli("validate", "-c", str(config))
    assert result.returncode == 2
    assert f"{config}:8" in result.stderr and "ftp://" in result.stderr
    config.write_text(HAND_WRITTEN.replace("rules: {}", "rules:\n  severity: {biometric: catastrophic}"))
    rules = run_cli("validate", "-c", str(config))
    assert rules.returncode == 2 and f"{config}:13" in rules.stderr and "catastrophic" in rules.stderr
    assert run_cli("validate", "-c", str(tmp_path / "missing.yaml")).returncode == 2


@pytest.mark.parametrize(
    "url,slug",
    [
        ("https://x.com/en/privacy", "x-privacy"),
        ("https://www.bbc.co.uk/usingthebbc/privacy/privacy-policy/", "bbc-privacy-policy"),
        ("https://policies.google.com/privacy?hl=en", "google-privacy"),
        ("https://www.example.com/", "example"),
        ("https://www.zoom.com/en/trust/terms.html", "zoom-terms"),
        ("http://127.0.0.1:8080/legal/Privacy_Policy", "127-0-0-1-privacy-policy"),
    ],
)
def test_ids_derived_from_urls_are_safe_and_readable(url, slug):
    assert slug_from_url(url) == slug


ENTRY = [NewPolicy("new", "https://example.org/new", "New", ("main",))]


@pytest.mark.parametrize(
    "text",
    [
        "policies:\n- id: a\n  url: https://example.org/a\nrules: {}\n",  # list items at the key's indentation
        "policies: []\n",
        "policies:\n",
        "# only a comment\n",
        "",
        "policies:\n  - id: a\n    url: |\n      https://example.org/a\n\nignore: []\n",  # a block scalar ends the last item
        "defaults: {timeout: 5}\npolicies:\n  - {id: a, url: 'https://example.org/a'}",  # flow items, no final newline
    ],
)
def test_entries_are_inserted_into_any_layout_of_the_policies_list(text):
    new_text, config = with_policies(text, Path("policies.yaml"), ENTRY)
    assert config.policies[-1].id == "new" and config.policies[-1].select == ("main",)
    assert new_text.startswith(text.rstrip("\n").split("policies:")[0])
