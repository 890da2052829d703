"""The facts deriver beside the writer: the writer does not wait for its rounds, and the collector
holds spans back when the deriver falls too far behind them.

The deriver derives each queued trace's facts in a transaction of its own. A due checkpoint waits for
the end of the round in progress (and holds the next one back) without blocking the store thread. When
the facts lag by more than the deriver's limit, spans are refused with OTLP's retryable codes until it
catches up.
"""

import threading
import time

import duckdb
import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from otlp_requests import RawOTLPClient, gauge_request, trace_request
from store_layout import ROW_GROUP_ROWS_SQL

from smoltrace.collector import Collector
from smoltrace.collector import deriver as deriver_module
from smoltrace.collector.decode import decode
from smoltrace.collector.request_log import request_digest
from smoltrace.collector.writer import StoreWriter

TASK_FACTS_SQL = "SELECT run_id, task_id FROM smoltrace_task_facts ORDER BY task_id"
QUEUED_SQL = "SELECT count(*) FROM smoltrace_facts_queue"
SPANS_SQL = "SELECT count(*) FROM otel_traces"
TASK_SPANS_SQL = "SELECT count(*) FROM otel_traces WHERE \"SpanName\" = 'smoltrace.task'"


def task_request(task_id: str, run_id: str = "run-1"):
    """One trace holding a smoltrace task span: the deriver turns it into one row of task facts."""
    return trace_request(
        n_spans=1, name="smoltrace.task", attributes={"smoltrace.run.id": run_id, "smoltrace.task.id": task_id}
    )


def submit(writer, request):
    body = request.SerializeToString()
    return writer.submit(decode("traces", body), request_digest("traces", body), body)


