"""The collector's promises: acknowledged means durable, retries do not duplicate, a full queue is refused
with OTLP's retryable codes, and a token locks both receivers."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from otlp_requests import RawOTLPClient, span_ids, trace_request

from smoltrace.collector import Collector
from smoltrace.store.database import pending_request_log_bytes, request_log_segments

COLLECTOR_BIN = str(Path(sys.executable).with_name("smoltrace-collector"))


def count_spans(rows, collector):
    return rows(collector, "SELECT count(*) AS n FROM otel_traces")[0]["n"]


def test_an_identical_request_resent_is_stored_once(collector, rows):
    client = RawOTLPClient(collector.grpc_endpoint)
    body = trace_request(n_spans=4).SerializeToString()
    assert client.export("traces", body) == (grpc.StatusCode.OK, "")
    assert client.export("traces", body) == (grpc.StatusCode.OK, "")  # a retry after a lost ack
    response = httpx.post(f"{collector.http_endpoint}/v1/traces", content=body,
                          headers={"content-type": "application/x-protobuf"})  # fmt: skip
    assert response.status_code == 200
    assert count_spans(rows, collector) == 4
    assert rows(collector, "SELECT Signal, Items FROM smoltrace_ingested_requests") == [
        {"Signal": "traces", "Items": 4}
    ]
    client.close()


def test_retries_are_recognised_after_a_restart(store_path):
    body = trace_request(n_spans=2).SerializeToString()
    for _ in range(2):
        with Collector.embedded(db_path=store_path) as collector:
            assert RawOTLPClient(collector.grpc_endpoint).export("traces", body)[0] == grpc.StatusCode.OK
    with duckdb.connect(str(store_path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM otel_traces").fetchone() == (2,)


def test_a_full_queue_is_refused_at_once_with_retryable_codes(store_path, rows, hold_writer):
    with Collector.embedded(db_path=store_path, max_pending_items=10) as collector:
        client = RawOTLPClient(collector.grpc_endpoint)
        release = hold_writer(collector)
        first = trace_request(n_spans=10)
        admitted = {}
        sender = threading.Thread(target=lambda: admitted.update(r=client.export("traces", first.SerializeToString())))
        sender.start()
        deadline = time.monotonic() + 5
        while collector.writer.pending_items < 10 and time.monotonic() < deadline:
            time.sleep(0.01)

        # a load larger than the queue: every further request is refused immediately, nothing is queued
        refused = [client.export_with_trailers("traces", trace_request(n_spans=1).SerializeToString())
                   for _ in range(20)]  # fmt: skip
        for code, details, trailers in refused:
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert details == "collector queue is full (10 items pending, limit 10); retry later"
            retry = error_details_pb2.RetryInfo.FromString(dict(trailers)["google.rpc.retryinfo-bin"])
            assert retry.retry_delay.seconds == 1
        assert collector.writer.pending_items == 10

        response = httpx.post(f"{collector.http_endpoint}/v1/traces", content=trace_request(1).SerializeToString(),
                              headers={"content-type": "application/x-protobuf"})  # fmt: skip
        assert (response.status_code, response.headers["retry-after"]) == (503, "1")

        release.set()
        sender.join(10)
        assert admitted["r"] == (grpc.StatusCode.OK, "")
        assert count_spans(rows, collector) == 10
        # once drained, the refused client's retry goes through
        assert client.export("traces", trace_request(n_spans=3).SerializeToString())[0] == grpc.StatusCode.OK
        assert count_spans(rows, collector) == 13


def test_a_token_locks_grpc_and_http(store_path, rows):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    with Collector.embedded(db_path=store_path, token="s3cret") as collector:
        body = trace_request(n_spans=1).SerializeToString()
        assert RawOTLPClient(collector.grpc_endpoint).export("traces", body) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "missing or wrong bearer token in 'authorization' metadata",
        )
        assert RawOTLPClient(collector.grpc_endpoint, token="wrong").export("traces", body)[0] == (
            grpc.StatusCode.UNAUTHENTICATED
        )
        url = f"{collector.http_endpoint}/v1/traces"
        headers = {"content-type": "application/x-protobuf"}
        assert httpx.post(url, content=body, headers=headers).status_code == 401
        assert httpx.post(url, content=body, headers={**headers, "authorization": "Bearer nope"}).status_code == 401
        assert count_spans(rows, collector) == 0

        assert RawOTLPClient(collector.grpc_endpoint, token="s3cret").export("traces", body)[0] == grpc.StatusCode.OK
        other = trace_request(n_spans=2).SerializeToString()
        assert httpx.post(url, content=other, headers={**headers, "authorization": "Bearer s3cret"}).status_code == 200
        provider = TracerProvider()
        exporter = OTLPSpanExporter(endpoint=collector.grpc_endpoint, insecure=True,
                                    headers={"authorization": "Bearer s3cret"})  # fmt: skip
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        provider.get_tracer("t").start_span("from-sdk").end()
        provider.shutdown()
        assert count_spans(rows, collector) == 4


def start_collector_process(store_path: Path, before_ready: list[str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start the real service; the lines it logs before its ready line go to ``before_ready``."""
    process = subprocess.Popen(
        [COLLECTOR_BIN, "--db", str(store_path), "--grpc-port", "0", "--http-port", "0", "--log-level", "warning"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines = []
    for line in process.stderr:
        match = re.search(r"OTLP/gRPC (\S+)", line)
        if match:
            break
        lines.append(line)
    assert match, f"collector did not start: {lines}"
    if before_ready is not None:
        before_ready.extend(lines)
    return process, match.group(1)


def test_acknowledged_spans_survive_kill_9(store_path):
    process, endpoint = start_collector_process(store_path)
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def stream():
        client = RawOTLPClient(endpoint)
        while not stop.is_set():
            request = trace_request(n_spans=50)
            code, _ = client.export("traces", request.SerializeToString(), timeout=5)
            if code == grpc.StatusCode.OK:
                with lock:
                    acknowledged.update(span_ids(request))

    streams = [threading.Thread(target=stream, daemon=True) for _ in range(3)]
    for thread in streams:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 3_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)  # no flush, no checkpoint: only the request log is left
    process.wait()
    stop.set()
    for thread in streams:
        thread.join(10)
    assert len(acknowledged) >= 3_000
    assert pending_request_log_bytes(store_path) > 0  # acked since the last checkpoint

    logged: list[str] = []
    restarted, _ = start_collector_process(store_path, logged)  # replays the request log on open
    assert any(re.search(r"recovered \d+ acknowledged requests from \d+ request log segment", line) for line in logged)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(30) == 0
    assert request_log_segments(store_path) == []
    with duckdb.connect(str(store_path), read_only=True) as conn:
        stored = {row[0] for row in conn.execute("SELECT SpanId FROM otel_traces").fetchall()}
    assert acknowledged <= stored
    assert not os.path.exists(f"{store_path}.collector.json")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_the_service_shuts_down_cleanly(store_path, stop_signal):
    process, endpoint = start_collector_process(store_path)
    request = trace_request(n_spans=5)
    assert RawOTLPClient(endpoint).export("traces", request.SerializeToString())[0] == grpc.StatusCode.OK
    process.send_signal(stop_signal)
    assert process.wait(30) == 0
    assert "stopped; stored 5 items in 1 commits" in process.stderr.read()
    assert not Path(f"{store_path}.wal").exists()  # checkpointed on the way out
    with duckdb.connect(str(store_path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM otel_traces").fetchone() == (5,)
