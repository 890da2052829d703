"""What both receivers do with a request body: dedupe, decode, queue for the writer, wait until it is durable."""

from __future__ import annotations

import os
import threading
from concurrent.futures import TimeoutError as FutureTimeout

from smoltrace.collector.decode import decode
from smoltrace.collector.request_log import request_digest
from smoltrace.collector.writer import StoreWriter, WriteResult


class AckTimeoutError(Exception):
    """The request log did not take the request in time; it may or may not be stored, so the client
    retries (a retry of a request that was logged is recognised by its digest and not stored twice)."""


def default_decode_lanes() -> int:
    """Requests decoded at once: half the cores. Decoding (C, without the GIL) needs far less than a
    core at the rate the single DuckDB writer sustains; letting every receiver thread decode at once
    took CPU from the writer in bursts (ingest benchmark on 2 cores, three interleaved pairs: 44.1k ->
    47.7k spans/s on average with one lane; the machine's noise is about as large)."""
    return max(1, (os.cpu_count() or 2) // 2)


class Ingestor:
    def __init__(self, writer: StoreWriter, ack_timeout_s: float = 30.0, decode_lanes: int | None = None):
        self.writer = writer
        self.ack_timeout_s = ack_timeout_s
        self._decode_lanes = threading.BoundedSemaphore(decode_lanes or default_decode_lanes())

    def ingest(self, signal: str, body: bytes) -> WriteResult:
        """Store one protobuf export request; returns once it is durable (in the fsynced request log;
        its rows are committed right after, and every read through the collector waits for that).

        Raises OTLPDecodeError (bad request), QueueFullError / WriterStoppedError (retry later),
        AckTimeoutError, or the store's own error.
        """
        digest = request_digest(signal, body)
        if self.writer.is_known(digest):
            return WriteResult(items=0, duplicate=True)
        self.writer.check_room(signal)  # refuse before spending CPU on decoding a request that cannot be queued
        with self._decode_lanes:
            decoded = decode(signal, body)
        if not decoded.items:
            return WriteResult(items=0, duplicate=False)
        future = self.writer.submit(decoded, digest, body)
        try:
            return future.result(timeout=self.ack_timeout_s)
        except FutureTimeout:
            raise AckTimeoutError(
                f"the request log took longer than {self.ack_timeout_s:g}s to store the request"
            ) from None
