"""The store stage commits whole row groups when it can.

A transaction that appends at least a row group is compressed and written to the file by DuckDB at
commit; a smaller one is copied into the table and compressed again at the next CHECKPOINT. So the
writer commits a backlog as whole row groups (a request's rows may span two commits), commits the rest
when a reader waits for it or after PARTIAL_ROW_GROUP_WAIT_S (the next spans first fill the row group
that this leaves open, in a commit of their own), and checkpoints when the spans since the
last checkpoint fill whole row groups, recording the requests it stores in part so that a restart
stores only the rest of them.
"""

import shutil
import threading
import time

import duckdb
import pytest
from otlp_requests import trace_request
from store_layout import ROW_GROUP_ROWS_SQL

from smoltrace.collector import writer as writer_module
from smoltrace.collector.decode import decode
from smoltrace.collector.request_log import request_digest
from smoltrace.collector.writer import StoreWriter
from smoltrace.store.database import ROW_GROUP_SIZE, request_log_segments

SPAN_COUNTS_SQL = 'SELECT count(*), count(DISTINCT "SpanId") FROM otel_traces'


def submit(writer, n_spans):
    """Queue one request of n_spans spans, as a receiver does; the future resolves once it is logged."""
    body = trace_request(n_spans=n_spans).SerializeToString()
    return writer.submit(decode("traces", body), request_digest("traces", body), body)


def hold(writer):
    """Keep the store stage busy until the returned event is set, so that a backlog builds up."""
    release, holding = threading.Event(), threading.Event()
    threading.Thread(
        target=writer.run_exclusive, args=(lambda _connection: (holding.set(), release.wait(10)),), daemon=True
    ).start()
    assert holding.wait(5)
    return release


