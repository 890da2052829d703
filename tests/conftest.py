"""Shared fixtures: every test runs offline, with its own store file and caches."""

import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GENAI_SKIP_COLLECTOR_CHECK", "true")


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "store.duckdb"
