"""Split the configured policies across N runners: `check --shard K/N`.

A policy's shard comes from a hash of its id, never from its position in policies.yaml, so adding, removing
or reordering policies moves no other policy. The bucket is chosen with jump consistent hashing (Lamping &
Veach, 2014): going from N to N+1 runners moves only about 1/(N+1) of the policies, and each runner keeps its
snapshot folders. Every policy has its own store folder, so the stores of all shards merge by copying.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import click

from policywatch.config import Config

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_JUMP_MULTIPLIER = 2862933555777941757  # the 64-bit LCG of the jump-hash paper
_MASK64 = (1 << 64) - 1


def jump_hash(key: int, buckets: int) -> int:
    """The bucket (0 ≤ b < buckets) of a 64-bit key; only keys of the new bucket move when buckets grows."""
    bucket, candidate = -1, 0
    while candidate < buckets:
        bucket = candidate
        key = (key * _JUMP_MULTIPLIER + 1) & _MASK64
        candidate = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


def _id_key(policy_id: str) -> int:
    # A cryptographic digest, not hash(): the same on every machine, Python version and PYTHONHASHSEED.
    return int.from_bytes(hashlib.sha256(policy_id.encode("utf-8")).digest()[:8], "big")


@dataclass(frozen=True, slots=True)
class Shard:
    index: int  # 1-based, as users and CI matrices count
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SPEC.match(text)
        if not match:
            raise ValueError(f"{text!r} is not K/N (e.g. 2/4: the second of four shards)")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or not 1 <= index <= count:
            raise ValueError(f"{text!r}: K must be between 1 and N, and N at least 1")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, policy_id: str) -> bool:
        return jump_hash(_id_key(policy_id), self.count) == self.index - 1

    def restrict(self, config: Config, ids: Sequence[str] = ()) -> Config:
        """The config with only this shard's policies (of `ids`, when given; unknown ids are still an error)."""
        selected = config.select(list(ids))
        return dataclasses.replace(config, policies=tuple(spec for spec in selected if self.owns(spec.id)))


class ShardParam(click.ParamType):
    """`--shard K/N` on the command line."""

    name = "K/N"

    def convert(self, value, param, ctx) -> Shard:
        if isinstance(value, Shard):
            return value
        try:
            return Shard.parse(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)
