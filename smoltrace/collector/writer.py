"""The store's single writer: a bounded queue drained by one thread that group-commits.

Receivers hand over decoded requests and wait on a future. The writer takes everything pending, appends
it to DuckDB in one transaction (one Arrow append per table), commits, then resolves every future. An
acknowledgement therefore always follows a commit (durable acks) while the cost is one commit per
batch, not per request. A full queue is refused at once (``QueueFullError``) so that receivers can
answer with OTLP's retryable codes instead of piling up memory.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa

from smoltrace.collector.decode import DecodedRequest
from smoltrace.store import database

log = logging.getLogger("smoltrace.collector")

INSERT_BATCH_SQL = 'INSERT INTO "{table}" BY NAME SELECT * FROM smoltrace_pending_batch'
RECORD_DIGESTS_SQL = (
    "INSERT INTO smoltrace_ingested_requests BY NAME "
    'SELECT "Digest", "Signal", "Items", now()::TIMESTAMP AS "ReceivedAt" FROM smoltrace_pending_digests'
)
LOAD_DIGESTS_SQL = 'SELECT "Digest" FROM smoltrace_ingested_requests'
# Measured on the ingest benchmark's spans (bench/collector_ingest.py, ~1.5 KB each): checkpointing with
# DuckDB's default string compression (FSST) cost ~19 us/span, zstd ~9 us/span and ~20% fewer bytes on
# disk. A larger WAL threshold checkpoints less often, in bigger row groups. The memory limit (default 1GB)
# keeps the buffer pool from growing towards DuckDB's default of 80% of RAM.
WRITER_SETTINGS = (
    "SET force_compression = 'zstd'",
    "SET checkpoint_threshold = '32MB'",
)


class QueueFullError(Exception):
    """The writer's queue holds as many items as it may; the client should retry later."""

    def __init__(self, pending_items: int, limit: int, retry_after_s: int = 1):
        super().__init__(f"collector queue is full ({pending_items} items pending, limit {limit}); retry later")
        self.retry_after_s = retry_after_s


class WriterStoppedError(Exception):
    """The writer is shutting down and accepts no more requests."""


@dataclass
class WriteResult:
    items: int
    duplicate: bool


@dataclass
class _Pending:
    request: DecodedRequest
    digest: str
    future: Future = field(default_factory=Future)
    action: Callable | None = None  # run_exclusive: called with the connection instead of a write


@dataclass
class WriterStats:
    requests: int = 0
    items: int = 0
    duplicates: int = 0
    commits: int = 0
    failed_requests: int = 0


