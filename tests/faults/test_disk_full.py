"""A disk that fills up: exports are refused with retryable codes while it lasts, the collector takes
requests again by itself once space returns, and every acknowledged span is stored exactly once."""

import os
import signal
import subprocess
import threading
import time

import duckdb
import grpc
import httpx
from fault_tools import COLLECTOR_BIN, start_collector

from smoltrace.collector import Collector
from smoltrace.store.database import request_log_segments
from smoltrace.store.open_errors import StoreOpenError
from tests.collector.otlp_requests import RawOTLPClient, span_ids, trace_request

NO_SPACE = "the collector cannot store requests now ([Errno 28] No space left on device); retry later"


class Sender:
    """Exports over real gRPC, remembering the spans of every acknowledged request."""

    def __init__(self, endpoint: str):
        self.client = RawOTLPClient(endpoint)
        self.acknowledged: set[str] = set()
        self.lock = threading.Lock()

    def send(self, n_spans: int = 50) -> tuple[grpc.StatusCode, str]:
        request = trace_request(n_spans=n_spans)
        code, details = self.client.export("traces", request.SerializeToString(), timeout=20)
        if code == grpc.StatusCode.OK:
            with self.lock:
                self.acknowledged |= span_ids(request)
        return code, details


def stored_ids(db_path) -> set[str]:
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return {row[0] for row in conn.execute("SELECT SpanId FROM otel_traces").fetchall()}


