"""The request log: acknowledged requests survive a crash and are stored exactly once on the next start;
a damaged record costs that record only, and a failed write leaves nothing behind."""

import logging
import resource
import signal
import struct
import zlib

import duckdb
import pytest
from otlp_requests import span_ids, trace_request

from smoltrace.collector.request_log import (
    HEADER,
    HEADER_V1,
    MAGIC_V1,
    RequestLog,
    read_segment,
    record_header,
    request_digest,
)
from smoltrace.collector.writer import StoreWriter
from smoltrace.store.database import pending_request_log_bytes, request_log_segments


def stored_span_ids(store_path) -> list[str]:
    with duckdb.connect(str(store_path), read_only=True) as conn:
        return sorted(row[0] for row in conn.execute("SELECT SpanId FROM otel_traces").fetchall())


def write_log(store_path, bodies) -> bytes:
    """One segment holding ``bodies`` as trace requests; returns its bytes."""
    log = RequestLog(store_path)
    log.open()
    log.append([("traces", body) for body in bodies])
    log.close()
    return request_log_segments(store_path)[0].read_bytes()


def record_offsets(bodies) -> list[int]:
    offsets, offset = [], 0
    for body in bodies:
        offsets.append(offset)
        offset += HEADER.size + len(body)
    return offsets


def test_records_are_read_back_in_order_across_segments(store_path):
    bodies = [trace_request(n_spans=n).SerializeToString() for n in (1, 2, 3)]
    log = RequestLog(store_path)
    log.open()
    log.append([("traces", bodies[0]), ("traces", bodies[1])])
    closed = log.rotate()
    log.append([("metrics", bodies[2])])
    log.close()
    assert [path.name for path in closed] == ["store.duckdb.requests.000001"]
    assert [p.name for p in request_log_segments(store_path)] == [
        "store.duckdb.requests.000001",
        "store.duckdb.requests.000002",
    ]
    assert list(log.replay()) == [("traces", bodies[0]), ("traces", bodies[1]), ("metrics", bodies[2])]
    assert pending_request_log_bytes(store_path) == 3 * HEADER.size + sum(map(len, bodies))


def test_a_record_cut_short_by_a_crash_is_ignored_as_never_acknowledged(store_path, caplog):
    bodies = [trace_request(n_spans=n).SerializeToString() for n in (1, 2)]
    whole = write_log(store_path, bodies)
    segment = request_log_segments(store_path)[0]
    segment.write_bytes(whole[:-5])  # the process died in the middle of the second write
    damage = []
    with caplog.at_level(logging.WARNING, logger="smoltrace.collector"):
        assert list(read_segment(segment, damage)) == [("traces", bodies[0])]
    offset = HEADER.size + len(bodies[0])
    assert [(d.offset, d.length, d.unfinished) for d in damage] == [(offset, len(whole) - 5 - offset, True)]
    assert f"request log {segment}: an unfinished record at byte {offset} ignored (cut short" in caplog.text


def test_a_damaged_record_is_skipped_and_every_record_after_it_is_read(store_path, caplog):
    bodies = [trace_request(n_spans=2, name=f"r{i}").SerializeToString() for i in range(10)]
    whole = write_log(store_path, bodies)
    offsets = record_offsets(bodies)
    segment = request_log_segments(store_path)[0]
    for where in ("body", "length", "magic"):  # a flipped bit anywhere in record 3 costs record 3 only
        damaged = bytearray(whole)
        position = {"body": offsets[2] + HEADER.size + 10, "length": offsets[2] + 6, "magic": offsets[2]}[where]
        damaged[position] ^= 0x01
        segment.write_bytes(bytes(damaged))
        damage = []
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="smoltrace.collector"):
            records = list(read_segment(segment, damage))
        assert records == [("traces", body) for i, body in enumerate(bodies) if i != 2], where
        record_3 = HEADER.size + len(bodies[2])
        assert [(d.offset, d.length, d.unfinished) for d in damage] == [(offsets[2], record_3, False)], where
        assert (f"request log {segment}: {record_3} damaged bytes at byte {offsets[2]} skipped (they may hold "
                f"acknowledged requests); reading resumed at byte {offsets[3]}") in caplog.text  # fmt: skip
        assert "unfinished" not in caplog.text


