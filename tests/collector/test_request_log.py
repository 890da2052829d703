"""The request log: acknowledged requests survive a crash and are stored exactly once on the next start."""

import logging

import duckdb
from otlp_requests import span_ids, trace_request

from smoltrace.collector.request_log import HEADER, RequestLog, request_digest
from smoltrace.collector.writer import StoreWriter
from smoltrace.store.database import pending_request_log_bytes, request_log_segments


def stored_span_ids(store_path) -> list[str]:
    with duckdb.connect(str(store_path), read_only=True) as conn:
        return sorted(row[0] for row in conn.execute("SELECT SpanId FROM otel_traces").fetchall())


def test_records_are_read_back_in_order_across_segments(store_path):
    bodies = [trace_request(n_spans=n).SerializeToString() for n in (1, 2, 3)]
    log = RequestLog(store_path)
    log.open()
    log.append([("traces", bodies[0]), ("traces", bodies[1])])
    closed = log.rotate()
    log.append([("metrics", bodies[2])])
    log.close()
    assert closed.name == "store.duckdb.requests.000001"
    assert [p.name for p in request_log_segments(store_path)] == ["store.duckdb.requests.000001",
                                                                   "store.duckdb.requests.000002"]
    assert list(log.replay()) == [("traces", bodies[0]), ("traces", bodies[1]), ("metrics", bodies[2])]
    assert pending_request_log_bytes(store_path) == 3 * HEADER.size + sum(map(len, bodies))


def test_a_record_cut_short_by_a_crash_is_ignored(store_path, caplog):
    bodies = [trace_request(n_spans=n).SerializeToString() for n in (1, 2)]
    log = RequestLog(store_path)
    log.open()
    log.append([("traces", bodies[0]), ("traces", bodies[1])])
    log.close()
    segment = request_log_segments(store_path)[0]
    whole = segment.read_bytes()
    segment.write_bytes(whole[:-5])  # the process died in the middle of the second write
    with caplog.at_level(logging.WARNING, logger="smoltrace.collector"):
        assert list(log.replay()) == [("traces", bodies[0])]
    offset = HEADER.size + len(bodies[0])
    assert f"request log {segment}: incomplete record at byte {offset} ignored" in caplog.text

    corrupted = bytearray(whole)
    corrupted[-1] ^= 0xFF  # the length is complete but the bytes are not what was written
    segment.write_bytes(bytes(corrupted))
    assert list(log.replay()) == [("traces", bodies[0])]


def test_a_restart_stores_what_the_log_holds_once(store_path, caplog):
    already_stored = trace_request(n_spans=2)
    only_in_log = trace_request(n_spans=3)
    writer = StoreWriter(store_path)
    writer.start()
    body = already_stored.SerializeToString()
    from smoltrace.collector.decode import decode

    writer.submit(decode("traces", body), request_digest("traces", body), body).result(10)
    writer.stop()
    # What a crash leaves behind: a log segment holding a request already checkpointed (the crash came
    # before the segment was deleted) and one acknowledged but never checkpointed.
    log = RequestLog(store_path)
    log.open()
    log.append([("traces", body), ("traces", only_in_log.SerializeToString())])
    log.close()

    writer = StoreWriter(store_path)
    with caplog.at_level(logging.WARNING, logger="smoltrace.collector"):
        writer.start()
    writer.stop()
    assert writer.stats.replayed_requests == 2
    assert writer.stats.items == 3
    assert stored_span_ids(store_path) == sorted(span_ids(already_stored) | span_ids(only_in_log))
    assert request_log_segments(store_path) == []
    assert "recovered 2 acknowledged requests from 1 request log segment(s)" in caplog.text
    assert "(3 items were not in the store yet)" in caplog.text
