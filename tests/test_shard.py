"""`check --shard K/N`: a stable split of the policies by id, and stores that merge by copying."""

import json
import shutil
from pathlib import Path

import pytest

from helpers import run_cli, write_config
from policywatch.config import Config, ConfigError, PolicySpec
from policywatch.shard import Shard, jump_hash

IDS = [f"policy-{n}" for n in range(1000)]


def config_of(ids):
    return Config(path=Path("policies.yaml"), policies=tuple(PolicySpec(i, f"https://example.com/{i}", i) for i in ids))


def owned(shard, ids):
    return {spec.id for spec in shard.restrict(config_of(ids)).policies}


def split(ids, count):
    return [owned(Shard(k, count), ids) for k in range(1, count + 1)]


@pytest.mark.parametrize("text, expected", [("1/1", Shard(1, 1)), ("2/4", Shard(2, 4)), (" 3 / 3 ", Shard(3, 3))])
def test_parse(text, expected):
    assert Shard.parse(text) == expected


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "2", "a/b", "-1/2", "1/2/3", ""])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        Shard.parse(text)


@pytest.mark.parametrize("count", [1, 2, 3, 7, 20])
def test_every_policy_in_exactly_one_shard_and_shards_balanced(count):
    parts = split(IDS, count)
    assert sum(len(part) for part in parts) == len(IDS)
    assert set().union(*parts) == set(IDS)
    mean = len(IDS) / count
    assert all(abs(len(part) - mean) <= 0.25 * mean for part in parts), [len(part) for part in parts]


def test_assignment_is_fixed_across_machines_and_releases():
    # Changing the hash would reshuffle every user's shards and orphan their runners' stores.
    assert [Shard(k, 4).owns("x-privacy") for k in range(1, 5)] == [True, False, False, False]
    assert [k for k in range(1, 8) if Shard(k, 7).owns("zoom-terms")] == [3]
    assert [k for k in range(1, 8) if Shard(k, 7).owns("policy-0")] == [4]


@pytest.mark.parametrize("key, buckets, bucket", [(1, 1, 0), (42, 57, 43), (0xDEAD10CC, 1, 0), (0xDEAD10CC, 666, 361), (256, 1024, 520)])
def test_jump_hash_matches_the_reference_implementation(key, buckets, bucket):
    assert jump_hash(key, buckets) == bucket


def test_adding_or_reordering_policies_moves_no_other_policy():
    before = split(IDS, 4)
    grown = ["brand-new-policy", *reversed(IDS), "another-one"]
    after = split(grown, 4)
    assert [part - {"brand-new-policy", "another-one"} for part in after] == before


def test_one_more_runner_only_takes_policies_for_itself():
    before, after = split(IDS, 5), split(IDS, 6)
    for old_part, new_part in zip(before, after):
        assert new_part <= old_part  # nothing moves between the old shards
    moved = after[5]
    assert 0.10 * len(IDS) < len(moved) < 0.25 * len(IDS)  # about 1/6 moves, not most of them


def test_restrict_keeps_config_order_and_honours_ids():
    config = config_of(IDS)
    shard = Shard(2, 3)
    ordered = [spec.id for spec in shard.restrict(config).policies]
    assert ordered == [i for i in IDS if shard.owns(i)]
    outside = next(i for i in IDS if not shard.owns(i))
    inside = next(i for i in IDS if shard.owns(i))
    assert [spec.id for spec in shard.restrict(config, [outside, inside]).policies] == [inside]
    assert shard.restrict(config, [outside]).policies == ()
    with pytest.raises(ConfigError, match="unknown policy id"):
        shard.restrict(config, ["no-such-policy"])


PAGE = "<html><body><main><h1>{name} privacy</h1><p>We collect your email address to run {name}.</p></main></body></html>"


def test_shard_runners_stores_merge_into_one_store(tmp_path, server):
    ids = [f"site-{n}" for n in range(8)]
    urls = {i: server.page(f"/{i}", PAGE.format(name=i)) for i in ids}
    config = write_config(tmp_path / "policies.yaml", [{"id": i, "url": urls[i], "select": "main"} for i in ids])
    stores = []
    for k in (1, 2):
        store = tmp_path / f"runner-{k}"
        result = run_cli("check", "-c", str(config), "--store", str(store), "--shard", f"{k}/2", "-f", "json")
        assert result.returncode == 0, result.stderr
        checked = [policy["id"] for policy in json.loads(result.stdout)["policies"]]
        assert checked == [i for i in ids if Shard(k, 2).owns(i)]
        assert f"shard {k}/2: {len(checked)} of 8 policies" in result.stderr
        assert sorted(p.name for p in store.iterdir() if p.is_dir()) == sorted(checked)
        stores.append(store)

    merged = tmp_path / "merged"
    for store in stores:
        shutil.copytree(store, merged, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".lock"))
    result = run_cli("check", "-c", str(config), "--store", str(merged), "-f", "json")
    assert result.returncode == 0, result.stderr
    statuses = {policy["id"]: policy["status"] for policy in json.loads(result.stdout)["policies"]}
    assert statuses == {i: "unchanged" for i in ids}


def test_bad_shard_is_a_usage_error(tmp_path, server):
    config = write_config(tmp_path / "policies.yaml", [{"id": "one", "url": server.page("/one", PAGE.format(name="one"))}])
    result = run_cli("check", "-c", str(config), "--shard", "3/2")
    assert result.returncode == 2
    assert "--shard" in result.stderr and "3/2" in result.stderr
    assert not (tmp_path / "snapshots").exists()
