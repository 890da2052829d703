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
        assert during["st-http"] == before["st-http"] + 1
    assert os_thread_names()["st-writer"] == before["st-writer"]  # the writer ends with the collector
