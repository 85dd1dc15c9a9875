"""Shared fixtures (the helpers behind them live in helpers.py)."""

from pathlib import Path

import pytest

from helpers import CORPUS, PolicyServer


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