def wait_for(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def counts(db_path):
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return conn.execute(SPAN_COUNTS_SQL).fetchone(), [n for (n,) in conn.execute(ROW_GROUP_ROWS_SQL).fetchall()]


@pytest.fixture
def writer(store_path):
    running = StoreWriter(store_path, max_pending_items=100_000)
    running.start()
    yield running
    running.stop()


def test_a_backlog_is_committed_as_whole_row_groups_and_the_rest_when_read(writer, store_path, monkeypatch):
    monkeypatch.setattr(writer_module, "PARTIAL_ROW_GROUP_WAIT_S", 60.0)
    assert ROW_GROUP_SIZE == 8192
    release = hold(writer)
    for future in [submit(writer, 6000) for _ in range(3)]:  # 18,000 spans
        future.result(5)  # acknowledged once logged
    release.set()

    wait_for(lambda: writer.stats.commits == 1)
    time.sleep(0.3)
    # Two row groups (16,384 rows) are committed: the first two requests whole, 4,384 rows of the third;
    # its last 1,616 rows wait for more.
    assert (writer.stats.commits, writer.stats.requests, writer.stats.items) == (1, 2, 12000)
    assert writer.pending_items == 6000

    started = time.monotonic()
    with writer.cursor(wait_s=30) as cursor:  # a reader does not wait out PARTIAL_ROW_GROUP_WAIT_S
        assert cursor.execute(SPAN_COUNTS_SQL).fetchone() == (18000, 18000)
    assert time.monotonic() - started < 10
    assert (writer.stats.commits, writer.stats.requests, writer.stats.items) == (2, 3, 18000)

    writer.stop()
    assert counts(store_path) == ((18000, 18000), [8192, 8192, 1616])


def test_whole_row_groups_after_a_part_full_one_start_where_it_ends(writer, store_path, monkeypatch):
    """Spans committed short of a row group (a reader waited for them) leave it open. The next backlog
    first fills it, in a commit of its own, then commits whole row groups (DuckDB writes those to the
    file at commit). Else the part-full row group would stay before the written ones, and the next
    checkpoint would read them back to merge them: ~100 MB more memory with LLM spans."""
    monkeypatch.setattr(writer_module, "PARTIAL_ROW_GROUP_WAIT_S", 60.0)
    submit(writer, 3000).result(5)
    with writer.cursor(wait_s=30) as cursor:
        assert cursor.execute(SPAN_COUNTS_SQL).fetchone() == (3000, 3000)
    assert writer.stats.commits == 1

    for future in [submit(writer, 7000) for _ in range(2)]:  # 14,000 spans
        future.result(5)
    # 5,192 spans fill the open row group, then one whole row group; the last 616 spans of the second
    # request wait for more (the request is pending until all its rows are committed).
    wait_for(lambda: writer.stats.commits == 3)
    time.sleep(0.3)
    assert (writer.stats.commits, writer.stats.items, writer.pending_items) == (3, 10000, 7000)

    with writer.cursor(wait_s=30) as cursor:
        assert [n for (n,) in cursor.execute(ROW_GROUP_ROWS_SQL).fetchall()] == [8192, 8192, 616]
    writer.stop()
    assert counts(store_path) == ((17000, 17000), [8192, 8192, 616])


def test_rows_short_of_a_row_group_are_committed_after_the_wait(writer, monkeypatch):
    monkeypatch.setattr(writer_module, "PARTIAL_ROW_GROUP_WAIT_S", 0.3)
    started = time.monotonic()
    submit(writer, 10).result(5)
    wait_for(lambda: writer.stats.items == 10)
    assert 0.25 <= time.monotonic() - started < 5
    assert writer.pending_items == 0


def test_a_checkpoint_stores_whole_row_groups_of_spans_and_a_restart_stores_the_rest_once(
    store_path, tmp_path, monkeypatch
):
    """A due checkpoint takes the spans to the end of a row group, which may fall inside a request: the
    checkpoint records that request's stored rows, and a restart from that image stores only the rest
    (a replay of the whole request would store its first rows twice)."""
    monkeypatch.setattr(writer_module, "PARTIAL_ROW_GROUP_WAIT_S", 60.0)
    writer = StoreWriter(store_path, max_pending_items=100_000, checkpoint_log_bytes=1)  # checkpoint after every commit
    writer.start()
    try:
        release = hold(writer)
        bodies = [trace_request(n_spans=6000).SerializeToString() for _ in range(3)]
        for future in [writer.submit(decode("traces", b), request_digest("traces", b), b) for b in bodies]:
            future.result(5)
        release.set()
        wait_for(lambda: writer.stats.checkpoints == 1)
        # A crash image: the store file as the checkpoint left it, and whatever request log remains.
        image = tmp_path / "image" / "store.duckdb"
        image.parent.mkdir()
        shutil.copy(store_path, image)
        for segment in request_log_segments(store_path):
            shutil.copy(segment, image.parent / segment.name.replace(store_path.name, image.name))
    finally:
        writer.stop()

    # Two whole row groups: the first two requests and 4,384 spans of the third, recorded as such.
    assert counts(image) == ((16384, 16384), [8192, 8192])
    with duckdb.connect(str(image), read_only=True) as conn:
        assert conn.execute("SELECT * FROM smoltrace_stored_parts").fetchall() == [
            (request_digest("traces", bodies[2]), "otel_traces", 4384)
        ]
    restarted = StoreWriter(image)
    restarted.start()
    try:
        with restarted.cursor() as cursor:
            assert cursor.execute(SPAN_COUNTS_SQL).fetchone() == (18000, 18000)
            # the checkpoint after the replay stored every request whole: nothing is recorded in part
            assert cursor.execute("SELECT count(*) FROM smoltrace_stored_parts").fetchone() == (0,)
    finally:
        restarted.stop()
    assert counts(image) == ((18000, 18000), [8192, 8192, 1616])


def test_a_checkpoint_due_during_a_stream_of_spans_waits_for_the_end_of_a_row_group(store_path, monkeypatch):
    """Requests of 3,000 spans committed one by one, a checkpoint due after each: each checkpoint waits
    until the spans since the last one fill whole row groups (DuckDB's vacuum would otherwise copy a
    part-full row group and the rows after it, at the next checkpoint)."""
    monkeypatch.setattr(writer_module, "PARTIAL_ROW_GROUP_WAIT_S", 0.0)
    monkeypatch.setattr(writer_module, "ALIGN_WAIT_FACTOR", 10**9)  # never give up waiting
    writer = StoreWriter(store_path, max_pending_items=100_000, checkpoint_log_bytes=1)
    writer.start()
    try:
        for _ in range(11):  # 33,000 spans
            submit(writer, 3000).result(5)
            wait_for(lambda: writer.pending_items == 0)
        assert writer.stats.checkpoints >= 4
    finally:
        writer.stop()
    assert counts(store_path) == ((33000, 33000), [8192, 8192, 8192, 8192, 232])


def test_a_checkpoint_waits_for_a_row_group_at_most_a_few_intervals(store_path, monkeypatch):
    """A slow stream (a live run) may take hours to fill a row group: once the last checkpoint is
    ALIGN_WAIT_FACTOR checkpoint intervals old, the checkpoint runs, with every request whole."""
    monkeypatch.setattr(writer_module, "PARTIAL_ROW_GROUP_WAIT_S", 0.0)
    writer = StoreWriter(store_path, max_pending_items=100_000, checkpoint_interval_s=0.2)
    writer.start()
    try:
        submit(writer, 10).result(5)
        wait_for(lambda: writer.stats.items == 10)
        started = time.monotonic()
        wait_for(lambda: writer.stats.checkpoints == 1)
        assert 0.2 * writer_module.ALIGN_WAIT_FACTOR - 0.3 < time.monotonic() - started < 5
        assert writer.request_log.current_bytes == 0  # a new segment; the old one is deleted
    finally:
        writer.stop()
    assert counts(store_path) == ((10, 10), [10])
