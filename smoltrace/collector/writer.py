"""The store's writer: a two-stage pipeline between the receivers and the DuckDB file.

1. **Request log** (thread ``st-request-log``): takes every request the receivers queued, drops
   byte-identical retries (their digest is already known), appends the raw request bytes to the request
   log and fsyncs once for the whole group, then acknowledges them. An acknowledgement therefore always
   follows an fsync: a crash after it replays the request from the log (``request_log.py``). This is the
   store's write-ahead log, in the role a database's WAL plays for its commits.
2. **Store** (thread ``st-writer``): takes everything the log made durable, in log order, and appends it
   to DuckDB: one Arrow append per table and one transaction per commit, however many requests it
   holds. A commit holds whole row groups (``database.ROW_GROUP_SIZE`` rows per table) whenever it can:
   DuckDB then compresses them and writes them to the file at commit, where a smaller transaction is
   copied into the table and compressed by the next CHECKPOINT (~40% less DuckDB work). So a request's
   rows may span two commits; the rows short of a row group wait (``PARTIAL_ROW_GROUP_WAIT_S`` at most)
   and are committed at once when a reader waits for them. Spans that follow such a commit first fill
   the row group it left open, in a commit of their own, so that no part-full row group lies before
   the whole ones DuckDB writes (the next checkpoint would read those back to merge them). A request
   counts as committed once all its rows are. Every ``checkpoint_log_bytes`` of log (and every
   ``checkpoint_interval_s``) it starts a new log segment, runs CHECKPOINT (every committed row is written
   into the store file) and deletes the segments whose requests were all committed before that
   checkpoint. A checkpoint during a stream of spans waits until the spans committed since the last one
   fill whole row groups (``ALIGNED_TABLE``); the requests it then stores in part are recorded in
   ``smoltrace_stored_parts``, so that a restart replays only their other rows.

Why two stages: a commit, and a CHECKPOINT (its fsync of the store file), no longer hold up the
acknowledgements, so clients keep sending while DuckDB works and the store stage gets large batches
(DuckDB's fixed cost per append and per commit, ~2.5 ms, is then spread over thousands of rows).

Reads see every acknowledged request: ``cursor()`` waits until the store stage has committed everything
acknowledged before the call (a read-your-writes barrier), so a client that exported and then queries,
as ``smoltrace-eval`` does, never misses its own data. The queue is bounded in items, counted from
submission to commit. Above half of the bound, acknowledgements wait for DuckDB to catch up (flow
control: synchronous exporters slow down instead of being refused; ``ack_after_commit`` makes every
acknowledgement wait for its own commit); at the bound a request is refused at once
(``QueueFullError``) so that receivers can answer with OTLP's retryable codes instead of piling up memory.
Spans are refused the same way while the facts deriver is too far behind them (``FactsDeriver.is_behind``).

DuckDB runs without its own WAL (``RECOVERY_MODE no_wal_writes``): the request log replaces it.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from smoltrace.collector import thread_names
from smoltrace.collector.decode import DecodedRequest, OTLPDecodeError, decode
from smoltrace.collector.deriver import FactsDeriver
from smoltrace.collector.request_log import Damage, RequestLog, keep_aside, read_segment, request_digest
from smoltrace.collector.sizes import parse_size
from smoltrace.store import database, facts
from smoltrace.store.open_errors import check_store_name, explain_open_error

log = logging.getLogger("smoltrace.collector")

# Column order of every table, for positional Arrow appends (conn.from_arrow(...).insert_into(...) costs
# one statement; registering the batch as a view, INSERT ... BY NAME and unregistering cost three).
TABLE_COLUMNS_SQL = (
    "SELECT table_name, list(column_name ORDER BY ordinal_position) FROM information_schema.columns "
    "WHERE table_catalog = current_database() AND table_schema = 'main' GROUP BY table_name"
)
# One statement with list parameters: cheaper than registering a small Arrow table per commit.
RECORD_DIGESTS_SQL = (
    "INSERT INTO smoltrace_ingested_requests BY NAME "
    'SELECT unnest($digests::VARCHAR[]) AS "Digest", unnest($signals::VARCHAR[]) AS "Signal", '
    'unnest($items::BIGINT[]) AS "Items", now()::TIMESTAMP AS "ReceivedAt"'
)
LOAD_DIGESTS_SQL = 'SELECT "Digest" FROM smoltrace_ingested_requests'
LOAD_STORED_PARTS_SQL = 'SELECT "Digest", "TableName", "Rows" FROM smoltrace_stored_parts'
CLEAR_STORED_PARTS_SQL = "DELETE FROM smoltrace_stored_parts"
RECORD_STORED_PARTS_SQL = (
    "INSERT INTO smoltrace_stored_parts "
    "SELECT unnest($digests::VARCHAR[]), unnest($tables::VARCHAR[]), unnest($rows::BIGINT[])"
)
# Measured on the ingest benchmark's spans (bench/collector_ingest.py, ~1.5 KB each): checkpointing with
# DuckDB's default string compression (FSST) cost ~19 us/span, zstd ~9 us/span and ~20% fewer bytes on
# disk. Checkpoints are the writer's decision (CHECKPOINT_LOG_BYTES), never DuckDB's automatic ones. The
# memory limit (DEFAULT_MEMORY_LIMIT) keeps the buffer pool from growing towards DuckDB's default of 80% of RAM.
# One DuckDB thread: with two, an 8,000-row Arrow append cost ~40% more CPU (DuckDB's worker threads
# split the scan) for no gain in ingest, on the machine's second core that the receivers need. Queries
# through the collector then run single-threaded (up to 8 at once).
WRITER_SETTINGS = (
    "SET force_compression = 'zstd'",
    "SET checkpoint_threshold = '1TB'",
    "SET threads = 1",
)
#: DuckDB's memory limit for the store unless the caller sets one: its buffer pool (the file's cached
#: blocks, the rows committed since the last checkpoint, the deriver's and the queries' working memory)
#: stays within it. Lower limits keep the collector smaller while it answers queries under a firehose of
#: LLM spans and cost some small-span ingest; a whole-store query that needs more than what ingest leaves
#: fails with 'Out of Memory Error' (the whole leaderboard of a 10M-span store while spans keep
#: arriving: bench/README.md, "query_scale.py").
DEFAULT_MEMORY_LIMIT = "192MB"

#: DuckDB keeps the blocks a checkpoint wrote in its buffer pool (the writer never reads them again), so
#: during a long ingest the pool grows towards the memory limit (+60 MB in 30 s of the ingest benchmark).
#: Briefly lowering the limit after a checkpoint evicts them, when no read and no derivation round is
#: running (either could fail for want of memory during that instant); queries reload what they need
#: from the file.
EVICT_AFTER_CHECKPOINT_LIMIT = "16MB"
#: While a checkpoint waits for the deriver to end its round, the store stage looks again this often.
CHECKPOINT_POLL_S = 0.01

#: Checkpoint once the request log holds this much: bounds both the replay after a crash and the rows
#: DuckDB keeps in memory until they are written to the file.
CHECKPOINT_LOG_BYTES = 64 * 1024 * 1024

#: The table whose checkpoints wait for whole row groups. DuckDB starts a new row group for the rows
#: committed after a checkpoint, and the next checkpoint's vacuum merges a part-full row group with the
#: rows after it, copying all of them in memory: with LLM spans (~15 KB each) that copy was the
#: collector's memory peak (bench/checkpoint_memory.py, bench/README.md).
ALIGNED_TABLE = "otel_traces"
#: A due checkpoint waits for a whole row group until the request log holds ALIGN_WAIT_FACTOR times
#: ``checkpoint_log_bytes`` or the last checkpoint is ALIGN_WAIT_FACTOR times ``checkpoint_interval_s``
#: old (a slow stream, a live run: merging its few rows is cheap).
ALIGN_WAIT_FACTOR = 4

#: How long a reader waits for the acknowledged requests to be committed before it reads anyway.
READ_BARRIER_TIMEOUT_S = 60.0

#: How long rows short of a whole row group may wait for more before they are committed anyway (a read
#: through the collector, a checkpoint or a shutdown commits them at once).
PARTIAL_ROW_GROUP_WAIT_S = 0.5

# What a commit of the store stage includes (StoreWriter._commit_open).
WHOLE_ROW_GROUPS = "whole row groups"  # per table, a multiple of database.ROW_GROUP_SIZE rows
STARTED_REQUESTS = "started requests"  # every request some of whose rows are committed, and those before
EVERYTHING = "everything"


#: A queued item's share of memory: a request counts as its items (spans, points, logs) or as its decoded
#: size in units of this many bytes, whichever is more, so that a queue of large spans (an LLM span
#: holds the whole conversation: ~15 KB on average in a real run) stays as small as one of typical ones.
QUEUE_ITEM_BYTES = 2048


class QueueFullError(Exception):
    """The collector takes no more now (its queue is full, or its facts are too far behind); the client
    should retry later."""

    def __init__(self, reason: str, retry_after_s: int = 1):
        super().__init__(f"collector {reason}; retry later")
        self.retry_after_s = retry_after_s


def queue_full(pending_items: int, limit: int) -> QueueFullError:
    return QueueFullError(f"queue is full ({pending_items} items pending, limit {limit})")


class WriterStoppedError(Exception):
    """The writer is shutting down and accepts no more requests."""


class StoreUnavailableError(Exception):
    """The disk refused a write (full, I/O error): nothing was acknowledged, the client should retry;
    the writer recovers by itself once writes work again."""


class _StoreFailed(Exception):
    """DuckDB failed to write (and so invalidated its database): the store must be reopened."""


#: Errors after which DuckDB's database cannot be used any more (it invalidates itself on a failed
#: write or checkpoint) or that pass once the disk or memory frees: the store is reopened and the
#: request log replayed, never a request set aside for them.
_STORE_FAILURES = (
    duckdb.FatalException, duckdb.IOException, duckdb.OutOfMemoryException, duckdb.TransactionException,
    duckdb.ConnectionException, OSError, MemoryError,
)  # fmt: skip


def _is_store_failure(exc: BaseException) -> bool:
    return isinstance(exc, _STORE_FAILURES) or "invalidated" in str(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass
class WriteResult:
    items: int
    duplicate: bool


@dataclass
class _Pending:
    request: DecodedRequest
    digest: str
    body: bytes = b""  # the raw request, until the request log holds it
    future: Future = field(default_factory=Future)
    action: Callable | None = None  # run_exclusive: called with the connection instead of a write
    seq: int = 0  # position in the request log (1, 2, ...), set once logged
    committed_rows: dict[str, int] = field(default_factory=dict)  # per table: rows already committed

    weight: int = field(init=False)  # what it counts against the queue's limit (see QUEUE_ITEM_BYTES)

    def __post_init__(self) -> None:
        size = sum(table.nbytes for table in self.request.tables.values())
        self.weight = max(self.request.items, size // QUEUE_ITEM_BYTES)

    def uncommitted_rows(self, table_name: str) -> int:
        return self.request.tables[table_name].num_rows - self.committed_rows.get(table_name, 0)

    @property
    def fully_committed(self) -> bool:
        return all(self.uncommitted_rows(name) == 0 for name in self.request.tables)


@dataclass
class WriterStats:
    requests: int = 0
    items: int = 0
    duplicates: int = 0
    commits: int = 0
    checkpoints: int = 0
    failed_requests: int = 0
    replayed_requests: int = 0
    store_reopens: int = 0  # after DuckDB failed to write (disk full, I/O error)
    queued_traces: int = 0  # traces queued for the facts deriver


class ReadCursor:
    """A DuckDB cursor on the collector's store (every DuckDB cursor method works on it) that tells the
    writer when it is closed, explicitly or when dropped."""

    def __init__(self, cursor, on_close: Callable[[], None]):
        self._cursor = cursor
        self._on_close = on_close

    def __getattr__(self, name):
        return getattr(self._cursor, name)

    def execute(self, *args, **kwargs) -> ReadCursor:
        self._cursor.execute(*args, **kwargs)
        return self  # as DuckDB's own execute does, so that reader().execute(...).fetchall() works

    def close(self) -> None:
        self._release()
        self._cursor.close()

    def _release(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def __enter__(self) -> ReadCursor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        self._release()  # DuckDB closes the cursor itself when it is garbage-collected


def _requests_in(plan: list[tuple[_Pending, str, int, int]]) -> list[_Pending]:
    """The requests a commit plan touches, once each, in plan order."""
    return list({id(pending): pending for pending, *_ in plan}.values())


def _acknowledge(logged: list[_Pending]) -> None:
    for pending in logged:
        pending.future.set_result(WriteResult(pending.request.items, duplicate=False))


class StoreWriter:
    """Owns the DuckDB file for writing while the collector runs."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        max_pending_items: int = 32_000,
        max_batch_items: int = 4 * database.ROW_GROUP_SIZE,
        checkpoint_interval_s: float = 10.0,
        checkpoint_log_bytes: int = CHECKPOINT_LOG_BYTES,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        ack_after_commit: bool = False,
    ):
        parse_size(memory_limit)  # ValueError: not a size DuckDB takes
        self.memory_limit = memory_limit
        self.db_path = Path(db_path)
        self.max_pending_items = max_pending_items
        self.max_batch_items = max_batch_items
        self.checkpoint_interval_s = checkpoint_interval_s
        self.checkpoint_log_bytes = checkpoint_log_bytes
        self.request_log = RequestLog(self.db_path)
        self.stats = WriterStats()
        # One condition guards both queues, the counters and the sequence numbers below.
        self._condition = threading.Condition()
        self._incoming: collections.deque[_Pending] = collections.deque()  # waiting for the log
        self._logged: collections.deque[_Pending] = collections.deque()  # acknowledged, waiting for DuckDB
        self._pending_items = 0  # submitted and not yet committed: what the queue limit counts
        # Flow control: while more than this is waiting for DuckDB, acknowledgements of logged requests
        # wait for the store to catch up, so synchronous clients slow down instead of being refused.
        # With ack_after_commit, every acknowledgement waits for its request's commit.
        self.ack_after_commit = ack_after_commit
        self.ack_hold_items = 0 if ack_after_commit else max_pending_items // 2
        self._held_acks: list[_Pending] = []
        # Store stage: requests taken from the log queue and not yet wholly committed, in log order.
        self._open: collections.deque[_Pending] = collections.deque()
        self._partial_since = 0.0  # when the rows now waiting for a whole row group started to wait
        self._flush_requested = False  # a reader waits: commit everything now
        self._known_digests: set[str] = set()  # logged or committed: a byte-identical retry is a duplicate
        self._logged_seq = 0  # last request the log made durable (and acknowledged)
        self._committed_seq = 0  # last logged request whose rows are committed (or set aside)
        self._stopping = False
        self._log_finished = False
        # Held by the log stage while it appends, fsyncs and queues a group, and by the store stage while
        # it rotates segments: a closed segment's requests are then all in the store queue already.
        self._log_lock = threading.Lock()
        self._closed_segments: list[tuple[Path, int]] = []  # (segment, last seq in it), awaiting deletion
        self._log_thread: threading.Thread | None = None
        self._thread: threading.Thread | None = None
        # Log segments a checkpoint made useless, deleted by a thread of their own: on a filesystem
        # mounted with `discard`, deleting 64 MB takes ~50 ms that the store stage would otherwise wait.
        self._segments_to_delete: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._delete_thread: threading.Thread | None = None
        self._table_columns: dict[str, list[str]] = {}
        self._readers_lock = threading.Lock()
        self._open_readers = 0
        self.connection = None
        # Self-healing: why a stage cannot write now ("log", "store"); empty while healthy.
        self._degraded: dict[str, str] = {}
        self._store_failure: BaseException | None = None  # a DuckDB write failed: reopen the store
        self._unsettled: list[_Pending] = []  # "committed" by a failed commit: stored again from the log
        #: Called with each new connection to the store (the query API switches off external access).
        self.on_open: list[Callable] = []
        #: Why stop() could not write everything into the store file (the request log keeps it), or None.
        self.stop_error: str | None = None
        self.deriver: FactsDeriver | None = None
        self._facts_seq = 0  # last entry this writer added to the facts queue
        self._aligned_rows = 0  # rows of ALIGNED_TABLE committed since the last checkpoint
        self._parts_recorded = True  # smoltrace_stored_parts may hold rows (cleared at the next checkpoint)
        self._checkpoint_waits = False  # a checkpoint waits for the deriver to end its round

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the store, store what the request log holds, start the stages. Raises StoreOpenError,
        one line saying why (locked, full disk, not a DuckDB file, a reserved name)."""
        created = not self.db_path.exists()
        error = None
        try:
            self._open_store()
            self._known_digests = self._stored_digests()
            self._recover()
            self.request_log.open()
        except Exception as exc:
            self._close_store()
            self.request_log.close()
            if created:  # a file cut short (by a full disk, say) would fail every later start
                for leftover in (self.db_path, self.db_path.with_name(self.db_path.name + ".wal")):
                    leftover.unlink(missing_ok=True)
            error = explain_open_error(self.db_path, exc)
        if error is not None:  # raised here, without the original: its traceback would keep DuckDB's
            raise error  # half-opened connection (and its lock on the file) alive in the caller
        self._last_checkpoint = time.monotonic()
        self._log_thread = threading.Thread(target=self._log_loop, name="smoltrace-request-log", daemon=True)
        self._thread = threading.Thread(target=self._store_loop, name="smoltrace-writer", daemon=True)
        self._log_thread.start()
        self._thread.start()
        self._delete_thread = threading.Thread(target=self._delete_loop, name="smoltrace-log-delete", daemon=True)
        self._delete_thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Refuse new requests, log and commit everything already queued, checkpoint and close the file.

        A disk that fails now loses nothing: what the store file lacks stays in the request log, stored
        at the next start (``stop_error`` says so)."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for thread in (self._log_thread, self._thread):
            if thread is not None:
                thread.join(timeout_s)
        if self._delete_thread is not None:
            self._segments_to_delete.put(None)  # after the deletions already asked for
            self._delete_thread.join(timeout_s)
        self._log_thread = self._thread = self._delete_thread = None
        if self.deriver is not None:
            self.deriver.stop(timeout_s)  # derives what is queued first
        self.request_log.close()
        if self.connection is not None:
            try:
                self._checkpoint_then_delete(self.request_log.segments())
            except Exception as exc:
                self.stop_error = (
                    f"could not write the store at shutdown ({_first_line(exc)}); the request log keeps "
                    f"every acknowledged request, and the next start stores them"
                )
                log.error("%s", self.stop_error)
        self._close_store()

    def _open_store(self) -> None:
        """Open the store for ingest (at start, and again after DuckDB failed to write)."""
        check_store_name(self.db_path)
        self.connection = database.connect_for_ingest(self.db_path)
        self._aligned_rows = 0  # the file holds what the last checkpoint wrote: new rows start a row group
        self._parts_recorded = True  # whatever the file holds is cleared at the next checkpoint
        for setting in WRITER_SETTINGS:
            self.connection.execute(setting)
        self.connection.execute(f"SET memory_limit = '{self.memory_limit}'")
        self._table_columns = dict(self.connection.execute(TABLE_COLUMNS_SQL).fetchall())
        for hook in self.on_open:
            hook(self.connection)
        self._facts_seq = self.connection.execute(facts.LAST_QUEUED_SQL).fetchone()[0]
        self.deriver = FactsDeriver(self.connection.cursor())
        self.deriver.start(self._facts_seq)  # first, what a previous collector left queued

    def _stored_digests(self) -> set[str]:
        return {row[0] for row in self.connection.execute(LOAD_DIGESTS_SQL).fetchall()}

    def _close_store(self) -> None:
        """Close the store's connection, also one that DuckDB invalidated (never raises)."""
        if self.deriver is not None:
            self.deriver.stop(timeout_s=5.0)
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # an invalidated database may refuse even that; it is dropped anyway
                log.debug("closing the store failed: %s", exc)

    def _recover(self) -> None:
        """Store what the request log holds and the store lacks (after a crash, or when the store is
        reopened after a failed write), checkpoint, then delete the segments, except one holding bytes
        that could not be replayed: that one is kept aside (renamed) and logged, never deleted."""
        segments = self.request_log.segments()
        stored = self._stored_digests()
        stored_parts: dict[str, dict[str, int]] = collections.defaultdict(dict)
        for digest, table_name, rows in self.connection.execute(LOAD_STORED_PARTS_SQL).fetchall():
            stored_parts[digest][table_name] = rows
        replayed, items_before = 0, self.stats.items
        unreplayed: dict[Path, str] = {}
        for segment in segments:
            damage: list[Damage] = []
            for signal, body in read_segment(segment, damage):
                replayed += 1
                digest = request_digest(signal, body)
                if digest in stored:  # already checkpointed (or earlier in the log)
                    continue
                try:
                    request = decode(signal, body)
                except OTLPDecodeError as exc:  # cannot happen for what this version logged; never fatal
                    log.error("request log %s: a %s request no longer decodes: %s", segment, signal, exc)
                    unreplayed[segment] = "a request that no longer decodes"
                    continue
                stored.add(digest)
                self._known_digests.add(digest)
                pending = _Pending(request, digest)
                pending.committed_rows.update(stored_parts.get(digest, {}))  # a checkpoint stored those
                self._open.append(pending)
                self._commit(WHOLE_ROW_GROUPS)
            damaged_bytes = sum(d.length for d in damage if not d.unfinished)
            if damaged_bytes:
                unreplayed[segment] = f"{damaged_bytes} damaged bytes"
        self._commit(EVERYTHING)
        self.stats.replayed_requests += replayed
        if not segments:
            return
        with self.deriver.paused():  # the checkpoint's eviction could fail a round running meanwhile
            self._checkpoint_then_delete([s for s in segments if s not in unreplayed])
        for segment, what in unreplayed.items():
            kept = keep_aside(segment)
            log.error(
                "request log segment %s holds %s that could not be replayed: kept as %s (every record of "
                "it that checks out is stored)", segment, what, kept,
            )  # fmt: skip
        log.warning(
            "recovered %d acknowledged requests from %d request log segment(s) of %s (%d items were "
            "not in the store yet)", replayed, len(segments), self.db_path, self.stats.items - items_before,
        )  # fmt: skip

    def health(self) -> dict:
        """``{"status": "ok"}``, or ``{"status": "degraded", "reason": ...}`` while a stage cannot write
        (it keeps trying) or has stopped."""
        reasons = list(self._degraded.values())
        for name, thread in (("request log", self._log_thread), ("store writer", self._thread)):
            if thread is not None and not thread.is_alive() and not self._stopping:
                reasons.append(f"the {name} thread has stopped")
        return {"status": "degraded", "reason": "; ".join(reasons)} if reasons else {"status": "ok"}

    # -- receivers' and readers' side -----------------------------------------------------------------

    def is_known(self, digest: str) -> bool:
        """True when a byte-identical request was already acknowledged (a client retry)."""
        return digest in self._known_digests

    @property
    def pending_items(self) -> int:
        return self._pending_items

    def check_room(self, signal: str) -> None:
        """Raise QueueFullError when the queue is already at its limit, or, for spans, when the facts
        deriver is too far behind them (before any request is decoded)."""
        pending = self._pending_items
        if pending >= self.max_pending_items:
            raise queue_full(pending, self.max_pending_items)
        if signal == "traces" and self.deriver.is_behind():
            deriver = self.deriver
            raise QueueFullError(
                f"is behind deriving facts ({deriver.underived_traces} traces waiting, limit {deriver.max_underived_traces})"
            )

    def submit(self, request: DecodedRequest, digest: str, body: bytes) -> Future:
        """Queue a decoded request and its raw bytes; the future resolves to a WriteResult once the
        request log holds them on disk (the acknowledgement). Their rows are committed soon after."""
        pending = _Pending(request, digest, body)
        with self._condition:
            if self._stopping:
                raise WriterStoppedError("collector is shutting down")
            # A request bigger than the whole limit is still taken when the queue is empty, so it can
            # never be refused forever; the request size limit bounds it.
            if self._pending_items and self._pending_items + pending.weight > self.max_pending_items:
                raise queue_full(self._pending_items, self.max_pending_items)
            self._pending_items += pending.weight
            self._incoming.append(pending)
            self._condition.notify_all()
        return pending.future

    def wait_until_stored(self, timeout_s: float = READ_BARRIER_TIMEOUT_S) -> bool:
        """Wait until every request acknowledged so far is committed (visible to queries); False when
        ``timeout_s`` passed first (a long exclusive action, a stalled disk)."""
        with self._condition:
            target = self._logged_seq
            if self._committed_seq < target:
                self._flush_requested = True  # rows waiting for a whole row group are committed now
                self._condition.notify_all()
            return self._condition.wait_for(
                lambda: self._committed_seq >= target or not (self._thread and self._thread.is_alive()),
                timeout=timeout_s,
            )

    def cursor(self, wait_s: float = READ_BARRIER_TIMEOUT_S) -> ReadCursor:
        """A cursor on the store that sees every request acknowledged before this call (it waits up to
        ``wait_s`` for their commit; 0: no wait, for reads that need no data); close it when done (the
        writer frees memory only while no cursor is open)."""
        if wait_s > 0:
            started = time.monotonic()
            if not self.wait_until_stored(wait_s):
                log.warning("reading before every acknowledged request is committed: the store writer is busy")
            elif not self.deriver.wait_until_derived(max(0.0, wait_s - (time.monotonic() - started))):
                log.warning("reading before the facts of every committed trace are derived: the deriver is busy")
        connection = self.connection
        if connection is None:
            raise StoreUnavailableError("the store is being reopened after a failed write; retry shortly")
        with self._readers_lock:
            self._open_readers += 1
            return ReadCursor(connection.cursor(), self._reader_closed)

    def _reader_closed(self) -> None:
        with self._readers_lock:
            self._open_readers -= 1

    def run_exclusive(self, action: Callable, timeout_s: float | None = None):
        """Run ``action(connection)`` on the store thread, after every acknowledged request is committed,
        and return its result.

        This is how anything else writes to the store while the collector runs (deleting a run's
        rows, for instance): DuckDB has one writer, so writes go through it in order.
        """
        pending = _Pending(DecodedRequest("exclusive"), digest="", action=action)
        with self._condition:
            if self._stopping:
                raise WriterStoppedError("collector is shutting down")
            self._logged.append(pending)
            self._condition.notify_all()
        return pending.future.result(timeout=timeout_s)

    # -- stage 1: the request log ---------------------------------------------------------------------

    def _log_loop(self) -> None:
        thread_names.name_this_thread(thread_names.REQUEST_LOG)
        while True:
            with self._condition:
                while not self._incoming:
                    if self._stopping:
                        self._log_finished = True
                        self._condition.notify_all()
                        return
                    self._condition.wait()
                group = list(self._incoming)
                self._incoming.clear()
            self._log_group(group)

    def _log_group(self, group: list[_Pending]) -> None:
        """Append the group's new requests to the log, fsync once, queue them for DuckDB, acknowledge."""
        fresh, duplicates, digests = [], [], set()
        for pending in group:
            if pending.digest in self._known_digests or pending.digest in digests:
                duplicates.append(pending)
            else:
                digests.add(pending.digest)
                fresh.append(pending)
        try:
            with self._log_lock:
                if fresh:
                    self.request_log.append([(p.request.signal, p.body) for p in fresh])
                with self._condition:
                    for pending in fresh:
                        self._logged_seq += 1
                        pending.seq = self._logged_seq
                        pending.body = b""  # on disk now; the decoded tables are what DuckDB needs
                        self._logged.append(pending)
                    self._known_digests.update(digests)
                    self._pending_items -= sum(p.weight for p in duplicates)
                    self.stats.duplicates += len(duplicates)
                    # Decided before the store stage can commit them: a held ack is released by a commit.
                    hold = self._pending_items > self.ack_hold_items  # DuckDB is behind (flow control)
                    if hold:
                        self._held_acks.extend(fresh)
                    self._condition.notify_all()
        except Exception as exc:  # the disk refused the log write: nothing of the group is acknowledged
            reason = f"cannot write the request log ({_first_line(exc)})"
            if self._degraded.get("log") != reason:  # once per cause, not once per request
                log.error("%s: requests are answered with a retryable error until it works again", reason)
            self._degraded["log"] = reason
            error = StoreUnavailableError(f"the collector cannot store requests now ({_first_line(exc)}); retry later")
            with self._condition:
                self._pending_items -= sum(p.weight for p in group)
            for pending in group:
                pending.future.set_exception(error)
            return
        if self._degraded.pop("log", None):
            log.warning("request log writes work again")
        for pending in duplicates:
            pending.future.set_result(WriteResult(pending.request.items, duplicate=True))
        if not hold:
            _acknowledge(fresh)

    # -- stage 2: DuckDB ------------------------------------------------------------------------------

    def _take_logged(self) -> list[_Pending] | None:
        """The next logged requests (or one exclusive action); [] when nothing came in time (something
        else may be due: a checkpoint, rows that waited long enough); None once stopping and drained."""
        with self._condition:
            while not self._logged:
                if self._stopping and self._log_finished:
                    return None
                if self._open and self._must_commit_everything() and not self._checkpoint_waits:
                    return []
                timeout = 1.0
                if self._open:
                    timeout = min(timeout, max(0.0, self._partial_since + PARTIAL_ROW_GROUP_WAIT_S - time.monotonic()))
                if self._checkpoint_waits:  # look again soon, whatever waits to be committed
                    timeout = CHECKPOINT_POLL_S
                if not self._condition.wait(timeout=timeout) or self._due_for_checkpoint():
                    return []
            if self._logged[0].action is not None:
                return [self._logged.popleft()]
            batch, items = [], sum(p.request.items for p in self._open)
            while (
                self._logged
                and self._logged[0].action is None
                and (not batch or items + self._logged[0].request.items <= self.max_batch_items)
            ):
                pending = self._logged.popleft()
                items += pending.request.items
                batch.append(pending)
            return batch

    def _store_loop(self) -> None:
        """Commit what the log made durable, until stopped. A failure never ends the thread: the store
        is reopened and what the log holds since the last checkpoint is stored again (``_reopen``)."""
        thread_names.name_this_thread(thread_names.WRITER)
        while True:
            try:
                if not self._store_step():
                    return
            except Exception as exc:
                if not self._reopen(exc):
                    return

    def _store_step(self) -> bool:
        """One round of the store stage; False once stopping and everything is committed."""
        batch = self._take_logged()
        if batch is None:
            self._settle(self._commit(EVERYTHING))
            return False
        if batch and batch[0].action is not None:
            try:
                self._settle(self._commit(EVERYTHING))  # the action sees every earlier request
            except Exception:
                with self._condition:
                    self._logged.appendleft(batch[0])  # it runs once the store is back
                raise
            self._run_action(batch[0])
            return True
        if batch and not self._open:
            self._partial_since = time.monotonic()
        self._open.extend(batch)
        if self._checkpoint_waits:  # for the deriver's round to end (see _checkpoint_if_deriver_idle)
            if self._must_commit_everything():  # but not past the whole row groups it waits for, if any
                aligned = self._aligned_rows % database.ROW_GROUP_SIZE == 0
                self._settle(self._commit(EVERYTHING, self._rows_to_end_of_row_groups() if aligned else None))
            elif self._pending_items > self.ack_hold_items:  # acknowledgements wait for commits: keep going
                self._settle(self._commit(WHOLE_ROW_GROUPS))
            self._checkpoint_if_deriver_idle()
            return True
        due = self._due_for_checkpoint()
        # While a checkpoint is due, a commit takes the spans to the end of a row group, not past it.
        cap = self._rows_to_end_of_row_groups() if due else None
        self._settle(self._commit(EVERYTHING if self._must_commit_everything() else WHOLE_ROW_GROUPS, cap))
        if due:
            rows = self._rows_to_end_of_row_groups()
            if rows is not None:  # the spans since the last checkpoint (will) fill whole row groups
                self._settle(self._commit(EVERYTHING, rows))
                self._checkpoint_if_deriver_idle()
            elif (
                self.request_log.current_bytes >= ALIGN_WAIT_FACTOR * self.checkpoint_log_bytes
                or time.monotonic() - self._last_checkpoint >= ALIGN_WAIT_FACTOR * self.checkpoint_interval_s
            ):
                self._settle(self._commit(STARTED_REQUESTS))  # no waiting: part-full row group, whole requests
                self._checkpoint_if_deriver_idle()
        return True

    def _checkpoint_if_deriver_idle(self) -> None:
        """Checkpoint now if the deriver is between two rounds. Else ask it to hold its next round back,
        and until the round in progress ends (the next store step, CHECKPOINT_POLL_S from now at the
        latest, looks again) commit more only when acknowledgements wait for commits (flow control) or
        a reader waits: a round's working memory and a checkpoint's never add up, and the rows that
        wait in memory for the checkpoint grow only when the queue would (with LLM spans, one more row
        group is ~120 MB). The store thread is never blocked by a round itself."""
        self.deriver.hold_rounds()
        with self.deriver.paused_if_idle() as deriver_idle:
            self._checkpoint_waits = not deriver_idle
            if deriver_idle:
                self._checkpoint()
        if deriver_idle:
            self.deriver.release_rounds()

    def _rows_to_end_of_row_groups(self) -> int | None:
        """The most uncommitted rows of ALIGNED_TABLE whose commit leaves the rows since the last
        checkpoint in whole row groups; None while too few are waiting."""
        uncommitted = sum(
            pending.uncommitted_rows(ALIGNED_TABLE) for pending in self._open if ALIGNED_TABLE in pending.request.tables
        )
        to_end = -self._aligned_rows % database.ROW_GROUP_SIZE
        if uncommitted < to_end:
            return None
        return to_end + (uncommitted - to_end) // database.ROW_GROUP_SIZE * database.ROW_GROUP_SIZE

    def _commit(self, scope: str, aligned_cap: int | None = None) -> list[_Pending]:
        """``_commit_open``, raising _StoreFailed when DuckDB failed to write: its database is invalid
        then, and what it reports as committed must be stored again from the log."""
        committed = self._commit_open(scope, aligned_cap)
        failure, self._store_failure = self._store_failure, None
        if failure is not None:
            self._unsettled.extend(committed)
            raise _StoreFailed(_first_line(failure)) from failure
        return committed

    def _reopen(self, exc: Exception) -> bool:
        """DuckDB invalidates its database after a failed write or checkpoint (disk full, I/O error):
        close it, open it again as soon as that works, and store again what the request log holds.
        Meanwhile the log stage goes on acknowledging what it can log, a full queue is refused with
        retryable codes, and ``health()`` says why. False when the writer stops before the store is
        back (the request log keeps every acknowledged request for the next start)."""
        self.stats.store_reopens += 1
        log.error("store write failed (%s): reopening the store and storing the request log again", _first_line(exc))
        delay, tries_while_stopping = 0.2, 0
        while True:
            try:
                self._reopen_and_replay()
            except Exception as retry:
                reason = f"store write failed ({_first_line(retry)}); retrying"
                if self._degraded.get("store") != reason:
                    log.error("%s", reason)
                self._degraded["store"] = reason
                with self._condition:
                    if self._stopping:
                        tries_while_stopping += 1
                        if tries_while_stopping > 1:
                            break
                    self._condition.wait(delay)
                delay = min(2 * delay, 2.0)
                continue
            self._degraded.pop("store", None)
            log.warning("store reopened: every acknowledged request is stored")
            return True
        self._give_up_store()
        return False

    def _reopen_and_replay(self) -> None:
        self._degraded.setdefault("store", "store write failed; reopening the store")
        with self._log_lock:  # the log stage waits: every logged request is in a closed segment now
            self.request_log.close()
            with self._condition:
                actions = [p for p in self._logged if p.action is not None]
                dropped = [*self._unsettled, *self._open, *(p for p in self._logged if p.action is None)]
                self._unsettled.clear()
                self._open.clear()
                self._logged = collections.deque(actions)
                # requests replayed by _recover (seq 0) were never counted in the queue
                self._pending_items -= sum(p.weight for p in dropped if p.seq)
                held, self._held_acks = self._held_acks, []
            _acknowledge(held)  # logged, so durable: their store write is what is redone
            self._close_store()
            self._store_failure = None
            self._open_store()
            self._known_digests |= self._stored_digests()
            self._recover()  # every segment, the one just closed included
            with self._condition:
                self._committed_seq = self._logged_seq
                self._closed_segments.clear()
                self._flush_requested = False
                self._condition.notify_all()
            self._last_checkpoint = time.monotonic()

    def _give_up_store(self) -> None:
        """Stopping while the store cannot be written: answer what waits on it and leave the rest to
        the request log (the next start stores it)."""
        with self._condition:
            held, self._held_acks = self._held_acks, []
            actions = [p for p in self._logged if p.action is not None]
            self._logged.clear()
            self._open.clear()
            self._unsettled.clear()
        _acknowledge(held)
        for pending in actions:
            pending.future.set_exception(WriterStoppedError("collector is shutting down"))
        self._close_store()
        self.stop_error = (
            "the store could not be written before shutdown; the request log keeps every acknowledged "
            "request, and the next start stores them"
        )
        log.error("%s", self.stop_error)

    def _must_commit_everything(self) -> bool:
        """Commit rows short of a whole row group too: a reader waits for them, they waited long
        enough, every acknowledgement waits for its commit, or the collector stops."""
        return (
            self._flush_requested
            or self.ack_after_commit
            or self._stopping
            or time.monotonic() - self._partial_since >= PARTIAL_ROW_GROUP_WAIT_S
        )

    def _run_action(self, pending: _Pending) -> None:
        try:
            with self.deriver.paused():  # an action may change what the deriver writes
                result = pending.action(self.connection)
                self.connection.execute("CHECKPOINT")  # what the action changed is not in the request log
                self._aligned_rows = 0
        except BaseException as exc:
            pending.future.set_exception(exc)
        else:
            pending.future.set_result(result)

    def _settle(self, committed: list[_Pending]) -> None:
        """Account for requests now wholly committed: reads may see them, their queue room is free and
        acknowledgements held for flow control may go."""
        with self._condition:
            if committed:
                self._committed_seq = committed[-1].seq
                self._pending_items -= sum(p.weight for p in committed)
            if self._committed_seq >= self._logged_seq:
                self._flush_requested = False
            self._condition.notify_all()
            released = self._release_held_acks()
        _acknowledge(released)

    def _release_held_acks(self) -> list[_Pending]:
        """The held acknowledgements that may go now: all of them once the store has caught up, else
        those whose requests are committed (call with the condition held)."""
        if self._pending_items <= self.ack_hold_items:
            released, self._held_acks = self._held_acks, []
            return released
        committed = 0
        while committed < len(self._held_acks) and self._held_acks[committed].seq <= self._committed_seq:
            committed += 1
        released, self._held_acks = self._held_acks[:committed], self._held_acks[committed:]
        return released

    def _commit_open(self, scope: str, aligned_cap: int | None = None) -> list[_Pending]:
        """Commit rows of the open requests, in log order per table, as ``scope`` says (WHOLE_ROW_GROUPS,
        STARTED_REQUESTS or EVERYTHING) and at most ``aligned_cap`` rows of ALIGNED_TABLE, with the digests
        of the requests this completes; returns the requests now wholly committed at the head of the
        open ones (and removes them).

        A transaction that DuckDB refuses is retried request by request; a request that still fails is
        set aside in a file (it was acknowledged, so it must not be lost)."""
        quota = self._rows_to_commit(scope)
        if aligned_cap is not None and ALIGNED_TABLE in quota:
            quota[ALIGNED_TABLE] = min(quota[ALIGNED_TABLE], aligned_cap)
        if any(quota.values()):
            for part in self._split_at_open_row_group(quota):
                self._write_quota(part)
                if self._store_failure is not None:  # DuckDB's database is invalid now: _commit reopens it
                    break
            self._partial_since = time.monotonic()
        committed = []
        while self._open and self._open[0].fully_committed:
            committed.append(self._open.popleft())
        return committed

    def _split_at_open_row_group(self, quota: dict[str, int]) -> list[dict[str, int]]:
        """The commits that take ``quota``: two when ALIGNED_TABLE has an open row group (one that the
        rows since the last checkpoint have started) and ``quota`` holds a whole row group of it. DuckDB
        writes a transaction's whole row groups straight to the file, after the table's open row group,
        which then stays part-full; the next checkpoint merges them again, reading the written ones
        back (with LLM spans, the collector's memory peak: bench/README.md, "query_scale.py"). Completed
        by a commit of its own first, the open row group ends where the written ones start."""
        to_end = -self._aligned_rows % database.ROW_GROUP_SIZE
        rows = quota.get(ALIGNED_TABLE, 0)
        if not to_end or rows < database.ROW_GROUP_SIZE:
            return [quota]
        return [{ALIGNED_TABLE: to_end}, {**quota, ALIGNED_TABLE: rows - to_end}]

    def _write_quota(self, quota: dict[str, int]) -> None:
        """One transaction with ``quota`` rows per table of the open requests, in log order; if DuckDB
        refuses it, each request involved is committed alone (``_commit_alone``)."""
        if not any(quota.values()):
            return
        quota = dict(quota)
        plan: list[tuple[_Pending, str, int, int]] = []  # (request, table, first row, end row)
        for pending in self._open:
            for table_name in pending.request.tables:
                rows = min(pending.uncommitted_rows(table_name), quota.get(table_name, 0))
                if rows:
                    start = pending.committed_rows.get(table_name, 0)
                    plan.append((pending, table_name, start, start + rows))
                    quota[table_name] -= rows
        try:
            self._write(plan)
        except Exception as exc:
            log.debug("store write failed, retrying request by request: %s", exc)
            for pending in _requests_in(plan):
                self._commit_alone(pending)

    def _rows_to_commit(self, scope: str) -> dict[str, int]:
        """Per table, how many of the open requests' uncommitted rows the next commit takes."""
        uncommitted: dict[str, int] = collections.defaultdict(int)
        through_started: dict[str, int] = {}
        for pending in self._open:
            for table_name in pending.request.tables:
                uncommitted[table_name] += pending.uncommitted_rows(table_name)
            if any(pending.committed_rows.values()) and not pending.fully_committed:
                through_started = dict(uncommitted)
        if scope == EVERYTHING:
            return dict(uncommitted)
        if scope == STARTED_REQUESTS:
            return through_started
        whole = {name: rows - rows % database.ROW_GROUP_SIZE for name, rows in uncommitted.items()}
        if ALIGNED_TABLE in whole:  # its open row group's end first (see _split_at_open_row_group)
            whole[ALIGNED_TABLE] = self._rows_to_end_of_row_groups() or 0
        return whole

    def _write(self, plan: list[tuple[_Pending, str, int, int]]) -> None:
        """One transaction: the planned row ranges, one Arrow append per table, and the digests of the
        requests they complete (so that a restart knows them as stored)."""
        conn = self.connection
        slices: dict[str, list[pa.Table]] = collections.defaultdict(list)
        for pending, table_name, start, end in plan:
            slices[table_name].append(pending.request.tables[table_name].slice(start, end - start))
        end_rows = {(id(pending), table_name): end for pending, table_name, _start, end in plan}
        completed = [
            p for p in _requests_in(plan)
            if all(end_rows.get((id(p), name), p.committed_rows.get(name, 0)) == table.num_rows
                   for name, table in p.request.tables.items())
        ]  # fmt: skip
        queued = 0
        conn.begin()
        try:
            for table_name, parts in slices.items():
                rows = pa.concat_tables(parts).select(self._table_columns[table_name])
                conn.from_arrow(rows).insert_into(table_name)
                if table_name == "otel_traces":  # their traces' facts, queued with the spans
                    queued += facts.queue(conn, rows, self._facts_seq + 1)
            if completed:
                conn.execute(RECORD_DIGESTS_SQL, {
                    "digests": [p.digest for p in completed],
                    "signals": [p.request.signal for p in completed],
                    "items": [p.request.items for p in completed],
                })  # fmt: skip
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        if queued:
            self._facts_seq += 1
            self.stats.queued_traces += queued
            self.deriver.queued(self._facts_seq, queued)
        for pending, table_name, start, end in plan:
            pending.committed_rows[table_name] = end
            if table_name == ALIGNED_TABLE:
                self._aligned_rows += end - start
        self.stats.commits += 1
        self.stats.requests += len(completed)
        self.stats.items += sum(p.request.items for p in completed)

    def _commit_alone(self, pending: _Pending) -> None:
        """Commit what is left of one request in its own transaction, else set it aside."""
        plan = [
            (pending, name, pending.committed_rows.get(name, 0), table.num_rows)
            for name, table in pending.request.tables.items()
            if pending.uncommitted_rows(name)
        ]
        if not plan:
            return
        try:
            self._write(plan)
        except Exception as exc:
            try:
                self._set_aside(pending, exc)
            except Exception:
                log.exception("store write failed for an acknowledged request, and so did keeping it aside")
            for name, table in pending.request.tables.items():
                pending.committed_rows[name] = table.num_rows  # settled: nothing more will be tried

    def _set_aside(self, pending: _Pending, exc: Exception) -> None:
        """Keep the rows of an acknowledged request that DuckDB refused (those not committed yet) as
        Arrow IPC files next to the store. Not when DuckDB itself failed (disk full, I/O error): the
        store is reopened then and the request stored again from the log (``_commit``)."""
        if _is_store_failure(exc):
            self._store_failure = exc
            return
        folder = self.db_path.with_name(self.db_path.name + ".rejected")
        folder.mkdir(exist_ok=True)
        for table_name, table in pending.request.tables.items():
            table = table.slice(pending.committed_rows.get(table_name, 0))
            if not table.num_rows:
                continue
            path = folder / f"{pending.digest}.{table_name}.arrow"
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        self.stats.failed_requests += 1
        log.error(
            "store write failed for an acknowledged %s request (%d items): %s. Its rows are kept in %s "
            "(Arrow IPC, one file per table: read them with pyarrow or DuckDB and insert them once the "
            "cause is fixed)", pending.request.signal, pending.request.items, exc, folder,
        )  # fmt: skip

    def _due_for_checkpoint(self) -> bool:
        return self.request_log.current_bytes >= self.checkpoint_log_bytes or (
            self.request_log.current_bytes > 0
            and time.monotonic() - self._last_checkpoint >= self.checkpoint_interval_s
        )

    def _checkpoint(self) -> None:
        """Start a new log segment, write every committed row into the store file, then delete the
        closed segments whose requests were all committed before this CHECKPOINT."""
        with self._log_lock:
            for closed in self.request_log.rotate():
                self._closed_segments.append((closed, self._logged_seq))
        self._last_checkpoint = time.monotonic()
        covered = [segment for segment, last_seq in self._closed_segments if last_seq <= self._committed_seq]
        # A failed CHECKPOINT invalidates DuckDB's database: the error reaches _store_loop, which
        # reopens the store; the segments stay until a checkpoint covers them.
        self._checkpoint_then_delete(covered, in_background=True)
        self._closed_segments = [entry for entry in self._closed_segments if entry[0] not in covered]
        self.stats.checkpoints += 1

    def _checkpoint_then_delete(self, segments: list[Path], in_background: bool = False) -> None:
        """CHECKPOINT writes every committed row into the store file; only then are ``segments`` (whose
        requests were all committed) no longer needed for recovery. A segment not deleted yet at a crash
        is harmless: its requests are known as stored and the replay skips them. Called while no
        derivation round runs (the eviction after it could fail one)."""
        self._record_stored_parts()
        self.connection.execute("CHECKPOINT")
        self._aligned_rows = 0
        for segment in segments:
            if in_background:
                self._segments_to_delete.put(segment)
            else:
                segment.unlink(missing_ok=True)
        self._evict_checkpointed_blocks()

    def _record_stored_parts(self) -> None:
        """Before a checkpoint: replace smoltrace_stored_parts with the rows stored so far of every request
        only part of which is committed (the checkpoint about to run stores that part)."""
        parts = [
            (pending.digest, table_name, rows)
            for pending in self._open if not pending.fully_committed
            for table_name, rows in pending.committed_rows.items() if rows
        ]  # fmt: skip
        if not parts and not self._parts_recorded:
            return
        self.connection.begin()
        try:
            self.connection.execute(CLEAR_STORED_PARTS_SQL)
            if parts:
                digests, tables, rows = (list(column) for column in zip(*parts, strict=True))
                self.connection.execute(RECORD_STORED_PARTS_SQL, {"digests": digests, "tables": tables, "rows": rows})
            self.connection.commit()
        except Exception:
            self.connection.rollback()
            raise
        self._parts_recorded = bool(parts)

    def _delete_loop(self) -> None:
        thread_names.name_this_thread(thread_names.LOG_DELETE)
        while (segment := self._segments_to_delete.get()) is not None:
            try:
                segment.unlink(missing_ok=True)
            except OSError as exc:  # it stays; the next start skips its requests (known as stored)
                log.warning("could not delete request log segment %s: %s", segment, exc)

    def _evict_checkpointed_blocks(self) -> None:
        with self._readers_lock:  # no read starts meanwhile; the dip lasts about a millisecond
            if self._open_readers:
                return
            try:
                self.connection.execute(f"SET memory_limit = '{EVICT_AFTER_CHECKPOINT_LIMIT}'")
            except Exception as exc:  # something pinned holds more than that: nothing evicted this time
                log.debug("could not evict the checkpointed blocks: %s", exc)
            finally:
                self.connection.execute(f"SET memory_limit = '{self.memory_limit}'")
