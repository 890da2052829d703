"""The collector names its threads for the OS, so `top -H` and bench/collector_ingest.py can tell them apart."""

import collections
import sys
from pathlib import Path

import pytest

from smoltrace.collector import Collector

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="OS thread names are read from /proc")


def os_thread_names() -> collections.Counter:
    return collections.Counter((task / "comm").read_text().strip() for task in Path("/proc/self/task").iterdir())


def test_writer_and_http_threads_carry_os_names(tmp_path):
    before = os_thread_names()  # other tests' collectors may still be winding down: compare counts
    with Collector.embedded(db_path=tmp_path / "store.duckdb"):
        during = os_thread_names()
        assert during["st-writer"] == before["st-writer"] + 1
        assert during["st-request-log"] == before["st-request-log"] + 1
        assert during["st-log-delete"] == before["st-log-delete"] + 1
        assert during["st-http"] == before["st-http"] + 1
    after = os_thread_names()
    for name in ("st-writer", "st-request-log", "st-log-delete"):  # they end with the collector
        assert after[name] == before[name]
