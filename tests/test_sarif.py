"""`--format sarif` and the --FORMAT-output files: valid SARIF 2.1.0 pointing at lines of the stored text."""

import json
import os
import pty
import subprocess
import sys

from helpers import run_cli, write_config
from test_cli_check import V1, V2, run_in_process

CATEGORIES = {
    "ai-training", "content-license", "biometric", "health", "precise-location", "voice-audio", "employment-education",
    "data-sale", "ad-sharing", "retention", "children", "arbitration", "government-access", "cross-border",
    "unilateral-change", "consent-by-use",
}
# V2, and the promise not to sell data taken out: a lost protection, found in the previous version.
V3 = V2.replace("<p>We do not sell your personal information.</p>", "")


def _valid_sarif(text: str) -> dict:
    sarif = json.loads(text)
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "policywatch"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert CATEGORIES <= set(rule_ids) and len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        assert isinstance(result["locations"], list)
    return run


def _evidence_in(result: dict, line: str) -> bool:
    """Evidence of several pieces is joined with " … "; each piece is in the clause."""
    return all(piece.lower() in line.lower() for piece in result["properties"]["evidence"].split(" … "))


def _line(root, location) -> tuple[str, str]:
    physical = location["physicalLocation"]
    uri = physical["artifactLocation"]["uri"]
    lines = (root / uri).read_text(encoding="utf-8").split("\n")
    return uri, lines[physical["region"]["startLine"] - 1]


