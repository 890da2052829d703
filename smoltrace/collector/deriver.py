"""The facts deriver: derives the facts of newly stored traces beside the writer, on a thread and a
DuckDB connection of its own (thread ``st-deriver``).

Why not in the writer's commit: deriving a trace (one JSON parse per span, the span-tree walk, a few
joins) costs more CPU than storing it, and the store stage is single-threaded; doing both there halved
durable ingest. Here it runs on the machine's other core while the writer keeps storing.

How nothing is missed: the writer queues, in the same transaction as the spans, the ids of the traces
whose facts must be (re)derived (``smoltrace_facts_queue``, see ``facts.traces_to_queue``). The deriver
takes every queued entry its transaction's snapshot sees, derives those traces from all their stored
spans, and deletes exactly those entries, in one transaction. A span committed after that snapshot
queues its trace again (its trace is then known: queued or derived), so it is derived in a later round.
The queue is durable with the spans: after a crash, the next start derives what is left.

Readers through the collector wait for the derivation of everything committed before their call
(``wait_until_derived``), so a run's own summary sees every task it just exported. A checkpoint runs
between two rounds: the writer holds the next round back (``hold_rounds``) and takes the deriver's lock
once the round in progress ends (``paused_if_idle``), without blocking on it. When the deriver falls
behind, its rounds grow (cheaper per span) and, past MAX_UNDERIVED_TRACES, the collector refuses new
spans until it catches up (``is_behind``).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time

from smoltrace.collector import thread_names
from smoltrace.store import facts

log = logging.getLogger("smoltrace.collector")

#: Traces derived per statement batch: bounds the memory of one derivation (a trace of a real run
#: holds tens of spans of up to tens of KB of attributes each; derive.sql keeps only their small fields).
#: Each batch also pays a fixed cost (some twenty statements planned and run), which small batches
#: multiply: with 1,000 the deriver could not follow small spans past ~40k/s on two cores.
CHUNK_TRACES = 2_000
#: Queue entries taken per transaction (whole commits of the writer, at least one): a deriver that
#: falls behind takes more at once, and so derives each span more cheaply, until it catches up.
MAX_TRACES_PER_ROUND = 8_000
#: Traces queued and not derived yet past which the collector refuses new spans (retry later) until the
#: deriver catches up: without it, a firehose the deriver cannot follow would leave the facts, and every
#: read through the collector that waits for them, further behind by the second.
MAX_UNDERIVED_TRACES = 2 * MAX_TRACES_PER_ROUND
#: Wait before retrying after a failed derivation (a full disk, say); the queue keeps the work.
RETRY_AFTER_S = 1.0
#: The longest the writer may hold the next round back (``hold_rounds``), should it not release it.
HOLD_LIMIT_S = 0.5


class FactsDeriver:
    def __init__(self, connection):
        """``connection``: a DuckDB connection of its own to the store (a cursor of the writer's)."""
        self.connection = connection
        self.derive_s = 0.0
        self.derived_traces = 0
        self.failures = 0
        self._condition = threading.Condition()
        self._queued_seq = 0  # last queue sequence number committed by the writer
        self._derived_seq = 0  # every queue entry up to here is derived
        self._underived: collections.deque[tuple[int, int]] = collections.deque()  # (seq, traces) not derived
        self.underived_traces = 0  # traces queued since the start and not derived yet
        self.max_underived_traces = MAX_UNDERIVED_TRACES
        self._stopping = False
        self._failing = False  # the last round failed
        self._held_since: float | None = None  # the writer holds the next round back since then
        self._lock = threading.Lock()  # held while deriving; exclusive actions take it too
        self._thread: threading.Thread | None = None

    def start(self, queued_seq: int) -> None:
        """Start the thread; ``queued_seq`` is the last sequence number in the durable queue (work left
        by a previous run of the collector is derived first)."""
        self._queued_seq = queued_seq
        self._thread = threading.Thread(target=self._loop, name="smoltrace-deriver", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Derive what is queued, then stop."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def queued(self, seq: int, traces: int) -> None:
        """The writer committed queue entry ``seq``: ``traces`` traces to derive."""
        with self._condition:
            self._queued_seq = max(self._queued_seq, seq)
            if seq > self._derived_seq:  # a round whose snapshot began after the commit may have taken it
                self._underived.append((seq, traces))
                self.underived_traces += traces
            self._condition.notify_all()

    def is_behind(self) -> bool:
        """More than ``max_underived_traces`` traces wait for their facts, and the deriver is working
        through them (one that keeps failing, a full disk say, is not a reason to refuse spans: the queue
        keeps its work)."""
        return self.underived_traces > self.max_underived_traces and not self._failing

    def wait_until_derived(self, timeout_s: float) -> bool:
        """Wait until everything queued before the call is derived; False when ``timeout_s`` passed."""
        with self._condition:
            target = self._queued_seq
            return self._condition.wait_for(
                lambda: self._derived_seq >= target or not (self._thread and self._thread.is_alive()),
                timeout=timeout_s,
            )

    @contextlib.contextmanager
    def paused(self):
        """No derivation runs inside this block (for the writer's exclusive actions)."""
        with self._lock:
            yield

    @contextlib.contextmanager
    def paused_if_idle(self):
        """``paused`` if no round is running now (yields True), else nothing is paused (yields False)."""
        idle = self._lock.acquire(blocking=False)
        try:
            yield idle
        finally:
            if idle:
                self._lock.release()

    def hold_rounds(self) -> None:
        """Start no new round (the one running ends) until ``release_rounds``, HOLD_LIMIT_S at most: the
        writer waits for the deriver to be idle without waiting for a round itself."""
        with self._condition:
            self._held_since = time.monotonic()

    def release_rounds(self) -> None:
        with self._condition:
            self._held_since = None
            self._condition.notify_all()

    def _may_start_round(self) -> bool:
        held = self._held_since is not None and time.monotonic() - self._held_since < HOLD_LIMIT_S
        return self._queued_seq > self._derived_seq and not held

    def _loop(self) -> None:
        thread_names.name_this_thread(thread_names.DERIVER)
        while True:
            with self._condition:
                while not (self._may_start_round() or self._stopping):
                    self._condition.wait(timeout=HOLD_LIMIT_S if self._held_since is not None else None)
                if self._queued_seq <= self._derived_seq:
                    return  # stopping, and nothing left
                target = self._queued_seq
            try:
                with self._lock:
                    last_seq = self._derive_queued()
            except Exception as exc:
                self._failing = True
                self.failures += 1
                if self._stopping:  # the store is closing (or reopening after a failed write): no retry
                    log.warning("deriving facts failed while stopping (%s); the queue keeps the work", exc)
                    return
                log.exception("deriving facts failed; the queued traces stay queued and are retried")
                time.sleep(RETRY_AFTER_S)
                continue
            with self._condition:  # an empty snapshot: every entry up to target was derived already
                self._derived_seq = max(self._derived_seq, target if last_seq is None else last_seq)
                while self._underived and self._underived[0][0] <= self._derived_seq:
                    self.underived_traces -= self._underived.popleft()[1]
                self._failing = False
                self._condition.notify_all()

    def _derive_queued(self) -> int | None:
        """One transaction: derive the oldest queued traces (whole commits of the writer, about
        MAX_TRACES_PER_ROUND at most), then forget those entries; returns the last queue entry derived,
        or None when the snapshot held none."""
        started = time.perf_counter()
        conn = self.connection
        conn.begin()
        try:
            last_seq, trace_ids = conn.execute(facts.TAKE_QUEUE_SQL, [MAX_TRACES_PER_ROUND]).fetchone()
            trace_ids = trace_ids or []
            for start in range(0, len(trace_ids), CHUNK_TRACES):
                facts.derive(conn, trace_ids[start : start + CHUNK_TRACES])
            if last_seq is not None:
                conn.execute(facts.FORGET_QUEUE_SQL, [last_seq])
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        self.derived_traces += len(trace_ids)
        self.derive_s += time.perf_counter() - started
        return last_seq
