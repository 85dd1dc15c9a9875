import json

from helpers import REPO, run_cli

CATEGORY_IDS = {
    "ai-training", "content-license", "biometric", "health", "precise-location", "voice-audio",
    "employment-education", "data-sale", "ad-sharing", "retention", "children", "arbitration",
    "government-access", "cross-border", "unilateral-change", "consent-by-use",
}


def test_rules_list_shows_every_category_id():
    data = json.loads(run_cli("rules", "list", "-f", "json").stdout)
    assert {c["id"] for c in data["categories"]} == CATEGORY_IDS
    assert all(c["severity"] in {"low", "medium", "high"} and c["explanation"] for c in data["categories"])
    assert "ai-training" in run_cli("rules", "list").stdout


def test_rules_list_applies_severity_overrides_from_config(tmp_path):
    config = tmp_path / "policies.yaml"
    config.write_text("policies: []\nrules:\n  severity:\n    cross-border: high\n")
    data = json.loads(run_cli("rules", "list", "-c", str(config), "-f", "json").stdout)
    assert {c["id"]: c["severity"] for c in data["categories"]}["cross-border"] == "high"


def test_rules_test_explains_literal_text():
    result = run_cli("rules", "test", "We may use your content to train our artificial intelligence models.")
    assert result.returncode == 0
    assert "ai-training" in result.stdout and "rule" in result.stdout
    protective = json.loads(run_cli("rules", "test", "We do not sell your personal information.", "-f", "json").stdout)
    assert [(f["category"], f["polarity"]) for c in protective["clauses"] for f in c["findings"]] == [("data-sale", "protection")]
    # A whole paragraph is text too, though no file could have so long a name.
    paragraph = " ".join(["We may share your precise location with our advertising partners."] * 10)
    long_text = run_cli("rules", "test", paragraph, "-f", "json")
    assert long_text.returncode == 0, long_text.stderr
    assert {f["category"] for c in json.loads(long_text.stdout)["clauses"] for f in c["findings"]} >= {"precise-location", "ad-sharing"}


def test_rules_test_reads_a_file(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<main><p>We collect face geometry from photos you upload to verify your identity.</p></main>")
    assert "biometric" in run_cli("rules", "test", str(page)).stdout


def test_rules_eval_prints_the_table():
    result = run_cli("rules", "eval", str(REPO / "tests" / "data" / "labelled_clauses.yaml"))
    assert result.returncode == 0, result.stderr
    assert "| Category |" in result.stdout and "`biometric`" in result.stdout


def test_rules_eval_verbose_lists_every_misread_sentence():
    result = run_cli("rules", "eval", str(REPO / "tests" / "data" / "heldout_clauses.yaml"), "-v")
    assert result.returncode == 0, result.stderr
    misses = [line for line in result.stdout.splitlines() if line.startswith("- ")]
    assert misses and len(misses) == result.stdout.count("  risk expected "), result.stdout
    assert "protection expected" in result.stdout


def test_bad_user_rule_is_a_config_error_with_line(tmp_path):
    config = tmp_path / "policies.yaml"
    config.write_text("policies: []\nrules:\n  severity:\n    not-a-category: high\n")
    result = run_cli("rules", "list", "-c", str(config))
    assert result.returncode == 2 and str(config) in result.stderr