def wait_for(predicate, timeout_s: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_full_disk_gets_retryable_codes_and_the_collector_heals_without_a_restart(small_disk):
    db_path = small_disk.path / "store.duckdb"
    with Collector.embedded(db_path=db_path, checkpoint_interval_s=2.0) as collector:
        sender = Sender(collector.grpc_endpoint)
        health = lambda: httpx.get(f"{collector.http_endpoint}/health").json()  # noqa: E731
        for _ in range(20):
            assert sender.send() == (grpc.StatusCode.OK, "")
        assert health() == {"status": "ok"}

        small_disk.fill()  # before the next checkpoint (2 s after start), which must write these rows
        refused = [sender.send() for _ in range(10)]
        assert refused == [(grpc.StatusCode.UNAVAILABLE, NO_SPACE)] * 10
        status = health()
        assert status["status"] == "degraded"
        assert "cannot write the request log ([Errno 28] No space left on device)" in status["reason"]
        # The checkpoint fails too, and DuckDB invalidates its database: the store stage reopens it.
        wait_for(lambda: "store write failed" in health().get("reason", ""), what="the failed checkpoint")
        response = httpx.post(f"{collector.http_endpoint}/v1/traces", content=trace_request(3).SerializeToString(),
                              headers={"content-type": "application/x-protobuf"})  # fmt: skip
        assert (response.status_code, response.headers["retry-after"]) == (503, "1")

        small_disk.free()
        wait_for(lambda: sender.send()[0] == grpc.StatusCode.OK, what="exports accepted again")
        for _ in range(20):
            assert sender.send() == (grpc.StatusCode.OK, "")
        wait_for(lambda: health() == {"status": "ok"}, what="health ok")
        assert collector.writer.stats.store_reopens == 1
        rows = collector.reader().execute("SELECT SpanId FROM otel_traces").fetchall()
        assert len(rows) == len(sender.acknowledged) == 2_050  # 41 requests of 50 spans
        assert {row[0] for row in rows} == sender.acknowledged
    assert stored_ids(db_path) == sender.acknowledged
    assert request_log_segments(db_path) == []
    assert not list(small_disk.path.glob("*.damaged*"))


def test_acknowledged_spans_survive_a_full_disk_then_kill_9(small_disk):
    """The issue's run: streams, the disk full for a moment, then free, then kill -9 and a restart."""
    db_path = small_disk.path / "store.duckdb"
    process, endpoint, _ = start_collector(db_path)
    senders = [Sender(endpoint) for _ in range(3)]
    codes: list[grpc.StatusCode] = []
    stop = threading.Event()

    def stream(sender):
        while not stop.is_set():
            code, _ = sender.send()
            codes.append(code)
            assert code in (grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE), code

    threads = [threading.Thread(target=stream, args=(sender,), daemon=True) for sender in senders]
    for thread in threads:
        thread.start()
    time.sleep(2)
    small_disk.fill()
    time.sleep(2)
    small_disk.free()
    marker = len(codes)
    wait_for(lambda: grpc.StatusCode.OK in codes[marker:], what="acks after the disk freed")
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(30)
    os.kill(process.pid, signal.SIGKILL)  # every request was answered: none is in flight
    process.wait()
    acknowledged = set().union(*(sender.acknowledged for sender in senders))
    assert grpc.StatusCode.UNAVAILABLE in codes
    assert len(acknowledged) >= 3_000

    restarted, _, _ = start_collector(db_path)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(60) == 0
    stored = stored_ids(db_path)
    assert len(stored) == len(acknowledged)
    assert stored == acknowledged
    assert request_log_segments(db_path) == []


def test_a_full_disk_at_start_is_one_line(small_disk):
    small_disk.fill()
    db_path = small_disk.path / "store.duckdb"
    result = subprocess.run([COLLECTOR_BIN, "--db", str(db_path), "--grpc-port", "0",
                                           "--http-port", "0"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (f"Error: no space left on the device of the store {db_path}: free some space and "
                             "start again\n")  # fmt: skip
    assert not db_path.exists()  # nothing cut short left behind: the next start creates the store
    small_disk.free()
    process, endpoint, _ = start_collector(db_path)
    assert RawOTLPClient(endpoint).export("traces", trace_request(2).SerializeToString())[0] == grpc.StatusCode.OK
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    assert len(stored_ids(db_path)) == 2


def test_sigint_while_the_disk_is_full_exits_cleanly_and_loses_nothing(small_disk):
    db_path = small_disk.path / "store.duckdb"
    process, endpoint, http_url = start_collector(db_path)
    sender = Sender(endpoint)
    for _ in range(10):
        assert sender.send()[0] == grpc.StatusCode.OK
    small_disk.fill()
    assert sender.send() == (grpc.StatusCode.UNAVAILABLE, NO_SPACE)
    assert httpx.get(f"{http_url}/health").json()["status"] == "degraded"
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 1
    stderr = process.stderr.read()
    assert "Traceback" not in stderr
    last_line = stderr.splitlines()[-1]
    assert last_line.startswith("smoltrace-collector: could not write the store at shutdown (IO Error: ")
    assert last_line.endswith("No space left on device); the request log keeps every acknowledged request, and "
                              "the next start stores them")  # fmt: skip
    small_disk.free()
    restarted, _, _ = start_collector(db_path)
    restarted.send_signal(signal.SIGINT)
    assert restarted.wait(30) == 0
    assert stored_ids(db_path) == sender.acknowledged
    assert len(sender.acknowledged) == 500


def test_the_python_api_starts_again_in_the_same_process_once_space_returns(small_disk):
    db_path = small_disk.path / "store.duckdb"
    small_disk.fill()
    try:
        Collector.embedded(db_path=db_path).start()
    except StoreOpenError as exc:
        assert str(exc) == f"no space left on the device of the store {db_path}: free some space and start again"
    else:
        raise AssertionError("started on a full disk")
    small_disk.free()
    with Collector.embedded(db_path=db_path) as collector:  # no "already attached" from the failed start
        sender = Sender(collector.grpc_endpoint)
        assert sender.send() == (grpc.StatusCode.OK, "")
    assert stored_ids(db_path) == sender.acknowledged


def test_the_otel_sdk_exporter_retries_through_a_full_disk_and_its_spans_are_stored_once(small_disk):
    """The real OpenTelemetry SDK exporter treats the answer as retryable: its export, started while the
    disk is full, succeeds once space returns, and the spans are stored exactly once."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    finished = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(finished))
    for index in range(30):
        provider.get_tracer("faults").start_span(f"span-{index}").end()
    spans = finished.get_finished_spans()
    db_path = small_disk.path / "store.duckdb"
    with Collector.embedded(db_path=db_path) as collector:
        exporter = OTLPSpanExporter(endpoint=collector.grpc_endpoint, insecure=True, timeout=30)
        small_disk.fill()
        result = {}
        exporting = threading.Thread(target=lambda: result.update(r=exporter.export(spans)))
        exporting.start()
        wait_for(lambda: "request log" in collector.writer.health().get("reason", ""), what="a refused export")
        small_disk.free()
        exporting.join(30)
        assert result["r"] == SpanExportResult.SUCCESS
        rows = collector.reader().execute("SELECT SpanName FROM otel_traces ORDER BY SpanName").fetchall()
        assert sorted(row[0] for row in rows) == sorted(f"span-{index}" for index in range(30))
        exporter.shutdown()
