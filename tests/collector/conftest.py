import pytest

from smoltrace.collector import Collector
from smoltrace.store.reader import ConnectionReader


@pytest.fixture
def collector(store_path):
    """A real collector on ephemeral loopback ports, writing a real DuckDB file."""
    with Collector.embedded(db_path=store_path) as running:
        yield running


def query_rows(collector, sql, params=None):
    """Query the store the collector holds; rows as dicts."""
    return ConnectionReader(collector.writer).query(sql, params)


@pytest.fixture
def rows():
    return query_rows
