import pytest

from smoltrace.collector import Collector


@pytest.fixture
def collector(store_path):
    """A real collector on ephemeral loopback ports, writing a real DuckDB file."""
    with Collector.embedded(db_path=store_path) as running:
        yield running


def query_rows(collector, sql, params=None):
    """Query the store the collector holds; rows as dicts."""
    cursor = collector.reader()
    try:
        result = cursor.execute(sql, params or [])
        names = [d[0] for d in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]
    finally:
        cursor.close()


@pytest.fixture
def rows():
    return query_rows
