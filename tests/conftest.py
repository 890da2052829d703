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


@pytest.fixture
def home(tmp_path):
    """A private HF_HOME (token file, caches) for Hub tests."""
    return str(tmp_path / "hf_home")


@pytest.fixture
def hub(monkeypatch, home, hub_tokens):
    """The loopback fake Hub (tests/fakehub), with huggingface_hub in this process pointed at it.
    Each test package defines ``hub_tokens``: {token: user}."""
    from tests.fakehub import FakeHub

    with FakeHub(tokens=hub_tokens) as running:
        running.patch_inprocess(monkeypatch, home)
        yield running