def test_the_last_record_damaged_is_not_called_unfinished(store_path):
    bodies = [trace_request(n_spans=1).SerializeToString() for _ in range(3)]
    damaged = bytearray(write_log(store_path, bodies))
    damaged[-1] ^= 0xFF  # complete, fsynced and acknowledged, then damaged on disk
    segment = request_log_segments(store_path)[0]
    segment.write_bytes(bytes(damaged))
    damage = []
    assert len(list(read_segment(segment, damage))) == 2
    assert [d.unfinished for d in damage] == [False]


def test_segments_of_the_previous_layout_still_replay(store_path):
    bodies = [trace_request(n_spans=n).SerializeToString() for n in (1, 2, 3)]
    old = b"".join(HEADER_V1.pack(MAGIC_V1, 0, len(b), zlib.crc32(b)) + b for b in bodies[:2])
    segment = store_path.with_name(store_path.name + ".requests.000001")
    segment.write_bytes(old + record_header("traces", bodies[2]) + bodies[2])  # and new records after them
    assert list(RequestLog(store_path).replay()) == [("traces", body) for body in bodies]


def test_a_failed_append_is_cut_back_and_the_next_one_lands_after_the_last_good_record(store_path):
    """A write refused half-way (here by RLIMIT_FSIZE, as a full disk would) leaves no bytes behind."""
    first, big, after = (trace_request(n_spans=n).SerializeToString() for n in (2, 400, 3))
    log = RequestLog(store_path)
    log.open()
    log.append([("traces", first)])
    good = HEADER.size + len(first)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    previous_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (good + 1000, previous_limit[1]))
    try:
        with pytest.raises(OSError):
            log.append([("traces", big)])  # 1000 bytes of it reach the file before the error
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous_limit)
        signal.signal(signal.SIGXFSZ, previous_handler)
    segment = request_log_segments(store_path)[0]
    assert segment.stat().st_size == good
    log.append([("traces", after)])
    log.close()
    assert list(log.replay()) == [("traces", first), ("traces", after)]


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


def test_a_restart_keeps_a_damaged_segment_aside_and_stores_every_record_that_checks_out(store_path, caplog):
    requests = [trace_request(n_spans=3, name=f"r{i}") for i in range(10)]
    bodies = [request.SerializeToString() for request in requests]
    damaged = bytearray(write_log(store_path, bodies))
    offsets = record_offsets(bodies)
    damaged[offsets[2] + HEADER.size + 5] ^= 0x01  # record 3 of 10
    segment = request_log_segments(store_path)[0]
    segment.write_bytes(bytes(damaged))

    writer = StoreWriter(store_path)
    with caplog.at_level(logging.WARNING, logger="smoltrace.collector"):
        writer.start()
    writer.stop()
    expected = sorted(set().union(*(span_ids(r) for i, r in enumerate(requests) if i != 2)))
    assert stored_span_ids(store_path) == expected  # 27 spans: all but record 3's
    assert request_log_segments(store_path) == []
    kept = segment.with_name(segment.name + ".damaged")
    assert kept.read_bytes() == bytes(damaged)
    assert (f"request log segment {segment} holds {HEADER.size + len(bodies[2])} damaged bytes that could not "
            f"be replayed: kept as {kept}") in caplog.text  # fmt: skip
    assert "recovered 9 acknowledged requests from 1 request log segment(s)" in caplog.text
    assert "never acknowledged" not in caplog.text


def test_header_checksum_covers_the_length(store_path):
    body = trace_request(n_spans=1).SerializeToString()
    header = record_header("traces", body)
    magic, signal_index, length, body_crc, header_crc = HEADER.unpack(header)
    assert (magic, signal_index, length, body_crc) == (b"SRQ2", 0, len(body), zlib.crc32(body))
    assert header_crc == zlib.crc32(header[:13]) == zlib.crc32(struct.pack("<4sBII", magic, 0, length, body_crc))
