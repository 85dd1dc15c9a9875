"""Hostile input through the whole check path (local server → fetch → normalize → diff → store): every page
yields clauses or a classified error, never an uncaught exception (which the core reports as `internal`).

The corpus test samples pages and mutations; POLICYWATCH_FUZZ_ALL=1 runs all 336 pages (minutes, not CI).
"""

import json
import os
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import run_cli, write_config
from policywatch.classify import Rulebook
from policywatch.config import Config, PolicySpec
from policywatch.core import ERROR, STATUSES, CheckOptions, run_check
from policywatch.maintenance import verify
from policywatch.store import Store

# Failure classes a page may legitimately end in; anything else (notably `internal`) is a bug.
CLASSIFIED = {"network", "blocked", "empty", "too-large", "not-a-policy", "suspicious"}
OPTIONS = CheckOptions(threshold=None, retries=0, workers=8, per_host=8)


@pytest.fixture(scope="module")
def rulebook():
    return Rulebook.load()


def assert_classified(report):
    for policy in report.policies:
        assert policy.status in STATUSES, policy
        if policy.failure is not None:
            assert policy.failure.kind in CLASSIFIED or policy.failure.kind.startswith("http-"), (policy.id, policy.failure)


TAGS = ["div", "p", "span", "h1", "h2", "h3", "ul", "ol", "li", "table", "tr", "td", "main", "article", "script", "style", "br", "a", "b"]
markup = st.recursive(
    st.text(max_size=40),
    lambda inner: st.builds(
        lambda tag, children, close: f"<{tag}>" + "".join(children) + (f"</{tag}>" if close else ""),
        st.sampled_from(TAGS),
        st.lists(inner, max_size=5),
        st.booleans(),
    ),
    max_leaves=40,
)
bodies = st.one_of(
    st.binary(max_size=3000),
    markup.map(lambda html: html.encode("utf-8", "surrogatepass")),
    st.builds(lambda depth, text: ("<div>" * depth + text + "</div>" * (depth // 2)).encode("utf-8", "surrogatepass"), st.integers(0, 5000), st.text(max_size=200)),
    st.builds(lambda text, junk: text.encode("utf-8", "surrogatepass") + junk, st.text(max_size=500), st.binary(max_size=500)),
)
content_types = st.sampled_from(
    ["text/html", "text/html; charset=utf-8", "text/html; charset=shift_jis", "text/plain", "text/markdown", "application/xhtml+xml", "application/json", "text/html; charset=no-such-charset", None]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies, content_type=content_types)
def test_random_bodies_yield_clauses_or_a_classified_error(server, rulebook, body, content_type):
    server.page("/random", body, content_type=content_type, etag=False)
    with tempfile.TemporaryDirectory() as root:
        store = Store(root)
        config = _config(Path(root), [PolicySpec(id="random", url=server.url("/random"), name="random")])
        report = run_check(config, store, rulebook, options=OPTIONS)
        assert_classified(report)
        (policy,) = report.policies
        assert (policy.status == "new") == bool(store.versions("random"))


def _config(root: Path, specs) -> Config:
    return Config(path=root / "policies.yaml", policies=tuple(specs))


# --- the real corpus and mutations of it -----------------------------------------------------------------


def truncate(body: bytes, rng: random.Random) -> bytes:
    return body[: rng.randrange(len(body) + 1)]


def flip_bytes(body: bytes, rng: random.Random) -> bytes:
    data = bytearray(body)
    for _ in range(max(1, len(data) // 200)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def nest(body: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(body) + 1)
    return body[:at] + b"<div><span><ul><li>" * 3000 + body[at:]


def binary_prefix(body: bytes, rng: random.Random) -> bytes:
    return rng.randbytes(2048) + body


MUTATIONS = {"truncated": truncate, "flipped": flip_bytes, "nested": nest, "junk-prefix": binary_prefix}
# A page served with a charset it is not in.
WRONG_CHARSETS = ["text/html; charset=utf-16", "text/html; charset=shift_jis", "text/html; charset=iso-8859-7"]


def corpus_sample(corpus: Path, rng: random.Random) -> list[Path]:
    pages = sorted(p for p in (corpus / "pages").iterdir() if p.suffix == ".html")
    if os.environ.get("POLICYWATCH_FUZZ_ALL"):
        return pages
    return rng.sample(pages, 12)


def test_corpus_pages_and_their_mutations_never_crash_the_check(corpus, server, rulebook, tmp_path):
    rng = random.Random(336)
    specs, mutated = [], {}
    for page in corpus_sample(corpus, rng):
        body = page.read_bytes()
        for name, mutate in MUTATIONS.items():
            policy_id = f"{page.stem[:60]}-{name}"
            server.page(f"/{policy_id}", body, content_type="text/html", etag=False)
            mutated[policy_id] = (mutate(body, rng), "text/html")
            specs.append(PolicySpec(id=policy_id, url=server.url(f"/{policy_id}"), name=policy_id))
        policy_id = f"{page.stem[:60]}-charset"
        server.page(f"/{policy_id}", body, etag=False)
        mutated[policy_id] = (body, rng.choice(WRONG_CHARSETS))
        specs.append(PolicySpec(id=policy_id, url=server.url(f"/{policy_id}"), name=policy_id))
    config, store = _config(tmp_path, specs), Store(tmp_path / "snapshots")

    # First the real pages (baselines), then the mutations, diffed against them.
    baseline = run_check(config, store, rulebook, options=OPTIONS)
    assert_classified(baseline)
    for policy_id, (body, content_type) in mutated.items():
        server.page(f"/{policy_id}", body, content_type=content_type, etag=False)
    report = run_check(config, store, rulebook, options=OPTIONS)
    assert_classified(report)
    assert verify(store).problems == []
    for name, run in (("real pages", baseline), ("mutations", report)):  # figures for `pytest -s`
        outcomes = [p.failure.kind if p.failure else p.status for p in run.policies]
        print(name, {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))})
    assert sum(1 for p in baseline.policies if p.status != ERROR) >= len(specs) * 0.7  # most real pages read


def test_hostile_pages_through_the_real_cli(tmp_path, server):
    pages = {
        "deep": b"<html><body>" + b"<div>" * 100_000 + b"<p>We collect your data.</p>",
        "unclosed": b"<html><body><main><p>We collect data<table><tr><td>name<td>email<li>phone<h2>Sharing<p>We share it",
        "comments": b"<html><!-- " + b"<p>hidden</p>" * 1000 + b"<body><p>Policy text</p>",
        "nul-bytes": b"<html><body><p>We\x00 collect\x00 your data\x00 and share it with partners.</p></body></html>",
        "entities": b"<p>" + b"&#x110000;&#0;&#xD800;&amp;&bogus;&#99999999999;" * 200 + b"</p>",
        "script-only": b"<html><body><script>" + b"var x = '<p>not text</p>';" * 500 + b"</script></body></html>",
    }
    policies = [{"id": name, "url": server.page(f"/{name}", body, etag=False)} for name, body in pages.items()]
    config = write_config(tmp_path / "policies.yaml", policies)
    result = run_cli("check", "-c", str(config), "-f", "json", "--retries", "0")
    assert result.returncode in (0, 1, 3), result.stderr
    for policy in json.loads(result.stdout)["policies"]:
        kind = (policy["error"] or {}).get("kind")
        assert kind is None or kind in CLASSIFIED, policy
    assert "Traceback" not in result.stderr
    assert run_cli("verify", "-c", str(config)).returncode == 0