class StoreWriter:
    """Owns the DuckDB file for writing while the collector runs."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        max_pending_items: int = 50_000,
        max_batch_items: int = 50_000,
        checkpoint_interval_s: float = 60.0,
        memory_limit: str = "1GB",
    ):
        if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", memory_limit):
            raise ValueError(f"memory limit {memory_limit!r} is not a size such as '192MB' or '1GiB'")
        self.memory_limit = memory_limit
        self.db_path = Path(db_path)
        self.max_pending_items = max_pending_items
        self.max_batch_items = max_batch_items
        self.checkpoint_interval_s = checkpoint_interval_s
        self.stats = WriterStats()
        self._queue: collections.deque[_Pending] = collections.deque()
        self._condition = threading.Condition()
        self._pending_items = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._committed_digests: set[str] = set()
        self.connection = None

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        self.connection = database.connect(self.db_path)
        for setting in WRITER_SETTINGS:
            self.connection.execute(setting)
        self.connection.execute(f"SET memory_limit = '{self.memory_limit}'")
        self._committed_digests = {row[0] for row in self.connection.execute(LOAD_DIGESTS_SQL).fetchall()}
        self._thread = threading.Thread(target=self._run, name="smoltrace-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Refuse new requests, commit everything already queued, checkpoint and close the file."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self.connection is not None:
            self.connection.execute("CHECKPOINT")
            self.connection.close()
            self.connection = None

    # -- receivers' side ------------------------------------------------------------------------------

    def is_committed(self, digest: str) -> bool:
        """True when a byte-identical request was already committed (a client retry)."""
        return digest in self._committed_digests

    @property
    def pending_items(self) -> int:
        return self._pending_items

    def submit(self, request: DecodedRequest, digest: str) -> Future:
        """Queue a decoded request; the future resolves to a WriteResult after its commit."""
        pending = _Pending(request, digest)
        with self._condition:
            if self._stopping:
                raise WriterStoppedError("collector is shutting down")
            # A request bigger than the whole limit is still taken when the queue is empty, so it can
            # never be refused forever; the request size limit bounds it.
            if self._pending_items and self._pending_items + request.items > self.max_pending_items:
                raise QueueFullError(self._pending_items, self.max_pending_items)
            self._pending_items += request.items
            self._queue.append(pending)
            self._condition.notify()
        return pending.future

    def run_exclusive(self, action: Callable, timeout_s: float | None = None):
        """Run ``action(connection)`` on the writer thread, between commits, and return its result.

        This is how anything else writes to the store while the collector runs (deleting a run's
        rows, for instance): DuckDB has one writer, so writes go through it in order.
        """
        pending = _Pending(DecodedRequest("exclusive"), digest="", action=action)
        with self._condition:
            if self._stopping:
                raise WriterStoppedError("collector is shutting down")
            self._queue.append(pending)
            self._condition.notify()
        return pending.future.result(timeout=timeout_s)

    # -- the writer thread ----------------------------------------------------------------------------

    def _take_batch(self) -> list[_Pending] | None:
        with self._condition:
            while not self._queue:
                if self._stopping:
                    return None
                self._condition.wait(timeout=1.0)
                if not self._queue and self._due_for_checkpoint():
                    return []
            if self._queue[0].action is not None:
                return [self._queue.popleft()]
            batch, items = [], 0
            while (
                self._queue
                and self._queue[0].action is None
                and (not batch or items + self._queue[0].request.items <= self.max_batch_items)
            ):
                pending = self._queue.popleft()
                items += pending.request.items
                batch.append(pending)
            return batch

    def _run(self) -> None:
        self._last_checkpoint = time.monotonic()
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            if batch and batch[0].action is not None:
                self._run_action(batch[0])
            elif batch:
                self._commit_group(batch)
                with self._condition:
                    self._pending_items -= sum(p.request.items for p in batch)
            if self._due_for_checkpoint():
                self._checkpoint()

    def _run_action(self, pending: _Pending) -> None:
        try:
            pending.future.set_result(pending.action(self.connection))
        except BaseException as exc:
            pending.future.set_exception(exc)

    def _due_for_checkpoint(self) -> bool:
        return time.monotonic() - self._last_checkpoint >= self.checkpoint_interval_s

    def _checkpoint(self) -> None:
        try:
            self.connection.execute("CHECKPOINT")
        except Exception:  # a checkpoint is an optimisation; the WAL keeps the data safe meanwhile
            log.exception("periodic checkpoint failed")
        self._last_checkpoint = time.monotonic()

    def _commit_group(self, batch: list[_Pending]) -> None:
        try:
            results = self._write(batch)
        except Exception as exc:
            if len(batch) > 1:  # isolate the request that failed; the others still commit
                for pending in batch:
                    self._commit_group([pending])
                return
            log.error("store write failed: %s", exc)
            self.stats.failed_requests += 1
            batch[0].future.set_exception(exc)
            return
        for pending, result in zip(batch, results):
            pending.future.set_result(result)

    def _write(self, batch: list[_Pending]) -> list[WriteResult]:
        conn = self.connection
        new_digests, results = {}, []
        tables: dict[str, list[pa.Table]] = collections.defaultdict(list)
        for pending in batch:
            duplicate = pending.digest in self._committed_digests or pending.digest in new_digests
            results.append(WriteResult(pending.request.items, duplicate))
            if duplicate:
                continue
            new_digests[pending.digest] = pending.request
            for table_name, table in pending.request.tables.items():
                tables[table_name].append(table)
        conn.begin()
        try:
            for table_name, parts in tables.items():
                conn.register("smoltrace_pending_batch", pa.concat_tables(parts))
                try:
                    conn.execute(INSERT_BATCH_SQL.format(table=table_name))
                finally:
                    conn.unregister("smoltrace_pending_batch")
            if new_digests:
                digests = pa.table({
                    "Digest": list(new_digests),
                    "Signal": [r.signal for r in new_digests.values()],
                    "Items": [r.items for r in new_digests.values()],
                })  # fmt: skip
                conn.register("smoltrace_pending_digests", digests)
                try:
                    conn.execute(RECORD_DIGESTS_SQL)
                finally:
                    conn.unregister("smoltrace_pending_digests")
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        self._committed_digests.update(new_digests)
        self.stats.commits += 1
        self.stats.requests += len(batch)
        self.stats.items += sum(r.items for r in results if not r.duplicate)
        self.stats.duplicates += sum(r.duplicate for r in results)
        return results
