"""A real embedded collector holding a store seeded by the real OpenTelemetry SDK (see seeding.py)."""

from __future__ import annotations

import contextlib

import pytest

from smoltrace.collector import Collector

from .seeding import SEEDED_SPANS, TEST_VIEW_SQL, TOKEN, send_spans


@contextlib.contextmanager
def seeded(db_path, token=None):
    """A running embedded collector on ``db_path``, seeded with SEEDED_SPANS and the test view."""
    with Collector.embedded(db_path=db_path, token=token) as collector:
        send_spans(collector, SEEDED_SPANS, token=token)
        collector.writer.run_exclusive(lambda conn: conn.execute(TEST_VIEW_SQL))
        yield collector


@pytest.fixture(scope="module")
def shared_collector(tmp_path_factory):
    """One seeded collector (no token) for a module's tests that only read (they check it stays so)."""
    with seeded(tmp_path_factory.mktemp("shared") / "s.duckdb") as collector:
        yield collector


@pytest.fixture
def seeded_collector(tmp_path):
    """A seeded collector of the test's own, on tmp_path/'s.duckdb', for tests that write to it."""
    with seeded(tmp_path / "s.duckdb") as collector:
        yield collector


@pytest.fixture(scope="module")
def token_collector(tmp_path_factory):
    """A seeded collector that requires TOKEN."""
    with seeded(tmp_path_factory.mktemp("token") / "t.duckdb", token=TOKEN) as collector:
        yield collector
