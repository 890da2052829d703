"""Bytes flipped in the request log of a killed collector: replay skips the damaged record, stores every
record after it, keeps the segment aside and never calls an acknowledged record "never acknowledged"."""

import os
import signal

import duckdb
import grpc
import pytest
from fault_tools import start_collector

from smoltrace.collector.request_log import HEADER
from smoltrace.store.database import request_log_segments
from tests.collector.otlp_requests import RawOTLPClient, span_ids, trace_request


def stored_ids(db_path) -> set[str]:
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return {row[0] for row in conn.execute("SELECT SpanId FROM otel_traces").fetchall()}


@pytest.mark.parametrize("where", ["body", "length"])
def test_a_flipped_byte_costs_one_record_after_kill_9(tmp_path, where):
    db_path = tmp_path / "store.duckdb"
    process, endpoint, _ = start_collector(db_path)
    client = RawOTLPClient(endpoint)
    requests = [trace_request(n_spans=5, name=f"r{i}") for i in range(10)]
    for request in requests:  # one at a time: the log holds them in this order
        assert client.export("traces", request.SerializeToString()) == (grpc.StatusCode.OK, "")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    (segment,) = request_log_segments(db_path)
    data = bytearray(segment.read_bytes())
    third = sum(HEADER.size + len(r.SerializeToString()) for r in requests[:2])
    data[third + (HEADER.size + 7 if where == "body" else 6)] ^= 0x10  # record 3 of 10
    segment.write_bytes(bytes(data))

    restarted, _, _ = start_collector(db_path)
    restarted.send_signal(signal.SIGINT)
    assert restarted.wait(30) == 0
    logged = restarted.startup_log
    acknowledged_and_intact = set().union(*(span_ids(r) for i, r in enumerate(requests) if i != 2))
    assert stored_ids(db_path) == acknowledged_and_intact  # 45 of 50: records 4-10 are kept
    assert len(acknowledged_and_intact) == 45
    kept = segment.with_name(segment.name + ".damaged")
    assert kept.read_bytes() == bytes(data)
    assert request_log_segments(db_path) == []
    record_3 = HEADER.size + len(requests[2].SerializeToString())
    assert f"{record_3} damaged bytes at byte {third} skipped (they may hold acknowledged requests)" in logged
    assert f"kept as {kept}" in logged
    assert "never acknowledged" not in logged and "unfinished" not in logged
