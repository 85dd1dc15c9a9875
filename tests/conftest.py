"""Shared fixtures (the helpers behind them live in helpers.py)."""

import os
from pathlib import Path

import pytest

from helpers import CORPUS, PolicyServer

# The tests' servers are on loopback: a developer's http_proxy must not route them (subprocesses inherit this).
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = ",".join(filter(None, [os.environ.get(_name), "127.0.0.0/8", "localhost"]))


@pytest.fixture
def server():
    instance = PolicyServer()
    yield instance
    instance.close()


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present (a fresh clone has none)")
    return CORPUS