def wait_for(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def read_through(writer, sql, wait_s=10.0):
    """Read through the writer (``wait_s``: how long to wait for what was acknowledged, facts included)."""
    with writer.cursor(wait_s=wait_s) as cursor:
        return cursor.execute(sql).fetchall()


def read(db_path, sql):
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def slow_round(monkeypatch):
    """Every derivation round, once it has written its facts (uncommitted), waits for ``release``."""
    entered, release = threading.Event(), threading.Event()
    derive = deriver_module.facts.derive

    def derive_then_wait(conn, trace_ids):
        derive(conn, trace_ids)
        entered.set()
        release.wait(10)

    monkeypatch.setattr(deriver_module.facts, "derive", derive_then_wait)
    yield entered, release
    release.set()


def test_a_checkpoint_waits_for_the_end_of_a_derivation_round_without_blocking_the_writer(store_path, slow_round):
    """The due checkpoint holds the deriver's next round back and waits for the one in progress; the
    store thread meanwhile goes on (here: committing for a reader that waits)."""
    entered, release = slow_round
    writer = StoreWriter(store_path, checkpoint_log_bytes=1)  # a checkpoint due after every commit
    writer.start()
    try:
        submit(writer, task_request("t1")).result(5)
        assert entered.wait(5)  # the round has written its facts and has not committed
        checkpoints = writer.stats.checkpoints
        submit(writer, task_request("t2")).result(5)
        submit(writer, trace_request(n_spans=5)).result(5)  # spans of no task: nothing to derive
        assert writer.wait_until_stored(5)  # committed meanwhile: the store thread is not blocked
        time.sleep(0.2)
        assert writer.stats.checkpoints == checkpoints  # the due checkpoint waits for the round's end
        assert read_through(writer, QUEUED_SQL, wait_s=0) == [(2,)]

        release.set()
        wait_for(lambda: writer.stats.checkpoints > checkpoints)
        assert read_through(writer, TASK_FACTS_SQL) == [("run-1", "t1"), ("run-1", "t2")]
        assert read_through(writer, SPANS_SQL) == [(7,)]
    finally:
        writer.stop()
    assert read(store_path, TASK_FACTS_SQL) == [("run-1", "t1"), ("run-1", "t2")]


def test_a_checkpoint_that_waits_for_a_round_still_stores_whole_row_groups(store_path, slow_round):
    """A reader that comes while the checkpoint waits gets no spans past the row groups that the
    checkpoint will store: a part-full one would be read back by the next checkpoint to merge it with
    what follows (~100 MB with LLM spans). The reader gets them once the round and the checkpoint end."""
    entered, release = slow_round
    writer = StoreWriter(store_path)
    writer.start()
    try:
        submit(writer, task_request("t1")).result(5)
        assert writer.wait_until_stored(5)
        assert entered.wait(5)  # the round has written its facts and has not committed
        submit(writer, trace_request(n_spans=8191)).result(5)
        assert writer.wait_until_stored(5)  # one whole row group since the last checkpoint
        checkpoints = writer.stats.checkpoints
        writer.checkpoint_log_bytes = 1  # a checkpoint is due, and waits for the round
        submit(writer, trace_request(n_spans=100)).result(5)

        assert not writer.wait_until_stored(0.5)  # the 100 spans would start a row group
        assert writer.stats.checkpoints == checkpoints
        assert read_through(writer, SPANS_SQL, wait_s=0) == [(8192,)]

        release.set()
        assert writer.wait_until_stored(5)
        assert writer.stats.checkpoints > checkpoints
        assert read_through(writer, SPANS_SQL) == [(8292,)]
    finally:
        writer.stop()
    assert read(store_path, ROW_GROUP_ROWS_SQL) == [(8192,), (100,)]


def test_spans_are_refused_while_the_facts_are_far_behind_and_taken_again_once_they_caught_up(store_path):
    with Collector.embedded(db_path=store_path) as collector:
        client = RawOTLPClient(collector.grpc_endpoint)
        deriver = collector.writer.deriver
        assert deriver.max_underived_traces == 16_000  # the default, as the README says
        deriver.max_underived_traces = 3
        with deriver.paused():  # the deriver derives nothing meanwhile
            for index in range(4):
                assert client.export("traces", task_request(f"t{index}").SerializeToString())[0] == grpc.StatusCode.OK
            wait_for(lambda: deriver.underived_traces == 4)  # committed, queued, not derived: one past the limit

            code, details, trailers = client.export_with_trailers("traces", task_request("t9").SerializeToString())
            assert (code, details) == (
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "collector is behind deriving facts (4 traces waiting, limit 3); retry later",
            )
            retry = error_details_pb2.RetryInfo.FromString(dict(trailers)["google.rpc.retryinfo-bin"])
            assert retry.retry_delay.seconds == 1
            response = httpx.post(
                f"{collector.http_endpoint}/v1/traces",
                content=task_request("t9").SerializeToString(),
                headers={"content-type": "application/x-protobuf"},
            )
            assert (response.status_code, response.headers["retry-after"]) == (503, "1")
            # other signals do not wait for the facts
            assert client.export("metrics", gauge_request([1.0]).SerializeToString())[0] == grpc.StatusCode.OK

        wait_for(lambda: deriver.underived_traces == 0)
        assert client.export("traces", task_request("t4").SerializeToString())[0] == grpc.StatusCode.OK
        with collector.writer.cursor() as cursor:
            assert cursor.execute(TASK_FACTS_SQL).fetchall() == [("run-1", f"t{index}") for index in range(5)]
        client.close()


def test_a_deriver_that_keeps_failing_does_not_hold_spans_back(store_path, monkeypatch):
    """A round that fails (a full disk, say) is retried from the queue; spans keep being taken meanwhile."""
    monkeypatch.setattr(deriver_module, "RETRY_AFTER_S", 0.05)
    failing = threading.Event()
    failing.set()
    derive = deriver_module.facts.derive

    def derive_or_fail(conn, trace_ids):
        if failing.is_set():
            raise duckdb.IOException("IO Error: No space left on device")
        derive(conn, trace_ids)

    monkeypatch.setattr(deriver_module.facts, "derive", derive_or_fail)
    with Collector.embedded(db_path=store_path) as collector:
        client = RawOTLPClient(collector.grpc_endpoint)
        deriver = collector.writer.deriver
        deriver.max_underived_traces = 1
        for index in range(4):
            assert client.export("traces", task_request(f"t{index}").SerializeToString())[0] == grpc.StatusCode.OK
            wait_for(lambda count=index: deriver.failures > count)
        wait_for(lambda: deriver.underived_traces == 4)
        failing.clear()
        with collector.writer.cursor() as cursor:
            assert cursor.execute(TASK_FACTS_SQL).fetchall() == [("run-1", f"t{index}") for index in range(4)]
        client.close()
