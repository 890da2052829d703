"""The store's single writer: a bounded queue drained by one thread that group-commits.

Receivers hand over decoded requests and wait on a future. The writer takes everything pending,
appends the raw requests to the request log and fsyncs it (on a helper thread, while DuckDB appends the
rows: one Arrow append per table, one transaction), commits, then resolves every future. An
acknowledgement therefore always follows both an fsync (durable: a crash replays the log) and a commit
(visible to queries), at the cost of one fsync and one commit per batch, not per request.

DuckDB runs without its own WAL. Every ``checkpoint_log_bytes`` of log (and every
``checkpoint_interval_s``) the writer starts a new log segment, runs CHECKPOINT (every committed row is
written into the store file) and deletes the full segment. A full queue is refused at once
(``QueueFullError``) so that receivers can answer with OTLP's retryable codes instead of piling up
memory.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa

from smoltrace.collector import thread_names
from smoltrace.collector.decode import DecodedRequest, OTLPDecodeError, decode
from smoltrace.collector.request_log import RequestLog, request_digest
from smoltrace.store import database

log = logging.getLogger("smoltrace.collector")

# Column order of every table, for positional Arrow appends (conn.from_arrow(...).insert_into(...) costs
# one statement; registering the batch as a view, INSERT ... BY NAME and unregistering cost three).
TABLE_COLUMNS_SQL = (
    "SELECT table_name, list(column_name ORDER BY ordinal_position) FROM information_schema.columns "
    "WHERE table_catalog = current_database() AND table_schema = 'main' GROUP BY table_name"
)
# One statement with list parameters: cheaper than registering a 4-row Arrow table per commit.
RECORD_DIGESTS_SQL = (
    "INSERT INTO smoltrace_ingested_requests BY NAME "
    'SELECT unnest($digests::VARCHAR[]) AS "Digest", unnest($signals::VARCHAR[]) AS "Signal", '
    'unnest($items::BIGINT[]) AS "Items", now()::TIMESTAMP AS "ReceivedAt"'
)
LOAD_DIGESTS_SQL = 'SELECT "Digest" FROM smoltrace_ingested_requests'
# Measured on the ingest benchmark's spans (bench/collector_ingest.py, ~1.5 KB each): checkpointing with
# DuckDB's default string compression (FSST) cost ~19 us/span, zstd ~9 us/span and ~20% fewer bytes on
# disk. Checkpoints are the writer's decision (CHECKPOINT_LOG_BYTES), never DuckDB's automatic ones. The
# memory limit (default 1GB) keeps the buffer pool from growing towards DuckDB's default of 80% of RAM.
WRITER_SETTINGS = (
    "SET force_compression = 'zstd'",
    "SET checkpoint_threshold = '1TB'",
)

#: Checkpoint once the request log holds this much: bounds both the replay after a crash and the rows
#: DuckDB keeps in memory until they are written to the file.
CHECKPOINT_LOG_BYTES = 64 * 1024 * 1024


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
    body: bytes = b""
    future: Future = field(default_factory=Future)
    action: Callable | None = None  # run_exclusive: called with the connection instead of a write


@dataclass
class WriterStats:
    requests: int = 0
    items: int = 0
    duplicates: int = 0
    commits: int = 0
    checkpoints: int = 0
    failed_requests: int = 0
    replayed_requests: int = 0


class StoreWriter:
    """Owns the DuckDB file for writing while the collector runs."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        max_pending_items: int = 50_000,
        max_batch_items: int = 50_000,
        checkpoint_interval_s: float = 10.0,
        checkpoint_log_bytes: int = CHECKPOINT_LOG_BYTES,
        memory_limit: str = "1GB",
    ):
        if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", memory_limit):
            raise ValueError(f"memory limit {memory_limit!r} is not a size such as '192MB' or '1GiB'")
        self.memory_limit = memory_limit
        self.db_path = Path(db_path)
        self.max_pending_items = max_pending_items
        self.max_batch_items = max_batch_items
        self.checkpoint_interval_s = checkpoint_interval_s
        self.checkpoint_log_bytes = checkpoint_log_bytes
        self.request_log = RequestLog(self.db_path)
        self.stats = WriterStats()
        self._queue: collections.deque[_Pending] = collections.deque()
        self._condition = threading.Condition()
        self._pending_items = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._log_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smoltrace-request-log",
                                              initializer=thread_names.name_this_thread,
                                              initargs=(thread_names.REQUEST_LOG,))
        self._committed_digests: set[str] = set()
        self._table_columns: dict[str, list[str]] = {}
        self.connection = None

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        self.connection = database.connect_for_ingest(self.db_path)
        for setting in WRITER_SETTINGS:
            self.connection.execute(setting)
        self.connection.execute(f"SET memory_limit = '{self.memory_limit}'")
        self._committed_digests = {row[0] for row in self.connection.execute(LOAD_DIGESTS_SQL).fetchall()}
        self._table_columns = dict(self.connection.execute(TABLE_COLUMNS_SQL).fetchall())
        self._recover()
        self.request_log.open()
        self._last_checkpoint = time.monotonic()
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
            self._log_thread.shutdown()
            self.request_log.close()
            self._checkpoint_then_delete(self.request_log.segments())
            self.connection.close()
            self.connection = None

    def _recover(self) -> None:
        """Store the requests a crash left in the request log (acknowledged, maybe not checkpointed)."""
        segments = self.request_log.segments()
        batch: list[_Pending] = []
        for signal, body in self.request_log.replay():
            self.stats.replayed_requests += 1
            digest = request_digest(signal, body)
            if digest in self._committed_digests:  # already checkpointed; _write drops in-batch repeats
                continue
            try:
                batch.append(_Pending(decode(signal, body), digest))
            except OTLPDecodeError as exc:  # cannot happen for what this version logged; never fatal
                log.error("request log: a %s request no longer decodes and is skipped: %s", signal, exc)
                continue
            if sum(p.request.items for p in batch) >= self.max_batch_items:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)
        if segments:
            self._checkpoint_then_delete(segments)
            log.warning(
                "recovered %d acknowledged requests from %d request log segment(s) of %s (%d items were "
                "not in the store yet)", self.stats.replayed_requests, len(segments), self.db_path,
                self.stats.items,
            )  # fmt: skip

    # -- receivers' side ------------------------------------------------------------------------------

    def is_committed(self, digest: str) -> bool:
        """True when a byte-identical request was already committed (a client retry)."""
        return digest in self._committed_digests

    @property
    def pending_items(self) -> int:
        return self._pending_items

    def check_room(self) -> None:
        """Raise QueueFullError when the queue is already at its limit (before any request is decoded)."""
        pending = self._pending_items
        if pending >= self.max_pending_items:
            raise QueueFullError(pending, self.max_pending_items)

    def submit(self, request: DecodedRequest, digest: str, body: bytes) -> Future:
        """Queue a decoded request and its raw bytes (for the request log); the future resolves to a
        WriteResult once both are durable and the rows committed."""
        pending = _Pending(request, digest, body)
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
        thread_names.name_this_thread(thread_names.WRITER)
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
            result = pending.action(self.connection)
            self.connection.execute("CHECKPOINT")  # what the action changed is not in the request log
        except BaseException as exc:
            pending.future.set_exception(exc)
        else:
            pending.future.set_result(result)

    def _due_for_checkpoint(self) -> bool:
        return self.request_log.current_bytes >= self.checkpoint_log_bytes or (
            self.request_log.current_bytes > 0
            and time.monotonic() - self._last_checkpoint >= self.checkpoint_interval_s
        )

    def _checkpoint(self) -> None:
        """Between batches: start a new log segment, write every committed row into the store file,
        then delete the full segment (each of its batches was committed before the CHECKPOINT)."""
        self.request_log.rotate()
        self._last_checkpoint = time.monotonic()
        full = [segment for segment in self.request_log.segments() if segment != self.request_log.current]
        try:
            self._checkpoint_then_delete(full)
        except Exception:  # the segment stays; the next checkpoint (or the next start) covers it
            log.exception("checkpoint failed; the request log keeps the data meanwhile")
            return
        self.stats.checkpoints += 1

    def _checkpoint_then_delete(self, segments: list[Path]) -> None:
        """CHECKPOINT writes every committed row into the store file; only then are ``segments`` (whose
        batches were all committed) no longer needed for recovery."""
        self.connection.execute("CHECKPOINT")
        for segment in segments:
            segment.unlink()

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
        new_digests, results, logged = {}, [], []
        tables: dict[str, list[pa.Table]] = collections.defaultdict(list)
        for pending in batch:
            duplicate = pending.digest in self._committed_digests or pending.digest in new_digests
            results.append(WriteResult(pending.request.items, duplicate))
            if duplicate:
                continue
            new_digests[pending.digest] = pending.request
            if pending.body:
                logged.append((pending.request.signal, pending.body))
            for table_name, table in pending.request.tables.items():
                tables[table_name].append(table)
        # The log's write and fsync (I/O, no GIL) run while DuckDB appends the rows (native, no GIL);
        # the commit waits for both, so an acknowledgement still follows the fsync.
        logging_done = self._log_thread.submit(self.request_log.append, logged) if logged else None
        conn.begin()
        try:
            for table_name, parts in tables.items():
                rows = pa.concat_tables(parts).select(self._table_columns[table_name])
                conn.from_arrow(rows).insert_into(table_name)
            if new_digests:
                conn.execute(RECORD_DIGESTS_SQL, {
                    "digests": list(new_digests),
                    "signals": [r.signal for r in new_digests.values()],
                    "items": [r.items for r in new_digests.values()],
                })  # fmt: skip
            if logging_done is not None:
                logging_done.result()  # durable from here: a crash after this replays them
            conn.commit()
        except Exception:
            if logging_done is not None:
                futures_wait([logging_done])  # never leave a log write running into the next batch
            conn.rollback()
            raise
        self._committed_digests.update(new_digests)
        self.stats.commits += 1
        self.stats.requests += len(batch)
        self.stats.items += sum(r.items for r in results if not r.duplicate)
        self.stats.duplicates += sum(r.duplicate for r in results)
        return results
