"""The writer's two stages: the request log acknowledges, DuckDB commits behind it.

An acknowledgement needs the fsynced request log, not the DuckDB commit; reads through the collector
still see every acknowledged request; when DuckDB falls behind, acknowledgements are held (flow control)
before anything is refused; and an acknowledged request that DuckDB refuses is kept, not lost.
"""

import logging
import shutil
import threading
import time

import duckdb
import grpc
import httpx
import pyarrow as pa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from otlp_requests import RawOTLPClient, span_ids, trace_request

from smoltrace.collector import Collector
from smoltrace.collector.request_log import request_digest
from smoltrace.store.database import pending_request_log_bytes, request_log_segments

SPAN_COUNT_SQL = "SELECT count(*) AS n FROM otel_traces"


def in_background(function, *args):
    """Run ``function(*args)`` in a thread; returns (thread, result dict with 'value')."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=function(*args)), daemon=True)
    thread.start()
    return thread, result


def test_a_request_is_acknowledged_once_logged_and_read_only_once_committed(collector, rows, hold_writer):
    client = RawOTLPClient(collector.grpc_endpoint)
    release = hold_writer(collector)

    request = trace_request(n_spans=4)
    assert client.export("traces", request.SerializeToString(), timeout=5) == (grpc.StatusCode.OK, "")
    assert pending_request_log_bytes(collector.config.db_path) > 0  # durable: on disk in the log
    assert collector.writer.pending_items == 4  # not committed yet

    reader, counted = in_background(rows, collector, SPAN_COUNT_SQL)
    time.sleep(0.3)
    assert reader.is_alive()  # a read waits for the acknowledged request's commit...
    release.set()
    reader.join(10)
    assert counted["value"] == [{"n": 4}]  # ...and then sees it
    assert collector.writer.pending_items == 0


def test_acknowledgements_are_held_while_the_store_is_behind(store_path, rows, hold_writer):
    # max 20 items queued; above half of that, acknowledgements wait for the store to catch up
    with Collector.embedded(db_path=store_path, max_pending_items=20) as collector:
        client = RawOTLPClient(collector.grpc_endpoint)
        release = hold_writer(collector)
        assert client.export("traces", trace_request(n_spans=8).SerializeToString(), timeout=5)[0] == grpc.StatusCode.OK

        held, answer = in_background(client.export, "traces", trace_request(n_spans=6).SerializeToString())
        time.sleep(0.5)
        assert held.is_alive()  # logged (14 items pending > 10), but its acknowledgement waits
        assert collector.writer.pending_items == 14
        code, details, _ = client.export_with_trailers("traces", trace_request(n_spans=7).SerializeToString())
        assert (code, details) == (grpc.StatusCode.RESOURCE_EXHAUSTED,
                                   "collector queue is full (14 items pending, limit 20); retry later")  # fmt: skip

        release.set()
        held.join(10)
        assert answer["value"] == (grpc.StatusCode.OK, "")
        assert rows(collector, SPAN_COUNT_SQL) == [{"n": 14}]


def test_acknowledged_requests_not_yet_committed_survive_a_crash(collector, tmp_path, hold_writer):
    """A crash image taken while DuckDB is behind the log: the store file plus the log segments."""
    client = RawOTLPClient(collector.grpc_endpoint)
    committed = trace_request(n_spans=3)
    assert client.export("traces", committed.SerializeToString())[0] == grpc.StatusCode.OK
    collector.writer.run_exclusive(lambda conn: None)  # commits and checkpoints the first request
    release = hold_writer(collector)
    only_logged = trace_request(n_spans=5)
    assert client.export("traces", only_logged.SerializeToString())[0] == grpc.StatusCode.OK

    crashed = tmp_path / "crashed"
    crashed.mkdir()
    image = crashed / "store.duckdb"
    shutil.copy(collector.config.db_path, image)  # no checkpoint runs while the writer is held
    for segment in request_log_segments(collector.config.db_path):
        shutil.copy(segment, crashed / segment.name)
    release.set()

    with Collector.embedded(db_path=image) as restarted:  # replays the log copy on open
        ids = {row[0] for row in restarted.reader().execute("SELECT SpanId FROM otel_traces").fetchall()}
    assert ids == span_ids(committed) | span_ids(only_logged)


def logs_request(body: str) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.time_unix_nano = 1_700_000_000_000_000_000
    record.body.string_value = body
    return request


def test_an_acknowledged_request_the_store_refuses_is_kept_aside(store_path, rows, caplog):
    with Collector.embedded(db_path=store_path) as collector:
        # The table changes under the writer (an operator's mistake): appends to otel_logs now fail.
        collector.writer.run_exclusive(lambda conn: conn.execute('ALTER TABLE otel_logs ADD COLUMN "Extra" INTEGER'))
        client = RawOTLPClient(collector.grpc_endpoint)
        body = logs_request("kept aside").SerializeToString()
        with caplog.at_level(logging.ERROR, logger="smoltrace.collector"):
            assert client.export("logs", body) == (grpc.StatusCode.OK, "")  # durable in the log
            assert client.export("traces", trace_request(n_spans=2).SerializeToString())[0] == grpc.StatusCode.OK
            assert rows(collector, SPAN_COUNT_SQL) == [{"n": 2}]  # the collector keeps storing the rest
        assert collector.writer.stats.failed_requests == 1

    kept = store_path.with_name("store.duckdb.rejected") / f"{request_digest('logs', body)}.otel_logs.arrow"
    table = pa.ipc.open_file(str(kept)).read_all()
    assert table.column("Body").to_pylist() == ['"kept aside"']
    assert "store write failed for an acknowledged logs request (1 items)" in caplog.text
    assert f"Its rows are kept in {kept.parent}" in caplog.text
    with duckdb.connect(str(store_path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM otel_logs").fetchone() == (0,)


def test_ack_after_commit_answers_only_once_the_rows_are_committed(store_path, rows, hold_writer):
    with Collector.embedded(db_path=store_path, ack_after_commit=True) as collector:
        client = RawOTLPClient(collector.grpc_endpoint)
        release = hold_writer(collector)
        waiting, answer = in_background(client.export, "traces", trace_request(n_spans=3).SerializeToString())
        time.sleep(0.5)
        assert waiting.is_alive()  # logged, but not committed: no answer yet
        release.set()
        waiting.join(10)
        assert answer["value"] == (grpc.StatusCode.OK, "")
        # under a steady stream each request is answered once its own rows are committed
        for _ in range(5):
            assert client.export("traces", trace_request(n_spans=2).SerializeToString())[0] == grpc.StatusCode.OK
        assert rows(collector, SPAN_COUNT_SQL) == [{"n": 13}]


def test_a_query_waits_for_acknowledged_data_no_longer_than_its_time_limit(collector, caplog, hold_writer):
    client = RawOTLPClient(collector.grpc_endpoint)
    release = hold_writer(collector)
    assert client.export("traces", trace_request(n_spans=4).SerializeToString())[0] == grpc.StatusCode.OK
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="smoltrace.collector"):
        response = httpx.post(f"{collector.http_endpoint}/api/query", json={"sql": SPAN_COUNT_SQL, "timeout_s": 0.5})
    assert time.monotonic() - started < 5  # not the 60 s default wait
    assert response.json()["rows"] == [[0]]  # the store is held: the 4 acknowledged spans are not committed
    assert "reading before every acknowledged request is committed" in caplog.text
    release.set()
    response = httpx.post(f"{collector.http_endpoint}/api/query", json={"sql": SPAN_COUNT_SQL})
    assert response.json()["rows"] == [[4]]
