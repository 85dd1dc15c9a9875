"""`policywatch import-ota`: Open Terms Archive declarations (our own, in their format) as policies.yaml entries."""

import json

import yaml

from helpers import FIXTURES, run_cli
from policywatch.config import load_config
from test_cli_check import V1

DECLARATIONS = FIXTURES / "ota" / "declarations"


def _policies(yaml_text: str) -> dict:
    return {p["id"]: p for p in yaml.safe_load(yaml_text)["policies"]}


def test_a_folder_of_declarations_becomes_policies_and_the_gaps_are_reported(tmp_path):
    result = run_cli("import-ota", str(DECLARATIONS))
    assert result.returncode == 0, result.stderr
    policies = _policies(result.stdout)
    assert set(policies) == {
        "acme-cloud-privacy-policy",
        "chirper-privacy-policy",
        "chirper-terms-of-service-1",
        "chirper-terms-of-service-2",
        "chirper-community-guidelines",
    }
    assert policies["chirper-privacy-policy"] == {
        "id": "chirper-privacy-policy",
        "name": "Chirper Privacy Policy",
        "url": "https://chirper.example/en/privacy",
        "select": ["#policy-body"],
        "remove": [".cookie-banner"],
    }
    # A combine is one policy per page; the terms' shared select/remove apply unless a page has its own.
    assert policies["chirper-terms-of-service-1"]["select"] == ["main"]
    assert policies["chirper-terms-of-service-2"]["select"] == ["article"]
    assert policies["chirper-terms-of-service-2"]["remove"] == [".breadcrumb"]
    assert "select" not in policies["chirper-community-guidelines"]  # its only selector was a range
    assert policies["acme-cloud-privacy-policy"]["select"] == ["#content"]

    warnings = result.stderr
    assert "range selector" in warnings and "#share-links" in warnings
    assert "removeTrackingIds, removeQueryParams" in warnings and "executeClientScripts" in warnings
    assert "combines 2 pages" in warnings
    assert "dpa.pdf is a PDF" in warnings
    assert "main:has-text(x)" in warnings
    assert "history" not in warnings  # Chirper.history.json is not a declaration

    (tmp_path / "policies.yaml").write_text(result.stdout)
    assert run_cli("validate", "-c", str(tmp_path / "policies.yaml")).returncode == 0


def test_append_keeps_the_config_and_skips_ids_already_there(tmp_path):
    config = tmp_path / "policies.yaml"
    config.write_text("# mine\npolicies:\n  - id: chirper-privacy-policy  # watched by hand\n    url: https://chirper.example/privacy\n")
    result = run_cli("import-ota", str(DECLARATIONS / "Chirper.json"), "--append", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    text = config.read_text()
    assert text.startswith("# mine\npolicies:\n  - id: chirper-privacy-policy  # watched by hand\n")
    assert "# Chirper Community Guidelines (Open Terms Archive: Chirper.json)" in text
    ids = [p.id for p in load_config(config).policies]
    assert ids == ["chirper-privacy-policy", "chirper-terms-of-service-1", "chirper-terms-of-service-2", "chirper-community-guidelines"]
    assert "chirper-privacy-policy: already in" in result.stderr

    again = run_cli("import-ota", str(DECLARATIONS / "Chirper.json"), "--append", str(config))
    assert again.returncode == 0 and config.read_text() == text


def test_files_that_are_not_declarations_are_a_usage_error(tmp_path):
    result = run_cli("import-ota", str(FIXTURES / "ota" / "not-a-declaration.json"))
    assert result.returncode == 2 and "needs `name` and `terms`" in result.stderr
    (tmp_path / "broken.json").write_text("{")
    assert run_cli("import-ota", str(tmp_path / "broken.json")).returncode == 2
    assert run_cli("import-ota", str(tmp_path / "missing.json")).returncode == 2


def test_an_imported_declaration_is_checked_like_any_policy(tmp_path, server):
    declaration = {"name": "Acme", "terms": {"Privacy Policy": {"fetch": server.page("/privacy", V1), "select": "main"}}}
    (tmp_path / "Acme.json").write_text(json.dumps(declaration))
    (tmp_path / "policies.yaml").write_text("policies: []\n")
    assert run_cli("import-ota", str(tmp_path / "Acme.json"), "--append", str(tmp_path / "policies.yaml")).returncode == 0
    check = run_cli("check", "-c", str(tmp_path / "policies.yaml"), "--format", "json")
    assert check.returncode == 0, check.stderr
    (policy,) = json.loads(check.stdout)["policies"]
    assert (policy["id"], policy["status"]) == ("acme-privacy-policy", "new")