def test_check_writes_every_format_at_once_and_sarif_points_at_stored_lines(tmp_path, server):
    url = server.page("/privacy", V1)
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main"}])
    assert run_in_process("check", "-c", str(config)).returncode == 0

    server.page("/privacy", V2)
    outputs = {name: tmp_path / "out" / f"report.{name}" for name in ("json", "markdown", "sarif")}
    result = run_cli(
        "check", "-c", str(config), "--format", "github",
        "--json-output", str(outputs["json"]), "--markdown-output", str(outputs["markdown"]), "--sarif-output", str(outputs["sarif"]),
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("::")  # --format still goes to stdout
    report = json.loads(outputs["json"].read_text())
    assert "## " in outputs["markdown"].read_text() and "biometric" in outputs["markdown"].read_text()
    run = _valid_sarif(outputs["sarif"].read_text())

    failing = [(c, f) for c in report["policies"][0]["changes"] for f in c["findings"] if f["event"] != "added-protection"]
    assert len(run["results"]) == len(failing) >= 2
    for result in run["results"]:
        (location,) = result["locations"]
        uri, line = _line(tmp_path, location)
        assert uri == "snapshots/acme/latest.md"  # relative to the store's parent: the repository root
        assert _evidence_in(result, line)
    assert {r["ruleId"] for r in run["results"]} >= {"biometric", "ai-training"}
    high = next(r for r in run["results"] if r["ruleId"] == "biometric")
    assert high["level"] == "error" and high["partialFingerprints"]

    previous = report["policies"][0]["version"]
    server.page("/privacy", V3)
    lost = run_cli("check", "-c", str(config), "--format", "sarif", "--fail-on", "none")
    assert lost.returncode == 0, lost.stderr
    (result,) = [r for r in _valid_sarif(lost.stdout)["results"] if r["properties"]["event"] == "lost-protection"]
    uri, line = _line(tmp_path, result["locations"][0])
    assert uri == f"snapshots/acme/versions/{previous}/text.md"
    assert line == "We do not sell your personal information."


def test_sarif_without_update_and_for_policy_errors(tmp_path, server):
    url = server.page("/privacy", V1)
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main"}])
    assert run_in_process("check", "-c", str(config)).returncode == 0
    server.page("/privacy", V2)
    result = run_cli("check", "-c", str(config), "--no-update", "--format", "sarif")
    assert result.returncode == 1
    results = _valid_sarif(result.stdout)["results"]
    # The new clauses are stored nowhere yet: the results name the policy's file, without a line.
    assert results and all(
        r["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "snapshots/acme/latest.md"}} for r in results
    )

    server.page("/privacy", "broken", status=500)
    failed = run_cli("check", "-c", str(config), "--format", "sarif")
    assert failed.returncode == 3
    (invocation,) = _valid_sarif(failed.stdout)["invocations"]
    assert invocation["executionSuccessful"] is False
    assert "acme: http-500" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_compare_sarif_locates_clauses_in_stored_text_files_only(tmp_path, server):
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    old.write_text("# Privacy\n\nWe collect your email address.\n")
    new.write_text("# Privacy\n\nWe collect your email address.\n\nWe collect your fingerprints and face geometry.\n")
    local = run_cli("compare", str(old), str(new), "--format", "sarif")
    assert local.returncode == 1, local.stderr
    results = _valid_sarif(local.stdout)["results"]
    assert any(r["ruleId"] == "biometric" for r in results)
    for result in results:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["region"]["startLine"] == 5
        assert physical["artifactLocation"]["uri"].endswith("new.md")

    remote = run_cli("compare", server.page("/v1", V1), server.page("/v2", V2), "--format", "sarif")
    assert remote.returncode == 1
    assert all(r["locations"] == [] for r in _valid_sarif(remote.stdout)["results"])


def test_diff_of_older_versions_points_at_their_own_text_and_github_format_works_there(tmp_path, server):
    url = server.page("/privacy", V1)
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": url, "select": "main"}])
    for page in (V1, V2, V3):
        server.page("/privacy", page)
        assert run_in_process("check", "-c", str(config), "--fail-on", "none").returncode == 0
    versions = sorted(p.name for p in (tmp_path / "snapshots" / "acme" / "versions").iterdir())
    result = run_cli("diff", "acme", "-c", str(config), "--from", "1", "--to", "2", "--format", "sarif", "--fail-on", "none")
    assert result.returncode == 0, result.stderr
    results = _valid_sarif(result.stdout)["results"]
    assert {r["ruleId"] for r in results} >= {"biometric", "ai-training"}
    for result in results:  # version 2 is no longer the newest: latest.md would hold other lines
        uri, line = _line(tmp_path, result["locations"][0])
        assert uri == f"snapshots/acme/versions/{versions[1]}/text.md"
        assert _evidence_in(result, line)
    github = run_cli("diff", "acme", "-c", str(config), "--from", "1", "--to", "2", "--format", "github")
    assert github.returncode == 1 and "::error title=acme%3A new-risk biometric (high)::" in github.stdout


def test_output_writes_any_format_to_a_file_and_nothing_to_stdout(tmp_path):
    """html and github here; text in the terminal test below, json, markdown and sarif in the one-run test above."""
    (tmp_path / "old.html").write_text(V1)
    (tmp_path / "new.html").write_text(V2)
    signatures = {
        "html": lambda text: text.startswith("<!DOCTYPE html>"),
        "github": lambda text: text.startswith("::error title="),
    }
    for fmt, looks_right in signatures.items():
        out = tmp_path / "reports" / f"report.{fmt}"
        result = run_cli("compare", str(tmp_path / "old.html"), str(tmp_path / "new.html"), "-f", fmt, "-o", str(out))
        assert result.returncode == 1 and result.stdout == "", (fmt, result.stderr)
        assert looks_right(out.read_text(encoding="utf-8")), fmt


def test_a_report_file_written_from_a_terminal_has_no_colour_codes(tmp_path):
    (tmp_path / "old.html").write_text(V1)
    (tmp_path / "new.html").write_text(V2)
    out = tmp_path / "report.txt"
    controller, terminal = pty.openpty()  # stdout is a real terminal, where colour is on
    try:
        command = [sys.executable, "-m", "policywatch", "compare", str(tmp_path / "old.html"), str(tmp_path / "new.html")]
        environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        on_screen = subprocess.run(command, stdout=terminal, stderr=subprocess.DEVNULL, env=environment, timeout=120)
        assert on_screen.returncode == 1 and b"\x1b[" in os.read(controller, 1 << 20)
        to_file = subprocess.run([*command, "-o", str(out)], stdout=terminal, stderr=subprocess.DEVNULL, env=environment, timeout=120)
    finally:
        os.close(terminal)
        os.close(controller)
    assert to_file.returncode == 1 and "biometric" in out.read_text() and "\x1b[" not in out.read_text()


def test_sarif_rules_describe_the_runs_own_categories_and_severities(tmp_path):
    import yaml

    rules = {
        "severity": {"cross-border": "high"},
        "categories": [
            {"id": "pay-to-opt-out", "name": "Privacy costs extra", "severity": "medium",
             "explanation": "Opting out of tracking requires a paid subscription.",
             "patterns": ["(?:subscri\\w+|pay\\w*){gap}(?:ad-free|without (?:ads|tracking))"]},
        ],
    }
    config = write_config(tmp_path / "policies.yaml", [{"id": "acme", "url": "http://127.0.0.1:9/p"}], yaml.safe_dump({"rules": rules}))
    body = "# Plans\n\nWe offer a free plan with advertising and a family plan for up to five members of one household.\n"
    (tmp_path / "old.md").write_text(body)
    (tmp_path / "new.md").write_text(body + "\nSubscribe to our ad-free plan to use the service without tracking.\n")
    result = run_cli("compare", str(tmp_path / "old.md"), str(tmp_path / "new.md"), "-c", str(config), "-f", "sarif")
    assert result.returncode == 0, result.stderr  # a medium finding does not fail at the default threshold
    (run,) = json.loads(result.stdout)["runs"]
    described = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert described["pay-to-opt-out"]["name"] == "Privacy costs extra"
    assert described["pay-to-opt-out"]["fullDescription"]["text"] == "Opting out of tracking requires a paid subscription."
    assert described["cross-border"]["defaultConfiguration"]["level"] == "error"  # the config's override
    assert [result["ruleId"] for result in run["results"]] == ["pay-to-opt-out"]
