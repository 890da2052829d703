import threading

import pytest

from smoltrace.collector import Collector


@pytest.fixture
def collector(store_path):
    """A real collector on ephemeral loopback ports, writing a real DuckDB file."""
    with Collector.embedded(db_path=store_path) as running:
        yield running


def query_rows(collector, sql, params=None):
    """Query the store the collector holds; rows as dicts of DuckDB's own Python values (these tests
    check what is stored, byte for byte, not what the readers make of it)."""
    with collector.writer.cursor() as cursor:
        result = cursor.execute(sql, params or [])
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


@pytest.fixture
def rows():
    return query_rows


def _hold_writer(collector):
    """Keep the DuckDB stage busy (as a long commit or checkpoint would) until the returned event is set."""
    release, holding = threading.Event(), threading.Event()

    def wait(_connection):
        holding.set()
        release.wait(10)

    threading.Thread(target=collector.writer.run_exclusive, args=(wait,), daemon=True).start()
    assert holding.wait(5)
    return release


@pytest.fixture
def hold_writer():
    """``hold_writer(collector)`` -> an event; the collector's writer is held until it is set."""
    return _hold_writer
